"""Server configuration: one typed object, from environment variables and CLI flags."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "CRIMETILES_"
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""`prometheus_client` writes each process's metrics under this directory if it is set when it is
imported (its multiprocess mode; `crimetiles.server.wsgi` sets it for the workers of a server)."""


@dataclass(frozen=True)
class ServerConfig:
    """Every setting, with its default. Env var: `CRIMETILES_` + the field name in capitals."""

    build_dir: Path = Path("crimetiles-build")
    """Build directory written by `crimetiles build`."""
    host: str = "127.0.0.1"
    port: int = 8000
    cache_bytes: int = 64 * 1024 * 1024
    """Bound of the on-demand tile cache, bytes of memory: each entry counts its compressed tile
    plus 512 bytes of bookkeeping, so that a cache full of empty tiles is bounded too."""
    ready_tile_bytes: int = 16 * 1024 * 1024
    """Memory for archive tiles' answers kept ready to send (the first asked, per worker process),
    bytes of tile plus 512 an entry; past it, archive tiles are read from the archive file each time."""
    max_age: int = 3600
    """`Cache-Control: max-age` of tiles, TileJSON and styles, seconds."""
    cors_origins: str = "*"
    """`*` or a comma-separated list of origins allowed to fetch tiles, TileJSON and styles."""
    public_url: str | None = None
    """Base URL clients see (e.g. https://maps.example.org/crimetiles) when behind a proxy."""
    frame_ancestors: str = "*"
    """Origins allowed to embed `/embed` in an iframe (CSP frame-ancestors)."""
    basemap_url: str | None = None
    """Optional basemap for the map page: a MapLibre style URL or an XYZ raster URL template."""
    reload_interval: float = 2.0
    """Seconds between checks of the build's manifest for a new build; 0 disables the watch."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> ServerConfig:
        """Defaults, then `CRIMETILES_*` environment variables, then `overrides` (CLI flags)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = ENV_PREFIX + field.name.upper()
            if name in environ:
                values[field.name] = _parse(name, field.default, environ[name])
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())


def shared_metrics_dir(parent_pid: int) -> Path:
    """Where the workers of the server whose main process is `parent_pid` write their metrics
    (`crimetiles.server.wsgi`): one directory per server start, shared by its workers only."""
    return Path(tempfile.gettempdir()) / f"crimetiles-metrics-{parent_pid}"


def stop_marker(parent_pid: int) -> Path:
    """The file the first worker of the server `parent_pid` that cannot start creates, so that
    only it reports why (`crimetiles.server.wsgi`)."""
    return Path(tempfile.gettempdir()) / f"crimetiles-stopping-{parent_pid}"


def build_dir_problem(build_dir: Path, error: Exception) -> str:
    """Why the server cannot serve `build_dir`, in one line naming its variable: the directory is
    missing, or is not a (complete, readable) build, as `error` says."""
    setting = f"{ENV_PREFIX}BUILD_DIR={build_dir}"
    if not build_dir.exists():
        return f"{setting}: no such directory (write a build there with crimetiles build --out {build_dir})"
    return f"{setting} is not a build crimetiles can serve: {error}"


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _parse(name: str, default: Any, raw: str) -> Any:
    """`raw` converted to the type of the setting's default (empty means None for optional ones)."""
    if default is None:
        return raw or None
    try:
        return type(default)(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected {type(default).__name__}") from None
