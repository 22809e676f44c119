"""The floor under any Python tile server on granian: the archive's tiles answered from a dictionary
built at start-up, with the headers crimetiles sends, and no other work. As a `peers.py` variant it
says how much of crimetiles' time per cached tile is granian's own (its protocol interface, the
environ or scope it builds, the GIL) and how much is ours:

    python benchmarks/peers.py --only cached \
      --variant "ceiling-wsgi=granian --interface wsgi --workers 2 --blocking-threads 1 \
                 --host {host} --port {port} --working-dir benchmarks/peerlib ceiling:wsgi" \
      --variant "ceiling-rsgi=granian --interface rsgi --workers 2 \
                 --host {host} --port {port} --working-dir benchmarks/peerlib ceiling:rsgi"

It reads `CRIMETILES_BUILD_DIR` as crimetiles does and answers `/healthz` and
`/tiles/{tileset}/{z}/{x}/{y}.mvt` (gzip-compressed, as stored) for every archived tileset.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Headers = list[tuple[str, str]]


def _archived_answers(build_dir: Path) -> dict[str, tuple[bytes, Headers]]:
    answers: dict[str, tuple[bytes, Headers]] = {}
    for archive in sorted((build_dir / "tiles").glob("*.mbtiles")):
        with contextlib.closing(sqlite3.connect(f"file:{archive}?mode=ro", uri=True)) as db:
            for z, x, row, data in db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
                path = f"/tiles/{archive.stem}/{z}/{x}/{(1 << z) - 1 - row}.mvt"
                etag = f'"ceiling-{archive.stem}-{z}-{x}-{row}-gz"'
                answers[path] = (bytes(data), _headers(len(data), etag))
    return answers


def _headers(length: int, etag: str) -> Headers:
    """What crimetiles sends with an archive tile (without CORS: no origin list configured)."""
    return [
        ("Content-Type", "application/vnd.mapbox-vector-tile"),
        ("Content-Length", str(length)),
        ("Content-Encoding", "gzip"),
        ("ETag", etag),
        ("Cache-Control", "public, max-age=3600"),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
    ]


ANSWERS = _archived_answers(Path(os.environ["CRIMETILES_BUILD_DIR"]))
HEALTHY = (b"ok", [("Content-Type", "text/plain"), ("Content-Length", "2")])
MISSING = (b"", [("Content-Length", "0")])


def wsgi(environ: dict[str, Any], start_response: Callable[[str, Headers], Any]) -> Iterable[bytes]:
    body, headers = _answer(environ["PATH_INFO"])
    start_response("200 OK" if body else "204 No Content", headers)
    return [body]


async def rsgi(scope: Any, protocol: Any) -> None:
    body, headers = _answer(scope.path)
    protocol.response_bytes(200 if body else 204, headers, body)


def _answer(path: str) -> tuple[bytes, Headers]:
    if path == "/healthz":
        return HEALTHY
    return ANSWERS.get(path, MISSING)
