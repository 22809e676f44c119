"""The tile service's counts as Prometheus counters (`Metrics`), in one process, and a forked
process's counts in multiprocess mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from crimetiles.server.config import MULTIPROCESS_DIR_ENV
from crimetiles.server.metrics import Metrics
from crimetiles.server.tiles import TileStats
from tests.server.apps import metric_value


def test_a_count_read_below_one_already_reported_adds_nothing_and_raises_nothing():
    """A worker's threads add to `TileStats` without a lock, so a lost update can leave a count
    below one a report already read (seen under wrk: every such tile answered 500). The counter
    keeps what it had and goes on from there."""
    stats = TileStats()
    metrics = Metrics(stats)
    for cache_hits in (5, 4, 6):  # 4: two threads' increments, one of them lost
        stats.cache_hits = cache_hits
        metrics.count_tile(0.001, from_archive=False)
    assert metric_value(metrics.render().decode(), "crimetiles_tile_cache_hits_total") == 6


FORKED_COUNTS = """
import os, sys
from crimetiles.server.metrics import Metrics
from crimetiles.server.tiles import TileStats

metrics = Metrics(TileStats())
metrics.count_tile(0.001, from_archive=True)
child = os.fork()
if child == 0:
    metrics.count_tile(0.001, from_archive=True)
    metrics.count_tile(0.001, from_archive=True)
    os._exit(0)
os.waitpid(child, 0)
metrics.count_tile(0.001, from_archive=True)
print(os.getpid(), child)
"""


def test_a_forked_process_counts_in_its_own_files(tmp_path):
    """In multiprocess mode the process id `prometheus_client` files each count under is read once
    and again after a fork, not at every count: a forked worker still writes its own files, and
    its parent's counts stay its own."""
    env = {**os.environ, MULTIPROCESS_DIR_ENV: str(tmp_path)}
    ran = subprocess.run([sys.executable, "-c", FORKED_COUNTS], env=env, capture_output=True, text=True, check=True)
    parent, child = ran.stdout.split()
    assert sorted(path.name for path in tmp_path.glob("counter_*.db")) == sorted([f"counter_{parent}.db", f"counter_{child}.db"])
    assert _archive_hits(tmp_path / f"counter_{parent}.db") == 2
    assert _archive_hits(tmp_path / f"counter_{child}.db") == 2


def _archive_hits(counter_file: Path) -> float:
    """The archive hits counted in one process's file, collected alone."""
    alone = counter_file.parent / counter_file.stem
    alone.mkdir()
    shutil.copy(counter_file, alone)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(alone))
    return metric_value(generate_latest(registry).decode(), "crimetiles_tile_archive_hits_total")
