"""A machine where Skia cannot load (skia-python links against the system's GL and EGL libraries,
which a slim image may lack): PNG tiles and pictures answer a 503 that says what to install, the
static export stops with one line, and everything else is served. The server runs with a `skia`
extension module that is not a shared library ahead on its path: the dynamic loader fails on it as
it fails on a missing libGL."""

from __future__ import annotations

import logging
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import requests

from crimetiles.server.errors import RendererUnavailable, refusal
from tests.server.served import serving

ADVICE = "it needs the GL and EGL libraries (Debian and Ubuntu: apt-get install libegl1 libgl1)"


@pytest.fixture
def unloadable_skia(tmp_path, monkeypatch):
    """PYTHONPATH for the processes a test starts, with a `skia` that cannot load first on it."""
    folder = tmp_path / "unloadable"
    folder.mkdir()
    (folder / f"skia{sysconfig.get_config_var('EXT_SUFFIX')}").write_bytes(b"not a shared library")
    monkeypatch.setenv("PYTHONPATH", str(folder))


@pytest.mark.usefixtures("unloadable_skia")
def test_png_tiles_and_pictures_are_a_503_that_says_what_to_install(durham_build):
    with serving(["crimetiles", "serve", str(durham_build), "--host", "0.0.0.0", "--port", "8000"], durham_build) as (base, _):
        for path in ("/tiles/tracts/10/287/401.png", "/tiles/tracts/10/287/401@2x.png?year=2014", "/map.png?layer=tracts"):
            answer = requests.get(base + path, timeout=30)
            assert answer.status_code == 503, path
            error = answer.json()["error"]
            assert error.startswith("PNG tiles and pictures are unavailable here: Skia cannot load (") and error.endswith(ADVICE)
        assert requests.get(base + "/tiles/tracts/10/287/401.mvt", timeout=30).status_code == 200
        assert requests.get(base + "/", timeout=30).status_code == 200


@pytest.mark.usefixtures("unloadable_skia")
def test_the_static_export_of_png_tiles_stops_in_one_line(durham_build, tmp_path):
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "crimetiles"),
            "export-static",
            str(durham_build),
            str(tmp_path / "site"),
            "--png-tiles",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "Skia cannot load" in done.stderr and ADVICE in done.stderr, done.stderr


def test_a_503_is_logged_for_the_operator_without_a_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="crimetiles.server"):
        assert refusal(RendererUnavailable("Skia cannot load"), "/map.png") == (503, "Skia cannot load")
    assert [(record.levelno, record.getMessage(), record.exc_info) for record in caplog.records] == [
        (logging.ERROR, "Skia cannot load on /map.png", None)
    ]
