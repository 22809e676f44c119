"""A production worker's memory and cold tile times on a national-size layer (issue 26, item 3).

Usage: python benchmarks/worker_memory.py [--polygons 250000] [--incidents 200000] [--tiles 300] [--keep DIR]

Makes `benchmarks/scale.py boundaries`' layer (Voronoi cells over North Carolina) and builds it
without an archive (every tile on demand), starts the README's granian command (2 workers, one
blocking thread each) and, on one connection (so one worker answers everything), asks for
`--tiles` tiles at zooms 12-16 spread over the state, each once (cold: no tile cache hit), then
a CSV and a GeoJSON download of the layer, then the layer's summary brotli- and gzip-compressed:
from the build's copies, and again with the copies removed (as from a build made before them,
which the worker compresses). Prints the worker's resident memory before, after the tiles, after
the downloads (and how much of it is anonymous) and after the summaries, the tiles' p50/p99
answer times, the summaries' answer times and what compressing the summary costs (the build's
cost, once), with the machine and its load: the memory figures do not depend on the load, the
times do (take those on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mercantile
import numpy as np
import pyarrow.parquet as pq
import requests
import shapely

from crimetiles.artifact.content_coding import ENCODINGS, compress, encoded_path
from crimetiles.precompute.build_dir import summary_path

sys.path.insert(0, str(Path(__file__).parent))
from peerlib.procs import free_port  # noqa: E402
from scale import NC_OUTLINE, PART_ROWS, Template, incident_part, machine, points_in, voronoi_layer  # noqa: E402

GRANIAN = str(Path(sys.executable).parent / "granian")
ZOOMS = range(12, 17)


def write_incidents(folder: Path, count: int, rng: np.random.Generator) -> None:
    """`count` Durham-schema incidents spread over the state, as Parquet parts."""
    places = points_in(shapely.Polygon(NC_OUTLINE), 50_000, rng)
    durham = Template.durham()
    template = Template(places[:, 0], places[:, 1], durham.ucr_code, durham.chrgdesc)
    folder.mkdir()
    for part, first in enumerate(range(0, count, PART_ROWS)):
        pq.write_table(incident_part(template, first, min(PART_ROWS, count - first), rng), folder / f"part-{part:05d}.parquet")


def state_tiles(count: int, rng: np.random.Generator) -> list[mercantile.Tile]:
    """`count` distinct tiles of `ZOOMS` (as many per zoom) that meet the state, in random order."""
    state = shapely.Polygon(NC_OUTLINE)
    shapely.prepare(state)
    picked: list[mercantile.Tile] = []
    for zoom in ZOOMS:
        wanted = count // len(ZOOMS)
        west, south, east, north = state.bounds
        while wanted:
            lon, lat = rng.uniform((west, south), (east, north))
            tile = mercantile.tile(lon, lat, zoom)
            if tile not in picked and state.intersects(shapely.box(*mercantile.bounds(tile))):
                picked.append(tile)
                wanted -= 1
    return [picked[i] for i in rng.permutation(len(picked))]


def resident_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (`VmRSS`), or its anonymous part (`RssAnon`: without the
    libraries' code, which workers share), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def workers(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def serve(build_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """The README's granian command on loopback, once both workers answer."""
    command = [GRANIAN, "--interface", "wsgi", "--workers", "2", "--blocking-threads", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port), "crimetiles.server.wsgi:app"]
    env = {**os.environ, "CRIMETILES_BUILD_DIR": str(build_dir), "CRIMETILES_RELOAD_INTERVAL": "0"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok and len(workers(process.pid)) == 2:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("granian did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=250_000, help="Voronoi cells (default 250000)")
    parser.add_argument("--incidents", type=int, default=200_000, help="incidents over the state (default 200000)")
    parser.add_argument("--tiles", type=int, default=300, help="cold tiles at zooms 12-16 (default 300)")
    parser.add_argument("--keep", default=None, help="scratch folder (default: the system's)")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.keep) as scratch_name:
        scratch = Path(scratch_name)
        layer = scratch / "nc.parquet"
        voronoi_layer(layer, args.polygons, rng)
        write_incidents(scratch / "incidents", args.incidents, rng)
        out = scratch / "build"
        build = [sys.executable, "-m", "crimetiles", "build", str(scratch / "incidents"), "-b", f"nc={layer}"]
        subprocess.run([*build, "--hex-res", "", "--out", str(out), "--archive-maxzoom", "-1"], check=True, capture_output=True)
        print(f"layer: {args.polygons:,} polygons, {(out / 'layers' / 'nc.parquet').stat().st_size / 2**20:.1f} MiB GeoParquet")
        port = free_port()
        process = serve(out, port)
        try:
            base = f"http://127.0.0.1:{port}"
            with requests.Session() as session:  # one connection: one worker answers every request
                session.get(base + "/tiles/nc.json", timeout=10).raise_for_status()
                worker = workers(process.pid)
                before = {pid: resident_mib(pid) for pid in worker}
                ms = []
                for tile in state_tiles(args.tiles, rng):
                    started = time.perf_counter()
                    answer = session.get(f"{base}/tiles/nc/{tile.z}/{tile.x}/{tile.y}.mvt", timeout=60)
                    ms.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code in (200, 204), (tile, answer.status_code)
                busiest = max(worker, key=resident_mib)
                after_tiles = resident_mib(busiest)
                for fmt in ("csv", "geojson"):
                    session.get(f"{base}/downloads/nc.{fmt}", timeout=600).raise_for_status()
                after_downloads = resident_mib(busiest)
                anonymous = resident_mib(busiest, "RssAnon")
                summary_ms = {coding: timed_summary(session, base, coding) for coding in ENCODINGS}
                after_summaries = resident_mib(busiest)
                for coding in ENCODINGS:  # now the build stands for one made before the copies
                    (out / encoded_path(summary_path("nc"), coding)).unlink()
                uncopied_ms = {coding: timed_summary(session, base, coding) for coding in ENCODINGS}
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        print(
            f"worker RSS: {before[busiest]:.0f} MiB before, {after_tiles:.0f} MiB after {len(ms)} cold tiles at z12-16, "
            f"{after_downloads:.0f} MiB after a CSV and a GeoJSON download ({anonymous:.0f} MiB of it anonymous)"
        )
        print(f"cold tiles over HTTP: p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms")
        print(f"worker RSS after the summary in {' and '.join(ENCODINGS)}: {after_summaries:.0f} MiB")
        print_summary_costs(out / summary_path("nc"), summary_ms, uncopied_ms)


def timed_summary(session: requests.Session, base: str, coding: str) -> float:
    """Milliseconds to the whole of the summary's answer in `coding` (the worker's first such request)."""
    started = time.perf_counter()
    answer = session.get(f"{base}/summaries/nc.json", headers={"Accept-Encoding": coding}, timeout=600)
    answer.raise_for_status()
    assert answer.headers["Content-Encoding"] == coding, answer.headers
    return (time.perf_counter() - started) * 1000


def print_summary_costs(path: Path, answer_ms: dict[str, float], uncopied_ms: dict[str, float]) -> None:
    body = path.read_bytes()
    print(f"summary: {len(body) / 1e6:.1f} MB of JSON")
    for coding in ENCODINGS:
        started = time.process_time()
        compressed = compress(body, coding)
        seconds = time.process_time() - started
        print(
            f"  {coding}: {len(compressed) / 1e6:.1f} MB, compressed in {seconds:.2f} s of CPU (once, by the build); "
            f"a worker's first answer {answer_ms[coding]:.0f} ms, {uncopied_ms[coding]:.0f} ms without the build's copy"
        )


if __name__ == "__main__":
    main()
