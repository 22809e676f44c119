"""Server errors and the one table that maps them to HTTP status codes."""

from __future__ import annotations


class RequestError(Exception):
    """A request the server cannot answer; `status` is its HTTP status code."""

    status = 400


class BadTileRequest(RequestError):
    """Non-numeric z/x/y or an unknown extension."""

    status = 400


class TileOutOfRange(RequestError):
    """z outside the served zooms, or x/y outside 0..2^z-1."""

    status = 404


class UnknownTileset(RequestError):
    status = 404

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no tileset {name!r} (tilesets: {', '.join(known)})")


class UnknownResource(RequestError):
    """An unknown style, layer or download."""

    status = 404
