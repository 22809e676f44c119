"""The README's production commands (granian, gunicorn) started on a wrong `CRIMETILES_BUILD_DIR`:
one line naming the variable, the path and what is wrong, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from crimetiles.server.config import stop_marker
from tests.server.served import free_port, on_loopback, readme_command


def _start(server: str, build_dir: Path, **settings: str) -> subprocess.CompletedProcess:
    """The README's `server` command on a free loopback port, run until it stops by itself."""
    env = {**os.environ, "CRIMETILES_BUILD_DIR": str(build_dir), **settings}
    process = subprocess.Popen(
        on_loopback(readme_command(server), free_port()), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        stop_marker(process.pid).unlink(missing_ok=True)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _our_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("crimetiles: ")]


def _wrong_build_dir(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """A `CRIMETILES_BUILD_DIR` that is `missing` or `not a build`, and the line that says so."""
    if kind == "missing":
        missing = tmp_path / "demo" / "build"
        return missing, (
            f"crimetiles: CRIMETILES_BUILD_DIR={missing}: no such directory "
            f"(write a build there with crimetiles build --out {missing})"
        )
    (tmp_path / "incidents.csv").write_text("id,lat,lon\n")
    return tmp_path, (
        f"crimetiles: CRIMETILES_BUILD_DIR={tmp_path} is not a build crimetiles can serve: "
        f"{tmp_path}: no manifest.json; is this a crimetiles build directory?"
    )


@pytest.mark.parametrize("kind", ["missing", "not a build"])
@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_wrong_build_directory_stops_the_server_in_one_line(server, kind, tmp_path):
    build_dir, line = _wrong_build_dir(kind, tmp_path)
    result = _start(server, build_dir)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert _our_lines(result.stderr) == [line]


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_malformed_setting_stops_the_server_in_one_line(server, durham_build):
    result = _start(server, durham_build, CRIMETILES_CACHE_BYTES="64M")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert _our_lines(result.stderr) == [
        "crimetiles: CRIMETILES_CACHE_BYTES='64M': expected a size in bytes, e.g. 67108864, 64MiB or 64MB"
    ]
