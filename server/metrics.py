"""Prometheus metrics with `prometheus_client`: requests by status, tile latency, tile counters.

Under a server with several worker processes (granian, gunicorn) each process writes its values to
files in one shared directory (`prometheus_client`'s multiprocess mode, set up by
`crimetiles.server.wsgi`) and a scrape, whichever worker answers it, adds up every worker's
files, those of workers since replaced included: counters never go backwards. In one process
(`crimetiles serve`, tests) the values are the process's own. The tile service's counters
(`TileStats`) are carried from build to build by `LiveBuild`, so a hot swap resets nothing.

Tiles the fast path answers are counted in plain integers (`TileTally`) and added to the
Prometheus values once a second by one thread per process, before every scrape the process answers,
and when the process exits normally: an increment of a multiprocess value (a locked write to a
memory-mapped file) cost more than the rest of a cached tile's answer. So another worker's last
second of tiles may be missing from a scrape; it is in the next one.
"""

from __future__ import annotations

import atexit
import bisect
import multiprocessing.util
import os
import threading
import time
import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from crimetiles.server.config import MULTIPROCESS_DIR_ENV
from crimetiles.server.tiles import TileStats

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Seconds."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAT_HELP = {
    "cache_hits": "On-demand tiles served from the cache.",
    "cache_misses": "On-demand tiles encoded because they were not cached.",
    "archive_hits": "Tiles served from the pre-generated archive.",
    "outside_bounds": "On-demand tiles answered empty without an encode: wholly outside their layer's bounds.",
    "encodes": "Tiles encoded on demand.",
    "encode_seconds": "Time spent encoding tiles on demand.",
}
"""One counter per `TileStats` field: `crimetiles_tile_<field>_total`."""

FLUSH_SECONDS = 1.0
"""How often each process adds its tallied tiles to the Prometheus values."""

disable_created_metrics()  # no `_created` series: they would differ between workers and say nothing here


@dataclass(frozen=True)
class Tallied:
    """What a `TileTally` held when it was taken: requests by status, latencies by histogram
    bucket (index of the first upper bound at or above the value, as `Histogram.observe` counts
    them) and their sum, archive hits."""

    statuses: dict[int, int]
    buckets: list[int]
    seconds: float
    archive_hits: int


class TileTally:
    """Tiles answered by the fast path since the last `take`, in plain integers guarded by one
    uncontended lock. `bounds`: the histogram's upper bounds, `+Inf` last."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self._lock = threading.Lock()
        self._empty()

    def _empty(self) -> None:
        self._statuses: dict[int, int] = {}
        self._buckets = [0] * len(self.bounds)
        self._seconds = 0.0
        self._archive_hits = 0

    def add(self, status: int, seconds: float, from_archive: bool) -> None:
        with self._lock:
            self._statuses[status] = self._statuses.get(status, 0) + 1
            self._buckets[bisect.bisect_left(self.bounds, seconds)] += 1
            self._seconds += seconds
            self._archive_hits += from_archive

    def take(self) -> Tallied:
        """What was tallied; the tally starts again from nothing."""
        with self._lock:
            taken = Tallied(self._statuses, self._buckets, self._seconds, self._archive_hits)
            self._empty()
        return taken


class _Flusher:
    """One daemon thread per process that flushes every `Metrics` with tallied tiles each
    `FLUSH_SECONDS`; it holds them weakly, so an app that is dropped (tests) is not kept."""

    def __init__(self) -> None:
        self._watched: weakref.WeakSet[Metrics] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def watch(self, metrics: Metrics) -> None:
        with self._lock:
            self._watched.add(metrics)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="crimetiles-metrics-flush", daemon=True)
                self._thread.start()

    def flush_all(self) -> None:
        for metrics in list(self._watched):
            metrics.flush()

    def forget_thread(self) -> None:
        """In a forked child: the thread did not come along; the next tally starts one."""
        self._thread = None

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush_all()


_FLUSHER = _Flusher()
os.register_at_fork(after_in_child=_FLUSHER.forget_thread)
atexit.register(_FLUSHER.flush_all)
# A multiprocessing child (a granian worker) ends with os._exit, after its finalizers but without atexit.
multiprocessing.util.Finalize(None, _FLUSHER.flush_all, exitpriority=0)


@dataclass(eq=False)  # hashed by identity: the flusher keeps a weak set of them
class Metrics:
    """The metrics of one app. `record` is called once per request, after its status is known."""

    stats: TileStats
    """The tile service's counters, the same object across hot swaps (`LiveBuild`)."""

    def __post_init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("crimetiles_http_requests", "HTTP requests by status code.", ["status"], registry=self.registry)
        self.latency = Histogram(
            "crimetiles_tile_request_seconds",
            "Tile request latency in this server.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.build_info = Gauge(
            "crimetiles_build_info",
            "The build being served.",
            ["build_id"],
            multiprocess_mode="mostrecent",
            registry=self.registry,
        )
        self.stat_counters = {
            name: Counter(f"crimetiles_tile_{name}", help_text, registry=self.registry) for name, help_text in STAT_HELP.items()
        }
        self._by_status: dict[int, Counter] = {}
        self._reported = TileStats()
        self._report_lock = threading.Lock()
        self._build_id: str | None = None
        self._tally = TileTally(tuple(self.latency._upper_bounds))
        self._flushed_by_thread = False
        self._flush_lock = threading.Lock()

    def record(self, status: int, tile_seconds: float | None, build_id: str) -> None:
        """Count a request with `status` answered from build `build_id`; `tile_seconds` for a tile
        request (its latency)."""
        self._count_request(status, build_id)
        if tile_seconds is not None:
            self.latency.observe(tile_seconds)
        self._report_stats()

    def count_tile(self, status: int, tile_seconds: float, build_id: str, from_archive: bool) -> None:
        """`record` for a tile the fast path answered, tallied until the next `flush`."""
        self._note_build(build_id)
        self._tally.add(status, tile_seconds, from_archive)
        if not self._flushed_by_thread:
            self._flushed_by_thread = True
            _FLUSHER.watch(self)

    def flush(self) -> None:
        """Add the tallied tiles to the Prometheus values (the histogram's buckets and sum one by
        one: `Histogram` has no public way to add many observations at once). One flush at a
        time, so a scrape's flush waits for the flusher thread's to be complete."""
        with self._flush_lock:
            taken = self._tally.take()
            for status, count in taken.statuses.items():
                self._status_counter(status).inc(count)
            for bucket, count in zip(self.latency._buckets, taken.buckets, strict=True):
                if count:
                    bucket.inc(count)
            if taken.seconds:
                self.latency._sum.inc(taken.seconds)
            with self._report_lock:
                self.stats.archive_hits += taken.archive_hits
            self._report_stats()

    def _count_request(self, status: int, build_id: str) -> None:
        self._note_build(build_id)
        self._status_counter(status).inc()

    def _note_build(self, build_id: str) -> None:
        """`serving(build_id)` when it is not the build last seen (an identity check per request)."""
        if build_id is not self._build_id:
            self.serving(build_id)

    def _status_counter(self, status: int) -> Counter:
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status[status] = self.requests.labels(str(status))
        return child

    def serving(self, build_id: str) -> None:
        """Say which build this process serves: the old build's series drops to 0."""
        with self._report_lock:
            if build_id == self._build_id:
                return
            if self._build_id is not None:
                self.build_info.labels(self._build_id).set(0)
            self.build_info.labels(build_id).set(1)
            self._build_id = build_id

    def render(self) -> bytes:
        """The Prometheus text exposition: every worker's values added up in multiprocess mode
        (this process's tally flushed first)."""
        self.flush()
        if os.environ.get(MULTIPROCESS_DIR_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def _report_stats(self) -> None:
        """Add what the tile service counted since the last request to the Prometheus counters."""
        with self._report_lock:
            for name, counter in self.stat_counters.items():
                now = getattr(self.stats, name)
                delta = now - getattr(self._reported, name)
                if delta:
                    counter.inc(delta)
                    setattr(self._reported, name, now)
