"""What the app holds for its handlers: the config, the build being served (with its hot swap), the
metrics and the static files; and the base URL clients reach this server at. The one place that
knows where a Flask app keeps them: `create_app` stores them with `attach`, and routes, pages, the
serve command and the tests read them through the accessors below (in a request, or given the app)."""

from __future__ import annotations

from flask import Flask, current_app, request

from crimetiles.server.config import ServerConfig
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.static_files import StaticFiles
from crimetiles.server.tiles import TileService

CONFIG_KEY = "CRIMETILES"
LIVE_KEY = "crimetiles.live"
METRICS_KEY = "crimetiles.metrics"
STATIC_FILES_KEY = "crimetiles.static"


def attach(app: Flask, config: ServerConfig, live: LiveBuild, metrics: Metrics) -> None:
    """Keep what `app`'s handlers read (`create_app`)."""
    app.config[CONFIG_KEY] = config
    app.extensions[LIVE_KEY] = live
    app.extensions[METRICS_KEY] = metrics


def attach_static_files(app: Flask, files: StaticFiles) -> None:
    app.extensions[STATIC_FILES_KEY] = files


def server_config(app: Flask | None = None) -> ServerConfig:
    """The config of `app`, else of the app handling the request."""
    return _app(app).config[CONFIG_KEY]


def live_build(app: Flask | None = None) -> LiveBuild:
    """The build `app` serves and swaps, else the one of the app handling the request."""
    return _app(app).extensions[LIVE_KEY]


def current_service() -> TileService:
    """The build being served, taken once per request (a hot swap replaces it between requests)."""
    return live_build().service


def app_metrics(app: Flask | None = None) -> Metrics:
    return _app(app).extensions[METRICS_KEY]


def static_files(app: Flask | None = None) -> StaticFiles:
    return _app(app).extensions[STATIC_FILES_KEY]


def _app(app: Flask | None) -> Flask:
    return current_app if app is None else app


def public_base_url() -> str:
    """Absolute URL prefix clients use, without a trailing slash: the configured public URL, else
    the request's own (scheme, host, port and prefix as forwarded by a proxy).

    A body holding it depends on the request's `FORWARDED_HEADERS` unless a public URL is set:
    `server/app.py` makes such responses vary on them (`ABSOLUTE_URL_ENDPOINTS`).
    """
    return (server_config().public_url or request.url_root).rstrip("/")


FORWARDED_HEADERS = ("Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix")
"""The request headers `public_base_url()` is built from (ProxyFix trusts one proxy for each)."""
