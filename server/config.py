"""Server configuration: one typed object, from environment variables and CLI flags."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "CRIMETILES_"
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""`prometheus_client` writes each process's metrics under this directory if it is set when it is
imported (its multiprocess mode; `crimetiles.server.wsgi` sets it for the workers of a server)."""


@dataclass(frozen=True)
class ServerConfig:
    """Every setting, with its default. Env var: `CRIMETILES_` + the field name in capitals."""

    build_dir: Path = Path("build")
    """Build directory written by `crimetiles build`."""
    host: str = "127.0.0.1"
    port: int = 8000
    cache_bytes: int = 64 * 1024 * 1024
    """Bound of the on-demand tile cache, bytes of memory (as `parse_size` reads it): each entry counts its compressed tile
    plus 512 bytes of bookkeeping, so that a cache full of empty tiles is bounded too."""
    ready_tile_bytes: int = 16 * 1024 * 1024
    """Memory for archive tiles' answers kept ready to send (the first asked, per worker process),
    bytes of tile plus 512 an entry; past it, archive tiles are read from the archive file each time."""
    max_age: int = 3600
    """`Cache-Control: max-age` of tiles, TileJSON and styles, seconds."""
    cors_origins: str = "*"
    """`*` or a list of origins allowed to fetch tiles, TileJSON and styles, separated by commas or
    spaces; empty: none."""
    public_url: str | None = None
    """Base URL clients see (e.g. https://maps.example.org/crimetiles) when behind a proxy: an
    absolute http(s) URL (`parse_public_url`)."""
    frame_ancestors: str = "*"
    """Origins allowed to embed `/embed` in an iframe (CSP frame-ancestors)."""
    basemap_url: str | None = None
    """Optional basemap for the map page: a MapLibre style URL or an XYZ raster URL template,
    absolute (`parse_basemap_url`)."""
    reload_interval: float = 2.0
    """Seconds between checks of the build's manifest for a new build; 0 disables the watch."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> ServerConfig:
        """Defaults, then `CRIMETILES_*` environment variables, then `overrides` (CLI flags)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = ENV_PREFIX + field.name.upper()
            if name in environ:
                parse = SETTING_PARSERS.get(field.name) or _converter(field.default)
                values[field.name] = _parsed(name, parse, environ[name])
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def allowed_origins(self) -> tuple[str, ...]:
        """The origins as browsers send them in `Origin`: scheme and host in lower case, no
        trailing slash (`https://Maps.example.org/` is `https://maps.example.org`)."""
        return tuple(origin.lower().rstrip("/") for origin in re.split(r"[,\s]+", self.cors_origins) if origin)


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


SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
"""Units of a size, in any case: decimal (`MB`, a million bytes) and binary (`MiB`, 2**20 bytes)."""
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes of a size as people write it: `67108864`, `64MiB`, `64 MiB`, `64mb` (64,000,000),
    `1.5 GiB`. Raises `ValueError` for anything else, single-letter units (`64M`: MB or MiB?) included."""
    match = _SIZE.fullmatch(text)
    if not match or match[2].lower() not in SIZE_UNITS:
        raise ValueError("expected a size in bytes, e.g. 67108864, 64MiB or 64MB")
    return int(float(match[1]) * SIZE_UNITS[match[2].lower()])


def is_absolute_http_url(text: str) -> bool:
    """Whether `text` is an http(s) URL with a host: one a link or a client can follow from any
    page (`maps.example.org/crime`, without scheme, would be read relative to the page)."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_public_url(text: str) -> str | None:
    """An absolute http(s) URL without its trailing slash (URLs are built on it), or None for an
    empty value. Raises `ValueError` for a URL without scheme or host: every URL the server gives
    would be relative to the page reading it."""
    url = text.strip().rstrip("/")
    if not url:
        return None
    if not is_absolute_http_url(url):
        raise ValueError("expected an absolute http(s) URL, e.g. https://maps.example.org/crime")
    return url


def parse_basemap_url(text: str) -> str | None:
    """A style's or an XYZ template's absolute http(s) URL, or None for an empty value. Raises
    `ValueError` for one without scheme or host (`tile.openstreetmap.org/{z}/{x}/{y}.png`), which
    the page cannot load: it would stop drawing the map at all."""
    url = text.strip()
    if not url:
        return None
    if not is_absolute_http_url(url):
        raise ValueError("expected an absolute http(s) URL, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    return url


SETTING_PARSERS: dict[str, Callable[[str], Any]] = {
    "cache_bytes": parse_size,
    "ready_tile_bytes": parse_size,
    "public_url": parse_public_url,
    "basemap_url": parse_basemap_url,
}
"""The settings read by more than their default's type, from their variable or their flag; each
raises `ValueError` saying what it expects."""


def _converter(default: Any) -> Callable[[str], Any]:
    """The type of the setting's default (empty means None for optional ones)."""
    if default is None:
        return lambda raw: raw or None
    kind = type(default)

    def convert(raw: str) -> Any:
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"expected {kind.__name__}") from None

    return convert


def _parsed(name: str, parse: Callable[[str], Any], raw: str) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None
