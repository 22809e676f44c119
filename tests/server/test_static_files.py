"""The static file table: what is served, content hashes, compressed bodies made once."""

from __future__ import annotations

import gzip
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli

from crimetiles.server.static_files import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_serves_web_files_only(tmp_path):
    for name, body in {
        "app.js": b"export const x = 1;\n",
        "index.html": b"{% block page %}{% endblock %}",
        "__init__.py": b"",
        "vendor/lib/lib.css": b"a { color: red }",
        "vendor/lib/LICENSE.txt": b"BSD",
        "vendor/lib/README.md": b"# lib",
        "icon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    files = StaticFiles.load(tmp_path)
    served = {name: files.get(name).mimetype for name in ("app.js", "vendor/lib/lib.css", "vendor/lib/LICENSE.txt", "icon.svg")}
    assert served == {
        "app.js": "text/javascript",
        "vendor/lib/lib.css": "text/css",
        "vendor/lib/LICENSE.txt": "text/plain",
        "icon.svg": "image/svg+xml",
    }
    assert [files.get(name) for name in ("index.html", "__init__.py", "vendor/lib/README.md", "nothing.js")] == [None] * 4
    assert files.url("app.js") == "static/app.js?v=" + hashlib.sha256(b"export const x = 1;\n").hexdigest()[:16]


def test_compressed_bodies_decode_to_the_file_and_are_made_once():
    files = StaticFiles.load(STATIC)
    file = files.get("vendor/maplibre-gl/maplibre-gl-csp-worker.js")
    raw = (STATIC / file.path).read_bytes()
    assert files.body(file, None) == raw
    with ThreadPoolExecutor(max_workers=4) as pool:  # gunicorn threads asking at once
        bodies = list(pool.map(lambda _: files.body(file, "br"), range(8)))
    assert brotli.decompress(bodies[0]) == raw
    assert all(body is bodies[0] for body in bodies)  # one compression, the same bytes object for every request
    gzipped = files.body(file, "gzip")
    assert gzip.decompress(gzipped) == raw and files.body(file, "gzip") is gzipped
