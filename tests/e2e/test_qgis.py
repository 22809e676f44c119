"""QGIS (Debian's python3-qgis, 3.22) adds our vector tiles with the style URL and the .qlr file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ARTIFACTS

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_render.py")


@pytest.fixture(scope="module")
def qgis_python() -> str:
    found = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0
    if not found:
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("QGIS Python bindings not found (apt-get install python3-qgis)")
        pytest.skip("QGIS Python bindings not found (apt-get install python3-qgis)")
    return SYSTEM_PYTHON


def test_qgis_draws_the_choropleth_from_the_style_url(qgis_python, live_url, tmp_path):
    qlr = tmp_path / "tracts.qlr"
    qlr.write_bytes(requests.get(f"{live_url}/qgis/tracts.qlr", timeout=10).content)
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}  # a fresh QGIS profile and cache
    result = subprocess.run(
        [qgis_python, str(SCRIPT), live_url, "tracts", str(qlr), str(ARTIFACTS / "qgis-tracts.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["valid"] and seen["style_loaded"], seen
    style = requests.get(f"{live_url}/styles/tracts.json", timeout=10).json()
    fills = [layer for layer in style["layers"] if layer["type"] == "fill"]
    assert [name for name, _ in seen["styles"]] == [*[f["id"] for f in fills], "tracts-line"]
    assert seen["styles"][-2][1] == f'"violent_per_sqmi" >= {fills[-1]["filter"][2]:g}'
    assert seen["qlr_loaded"] and seen["qlr_layers"][0][1] is True
    assert seen["qlr_layers"][0][2].startswith(f"styleUrl={live_url}/styles/tracts.json")
    # the fills are drawn: the red end of the YlOrRd ramp shows (outlines alone are grey)
    rgb = [tuple(int(name[i : i + 2], 16) for i in (1, 3, 5)) for name in seen["colours"]]
    assert any(red - green > 100 for red, green, _ in rgb)
