"""Shared fixtures: the Durham demo incidents and build, made once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import BaseServer

import pytest
from flask import Flask
from werkzeug.serving import make_server

from crimetiles.cli import DURHAM_DEMO_PROVENANCE
from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.synth import DURHAM_DATA_DIR as DURHAM_DIR
from crimetiles.precompute.synth import generate_durham_exports, write_exports
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

DURHAM_LAYERS = ("blockgroups", "tracts", "neighborhoods")
PREPARED_BUILD = "CRIMETILES_TEST_DURHAM_BUILD"
"""Environment variable naming a Durham build made by `build_durham` beforehand, used as the
`durham_build` fixture instead of building one (tools/mutation.py makes it once, before the
mutants of the server modules run: a build costs about a minute, a mutant's tests a few seconds)."""


@pytest.fixture(scope="session")
def durham_incidents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the synthetic Durham exports (seed 2016), durham_police.csv and
    durham_sheriff.csv, as `crimetiles synth` writes it."""
    folder = tmp_path_factory.mktemp("durham") / "incidents"
    write_exports(generate_durham_exports(), folder)
    return folder


@pytest.fixture(scope="session")
def durham_build(durham_incidents: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full Durham demo build: 3 boundary layers, hex 6-9, 2012-2016, archive z0-12
    (so that zooms 13-14 exercise on-demand encoding)."""
    prepared = os.environ.get(PREPARED_BUILD)
    if prepared:
        return Path(prepared)
    out = tmp_path_factory.mktemp("durham-build") / "build"
    build_durham(durham_incidents, out)
    return out


def build_durham(incidents: Path, out: Path) -> None:
    """The Durham demo build of `incidents` (a folder: each file its own source) into `out`."""
    options = BuildOptions(
        incidents=(incidents,),
        boundaries=tuple(BoundarySpec(name, DURHAM_DIR / f"{name}.geojson") for name in DURHAM_LAYERS),
        out=out,
        archive_maxzoom=12,
        progress=False,
        provenance=DURHAM_DEMO_PROVENANCE,
    )
    run_build(options)


@pytest.fixture(scope="session")
def durham_site(durham_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Durham build as a static site, written by the real command: `crimetiles export-static`."""
    site = tmp_path_factory.mktemp("durham-site") / "site"
    subprocess.run([sys.executable, "-m", "crimetiles", "export-static", str(durham_build), str(site)], check=True)
    return site


@pytest.fixture(scope="session")
def app(durham_build: Path) -> Flask:
    """The server app on the Durham build (no file watch)."""
    return create_app(ServerConfig(build_dir=durham_build, reload_interval=0))


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@contextmanager
def running(server: BaseServer) -> Iterator[None]:
    """Run a socketserver-based HTTP server in a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()


def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve `app` with a threaded werkzeug server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with running(server):
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    """Base URL of a real HTTP server on loopback serving the Durham build."""
    yield from serve_in_thread(app)
