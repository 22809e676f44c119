"""Small real builds for the server tests that swap one build for another."""

from __future__ import annotations

from pathlib import Path

from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.synth import DURHAM_DATA_DIR


def build_tracts(incidents: Path, out: Path, *, archive_maxzoom: int = 10, classes: int = 5) -> None:
    """Build the Durham tracts alone (no hex grid) from `incidents` into `out`, replacing what is there."""
    run_build(
        BuildOptions(
            incidents=(incidents,),
            boundaries=(BoundarySpec("tracts", DURHAM_DATA_DIR / "tracts.geojson"),),
            out=out,
            hex_resolutions=(),
            archive_maxzoom=archive_maxzoom,
            classes=classes,
            progress=False,
        )
    )
