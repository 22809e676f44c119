"""The build being served, swapped atomically when a new build appears (file watch or SIGHUP).

`build_dir` is usually a symbolic link to a versioned directory (see `crimetiles.artifact.layout`):
each load resolves it once and reads one immutable build. If `build_dir` holds no build but an
interrupted build or swap left a complete one beside it, that one is served, with a warning.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.layout import served_build
from crimetiles.artifact.manifest import read_manifest
from crimetiles.artifact.reader import open_build
from crimetiles.server.tiles import TileService, TileStats, load_tile_service

log = logging.getLogger("crimetiles.server")


@dataclass
class LiveBuild:
    """Holds the current `TileService`. Readers take `service` once per request: the swap is a
    single reference assignment, so a request sees one build from start to end."""

    build_dir: Path
    cache_bytes: int
    service: TileService

    @classmethod
    def load(cls, build_dir: Path, cache_bytes: int) -> LiveBuild:
        return cls(Path(build_dir), cache_bytes, _load_consistent(Path(build_dir), cache_bytes))

    def reload_if_changed(self) -> bool:
        """Load the build on disk if its `build_id` differs; keep serving the old one if it fails."""
        try:
            if served_build(self.build_dir).manifest.build_id == self.service.build_id:
                return False
            service = _load_consistent(self.build_dir, self.cache_bytes, self.service.stats)
        except (BuildError, OSError) as exc:
            log.warning("keeping build %s: cannot load %s (%s)", self.service.build_id, self.build_dir, exc)
            return False
        self.service = service
        log.info("now serving build %s", service.build_id)
        return True

    def watch(self, interval: float) -> threading.Thread:
        """Check for a new build every `interval` seconds in a daemon thread."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                self.reload_if_changed()

        thread = threading.Thread(target=run, name="crimetiles-build-watch", daemon=True)
        thread.start()
        return thread


def _load_consistent(build_dir: Path, cache_bytes: int, stats: TileStats | None = None, attempts: int = 3) -> TileService:
    """Load the served build, retrying if it was replaced on disk while loading (its build_id
    changed: a real directory rewritten in place by an older crimetiles)."""
    for _ in range(attempts):
        served = served_build(build_dir)
        service = load_tile_service(open_build(served.root), cache_bytes, stats)
        if read_manifest(served.root).build_id == service.build_id:
            if served.recovered:
                log.warning(
                    "%s holds no build (an interrupted build or swap?); serving build %s left behind in %s",
                    build_dir,
                    service.build_id,
                    served.root,
                )
            return service
    raise BuildError(f"{build_dir}: the build kept changing while it was loaded")
