"""`crimetiles serve`: the development server (in production, granian or gunicorn: see README)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crimetiles.server.config import SETTING_PARSERS, ConfigError, ServerConfig


def _read_as_its_variable(setting: str) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    """A flag's callback: its value read as the setting's environment variable is (`SETTING_PARSERS`)."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return SETTING_PARSERS[setting](value)
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: {exc}") from None

    return callback


@click.command(context_settings={"show_default": True})
@click.argument(
    "build_dir", required=False, default=None, type=click.Path(file_okay=False, path_type=Path), envvar="CRIMETILES_BUILD_DIR"
)
@click.option("--host", default=None, help="Interface to listen on. Default: 127.0.0.1 (env CRIMETILES_HOST).")
@click.option("--port", default=None, type=int, help="Port. Default: 8000 (env CRIMETILES_PORT).")
@click.option(
    "--cache-bytes",
    default=None,
    callback=_read_as_its_variable("cache_bytes"),
    help="Bound of the on-demand tile cache in bytes, or with a unit: 64MiB, 64MB (a million bytes). "
    "Default: 64 MiB (env CRIMETILES_CACHE_BYTES).",
)
@click.option(
    "--ready-tile-bytes",
    default=None,
    callback=_read_as_its_variable("ready_tile_bytes"),
    help="Memory for archive tiles kept ready to send, per process, bytes or with a unit (16MiB). "
    "Default: 16 MiB (env CRIMETILES_READY_TILE_BYTES).",
)
@click.option(
    "--max-age",
    default=None,
    type=int,
    help="Cache-Control max-age of tiles, TileJSON and styles, seconds. Default: 3600 (env CRIMETILES_MAX_AGE).",
)
@click.option(
    "--cors-origins",
    default=None,
    help="'*' or origins allowed to fetch tiles, separated by commas or spaces ('' for none). "
    "Default: * (env CRIMETILES_CORS_ORIGINS).",
)
@click.option(
    "--public-url",
    default=None,
    callback=_read_as_its_variable("public_url"),
    help="Base URL clients see behind a proxy, e.g. https://maps.example.org. "
    "Default: the request's own (env CRIMETILES_PUBLIC_URL).",
)
@click.option(
    "--frame-ancestors",
    default=None,
    help="Origins allowed to embed /embed in an iframe. Default: * (env CRIMETILES_FRAME_ANCESTORS).",
)
@click.option(
    "--basemap-url",
    default=None,
    callback=_read_as_its_variable("basemap_url"),
    help="Optional basemap for the page: a MapLibre style URL or XYZ raster template. "
    "Default: none (env CRIMETILES_BASEMAP_URL).",
)
@click.option(
    "--reload-interval",
    default=None,
    type=float,
    help="Seconds between checks for a new build in BUILD_DIR; 0 disables. Default: 2 (env CRIMETILES_RELOAD_INTERVAL).",
)
def serve(build_dir: Path | None, **options: object) -> None:
    """Serve BUILD_DIR (default: `build`, or env CRIMETILES_BUILD_DIR): vector tiles, TileJSON, styles,
    downloads and the map page.

    The server switches to a new build when BUILD_DIR is rebuilt (checked every
    --reload-interval seconds) or on SIGHUP. If BUILD_DIR holds no build but an interrupted
    build left a complete one beside it, the newest such build is served, with a warning.
    """
    from crimetiles.artifact.errors import BuildError
    from crimetiles.server.app import create_app

    try:
        config = ServerConfig.from_env(build_dir=build_dir, **options)
        app = create_app(config)
    except (BuildError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    live = app.extensions["crimetiles.live"]
    signal.signal(signal.SIGHUP, lambda *_: live.reload_if_changed())
    click.echo(f"serving build {live.service.build_id} on http://{config.host}:{config.port}/", err=True)
    app.run(host=config.host, port=config.port, threaded=True, debug=False, use_reloader=False)
