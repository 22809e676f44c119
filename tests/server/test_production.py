"""The README's production command, run for real: granian serving tiles, the page and /metrics,
and switching its worker processes to a new build by file watch and by SIGHUP."""

from __future__ import annotations

import signal
from pathlib import Path

import mapbox_vector_tile
import requests

from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.synth import DURHAM_DATA_DIR
from tests.server.served import dockerfile_command, readme_command, serving, wait_until

CONSECUTIVE = 20
"""Answers in a row from the new build before both workers count as swapped: the kernel spreads
connections over the 2 workers, so 20 from one worker alone happen once in a million."""


def test_the_dockerfile_runs_the_readme_production_command():
    assert [part for part in dockerfile_command() if part != "--access-log"] == readme_command("granian")
    assert readme_command("granian")[:3] == ["granian", "--interface", "wsgi"]


def test_the_readme_production_command_serves_tiles_the_page_and_metrics(durham_build):
    with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, _):
        tile = requests.get(base + "/tiles/tracts/12/1150/1608.mvt", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert tile.status_code == 200
        assert tile.headers["Content-Encoding"] == "gzip"
        assert mapbox_vector_tile.decode(tile.content)["tracts"]["features"]
        page = requests.get(base + "/", timeout=10)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "maplibre" in page.text.lower()
        metrics = requests.get(base + "/metrics", timeout=10)
        assert metrics.status_code == 200
        assert "\n# TYPE crimetiles_http_requests_total counter\n" in metrics.text


def _tracts_build(incidents: Path, out: Path, classes: int) -> None:
    run_build(
        BuildOptions(
            incidents=(incidents,),
            boundaries=(BoundarySpec("tracts", DURHAM_DATA_DIR / "tracts.geojson"),),
            out=out,
            hex_resolutions=(),
            archive_maxzoom=10,
            classes=classes,
            progress=False,
        )
    )


def _served_build_id(base: str) -> str:
    return requests.get(base + "/healthz", timeout=10).json()["build_id"]


def _every_worker_serves(base: str, build_id: str) -> bool:
    return all(_served_build_id(base) == build_id for _ in range(CONSECUTIVE))


def _new_build(incidents: Path, build_dir: Path, classes: int) -> str:
    _tracts_build(incidents, build_dir, classes)
    return (build_dir / "manifest.json").resolve().parent.name.removeprefix(".build.v-")


def test_granian_workers_switch_builds_on_sighup_and_on_file_watch(durham_incidents, tmp_path):
    build_dir = tmp_path / "build"
    first = _new_build(durham_incidents, build_dir, classes=5)
    with serving(readme_command("granian"), build_dir, reload_interval="0") as (base, process):
        assert _every_worker_serves(base, first)
        second = _new_build(durham_incidents, build_dir, classes=4)
        assert _served_build_id(base) == first  # no file watch: nothing changes by itself
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: _every_worker_serves(base, second), "granian's workers did not load the new build on SIGHUP")
    with serving(readme_command("granian"), build_dir, reload_interval="0.2") as (base, _):
        assert _every_worker_serves(base, second)
        third = _new_build(durham_incidents, build_dir, classes=3)
        wait_until(lambda: _every_worker_serves(base, third), "granian's workers did not notice the new build")
