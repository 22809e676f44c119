"""`create_app(config)`: the Flask application factory. Nothing is created at import time.

The WSGI stack, outermost first: `TileFastPath` (every tile path, answered by
`server/tile_answer.py`), `EveryResponse` (the headers every response shares, the count by status;
the fast path's answers get them from it too), werkzeug's `ProxyFix` (the forwarded scheme, host
and prefix), and Flask's routes (`server/routes.py`, `server/pages.py`).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crimetiles.server.config import ServerConfig
from crimetiles.server.context import FORWARDED_HEADERS, attach
from crimetiles.server.errors import JSON_TYPE, error_body, refusal
from crimetiles.server.every_response import EveryResponse
from crimetiles.server.fastpath import TileFastPath
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.pages import bp as pages_bp
from crimetiles.server.routes import bp as api_bp

ABSOLUTE_URL_ENDPOINTS = frozenset(
    {
        "api.tileset_tilejson",
        "api.tileset_raster_tilejson",
        "api.tileset_catalog",
        "api.map_style",
        "api.openapi",
        "api.wmts_capabilities",
        "pages.qgis_layer_definition",
        "pages.index",
        "pages.embed",
    }
)
"""Endpoints whose bodies hold absolute URLs built from the request (`public_base_url()`)."""


def create_app(config: ServerConfig) -> Flask:
    """The app serving `config.build_dir`; raises `BuildError` if the build cannot be loaded."""
    app = Flask(__name__, static_folder=None)
    live = LiveBuild.load(config.build_dir, config.cache_bytes)
    metrics = Metrics(live.service.stats)
    attach(app, config, live, metrics)
    metrics.serving(live.service.build_id)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    app.register_error_handler(Exception, _error_response)
    _register_headers(app, config)
    proxied = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
    app.wsgi_app = TileFastPath(EveryResponse(proxied, config.allowed_origins(), metrics), live, config, metrics)  # type: ignore[method-assign]
    if config.reload_interval > 0:
        live.watch(config.reload_interval)
    return app


def _error_response(exc: Exception) -> Response:
    """Every error as short JSON, never a stack trace: werkzeug's routing errors keep their headers
    (`Allow` on a 405); the others take their status from the one error table."""
    if isinstance(exc, HTTPException):
        response = _error(exc.code or 500, exc.description or exc.name)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    return _error(*refusal(exc, request.path))


def _error(status: int, message: str) -> Response:
    return Response(error_body(status, message), status=status, content_type=JSON_TYPE)


def _register_headers(app: Flask, config: ServerConfig) -> None:
    """`Vary` names every request header a response depends on. Without a configured public URL,
    absolute URLs come from the request's headers: shared caches must key such bodies on them, or
    one client's forged X-Forwarded-Host would be served to everyone. No `Date`: werkzeug's
    `make_conditional` sets one, and the HTTP server adds its own."""
    forwarded = () if config.public_url else FORWARDED_HEADERS

    @app.after_request
    def headers(response: Response) -> Response:
        del response.headers["Date"]
        if request.endpoint in ABSOLUTE_URL_ENDPOINTS:
            response.vary.update(forwarded)
        return response
