"""Page headers, static files (compression, hashed URLs, caching) and the QGIS layer definition,
over HTTP (no browser)."""

from __future__ import annotations

import gzip
import hashlib
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import brotli
import pytest

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

STATIC = Path(__file__).resolve().parents[2] / "static"
MAPLIBRE = "vendor/maplibre-gl/maplibre-gl-csp.js"


def _csp(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def test_map_page_has_strict_headers(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = _csp(response)
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "onclick" not in html  # no inline script for the CSP to allow
    assert "reported by police" in html


def test_embed_may_be_framed_from_configured_origins(client, durham_build):
    assert _csp(client.get("/embed"))["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in client.get("/embed").headers
    app = create_app(
        ServerConfig(
            build_dir=durham_build, reload_interval=0, frame_ancestors="https://news.example.org, https://blog.example.org"
        )
    )
    response = app.test_client().get("/embed")
    assert _csp(response)["frame-ancestors"] == "https://news.example.org https://blog.example.org"


def test_basemap_origin_is_allowed_only_when_configured(client, durham_build):
    assert "tile.openstreetmap.org" not in client.get("/").headers["Content-Security-Policy"]
    app = create_app(
        ServerConfig(build_dir=durham_build, reload_interval=0, basemap_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    )
    response = app.test_client().get("/")
    assert _csp(response)["img-src"] == "'self' data: blob: https://tile.openstreetmap.org"
    assert 'data-basemap="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in response.get_data(as_text=True)


def test_vendored_maplibre_and_its_license_are_served(client):
    for path in (
        "/static/vendor/maplibre-gl/maplibre-gl-csp.js",
        "/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js",
        "/static/vendor/maplibre-gl/LICENSE.txt",
        "/static/app.js",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/pyproject.toml").status_code == 404


def _page_static_urls(client, page: str) -> list[str]:
    """The page's links to static files but its module preloads: those name a module's plain path,
    as modules import it (tests/e2e/test_first_picture.py)."""
    html = re.sub(r'<link rel="modulepreload"[^>]*>', "", client.get(page).get_data(as_text=True))
    return re.findall(r'(?:href|src|data-[a-z-]+)="(static/[^"]+)"', html)


def test_pages_link_static_files_relatively_under_their_content_hash(client):
    urls = _page_static_urls(client, "/") + _page_static_urls(client, "/embed")
    paths = {url.split("?")[0].removeprefix("static/") for url in urls}
    assert paths == {
        "app.js",
        "crimetiles.css",
        "favicon.svg",
        "first_view.js",
        "vendor/maplibre-gl/maplibre-gl.css",
        "vendor/maplibre-gl/maplibre-gl-csp.js",
        "vendor/maplibre-gl/maplibre-gl-csp-worker.js",
        "vendor/uplot/uPlot.iife.min.js",  # loaded by the page only when a chart is shown
        "vendor/uplot/uPlot.min.css",
    }
    for url in urls:
        path, version = url.removeprefix("static/").split("?v=")
        assert version == hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:16], url
        response = client.get("/" + url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["ETag"]


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
        ("gzip", "gzip"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, *", "gzip"),
        ("br", "br"),
        ("identity", None),
        ("gzip;q=0", None),
        ("*;q=0", None),
        ("", None),
    ],
)
def test_static_files_are_compressed_as_the_client_accepts(client, accept_encoding, coding):
    raw = (STATIC / MAPLIBRE).read_bytes()
    response = client.get(f"/static/{MAPLIBRE}", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == coding
    assert "Accept-Encoding" in response.headers["Vary"]
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding]
    assert decode(response.data) == raw
    assert int(response.headers["Content-Length"]) == len(response.data)
    if coding:
        assert len(response.data) < len(raw) / 3  # 973 kB of JavaScript: about 221 kB brotli, 248 kB gzip


def test_each_encoding_has_its_own_etag_and_answers_304(client):
    etags = set()
    for coding in ("br", "gzip", "identity"):
        first = client.get("/static/app.js", headers={"Accept-Encoding": coding})
        etags.add(first.headers["ETag"])
        again = client.get("/static/app.js", headers={"Accept-Encoding": coding, "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    assert len(etags) == 3


def test_unhashed_or_stale_urls_must_be_revalidated(client):
    """A module imported by a relative path, or a page cached before a release, asks without the
    current hash: it gets the file, but no cache may keep it without asking again."""
    for url in ("/static/app.js", "/static/app.js?v=0123456789abcdef"):
        response = client.get(url)
        assert response.status_code == 200 and response.data == (STATIC / "app.js").read_bytes()
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["ETag"]


@pytest.mark.parametrize("name", ["index.html", "embed.html", "base.html", "__init__.py", "vendor/maplibre-gl/README.md"])
def test_templates_and_package_files_are_not_static_files(client, name):
    assert (STATIC / name).is_file()
    response = client.get(f"/static/{name}")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_favicon(client):
    [url] = [url for url in _page_static_urls(client, "/") if "favicon" in url]
    response = client.get("/" + url)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert ElementTree.fromstring(gzip.decompress(client.get("/" + url, headers={"Accept-Encoding": "gzip"}).data)).tag.endswith(
        "svg"
    )


def test_qgis_layer_definition(client):
    response = client.get("/qgis/tracts.qlr", base_url="http://maps.test")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="crimetiles-tracts.qlr"'
    root = ElementTree.fromstring(response.data)
    layer = root.find("maplayers/maplayer")
    assert layer.get("type") == "vector-tile"
    assert layer.findtext("datasource") == (
        "styleUrl=http://maps.test/styles/tracts.json&type=xyz&url=http://maps.test/tiles/tracts/{z}/{x}/{y}.mvt&zmax=14&zmin=0"
    )
    assert root.find("layer-tree-group/layer-tree-layer").get("source") == layer.findtext("datasource")
    assert client.get("/qgis/wards.qlr").status_code == 404
