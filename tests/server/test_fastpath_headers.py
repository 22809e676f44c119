"""Tile answers written out header by header, as a client gets them (literals and values read from
the build's files), and the requests the tile route leaves to Flask."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import requests

from tests.conftest import serve_in_thread
from tests.server.apps import ARCHIVE_TILE, counting_app
from tests.server.builds import stored_tile


def _headers(response) -> list[tuple[str, str]]:
    return response.headers.to_wsgi_list()


def _build_id(build: Path) -> str:
    return json.loads((build / "manifest.json").read_text(encoding="utf-8"))["build_id"]


CORS_ANY = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "ETag, Content-Encoding")]
CORS_PREFLIGHT = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept-Encoding"),
]


def test_a_gzipped_archive_tile_header_by_header(durham_build):
    app, seen = counting_app(durham_build, max_age=120)
    response = app.test_client().get(ARCHIVE_TILE, headers={"Accept-Encoding": "gzip"})
    stored = stored_tile(durham_build, 12, 1150, 1608)
    assert response.status == "200 OK"
    assert response.data == stored
    assert _headers(response) == [
        ("Content-Type", "application/vnd.mapbox-vector-tile"),
        ("Content-Length", str(len(stored))),
        ("Content-Encoding", "gzip"),
        ("ETag", f'"{_build_id(durham_build)}-tracts-12-1150-1608-gz"'),
        ("Cache-Control", "public, max-age=120"),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
        *CORS_ANY,
    ]
    assert seen == []


def test_an_identity_archive_tile_and_its_head(durham_build):
    app, seen = counting_app(durham_build)
    client = app.test_client()
    raw = gzip.decompress(stored_tile(durham_build, 12, 1150, 1608))
    got = client.get(ARCHIVE_TILE)
    head = client.head(ARCHIVE_TILE)
    assert got.data == raw and head.data == b""
    for response in (got, head):
        assert response.status == "200 OK"
        assert _headers(response)[:3] == [
            ("Content-Type", "application/vnd.mapbox-vector-tile"),
            ("Content-Length", str(len(raw))),
            ("ETag", f'"{_build_id(durham_build)}-tracts-12-1150-1608"'),
        ]
    assert seen == []


def test_a_preflight_alone_carries_the_allowed_methods_and_headers(durham_build):
    """A browser reads `Access-Control-Allow-Methods/Headers` in a preflight's answer only (Fetch
    standard): tiles do not carry them, the `OPTIONS` answer does."""
    app, _ = counting_app(durham_build)
    client = app.test_client()
    asked = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"}
    preflight = client.options(ARCHIVE_TILE, headers={"Origin": "https://a.example", **asked})
    assert preflight.status_code == 200
    assert [(name, value) for name, value in preflight.headers.items() if name.startswith("Access-Control-")] == [
        *CORS_ANY,
        *CORS_PREFLIGHT,
    ]
    for response in (client.get(ARCHIVE_TILE), client.get("/tiles/tracts.json")):
        assert [(name, value) for name, value in response.headers.items() if name.startswith("Access-Control-")] == CORS_ANY


def test_an_origin_list_answers_each_origin_with_its_own_name(durham_build):
    app, seen = counting_app(durham_build, cors_origins="https://a.example,https://b.example")
    client = app.test_client()
    listed = _headers(client.get(ARCHIVE_TILE, headers={"Origin": "https://b.example"}))
    other = _headers(client.get(ARCHIVE_TILE, headers={"Origin": "https://c.example"}))
    tail = [(name, value) for name, value in CORS_ANY if name != "Access-Control-Allow-Origin"]
    assert listed[-4:] == [
        ("Vary", "Accept-Encoding, Origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("Access-Control-Allow-Origin", "https://b.example"),
        *tail,
    ]
    assert other[-3:] == [("Vary", "Accept-Encoding, Origin"), ("X-Content-Type-Options", "nosniff"), *tail]
    assert seen == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "flask"),
    [
        ("POST", ARCHIVE_TILE, {}, 405, False),
        ("DELETE", ARCHIVE_TILE, {}, 405, False),  # a method sorted before GET and HEAD
        ("GET", ARCHIVE_TILE, {"If-Match": '"x"'}, 412, False),
        ("GET", ARCHIVE_TILE + "/more", {}, 404, True),
        ("GET", "/tilez/tracts/12/1150/1608.mvt", {}, 404, True),
        ("GET", "/tiles/counties/12/1150/1608.mvt", {}, 404, False),
        ("GET", "/tiles/tracts/23/0/0.mvt", {}, 404, False),
        ("GET", "/tiles/tracts/13/2300/3216.mvt", {"Accept-Encoding": "identity;q=0"}, 406, False),
        ("GET", "/tiles/tracts/12/1150/4096.mvt", {}, 404, False),
    ],
)
def test_refusals_of_tile_paths_are_answered_before_flask(durham_build, method, path, headers, status, flask):
    """Every request for a tile path is answered by the tile route, refusals included; a path
    that is no tile path goes to Flask."""
    app, seen = counting_app(durham_build)
    response = app.test_client().open(path, method=method, headers=headers)
    assert response.status_code == status
    assert seen == ([path] if flask else [])


@pytest.mark.parametrize("path", ["/tiles/tracts/0/0/0.mvt", "/tiles/tracts/12/1150/1608.pbf", "/tiles/tracts/12/4095/4095.mvt"])
def test_every_zoom_and_corner_of_the_archive_takes_the_fast_path(durham_build, path):
    app, seen = counting_app(durham_build)
    assert app.test_client().get(path).status_code in (200, 204)
    assert seen == []


def test_a_real_http_server_sends_the_tile_body(durham_build):
    """Over a socket the method is a string the server decoded, not the test client's literal:
    a GET still gets the body, a HEAD none."""
    app, seen = counting_app(durham_build)
    stored = stored_tile(durham_build, 12, 1150, 1608)
    url = next(serve := serve_in_thread(app))
    try:
        got = requests.get(f"{url}{ARCHIVE_TILE}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        assert got.raw.read(decode_content=False) == stored
        head = requests.head(f"{url}{ARCHIVE_TILE}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(stored))
    finally:
        serve.close()
    assert seen == []
