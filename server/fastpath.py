"""Archive tiles answered before Flask: a plain WSGI app in front of the Flask app.

A cached tile costs almost nothing to find; what costs is the request and response machinery
around it (routing, contexts, hooks, header objects). This app answers `GET`/`HEAD
/tiles/{tileset}/{z}/{x}/{y}.mvt` (or `.pbf`) for zooms a build's archive covers with one
archive lookup and header lists prepared once, and hands every other request (tiles above the
archive, anything it would refuse, every other route) to the Flask app unchanged. Its answers are
the Flask route's, header for header (tests/server/test_fastpath.py compares them).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from werkzeug.http import http_date, is_resource_modified

from crimetiles.artifact.errors import CrimetilesError
from crimetiles.artifact.reader import TileKey, TileLookup
from crimetiles.server.config import ServerConfig
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.params import Coding, tile_coding, tile_path_key
from crimetiles.server.tiles import TileService

MVT_TYPE = "application/vnd.mapbox-vector-tile"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Headers = list[tuple[str, str]]
CORS_FIXED: Headers = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept-Encoding"),
    ("Access-Control-Expose-Headers", "ETag, Content-Encoding"),
]
"""CORS headers every tile, TileJSON, style, download and summary response carries."""


def cors_headers(origins: tuple[str, ...], origin: str | None) -> Headers:
    """CORS headers for a request from `origin`: `*` if every origin is allowed, the origin itself
    if it is listed, no `Access-Control-Allow-Origin` otherwise (the browser then refuses)."""
    if "*" in origins:
        return [("Access-Control-Allow-Origin", "*"), *CORS_FIXED]
    if origin in origins:
        return [("Access-Control-Allow-Origin", origin), *CORS_FIXED]
    return list(CORS_FIXED)


@dataclass(frozen=True)
class ArchiveRange:
    """One tileset's archive in a loaded build: the zooms it covers, its tiles, its ETag prefix."""

    minzoom: int
    maxzoom: int
    tiles: TileLookup
    etag_prefix: str
    """`"{build_id}-{tileset}-`: the route's ETag is this plus `z-x-y`, and `-gz` when gzipped."""


def archive_ranges(service: TileService) -> dict[str, ArchiveRange]:
    """The archives of a build by tileset name, prepared once when the fast path first sees it."""
    archives = {name: tileset.archive for name, tileset in service.manifest.tilesets.items() if tileset.archive is not None}
    return {
        name: ArchiveRange(archive.minzoom, archive.maxzoom, service.archives[name], f'"{service.build_id}-{name}-')
        for name, archive in archives.items()
    }


@lru_cache(maxsize=256)
def _coding(accept_encoding: str | None) -> Coding:
    """`tile_coding`, remembered per header value: clients send a handful of distinct values."""
    return tile_coding(accept_encoding)


class _HttpDate:
    """The `Date` header's value, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text, self._second = http_date(second), second
        return self._text


class TileFastPath:
    """WSGI app: archive tiles answered here, everything else passed to `app`.

    Per request: the path split once, one archive lookup, a header list built from pieces made
    when the app starts. Headers, statuses and metrics are those of the Flask route and hooks
    (`server/routes.py` `tile`, `server/app.py`), which still answer everything else.
    """

    def __init__(self, app: WSGIApp, live: LiveBuild, config: ServerConfig, metrics: Metrics) -> None:
        self.app = app
        self.live = live
        self.metrics = metrics
        self._origins = config.allowed_origins()
        self._any_origin = "*" in self._origins
        self._cache_control = ("Cache-Control", f"public, max-age={config.max_age}")
        self._vary = ("Vary", "Accept-Encoding" if self._any_origin else "Accept-Encoding, Origin")
        self._common_tail = [("X-Content-Type-Options", "nosniff"), *cors_headers(self._origins, None)]
        self._date = _HttpDate()
        self._prepared: tuple[TileService, dict[str, ArchiveRange]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        parts = environ.get("PATH_INFO", "").split("/")
        if (method != "GET" and method != "HEAD") or len(parts) != 6 or parts[1] != "tiles" or "HTTP_IF_MATCH" in environ:
            return self.app(environ, start_response)
        started = time.perf_counter()
        service = self.live.service
        archive = self._ranges(service).get(parts[2])
        key = tile_path_key(parts[3], parts[4], parts[5]) if archive is not None else None
        if archive is None or key is None or not _in_archive(archive, key):
            return self.app(environ, start_response)
        data = archive.tiles.get(key)
        tag = f"{archive.etag_prefix}{key[0]}-{key[1]}-{key[2]}"
        if data is None:
            status, entity, body, etag = "204 NO CONTENT", [], b"", tag + '"'
        else:
            try:
                coding = _coding(environ.get("HTTP_ACCEPT_ENCODING"))
            except CrimetilesError:
                return self.app(environ, start_response)  # the app answers 406
            status = "200 OK"
            if coding == "gzip":
                body, etag = data, tag + '-gz"'
                entity = [("Content-Type", MVT_TYPE), ("Content-Length", str(len(body))), ("Content-Encoding", "gzip")]
            else:
                body, etag = gzip.decompress(data), tag + '"'
                entity = [("Content-Type", MVT_TYPE), ("Content-Length", str(len(body)))]
        if "HTTP_IF_NONE_MATCH" in environ and not is_resource_modified(environ, etag):
            status, entity, body = "304 NOT MODIFIED", [], b""
        start_response(status, [*entity, ("ETag", etag), *self._tail(environ)])
        self.metrics.record_archive_tile(int(status[:3]), time.perf_counter() - started, service.build_id)
        return [body] if method == "GET" and body else []

    def _ranges(self, service: TileService) -> dict[str, ArchiveRange]:
        """The archives of `service`, prepared again only when a hot swap brings a new build."""
        prepared = self._prepared
        if prepared is None or prepared[0] is not service:
            prepared = (service, archive_ranges(service))
            self._prepared = prepared
        return prepared[1]

    def _tail(self, environ: dict[str, Any]) -> Headers:
        head = [self._cache_control, ("Date", self._date.now()), self._vary]
        if self._any_origin:
            return head + self._common_tail
        return head + [("X-Content-Type-Options", "nosniff"), *cors_headers(self._origins, environ.get("HTTP_ORIGIN"))]


def _in_archive(archive: ArchiveRange, key: TileKey) -> bool:
    z, x, y = key
    return archive.minzoom <= z <= archive.maxzoom and x < (1 << z) and y < (1 << z)
