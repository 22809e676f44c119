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


def document_encoding(response: Response) -> str | None:
    """The coding `response`'s body is to be sent in: the one the request accepts best if the body
    is a document worth compressing (and then `Vary: Accept-Encoding`), None when sent as it is."""
    if response.is_streamed or response.content_encoding or response.mimetype not in DOCUMENT_TYPES:
        return None
    if len(response.get_data()) < SMALLEST_COMPRESSED:
        return None
    response.vary.add("Accept-Encoding")
    return accepted_encoding()


def encode_document(response: Response, encoding: str | None) -> None:
    """Compress `response`'s body in `encoding` (`document_encoding`'s answer; None: leave it)."""
    if encoding is not None:
        response.set_data(compress(response.get_data(), encoding))
        response.content_encoding = encoding


def compress_document(response: Response) -> None:
    """Compress `response`'s body in the coding the request accepts best, if it is a document
    worth compressing."""
    encode_document(response, document_encoding(response))
