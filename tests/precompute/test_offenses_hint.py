"""A build of several files whose offense values the built-in rules mostly do not know stops and
prints the `crimetiles offenses` command for all of them: that command runs as printed (each path
quoted on its own) and lists the values of every file."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.precompute.synth import DURHAM_DATA_DIR

POLICE_OFFENSES = ["SIGNAL 9 CALL"] * 6 + ["ROBBERY"] * 2
SHERIFF_OFFENSES = ["DISPATCH 10-16"] * 5 + ["SIMPLE ASSAULT"] * 1


def _write_export(path: Path, offenses: list[str], prefix: str) -> None:
    """Incidents inside Durham's block groups, one per offense value given."""
    points = gpd.read_file(DURHAM_DATA_DIR / "blockgroups.geojson").geometry.representative_point()
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "case_number": [f"{prefix}{i}" for i in range(len(offenses))],
            "reported": [f"2020-03-{1 + i:02d} 10:00" for i in range(len(offenses))],
            "latitude": [round(points.iloc[i].y, 6) for i in range(len(offenses))],
            "longitude": [round(points.iloc[i].x, 6) for i in range(len(offenses))],
            "offense": offenses,
        }
    ).to_csv(path, index=False)


@pytest.fixture
def two_exports(tmp_path: Path) -> tuple[Path, Path]:
    police, sheriff = tmp_path / "city police" / "2020 export.csv", tmp_path / "sheriff" / "calls.csv"
    _write_export(police, POLICE_OFFENSES, "P")
    _write_export(sheriff, SHERIFF_OFFENSES, "S")
    return police, sheriff


def _rows_by_value(table: str) -> dict[str, int]:
    header, *lines = table.splitlines()
    assert re.split(r"\s{2,}", header) == ["value", "rows", "ucr", "nibrs", "text"]
    return {re.split(r"\s{2,}", line)[0]: int(re.split(r"\s{2,}", line)[1]) for line in lines}


def test_the_hint_for_two_files_runs_as_printed_and_lists_both_files_values(two_exports, tmp_path, monkeypatch):
    police, sheriff = two_exports
    build = CliRunner().invoke(main, ["build", str(police), str(sheriff), "--out", str(tmp_path / "build"), "--quiet"])
    assert build.exit_code == 1
    assert "only 21.4% of 14 rows have an offense value the text classification knows" in build.stderr
    hint = re.search(r"`(crimetiles offenses [^`]+)`", build.stderr).group(1)
    quoted = f"{shlex.quote(str(police))} {shlex.quote(str(sheriff))}"
    assert hint == f"crimetiles offenses {quoted} --offense-col offense --template my_offenses.csv"
    monkeypatch.chdir(tmp_path)
    command, *arguments = shlex.split(hint)
    assert command == "crimetiles"
    listed = CliRunner().invoke(main, arguments)
    assert listed.exit_code == 0, listed.output
    assert _rows_by_value(listed.stdout) == {"SIGNAL 9 CALL": 6, "DISPATCH 10-16": 5, "ROBBERY": 2, "SIMPLE ASSAULT": 1}
    assert f"{police}: offense column offense, 8 rows" in listed.stderr
    assert f"{sheriff}: offense column offense, 6 rows" in listed.stderr
    template = (tmp_path / "my_offenses.csv").read_text(encoding="utf-8")
    assert template.startswith("# Offense classification for 2020 export.csv, column offense; calls.csv, column offense.\n")
    assert "SIGNAL 9 CALL,unclassified,SIGNAL 9 CALL,6\n" in template
    assert "DISPATCH 10-16,unclassified,DISPATCH 10-16,5\n" in template


def test_offenses_takes_folders_and_quoted_glob_patterns_like_build(two_exports, tmp_path):
    police, sheriff = two_exports
    listed = CliRunner().invoke(main, ["offenses", str(police.parent), str(tmp_path / "sher*" / "*.csv")])
    assert listed.exit_code == 0, listed.output
    assert _rows_by_value(listed.stdout) == {"SIGNAL 9 CALL": 6, "DISPATCH 10-16": 5, "ROBBERY": 2, "SIMPLE ASSAULT": 1}
    missing = CliRunner().invoke(main, ["offenses", str(tmp_path / "nothing" / "*.csv")])
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: {tmp_path / 'nothing' / '*.csv'}: no file matches this pattern\n"
