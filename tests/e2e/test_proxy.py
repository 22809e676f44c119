"""The page behind a reverse proxy that mounts the app under /crime/, in a real browser.

The proxy is a small threaded HTTP server written here: it forwards `/crime/...` to the app with
the prefix stripped, as nginx's `proxy_pass http://app/;` in `location /crime/` does, and sets
`X-Forwarded-Prefix`, `X-Forwarded-Host` and `X-Forwarded-Proto`. Anything outside the prefix
is not the app's, so the proxy answers 404: a page that used an absolute path would break.
Then real nginx runs the README's configuration, checked over HTTP.
"""

from __future__ import annotations

import html
import http.client
import io
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from tests.conftest import running
from tests.e2e.conftest import assert_draws_block_group, embedded_tracts_map, screenshot, wait_idle
from tests.e2e.nginx import readme_nginx_block, running_nginx

PREFIX = "/crime"
BLOCKGROUP = "370630010011"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class PrefixProxy(BaseHTTPRequestHandler):
    """Forwards GET `PREFIX/path` to `upstream` as GET `/path`, bodies and encodings untouched."""

    upstream = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == PREFIX:
            self._answer(301, {"Location": PREFIX + "/"}, b"")
        elif not self.path.startswith(PREFIX + "/"):
            self._answer(404, {"Content-Type": "text/plain"}, b"not under the proxy's prefix")
        else:
            self._forward(self.path.removeprefix(PREFIX))

    def _forward(self, path: str) -> None:
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP | {"host"}}
        headers.update(
            {
                "X-Forwarded-Prefix": PREFIX,
                "X-Forwarded-Host": self.headers["Host"],
                "X-Forwarded-Proto": "http",
                "X-Forwarded-For": self.client_address[0],
            }
        )
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            connection.request("GET", path, headers=headers)
            upstream = connection.getresponse()
            body = upstream.read()
            kept = {name: value for name, value in upstream.getheaders() if name.lower() not in HOP_BY_HOP}
            self._answer(upstream.status, kept, body)
        finally:
            connection.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxied(live_url: str) -> Iterator[str]:
    """The app under http://127.0.0.1:PORT/crime/ through the proxy; yields that base URL."""
    handler = type("Proxy", (PrefixProxy,), {"upstream": urlsplit(live_url).netloc})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with running(proxy):
        yield f"http://127.0.0.1:{proxy.server_port}{PREFIX}/"


@pytest.fixture
def requested(page) -> list[str]:
    """Every URL the page (its frames and the map worker included) asks for."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def _outside(urls: list[str], base: str) -> list[str]:
    return [url for url in urls if not url.startswith(base) and not url.startswith(("data:", "blob:", "about:"))]


@pytest.mark.browser
def test_map_draws_the_choropleth_under_the_prefix(page, requested, proxied, durham_build):
    assert_draws_block_group(page, proxied, durham_build, BLOCKGROUP)
    screenshot(page, "proxy-map")
    assert _outside(requested, proxied) == []
    asked = {url.removeprefix(proxied).split("?")[0] for url in requested}
    assert {"static/app.js", "static/vendor/maplibre-gl/maplibre-gl-csp-worker.js", "tiles", "tiles/blockgroups.json"} <= asked
    assert any(path.startswith("tiles/blockgroups/14/") for path in asked)  # fetched by the map's worker


@pytest.mark.browser
def test_downloads_and_links_carry_the_prefix(page, requested, proxied):
    page.goto(f"{proxied}?layer=tracts&year=2014")
    wait_idle(page)
    csv_url = page.eval_on_selector("#download-csv", "link => link.href")
    assert csv_url == f"{proxied}downloads/tracts.csv?year=2014"
    download = page.request.get(csv_url)
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv")
    header, first_row = download.text().splitlines()[:2]
    assert header == (
        "layer,id,name,year,violent_count,area_sqmi,violent_per_sqmi,violent_per_sqmi_low,violent_per_sqmi_high,unstable,suppressed"
    )
    assert first_row.startswith("tracts,") and ",2014," in first_row
    qlr_url = page.eval_on_selector(".qgis-link", "link => link.href")
    assert qlr_url == f"{proxied}qgis/tracts.qlr?year=2014"
    assert f"url={proxied}tiles/tracts/{{z}}/{{x}}/{{y}}.mvt" in page.request.get(qlr_url).text()
    page.click("#about-button")
    assert page.locator("#tilejson-url").inner_text() == f"{proxied}tiles/tracts.json"
    assert f"style: '{proxied}styles/tracts.json'" in page.locator("#about").text_content()  # in closed <details>
    assert page.eval_on_selector("#about a[href='tiles']", "link => link.href") == f"{proxied}tiles"
    assert page.request.get(f"{proxied}tiles/tracts.json").json()["tiles"] == [f"{proxied}tiles/tracts/{{z}}/{{x}}/{{y}}.mvt"]
    assert _outside(requested, proxied) == []


@pytest.mark.browser
def test_embed_snippet_loads_through_the_proxy(page, requested, proxied):
    page.goto(f"{proxied}?layer=tracts&year=2015#11/35.99/-78.9")
    wait_idle(page)
    page.click("#embed-button")
    snippet = page.locator("#embed-code").input_value()
    assert snippet.startswith(f'<iframe src="{proxied}embed?layer=tracts&year=2015#11/')
    page.set_content(f"<!DOCTYPE html><title>a news site</title>{snippet}")
    frame = page.frame_locator("iframe")
    frame.locator("#legend-rows li").first.wait_for()
    inner = embedded_tracts_map(page, f"{proxied}embed")
    full_map = inner.eval_on_selector("#full-map-link", "link => link.href")
    assert full_map.startswith(f"{proxied}?layer=tracts&year=2015#")
    screenshot(page, "proxy-embed")
    assert _outside(requested, proxied) == []


def _readme_nginx_location(upstream: str) -> str:
    location = readme_nginx_block("proxy_pass")
    assert "http://127.0.0.1:8000/" in location
    return location.replace("http://127.0.0.1:8000/", f"http://{upstream}/")


@pytest.fixture
def nginx(live_url: str, tmp_path: Path) -> Iterator[str]:
    """nginx with the README's `location /crime/` block in front of the app, and nothing of the app
    elsewhere (`location /` is another site's: here a 404); yields its origin."""
    with running_nginx(tmp_path, _readme_nginx_location(urlsplit(live_url).netloc)) as origin:
        yield origin


def test_readme_nginx_configuration_serves_the_app_under_its_prefix(nginx):
    redirect = requests.get(f"{nginx}{PREFIX}", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].endswith(f"{PREFIX}/")
    page = requests.get(f"{nginx}{PREFIX}/", timeout=10)
    assert page.status_code == 200 and "reported by police" in page.text
    hashed = re.sub(r'<link rel="modulepreload"[^>]*>', "", page.text)  # preloads name a module's plain path
    static_urls = re.findall(r'(?:href|src|data-worker)="(static/[^"]+)"', hashed)
    assert len(static_urls) >= 5
    for url in static_urls:
        response = requests.get(f"{nginx}{PREFIX}/{url}", headers={"Accept-Encoding": "br"}, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Encoding"] == "br", url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    tilejson = requests.get(f"{nginx}{PREFIX}/tiles/tracts.json", timeout=10).json()
    assert tilejson["tiles"] == [f"{nginx}{PREFIX}/tiles/tracts/{{z}}/{{x}}/{{y}}.mvt"]
    style = requests.get(f"{nginx}{PREFIX}/styles/tracts.json", timeout=10).json()
    assert style["sources"]["tracts"]["url"] == f"{nginx}{PREFIX}/tiles/tracts.json"
    assert f"url={nginx}{PREFIX}/tiles/tracts/" in requests.get(f"{nginx}{PREFIX}/qgis/tracts.qlr", timeout=10).text
    card = html.unescape(re.search(r'<meta property="og:image" content="([^"]+)"', page.text).group(1))
    assert card.startswith(f"{nginx}{PREFIX}/map.png?layer=blockgroups&")  # a shared link's picture, public URL
    picture = requests.get(card, timeout=30)
    assert picture.status_code == 200 and Image.open(io.BytesIO(picture.content)).size == (1200, 630)
    assert requests.get(f"{nginx}/static/app.js", timeout=10).status_code == 404  # nothing outside the prefix
