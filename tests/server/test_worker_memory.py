"""A worker that serves only archive tiles, pages and metadata never loads the geo libraries nor
the density layers: they load with the first on-demand tile or download (`LazyDensityLayers`)."""

from __future__ import annotations

import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import pytest
import requests

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.reader import open_build
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.tiles import load_tile_service
from tests.server.apps import ON_DEMAND_TILE
from tests.server.served import readme_command, serving, wait_until

WORKER_RSS_LIMIT_KB = 100 * 1024
GEO_LIBRARIES = ("/numpy/", "/pandas/", "/shapely/", "/pyarrow/", "/pyproj/")
"""Package folders whose compiled modules (`.so` files) a process maps once it imports them
(geopandas itself is pure Python: it brings all of these)."""


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
        assert any(_mapped_geo_libraries(pid) == set(GEO_LIBRARIES) for pid in workers)


def test_density_layers_load_once_under_concurrent_requests(durham_build):
    service = load_tile_service(open_build(durham_build), cache_bytes=0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: service.layers.get(), range(8)))
    assert all(layers is loaded[0] for layers in loaded)
    assert set(loaded[0].rows) == set(open_build(durham_build).manifest.layers)


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
        (lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]), "not a Parquet file"),
        (lambda path: path.write_bytes(b""), "not a Parquet file"),
        (Path.unlink, "No such file or directory"),
    ],
    ids=["truncated", "empty", "missing"],
)
def test_a_broken_density_layer_fails_the_load_with_one_line(durham_build, tmp_path, damage, reason):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    damage(copy / "layers" / "tracts.parquet")
    with pytest.raises(BuildError, match=rf"layers/tracts\.parquet: cannot read density layer \({reason}\)$"):
        create_app(ServerConfig(build_dir=copy, reload_interval=0))
