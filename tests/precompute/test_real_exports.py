"""A police export in each vocabulary, as it comes, builds with no flag but the output directory."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from crimetiles.cli import main

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
EXPECTED = json.loads((EXPORTS / "expected.json").read_text(encoding="utf-8"))
REJECTED_BEFORE_CLASSIFYING = {
    "placeholder coordinates": 2,
    "date in the future": 1,
    "year outside the study years": 1,
    "outside all boundaries": 1,
}
"""The messy rows of every fixture (see its README): two at 0,0, one in 2099, one in 1920, one with
lat/lon swapped."""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_export_builds_with_no_flags(tmp_path, name):
    expected = EXPECTED[name]
    out = tmp_path / "build"
    result = CliRunner().invoke(main, ["build", str(EXPORTS / name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (summary,) = report["inputs"]
    unmatched = expected["empty_offense"] + sum(expected["unknown_values"].values())
    assert summary["columns"]["offense"] == expected["offense_column"]
    assert report["classification"]["rule_set"] == expected["rule_set"]
    assert summary["rejected_by_reason"] == {**REJECTED_BEFORE_CLASSIFYING, "unknown offense": unmatched}
    assert summary["rows_read"] == expected["rows"] == summary["rows_used"] + summary["rows_rejected"]
    messy = expected["messy_rows"]
    dropped = {*messy["zero_coordinates"], *messy["future_date_2099"], *messy["stray_year_1920"], *messy["swapped_lat_lon"]}
    violent = len(set(expected["violent_rows"]) - dropped)
    assert sum(report["violent_by_year"].values()) == violent
    assert int(gpd.read_parquet(out / "layers" / "blockgroups.parquet")["violent_count"].sum()) == violent
    assert report["average_years"] == 6
    assert any("1 row dated 1920, outside the study years 2018-2023" in warning for warning in report["warnings"])
    assert f"classification: {expected['rule_set']}" in result.output
