"""Tiles answered before Flask: a plain WSGI app in front of the Flask app.

A tile costs little to find; what costs is the request and response machinery around it
(routing, contexts, hooks, header objects). This app answers `GET`/`HEAD
/tiles/{tileset}/{z}/{x}/{y}.mvt` (or `.pbf`) for every tile of a served zoom: from the build's
archive, or from the tile service (its cache, else an encode) above the archive. Header lists are
prepared once per build, and an archive tile's whole answer, once made, is kept ready to send
again (`ReadyAnswers`, bounded in bytes). Every other request, and every tile request the route
would refuse (a bad path, an unknown tileset, `If-Match`, no acceptable encoding) or fail on, goes
to the Flask app unchanged, which answers it with its error handling. The answers are the Flask
route's, header for header (tests/server/test_fastpath.py compares them). Neither sends `Date`:
the HTTP server adds it (granian, gunicorn and werkzeug's development server do, the last one
even when the app has sent one).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from werkzeug.http import is_resource_modified

from crimetiles.artifact.errors import CrimetilesError
from crimetiles.server.config import ServerConfig
from crimetiles.server.live import LiveBuild
from crimetiles.server.metrics import Metrics
from crimetiles.server.params import Coding, tile_coding, tile_path_key
from crimetiles.server.tiles import TileService, is_tile

MVT_TYPE = "application/vnd.mapbox-vector-tile"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Headers = list[tuple[str, str]]
CORS_EXPOSED: Headers = [("Access-Control-Expose-Headers", "ETag, Content-Encoding")]
"""What a browser lets another origin's script read beyond the basic headers: on every response
of the CORS routes (tiles, TileJSON, styles, downloads, summaries)."""
CORS_PREFLIGHT: Headers = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept-Encoding"),
]
"""Answers to a preflight (`OPTIONS`) only: a browser reads them nowhere else (Fetch standard,
CORS protocol), so a tile does not carry them."""
READY_ENTRY_BYTES = 512
"""What a ready answer costs beside its body (its key, header list and strings), counted against
`ServerConfig.ready_tile_bytes`."""


def cors_headers(origins: tuple[str, ...], origin: str | None) -> Headers:
    """CORS headers of a (non-preflight) response to a request from `origin`: `*` if every origin
    is allowed, the origin itself if it is listed, no `Access-Control-Allow-Origin` otherwise (the
    browser then refuses)."""
    if "*" in origins:
        return [("Access-Control-Allow-Origin", "*"), *CORS_EXPOSED]
    if origin in origins:
        return [("Access-Control-Allow-Origin", origin), *CORS_EXPOSED]
    return list(CORS_EXPOSED)


@dataclass(frozen=True)
class Answer:
    """A tile's answer: status, headers (all of them, but CORS headers that name the request's
    origin when an origin list is set), body, ETag (for `If-None-Match`), and whether the archive
    held it."""

    status: str
    head: Headers
    body: bytes
    etag: str
    from_archive: bool


class ReadyAnswers:
    """Archive tiles' answers by (path, `Accept-Encoding`), kept until their build is replaced: the
    first ones asked, up to `budget` bytes (bodies plus `READY_ENTRY_BYTES` each), then no more.
    A map's tiles are asked again and again, so most requests are one dictionary lookup; the
    archive stays on disk (`MBTilesLookup`) for the rest."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._answers: dict[tuple[str, str | None], Answer] = {}
        self._room = budget
        self._lock = threading.Lock()
        """For `keep` (threads of one worker may keep answers at once); a lookup needs none."""

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, path: str, accept_encoding: str | None) -> Answer | None:
        return self._answers.get((path, accept_encoding))

    def keep(self, path: str, accept_encoding: str | None, answer: Answer) -> None:
        cost = len(answer.body) + READY_ENTRY_BYTES
        with self._lock:
            if cost <= self._room and (path, accept_encoding) not in self._answers:
                self._answers[(path, accept_encoding)] = answer
                self._room -= cost


@dataclass(frozen=True)
class ServedBuild:
    """What the fast path prepares once per build: each tileset's ETag prefix
    (`"{build_id}-{tileset}-`, the route's ETag is this plus `z-x-y`, and `-gz` when gzipped) and
    the ready answers."""

    service: TileService
    etag_prefixes: dict[str, str]
    ready: ReadyAnswers

    @classmethod
    def of(cls, service: TileService, ready_bytes: int) -> ServedBuild:
        prefixes = {name: f'"{service.build_id}-{name}-' for name in service.manifest.tilesets}
        return cls(service, prefixes, ReadyAnswers(ready_bytes))


@lru_cache(maxsize=256)
def _coding(accept_encoding: str | None) -> Coding | None:
    """`tile_coding`, remembered per header value (clients send a handful of distinct values);
    None when the header refuses both codings (the route answers 406)."""
    try:
        return tile_coding(accept_encoding)
    except CrimetilesError:
        return None


class TileFastPath:
    """WSGI app: tiles answered here, everything else passed to `app`.

    Per request: one dictionary lookup for an archive tile asked before; else the path split
    once and one archive lookup or tile service call. Headers, statuses and metrics are those of
    the Flask route and hooks (`server/routes.py` `tile`, `server/app.py`).
    """

    def __init__(self, app: WSGIApp, live: LiveBuild, config: ServerConfig, metrics: Metrics) -> None:
        self.app = app
        self.live = live
        self.metrics = metrics
        self._ready_bytes = config.ready_tile_bytes
        self._origins = config.allowed_origins()
        self._any_origin = "*" in self._origins
        vary = ("Vary", "Accept-Encoding" if self._any_origin else "Accept-Encoding, Origin")
        self._after_etag: Headers = [
            ("Cache-Control", f"public, max-age={config.max_age}"),
            vary,
            ("X-Content-Type-Options", "nosniff"),
            *(cors_headers(self._origins, None) if self._any_origin else []),
        ]
        """Every tile answer's headers after its ETag, CORS included when any origin is allowed."""
        self._served: ServedBuild | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if (method == "GET" or method == "HEAD") and "HTTP_IF_MATCH" not in environ:
            started = time.perf_counter()
            served = self.served_build()
            path = environ.get("PATH_INFO", "")
            accept_encoding = environ.get("HTTP_ACCEPT_ENCODING")
            answer = served.ready.get(path, accept_encoding)
            if answer is None and path.startswith("/tiles/"):
                answer = self._answer(served, path, accept_encoding)
            if answer is not None:
                return self._send(answer, method, environ, start_response, started, served)
        return self.app(environ, start_response)

    def served_build(self) -> ServedBuild:
        """The build being served, prepared again only when a hot swap brings a new one."""
        service = self.live.service
        served = self._served
        if served is None or served.service is not service:
            served = self._served = ServedBuild.of(service, self._ready_bytes)
        return served

    def _answer(self, served: ServedBuild, path: str, accept_encoding: str | None) -> Answer | None:
        """The answer to a tile path, or None for one the route refuses or fails on."""
        parts = path.split("/")
        if len(parts) != 6:
            return None
        name = parts[2]
        key = tile_path_key(parts[3], parts[4], parts[5])
        prefix = served.etag_prefixes.get(name)
        coding = _coding(accept_encoding)
        if key is None or prefix is None or coding is None or not is_tile(*key):
            return None
        tag = f"{prefix}{key[0]}-{key[1]}-{key[2]}"
        archive = served.service.manifest.tilesets[name].archive
        if archive is not None and archive.holds(key[0]):
            answer = _tile_answer(served.service.archives[name].get(key), coding, tag, self._after_etag, True)
            served.ready.keep(path, accept_encoding, answer)
            return answer
        try:
            data = served.service.tile(name, *key)
        except Exception:  # the route calls the service again and answers the error
            return None
        return _tile_answer(data, coding, tag, self._after_etag, False)

    def _send(
        self,
        answer: Answer,
        method: str,
        environ: dict[str, Any],
        start_response: StartResponse,
        started: float,
        served: ServedBuild,
    ) -> Iterable[bytes]:
        if "HTTP_IF_NONE_MATCH" in environ and not is_resource_modified(environ, answer.etag):
            status, headers, body = "304 NOT MODIFIED", [("ETag", answer.etag), *self._after_etag], b""
        else:
            status, headers, body = answer.status, list(answer.head), answer.body
        if not self._any_origin:
            headers += cors_headers(self._origins, environ.get("HTTP_ORIGIN"))
        start_response(status, headers)
        self.metrics.count_tile(int(status[:3]), time.perf_counter() - started, served.service.build_id, answer.from_archive)
        return [body] if method == "GET" and body else []


def _tile_answer(data: bytes | None, coding: Coding, tag: str, after_etag: Headers, from_archive: bool) -> Answer:
    """The route's answer for a tile's compressed bytes (None: empty) with the chosen coding;
    `tag` is the ETag without the closing quote."""
    if not data:
        return Answer("204 NO CONTENT", [("ETag", tag + '"'), *after_etag], b"", tag + '"', from_archive)
    if coding == "gzip":
        body, etag = data, tag + '-gz"'
        entity = [("Content-Type", MVT_TYPE), ("Content-Length", str(len(body))), ("Content-Encoding", "gzip")]
    else:
        body, etag = gzip.decompress(data), tag + '"'
        entity = [("Content-Type", MVT_TYPE), ("Content-Length", str(len(body)))]
    return Answer("200 OK", [*entity, ("ETag", etag), *after_etag], body, etag, from_archive)
