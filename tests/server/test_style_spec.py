"""Every style the server makes, and every style of a static export, passes MapLibre's own validator
(gl-style-validate)."""

from __future__ import annotations

import os
import subprocess

import pytest

VALIDATOR = os.environ.get("CRIMETILES_STYLE_VALIDATOR", "")


@pytest.fixture(scope="module")
def validator() -> str:
    if not (VALIDATOR and os.path.isfile(VALIDATOR)):
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("CRIMETILES_STYLE_VALIDATOR is not set to gl-style-validate")
        pytest.skip("gl-style-validate not installed (npm install @maplibre/maplibre-gl-style-spec)")
    return VALIDATOR


@pytest.mark.parametrize("tileset", ["blockgroups", "tracts", "neighborhoods", "hex"])
def test_style_is_valid_maplibre(validator, client, tileset, tmp_path):
    path = tmp_path / f"{tileset}.json"
    path.write_bytes(client.get(f"/styles/{tileset}.json", base_url="http://maps.test").data)
    result = subprocess.run([validator, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tileset", ["blockgroups", "tracts", "neighborhoods", "hex"])
def test_static_export_style_is_valid_maplibre(validator, durham_site, tileset):
    """The static site's styles, whose source is a relative `pmtiles://` URL."""
    result = subprocess.run(
        [validator, str(durham_site / "styles" / f"{tileset}.json")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
