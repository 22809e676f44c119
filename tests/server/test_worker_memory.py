"""A worker that serves only archive tiles, pages and metadata never loads the geo libraries nor
the density layers: they load with the first on-demand tile or download (`LazyDensityLayers`)."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
import requests
import shapely

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.reader import open_build
from crimetiles.precompute.build import BoundarySpec
from crimetiles.precompute.synth import DURHAM_DATA_DIR
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.tiles import load_tile_service
from tests.server.apps import ON_DEMAND_TILE
from tests.server.builds import build_layer
from tests.server.served import readme_command, serving, wait_until

WORKER_RSS_LIMIT_KB = 100 * 1024
GEO_LIBRARIES = ("/numpy/", "/pandas/", "/shapely/", "/pyarrow/", "/pyproj/", "/nanoarrow/")
"""Package folders whose compiled modules (`.so` files) a process maps once it imports them
(geopandas itself is pure Python: it brings all of these)."""
LAYER_LIBRARIES = {"/numpy/", "/shapely/", "/nanoarrow/"}
"""Those an on-demand tile or a download brings: never pyarrow, pyproj nor pandas (nor geopandas)."""


def _worker_pids(server_pid: int) -> list[int]:
    """The server's worker processes: its children (granian's workers are its direct children)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def _resident_kb(pid: int) -> int:
    """VmRSS of process `pid`, in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def _mapped_geo_libraries(pid: int) -> set[str]:
    """The `GEO_LIBRARIES` folders that process `pid` maps a file from (/proc/<pid>/maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {folder for folder in GEO_LIBRARIES if f"site-packages{folder}" in maps}


def _archive_tile_paths(build_dir: Path, tileset: str) -> list[str]:
    """The URL of every tile in `tileset`'s MBTiles archive (rows stored TMS, URLs XYZ)."""
    archive = build_dir / open_build(build_dir).manifest.tilesets[tileset].archive.path
    with sqlite3.connect(archive) as db:
        rows = db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall()
    return [f"/tiles/{tileset}/{z}/{x}/{(1 << z) - 1 - row}.mvt" for z, x, row in rows]


@pytest.mark.slow
def test_an_archive_only_worker_stays_small_until_an_on_demand_tile(durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet")
    with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, process):
        with requests.Session() as session:
            for path in _archive_tile_paths(durham_build, "tracts"):
                assert session.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=10).status_code == 200, path
            for path in ("/", "/tiles/tracts.json", "/styles/tracts.json", "/summaries/tracts.json", "/metrics"):
                assert session.get(base + path, timeout=10).status_code == 200, path
        wait_until(lambda: len(_worker_pids(process.pid)) == 2, "granian did not run 2 workers")
        workers = _worker_pids(process.pid)
        for pid in workers:
            assert _mapped_geo_libraries(pid) == set(), pid
            assert _resident_kb(pid) < WORKER_RSS_LIMIT_KB, pid

        tile = requests.get(base + ON_DEMAND_TILE, headers={"Accept-Encoding": "gzip"}, timeout=60)
        assert tile.status_code == 200
        assert tile.headers["Content-Encoding"] == "gzip"
        assert mapbox_vector_tile.decode(tile.content)["tracts"]["features"]
        download = requests.get(base + "/downloads/tracts.csv?year=2014", timeout=60)
        assert download.status_code == 200
        assert len(download.text.splitlines()) == 1 + len(tracts)
        assert any(_mapped_geo_libraries(pid) == LAYER_LIBRARIES for pid in workers)


def test_density_layers_load_once_under_concurrent_requests(durham_build):
    service = load_tile_service(open_build(durham_build), cache_bytes=0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: service.layers.get(), range(8)))
    assert all(layers is loaded[0] for layers in loaded)
    assert set(loaded[0].rows) == set(open_build(durham_build).manifest.layers)


SERVE_A_TILE_AND_A_DOWNLOAD = """
import json, sys
from pathlib import Path
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
client = create_app(ServerConfig(build_dir=Path(sys.argv[1]), reload_interval=0)).test_client()
assert client.get(sys.argv[2]).status_code == 200
assert client.get("/downloads/tracts.geojson").status_code == 200
print(json.dumps(sorted(name for name, module in sys.modules.items() if module)))
"""
"""A fresh interpreter, as a server's worker: the app on a build answers an on-demand tile and a
download, then lists the modules imported."""


def test_a_worker_encoding_tiles_and_downloads_loads_only_what_they_need(durham_build):
    """pyarrow took about 30 MB of a Durham worker and pyproj 10 (the layers are read from their
    Arrow streams with nanoarrow, and projected by `to_web_mercator`); markdown-it (the page's
    metric text) and mapbox-vector-tile (its repair of a broken polygon, with protobuf) 1-2 MB
    each, for what a worker serving tiles never or rarely does."""
    command = [sys.executable, "-c", SERVE_A_TILE_AND_A_DOWNLOAD, str(durham_build), ON_DEMAND_TILE]
    modules = set(json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout))
    assert {"nanoarrow", "shapely", "numpy"} <= modules
    assert {name.split(".")[0] for name in modules} & {
        "pyarrow",
        "pyproj",
        "pandas",
        "geopandas",
        "markdown_it",
        "mapbox_vector_tile",
    } == set()


def test_on_demand_tiles_and_downloads_work_after_the_build_is_deleted(durham_build, tmp_path):
    """The density layers' files are opened when the build loads: read later, they are still there."""
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    client = create_app(ServerConfig(build_dir=copy, reload_interval=0)).test_client()
    shutil.rmtree(copy)
    tile = client.get(ON_DEMAND_TILE)  # no Accept-Encoding: the tile comes uncompressed
    assert tile.status_code == 200
    assert mapbox_vector_tile.decode(tile.data)["tracts"]["features"]
    download = client.get("/downloads/tracts.csv?year=2014")
    assert download.status_code == 200
    assert len(download.text.splitlines()) == 1 + len(gpd.read_parquet(durham_build / "layers" / "tracts.parquet"))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]), "not an Arrow stream"),
        (lambda path: path.write_bytes(b""), "not an Arrow stream"),
        (lambda path: path.write_bytes(b"PAR1" + path.read_bytes()[4:]), "not an Arrow stream"),
        (Path.unlink, "No such file or directory"),
    ],
    ids=["truncated", "empty", "another-format", "missing"],
)
def test_a_broken_density_layer_fails_the_load_with_one_line(durham_build, tmp_path, damage, reason):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    damage(copy / "layers" / "tracts.arrows")
    with pytest.raises(BuildError, match=rf"layers/tracts\.arrows: cannot read density layer \({reason}\)$"):
        create_app(ServerConfig(build_dir=copy, reload_interval=0))


def test_a_damaged_batch_fails_its_read_with_one_line(durham_build, tmp_path):
    """A batch whose message is garbage (its bytes overwritten in place) fails when read: the
    load checks only the file's ends."""
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    batch = open_build(copy).manifest.layers["tracts"].stream.batches[0]
    with (copy / "layers" / "tracts.arrows").open("r+b") as file:
        file.seek(batch.offset)
        file.write(b"\x00" * 64)
    rows = load_tile_service(open_build(copy), cache_bytes=0).layers.get().rows["tracts"]
    with pytest.raises(BuildError, match=r"layers/tracts\.arrows: cannot read density layer \(.+\)$"):
        rows.read_group(0)


def test_a_build_made_before_the_layers_streams_asks_for_a_rebuild(durham_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for layer in manifest["layers"].values():
        del layer["stream"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        BuildError, match=r"density layer 'blockgroups' has no Arrow stream \(a build made by an older crimetiles\): rebuild$"
    ):
        create_app(ServerConfig(build_dir=copy, reload_interval=0))


VORONOI_CELLS = {"small": 1_000, "large": 20_000}
"""Polygons of the two generated layers whose workers are compared: the large one, read whole as the
server did before, takes about 95 MB in a worker (its frame and the tiler's projected and simplified
copies with their index: 192 MB for 40,000)."""


def _voronoi_cells(count: int, bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """`count` Voronoi cells of random points (seed 5) tessellating `bounds` (degrees), in random order."""
    rng = np.random.default_rng(5)
    west, south, east, north = bounds
    seeds = rng.uniform((west, south), (east, north), (count, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(*bounds)))
    cells = shapely.intersection(cells, shapely.box(*bounds))
    ids = [f"V{i:05d}" for i in rng.permutation(len(cells))]
    return gpd.GeoDataFrame({"id": ids, "name": ids}, geometry=cells, crs="EPSG:4326")


@pytest.fixture(scope="module")
def voronoi_builds(durham_incidents: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A build of each of `VORONOI_CELLS`' layers over the Durham tracts' extent (the demo's
    incidents, 5 years: 39 properties a polygon), without an archive: every tile on demand."""
    folder = tmp_path_factory.mktemp("voronoi")
    bounds = tuple(gpd.read_file(DURHAM_DATA_DIR / "tracts.geojson").total_bounds)
    builds = {}
    for size, count in VORONOI_CELLS.items():
        layer = folder / f"{size}.parquet"
        _voronoi_cells(count, bounds).to_parquet(layer)
        build_layer(durham_incidents, BoundarySpec("cells", layer), folder / size, archive_maxzoom=-1)
        builds[size] = folder / size
    return builds


def _tiles_over(build_dir: Path, count: int) -> list[str]:
    """`count` tile URLs of zooms 12-16 spread over the build's extent (a regular pick from each zoom's tiles)."""
    west, south, east, north = open_build(build_dir).manifest.bounds
    paths = []
    for zoom in range(12, 17):
        tiles = list(mercantile.tiles(west, south, east, north, zooms=[zoom]))
        paths += [f"/tiles/cells/{t.z}/{t.x}/{t.y}.mvt" for t in tiles[:: max(1, len(tiles) // (count // 5))]]
    return paths[:count]


def _worker_growth_kb(build_dir: Path, paths: list[str]) -> int:
    """How much the resident memory of the one worker that answered `paths` grew, from before the
    first (with every library but the layer's loaded by one tile of the empty corner) to after the last."""
    with serving(readme_command("granian"), build_dir, reload_interval="0") as (base, process):
        wait_until(lambda: len(_worker_pids(process.pid)) == 2, "granian did not run 2 workers")
        with requests.Session() as session:
            before = {pid: _resident_kb(pid) for pid in _worker_pids(process.pid)}
            for path in paths:
                assert session.get(base + path, timeout=30).status_code in (200, 204), path
            after = {pid: _resident_kb(pid) for pid in _worker_pids(process.pid)}
    return max(after[pid] - before[pid] for pid in after)


@pytest.mark.slow
def test_a_worker_grows_by_the_tiles_it_serves_not_by_its_layer(voronoi_builds):
    """The same 200 tiles (zooms 12-16 over the whole extent) from a worker serving a layer 20
    times larger: it grows by less than 40 MB more (the row groups it keeps as read, at most
    `GROUP_CACHE_BYTES`, and what reading them leaves), where a worker reading the layer whole
    grew by about 95 MB more."""
    paths = _tiles_over(voronoi_builds["large"], 200)
    small, large = (_worker_growth_kb(voronoi_builds[size], paths) for size in ("small", "large"))
    assert large - small < 40 * 1024, (small, large)


ON_DEMAND_RSS_LIMIT_KB = 90 * 1024
"""A Durham worker after 300 on-demand tiles (78 MB measured; 127-128 MB when it read the layers
with pyarrow and projected them with pyproj): the 47 MB of a worker that has served nothing, the
libraries that read and encode layers (numpy, nanoarrow, shapely: about 20 MB, half of it their
code, which the operating system shares between workers), the batches it keeps (the whole Durham
demo), what reading and encoding them leaves and the code it runs."""
DOWNLOADS_RSS_LIMIT_KB = 100 * 1024
"""The same worker after a download of each layer in each format (82-83 MB measured, 132-134 MB
before): the issue's 100 MB. Nothing more is imported, only what writing them leaves."""
OWN_MEMORY_LIMIT_KB = 65 * 1024
"""The same worker's anonymous memory (54 MB measured, 68-70 MB before): its heap, Python objects
and caches, what each worker added costs, without the libraries' code pages (shared, and counted in
its resident memory)."""


def _anonymous_kb(pid: int) -> int:
    """The anonymous memory of process `pid` (resident, not backed by a file), in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1])
    raise AssertionError(f"no Anonymous in /proc/{pid}/smaps_rollup")


def _spread(tiles: list[mercantile.Tile], count: int) -> list[mercantile.Tile]:
    """`count` of `tiles`, evenly spaced."""
    return [tiles[i] for i in np.linspace(0, len(tiles) - 1, count).astype(int)]


@pytest.mark.slow
def test_a_durham_worker_after_300_on_demand_tiles_and_every_download(durham_build):
    """The issue's 100 MB of resident memory, downloads included."""
    manifest = open_build(durham_build).manifest
    tiles = [
        f"/tiles/{name}/{t.z}/{t.x}/{t.y}.mvt"
        for zoom in range(13, 17)
        for name in manifest.tilesets
        for t in _spread(list(mercantile.tiles(*manifest.bounds, zooms=[zoom])), 19)
    ]
    assert len(tiles) == 304
    with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, process):
        wait_until(lambda: len(_worker_pids(process.pid)) == 2, "granian did not run 2 workers")
        with requests.Session() as session:  # one connection: one worker answers every request
            assert {session.get(base + path, timeout=30).status_code for path in tiles[:300]} == {200, 204}
            worker = max(_worker_pids(process.pid), key=_resident_kb)
            assert "/pandas/" not in _mapped_geo_libraries(worker)
            assert _resident_kb(worker) < ON_DEMAND_RSS_LIMIT_KB
            for layer, fmt in itertools.product(manifest.layers, ("csv", "geojson")):
                assert session.get(f"{base}/downloads/{layer}.{fmt}", timeout=60).status_code == 200
            assert _mapped_geo_libraries(worker) == LAYER_LIBRARIES
            assert _resident_kb(worker) < DOWNLOADS_RSS_LIMIT_KB
            assert _anonymous_kb(worker) < OWN_MEMORY_LIMIT_KB
