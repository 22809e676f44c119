"""Shared fixtures: the Durham demo incidents and build, made once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from precompute.build import BoundarySpec, BuildOptions, run_build
from precompute.synth import DURHAM_DATA_DIR as DURHAM_DIR
from precompute.synth import generate_durham_incidents, write_incidents_csv

DURHAM_LAYERS = ("blockgroups", "tracts", "neighborhoods")


@pytest.fixture(scope="session")
def durham_incidents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic Durham incidents CSV (seed 2016), as `crimetiles synth` writes it."""
    path = tmp_path_factory.mktemp("durham") / "incidents.csv"
    write_incidents_csv(generate_durham_incidents(), path)
    return path


@pytest.fixture(scope="session")
def durham_build(durham_incidents: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full Durham demo build: 3 boundary layers, hex 6-9, 2012-2016, archive z0-12
    (so that zooms 13-14 exercise on-demand encoding)."""
    out = tmp_path_factory.mktemp("durham-build") / "build"
    options = BuildOptions(
        incidents=(durham_incidents,),
        boundaries=tuple(BoundarySpec(name, DURHAM_DIR / f"{name}.geojson") for name in DURHAM_LAYERS),
        out=out,
        archive_maxzoom=12,
        progress=False,
    )
    run_build(options)
    return out
