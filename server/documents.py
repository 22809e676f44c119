"""The content coding of documents made per request (the pages, TileJSON, styles, the catalog, WMTS
capabilities, QGIS layer files, the OpenAPI description): brotli or gzip as the request accepts,
q-values honoured, by the rule of the static files and the summaries (`artifact/content_coding.py`).

Compressed per request, 0.02 to 0.17 ms of CPU at these sizes (benchmarks/compression.py): a 27 kB
WMTS capabilities document is sent as 1.6 kB, a page's 12 kB of HTML as 3.3 kB. Streamed bodies
(the downloads), bodies already coded (the summaries, sent from the build's copies) and other media
types (tiles, PNGs) are left as they are.
"""

from __future__ import annotations

from flask import Response, request

from crimetiles.artifact.content_coding import ENCODINGS, compress

DOCUMENT_TYPES = frozenset({"application/json", "application/xml", "text/html"})
SMALLEST_COMPRESSED = 1024
"""Bytes: a smaller body is sent as it is (the saving would be a few hundred bytes at most)."""


def accepted_encoding() -> str | None:
    """The content coding of ENCODINGS the request accepts best; None: send the body as it is."""
    return request.accept_encodings.best_match(ENCODINGS)


def encoded_response(body: bytes, encoding: str | None, mimetype: str) -> Response:
    """An answer of `body`, already in `encoding` (None: as it is), one of the representations of
    a resource the request's Accept-Encoding chooses among."""
    response = Response(body, mimetype=mimetype)
    if encoding is not None:
        response.content_encoding = encoding
    response.vary.add("Accept-Encoding")
    return response


def compress_document(response: Response) -> str | None:
    """Compress `response`'s body in the coding the request accepts best, if it is a document
    worth compressing; returns that coding, None when the body is sent as it is."""
    if response.is_streamed or response.content_encoding or response.mimetype not in DOCUMENT_TYPES:
        return None
    body = response.get_data()
    if len(body) < SMALLEST_COMPRESSED:
        return None
    response.vary.add("Accept-Encoding")
    encoding = accepted_encoding()
    if encoding is not None:
        response.set_data(compress(body, encoding))
        response.content_encoding = encoding
    return encoding
