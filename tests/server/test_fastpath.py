"""The tile route in front of Flask: every tile request is answered there, from the archive or the
tile service, refusals included; everything else still reaches Flask."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import os
import re
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mapbox_vector_tile
import pytest

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.reader import MBTilesLookup, open_build
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from crimetiles.server.params import TileRequest
from crimetiles.server.tile_answer import ReadyAnswers, TileAnswer
from tests.server.apps import ARCHIVE_TILE, ON_DEMAND_TILE, counting_app, metric_value, tile_answers
from tests.server.builds import build_tracts, stored_tile

NEIGHBOUR_TILE = "/tiles/tracts/12/1151/1608.mvt"
"""East of ARCHIVE_TILE, stored too."""
EMPTY_ARCHIVE_TILE = "/tiles/tracts/12/0/0.pbf"
"""Inside the archive's zooms, far from Durham: no tile stored, a 204."""
ORIGINS = "https://a.example,https://b.example"


def test_tiles_never_reach_flask(durham_build):
    app, seen = counting_app(durham_build)
    client = app.test_client()
    tile = client.get(ARCHIVE_TILE, headers={"Accept-Encoding": "gzip"})
    assert tile.status_code == 200
    assert mapbox_vector_tile.decode(gzip.decompress(tile.data))["tracts"]["features"]
    assert client.get(ARCHIVE_TILE, headers={"If-None-Match": tile.headers["ETag"], "Accept-Encoding": "gzip"}).status_code == 304
    assert client.head(ARCHIVE_TILE).status_code == 200
    assert client.get(EMPTY_ARCHIVE_TILE).status_code == 204
    on_demand = client.get(ON_DEMAND_TILE, headers={"Accept-Encoding": "gzip"})
    assert on_demand.status_code == 200
    assert mapbox_vector_tile.decode(gzip.decompress(on_demand.data))["tracts"]["features"]
    revalidated = client.get(ON_DEMAND_TILE, headers={"If-None-Match": on_demand.headers["ETag"], "Accept-Encoding": "gzip"})
    assert revalidated.status_code == 304
    assert client.get("/tiles/tracts/12/4096/0.mvt").status_code == 404
    assert client.get("/tiles/tracts/012/0/0.mvt").status_code == 400
    assert client.get(ARCHIVE_TILE, headers={"Accept-Encoding": "identity;q=0"}).status_code == 406
    assert client.post(ARCHIVE_TILE).status_code == 405
    assert seen == []
    assert client.get("/healthz").status_code == 200
    assert seen == ["/healthz"]


def test_a_proxy_prefix_still_takes_the_fast_path(durham_build):
    app, seen = counting_app(durham_build)
    client = app.test_client()
    plain = client.get(ARCHIVE_TILE).data
    forwarded = client.get(ARCHIVE_TILE, headers={"X-Forwarded-Prefix": "/crime"})
    mounted = client.get(ARCHIVE_TILE, environ_base={"SCRIPT_NAME": "/crime"})
    assert forwarded.status_code == mounted.status_code == 200
    assert forwarded.data == mounted.data == plain
    assert seen == []


def test_tile_answers_are_counted_in_metrics(durham_build):
    app, _ = counting_app(durham_build)
    client = app.test_client()
    started = time.perf_counter()
    etag = client.get(ARCHIVE_TILE).headers["ETag"]
    client.get(ARCHIVE_TILE, headers={"If-None-Match": etag})
    client.get(EMPTY_ARCHIVE_TILE)
    client.get(ON_DEMAND_TILE)
    client.get(ON_DEMAND_TILE)
    elapsed = time.perf_counter() - started
    text = client.get("/metrics").text
    assert 0.0 < metric_value(text, "crimetiles_tile_request_seconds_sum") <= elapsed  # the five requests' own times
    assert '\ncrimetiles_http_requests_total{status="200"} 3.0\n' in text
    assert '\ncrimetiles_http_requests_total{status="204"} 1.0\n' in text
    assert '\ncrimetiles_http_requests_total{status="304"} 1.0\n' in text
    assert "\ncrimetiles_tile_archive_hits_total 3.0\n" in text
    assert "\ncrimetiles_tile_cache_misses_total 1.0\n" in text
    assert "\ncrimetiles_tile_cache_hits_total 1.0\n" in text
    assert "\ncrimetiles_tile_encodes_total 1.0\n" in text
    assert "\ncrimetiles_tile_request_seconds_count 5.0\n" in text
    assert '\ncrimetiles_tile_request_seconds_bucket{le="+Inf"} 5.0\n' in text


@pytest.mark.parametrize("path", [ARCHIVE_TILE, ON_DEMAND_TILE])
def test_hot_swap_to_other_data_changes_tiles_and_etags(durham_incidents, tmp_path, path):
    """An old ETag after a swap to different data gets 200 and a new ETag."""
    build_dir = tmp_path / "build"
    build_tracts(durham_incidents, build_dir, archive_maxzoom=12)
    app, seen = counting_app(build_dir)
    client = app.test_client()
    before = client.get(path)
    lines = (durham_incidents / "durham_police.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    build_tracts(fewer, build_dir, archive_maxzoom=12)
    assert live_build(app).reload_if_changed()
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data != before.data
    assert seen == []


@pytest.mark.parametrize(("z", "x", "y_ext"), [("12", "1150", "1608.mvt"), ("0", "0", "0.pbf"), ("22", "4194303", "4194303.mvt")])
def test_tile_request_reads_canonical_paths(z, x, y_ext):
    parsed = TileRequest.parse("tracts", z, x, y_ext)
    assert (parsed.z, parsed.x, parsed.y) == (int(z), int(x), int(y_ext.split(".")[0]))


def test_archive_lookup_reads_every_stored_tile_from_the_mbtiles_file(durham_build):
    build = open_build(durham_build)
    lookup = build.archive_lookup("tracts")
    assert isinstance(lookup, MBTilesLookup)
    with sqlite3.connect(durham_build / build.manifest.tilesets["tracts"].archive.path) as db:
        rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    assert len(rows) == build.manifest.tilesets["tracts"].archive.tile_count
    for z, x, tms_row, data in rows:
        assert lookup.get((z, x, (1 << z) - 1 - tms_row)) == data
    assert lookup.get((12, 0, 0)) is None


def test_a_corrupt_archive_fails_the_load_with_one_line(durham_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    archive = copy / open_build(copy).manifest.tilesets["tracts"].archive.path
    archive.write_bytes(b"not sqlite " * 100)
    with pytest.raises(BuildError, match=r"tracts\.mbtiles: not a readable MBTiles file \(file is not a database\)$"):
        create_app(ServerConfig(build_dir=copy, reload_interval=0))


def test_archive_tiles_are_served_after_the_build_is_deleted(durham_build, tmp_path):
    """Two rebuilds later a server that never swapped finds its build deleted: the connections it
    holds keep the files readable, from any number of threads."""
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    app = create_app(ServerConfig(build_dir=copy, reload_interval=0))
    expected = app.test_client().get(ARCHIVE_TILE).data
    shutil.rmtree(copy)

    def fetch(_: int) -> bytes:
        return app.test_client().get(ARCHIVE_TILE).data

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(fetch, range(64))) == {expected}


def _anonymous_memory_kib() -> int:
    """This process's private memory (RssAnon): what a worker holds itself, not shared file pages."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^RssAnon:\s+(\d+) kB$", status, re.MULTILINE).group(1))


def test_reading_a_large_archive_does_not_grow_the_process(tmp_path):
    """64 MiB of tiles read through the lookup, each one twice: the process keeps none of it."""
    path = tmp_path / "large.mbtiles"
    tile_bytes, rows = 65536, 1024
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.executemany("INSERT INTO tiles VALUES (10, ?, 0, ?)", ((x, os.urandom(tile_bytes)) for x in range(rows)))
        db.commit()
    lookup = MBTilesLookup(path)
    before = _anonymous_memory_kib()
    read = sum(len(lookup.get((10, x, 1023)) or b"") for _ in range(2) for x in range(rows))
    assert read == 2 * rows * tile_bytes
    assert _anonymous_memory_kib() - before < 8 * 1024


def test_ready_answers_keep_the_first_archive_tiles_within_their_budget(durham_build):
    """Each answer costs its body and 512 bytes; one is kept if it fits in what the budget has
    left. Kept or not, both tiles are answered alike from the archive."""
    first, second = stored_tile(durham_build, 12, 1150, 1608), stored_tile(durham_build, 12, 1151, 1608)
    cost_first, cost_second = len(first) + 512, len(second) + 512
    for budget, kept in (
        (cost_first + cost_second, 2),
        (cost_first + cost_second - 1, 1),
        (cost_first, 1),
        (cost_first - 1, int(cost_second <= cost_first - 1)),
        (0, 0),
    ):
        app, seen = counting_app(durham_build, ready_tile_bytes=budget)
        client = app.test_client()
        answers = [client.get(path, headers={"Accept-Encoding": "gzip"}) for path in (ARCHIVE_TILE, NEIGHBOUR_TILE) * 2]
        assert [answer.status_code for answer in answers] == [200] * 4
        assert answers[0].data == answers[2].data == first
        assert answers[1].data == answers[3].data == second
        assert len(tile_answers(app).ready) == kept, budget
        assert seen == []


def test_an_answer_kept_twice_costs_its_budget_once():
    """Two threads may make the same answer at once: the second keep changes nothing. A
    600-byte answer costs 1,112 bytes: two fit in 2,224, a third does not."""
    answer = TileAnswer("200 OK", [], b"x" * 600, '"e"', True)
    ready = ReadyAnswers(2224)
    ready.keep("/tiles/a/1/0/0.mvt", "gzip", answer)
    ready.keep("/tiles/a/1/0/0.mvt", "gzip", answer)
    ready.keep("/tiles/a/1/1/0.mvt", "gzip", answer)
    ready.keep("/tiles/a/1/1/1.mvt", "gzip", answer)
    assert len(ready) == 2
    assert ready.get("/tiles/a/1/1/1.mvt", "gzip") is None
    assert ready.get("/tiles/a/1/1/0.mvt", "gzip") is answer
    assert ready.get("/tiles/a/1/1/0.mvt", None) is None


def test_answers_are_frozen():
    """An answer kept ready is shared by every thread of a worker: none may change it."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        TileAnswer("200 OK", [], b"", '"e"', True).body = b"x"  # type: ignore[misc]


def test_a_layer_that_cannot_be_read_when_served_gets_a_json_500(durham_build, tmp_path):
    """The layers are read by the first on-demand tile: emptied on disk after the load checked
    them, the read fails, and the tile gets the error table's 500, never a traceback."""
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    app, seen = counting_app(copy)
    (copy / "layers" / "tracts.arrows").write_bytes(b"")  # the same file, which the build holds open
    answer = app.test_client().get(ON_DEMAND_TILE)
    assert answer.status_code == 500
    assert answer.json == {"error": "internal error", "status": 500}
    assert seen == []
