"""The page's static files, held in memory: content-hashed URLs and compressed bodies.

Read once when the app starts (about 1.6 MB, most of it the vendored MapLibre), each file gets a
hash of its bytes, which goes into the URL the pages use (`static/app.js?v=<hash>`): browsers may
keep such a URL forever, and a changed file gets a new URL. The gzip and brotli bodies of a file
are made once, by the first request that asks for them, never per request. No Flask here: the
route in `pages.py` picks the encoding from the request and sets the headers.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from crimetiles.artifact.content_coding import compress

MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".txt": "text/plain"}
"""The web files, by suffix, and their media types. Nothing else under static/ is served: templates
(`.html`) are rendered only by their routes, under their CSP, and the Python files are the package's."""
DIGEST_CHARS = 16
"""Hex characters of the SHA-256 of a file's bytes kept in its URL (64 bits: no collision among
a handful of files, short enough to read)."""


@dataclass(frozen=True)
class StaticFile:
    """One file under static/: its path there (with `/`), bytes, content hash and media type."""

    path: str
    body: bytes
    digest: str
    mimetype: str


def read_static_file(root: Path, file: Path) -> StaticFile:
    body = file.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:DIGEST_CHARS]
    return StaticFile(file.relative_to(root).as_posix(), body, digest, MEDIA_TYPES[file.suffix])


class CompressedBodies:
    """Bodies by name in each content coding (`artifact.content_coding`), each made at most once, by the first
    request that asks for it (thread-safe: gunicorn threads share one instance)."""

    def __init__(self) -> None:
        self._bodies: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def get(self, name: str, encoding: str, read: Callable[[], bytes]) -> bytes:
        """`name`'s body in `encoding`, compressed from `read()` the first time."""
        key = (name, encoding)
        body = self._bodies.get(key)
        if body is None:
            with self._lock:
                if key not in self._bodies:
                    self._bodies[key] = compress(read(), encoding)
                body = self._bodies[key]
        return body


class StaticFiles:
    """The served files by path, and each file's compressed bodies once made."""

    def __init__(self, files: Mapping[str, StaticFile]) -> None:
        self._files = dict(files)
        self._compressed = CompressedBodies()

    @classmethod
    def load(cls, root: Path) -> StaticFiles:
        """Every file under `root` with a suffix in MEDIA_TYPES."""
        found = (read_static_file(root, path) for path in sorted(root.rglob("*")) if path.suffix in MEDIA_TYPES)
        return cls({file.path: file for file in found})

    def __iter__(self) -> Iterator[StaticFile]:
        return iter(self._files.values())

    def get(self, path: str) -> StaticFile | None:
        return self._files.get(path)

    def url(self, path: str) -> str:
        """The versioned URL of a file, relative to the app's root (so it works under any prefix);
        a KeyError for a file that is not served, so a template cannot link one."""
        return f"static/{path}?v={self._files[path].digest}"

    def body(self, file: StaticFile, encoding: str | None) -> bytes:
        """The bytes to send for `file` in `encoding` (None: as is), compressed at most once."""
        return file.body if encoding is None else self._compressed.get(file.path, encoding, lambda: file.body)
