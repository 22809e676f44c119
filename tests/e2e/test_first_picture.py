"""The picture of the first view (static/first_view.js): while MapLibre loads, the map page and the
embed show the server's bare `/map.png` of the view the map opens at, in the map's box, framed as
the map then draws it (pixels compared), and remove it once the map has drawn; under the pages' own
CSP; a static export, with no server to draw it, shows none and asks for none."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import requests
from PIL import Image

from tests.e2e.conftest import new_page, wait_idle
from tests.e2e.test_static_site import static_host  # noqa: F401 (the fixture: nginx serving the export)

pytestmark = pytest.mark.browser

MAPLIBRE = re.compile(r".*/static/vendor/maplibre-gl/maplibre-gl-csp\.js\?v=.*")
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
PICTURE_SHOWN = """() => {
  const picture = document.getElementById('first-view');
  return Boolean(picture && !picture.hidden && picture.complete && picture.naturalWidth > 0);
}"""
GRID = (24, 16)
"""Points sampled across the map's box, columns x rows."""
INTERIOR = 3
"""A sample counts where the map's pixels this far around it are one colour: inside an area, clear
of outlines and antialiasing."""
TOLERANCE = 6
"""Per channel: the picture's palette PNG and MapLibre's blending round differently."""


def _held_maplibre(page) -> list:
    """Holds every request for MapLibre's script until the test lets it go (`_release`)."""
    held: list = []

    def hold(route) -> None:
        held.append(route)

    page.route(MAPLIBRE, hold)
    return held


def _release(page, held: list) -> None:
    for route in held:
        route.continue_()
    page.unroute(MAPLIBRE)


def _box_pixels(page) -> np.ndarray:
    """RGB of the map's box as shown (CSS pixels times the device's ratio)."""
    box = page.locator("#map").bounding_box()
    shot = page.screenshot(clip=box, animations="disabled", caret="initial")
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def _covered(page) -> list[dict[str, float]]:
    """The boxes of what lies over the map in both pictures (the legend) or only once the map is
    drawn (its controls), relative to the map's box."""
    origin = page.locator("#map").bounding_box()
    boxes = [
        page.locator(selector).bounding_box()
        for selector in ("#legend", ".maplibregl-ctrl-top-right", ".maplibregl-ctrl-bottom-right")
    ]
    return [{**box, "x": box["x"] - origin["x"], "y": box["y"] - origin["y"]} for box in boxes if box]


def _interior_samples(drawn: np.ndarray, covered: list[dict[str, float]], ratio: float) -> list[tuple[int, int]]:
    """Pixels (row, column) of a grid over `drawn` inside one area: not under `covered` boxes (CSS
    pixels) and of one colour `INTERIOR` pixels around."""
    height, width, _ = drawn.shape
    samples = []
    for row in np.linspace(INTERIOR, height - 1 - INTERIOR, GRID[1]).astype(int):
        for column in np.linspace(INTERIOR, width - 1 - INTERIOR, GRID[0]).astype(int):
            x, y = column / ratio, row / ratio
            if any(b["x"] - 2 <= x <= b["x"] + b["width"] + 2 and b["y"] - 2 <= y <= b["y"] + b["height"] + 2 for b in covered):
                continue
            around = drawn[row - INTERIOR : row + INTERIOR + 1, column - INTERIOR : column + INTERIOR + 1]
            if (np.abs(around - drawn[row, column]).max(axis=2) <= 1).all():
                samples.append((int(row), int(column)))
    return samples


def _assert_same_framing(picture: np.ndarray, drawn: np.ndarray, samples: list[tuple[int, int]]) -> None:
    """The picture shows, at each sample inside an area of the drawn map, that area's colour: the
    same areas at the same places (a picture off by a zoom level or a few pixels would not)."""
    assert picture.shape == drawn.shape
    assert len(samples) >= 40, len(samples)
    colours = {tuple(drawn[row, column]) for row, column in samples}
    assert len(colours) >= 3, colours  # the samples see several classes, not just the background
    differences = [int(np.abs(picture[row, column] - drawn[row, column]).max()) for row, column in samples]
    matched = sum(difference <= TOLERANCE for difference in differences)
    assert matched >= 0.95 * len(samples), sorted(differences)[-10:]


@pytest.fixture
def scaled_page(browser, request) -> Iterator[object]:
    """A page of a browser context with `request.param` device pixels per CSS pixel."""
    context, page = new_page(browser, viewport={"width": 1000, "height": 700}, device_scale_factor=request.param)
    yield page
    context.close()


@pytest.mark.parametrize(
    ("path", "scaled_page"),
    [
        ("/", 1),
        ("/embed", 1),
        ("/?layer=tracts&year=2014#12.5/35.99/-78.9", 2),
        ("/embed?layer=tracts#13/36.0/-78.92", 1),
        ("/?layer=hex&year=2014#11.5/35.99/-78.9", 1),  # the hex resolution of zooms 10-11, as the map draws it
    ],
    indirect=["scaled_page"],
)
def test_the_picture_of_the_first_view_shows_while_maplibre_loads_and_frames_it_as_the_map(scaled_page, live_url, path):
    page = scaled_page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    held = _held_maplibre(page)
    page.goto(live_url + path, wait_until="commit")  # the load event waits for MapLibre
    page.wait_for_function(PICTURE_SHOWN, timeout=30_000)
    assert held, "the picture waited for MapLibre"
    assert page.evaluate("() => typeof maplibregl") == "undefined"  # MapLibre has not run: nothing else drew
    picture = page.locator("#first-view")
    assert "interactive map loads" in picture.get_attribute("alt")
    assert picture.get_attribute("fetchpriority") == "high"
    ratio = page.evaluate("() => window.devicePixelRatio")
    box = page.locator("#map").bounding_box()
    assert picture.bounding_box() == box
    natural = page.evaluate(
        "() => [document.getElementById('first-view').naturalWidth, document.getElementById('first-view').naturalHeight]"
    )
    assert natural == [round(box["width"] * ratio), round(box["height"] * ratio)]
    shown = _box_pixels(page)

    _release(page, held)
    wait_idle(page)
    assert page.locator("#first-view").count() == 0
    drawn = _box_pixels(page)
    _assert_same_framing(shown, drawn, _interior_samples(drawn, _covered(page), ratio))
    assert page.evaluate("() => window.cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert page.errors == []


@pytest.mark.parametrize(
    ("view", "scaled_page", "center", "zoom", "scale"),
    [
        ("?layer=tracts&year=2014#13.25/35.98/-78.91", 1, "-78.910000,35.980000", "14.2500", 1),
        ("?layer=tracts&year=2014&center=-78.9,36&zoom=12#13.25/35.98/-78.91", 1, "-78.910000,35.980000", "14.2500", 1),
        ("?layer=tracts&year=2014&center=-78.9,36&zoom=12", 3, "-78.900000,36.000000", "14.0000", 2),
    ],
    indirect=["scaled_page"],
)
def test_the_picture_shows_the_view_of_the_urls_hash_else_its_query(scaled_page, live_url, view, center, zoom, scale):
    """The hash wins over `center=` and `zoom=`, as on the map; the picture has the box's size
    times the screen's pixel ratio, at most 2, and /map.png's zoom of 256-pixel tiles is MapLibre's
    of 512-pixel ones plus one, plus the scale's."""
    page = scaled_page
    held = _held_maplibre(page)
    page.goto(f"{live_url}/{view}", wait_until="commit")
    page.wait_for_function("() => document.getElementById('first-view')?.src")
    query = parse_qs(urlsplit(page.evaluate("() => document.getElementById('first-view').src")).query)
    box = page.locator("#map").bounding_box()
    _release(page, held)
    assert query == {
        "layer": ["tracts"],
        "year": ["2014"],
        "bare": ["1"],
        "center": [center],
        "zoom": [zoom],
        "width": [str(round(box["width"]) * scale)],
        "height": [str(round(box["height"]) * scale)],
    }


def test_the_modules_the_picture_needs_are_preloaded_once(page, live_url):
    """first_view.js and app.js import url_state.js and years.js by their plain paths: the page
    preloads those paths, so that each module is fetched once, with the page, not after its importer."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    page.goto(live_url + "/")
    wait_idle(page)
    preloads = page.eval_on_selector_all('link[rel="modulepreload"]', "(links) => links.map((link) => link.href)")
    assert [urlsplit(url).path for url in preloads] == ["/static/url_state.js", "/static/years.js"]
    modules = ("/static/first_view.js", "/static/url_state.js", "/static/years.js")
    assert [requested.count(path) for path in modules] == [1, 1, 1]


def test_a_rotated_view_gets_no_picture(page, live_url):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_url}/#13/35.98/-78.91/30/0")
    wait_idle(page)
    assert page.locator("#first-view").count() == 0
    assert not [url for url in requested if "/map.png" in url]
    assert page.evaluate("() => window.crimetiles.map.getBearing()") == 30


def test_the_bare_picture_is_the_choropleth_alone_on_a_transparent_background(live_url):
    view = f"{live_url}/map.png?layer=tracts&center=-78.9,35.99&zoom=11&width=600&height=400"
    full = Image.open(io.BytesIO(requests.get(view, timeout=30).content))
    bare = Image.open(io.BytesIO(requests.get(f"{view}&bare=1", timeout=30).content))
    assert bare.mode == "P" and bare.size == full.size == (600, 400)
    over_white = Image.alpha_composite(Image.new("RGBA", bare.size, "white"), bare.convert("RGBA"))
    bare_rgb, full_rgb = (
        np.asarray(over_white.convert("RGB")).astype(int),
        np.asarray(full.convert("RGBA").convert("RGB")).astype(int),
    )
    assert np.asarray(bare.convert("RGBA"))[0, 0].tolist() == [0, 0, 0, 0]
    middle = (slice(70, 160), slice(400, 590))  # below the title, right of the legend, above the credits
    same = np.abs(bare_rgb[middle] - full_rgb[middle]).max(axis=2) <= 2
    assert same.mean() > 0.95  # the same choropleth (outlines: antialiased shades quantized apart)
    assert len(np.unique(full_rgb[middle].reshape(-1, 3), axis=0)) > 3
    title = (slice(12, 50), slice(12, 300))
    assert np.abs(bare_rgb[title] - full_rgb[title]).max() > 100  # the full picture's title, not in the bare one
    assert requests.get(f"{view}&bare=2", timeout=30).status_code == 400


def test_the_static_export_shows_no_picture_and_asks_for_none(page, static_host):  # noqa: F811
    base = static_host[0]
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path in ("index.html", "embed.html"):
        page.goto(base + path)
        wait_idle(page)
        assert page.locator("#first-view").count() == 0
        if path == "index.html":  # its tools' modules load once the map is drawn: let them finish
            page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    assert failed == []
    assert not [url for url in requested if "map.png" in url or "first_view" in url]
    assert page.errors == []
