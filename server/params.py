"""Typed parsers of request parts: URL text in, a typed value or a domain error out.

Numbers are ASCII digits only: `str.isdigit` also accepts `²`, `١٢` or `１２`, which `int()`
rejects or reads as another number; and no sign, space or leading zero, so that a tile or a
year has exactly one URL (one entry in a shared cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from werkzeug.datastructures import Accept
from werkzeug.http import parse_accept_header

from crimetiles.artifact.export import parse_year
from crimetiles.server.errors import BadTileRequest, NoAcceptableEncoding, TileOutOfRange
from crimetiles.server.tiles import MAX_ZOOM

__all__ = ["TileRequest", "parse_year", "tile_coding"]

TILE_EXTENSIONS = ("mvt", "pbf", "png")
RASTER_EXTENSION = "png"
RASTER_SUFFIX = f".{RASTER_EXTENSION}"
TILE_PIXELS = 256
"""Side of a PNG tile; an `@2x` tile is twice as wide, drawn at the same zoom."""
HIGH_DPI = "@2x"
"""`{y}@2x.png`: a PNG tile twice as wide (512 px), for screens of two device pixels per CSS pixel."""
MAX_COORDINATE_DIGITS = len(str(1 << MAX_ZOOM))
"""Digits of the largest z, x or y served (x, y < 2^22): longer numbers are out of range."""
Coding = Literal["gzip", "identity"]


@dataclass(frozen=True)
class TileRequest:
    """`/tiles/{tileset}/{z}/{x}/{y}.{extension}` or `{y}@2x.png`, parsed (`scale` 2 for `@2x`).
    Ranges are the tile service's to check."""

    tileset: str
    z: int
    x: int
    y: int
    extension: str
    scale: int = 1

    @classmethod
    def parse(cls, tileset: str, z: str, x: str, y_ext: str) -> TileRequest:
        """Raises `BadTileRequest` for anything but canonical ASCII numbers and `.mvt`/`.pbf`/`.png`
        (`@2x` before `.png` only), `TileOutOfRange` for numbers too long to be a tile of any zoom served."""
        y, _, extension = y_ext.partition(".")
        if extension not in TILE_EXTENSIONS:
            raise BadTileRequest(f"unknown tile extension {extension!r}; use .mvt, .pbf or .png")
        scale = 2 if extension == RASTER_EXTENSION and y.endswith(HIGH_DPI) else 1
        y = y.removesuffix(HIGH_DPI) if scale == 2 else y
        return cls(tileset, _coordinate(z, "z"), _coordinate(x, "x"), _coordinate(y, "y"), extension, scale)

    @property
    def raster(self) -> bool:
        return self.extension == RASTER_EXTENSION


def _canonical(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def _coordinate(text: str, name: str) -> int:
    if not _canonical(text):
        raise BadTileRequest(f"{name} must be a non-negative integer in ASCII digits, no leading zero, got {text!r}")
    if len(text) > MAX_COORDINATE_DIGITS:
        raise TileOutOfRange(f"{name} has {len(text)} digits: no zoom served (0..{MAX_ZOOM}) has such tiles")
    return int(text)


@lru_cache(maxsize=256)  # clients send a handful of distinct values; an exception is not remembered
def tile_coding(accept_encoding: str | None) -> Coding:
    """The content coding to send a non-empty tile in (tiles are stored gzip-compressed).

    gzip when its q-value (its own, else `*`'s) is above 0 and not below identity's; identity
    otherwise. Identity needs no entry to be acceptable (RFC 9110 12.5.3) but then ranks below
    any coding listed; `identity;q=0`, or `*;q=0` without an identity entry, excludes it. No
    header at all gets identity: a client that says nothing may not decode gzip. Raises
    `NoAcceptableEncoding` when the header excludes both.
    """
    accepted = parse_accept_header(accept_encoding, Accept)
    gzip_quality = accepted.quality("gzip")
    identity_ranked = "identity" in accepted
    identity_quality = accepted.quality("identity") if identity_ranked else 0
    if gzip_quality > 0 and gzip_quality >= identity_quality:
        return "gzip"
    if identity_quality > 0 or not identity_ranked:
        return "identity"
    raise NoAcceptableEncoding(
        f"no acceptable content coding in Accept-Encoding {accept_encoding!r}: this tile is available as gzip or identity"
    )
