"""`/summaries/<layer>.json`: the layer summaries of the build, compressed, cacheable, CORS."""

from __future__ import annotations

import gzip
import json
import shutil
import tracemalloc

import brotli
import pytest

from crimetiles.artifact.errors import BuildError
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build


def test_summary_is_the_build_file_in_every_encoding(client, durham_build):
    summaries = durham_build / "summaries"
    stored = (summaries / "blockgroups.json").read_bytes()
    plain = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.data == stored
    assert plain.mimetype == "application/json" and "Content-Encoding" not in plain.headers
    zipped = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == stored and zipped.data == (summaries / "blockgroups.json.gz").read_bytes()
    best = client.get("/summaries/blockgroups.json", headers={"Accept-Encoding": "gzip, br"})
    assert best.headers["Content-Encoding"] == "br" and brotli.decompress(best.data) == stored
    assert best.data == (summaries / "blockgroups.json.br").read_bytes()
    assert best.headers["Vary"] == "Accept-Encoding"
    # docs/artifact.md: "46 kB for the 153 Durham block groups, 13 kB brotli-compressed"
    assert (len(json.loads(stored)["areas"]["id"]), round(len(stored) / 1000), round(len(best.data) / 1000)) == (153, 46, 13)


def test_the_build_compresses_each_summary_once_and_the_server_sends_its_copy(durham_build, tmp_path):
    """No worker compresses a summary the build compressed (5 s of gzip for a 62 MB national one):
    a copy whose bytes the server would not have made itself (gzip level 1) is sent as it is."""
    copy = tmp_path / "copied"
    shutil.copytree(durham_build, copy)
    stored = (copy / "summaries" / "tracts.json").read_bytes()
    level_one = gzip.compress(stored, compresslevel=1, mtime=0)
    assert level_one != gzip.compress(stored, compresslevel=9, mtime=0)
    (copy / "summaries" / "tracts.json.gz").write_bytes(level_one)
    client = create_app(ServerConfig(build_dir=copy, reload_interval=0)).test_client()
    zipped = client.get("/summaries/tracts.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.data == level_one


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


PADDING = 20_000_000
"""Bytes of whitespace after a summary's JSON: a national layer's summary is about a hundred
megabytes, which compresses to a tenth; whitespace compresses to almost nothing."""


def test_an_app_reads_a_summary_only_when_asked_and_keeps_only_its_compressed_bodies(durham_build, tmp_path):
    """Every worker would otherwise hold every summary from its start (103 MiB at 250,000 cells).
    A build made before the build compressed its summaries: the server compresses them, once."""
    copy = tmp_path / "padded"
    shutil.copytree(durham_build, copy)
    for compressed in (copy / "summaries").glob("*.json.*"):
        compressed.unlink()
    stored = (copy / "summaries" / "tracts.json").read_bytes()
    (copy / "summaries" / "tracts.json").write_bytes(stored + b" " * PADDING)
    tracemalloc.start()
    try:
        client = create_app(ServerConfig(build_dir=copy, reload_interval=0)).test_client()
        started = tracemalloc.get_traced_memory()[0]
        zipped = client.get("/summaries/tracts.json", headers={"Accept-Encoding": "gzip"})
        kept = tracemalloc.get_traced_memory()[0] - started
    finally:
        tracemalloc.stop()
    assert started < PADDING / 2
    assert json.loads(gzip.decompress(zipped.data)) == json.loads(stored)
    assert kept < PADDING / 10


def test_a_build_missing_a_summary_it_names_does_not_load(durham_build, tmp_path):
    """Summaries are read when asked, but checked when the build loads: a broken build is refused
    at the start (or kept out by a hot swap), not found out by its first visitor."""
    copy = tmp_path / "broken"
    shutil.copytree(durham_build, copy)
    (copy / "summaries" / "tracts.json").unlink()
    with pytest.raises(BuildError, match=r"summaries/tracts\.json: cannot read layer summary"):
        create_app(ServerConfig(build_dir=copy, reload_interval=0))
