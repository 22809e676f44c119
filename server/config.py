"""Server configuration: one typed object, from environment variables and CLI flags."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crimetiles.artifact.layout import DEFAULT_BUILD_DIR

ENV_PREFIX = "CRIMETILES_"
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""`prometheus_client` writes each process's metrics under this directory if it is set when it is
imported (its multiprocess mode; `crimetiles.server.wsgi` sets it for the workers of a server)."""
MIB = 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Every server setting, declared once: its default, and in its field's metadata its `help`
    (what `crimetiles serve --help` and the README say of it) and, for a setting that may be unset,
    `unset` (what it then means). Env var: `env_name(field name)`; see `setting_help`."""

    build_dir: Path = field(default=DEFAULT_BUILD_DIR, metadata={"help": "Build directory written by `crimetiles build`."})
    host: str = field(default="127.0.0.1", metadata={"help": "Interface to listen on."})
    port: int = field(default=8000, metadata={"help": "Port to listen on (0: any free port)."})
    cache_bytes: int = field(
        default=64 * MIB,
        metadata={
            "help": "Bound of the on-demand tile cache, bytes of memory (or with a unit: 64MiB, 64MB a million "
            "bytes): each entry counts its compressed tile plus 512 bytes of bookkeeping, so that a cache full of "
            "empty tiles is bounded too."
        },
    )
    ready_tile_bytes: int = field(
        default=16 * MIB,
        metadata={
            "help": "Memory for archive tiles' answers kept ready to send (the first asked, per worker process), bytes "
            "of tile plus 512 an entry (or with a unit: 16MiB); past it, archive tiles are read from the archive file "
            "each time; 0: none."
        },
    )
    max_age: int = field(default=3600, metadata={"help": "`Cache-Control: max-age` of tiles, TileJSON and styles, seconds."})
    cors_origins: str = field(
        default="*",
        metadata={
            "help": "'*' or origins allowed to fetch tiles, TileJSON and styles, separated by commas or spaces ('' for none)."
        },
    )
    public_url: str | None = field(
        default=None,
        metadata={
            "help": "Base URL clients see when behind a proxy, e.g. https://maps.example.org/crimetiles.",
            "unset": "the request's own",
        },
    )
    frame_ancestors: str = field(
        default="*", metadata={"help": "Origins allowed to embed /embed in an iframe (CSP frame-ancestors)."}
    )
    basemap_url: str | None = field(
        default=None,
        metadata={
            "help": "Optional basemap for the map page: a MapLibre style URL or an XYZ raster URL template.",
            "unset": "none",
        },
    )
    reload_interval: float = field(
        default=2.0,
        metadata={"help": "Seconds between checks of the build's manifest for a new build; 0 disables the watch."},
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> ServerConfig:
        """Defaults, then `CRIMETILES_*` environment variables, then `overrides` (CLI flags)."""
        values: dict[str, Any] = {}
        for setting in fields(cls):
            name = env_name(setting.name)
            if name in environ:
                parse = SETTING_PARSERS.get(setting.name) or _converter(setting.default)
                values[setting.name] = _parsed(name, parse, environ[name])
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def allowed_origins(self) -> tuple[str, ...]:
        """The origins as browsers send them in `Origin`: scheme and host in lower case, no
        trailing slash (`https://Maps.example.org/` is `https://maps.example.org`)."""
        return tuple(origin.lower().rstrip("/") for origin in re.split(r"[,\s]+", self.cors_origins) if origin)


def env_name(setting: str) -> str:
    """The environment variable of the `ServerConfig` field `setting`: `CRIMETILES_MAX_AGE`."""
    return ENV_PREFIX + setting.upper()


def default_text(setting: str) -> str:
    """The default of the `ServerConfig` field `setting` as people read it: `64 MiB` for bytes,
    `2` for 2.0 seconds, what an unset setting means."""
    default = _setting_field(setting).default
    if default is None:
        return _setting_field(setting).metadata["unset"]
    if setting.endswith("_bytes") and default % MIB == 0:
        return f"{default // MIB} MiB"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def setting_help(setting: str) -> str:
    """The whole help of the `ServerConfig` field `setting`: what it is, its default, its env var."""
    return f"{_setting_field(setting).metadata['help']} Default: {default_text(setting)} (env {env_name(setting)})."


def _setting_field(setting: str) -> Field[Any]:
    (found,) = [candidate for candidate in fields(ServerConfig) if candidate.name == setting]
    return found


METRICS_DIR_PREFIX = "crimetiles-metrics-"


def shared_metrics_dir(parent_pid: int) -> Path:
    """Where the workers of the server whose main process is `parent_pid` write their metrics
    (`crimetiles.server.wsgi`): one directory per server start, shared by its workers only. Named
    after the process and its start time, since a server started again may have the same PID (1,
    in a container restarted with its /tmp) and would otherwise add the old start's counts to its own."""
    return Path(tempfile.gettempdir()) / f"{METRICS_DIR_PREFIX}{parent_pid}-{_start_time(parent_pid)}"


def stale_metrics_dirs() -> list[Path]:
    """The metrics directories (`shared_metrics_dir`) of servers that no longer run: no process
    has that id, or the one that has it started at another time. Nothing is stale where there is
    no /proc (every name then holds start time 0)."""
    stale = []
    for path in Path(tempfile.gettempdir()).glob(METRICS_DIR_PREFIX + "*-*"):
        pid, _, started = path.name.removeprefix(METRICS_DIR_PREFIX).partition("-")
        if pid.isdigit() and _start_time(int(pid)) != started:
            stale.append(path)
    return stale


def _start_time(pid: int) -> str:
    """When process `pid` started, in clock ticks since boot (field 22 of Linux's /proc/PID/stat,
    counted after the command name, which may hold spaces); "gone" when no process has that id,
    "0" where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone" if Path("/proc/self/stat").exists() else "0"
    except OSError:
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]


def stop_marker(parent_pid: int) -> Path:
    """The file the first worker of the server `parent_pid` that cannot start creates, so that
    only it reports why (`crimetiles.server.wsgi`)."""
    return Path(tempfile.gettempdir()) / f"crimetiles-stopping-{parent_pid}"


def build_dir_problem(build_dir: Path, error: Exception) -> str:
    """Why the server cannot serve `build_dir`, in one line naming its variable: the directory is
    missing, or is not a (complete, readable) build, as `error` says."""
    setting = f"{env_name('build_dir')}={build_dir}"
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
