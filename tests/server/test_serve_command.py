"""`crimetiles serve` as the README uses it: the build directory defaults to
`crimetiles-build`, where `crimetiles build` writes by default (not setuptools' `build/`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import requests

CRIMETILES = [sys.executable, "-m", "crimetiles"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("CRIMETILES_")}


def test_serve_with_no_argument_serves_the_build_directory_named_crimetiles_build(tmp_path, durham_build):
    shutil.copytree(durham_build, tmp_path / "crimetiles-build")
    port = _free_port()
    command = [*CRIMETILES, "serve", "--port", str(port), "--reload-interval", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=_environment(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "crimetiles serve did not start"
                time.sleep(0.1)
        manifest_id = (tmp_path / "crimetiles-build" / "manifest.json").read_text(encoding="utf-8")
        assert health.status_code == 200
        assert health.json()["build_id"] in manifest_id
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_with_no_build_is_one_line_naming_the_directory(tmp_path):
    result = subprocess.run([*CRIMETILES, "serve"], cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and line.endswith(
        "crimetiles-build: no manifest.json; is this a crimetiles build directory?"
    )
