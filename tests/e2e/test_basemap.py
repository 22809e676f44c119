"""A configured basemap draws, in Chromium, under the page's own Content-Security-Policy: a raster
XYZ template (`CRIMETILES_BASEMAP_URL` under granian) and a MapLibre style (`crimetiles serve
--basemap-url`), both served by a second local server, another origin than the map's. Its solid
colour shows where no area is drawn and through the translucent choropleth, on the page and in
the embed, with no CSP violation; so it does in a static export (`crimetiles export-static
--basemap-url`) under its pages' `<meta>` policy. Without a basemap, no request leaves the page's
origin."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import running
from tests.e2e.canvas import pixels_at_lonlats
from tests.e2e.conftest import BACKGROUND, wait_idle
from tests.e2e.nginx import readme_nginx_block, running_nginx
from tests.server.served import readme_command, serving

pytestmark = pytest.mark.browser

TEMPLATE_BLUE = (0x20, 0x60, 0xE0)
"""The raster template's tiles."""
STYLE_GREEN = (0x10, 0xA0, 0x40)
"""The style's raster tiles, drawn at the opacity the style gives (1: its colour exactly)."""
VIEW = "#10/35.99/-78.9"
OUTSIDE_DURHAM = (-79.2, 36.0)
"""West of every Durham polygon, inside the 1100-pixel view at zoom 10: only the basemap is drawn there."""
DOWNTOWN = (-78.8985, 35.9935)
"""Inside a tract (the county courthouse): the choropleth is drawn there."""
PAGES = ("/", "/embed")
TOLERANCE = 3
"""Per channel, for rounding in blending."""

FILL_OPACITY = """() => {
  const {map, state, fillLayers} = window.crimetiles;
  return map.getPaintProperty(fillLayers[state.layer][0], 'fill-opacity');
}"""
"""The opacity the page fills its current layer's areas with."""
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def solid_png(colour: tuple[int, int, int], size: int = 256) -> bytes:
    """A `size`-pixel square PNG of one colour (8-bit RGB, no filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" + bytes(colour) * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _basemap_handler(paths: list[str]) -> type[BaseHTTPRequestHandler]:
    """`/blue/{z}/{x}/{y}.png` and `/green/...`: solid tiles; `/style.json`: a raster style of the
    green tiles. Every answer may be read by any origin, as public tile servers allow."""
    tiles = {"blue": solid_png(TEMPLATE_BLUE), "green": solid_png(STYLE_GREEN)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            host = self.headers["Host"]
            colour = self.path.split("/")[1]
            if self.path == "/style.json":
                style = {
                    "version": 8,
                    "sources": {"streets": {"type": "raster", "tiles": [f"http://{host}/green/{{z}}/{{x}}/{{y}}.png"]}},
                    "layers": [{"id": "streets", "type": "raster", "source": "streets"}],
                }
                self._answer(json.dumps(style).encode(), "application/json")
            elif colour in tiles and self.path.endswith(".png"):
                self._answer(tiles[colour], "image/png")
            else:
                self.send_error(404)

        def _answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def basemap_server() -> Iterator[tuple[str, list[str]]]:
    """A second local server, the basemap's (its base URL and the paths asked of it). Its port
    never holds `8000`, which `serving` rewrites in the command it starts."""
    paths: list[str] = []
    servers = []
    while not servers or "8000" in str(servers[-1].server_port):
        servers.append(ThreadingHTTPServer(("127.0.0.1", 0), _basemap_handler(paths)))
    for unused in servers[:-1]:
        unused.server_close()
    with running(servers[-1]):
        yield f"http://127.0.0.1:{servers[-1].server_port}", paths
    servers[-1].server_close()


def _watched(page) -> tuple[list[str], list[str]]:
    """Every URL `page` requests, and every console error or warning."""
    requested: list[str] = []
    console: list[str] = []
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: console.append(message.text) if message.type in ("error", "warning") else None)
    return requested, console


def _pixels(page, url: str) -> tuple[list[int], list[int]]:
    """The colours drawn outside Durham and downtown, once `url` is idle."""
    page.goto(url)
    wait_idle(page)
    outside, downtown = pixels_at_lonlats(page, [OUTSIDE_DURHAM, DOWNTOWN])
    return outside, downtown


def _blend(top: tuple[int, ...], opacity: float, under: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(opacity * t + (1 - opacity) * u for t, u in zip(top, under, strict=True))


def _close(pixel: list[int], expected: tuple[float, ...]) -> bool:
    return max(abs(p - e) for p, e in zip(pixel, expected, strict=True)) <= TOLERANCE


def _through_the_choropleth(page, plain: list[int], basemap: tuple[int, int, int], opacity: float) -> tuple[float, ...]:
    """The colour of a choropleth pixel `plain` (drawn over the background) once the basemap is
    under it: the fill lets (1 - its opacity) of the basemap's blend with the background through."""
    fill_opacity = page.evaluate(FILL_OPACITY)
    assert 0 < fill_opacity < 1
    return tuple(p + (1 - fill_opacity) * opacity * (b - g) for p, b, g in zip(plain, basemap, BACKGROUND, strict=True))


def _assert_no_csp_violation(page, console: list[str]) -> None:
    assert page.evaluate("() => window.cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert page.errors == []


@pytest.fixture(scope="module")
def plain_downtown(browser, live_url) -> list[int]:
    """The downtown pixel of the map page with no basemap, tracts of all years."""
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    try:
        return _pixels(page, f"{live_url}/?layer=tracts{VIEW}")[1]
    finally:
        context.close()


def test_a_raster_template_draws_under_the_choropleth(page, durham_build, basemap_server, plain_downtown):
    base_url, asked = basemap_server
    requested, console = _watched(page)
    template = f"{base_url}/blue/{{z}}/{{x}}/{{y}}.png"
    with serving(readme_command("granian"), durham_build, basemap_url=template, reload_interval="0") as (base, _):
        for path in PAGES:
            outside, downtown = _pixels(page, f"{base}{path}?layer=tracts{VIEW}")
            opacity = page.evaluate("() => window.crimetiles.map.getPaintProperty('basemap', 'raster-opacity')")
            assert 0 < opacity <= 1
            assert _close(outside, _blend(TEMPLATE_BLUE, opacity, BACKGROUND)), (path, outside)
            expected = _through_the_choropleth(page, plain_downtown, TEMPLATE_BLUE, opacity)
            assert _close(downtown, expected), (path, downtown, expected)
            _assert_no_csp_violation(page, console)
    assert any(url.startswith(f"{base_url}/blue/11/") for url in requested)  # 256-pixel tiles at zoom 10
    assert any(p.startswith("/blue/11/") for p in asked)


def test_a_style_url_draws_under_the_choropleth(page, durham_build, basemap_server, plain_downtown):
    base_url, _ = basemap_server
    requested, console = _watched(page)
    command = ["crimetiles", "serve", "--port", "8000", "--basemap-url", f"{base_url}/style.json"]
    with serving(command, durham_build, reload_interval="0") as (base, _):
        for path in PAGES:
            outside, downtown = _pixels(page, f"{base}{path}?layer=tracts{VIEW}")
            assert _close(outside, STYLE_GREEN), (path, outside)
            expected = _through_the_choropleth(page, plain_downtown, STYLE_GREEN, 1.0)
            assert _close(downtown, expected), (path, downtown, expected)
            _assert_no_csp_violation(page, console)
    assert f"{base_url}/style.json" in requested
    assert any(url.startswith(f"{base_url}/green/10/") for url in requested)  # the style source: 512-pixel tiles


def test_a_static_export_draws_its_basemap_under_the_choropleth(page, durham_build, basemap_server, plain_downtown, tmp_path):
    """`crimetiles export-static --basemap-url`: the pages' `<meta>` policy lets the basemap in,
    served by nginx with the README's block."""
    base_url, _ = basemap_server
    requested, console = _watched(page)
    site = tmp_path / "site"
    template = f"{base_url}/blue/{{z}}/{{x}}/{{y}}.png"
    export = [sys.executable, "-m", "crimetiles", "export-static", str(durham_build), str(site), "--basemap-url", template]
    subprocess.run(export, check=True, timeout=300)
    http, location = readme_nginx_block("export-static").split("# in server { }:")
    (tmp_path / "nginx").mkdir()
    with running_nginx(tmp_path / "nginx", location.replace("/srv/crime-map/site/", f"{site}/"), http) as origin:
        for page_file in ("index.html", "embed.html"):
            outside, downtown = _pixels(page, f"{origin}/maps/crime/{page_file}?layer=tracts{VIEW}")
            opacity = page.evaluate("() => window.crimetiles.map.getPaintProperty('basemap', 'raster-opacity')")
            assert _close(outside, _blend(TEMPLATE_BLUE, opacity, BACKGROUND)), (page_file, outside)
            expected = _through_the_choropleth(page, plain_downtown, TEMPLATE_BLUE, opacity)
            assert _close(downtown, expected), (page_file, downtown, expected)
            _assert_no_csp_violation(page, console)
    assert any(url.startswith(f"{base_url}/blue/11/") for url in requested)


def test_without_a_basemap_no_request_leaves_the_page_origin(page, live_url):
    requested, console = _watched(page)
    for path in PAGES:
        outside, _ = _pixels(page, f"{live_url}{path}?layer=tracts{VIEW}")
        assert _close(outside, BACKGROUND), (path, outside)
        _assert_no_csp_violation(page, console)
    assert f"{live_url}/tiles/tracts/10/287/402.mvt" in requested  # the map worker's requests are seen too
    assert [url for url in requested if not url.startswith(f"{live_url}/")] == []
