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
"""Quality 11 makes MapLibre 9 % smaller than 9 (202 kB against 221 kB) but takes 1.1 s of CPU
instead of 0.05 s (measured 2026-12-07, quiet), which the first visitor of each worker would wait for."""
BROTLI_WINDOWS = (16, 22)
"""The smallest and largest brotli window (log2 of its bytes); a body gets the smallest that holds
it. Above 16, quality 9 sets up tables for the window whatever the body: `app.js` (23 kB) takes
8.0 ms in the default window (22) and 0.43 ms in 16, a 3 kB style 1.38 ms against 0.04 ms, for the
same bytes (benchmarks/compression.py); a smaller window also asks less memory of the client."""


def compress(body: bytes, encoding: str) -> bytes:
    """`body` in a content coding of ENCODINGS (gzip without a timestamp, so always the same bytes)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9, mtime=0)
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY, lgwin=brotli_window(len(body)))
    raise ValueError(f"unknown content coding {encoding!r}")


def brotli_window(size: int) -> int:
    """The window (BROTLI_WINDOWS) for a body of `size` bytes: the smallest that holds it."""
    smallest, largest = BROTLI_WINDOWS
    return min(largest, max(smallest, (size - 1).bit_length()))


def encoded_path(path: str, encoding: str) -> str:
    """Where the copy of the file at `path` in `encoding` is kept: beside it, with the coding's suffix."""
    return path + SUFFIXES[encoding]
