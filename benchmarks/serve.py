"""Tile serving throughput and latency with gunicorn on loopback, measured with wrk.

Usage: python benchmarks/serve.py [--duration 10] [--connections 32]

Builds the Durham demo twice (with the MBTiles archive, and without it so every tile is encoded on
demand), starts gunicorn (2 workers x 4 threads: one worker per core, threads to overlap I/O), and
runs wrk from Debian's packages against:
  cached: a fixed set of z10-z14 tiles over Durham, served from the archive or the warm cache;
  cold:   every z10-z16 tile of every tileset over Durham, each requested at most once, no archive, so
          each request encodes its tile.
Prints requests per second and p50/p99 latency per scenario; record them in RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mercantile
import requests
from peerlib.demo import build, synth
from peerlib.load import LoadSettings, run_wrk
from peerlib.procs import free_port

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")
DURHAM_BOUNDS = (-79.02, 35.87, -78.70, 36.24)


def tile_paths(zooms: range) -> list[str]:
    return [
        f"/tiles/{tileset}/{tile.z}/{tile.x}/{tile.y}.mvt"
        for tileset in TILESETS
        for tile in mercantile.tiles(*DURHAM_BOUNDS, zooms=list(zooms))
    ]


def start_gunicorn(build_dir: Path, port: int, cache_bytes: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CRIMETILES_BUILD_DIR": str(build_dir),
        "CRIMETILES_RELOAD_INTERVAL": "0",
        "CRIMETILES_CACHE_BYTES": str(cache_bytes),
    }
    process = subprocess.Popen(
        [
            GUNICORN,
            "--workers",
            "2",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "crimetiles.server.wsgi:app",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:  # refused, or accepted but no worker booted yet
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def measure(name: str, build_dir: Path, paths: list[str], cache_bytes: int, args: argparse.Namespace, scratch: Path) -> None:
    port = free_port()
    server = start_gunicorn(build_dir, port, cache_bytes)
    try:
        result = run_wrk(
            f"http://127.0.0.1:{port}", paths, LoadSettings(2, args.connections, args.duration), scratch / "walk.lua"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    errors = result.non_2xx + result.socket_errors
    print(
        f"{name}: {result.requests_per_s:.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms "
        f"({result.requests} requests, {len(paths)} distinct tiles, {'no errors' if not errors else 'ERRORS'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        incidents = synth(scratch / "incidents")
        build(incidents, scratch / "archived", "--archive-maxzoom", "14")
        build(incidents, scratch / "unarchived", "--archive-maxzoom", "-1")
        print(
            f"machine: {os.cpu_count()} cores, {_cpu_model()}; gunicorn 2 workers x 4 threads; "
            f"wrk 2 threads, {args.connections} connections, {args.duration} s"
        )
        every_tile = tile_paths(range(10, 17))
        hot = [path for path in every_tile if int(path.split("/")[3]) <= 14][::10]
        measure("cached (archive z0-14)", scratch / "archived", hot, 64 << 20, args, scratch)
        measure("cached (on-demand, warm cache)", scratch / "unarchived", hot, 64 << 20, args, scratch)
        measure("cold (no archive, each tile encoded once)", scratch / "unarchived", every_tile, 64 << 20, args, scratch)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
