"""Prometheus text metrics: requests by status, tile latency histogram, cache counters."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from crimetiles.server.tiles import TileStats

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Metrics:
    requests: Counter[str] = field(default_factory=Counter)
    tile_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    tile_seconds: float = 0.0
    tile_count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, tile_seconds: float | None) -> None:
        with self._lock:
            self.requests[str(status)] += 1
            if tile_seconds is not None:
                self.tile_count += 1
                self.tile_seconds += tile_seconds
                index = next((i for i, bound in enumerate(LATENCY_BUCKETS) if tile_seconds <= bound), len(LATENCY_BUCKETS))
                self.tile_buckets[index] += 1

    def render(self, stats: TileStats, build_id: str) -> str:
        with self._lock:
            lines = [
                "# HELP crimetiles_build_info The build being served.",
                "# TYPE crimetiles_build_info gauge",
                f'crimetiles_build_info{{build_id="{build_id}"}} 1',
                "# HELP crimetiles_http_requests_total HTTP requests by status code.",
                "# TYPE crimetiles_http_requests_total counter",
                *(
                    f'crimetiles_http_requests_total{{status="{status}"}} {count}'
                    for status, count in sorted(self.requests.items())
                ),
                "# HELP crimetiles_tile_cache_hits_total On-demand tiles served from the cache.",
                "# TYPE crimetiles_tile_cache_hits_total counter",
                f"crimetiles_tile_cache_hits_total {stats.cache_hits}",
                "# HELP crimetiles_tile_cache_misses_total On-demand tiles encoded because they were not cached.",
                "# TYPE crimetiles_tile_cache_misses_total counter",
                f"crimetiles_tile_cache_misses_total {stats.cache_misses}",
                "# HELP crimetiles_tile_archive_hits_total Tiles served from the pre-generated archive.",
                "# TYPE crimetiles_tile_archive_hits_total counter",
                f"crimetiles_tile_archive_hits_total {stats.archive_hits}",
                "# HELP crimetiles_tile_outside_bounds_total On-demand tiles answered empty without an encode: wholly outside "
                "their layer's bounds.",
                "# TYPE crimetiles_tile_outside_bounds_total counter",
                f"crimetiles_tile_outside_bounds_total {stats.outside_bounds}",
                "# HELP crimetiles_tile_encode_seconds_total Time spent encoding tiles on demand.",
                "# TYPE crimetiles_tile_encode_seconds_total counter",
                f"crimetiles_tile_encode_seconds_total {stats.encode_seconds:.6f}",
                "# HELP crimetiles_tile_request_seconds Tile request latency in this process.",
                "# TYPE crimetiles_tile_request_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS, self.tile_buckets[:-1], strict=True):
                cumulative += count
                lines.append(f'crimetiles_tile_request_seconds_bucket{{le="{bound}"}} {cumulative}')
            lines += [
                f'crimetiles_tile_request_seconds_bucket{{le="+Inf"}} {self.tile_count}',
                f"crimetiles_tile_request_seconds_sum {self.tile_seconds:.6f}",
                f"crimetiles_tile_request_seconds_count {self.tile_count}",
            ]
        return "\n".join(lines) + "\n"
