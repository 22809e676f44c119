"""The `crimetiles` command as a user runs it: real processes, real files."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crimetiles.cli import main

CRIMETILES = [sys.executable, "-m", "crimetiles"]


def test_every_option_of_every_subcommand_is_explained():
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"crimetiles {name} {param.opts[0]} has no help"


def test_export_long_csv(durham_build):
    result = CliRunner().invoke(main, ["export", str(durham_build), "--layer", "tracts"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "layer",
        "id",
        "name",
        "year",
        "violent_count",
        "area_sqmi",
        "violent_per_sqmi",
        "violent_per_sqmi_low",
        "violent_per_sqmi_high",
        "unstable",
        "suppressed",
    ]
    assert len(rows) == 60 * 6
    assert {row["year"] for row in rows} == {"2012", "2013", "2014", "2015", "2016", "all"}
    first = [row for row in rows if row["id"] == rows[0]["id"]]
    yearly = [int(row["violent_count"]) for row in first if row["year"] != "all"]
    (all_years,) = [row for row in first if row["year"] == "all"]
    assert int(all_years["violent_count"]) == sum(yearly)
    assert float(all_years["violent_per_sqmi"]) == pytest.approx(sum(yearly) / 5 / float(all_years["area_sqmi"]), abs=1e-3)


def test_export_geojson_one_year(durham_build, tmp_path):
    out = tmp_path / "bg.geojson"
    result = CliRunner().invoke(
        main, ["export", str(durham_build), "-l", "blockgroups", "-f", "geojson", "--year", "2014", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    collection = json.loads(out.read_text())
    assert len(collection["features"]) == 153
    assert set(collection["features"][0]["properties"]) == {
        "id",
        "name",
        "year",
        "area_sqmi",
        "violent_count",
        "violent_per_sqmi",
        "violent_per_sqmi_low",
        "violent_per_sqmi_high",
        "unstable",
        "suppressed",
    }


def test_export_unknown_layer_is_a_clear_error(durham_build):
    result = CliRunner().invoke(main, ["export", str(durham_build), "-l", "wards"])
    assert result.exit_code == 1
    assert "no layer 'wards'" in result.stderr and "Traceback" not in result.stderr


def test_inspect_decodes_a_tile(durham_build):
    result = CliRunner().invoke(main, ["inspect", str(durham_build), "13/2300/3216", "-t", "tracts"])
    assert result.exit_code == 0, result.output
    decoded = json.loads(result.stdout)
    assert decoded["tracts"]["extent"] == 4096 and decoded["tracts"]["features"]


@pytest.mark.parametrize(
    ("tile", "message"),
    [
        ("30/0/0", "zoom 30 is outside 0..22"),
        ("3/8/0", "x and y must be within 0..7 at zoom 3"),
        ("١٢/0/0", "z must be"),
        ("12/1143", "expected Z/X/Y"),
    ],
)
def test_inspect_outside_the_tile_grid_is_an_error_as_the_server_says_404(durham_build, tile, message):
    result = CliRunner().invoke(main, ["inspect", str(durham_build), tile])
    assert result.exit_code != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_inspect_of_an_empty_tile_prints_an_empty_object(durham_build):
    result = CliRunner().invoke(main, ["inspect", str(durham_build), "3/0/0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {}


def _staging_dirs(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(".build.tmp-")]


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT to its default in the build, as in a terminal, even when this test runs with it
    ignored (a background job): Python then makes it `KeyboardInterrupt`."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_mid_build_leaves_previous_build_intact(durham_build, durham_incidents, tmp_path):
    out = tmp_path / "build"
    subprocess.run(
        [*CRIMETILES, "build", str(durham_incidents), "-o", str(out), "-q", "--hex-res", "", "--archive-maxzoom", "-1"],
        check=True,
    )
    manifest_before = (out / "manifest.json").read_text()
    process = subprocess.Popen(
        [*CRIMETILES, "build", str(durham_incidents), "-o", str(out), "-q", "--archive-maxzoom", "16"],
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    deadline = time.monotonic() + 60
    while not _staging_dirs(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the build finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) != 0
    assert (out / "manifest.json").read_text() == manifest_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".build.lock", os.readlink(out), "build"]
