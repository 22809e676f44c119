"""Sources are agencies: incident ids are unique within a source, never across sources. Each file
is a source unless `--source NAME=PATH` gathers an agency's files; every source's rows are
reported, and a source that mostly repeats another is a warning naming both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from crimetiles.cli import main
from tests.precompute.conftest import BuildCli

POLICE = """inci_id,date_rept,ucr_code,geo_point_2d
1,2014-03-01,0810,"0.5, 0.5"
2,2014-03-02,0310,"0.5, 1.5"
3,2015-01-02,0810,"0.5, 1.5"
4,2015-01-03,0610,"0.5, 0.5"
"""
SHERIFF = """Case Number,Report Date,UCR Code,Offense Description,Latitude,Longitude
1,03/05/2014 10:00,0410,ASSAULT - AGGRAVATED,0.4,0.4
2,06/05/2014 11:00,0810,ASSAULT - SIMPLE,0.4,1.4
3,01/09/2015 09:30,0810,ASSAULT - SIMPLE,0.4,1.4
"""
"""The sheriff's layout and numbering differ from the police's; its ids 1-3 are police ids too."""


@pytest.fixture
def squares(tmp_path: Path) -> Path:
    """Two unit squares side by side: west (longitude 0-1) and east (1-2)."""
    path = tmp_path / "squares.geojson"
    gpd.GeoDataFrame({"id": ["west", "east"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326").to_file(path)
    return path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _violent_counts(out: Path) -> dict[str, list[int]]:
    layer = gpd.read_parquet(out / "layers" / "squares.parquet").set_index("id")
    return {geoid: [int(row["violent_count_2014"]), int(row["violent_count_2015"])] for geoid, row in layer.iterrows()}


def test_two_agencies_with_overlapping_ids_both_count_fully(tmp_path, squares, build_cli: BuildCli):
    police, sheriff = _write(tmp_path / "police.csv", POLICE), _write(tmp_path / "sheriff.csv", SHERIFF)
    build = build_cli(police, sheriff, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    assert _violent_counts(build.out) == {"west": [1 + 1, 0], "east": [1 + 1, 1 + 1]}
    assert build.rejects.empty
    assert build.report["sources"] == [
        {"name": "police", "files": [str(police)], "rows_read": 4, "rows_used": 4, "rows_rejected": 0, "rejected_by_reason": {}},
        {
            "name": "sheriff",
            "files": [str(sheriff)],
            "rows_read": 3,
            "rows_used": 3,
            "rows_rejected": 0,
            "rejected_by_reason": {},
        },
    ]
    lines = build.stderr.splitlines()
    assert "reading 2 incident file(s) from 2 source(s)" in lines
    assert f"{police}: 4 rows read = 4 used + 0 rejected" in lines and f"{sheriff}: 3 rows read = 3 used + 0 rejected" in lines
    assert not [line for line in lines if line.startswith("source ")]  # each source is its file: said once
    assert build.report["warnings"] == []


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_missing_offense_beside_another_agency_is_rejected_and_counted(tmp_path, squares, build_cli: BuildCli, suffix):
    """With two sources the first pass hashes each id with its offense (to find a source given
    twice): a row without an offense (empty in a CSV, null in Parquet) is rejected as an unknown
    offense, never a traceback."""
    police = _write(tmp_path / "police.csv", POLICE + '5,2015-01-04,,"0.5, 0.5"\n')
    if suffix == "parquet":
        frame = pd.read_csv(police, dtype=str, keep_default_na=False).replace({"ucr_code": {"": None}})
        police = tmp_path / "police.parquet"
        frame.to_parquet(police)
    build = build_cli(police, _write(tmp_path / "sheriff.csv", SHERIFF), "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    assert _violent_counts(build.out) == {"west": [1 + 1, 0], "east": [1 + 1, 1 + 1]}
    assert build.rejects[["row", "reason"]].values.tolist() == [["5", "unknown offense"]]
    assert build.report["sources"][0]["rows_rejected"] == 1


def test_a_source_of_several_files_still_finds_duplicates_among_them(tmp_path, squares, build_cli: BuildCli):
    """`--source` beside an INCIDENTS file; one NAME repeated gathers its paths, a folder among them."""
    january = _write(tmp_path / "police" / "january.csv", POLICE)
    february = _write(tmp_path / "more" / "february.csv", POLICE.replace("4,2015-01-03", "5,2015-02-03"))
    sheriff = _write(tmp_path / "sheriff.csv", SHERIFF)
    build = build_cli(
        sheriff, "--source", f"police={january.parent}", "--source", f"police={february}", "-b", f"squares={squares}"
    )
    assert build.exit_code == 0, build.stderr
    assert [(s["name"], s["files"]) for s in build.report["sources"]] == [
        ("sheriff", [str(sheriff)]),
        ("police", [str(january), str(february)]),
    ]
    assert [summary["path"] for summary in build.report["inputs"]] == [str(sheriff), str(january), str(february)]
    police = build.report["sources"][1]
    assert (police["rows_read"], police["rows_used"], police["rows_rejected"]) == (8, 5, 3)
    assert police["rejected_by_reason"] == {"duplicate incident id": 3}
    duplicates = build.rejects[["source", "row", "detail", "incident_id"]].values.tolist()
    assert duplicates == [[str(february), str(row), f"also in {january}", str(row)] for row in (1, 2, 3)]
    assert _violent_counts(build.out) == {"west": [1 + 1, 0], "east": [1 + 1, 1 + 1]}
    lines = build.stderr.splitlines()
    assert "source police (2 file(s)): 8 rows read = 5 used + 3 rejected" in lines
    assert lines[lines.index("source police (2 file(s)): 8 rows read = 5 used + 3 rejected") + 1] == (
        "  rejected, duplicate incident id: 3"
    )


def test_a_build_of_one_file_has_one_source_and_no_source_lines(tmp_path, squares, build_cli: BuildCli):
    police = _write(tmp_path / "police.csv", POLICE)
    build = build_cli(police, "-b", f"squares={squares}")
    assert [(s["name"], s["files"], s["rows_read"]) for s in build.report["sources"]] == [("police", [str(police)], 4)]
    assert f"{police}: 4 rows read = 4 used + 0 rejected" in build.stderr.splitlines()
    assert not [line for line in build.stderr.splitlines() if line.startswith("source ")]


def test_files_sharing_a_name_are_sources_named_by_path(tmp_path, squares, build_cli: BuildCli):
    first, second = _write(tmp_path / "a" / "2014.csv", POLICE), _write(tmp_path / "b" / "2014.csv", SHERIFF)
    build = build_cli(first, second, "-b", f"squares={squares}")
    assert [source["name"] for source in build.report["sources"]] == [str(first), str(second)]


def test_a_folder_of_incidents_is_a_source_per_file(tmp_path, squares, build_cli: BuildCli):
    _write(tmp_path / "exports" / "police.csv", POLICE)
    _write(tmp_path / "exports" / "sheriff.csv", SHERIFF)
    build = build_cli(tmp_path / "exports", "-b", f"squares={squares}")
    assert [source["name"] for source in build.report["sources"]] == ["police", "sheriff"]
    assert _violent_counts(build.out) == {"west": [2, 0], "east": [2, 2]}


def test_one_export_given_twice_is_a_warning_naming_both(tmp_path, squares, build_cli: BuildCli):
    police = _write(tmp_path / "police.csv", POLICE)
    shutil.copy(police, tmp_path / "police_copy.csv")
    build = build_cli(police, tmp_path / "police_copy.csv", _write(tmp_path / "sheriff.csv", SHERIFF), "-b", f"squares={squares}")
    warning = (
        "source police_copy: 100 % of its incidents have the id and offense of an incident of source police; "
        "is one export given twice, under two names? (files of one agency: --source NAME=PATH)"
    )
    assert build.report["warnings"] == [warning]
    assert f"warning: {warning}" in build.stderr.splitlines()


@pytest.mark.parametrize(("shared", "warned"), [(2, False), (3, True)])
def test_the_warning_needs_more_than_half_of_a_sources_incidents(tmp_path, squares, build_cli: BuildCli, shared, warned):
    """Of the copy's 4 incidents, `shared` have the id and offense of a police incident (the others
    another offense): a half is not enough."""
    police = _write(tmp_path / "police.csv", POLICE)
    rows = POLICE.splitlines(keepends=True)
    changed = [",".join([*row.split(",", 3)[:2], "0420", row.split(",", 3)[3]]) for row in rows[1 + shared :]]
    copy = _write(tmp_path / "copy.csv", "".join(rows[: 1 + shared] + changed))
    build = build_cli(police, copy, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    assert [w.split(":")[0] for w in build.report["warnings"]] == (["source copy"] if warned else [])


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            ["{police}", "--source", "p={police}"],
            "Error: {police}: given twice (in sources police and p): each file belongs to one source",
        ),
        (["{police}", "{police}"], "Error: {police}: given twice (in source {police}): each file belongs to one source"),
        (
            ["--source", "p={folder}", "--source", "p={police}"],
            "Error: {police}: given twice (in source p): each file belongs to one source",
        ),
    ],
)
def test_a_file_in_two_sources_is_a_one_line_error(tmp_path, squares, build_cli: BuildCli, arguments, error):
    police = _write(tmp_path / "exports" / "police.csv", POLICE)
    words = [a.format(police=police, folder=police.parent) for a in arguments]
    build = build_cli(*words, "-b", f"squares={squares}")
    assert build.error == error.format(police=police)
    assert not build.out.exists()


def test_a_build_without_incidents_says_what_to_give(tmp_path, squares):
    result = CliRunner().invoke(main, ["build", "-b", f"squares={squares}", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "Error: no incidents: give INCIDENTS files or --source NAME=PATH"


def test_a_source_without_a_name_is_refused(tmp_path, squares):
    result = CliRunner().invoke(main, ["build", "--source", "police.csv", "-b", f"squares={squares}"])
    assert result.exit_code == 2
    assert "Invalid value for --source: 'police.csv': expected NAME=PATH" in result.stderr


def test_the_archived_tiles_count_both_sources(tmp_path, squares):
    """A tile of the archive, decoded with `crimetiles inspect`, counts both agencies' incidents."""
    police, sheriff = _write(tmp_path / "police.csv", POLICE), _write(tmp_path / "sheriff.csv", SHERIFF)
    out = tmp_path / "build"
    runner = CliRunner()
    built = runner.invoke(
        main,
        [
            "build",
            str(police),
            str(sheriff),
            "-b",
            f"squares={squares}",
            "-o",
            str(out),
            "--hex-res",
            "",
            "--archive-maxzoom",
            "3",
        ],
    )
    assert built.exit_code == 0, built.stderr
    assert json.loads((out / "manifest.json").read_text())["tilesets"]["squares"]["archive"]["maxzoom"] == 3
    decoded = runner.invoke(main, ["inspect", str(out), "3/4/3", "-t", "squares"])
    assert decoded.exit_code == 0, decoded.stderr
    counts = {
        f["properties"]["id"]: (f["properties"]["violent_count_2014"], f["properties"]["violent_count_2015"])
        for f in json.loads(decoded.stdout)["squares"]["features"]
    }
    assert counts == {"west": (2, 0), "east": (2, 2)}


@pytest.mark.parametrize(("rows", "shared", "warned"), [(25_000, 10_000, False), (25_000, 15_000, True), (15_000, 15_000, True)])
def test_large_sources_are_compared_on_a_sample(tmp_path, build_cli: BuildCli, rows, shared, warned):
    """Chunks of over 20,000 rows keep a sample of their incidents, and a smaller one is compared
    on the same sample: a copy of the police's first `rows` rows, `shared` of them with the same
    offense (the rest another), beside the police's 40,000."""
    ids = [str(i) for i in range(40_000)]
    incidents = pd.DataFrame({"inci_id": ids, "date_rept": "2016-05-01", "ucr_code": "0810", "geo_point_2d": "35.99, -78.9"})
    incidents.to_csv(tmp_path / "police.csv", index=False)
    copy = incidents.iloc[:rows].assign(ucr_code=["0810"] * shared + ["0610"] * (rows - shared))
    copy.to_csv(tmp_path / "copy.csv", index=False)
    build = build_cli(tmp_path / "police.csv", tmp_path / "copy.csv")
    assert build.exit_code == 0, build.stderr
    assert [w.split(":")[0] for w in build.report["warnings"]] == (["source copy"] if warned else [])
