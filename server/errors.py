"""Errors of answering a request for tiles, styles or downloads: domain words, no HTTP.

The app maps each class to a status code in one table (`ERROR_STATUS` in `server/app.py`), so
that the core (`server/tiles.py`) knows nothing of HTTP.
"""

from __future__ import annotations

from crimetiles.artifact.errors import CrimetilesError


class BadTileRequest(CrimetilesError):
    """z/x/y that are not numbers in ASCII digits, or an unknown extension."""


class TileOutOfRange(CrimetilesError):
    """z outside the served zooms, or x/y outside 0..2^z-1."""


class UnknownTileset(CrimetilesError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no tileset {name!r} (tilesets: {', '.join(known)})")


class UnknownResource(CrimetilesError):
    """An unknown style, layer or download."""


class NoAcceptableEncoding(CrimetilesError):
    """Accept-Encoding excludes every content coding a tile is available in (gzip, identity)."""
