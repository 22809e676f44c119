"""Every answer to a tile request, made in one place: no Flask, no WSGI.

`TileAnswers.answer` takes a request's method, path, query and the three headers a tile depends on
(`Accept-Encoding`, `If-None-Match`, `If-Match`) and returns the whole answer, status, headers
and body, for every path `/tiles/{tileset}/{z}/{x}/{y}.{mvt|pbf}`: the tile (200, gzip-compressed
when the client accepts it, or 204 when empty), and `/tiles/{tileset}/{z}/{x}/{y}[@2x].png?year=`:
the tile drawn with the tileset's style (200, a transparent image when empty; `server/raster.py`),
304 and 412 to conditional requests, the
`OPTIONS` answer, and every refusal (400, 404, 405, 406, 500) with the app's error table and body
(`server/errors.py`). Tiles come through `TileService` (archive, cache, encode). The headers every
response shares (nosniff, CORS, `Vary: Origin`) are not here: `server/every_response.py` adds
them to every answer, tiles and Flask's alike. No `Date` either: the HTTP server adds it.

An archive tile's answer, once made, is kept ready to send again (`ReadyAnswers`, bounded in
bytes): most requests of a map's tiles are one dictionary lookup.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES, parse_etags
from werkzeug.sansio.http import is_resource_modified

from crimetiles.artifact.fields import ALL_YEARS
from crimetiles.server.errors import JSON_TYPE, error_body, refusal
from crimetiles.server.params import RASTER_EXTENSION, RASTER_SUFFIX, Coding, TileRequest, parse_year, tile_coding
from crimetiles.server.tiles import TileService

MVT_TYPE = "application/vnd.mapbox-vector-tile"
PNG_TYPE = "image/png"
Headers = list[tuple[str, str]]
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
VARY: tuple[str, str] = ("Vary", "Accept-Encoding")
"""Every tile path's answers depend on Accept-Encoding, refusals included (a 406 does)."""
ENTITY_HEADERS = frozenset({"Content-Type", "Content-Length", "Content-Encoding"})
"""What a 304 leaves out of the answer it stands for (RFC 9110 15.4.5)."""
READY_ENTRY_BYTES = 512
"""What a ready answer costs beside its body (its key, header list and strings), counted against
`ServerConfig.ready_tile_bytes`."""


@dataclass(frozen=True)
class TileAnswer:
    """A tile request's answer: status line, headers, body (sent unless the request is a `HEAD`),
    the ETag of the tile it carries (None for a refusal), and whether the tile came from the
    archive."""

    status: str
    headers: Headers
    body: bytes
    etag: str | None = None
    from_archive: bool = False


OPTIONS_ANSWER = TileAnswer(
    "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Allow", ALLOWED_METHODS), VARY, ("Content-Length", "0")], b""
)
"""What a tile path answers to `OPTIONS` (CORS preflights get their headers from `EveryResponse`)."""


def status_line(code: int) -> str:
    """`404 NOT FOUND`: the status as Flask and werkzeug write it."""
    return f"{code} {HTTP_STATUS_CODES[code].upper()}"


def tile_etag(build_id: str, tile: TileRequest, coding: Coding, year: int | None = None) -> str:
    """The one ETag format: the build, the tileset and the tile, `-gz` for the gzipped bytes (one
    tile, two representations); a PNG's names its scale and year (`@2x-2014.png`, `-all.png`).
    Every process serving a build gives a tile the same ETag."""
    if tile.raster:
        suffix = f"{'@2x' if tile.scale == 2 else ''}-{year or ALL_YEARS}.{RASTER_EXTENSION}"
    else:
        suffix = "-gz" if coding == "gzip" else ""
    return f'"{build_id}-{tile.tileset}-{tile.z}-{tile.x}-{tile.y}{suffix}"'


def query_year(query: str) -> str | None:
    """The `year` parameter of a query string, as sent (the first one)."""
    return parse_qs(query).get("year", [None])[0] if query else None


def representation_key(path: str, accept_encoding: str | None, query: str) -> str | None:
    """What a tile answer at `path` depends on besides its path: `Accept-Encoding` for a vector
    tile, the year asked for a PNG (which is never compressed further)."""
    return query_year(query) if path.endswith(RASTER_SUFFIX) else accept_encoding


def tile_path(path: str) -> list[str] | None:
    """tileset, z, x and `y.extension` of a path `/tiles/{tileset}/{z}/{x}/{y_ext}` (each part
    non-empty), None for any other path: another route's, or none."""
    parts = path.split("/")
    if len(parts) == 6 and parts[1] == "tiles" and all(parts[2:]):
        return parts[2:]
    return None


class ReadyAnswers:
    """Archive tiles' answers by (path, `representation_key`), kept until their build is replaced: the
    first ones asked, up to `budget` bytes (bodies plus `READY_ENTRY_BYTES` each), then no more.
    The archive stays on disk (`MBTilesLookup`) for the rest."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._answers: dict[tuple[str, str | None], TileAnswer] = {}
        self._room = budget
        self._lock = threading.Lock()
        """For `keep` (threads of one worker may keep answers at once); a lookup needs none."""

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, path: str, variant: str | None) -> TileAnswer | None:
        return self._answers.get((path, variant))

    def keep(self, path: str, variant: str | None, answer: TileAnswer) -> None:
        cost = len(answer.body) + READY_ENTRY_BYTES
        with self._lock:
            if cost <= self._room and (path, variant) not in self._answers:
                self._answers[(path, variant)] = answer
                self._room -= cost


class TileAnswers:
    """The tile answers of one build, `max_age` seconds in shared caches, archive answers kept
    ready up to `ready_bytes`."""

    def __init__(self, service: TileService, max_age: int, ready_bytes: int) -> None:
        self.service = service
        self.ready = ReadyAnswers(ready_bytes)
        self._cache_control = ("Cache-Control", f"public, max-age={max_age}")

    def answer(
        self,
        method: str,
        path: str,
        accept_encoding: str | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
        query: str = "",
    ) -> TileAnswer | None:
        """The answer to a request for `path` (with query string `query`), None if `path` is not a tile path."""
        if method == "GET" or method == "HEAD":
            variant = representation_key(path, accept_encoding, query)
            answer = self.ready.get(path, variant) or self._representation(path, variant)
            if answer is not None and (if_none_match is not None or if_match is not None):
                return _conditional(answer, if_none_match, if_match)
            return answer
        if tile_path(path) is None:
            return None
        if method == "OPTIONS":
            return OPTIONS_ANSWER
        return _error_answer(405, MethodNotAllowed.description, [("Allow", ALLOWED_METHODS)])

    def _representation(self, path: str, variant: str | None) -> TileAnswer | None:
        """The tile at `path` in its `variant` (`representation_key`), or the refusal."""
        parts = tile_path(path)
        if parts is None:
            return None
        try:
            wanted = TileRequest.parse(*parts)
            answer = self._png(wanted, variant) if wanted.raster else self._vector_tile(wanted, variant)
        except Exception as exc:  # every refusal, and any failure: answered from the error table
            return _error_answer(*refusal(exc, path), [VARY])
        if answer.from_archive:
            self.ready.keep(path, variant, answer)
        return answer

    def _vector_tile(self, wanted: TileRequest, accept_encoding: str | None) -> TileAnswer:
        data = self.service.tile(wanted.tileset, wanted.z, wanted.x, wanted.y)
        return self._tile(wanted, data, tile_coding(accept_encoding) if data else "identity")

    def _png(self, wanted: TileRequest, year_text: str | None) -> TileAnswer:
        """200 with the PNG of the tile for `year_text` (none or `all`: all years)."""
        year = parse_year(year_text, self.service.manifest.years)
        year = None if year == ALL_YEARS else year
        body = self.service.png(wanted.tileset, wanted.z, wanted.x, wanted.y, wanted.scale, year)
        etag = tile_etag(self.service.build_id, wanted, "identity", year)
        headers = [("Content-Type", PNG_TYPE), ("Content-Length", str(len(body))), ("ETag", etag), self._cache_control, VARY]
        return TileAnswer("200 OK", headers, body, etag, self.service.archived(wanted.tileset, wanted.z))

    def _tile(self, wanted: TileRequest, data: bytes | None, coding: Coding) -> TileAnswer:
        """200 with the tile's bytes in `coding`, or 204 (no body, no type) for an empty tile."""
        etag = tile_etag(self.service.build_id, wanted, coding)
        from_archive = self.service.archived(wanted.tileset, wanted.z)
        cache = [("ETag", etag), self._cache_control, VARY]
        if not data:
            return TileAnswer("204 NO CONTENT", cache, b"", etag, from_archive)
        body, encoding = (data, [("Content-Encoding", "gzip")]) if coding == "gzip" else (gzip.decompress(data), [])
        headers = [("Content-Type", MVT_TYPE), ("Content-Length", str(len(body))), *encoding, *cache]
        return TileAnswer("200 OK", headers, body, etag, from_archive)


def _conditional(answer: TileAnswer, if_none_match: str | None, if_match: str | None) -> TileAnswer:
    """`answer` to a conditional request: 304 when `If-None-Match` names its ETag (weak
    comparison), 412 when `If-Match` does not (strong comparison), as werkzeug decides them; the
    412 keeps the answer's headers and body."""
    if answer.etag is None or is_resource_modified(http_if_none_match=if_none_match, http_if_match=if_match, etag=answer.etag):
        return answer
    if parse_etags(if_match):
        return TileAnswer(status_line(412), answer.headers, answer.body, answer.etag, answer.from_archive)
    headers = [(name, value) for name, value in answer.headers if name not in ENTITY_HEADERS]
    return TileAnswer("304 NOT MODIFIED", headers, b"", answer.etag, answer.from_archive)


def _error_answer(status: int, message: str, extra: Headers) -> TileAnswer:
    body = error_body(status, message)
    return TileAnswer(status_line(status), [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))), *extra], body)
