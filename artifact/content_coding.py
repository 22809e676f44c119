"""The HTTP content codings we send bodies in, and how a body is compressed into each: one rule for
the server's static files (compressed by the first request for them) and the build's summaries
(compressed once, by the build: `summaries/<layer>.json.br` and `.json.gz`, see docs/artifact.md)."""

from __future__ import annotations

import gzip

import brotli

ENCODINGS = ("br", "gzip")
"""Content codings we offer, ours preferred first when a client accepts both equally."""
SUFFIXES = {"br": ".br", "gzip": ".gz"}
"""The file suffix of a body stored in each coding, as web servers' precompressed files have it
(nginx's `gzip_static`, Caddy's `precompressed`)."""
BROTLI_QUALITY = 9
"""Quality 11 makes MapLibre 9 % smaller than 9 (202 kB against 221 kB) but takes 2.6 s instead of
0.12 s on one core, which the first visitor of each worker would wait for."""


def compress(body: bytes, encoding: str) -> bytes:
    """`body` in a content coding of ENCODINGS (gzip without a timestamp, so always the same bytes)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9, mtime=0)
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY)
    raise ValueError(f"unknown content coding {encoding!r}")


def encoded_path(path: str, encoding: str) -> str:
    """Where the copy of the file at `path` in `encoding` is kept: beside it, with the coding's suffix."""
    return path + SUFFIXES[encoding]
