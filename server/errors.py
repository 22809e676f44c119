"""Errors of answering a request for tiles, styles or downloads (domain words, no HTTP in the
classes), and the one place that turns an error into an HTTP answer: `ERROR_STATUS` maps each
class to its status, `refusal` gives any exception's status and message, `error_body` the JSON
body every error answer has. The tile answers (`server/tile_answer.py`) and the Flask app
(`server/app.py`) both answer errors through them, so the core (`server/tiles.py`) knows
nothing of HTTP.
"""

from __future__ import annotations

import json
import logging

from crimetiles.artifact.errors import CrimetilesError, InvalidYear

log = logging.getLogger("crimetiles.server")
JSON_TYPE = "application/json"


class BadTileRequest(CrimetilesError):
    """z/x/y that are not numbers in ASCII digits, or an unknown extension."""


class TileOutOfRange(CrimetilesError):
    """z outside the served zooms, or x/y outside 0..2^z-1."""


class UnknownTileset(CrimetilesError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no tileset {name!r} (tilesets: {', '.join(known)})")


class UnknownResource(CrimetilesError):
    """An unknown style, layer or download."""


class BadMapRequest(CrimetilesError):
    """A `/map.png` query that names no view the server can draw (bad bbox, center, zoom or size)."""


class NoAcceptableEncoding(CrimetilesError):
    """Accept-Encoding excludes every content coding a tile is available in (gzip, identity)."""


class RendererUnavailable(CrimetilesError):
    """Skia, which draws PNG tiles and pictures, cannot load on this machine (skia-python links
    against the system's GL and EGL libraries): the server's setup, not the request, is at fault."""


ERROR_STATUS: dict[type[CrimetilesError], int] = {
    BadTileRequest: 400,
    InvalidYear: 400,
    BadMapRequest: 400,
    TileOutOfRange: 404,
    UnknownTileset: 404,
    UnknownResource: 404,
    NoAcceptableEncoding: 406,
    RendererUnavailable: 503,
}
"""The one map from domain errors to HTTP status codes. Any other error (a `BuildError` while
serving, a bug) is a 500 with a short JSON body and a log line."""


def refusal(exc: Exception, path: str) -> tuple[int, str]:
    """Status and message of the answer to a request for `path` that raised `exc`; an error not in
    `ERROR_STATUS` is logged with its traceback (call this in the `except` block) and answered as
    an internal error, never with the traceback; a known error of the server's (5xx) is logged
    without one."""
    status = ERROR_STATUS.get(type(exc))
    if status is None:
        log.exception("unexpected error on %s", path)
        return 500, "internal error"
    if status >= 500:  # the server's setup is at fault: its operator must hear of it
        log.error("%s on %s", exc, path)
    return status, str(exc)


def error_body(status: int, message: str) -> bytes:
    """`{"error": message, "status": status}`: the body of every error answer, compact, keys
    sorted and ASCII-only, as Flask's `jsonify` wrote it."""
    return json.dumps({"error": message, "status": status}, separators=(",", ":"), sort_keys=True).encode("ascii") + b"\n"
