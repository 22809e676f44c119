"""What compressing the bodies we send costs: brotli quality 9 in brotli's default window (22)
against the window fitted to the body (`artifact/content_coding.py`), and gzip level 9, for the
documents a page asks for, the static files and a layer summary.

Usage: python benchmarks/compression.py [--build DIR] [--repeat 20]

Without --build it builds the Durham demo into a temporary directory. Prints, per body, its size,
each coding's size and CPU milliseconds (best of `--repeat`), with the machine and its load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import brotli
from peerlib.demo import build, synth
from scale import machine

from crimetiles.artifact.content_coding import BROTLI_QUALITY, compress
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

DOCUMENTS = (
    "/",
    "/tiles",
    "/styles/blockgroups.json",
    "/tiles/blockgroups.json",
    "/wmts/1.0.0/WMTSCapabilities.xml",
    "/openapi.json",
)
STATIC = ("app.js", "vendor/maplibre-gl/maplibre-gl-csp.js")
SUMMARY = "/summaries/hex9.json"


def best_ms(work: Callable[[], bytes], repeat: int) -> tuple[int, float]:
    """The size of `work()`'s bytes and its best CPU time in milliseconds over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        size = len(work())
        times.append(time.process_time() - started)
    return size, min(times) * 1000


@contextmanager
def demo_build(given: str | None) -> Iterator[Path]:
    if given:
        yield Path(given)
        return
    with tempfile.TemporaryDirectory() as scratch:
        incidents = synth(Path(scratch) / "incidents")
        yield build(incidents, Path(scratch) / "build")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", help="a build directory (default: build the Durham demo)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per body and coding, the best kept (default 20)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with demo_build(args.build) as build_dir:
        client = create_app(ServerConfig(build_dir=build_dir, reload_interval=0)).test_client()
        bodies = {path: client.get(path, headers={"Accept-Encoding": "identity"}).data for path in (*DOCUMENTS, SUMMARY)}
        bodies |= {f"/static/{name}": (Path(__file__).parents[1] / "static" / name).read_bytes() for name in STATIC}
        print("body | bytes | brotli, window 22 | brotli, fitted window | gzip 9")
        for path, body in bodies.items():
            default = best_ms(lambda body=body: brotli.compress(body, quality=BROTLI_QUALITY), args.repeat)
            fitted = best_ms(lambda body=body: compress(body, "br"), args.repeat)
            gzipped = best_ms(lambda body=body: compress(body, "gzip"), args.repeat)
            cells = [f"{size:,} B {ms:.2f} ms" for size, ms in (default, fitted, gzipped)]
            print(f"{path} | {len(body):,} | {' | '.join(cells)}")
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
