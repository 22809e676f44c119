"""What a request handler needs from the app it runs in: the config, the tiles of the build
being served, and the base URL clients reach this server at. One place, for routes and pages."""

from __future__ import annotations

from flask import current_app, request

from crimetiles.server.config import ServerConfig
from crimetiles.server.tiles import TileService


def server_config() -> ServerConfig:
    return current_app.config["CRIMETILES"]


def current_service() -> TileService:
    """The build being served, taken once per request (a hot swap replaces it between requests)."""
    return current_app.extensions["crimetiles.live"].service


def public_base_url() -> str:
    """Absolute URL prefix clients use, without a trailing slash: the configured public URL, else
    the request's own (scheme, host, port and prefix as forwarded by a proxy).

    A body holding it depends on the request's `FORWARDED_HEADERS` unless a public URL is set:
    `server/app.py` makes such responses vary on them (`ABSOLUTE_URL_ENDPOINTS`).
    """
    return (server_config().public_url or request.url_root).rstrip("/")


FORWARDED_HEADERS = ("Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix")
"""The request headers `public_base_url()` is built from (ProxyFix trusts one proxy for each)."""
