"""Small real builds for the server tests that swap one build for another, and what a build's
archive stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.synth import DURHAM_DATA_DIR


def build_tracts(incidents: Path, out: Path, *, archive_maxzoom: int = 10, classes: int = 5) -> None:
    """Build the Durham tracts alone (no hex grid) from `incidents` into `out`, replacing what is there."""
    build_layer(incidents, BoundarySpec("tracts", DURHAM_DATA_DIR / "tracts.geojson"), out, archive_maxzoom, classes)


def build_layer(incidents: Path, layer: BoundarySpec, out: Path, archive_maxzoom: int, classes: int = 5) -> None:
    """Build one boundary layer (no hex grid) from `incidents` into `out` (`archive_maxzoom` -1: no archive)."""
    run_build(
        BuildOptions(
            incidents=(incidents,),
            boundaries=(layer,),
            out=out,
            hex_resolutions=(),
            archive_maxzoom=archive_maxzoom,
            classes=classes,
            progress=False,
        )
    )


def stored_tile(build: Path, z: int, x: int, y: int, tileset: str = "tracts") -> bytes:
    """Tile `z/x/y` (XYZ) as `tileset`'s MBTiles archive stores it (gzip-compressed; rows are TMS)."""
    with sqlite3.connect(build / "tiles" / f"{tileset}.mbtiles") as db:
        (data,) = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", (z, x, 2**z - 1 - y)
        ).fetchone()
    return data
