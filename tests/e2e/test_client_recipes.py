"""The README's MapLibre GL JS, OpenLayers and Leaflet recipes (vector tiles, and PNG tiles in
Leaflet without plugins) and its map image (`/map.png` in an `<img>`), taken from README.md (so the README cannot
drift), served with the npm files they name against a live server, in a real browser: the
choropleth's class colours must fill the map (outlines alone would leave it blank)."""

from __future__ import annotations

import base64
import functools
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NPM_PACKAGES = ("ol", "ol-mapbox-style", "leaflet", "maplibre-gl", "@maplibre/maplibre-gl-leaflet")
YLORRD = "#ffffcc #ffffb2 #ffeda0 #fed976 #fecc5c #feb24c #fd8d3c #fc6e33 #fc4e2a #f03b20 #e31a1c #bd0026 #b10026 #800026".split()
"""Every colour of ColorBrewer's YlOrRd schemes (3 to 9 classes) and the orange of our default five, the class colours."""
FILL_OPACITY = 0.8
BACKGROUNDS = ((255, 255, 255), (0xDD, 0xDD, 0xDD))
"""What the fills are drawn over: the page's white (OpenLayers) or Leaflet's grey container."""
TOLERANCE = 3
"""Per channel, for rounding in the blend."""
COLOUR_COUNTS = """async (dataUrl) => {
  const image = await createImageBitmap(await (await fetch(dataUrl)).blob());
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  const counts = {};
  for (let i = 0; i < data.length; i += 4) {
    const key = `${data[i]},${data[i + 1]},${data[i + 2]}`;
    counts[key] = (counts[key] || 0) + 1;
  }
  return counts;
}"""
"""How many pixels of a PNG (a data: URL) have each colour, decoded by the browser."""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The npm packages the recipes load, installed by .ci/run (CRIMETILES_NODE_MODULES)."""
    folder = Path(os.environ.get("CRIMETILES_NODE_MODULES", "/nonexistent"))
    missing = [name for name in NPM_PACKAGES if not (folder / name / "package.json").is_file()]
    if missing:
        reason = f"npm packages {', '.join(missing)} not in CRIMETILES_NODE_MODULES={folder}"
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return folder


def readme_recipe(lead: str) -> str:
    """The html block after the "Use these tiles" paragraph starting with `lead`."""
    section = README.split("### Use these tiles", 1)[1].split("\n### ", 1)[0]
    match = re.search(rf"\n{re.escape(lead)}.*?```html\n(.*?)\n```", section, flags=re.S)
    assert match, f"no html block after {lead!r} in the README's 'Use these tiles'"
    return match.group(1)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recipe_site(tmp_path: Path, node_modules: Path) -> Iterator[tuple[Path, str]]:
    """A folder with the npm files, served over HTTP (another origin than the tile server)."""
    (tmp_path / "node_modules").symlink_to(node_modules, target_is_directory=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def _class_colour(rgb: tuple[int, ...]) -> str | None:
    """The YlOrRd colour whose fill, blended over a background, gives `rgb`, if any."""
    for colour in YLORRD:
        fill = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        for background in BACKGROUNDS:
            blended = [FILL_OPACITY * f + (1 - FILL_OPACITY) * b for f, b in zip(fill, background, strict=True)]
            if max(abs(a - b) for a, b in zip(rgb, blended, strict=True)) <= TOLERANCE:
                return colour
    return None


def choropleth_colours(page) -> dict[str, float]:
    """Share of the map's pixels in each class colour, from a screenshot of the map."""
    png = page.locator("#map, img").first.screenshot()
    counts = page.evaluate(COLOUR_COUNTS, "data:image/png;base64," + base64.b64encode(png).decode())
    total = sum(counts.values())
    shares: dict[str, float] = {}
    for key, count in counts.items():
        colour = _class_colour(tuple(int(part) for part in key.split(",")))
        if colour:
            shares[colour] = shares.get(colour, 0.0) + count / total
    return shares


def _drawn(shares: dict[str, float]) -> bool:
    """At least a third of the map in class colours, at least three classes each on 1 % of it."""
    return sum(shares.values()) >= 1 / 3 and sum(share >= 0.01 for share in shares.values()) >= 3


@pytest.mark.parametrize(
    ("library", "lead", "url"),
    [
        ("image", "An image of the map", "http://HOST/map.png?layer=tracts&year=2014"),
        ("openlayers", "OpenLayers draws", "http://HOST/styles/tracts.json"),
        ("leaflet", "Leaflet draws", "http://HOST/styles/tracts.json"),
        ("leaflet-png", "Leaflet without plugins", "http://HOST/tiles/tracts/{z}/{x}/{y}{r}.png"),
    ],
)
def test_readme_recipe_draws_the_choropleth(page, live_url, recipe_site, library, lead, url):
    folder, site = recipe_site
    snippet = readme_recipe(lead)
    assert url in snippet
    html = snippet.replace("http://HOST", live_url)
    (folder / "index.html").write_text(f"<!DOCTYPE html>\n<meta charset='utf-8'>\n<body style='margin:0'>\n{html}\n", "utf-8")
    page.goto(f"{site}/index.html")
    deadline = time.monotonic() + 30
    shares = choropleth_colours(page)
    while not _drawn(shares) and time.monotonic() < deadline:
        shares = choropleth_colours(page)  # each screenshot waits for a new frame: no sleep needed
    screenshot(page, f"recipe-{library}")
    assert _drawn(shares), shares
    assert page.errors == []


def test_the_png_recipe_asks_high_dpi_screens_for_2x_tiles(browser, live_url, recipe_site):
    folder, site = recipe_site
    html = readme_recipe("Leaflet without plugins").replace("http://HOST", live_url)
    (folder / "index.html").write_text(f"<!DOCTYPE html>\n<meta charset='utf-8'>\n<body style='margin:0'>\n{html}\n", "utf-8")
    context = browser.new_context(viewport={"width": 800, "height": 600}, device_scale_factor=2)
    try:
        page = context.new_page()
        with page.expect_response(lambda response: response.url.endswith("@2x.png")) as tile:
            page.goto(f"{site}/index.html")
        assert tile.value.status == 200 and tile.value.headers["content-type"] == "image/png"
        assert re.search(r"/tiles/tracts/\d+/\d+/\d+@2x\.png$", tile.value.url)
    finally:
        context.close()


def test_the_maplibre_recipe_draws_the_ready_made_style_and_its_own_layer(page, live_url, recipe_site):
    """The README's MapLibre GL JS snippet ("Use these tiles"), run as given with npm's maplibre-gl:
    the ready-made choropleth and the layer it adds on the `load` event both draw tracts."""
    folder, site = recipe_site
    section = README.split("### Use these tiles", 1)[1]
    script = re.search(r"MapLibre GL JS:\s*```js\n(.*?)\n```", section, flags=re.S).group(1).replace("http://HOST", live_url)
    (folder / "index.html").write_text(
        "<!DOCTYPE html>\n<meta charset='utf-8'>\n"
        "<link rel='stylesheet' href='node_modules/maplibre-gl/dist/maplibre-gl.css'>\n"
        "<script src='node_modules/maplibre-gl/dist/maplibre-gl.js'></script>\n"
        "<body style='margin:0'><div id='map' style='width:800px;height:600px'></div>\n"
        f"<script>\n{script}\n</script>\n",
        "utf-8",
    )
    page.goto(f"{site}/index.html")
    added = "() => map.getLayer('crime') && map.loaded() && map.queryRenderedFeatures({layers: ['crime']}).length > 20"
    page.wait_for_function(added, timeout=30_000)
    fills = page.evaluate("() => map.getStyle().layers.filter((l) => l.type === 'fill' && l.id !== 'crime').map((l) => l.id)")
    assert fills and page.evaluate("(ids) => map.queryRenderedFeatures({layers: ids}).length", fills) > 20
    screenshot(page, "recipe-maplibre")
    assert page.errors == []
