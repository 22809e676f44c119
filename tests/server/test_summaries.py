"""`/summaries/<layer>.json`: the layer summaries of the build, compressed, cacheable, CORS."""

from __future__ import annotations

import gzip
import json
import shutil

import brotli
import pytest

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build


def test_summary_is_the_build_file_in_every_encoding(client, durham_build):
    stored = (durham_build / "summaries" / "blockgroups.json").read_bytes()
    plain = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.data == stored
    assert plain.mimetype == "application/json" and "Content-Encoding" not in plain.headers
    zipped = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == stored
    best = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "gzip, br"})
    assert best.headers["Content-Encoding"] == "br" and brotli.decompress(best.data) == stored
    assert len(best.data) < len(stored) / 2
    assert best.headers["Vary"] == "Accept-Encoding"


def test_summary_is_cacheable_by_build_and_shared_cross_origin(client, app):
    build_id = live_build(app).service.build_id
    first = client.get("/summaries/tracts.json", headers={"Accept-Encoding": "br", "Origin": "https://elsewhere.example"})
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["ETag"] == f'"{build_id}-summary-tracts-br"'
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/summaries/tracts.json", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("path", ["/summaries/wards.json", "/summaries/..%2Fmanifest.json", "/summaries/tracts.csv"])
def test_unknown_summary_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and "error" in response.get_json()


def test_a_build_without_summaries_serves_none_but_still_the_page(durham_build, tmp_path):
    copy = tmp_path / "older"
    shutil.copytree(durham_build, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["summaries"]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    shutil.rmtree(copy / "summaries")
    client = create_app(ServerConfig(build_dir=copy, reload_interval=0)).test_client()
    response = client.get("/summaries/tracts.json")
    assert response.status_code == 404 and "none in this build" in response.get_json()["error"]
    assert client.get("/").status_code == 200
