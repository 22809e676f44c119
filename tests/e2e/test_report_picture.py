"""The report's map where the browser cannot copy the map's canvas (it refuses to read it, as a
browser does for a canvas it considers tainted): the server's picture of the same view, `map.png`
with the layer, year, bounds, size and selected areas shown, drawn and printable."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.e2e.conftest import wait_idle

CHOSEN = ["37063000301", "37063001301"]
CANVAS_UNREADABLE = """
HTMLCanvasElement.prototype.toDataURL = function () {
  throw new DOMException('The canvas has been tainted by cross-origin data.', 'SecurityError');
};
"""


def _open_report(page, url: str) -> str:
    page.goto(url)
    wait_idle(page)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    page.click("#report-button")
    page.locator("#report img").wait_for()
    page.wait_for_function("() => document.querySelector('#report img').naturalWidth > 100", timeout=30_000)
    return page.locator("#report img").get_attribute("src")


def test_the_report_shows_the_servers_picture_when_the_map_cannot_be_copied(page, live_url):
    page.add_init_script(CANVAS_UNREADABLE)
    src = _open_report(page, f"{live_url}/?layer=tracts&year=2015&selected={','.join(CHOSEN)}")
    address = urlsplit(src)
    assert address.path == "map.png"
    query = {name: values[0] for name, values in parse_qs(address.query).items()}
    assert (query["layer"], query["year"], query["selected"]) == ("tracts", "2015", ",".join(CHOSEN))
    box = page.locator("#map").bounding_box()
    assert (int(query["width"]), int(query["height"])) == (round(box["width"]), round(box["height"]))
    west, south, east, north = map(float, query["bbox"].split(","))
    shown = page.evaluate("() => window.crimetiles.map.getBounds().toArray().flat()")
    assert [west, south, east, north] == [round(value, 6) for value in shown]
    assert page.evaluate("() => document.querySelector('#report img').naturalWidth") == int(query["width"])
    assert "drawn by the server" in page.locator("#report .report-map figcaption").inner_text()
    picture = requests.get(urljoin(f"{live_url}/", src), timeout=30)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    page.emulate_media(media="print")
    assert page.locator("#report img").is_visible()
    assert page.errors == []


def test_the_report_shows_the_maps_own_snapshot_when_it_can(page, live_url):
    src = _open_report(page, f"{live_url}/?layer=tracts&year=2015&selected={CHOSEN[0]}")
    assert src.startswith("data:image/png;base64,")
    assert "The map as shown" in page.locator("#report .report-map figcaption").inner_text()
