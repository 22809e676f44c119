"""The tile cache's byte bound holds in real memory: what an entry costs is counted, and tiles
that cannot have a feature are answered without an encode or an entry.

In-process tests measure the Python heap with tracemalloc; the gunicorn test reads a worker's
resident memory from /proc under a flood of unique tiles.
"""

from __future__ import annotations

import gc
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import pytest
import requests
import shapely

from crimetiles.artifact.mvt import TILE_BUFFER, TILE_EXTENT, LayerTiler
from crimetiles.artifact.reader import open_build
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build
from crimetiles.server.tiles import CACHE_ENTRY_BYTES, TileService, tile_meets_bounds

MIB = 1024 * 1024


def _service(build: Path, cache_bytes: int) -> TileService:
    return live_build(create_app(ServerConfig(build_dir=build, reload_interval=0, cache_bytes=cache_bytes))).service


def _tiles_in_bounds(frame: gpd.GeoDataFrame, zoom: int, count: int, empty: bool, seed: int) -> list[mercantile.Tile]:
    """`count` distinct tiles at `zoom` inside the layer's bounding box that are empty (no
    geometry meets the tile and its 64-unit buffer) or not, found with shapely, independently of
    the server's code."""
    geometries = frame.to_crs(3857).geometry.to_numpy()
    tree = shapely.STRtree(geometries)
    west, south, east, north = frame.to_crs(4326).total_bounds
    first, last = mercantile.tile(west, north, zoom), mercantile.tile(east, south, zoom)
    rng = random.Random(seed)
    found: dict[tuple[int, int], mercantile.Tile] = {}
    while len(found) < count:
        batch = [mercantile.Tile(rng.randint(first.x, last.x), rng.randint(first.y, last.y), zoom) for _ in range(4 * count)]
        boxes = []
        for tile in batch:
            left, bottom, right, top = mercantile.xy_bounds(tile)
            pad = (right - left) * TILE_BUFFER / TILE_EXTENT
            boxes.append(shapely.box(left - pad, bottom - pad, right + pad, top + pad))
        hit = np.zeros(len(batch), dtype=bool)
        hit[tree.query(boxes, predicate="intersects")[0]] = True
        for tile, touched in zip(batch, hit, strict=True):
            if touched != empty and len(found) < count:
                found[(tile.x, tile.y)] = tile
    return list(found.values())


@pytest.fixture(scope="module")
def neighborhoods(durham_build: Path) -> gpd.GeoDataFrame:
    return open_build(durham_build).layer_frame("neighborhoods")


def _traced_growth(action) -> int:
    """Python heap bytes still held after `action()` that it allocated (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        action()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_an_entry_costs_no_more_than_the_cache_counts(durham_build):
    """100k entries shaped as the service makes them (the tileset's name, z22 coordinates, empty
    or small tiles), through LRU churn: the heap they hold never exceeds what the cache counts,
    and is not far below it either (the bound is used, not wasted)."""
    cache = _service(durham_build, cache_bytes=20_000 * CACHE_ENTRY_BYTES).cache
    name = "neighborhoods"
    ratios: list[float] = []

    def fill() -> None:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            cache[(name, 22, 1_176_500 + i, 1_643_600 + i)] = b"" if i % 4 else bytes([i % 251]) * (i % 700 + 1)
            if i % 997 == 0 and i > 1000:
                ratios.append((tracemalloc.get_traced_memory()[0] - before) / cache.currsize)

    _traced_growth(fill)
    assert len(cache) < 100_000  # the bound was reached: entries were evicted
    assert 0.6 < min(ratios) and max(ratios) <= 1.0, f"heap per counted byte: {min(ratios):.2f}..{max(ratios):.2f}"


def test_a_flood_of_empty_tiles_in_bounds_stays_within_the_bound(durham_build, neighborhoods):
    """The issue's flood: unique empty z22 tiles, each encoded once and cached."""
    bound = 1 * MIB
    service = _service(durham_build, cache_bytes=bound)
    tiles = _tiles_in_bounds(neighborhoods, 22, 8_000, empty=True, seed=22)
    service.tile("neighborhoods", 22, tiles[0].x, tiles[0].y)  # builds the z14+ index once
    growth = _traced_growth(lambda: [service.tile("neighborhoods", 22, tile.x, tile.y) for tile in tiles[1:]])
    assert growth <= bound, f"{growth / MIB:.1f} MiB held for a {bound / MIB:.0f} MiB cache"
    assert service.stats.encodes == len(tiles) and service.stats.outside_bounds == 0
    assert service.cache.currsize > 0.9 * bound  # full: the flood evicted


def test_a_flood_of_tiles_outside_the_bounds_costs_nothing(durham_build, neighborhoods):
    service = _service(durham_build, cache_bytes=64 * MIB)
    west, south, east, north = neighborhoods.to_crs(4326).total_bounds
    corner = mercantile.tile(east + 0.01, south - 0.01, 22)  # south-east of the bounds, beyond any buffer
    tiles = [(corner.x + i % 200, corner.y + i // 200) for i in range(20_000)]
    service.layers.get()  # the density layers, loaded by the first tile above the archive
    growth = _traced_growth(lambda: [service.tile("neighborhoods", 22, x, y) for x, y in tiles])
    assert service.stats.outside_bounds == 20_000
    assert service.stats.encodes == 0 and len(service.cache) == 0
    assert growth < 64 * 1024


@pytest.fixture(scope="module")
def service(durham_build: Path) -> TileService:
    return _service(durham_build, cache_bytes=64 * MIB)


def test_a_tile_skipped_as_outside_the_bounds_is_empty(service):
    """Around each layer's westernmost, easternmost, southernmost and northernmost vertex, at
    every zoom encoded on demand: whenever the bounds check says a tile cannot have a feature,
    encoding it gives nothing."""
    skipped = 0
    layers = service.layers.get()
    for tileset, spec in service.manifest.tilesets.items():
        for zoom in range(13, 23):
            layer = spec.band_for_zoom(zoom).layer
            tiler = layers.tilers[f"{layer}@{tileset}"]
            vertices = shapely.get_coordinates(
                gpd.read_parquet(layers.rows[layer].path.with_suffix(".parquet")).geometry.to_numpy()
            )
            for index in (vertices[:, 0].argmin(), vertices[:, 0].argmax(), vertices[:, 1].argmin(), vertices[:, 1].argmax()):
                centre = mercantile.tile(*vertices[index], zoom)
                for dx in (-1, 0, 1):
                    for dy in (-1, 0, 1):
                        tile = mercantile.Tile(centre.x + dx, centre.y + dy, zoom)
                        bounds = layers.extents[f"{layer}@{tileset}"]
                        if not tile_meets_bounds(tile, bounds, tiler.buffer / tiler.extent):
                            skipped += 1
                            assert tiler.encode(tile) is None, (tileset, tile)
    assert skipped > 300


@pytest.mark.parametrize(("gap_in_buffers", "has_feature"), [(0.5, True), (2.0, False)])
def test_a_feature_in_the_buffer_alone_keeps_the_tile(gap_in_buffers, has_feature):
    """A square ending `gap` metres west of a tile: within the 64-unit buffer the tile is drawn
    (and must not be skipped), beyond it the tile is empty (and is skipped)."""
    tile = mercantile.Tile(1150, 1608, 12)
    west, south, east, north = mercantile.xy_bounds(tile)
    gap = gap_in_buffers * (east - west) * TILE_BUFFER / TILE_EXTENT
    square = shapely.box(west - gap - 500, south + 100, west - gap, north - 100)
    tiler = LayerTiler("square", [square], pd.DataFrame({"id": ["a"]}), simplify_maxzoom=12)
    assert (tiler.encode(tile) is not None) is has_feature
    assert tile_meets_bounds(tile, square.bounds, TILE_BUFFER / TILE_EXTENT) is has_feature


GUNICORN = Path(sys.executable).parent / "gunicorn"
ALLOCATOR_ALLOWANCE = 3 * MIB // 2
"""Resident growth that is not the cache's content: fragmentation of the 4 threads' malloc arenas
(tiles of every size come and go) and of the interpreter's pools, garbage awaiting collection.
Measured with a 1 MiB bound: 0.2 MiB beyond the bound after 12k requests, 0.5 MiB after 28k
(the Python heap itself stays under the bound: 0.84 MiB after 12k, tracemalloc). The old
accounting (64 bytes an entry) grew 4.4 MiB on 12k such requests."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("gunicorn started no worker")


def _flood(port: int, paths: list[str], connections: int = 4) -> dict[int, int]:
    """GET every path over `connections` keep-alive connections; returns status -> count."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def run(share: list[str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        counts: dict[int, int] = {}
        for path in share:
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = connection.getresponse()
            response.read()
            counts[response.status] = counts.get(response.status, 0) + 1
        connection.close()
        with lock:
            for status, count in counts.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=run, args=(paths[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.slow
def test_a_gunicorn_worker_stays_within_the_cache_bound_under_a_flood(durham_build, neighborhoods):
    """Real gunicorn, one worker with 4 threads and a 1 MiB cache (about 2,000 empty tiles),
    flooded with 12,000 unique in-bounds z18-22 tiles (nine in ten empty, as in the issue): the
    worker's resident memory grows by at most the bound plus 20 %, plus `ALLOCATOR_ALLOWANCE`."""
    bound = 1 * MIB
    empty = _tiles_in_bounds(neighborhoods, 22, 11_000, empty=True, seed=1)
    full = [tile for zoom in (18, 19, 20, 21, 22) for tile in _tiles_in_bounds(neighborhoods, zoom, 200, empty=False, seed=zoom)]
    paths = [f"/tiles/neighborhoods/{t.z}/{t.x}/{t.y}.mvt" for t in empty + full]
    random.Random(0).shuffle(paths)
    warm_up, flood = paths[:1000], paths[1000:]
    port = _free_port()
    env = {
        **os.environ,
        "CRIMETILES_BUILD_DIR": str(durham_build),
        "CRIMETILES_RELOAD_INTERVAL": "0",
        "CRIMETILES_CACHE_BYTES": str(bound),
    }
    command = [str(GUNICORN), "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{port}", "crimetiles.server.wsgi:app"]
    master = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
                time.sleep(0.1)
        worker = _worker_pid(master.pid)
        assert set(_flood(port, warm_up)) <= {200, 204}
        before = _resident_bytes(worker)
        statuses = _flood(port, flood)
        growth = _resident_bytes(worker) - before
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=30)
    assert statuses.get(200, 0) > 800 and statuses.get(204, 0) > 9_000 and set(statuses) == {200, 204}
    assert growth <= 1.2 * bound + ALLOCATOR_ALLOWANCE, f"worker grew by {growth / MIB:.1f} MiB"


def test_readme_states_the_cost_counted_per_entry():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"each tile plus {CACHE_ENTRY_BYTES} bytes an entry" in readme
