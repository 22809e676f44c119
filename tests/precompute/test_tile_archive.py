"""Archive tiles encoded by the building process and a helper process per further core: the same
tiles as one process writes, no helper left behind, whatever happens to the build."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import mercantile
import pytest
import shapely

from crimetiles.artifact.manifest import ClassBreaks, Tileset, ZoomBand, read_manifest
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.artifact.reader import open_build
from crimetiles.precompute.mbtiles_archive import PARALLEL_MIN_TILES, encoding_tasks, tileset_tiles

DURHAM_ZOOMS = range(0, 15)


def durham_tracts(build: Path) -> tuple[Tileset, dict, tuple[float, float, float, float]]:
    opened = open_build(build)
    tileset = opened.manifest.tilesets["tracts"]
    tilers = {"tracts": layer_tiler("tracts", opened.layer_frame("tracts"), tileset.maxzoom)}
    return tileset, tilers, opened.manifest.bounds


def encoded_tiles(tileset, tilers, bounds, zooms, processes: int) -> dict[mercantile.Tile, bytes]:
    with tileset_tiles(tileset, tilers, bounds, zooms, processes=processes) as tiles:
        return dict(tiles)


def test_tasks_cover_every_tile_once_largest_first(durham_build):
    tileset, _, bounds = durham_tracts(durham_build)
    tasks = encoding_tasks(tileset, bounds, DURHAM_ZOOMS, simplify_maxzoom=14)
    tiles = [tile for task in tasks for tile in task.tiles]
    assert sorted(tiles) == sorted(mercantile.tiles(*bounds, zooms=list(DURHAM_ZOOMS)))
    assert [task.tiles[0].z for task in tasks[:14]] == list(range(13, -1, -1))  # each simplified zoom whole, highest first
    assert all(task.tiles[0].z == 14 and len(task.tiles) <= 32 for task in tasks[14:])


def test_two_processes_write_the_tiles_one_process_writes(durham_build):
    tileset, tilers, bounds = durham_tracts(durham_build)
    alone = encoded_tiles(tileset, tilers, bounds, DURHAM_ZOOMS, processes=1)
    shared = encoded_tiles(tileset, tilers, bounds, DURHAM_ZOOMS, processes=2)
    assert len(alone) > 300
    assert shared == alone


def test_the_build_archive_holds_the_tiles_one_process_writes(durham_build):
    """The session's Durham build wrote its archives (zooms 0-12) with helpers where it had cores."""
    tileset, tilers, bounds = durham_tracts(durham_build)
    archive = open_build(durham_build).archive_tiles("tracts")
    alone = encoded_tiles(tileset, tilers, bounds, range(0, 13), processes=1)
    assert {(tile.z, tile.x, tile.y): data for tile, data in alone.items()} == archive


def test_no_simplified_zoom_is_held_after_it_is_encoded(durham_build):
    """Each simplified zoom is encoded whole, once, and its geometry dropped after it, so that memory
    does not hold every zoom of the archive (at 250,000 polygons each is a few hundred MB). The
    exact geometry of zooms 14 and above stays, shared by their tasks."""
    tileset, tilers, bounds = durham_tracts(durham_build)
    with tileset_tiles(tileset, tilers, bounds, range(0, 14), processes=1) as tiles:
        assert len(dict(tiles)) > 100
    assert tilers["tracts"].indexed_zooms == ()
    with tileset_tiles(tileset, tilers, bounds, DURHAM_ZOOMS, processes=1) as tiles:
        assert len(dict(tiles)) > 300
    assert tilers["tracts"].indexed_zooms == (14,)


def test_a_helper_is_forked_only_for_a_large_tileset(durham_build):
    tileset, tilers, bounds = durham_tracts(durham_build)
    with tileset_tiles(tileset, tilers, bounds, DURHAM_ZOOMS, processes=2) as tiles:
        (helper,) = multiprocessing.active_children()
        assert next(tiles)
    assert not helper.is_alive()
    small = range(0, 6)
    assert sum(len(task.tiles) for task in encoding_tasks(tileset, bounds, small, 14)) < PARALLEL_MIN_TILES
    with tileset_tiles(tileset, tilers, bounds, small, processes=2) as tiles:
        assert multiprocessing.active_children() == []
        assert dict(tiles) == encoded_tiles(tileset, tilers, bounds, small, processes=1)


def test_helpers_stop_when_writing_fails(durham_build):
    tileset, tilers, bounds = durham_tracts(durham_build)
    with pytest.raises(OSError, match="disk full"):
        with tileset_tiles(tileset, tilers, bounds, DURHAM_ZOOMS, processes=2) as tiles:
            (helper,) = multiprocessing.active_children()
            next(tiles)
            raise OSError("disk full")
    assert not helper.is_alive()
    assert multiprocessing.active_children() == []


KILLED_MID_ARCHIVE = """
import sys
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.artifact.reader import open_build
from crimetiles.precompute.mbtiles_archive import tileset_tiles
import multiprocessing
build = open_build(sys.argv[1])
tileset = build.manifest.tilesets["hex"]
tilers = {band.layer: layer_tiler("hex", build.layer_frame(band.layer), 14) for band in tileset.bands}
with tileset_tiles(tileset, tilers, build.manifest.bounds, range(0, 15), processes=2) as tiles:
    next(tiles)
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    sys.stdin.read()
"""


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_helpers_exit_when_the_building_process_is_killed(durham_build):
    """A SIGKILLed build leaves no helper running (holding the build lock it inherited): a helper
    finishes the task in hand, finds nobody to give it more and exits."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_MID_ARCHIVE), str(durham_build)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    helpers = [int(pid) for pid in process.stdout.readline().split()]
    assert len(helpers) == 1 and not _gone(helpers[0])
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while not all(_gone(pid) for pid in helpers):
        assert time.monotonic() < deadline, "a helper outlived the build by a minute"
        time.sleep(0.01)


def test_a_layer_of_two_squares_gives_the_same_tiles_either_way():
    tile = mercantile.Tile(1150, 1608, 12)
    west, south, east, north = mercantile.bounds(tile)
    squares = [
        shapely.box(west, south, west + (east - west) / 3, north),
        shapely.box(east - (east - west) / 3, south, east, north),
    ]
    frame = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=squares, crs="EPSG:4326")
    tileset = Tileset("squares", "Squares", 0, 16, (ZoomBand("squares", 0, 16),), ClassBreaks("quantile", (1.0,)), None)
    tilers = {"squares": layer_tiler("squares", frame, 16)}
    bounds = (west, south, east, north)
    zooms = range(0, 17)
    shared = encoded_tiles(tileset, tilers, bounds, zooms, processes=2)
    assert len(shared) > PARALLEL_MIN_TILES  # at zooms 12-16 the squares cover 1 + 4 + ... + 256 tiles
    assert shared == encoded_tiles(tileset, tilers, bounds, zooms, processes=1)


def test_the_mbtiles_metadata_has_every_row_the_spec_lists(durham_build):
    """docs/artifact.md, "Tiles": `name`, `description` (the title), `format=pbf`, `type=overlay`,
    `version`, `minzoom` and `maxzoom` (the manifest's archive zooms), `bounds`, `center`, `json`."""
    manifest = read_manifest(durham_build)
    for name, tileset in manifest.tilesets.items():
        with sqlite3.connect(durham_build / tileset.archive.path) as connection:
            rows = dict(connection.execute("SELECT name, value FROM metadata"))
        assert set(rows) == {"name", "description", "format", "type", "version", "minzoom", "maxzoom", "bounds", "center", "json"}
        assert (rows["name"], rows["description"], rows["format"], rows["type"]) == (name, tileset.title, "pbf", "overlay")
        assert (int(rows["minzoom"]), int(rows["maxzoom"])) == (tileset.archive.minzoom, tileset.archive.maxzoom)
