"""Server fixtures: the app on the Durham build, and a real HTTP server on loopback."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from server.app import create_app
from server.config import ServerConfig


@pytest.fixture(scope="session")
def app(durham_build: Path) -> Flask:
    return create_app(ServerConfig(build_dir=durham_build, reload_interval=0))


@pytest.fixture
def client(app: Flask):
    return app.test_client()


def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve `app` with a threaded werkzeug server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    yield from serve_in_thread(app)
