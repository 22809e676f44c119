"""The tile service's counts as Prometheus counters (`Metrics`), in one process."""

from __future__ import annotations

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
