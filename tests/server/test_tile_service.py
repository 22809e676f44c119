"""The tile service (`server/tiles.py`) in process, on the Durham build: its counters, its cache's
byte bound, where a tile comes from and the checks on coordinates and bounds, each against a
literal or a value read independently (SQLite, gzip, Web Mercator arithmetic)."""

from __future__ import annotations

import dataclasses
import gc
import gzip
import itertools
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import pytest
import shapely

from crimetiles.precompute.build import BoundarySpec
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from crimetiles.server.errors import TileOutOfRange, UnknownTileset
from crimetiles.server.tiles import TileService, TileStats, check_tile, tile_meets_bounds
from tests.server.builds import build_layer, stored_tile

ARCHIVE = (12, 1150, 1608)
"""Downtown Durham at z12: stored in the build's archive (z0-12)."""
ON_DEMAND = (13, 2300, 3216)
"""Downtown Durham at z13, above the archive: encoded on request."""
FAR_AWAY = (13, 0, 0)
"""Above the archive and far from Durham: outside every layer's bounds."""
HALF_WORLD_M = 20037508.342789244
"""Half the Web Mercator world's width in metres (pi x 6378137)."""


def _service(build: Path, cache_bytes: int = 64 * 1024 * 1024) -> TileService:
    return live_build(create_app(ServerConfig(build_dir=build, reload_interval=0, cache_bytes=cache_bytes))).service


def _stats(service: TileService) -> dict[str, int]:
    """The service's counts (`encode_seconds` and `render_seconds`, times, left out)."""
    counts = dataclasses.asdict(service.stats)
    del counts["encode_seconds"], counts["render_seconds"]
    return counts


def test_each_on_demand_tile_counts_once_where_it_was_answered(durham_build):
    """Archive tiles are counted with their answers (`Metrics.count_tile`), not here."""
    service = _service(durham_build)
    assert _stats(service) == dict.fromkeys(("outside_bounds", "cache_hits", "cache_misses", "encodes", "renders"), 0)
    assert service.stats.encode_seconds == 0.0
    service.tile("tracts", *ARCHIVE)
    service.tile("tracts", *ARCHIVE)
    service.tile("tracts", *FAR_AWAY)
    started = time.perf_counter()
    service.tile("tracts", *ON_DEMAND)
    service.tile("tracts", *ON_DEMAND)
    service.tile("tracts", *ON_DEMAND)
    elapsed = time.perf_counter() - started
    expected = {"outside_bounds": 1, "cache_hits": 2, "cache_misses": 1, "encodes": 1, "renders": 0}
    assert _stats(service) == expected
    assert 0.0 < service.stats.encode_seconds <= elapsed  # the encode's own time, within the calls'


def test_an_archive_tile_is_the_mbtiles_row_as_stored(durham_build):
    assert _service(durham_build).tile("tracts", *ARCHIVE) == stored_tile(durham_build, *ARCHIVE)


def test_archived_says_which_zooms_come_from_the_archive(durham_build):
    """The Durham build's archives hold z0-12: above, tiles are encoded on demand."""
    service = _service(durham_build)
    assert [z for z in range(23) if service.archived("tracts", z)] == list(range(13))
    assert service.archived("hex", 12) and not service.archived("hex", 13)


def test_an_encoded_tile_is_gzip_level_6_without_a_timestamp(durham_build):
    """On the hex tile, levels 5 and 7 give other bytes than 6 (the tracts tile, smaller, does not)."""
    data = _service(durham_build).tile("hex", *ON_DEMAND)
    raw = gzip.decompress(data)
    assert mapbox_vector_tile.decode(raw)["hex"]["features"]
    assert data[4:8] == b"\0\0\0\0"  # MTIME 0: the same bytes, and ETag, from every worker
    assert data == gzip.compress(raw, compresslevel=6, mtime=0)


def test_the_cache_keeps_a_tile_exactly_as_large_as_its_bound(durham_build):
    """An entry costs 512 bytes plus its tile's bytes object: a cache of exactly that size keeps
    the tile, one byte less does not, and an empty tile costs 512 bytes. (The hex tile's object
    has the 512 bit set, so 512 | size or 512 ^ size would not be the sum.)"""
    tile, data = _hex_tile_with_the_512_bit_set(_service(durham_build))
    cost = 512 + sys.getsizeof(data)
    exact = _service(durham_build, cache_bytes=cost)
    assert exact.tile("hex", *tile) == data
    assert exact.cache.currsize == cost and len(exact.cache) == 1
    short = _service(durham_build, cache_bytes=cost - 1)
    assert short.tile("hex", *tile) == data
    assert len(short.cache) == 0
    empty = _service(durham_build)
    far_in_bounds = _empty_tile_in_bounds(empty)
    assert empty.tile("tracts", *far_in_bounds) is None
    assert empty.cache.currsize == 512 and len(empty.cache) == 1
    assert empty.tile("tracts", *far_in_bounds) is None
    assert _stats(empty)["cache_hits"] == 1


def _hex_tile_with_the_512_bit_set(service: TileService) -> tuple[tuple[int, int, int], bytes]:
    """An on-demand hex tile near `ON_DEMAND` whose bytes object's size has the 512 bit set."""
    z, x, y = ON_DEMAND
    for dx, dy in itertools.product(range(-2, 3), repeat=2):
        data = service.tile("hex", z, x + dx, y + dy)
        if data and sys.getsizeof(data) & 512:
            return (z, x + dx, y + dy), data
    raise AssertionError("no hex tile near ON_DEMAND has a size with the 512 bit set")


def _empty_tile_in_bounds(service: TileService) -> tuple[int, int, int]:
    """A z22 tile inside the tracts' bounding box that no tract meets, with its buffer: the
    first one from the box's north-west corner along the diagonal, checked with shapely."""
    frame = gpd.read_parquet(service.layers.get().rows["tracts"].path.with_suffix(".parquet")).to_crs(3857)
    west, south, east, north = frame.to_crs(4326).total_bounds
    corner = mercantile.tile(west, north, 22)
    for step in range(1, 1000):
        tile = mercantile.Tile(corner.x + step, corner.y + step, 22)
        left, bottom, right, top = mercantile.xy_bounds(tile)
        pad = (right - left) * 64 / 4096
        if not frame.intersects(shapely.box(left - pad, bottom - pad, right + pad, top + pad)).any():
            return (22, tile.x, tile.y)
    raise AssertionError("no empty tile near the north-west corner")


@pytest.mark.parametrize(("z", "x", "y"), [(0, 0, 0), (22, 0, 0), (22, 2**22 - 1, 2**22 - 1), (3, 7, 0), (3, 0, 7)])
def test_tile_coordinates_within_zoom_0_to_22_are_accepted(z, x, y):
    check_tile(z, x, y)


@pytest.mark.parametrize(
    ("z", "x", "y", "message"),
    [
        (23, 0, 0, "zoom 23 is outside 0..22"),
        (-1, 0, 0, "zoom -1 is outside 0..22"),
        (3, 8, 0, "x and y must be within 0..7 at zoom 3"),
        (3, 0, 8, "x and y must be within 0..7 at zoom 3"),
        (3, 9, 0, "x and y must be within 0..7 at zoom 3"),
        (3, 0, 9, "x and y must be within 0..7 at zoom 3"),
        (3, -1, 0, "x and y must be within 0..7 at zoom 3"),
        (3, 0, -1, "x and y must be within 0..7 at zoom 3"),
        (0, 1, 0, "x and y must be within 0..0 at zoom 0"),
        (22, 0, 2**22, "x and y must be within 0..4194303 at zoom 22"),
    ],
)
def test_tile_coordinates_outside_are_refused_with_the_reason(z, x, y, message):
    with pytest.raises(TileOutOfRange) as refused:
        check_tile(z, x, y)
    assert str(refused.value) == message


def test_a_zoom_23_tile_is_refused_by_the_service(durham_build):
    with pytest.raises(TileOutOfRange, match=r"^zoom 23 is outside 0\.\.22$"):
        _service(durham_build).tile("tracts", 23, 0, 0)


def test_an_unknown_tileset_is_refused(durham_build):
    with pytest.raises(UnknownTileset):
        _service(durham_build).tile("counties", *ARCHIVE)


# Tile 1/0/0 is the north-west quarter of the world: x from -HALF_WORLD_M to 0, y from 0 to HALF_WORLD_M.
NORTH_WEST = mercantile.Tile(0, 0, 1)
WEST, SOUTH, EAST, NORTH = mercantile.xy_bounds(NORTH_WEST)


@pytest.mark.parametrize(
    "bounds",
    [
        (EAST + 1.0, 10.0, EAST + 5.0, 20.0),
        (WEST - 5.0, 10.0, WEST - 1.0, 20.0),
        (-5.0, SOUTH - 5.0, -1.0, SOUTH - 1.0),
        (-5.0, NORTH + 1.0, -1.0, NORTH + 5.0),
    ],
)
def test_bounds_exactly_one_metre_away_still_meet_the_tile(bounds):
    assert (WEST, SOUTH, EAST, NORTH) == (-HALF_WORLD_M, 0.0, 0.0, HALF_WORLD_M)
    assert tile_meets_bounds(NORTH_WEST, bounds, 0.0) is True


@pytest.mark.parametrize(
    ("bounds", "meets"),
    [
        ((0.9, 10.0, 5.0, 20.0), True),  # east of the tile, within the 1 m tolerance
        ((1.1, 10.0, 5.0, 20.0), False),
        ((-5.0, -20.0, -1.0, -0.9), True),  # south, within 1 m
        ((-5.0, -20.0, -1.0, -1.1), False),
        ((-HALF_WORLD_M - 20.0, 10.0, -HALF_WORLD_M - 0.9, 20.0), True),  # west
        ((-HALF_WORLD_M - 20.0, 10.0, -HALF_WORLD_M - 1.1, 20.0), False),
        ((-5.0, HALF_WORLD_M + 0.9, -1.0, HALF_WORLD_M + 9.0), True),  # north
        ((-5.0, HALF_WORLD_M + 1.1, -1.0, HALF_WORLD_M + 9.0), False),
        ((-5.0, 5.0, -1.0, 9.0), True),  # inside
    ],
)
def test_a_tile_meets_bounds_within_one_metre_without_a_buffer(bounds, meets):
    assert tile_meets_bounds(NORTH_WEST, bounds, 0.0) is meets


@pytest.mark.parametrize(("gap", "meets"), [(HALF_WORLD_M / 64 + 0.9, True), (HALF_WORLD_M / 64 + 1.1, False)])
def test_a_tile_meets_bounds_within_its_buffer(gap, meets):
    """A buffer of 1/64 of the tile's width (64 of 4096 units) widens each side by HALF_WORLD_M / 64."""
    assert tile_meets_bounds(NORTH_WEST, (gap, 10.0, gap + 5.0, 20.0), 1 / 64) is meets
    assert tile_meets_bounds(NORTH_WEST, (-5.0, -gap - 5.0, -1.0, -gap), 1 / 64) is meets


def test_density_layers_open_once_and_hold_one_descriptor_each_until_the_service_goes(durham_build):
    gc.collect()  # closes the files of other tests' services no longer referenced
    before = _open_files_under(durham_build / "layers")  # those of services still referenced
    service = _service(durham_build)
    layer_files = sorted(str(path.resolve()) for path in (durham_build / "layers").glob("*.arrows"))
    assert sorted((_open_files_under(durham_build / "layers") - before).elements()) == layer_files
    first = service.layers.get()
    assert service.layers.get() is first
    assert sorted(first.rows) == ["blockgroups", "hex6", "hex7", "hex8", "hex9", "neighborhoods", "tracts"]
    assert service.tile("tracts", 13, 2300, 3216) is not None  # read from the files opened with the build
    assert sorted((_open_files_under(durham_build / "layers") - before).elements()) == layer_files
    with pytest.raises(dataclasses.FrozenInstanceError):  # one record shared by every thread
        first.rows = {}  # type: ignore[misc]
    del service, first
    gc.collect()
    assert _open_files_under(durham_build / "layers") == before  # no descriptor left for each hot swap


def _open_files_under(folder: Path) -> Counter[str]:
    """The files under `folder` this process holds open, with their numbers of descriptors (Linux's /proc)."""
    targets = (os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink())
    return Counter(target for target in targets if target.startswith(f"{folder.resolve()}/"))


def _square_build(folder: Path, east_lon: float) -> Path:
    """A build of one polygon, a box from 0.5 degrees west of 0 to `east_lon` and 0.1-0.5 north,
    with one incident in it, every tile on demand (no archive)."""
    square = folder / "square.geojson"
    gpd.GeoDataFrame({"id": ["sq"]}, geometry=[shapely.box(-0.5, 0.1, east_lon, 0.5)], crs="EPSG:4326").to_file(square)
    incidents = folder / "incidents.csv"
    incidents.write_text('inci_id,date_rept,ucr_code,geo_point_2d\nA1,2015-06-01,0810,"0.3, -0.2"\n')
    out = folder / "build"
    build_layer(incidents, BoundarySpec("square", square), out, archive_maxzoom=-1)
    return out


def test_a_tile_that_only_its_buffer_brings_to_the_layer_is_encoded(tmp_path):
    """z14 tiles are 2,446 m wide, their buffer 1/64 of that: 38.2 m. The box ends 19 m west of
    x = 0, the west edge of tile column 8192: farther than the 1 m tolerance, within the buffer.
    Two columns farther east the tile is empty for sure and never encoded."""
    east_lon = math.degrees(-19.0 / 6378137)
    service = _service(_square_build(tmp_path, east_lon))
    row = mercantile.tile(0.0, 0.3, 14).y
    data = service.tile("square", 14, 8192, row)
    assert _stats(service)["outside_bounds"] == 0 and service.stats.encodes == 1
    (feature,) = mapbox_vector_tile.decode(gzip.decompress(data))["square"]["features"]
    assert feature["properties"]["id"] == "sq"
    assert service.tile("square", 14, 8194, row) is None
    assert _stats(service)["outside_bounds"] == 1 and service.stats.encodes == 1


def test_the_tile_service_alone_does_not_import_the_geo_libraries():
    """A worker serving archive tiles only never pays for geopandas and the encoder."""
    code = "import sys, crimetiles.server.tiles; print(sorted({'geopandas', 'crimetiles.artifact.mvt'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_counts_added_by_many_threads_at_once_are_all_kept():
    """`TileStats.add` under threads switching as often as the interpreter can: not one addition
    lost (with `+=` some were, and /metrics then saw a count go back)."""
    stats, threads, additions = TileStats(), 8, 5_000
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [
            threading.Thread(target=lambda: [stats.add(cache_hits=1, encode_seconds=0.5) for _ in range(additions)])
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert (stats.cache_hits, stats.encode_seconds) == (threads * additions, threads * additions * 0.5)
