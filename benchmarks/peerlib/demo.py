"""The Durham demo, built in a scratch directory with the current venv's `crimetiles` command."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mercantile

from crimetiles.precompute.synth import DURHAM_BLOCKGROUPS

CRIMETILES = [sys.executable, "-m", "crimetiles"]
"""The current venv's `crimetiles` command, as every benchmark runs it."""
SERVED_TILESET = "blockgroups"
"""The tileset every server is measured on (Durham block groups, 153 polygons)."""
SERVED_ZOOMS = range(8, 15)
"""Zooms 8-14: the archive tiles a city map actually requests (346 block-group tiles)."""
EXACT_ZOOM = 14
"""The demo's max zoom: geometry is simplified to one tile unit below it, exact from it."""


@dataclass(frozen=True)
class Demo:
    incidents: Path
    archived: Path
    """Build with the MBTiles archive, zooms 0-14."""
    unarchived: Path
    """The same build without an archive: every tile is encoded on request."""

    def archive(self, tileset: str) -> Path:
        return self.archived / "tiles" / f"{tileset}.mbtiles"

    def layer(self, name: str) -> Path:
        return self.archived / "layers" / f"{name}.parquet"


def synth(out: Path) -> Path:
    """`crimetiles synth`: the seeded Durham exports of both agencies, written to `out`."""
    subprocess.run([*CRIMETILES, "synth", "--out", str(out)], check=True, capture_output=True)
    return out


def build(incidents: Path, out: Path, *options: str) -> Path:
    """`crimetiles build --quiet` of `incidents` into `out` with `options`; its errors on stderr."""
    subprocess.run(
        [*CRIMETILES, "build", str(incidents), "--out", str(out), "--quiet", *options], check=True, stdout=subprocess.DEVNULL
    )
    return out


def build_demo(scratch: Path, block_groups_only: bool) -> Demo:
    """`crimetiles synth` then `crimetiles build`, with and without the archive. `block_groups_only`
    builds one boundary layer and no hex grid (seconds instead of a minute on a busy machine)."""
    incidents = synth(scratch / "incidents")
    layers = ["--boundaries", f"blockgroups={DURHAM_BLOCKGROUPS}", "--hex-res", ""] if block_groups_only else []
    demo = Demo(incidents, scratch / "build", scratch / "build-unarchived")
    for out, archive_maxzoom in ((demo.archived, "14"), (demo.unarchived, "-1")):
        build(incidents, out, "--archive-maxzoom", archive_maxzoom, *layers)
    return demo


def read_archive(path: Path, zooms: range | None = None) -> dict[mercantile.Tile, bytes]:
    """Tiles of an MBTiles file (gzip-compressed MVT as stored), keyed by XYZ tile, optionally only `zooms`."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    return {mercantile.Tile(x, (1 << z) - 1 - row, z): bytes(data) for z, x, row, data in rows if zooms is None or z in zooms}


def tile_paths(template: str, tiles: list[mercantile.Tile]) -> list[str]:
    """URL paths of `tiles` from a template with {z}, {x} and {y}."""
    return [template.format(z=tile.z, x=tile.x, y=tile.y) for tile in tiles]
