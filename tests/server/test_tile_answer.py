"""The one tile answer (`server/tile_answer.py`): called directly, header by header, and through the
app for 1,846 requests whose answers were recorded from the Flask tile route and the fast path
that used to give them (`tile_answers.json`, written out by `tile_exchanges.py`)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from werkzeug.test import Client

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from crimetiles.server.params import TileRequest
from crimetiles.server.tile_answer import TileAnswers, query_year, representation_key, tile_etag, tile_path
from crimetiles.server.tiles import TileService
from tests.server.apps import ARCHIVE_TILE, ON_DEMAND_TILE
from tests.server.builds import stored_tile
from tests.server.tile_exchanges import CORS_SETTINGS, ENCODINGS, TILE_PATHS, refusal_exchanges, tile_exchanges, written_out

RECORDED = json.loads((Path(__file__).parent / "tile_answers.json").read_text(encoding="utf-8"))
EMPTY_ARCHIVE_TILE = "/tiles/tracts/12/0/0.pbf"
MVT = ("Content-Type", "application/vnd.mapbox-vector-tile")
JSON = ("Content-Type", "application/json")
VARY = ("Vary", "Accept-Encoding")


@pytest.fixture(scope="module")
def service(durham_build: Path) -> TileService:
    return live_build(create_app(ServerConfig(build_dir=durham_build, reload_interval=0))).service


@pytest.fixture
def answers(service: TileService) -> TileAnswers:
    return TileAnswers(service, max_age=90, ready_bytes=1 << 20)


def test_every_tile_answer_is_the_recorded_one(durham_build):
    """Status, every header in order, and body, of every request the fast path and the Flask route
    were compared on (and of refusals), with each CORS setting. Only the `OPTIONS` answer's
    `Content-Length` moved (werkzeug wrote it after every hook's headers)."""
    apps = {
        cors: create_app(ServerConfig(build_dir=durham_build, reload_interval=0, cors_origins=cors)) for cors in CORS_SETTINGS
    }
    service = live_build(apps["*"]).service
    clients = {cors: Client(app.wsgi_app) for cors, app in apps.items()}
    etags = {
        (path, encoding): clients["*"].get(path, headers={"Accept-Encoding": encoding} if encoding else {}).headers["ETag"]
        for path in TILE_PATHS
        for encoding in ENCODINGS
    }
    exchanges = [*tile_exchanges(etags), *refusal_exchanges()]
    assert len(exchanges) == len(RECORDED["answers"]) == 1846
    for exchange, (status, headers, body) in zip(exchanges, RECORDED["answers"], strict=True):
        response = clients[exchange.cors_origins].open(exchange.path, method=exchange.method, headers=exchange.headers)
        answer = written_out(service, exchange.path, response.status, response.headers.to_wsgi_list(), response.data)
        assert answer == [status, RECORDED["headers"][headers], RECORDED["bodies"][body]], exchange


def _tag(service: TileService, path: str, suffix: str = "") -> str:
    return f'"{service.build_id}-{"-".join(path.split("/")[2:]).rsplit(".", 1)[0]}{suffix}"'


def test_a_gzipped_archive_tile_then_its_ready_answer(answers, service, durham_build):
    stored = stored_tile(durham_build, 12, 1150, 1608)
    first = answers.answer("GET", ARCHIVE_TILE, "gzip")
    assert (first.status, first.body, first.from_archive) == ("200 OK", stored, True)
    assert first.headers == [
        MVT,
        ("Content-Length", str(len(stored))),
        ("Content-Encoding", "gzip"),
        ("ETag", _tag(service, ARCHIVE_TILE, "-gz")),
        ("Cache-Control", "public, max-age=90"),
        VARY,
    ]
    assert answers.answer("HEAD", ARCHIVE_TILE, "gzip") is first  # kept ready: the same answer
    assert len(answers.ready) == 1


def test_an_on_demand_tile_in_identity_is_not_kept(answers, service):
    answer = answers.answer("GET", ON_DEMAND_TILE)
    raw = gzip.decompress(service.tile("tracts", 13, 2300, 3216))
    assert (answer.status, answer.body, answer.from_archive) == ("200 OK", raw, False)
    assert answer.headers[:3] == [MVT, ("Content-Length", str(len(raw))), ("ETag", _tag(service, ON_DEMAND_TILE))]
    assert len(answers.ready) == 0


@pytest.mark.parametrize("accept_encoding", [None, "gzip", "identity;q=0"])
def test_an_empty_tile_is_204_with_no_type_whatever_the_encoding(answers, service, accept_encoding):
    answer = answers.answer("GET", EMPTY_ARCHIVE_TILE, accept_encoding)
    assert (answer.status, answer.body) == ("204 NO CONTENT", b"")
    assert answer.headers == [("ETag", _tag(service, EMPTY_ARCHIVE_TILE)), ("Cache-Control", "public, max-age=90"), VARY]


def test_conditional_requests_get_304_or_412(answers, service):
    etag = _tag(service, ARCHIVE_TILE, "-gz")
    not_modified = answers.answer("GET", ARCHIVE_TILE, "gzip", if_none_match=f'"other", W/{etag}')
    assert (not_modified.status, not_modified.body) == ("304 NOT MODIFIED", b"")
    assert not_modified.headers == [("ETag", etag), ("Cache-Control", "public, max-age=90"), VARY]
    assert answers.answer("GET", ARCHIVE_TILE, "gzip", if_none_match='"other"').status == "200 OK"
    assert answers.answer("GET", ARCHIVE_TILE, "gzip", if_match=etag).status == "200 OK"
    failed = answers.answer("GET", ARCHIVE_TILE, "gzip", if_match=f"W/{etag}")  # If-Match compares strongly
    assert failed.status == "412 PRECONDITION FAILED"
    assert failed.headers[3] == ("ETag", etag)


@pytest.mark.parametrize(
    ("path", "accept_encoding", "status", "message"),
    [
        (
            "/tiles/counties/1/0/0.mvt",
            None,
            "404 NOT FOUND",
            "no tileset 'counties' (tilesets: blockgroups, tracts, neighborhoods, hex)",
        ),
        ("/tiles/tracts/1/2/0.mvt", None, "404 NOT FOUND", "x and y must be within 0..1 at zoom 1"),
        ("/tiles/tracts/1/0/0.jpg", None, "400 BAD REQUEST", "unknown tile extension 'jpg'; use .mvt, .pbf or .png"),
        (
            ARCHIVE_TILE,
            "*;q=0",
            "406 NOT ACCEPTABLE",
            "no acceptable content coding in Accept-Encoding '*;q=0': this tile is available as gzip or identity",
        ),
    ],
)
def test_refusals_are_short_json_from_the_error_table(answers, path, accept_encoding, status, message):
    answer = answers.answer("GET", path, accept_encoding, if_none_match="*")  # a refusal is never a 304
    body = json.dumps({"error": message, "status": int(status[:3])}, separators=(",", ":")).encode() + b"\n"
    assert (answer.status, answer.body, answer.etag, answer.from_archive) == (status, body, None, False)
    assert answer.headers == [JSON, ("Content-Length", str(len(body))), VARY]


def test_other_methods_get_405_and_options_the_allowed_ones(answers):
    refused = answers.answer("PATCH", "/tiles/counties/1/0/0.mvt")
    assert refused.status == "405 METHOD NOT ALLOWED"
    assert json.loads(refused.body) == {"error": "The method is not allowed for the requested URL.", "status": 405}
    assert refused.headers[2] == ("Allow", "GET, HEAD, OPTIONS")
    options = answers.answer("OPTIONS", ARCHIVE_TILE)
    assert (options.status, options.body) == ("200 OK", b"")
    assert ("Allow", "GET, HEAD, OPTIONS") in options.headers


@pytest.mark.parametrize(
    "path",
    [
        "/tiles",
        "/tiles/tracts.json",
        "/tiles/tracts/1/0",
        "/tiles/tracts/1/0/0/0.mvt",
        "/tiles/tracts/1//0.mvt",
        "/tiles/tracts/1/0/0.mvt/",
        "/tiles//1/0/0.mvt",
        "/tilez/tracts/1/0/0.mvt",
        "/data/tracts/1/0/0.mvt",
        "/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST"])
def test_other_paths_get_no_tile_answer(answers, path, method):
    assert tile_path(path) is None
    assert answers.answer(method, path) is None


def test_the_etag_names_the_build_the_tile_and_the_coding():
    tile = TileRequest("hex", 9, 140, 200, "pbf")
    assert tile_etag("b1", tile, "gzip") == '"b1-hex-9-140-200-gz"'
    assert tile_etag("b1", tile, "identity") == '"b1-hex-9-140-200"'


def test_a_png_etag_names_its_scale_and_year():
    assert tile_etag("b1", TileRequest("hex", 9, 140, 200, "png", 2), "identity", 2014) == '"b1-hex-9-140-200@2x-2014.png"'
    assert tile_etag("b1", TileRequest("hex", 9, 140, 200, "png"), "identity", 2015) == '"b1-hex-9-140-200-2015.png"'
    assert tile_etag("b1", TileRequest("hex", 9, 140, 200, "png"), "gzip") == '"b1-hex-9-140-200-all.png"'


@pytest.mark.parametrize(
    ("query", "year"),
    [("", None), ("year=2014", "2014"), ("year=2014&year=2016", "2014"), ("x=1&year=all", "all"), ("x=1", None)],
)
def test_the_year_asked_is_the_first_year_parameter(query, year):
    assert query_year(query) == year


def test_a_png_depends_on_its_year_and_a_vector_tile_on_its_encoding():
    assert representation_key("/tiles/hex/9/1/2.png", "gzip", "year=2014") == "2014"
    assert representation_key("/tiles/hex/9/1/2@2x.png", "gzip", "") is None
    assert representation_key("/tiles/hex/9/1/2.mvt", "gzip", "year=2014") == "gzip"


@pytest.mark.parametrize(("query", "suffix"), [("", "-all.png"), ("year=all", "-all.png"), ("year=2014", "-2014.png")])
def test_a_png_tile_is_drawn_for_the_year_asked(answers, service, query, suffix):
    path = ARCHIVE_TILE.removesuffix(".mvt") + ".png"
    answer = answers.answer("GET", path, "gzip", query=query)
    assert (answer.status, answer.body[:8], answer.from_archive) == ("200 OK", b"\x89PNG\r\n\x1a\n", True)
    assert answer.etag == _tag(service, path, suffix)
    assert answer.headers[0] == ("Content-Type", "image/png")
    assert answers.answer("GET", path, "gzip", query=query) is answer  # kept ready, per year


def test_a_conditional_request_for_another_path_gets_no_tile_answer(answers):
    assert answers.answer("GET", "/catalog.json", if_none_match='"x"') is None
    assert answers.answer("HEAD", "/", if_match='"x"') is None


def test_the_method_is_compared_by_value_not_identity(answers):
    """A server hands over the method as a string of its own making, never the interned literal."""
    options = answers.answer("".join(["OPT", "IONS"]), ARCHIVE_TILE)
    assert (options.status, ("Allow", "GET, HEAD, OPTIONS") in options.headers) == ("200 OK", True)
