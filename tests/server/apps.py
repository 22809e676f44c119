"""Apps, tile paths and metric reading the server tests share."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, request

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.tile_answer import TileAnswers

ARCHIVE_TILE = "/tiles/tracts/12/1150/1608.mvt"
"""Downtown Durham at z12, stored in the test build's archive (z0-12): answered by the fast path."""
ON_DEMAND_TILE = "/tiles/tracts/13/2300/3216.mvt"
"""Above the archive: encoded by the tile service."""


def counting_app(build_dir: Path, **settings: object) -> tuple[Flask, list[str]]:
    """An app whose Flask `before_request` hook records each request path it sees."""
    app = create_app(ServerConfig(build_dir=build_dir, reload_interval=0, **settings))
    seen: list[str] = []
    app.before_request(lambda: seen.append(request.path))
    return app, seen


def metric_value(exposition: str, name: str) -> float:
    """The value of the unlabelled series `name` in a Prometheus text exposition."""
    match = re.search(rf"^{name}(?:\{{\}})? (\S+)$", exposition, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def tile_answers(app: Flask) -> TileAnswers:
    """The tile answers `app` gives for the build it serves (its outermost WSGI layer's)."""
    return app.wsgi_app.answers()
