"""Page headers and the QGIS layer definition, over HTTP (no browser)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig


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
