"""What each route answers (the tile route, `server/tile_answer.py`, and the Flask routes of
`server/routes.py`), status and headers written out as literals or read from the build's own
files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from werkzeug.test import Client

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig


@pytest.fixture(scope="module")
def api_client(durham_build: Path) -> Client:
    """A client of the app, max-age 90."""
    return create_app(ServerConfig(build_dir=durham_build, reload_interval=0, max_age=90)).test_client()


@pytest.fixture(scope="module")
def manifest(durham_build: Path) -> dict:
    return json.loads((durham_build / "manifest.json").read_text(encoding="utf-8"))


def _cache_headers(response) -> tuple[str, str]:
    return response.headers["Cache-Control"], response.headers["ETag"]


def test_an_on_demand_tile_gzipped_or_not(api_client, manifest):
    path = "/tiles/tracts/13/2300/3216.mvt"
    zipped = api_client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = api_client.get(path)
    assert zipped.status_code == plain.status_code == 200
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Type"] == plain.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    tag = f"{manifest['build_id']}-tracts-13-2300-3216"
    assert _cache_headers(zipped) == ("public, max-age=90", f'"{tag}-gz"')
    assert _cache_headers(plain) == ("public, max-age=90", f'"{tag}"')
    assert api_client.get(path, headers={"If-None-Match": f'"{tag}"'}).status_code == 304


def test_an_empty_tile_is_204_without_a_type(api_client, manifest):
    response = api_client.get("/tiles/tracts/13/0/0.mvt")
    assert response.status_code == 204 and response.data == b""
    assert "Content-Type" not in response.headers
    assert _cache_headers(response) == ("public, max-age=90", f'"{manifest["build_id"]}-tracts-13-0-0"')


def test_tilejson_catalog_and_style_are_cacheable_per_build_and_base(api_client, manifest):
    build_id = manifest["build_id"]
    base = "http://maps.test"
    for path, tag in (
        ("/tiles/tracts.json", f"{build_id}-tracts-{base}"),
        ("/tiles", f"{build_id}-catalog-{base}"),
        ("/styles/tracts.json", f"{build_id}-style-tracts-{base}"),
    ):
        response = api_client.get(path, base_url=base)
        assert response.status_code == 200, path
        assert _cache_headers(response) == ("public, max-age=90", f'"{tag}"'), path
    style = api_client.get("/styles/hex.json", base_url=base).get_json()
    assert style["sources"]["hex"]["url"] == f"{base}/tiles/hex.json"
    assert api_client.get("/styles/counties.json").status_code == 404


@pytest.mark.parametrize(
    ("query", "filename", "tag"),
    [
        ("", "violent-crimes-per-sqmi-tracts.csv", "tracts-csv-None"),
        ("?year=2013", "violent-crimes-per-sqmi-tracts-2013.csv", "tracts-csv-2013"),
    ],
)
def test_a_csv_download_names_its_file_and_year(api_client, manifest, query, filename, tag):
    response = api_client.get(f"/downloads/tracts.csv{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert _cache_headers(response) == ("public, max-age=90", f'"{manifest["build_id"]}-{tag}"')


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_a_download_is_sent_as_it_is_written_not_read_whole_first(api_client, fmt):
    """No Content-Length: werkzeug sets one only by reading the whole body into memory first (a
    250,000-polygon layer's GeoJSON is 323 MiB); the body comes piece by piece as it is written."""
    response = api_client.get(f"/downloads/hex9.{fmt}", buffered=False)
    assert "Content-Length" not in response.headers
    pieces = iter(response.response)
    assert next(pieces).startswith(b"layer,id,name,year," if fmt == "csv" else b'{"type":"FeatureCollection"')
    assert sum(1 for _ in pieces) >= 9  # a piece (or more) per row group of hex9's 8,398 cells
    response.close()


@pytest.mark.parametrize("path", ["/downloads/tracts.shp", "/downloads/counties.csv", "/downloads/tracts.csv.gz"])
def test_unknown_downloads_are_404(api_client, path):
    assert api_client.get(path).status_code == 404


def test_healthz_reads_the_manifest(api_client, manifest):
    assert api_client.get("/healthz").get_json() == {
        "status": "ok",
        "build_id": manifest["build_id"],
        "built_at": manifest["built_at"],
        "generator": manifest["generator"],
    }


def test_metrics_are_prometheus_text(api_client):
    response = api_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


@pytest.mark.parametrize(("accept", "encoding"), [("br", "br"), ("gzip", "gzip"), ("identity", None)])
def test_a_summary_in_each_encoding(api_client, manifest, durham_build, accept, encoding):
    response = api_client.get("/summaries/tracts.json", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.headers["Vary"] == "Accept-Encoding"
    assert _cache_headers(response) == ("public, max-age=90", f'"{manifest["build_id"]}-summary-tracts-{encoding or "identity"}"')
    if encoding is None:
        assert response.data == (durham_build / "summaries" / "tracts.json").read_bytes()
