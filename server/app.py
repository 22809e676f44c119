"""`create_app(config)`: the Flask application factory. Nothing is created at import time."""

from __future__ import annotations

import logging
import time
from functools import partial

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crimetiles.artifact.errors import CrimetilesError, InvalidYear
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import FORWARDED_HEADERS, current_service
from crimetiles.server.errors import (
    BadTileRequest,
    NoAcceptableEncoding,
    TileOutOfRange,
    UnknownResource,
    UnknownTileset,
)
from crimetiles.server.fastpath import CORS_PREFLIGHT, TileFastPath, cors_headers
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.pages import bp as pages_bp
from crimetiles.server.routes import bp as api_bp

log = logging.getLogger("crimetiles.server")
CORS_PREFIXES = ("/tiles", "/styles", "/downloads", "/summaries", "/openapi.json", "/healthz")
ERROR_STATUS: dict[type[CrimetilesError], int] = {
    BadTileRequest: 400,
    InvalidYear: 400,
    TileOutOfRange: 404,
    UnknownTileset: 404,
    UnknownResource: 404,
    NoAcceptableEncoding: 406,
}
"""The one map from domain errors to HTTP status codes. Any other error (a `BuildError` while
serving, a bug) is a 500 with a short JSON body and a log line."""
ABSOLUTE_URL_ENDPOINTS = frozenset(
    {"api.tileset_tilejson", "api.tileset_catalog", "api.map_style", "api.openapi", "pages.qgis_layer_definition"}
)
"""Endpoints whose bodies hold absolute URLs built from the request (`public_base_url()`)."""


def create_app(config: ServerConfig) -> Flask:
    """The app serving `config.build_dir`; raises `BuildError` if the build cannot be loaded."""
    app = Flask(__name__, static_folder=None)
    app.config["CRIMETILES"] = config
    live = app.extensions["crimetiles.live"] = LiveBuild.load(config.build_dir, config.cache_bytes)
    metrics = app.extensions["crimetiles.metrics"] = Metrics(live.service.stats)
    metrics.serving(live.service.build_id)
    proxied = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
    app.wsgi_app = TileFastPath(proxied, live, config, metrics)  # type: ignore[method-assign]
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    _register_error_handlers(app)
    _register_common_headers(app, config)
    _register_vary(app, config)
    if config.reload_interval > 0:
        app.extensions["crimetiles.live"].watch(config.reload_interval)
    return app


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


def _domain_error(status: int, exc: CrimetilesError) -> Response:
    return _error(status, str(exc))


def _register_error_handlers(app: Flask) -> None:
    """One place maps exceptions to status codes; never a stack trace to the client."""
    for error_class, status in ERROR_STATUS.items():
        app.register_error_handler(error_class, partial(_domain_error, status))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """Werkzeug's routing errors as JSON, keeping their headers (`Allow` on a 405)."""
        response = _error(exc.code or 500, exc.description or exc.name)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.path)
        return _error(500, "internal error")


def _register_common_headers(app: Flask, config: ServerConfig) -> None:
    origins = config.allowed_origins()

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def common_headers(response: Response) -> Response:
        del response.headers["Date"]  # werkzeug's make_conditional sets one; the HTTP server adds its own
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.path.startswith(CORS_PREFIXES):
            _cors(response, origins)
        started = g.get("started")
        is_tile = request.endpoint == "api.tile"
        app.extensions["crimetiles.metrics"].record(
            response.status_code, time.perf_counter() - started if is_tile and started else None, current_service().build_id
        )
        return response


def _register_vary(app: Flask, config: ServerConfig) -> None:
    """`Vary` names every request header a response depends on, errors included (a 406 depends
    on Accept-Encoding). Without a configured public URL, absolute URLs come from the request's
    headers: shared caches must key such bodies on them, or one client's forged X-Forwarded-Host
    would be served to everyone."""
    forwarded = () if config.public_url else FORWARDED_HEADERS

    @app.after_request
    def vary(response: Response) -> Response:
        if request.endpoint == "api.tile":
            response.vary.add("Accept-Encoding")
        if request.endpoint in ABSOLUTE_URL_ENDPOINTS:
            response.vary.update(forwarded)
        return response


def _cors(response: Response, origins: tuple[str, ...]) -> None:
    response.headers.extend(cors_headers(origins, request.headers.get("Origin")))
    if request.method == "OPTIONS":
        response.headers.extend(CORS_PREFLIGHT)
    if "*" not in origins:
        response.vary.add("Origin")
