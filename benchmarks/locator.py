"""How fast the counting finds each incident's polygon (`precompute.locator`): building the locators
of a set of layers (each counting worker does it once) and locating a million points in them.

    python benchmarks/locator.py                      # the three Durham layers
    python benchmarks/locator.py --voronoi 250000     # instead, a 250,000-cell layer over North Carolina

Prints, per set of layers: the build time, the time to locate a million random points (best of
3), the share of points tested exactly (in a cell a boundary comes near) and the process's peak RSS.
The Voronoi layer is made by a child process, so the peak is the locators' and the layer's alone.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import geopandas as gpd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale import machine, voronoi_layer  # noqa: E402
from crimetiles.precompute.locator import MIXED, LayerLocators  # noqa: E402
from crimetiles.precompute.synth import DURHAM_DATA_DIR  # noqa: E402

POINTS = 1_000_000


def durham_layers() -> dict[str, np.ndarray]:
    return {
        name: gpd.read_file(DURHAM_DATA_DIR / f"{name}.geojson").geometry.to_numpy()
        for name in ("blockgroups", "tracts", "neighborhoods")
    }


def voronoi(polygons: int) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as scratch, ProcessPoolExecutor(1, mp_context=get_context("spawn")) as child:
        path = Path(scratch) / "voronoi.parquet"
        child.submit(voronoi_layer, path, polygons, np.random.default_rng(7)).result()
        return {f"voronoi{polygons}": gpd.read_parquet(path).geometry.to_numpy()}


def measure(layers: dict[str, np.ndarray]) -> str:
    started = time.perf_counter()
    locators = LayerLocators.build(layers)
    built = time.perf_counter() - started
    grid = locators.grid
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(grid.west, grid.east, POINTS), rng.uniform(grid.south, grid.north, POINTS)
    best = min(_timed(locators, lon, lat) for _ in range(3))
    cell = grid.cell_of(lon, lat)
    tested = {name: float(np.mean(locator.owner[np.maximum(cell, 0)] <= MIXED)) for name, locator in locators.layers.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shares = ", ".join(f"{name} {share:.1%}" for name, share in tested.items())
    return (
        f"| {', '.join(layers)} | {sum(len(p) for p in layers.values()):,} | {grid.nx * grid.ny:,} | {built:.2f} s | "
        f"{best * 1000:.0f} ms | {shares} | {peak:.0f} MB |"
    )


def _timed(locators: LayerLocators, lon: np.ndarray, lat: np.ndarray) -> float:
    started = time.perf_counter()
    locators.assign(lon, lat)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--voronoi", type=int, default=0, help="time a layer of this many Voronoi cells, not the Durham layers (default: none)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("| layers | polygons | grid cells | build | locate 1M points | tested exactly | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(measure(voronoi(args.voronoi) if args.voronoi else durham_layers()), flush=True)


if __name__ == "__main__":
    main()
