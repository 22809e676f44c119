"""The resident's page, the embed page in an iframe, in a real browser."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pytest

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.conftest import serve_in_thread
from tests.e2e.conftest import screenshot, wait_idle

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.browser
BLOCKGROUP = "370630010011"

RENDERED_VALUES = """(field) => {
  const {map, state, fillLayers} = window.crimetiles;
  const features = map.queryRenderedFeatures({layers: fillLayers[state.layer]});
  return features.map((f) => [f.properties.id, f.properties[field]]);
}"""


def _open(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)


def test_map_renders_the_default_layer(page, live_url):
    failed: list[str] = []
    console: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.on("console", lambda message: console.append(message.text) if message.type in ("error", "warning") else None)
    _open(page, f"{live_url}/")
    features = page.evaluate(RENDERED_VALUES, "violent_per_sqmi")
    assert len({fid for fid, _ in features}) > 50
    assert all(len(fid) == 12 for fid, _ in features)  # block group GEOIDs
    legend = page.locator("#legend-rows li").all_inner_texts()
    assert legend[0] == "0" and len(legend) >= 4
    assert legend[-1].startswith("Unstable: fewer than 20 incidents")  # the mark drawn paler, explained
    assert "reported by police" in page.locator("#legend").inner_text()
    assert page.errors == []
    assert failed == []  # the favicon included
    assert not [text for text in console if "preload" in text]  # every preloaded document was used as fetched
    screenshot(page, "map-blockgroups-all-years")


def test_switching_layer_and_year_changes_rendered_values(page, live_url):
    _open(page, f"{live_url}/")
    page.select_option("#layer-select", "tracts")
    wait_idle(page)
    tracts = dict(page.evaluate(RENDERED_VALUES, "violent_per_sqmi"))
    assert tracts and all(len(fid) == 11 for fid in tracts)
    page.select_option("#year-select", "2014")
    wait_idle(page)
    shown = page.evaluate("() => JSON.stringify(window.crimetiles.map.getFilter('tracts-class-2'))")
    assert "violent_per_sqmi_2014" in shown
    by_2014 = dict(page.evaluate(RENDERED_VALUES, "violent_per_sqmi_2014"))
    assert any(by_2014[fid] != tracts[fid] for fid in tracts)
    assert "layer=tracts" in page.url and "year=2014" in page.url
    assert page.locator("#download-csv").get_attribute("href") == "downloads/tracts.csv?year=2014"  # relative to the app root
    screenshot(page, "map-tracts-2014")


def test_hover_shows_the_block_group_values(page, live_url, durham_build):
    blockgroups = gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")
    point = blockgroups.geometry[BLOCKGROUP].representative_point()
    _open(page, f"{live_url}/?layer=blockgroups&year=2016#14/{point.y:.6f}/{point.x:.6f}")
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    row = blockgroups.loc[BLOCKGROUP]
    assert BLOCKGROUP in text
    assert f"{row['violent_count_2016']:,}" in text
    assert f"{row['violent_per_sqmi_2016']:,.1f}" in text and "incidents per sq mi" in text
    assert f"95 % interval\n{row['violent_per_sqmi_low_2016']:,.1f}–{row['violent_per_sqmi_high_2016']:,.1f}" in text
    assert ("unstable: fewer than 20 incidents" in text) == bool(row["unstable_2016"])
    assert f"{row['area_sqmi']:,.2f} sq mi" in text
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert "pinned" in (tooltip.get_attribute("class") or "")
    screenshot(page, "map-hover-blockgroup")


def test_phone_sized_screen(browser, live_url):
    context = browser.new_context(viewport={"width": 390, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    _open(page, f"{live_url}/?layer=neighborhoods")
    assert page.evaluate(RENDERED_VALUES, "violent_per_sqmi")
    assert page.locator("#legend").is_visible() and page.locator("#layer-select").is_visible()
    screenshot(page, "map-phone")
    context.close()


class _HostPage(BaseHTTPRequestHandler):
    """A page on another origin that embeds the map in an iframe."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = f'<!DOCTYPE html><title>host</title><iframe id="crime" src="{self.target}" width="700" height="500"></iframe>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_embed_in_an_iframe_on_another_origin(page, live_url):
    _HostPage.target = f"{live_url}/embed?layer=tracts&year=2014&legend=1"
    host = ThreadingHTTPServer(("127.0.0.1", 0), _HostPage)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{host.server_port}/")
        frame = page.frame_locator("#crime")
        frame.locator("#legend-rows li").first.wait_for()
        inner = next(f for f in page.frames if "/embed" in f.url)
        inner.wait_for_function("() => window.mapIdle === true", timeout=30_000)
        features = inner.evaluate(RENDERED_VALUES, "violent_per_sqmi_2014")
        assert features and all(len(fid) == 11 for fid, _ in features)
        assert "2014" in inner.locator("#legend-subtitle").inner_text()
        screenshot(page, "embed-in-iframe")
    finally:
        host.shutdown()


def test_embed_without_legend_or_interaction(page, live_url):
    _open(page, f"{live_url}/embed?layer=hex&legend=0&interactive=0&zoom=11&center=-78.9,35.99")
    assert page.locator("#legend").is_hidden()
    assert page.evaluate("() => window.crimetiles.map.getZoom()") == pytest.approx(11)
    assert page.evaluate("() => window.crimetiles.map.dragPan.isEnabled()") is False
    assert page.evaluate(RENDERED_VALUES, "violent_per_sqmi")


def test_about_panel_and_embed_snippet(page, live_url):
    _open(page, f"{live_url}/?layer=tracts&year=2015")
    page.click("#about-button")
    about = page.locator("#about")
    assert about.is_visible()
    text = about.inner_text()
    assert "where policing of violent incidents occurs" in text and "not its population" in text
    assert "synthetic" in text
    assert about.locator("#tilejson-url").inner_text() == f"{live_url}/tiles/tracts.json"
    page.click("#about-close")
    page.click("#embed-button")
    snippet = page.locator("#embed-code").input_value()
    assert snippet.startswith(f'<iframe src="{live_url}/embed?layer=tracts&year=2015#')
    # the README's snippet ("### Embed it") is what the button writes, but for the host, year and view
    in_readme = re.search(r"### Embed it\s+```html\n(.*?)```", README, re.DOTALL).group(1)
    in_readme = " ".join(in_readme.split()).replace("http://HOST", live_url).replace("year=2014", "year=2015")
    assert re.sub(r"#[\d./-]+", "#VIEW", snippet) == re.sub(r"#[\d./-]+", "#VIEW", in_readme)
    screenshot(page, "embed-dialog")


@pytest.mark.parametrize("basemap", ["http://127.0.0.1:9/style.json", "http://127.0.0.1:9/{z}/{x}/{y}.png"])
def test_unreachable_basemap_does_not_break_the_page(page, durham_build, basemap):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, basemap_url=basemap))
    server = serve_in_thread(app)
    base = next(server)
    try:
        # MapLibre may never report `idle` while basemap tiles keep failing: wait for our features instead.
        page.goto(f"{base}/?layer=tracts")
        page.wait_for_function(
            "() => window.crimetiles && window.crimetiles.map.queryRenderedFeatures("
            "{layers: window.crimetiles.fillLayers.tracts}).length > 20",
            timeout=30_000,
        )
        assert page.locator("#legend-rows li").count() >= 4
        assert page.errors == []
    finally:
        next(server, None)


def test_neighborhood_names_are_labelled_without_glyphs(page, live_url, durham_build):
    neighborhoods = gpd.read_parquet(durham_build / "layers" / "neighborhoods.parquet").set_index("id")
    point = neighborhoods.geometry["Albright"].representative_point()
    _open(page, f"{live_url}/?layer=neighborhoods#14/{point.y:.6f}/{point.x:.6f}")
    page.wait_for_function("() => document.querySelectorAll('#labels .area-label').length > 0", timeout=10_000)
    labels = page.locator("#labels .area-label").all_inner_texts()
    assert "Albright" in labels
    screenshot(page, "map-neighborhood-labels")
    page.select_option("#layer-select", "tracts")
    page.wait_for_function("() => document.querySelectorAll('#labels .area-label').length === 0", timeout=10_000)


def test_keyboard_pins_the_area_at_the_centre(page, live_url, durham_build):
    blockgroups = gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")
    point = blockgroups.geometry[BLOCKGROUP].representative_point()
    _open(page, f"{live_url}/?layer=blockgroups&year=2013#14/{point.y:.6f}/{point.x:.6f}")
    page.locator("#map canvas").focus()
    page.keyboard.press("Enter")
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    assert BLOCKGROUP in tooltip.inner_text() and "pinned" in (tooltip.get_attribute("class") or "")
    page.keyboard.press("Escape")
    tooltip.wait_for(state="hidden")
