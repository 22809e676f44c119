"""Time the Durham demo build end to end (synth, then build with every layer, hexes and tiles).

Usage: python benchmarks/build.py [--runs 3]
Prints one line per run and the median; paste the figures with the machine into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from peerlib.demo import CRIMETILES

from crimetiles.artifact.manifest import read_manifest


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="build runs to time (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        incidents = Path(scratch) / "incidents"
        synth_s = timed([*CRIMETILES, "synth", "--out", str(incidents)])
        rows = sum(sum(1 for _ in path.open()) - 1 for path in incidents.iterdir())
        print(
            f"machine: {platform.node()}, {cpu_model()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
        )
        print(f"synth: {rows} incidents in {synth_s:.2f} s")
        builds = []
        for run in range(args.runs):
            seconds = timed([*CRIMETILES, "build", str(incidents), "--out", str(Path(scratch) / "build"), "-q"])
            builds.append(seconds)
            print(f"build run {run + 1}: {seconds:.2f} s")
        print(
            f"build median: {statistics.median(builds):.2f} s "
            f"(3 boundary layers, hex 6-9, 5 years, {archives_written(Path(scratch) / 'build')})"
        )


def archives_written(build: Path) -> str:
    """The tile archives of `build` by format, with their zooms: "4 MBTiles and 4 PMTiles archives z0-14"."""
    archives = [tileset.archive for tileset in read_manifest(build).tilesets.values() if tileset.archive]
    mbtiles = sum(1 for archive in archives if archive.format == "mbtiles")
    pmtiles = sum(1 for archive in archives if archive.pmtiles)
    zooms = sorted({f"z{archive.minzoom}-{archive.maxzoom}" for archive in archives})
    return f"{mbtiles} MBTiles and {pmtiles} PMTiles archives {', '.join(zooms)}"


if __name__ == "__main__":
    main()
