"""Prometheus metrics with `prometheus_client`'s public API: requests by status, tile latency, tile
counters, the build served.

Under a server with several worker processes (granian, gunicorn) each process writes its values to
files in one shared directory (`prometheus_client`'s multiprocess mode, set up by
`crimetiles.server.wsgi`: `PROMETHEUS_MULTIPROC_DIR`, one new directory per server start) and a
scrape, whichever worker answers it, adds up every worker's files with a `MultiProcessCollector`,
those of workers since replaced included: counters never go backwards. Every value is written as
it is counted, so a worker that stops (or is killed) has left all its counts. No gauge here sums
live processes only, so a worker's exit leaves nothing to remove (`mark_process_dead` would find
none of its files). In one process (`crimetiles serve`, tests) the values are the process's own.
The tile service's counters (`TileStats`) are carried from build to build by `LiveBuild`, so a
hot swap resets nothing.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from crimetiles.server.config import MULTIPROCESS_DIR_ENV
from crimetiles.server.tiles import TileStats

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Seconds."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAT_HELP = {
    "cache_hits": "On-demand tiles served from the cache.",
    "cache_misses": "On-demand tiles encoded because they were not cached.",
    "outside_bounds": "On-demand tiles answered empty without an encode: wholly outside their layer's bounds.",
    "encodes": "Tiles encoded on demand.",
    "encode_seconds": "Time spent encoding tiles on demand.",
    "renders": "PNG tiles drawn (each kept in the tile cache while it has room).",
    "render_seconds": "Time spent drawing PNG tiles.",
}
"""One counter per `TileStats` field: `crimetiles_tile_<field>_total`."""

disable_created_metrics()  # no `_created` series: they would differ between workers and say nothing here


class _ProcessId:
    """This process's id, read again after a fork rather than at every count. In multiprocess mode
    `prometheus_client` asks for it at each count, to notice a fork and write to the new process's
    own files; `os.getpid()` is a system call, a fifth of a microsecond, four times per tile."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        if hasattr(os, "register_at_fork"):  # no fork on Windows
            os.register_at_fork(after_in_child=self._forked)

    def __call__(self) -> int:
        return self.pid

    def _forked(self) -> None:
        self.pid = os.getpid()


if os.environ.get(MULTIPROCESS_DIR_ENV):
    # Before any metric of this process is made: values made with the library's own class would
    # write the same files through another map of them.
    values.ValueClass = values.MultiProcessValue(process_identifier=_ProcessId())


class Metrics:
    """The metrics of one app: `count_response` for every response, `count_tile` for every tile
    answer, `serving` when the build changes."""

    def __init__(self, stats: TileStats) -> None:
        self.stats = stats
        """The tile service's counters, the same object across hot swaps (`LiveBuild`)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("crimetiles_http_requests", "HTTP requests by status code.", ["status"], registry=self.registry)
        self.latency = Histogram(
            "crimetiles_tile_request_seconds",
            "Tile request latency in this server.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.archive_hits = Counter(
            "crimetiles_tile_archive_hits", "Tiles served from the pre-generated archive.", registry=self.registry
        )
        self.png_requests = Counter(
            "crimetiles_png_tile_requests", "PNG tile requests answered (refusals included).", registry=self.registry
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
        self._lock = threading.Lock()
        self._build_id: str | None = None

    def count_response(self, status: int) -> None:
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status[status] = self.requests.labels(str(status))
        child.inc()

    def count_tile(self, seconds: float, from_archive: bool, png: bool = False) -> None:
        """A tile request answered in `seconds`, with a tile of the archive or not (refusals
        included: they are not), for a PNG or not. Only the other tiles change the tile service's
        counters."""
        self.latency.observe(seconds)
        if png:
            self.png_requests.inc()
        if from_archive:
            self.archive_hits.inc()
        else:
            self._report_stats()

    def serving(self, build_id: str) -> None:
        """Say which build this process serves: the old build's series drops to 0."""
        with self._lock:
            if build_id == self._build_id:
                return
            if self._build_id is not None:
                self.build_info.labels(self._build_id).set(0)
            self.build_info.labels(build_id).set(1)
            self._build_id = build_id

    def render(self) -> bytes:
        """The Prometheus text exposition: every worker's values added up in multiprocess mode."""
        if os.environ.get(MULTIPROCESS_DIR_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def _report_stats(self) -> None:
        """Add what the tile service counted since the last report to the Prometheus counters."""
        with self._lock:
            for name, counter in self.stat_counters.items():
                now = getattr(self.stats, name)
                delta = now - getattr(self._reported, name)
                if delta > 0:
                    counter.inc(delta)
                    setattr(self._reported, name, now)
