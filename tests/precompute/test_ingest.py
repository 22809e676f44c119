"""Bad input: every rejected row reported with its reason; unusable files give one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Polygon, box

from crimetiles.cli import main
from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.chunks import IncidentSource
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.ingest import parse_dates, read_boundaries
from crimetiles.precompute.reasons import Reason

ROOT = Path(__file__).resolve().parents[2]

HEADER = "inci_id,date_rept,ucr_code,geo_point_2d\n"
INSIDE = "0.5, 0.5"  # lat, lon inside the unit square boundary below
BAD_ROWS = [
    ("1", "2014-03-01", "0810", INSIDE, None),
    ("2", "03/02/2014", "0610", INSIDE, None),
    ("3", "2014-03-01", "0810", "abc", "unparseable coordinates"),
    ("4", "2014-03-01", "0810", "", "missing coordinates"),
    ("5", "2014-03-01", "0810", "0, 0", "placeholder coordinates"),
    ("6", "2014-03-01", "0810", "95.0, 10.0", "coordinates out of range"),
    ("7", "", "0810", INSIDE, "missing or unparseable date"),
    ("8", "yesterday", "0810", INSIDE, "missing or unparseable date"),
    ("9", "2014-03-01", "9999", INSIDE, "unknown offense"),
    ("10", "2014-03-01", "", INSIDE, "unknown offense"),
    ("1", "2014-03-04", "0810", INSIDE, "duplicate incident id"),
    ("12", "2014-03-01", "0810", "5.5, 5.5", "outside all boundaries"),
    ("13", "2015-07-01", "0310", INSIDE, None),
    ("14", "2099-01-01", "0810", INSIDE, "date in the future"),
    ("15", "2014-03-01", "0810", "REDACTED", "missing coordinates"),
    ("16", "2014-03-01", "0810", "-1, -1", "placeholder coordinates"),
    # Non-violent rows, so that the offense column is classified well enough (80 %) to build.
    ("17", "2016-05-01", "1410", INSIDE, None),
    ("18", "2016-05-02", "0510", INSIDE, None),
    ("19", "2016-05-03", "0710", INSIDE, None),
    ("20", "2016-05-04", "0610", INSIDE, None),
]


@pytest.fixture
def unit_square(tmp_path):
    path = tmp_path / "square.geojson"
    gpd.GeoDataFrame({"id": ["sq"], "label": ["Square"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture
def bad_rows_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(f'{i},{d},{o},"{p}"\n' for i, d, o, p, _ in BAD_ROWS))
    return path


def test_every_bad_row_is_reported_with_its_reason(tmp_path, bad_rows_csv, unit_square):
    options = BuildOptions(
        incidents=(bad_rows_csv,),
        boundaries=(BoundarySpec("square", unit_square),),
        out=tmp_path / "build",
        hex_resolutions=(),
        archive_maxzoom=-1,
        progress=False,
    )
    report = run_build(options).report
    (summary,) = report["inputs"]
    expected_reasons = pd.Series([r for *_, r in BAD_ROWS if r]).value_counts().to_dict()
    assert summary["rows_read"] == 20
    assert summary["rows_used"] == 7
    assert summary["rows_rejected"] == 13
    assert summary["rejected_by_reason"] == expected_reasons
    rejects = pd.read_csv(tmp_path / "build" / "rejects.csv", dtype=str, keep_default_na=False)
    assert list(rejects.columns) == ["source", "row", "reason", "detail", "incident_id"]
    by_row = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    assert by_row == {row: r for row, (*_, r) in enumerate(BAD_ROWS, start=1) if r}
    assert report["unknown_offenses"] == {"9999": 1, "": 1}
    assert report["categories"]["violent"]["simple assault"] == 1
    assert report["categories"]["violent"]["robbery"] == 1
    assert report["categories"]["property"]["larceny"] == 2
    assert report["classification"]["rule_set"] == "ucr"
    # chosen on the offense column of every row read: all but 9999 and the empty value match
    assert report["classification"]["match_rate"] == round(18 / 20, 4)
    assert report["violent_by_year"] == {"2014": 1, "2015": 1, "2016": 0}
    layer = gpd.read_parquet(tmp_path / "build" / "layers" / "square.parquet")
    assert layer[["violent_count_2014", "violent_count_2015", "violent_count_2016", "violent_count"]].iloc[0].tolist() == [
        1,
        1,
        0,
        2,
    ]


def test_years_option_rejects_other_years_after_the_checks_of_each_row(build_cli, bad_rows_csv, unit_square):
    build = build_cli(bad_rows_csv, "-b", f"square={unit_square}", "--years", "2015")
    assert build.exit_code == 0, build.stderr
    rows = build.rejects.groupby("reason")["row"].agg(lambda row: row.astype(int).tolist())
    assert rows["year outside --years"] == [1, 2, 9, 10, 11, 12, 17, 18, 19, 20]
    assert rows["date in the future"] == [14]
    (summary,) = build.report["inputs"]
    assert summary["rows_read"] == 20 == summary["rows_used"] + len(build.rejects)
    assert summary["rows_used"] == 1


def test_generic_layout_with_lat_lon_columns(build_cli, tmp_path):
    path = tmp_path / "generic.csv"
    path.write_text("when,what,y,x\n2016-01-02,0410,0.25,0.75\n2016-01-03,0410,bad,0.75\n")
    halves = tmp_path / "halves.geojson"
    corners = gpd.GeoDataFrame({"id": ["south-east", "north-west"]}, geometry=[box(0.5, 0, 1, 0.5), box(0, 0.5, 0.5, 1)])
    corners.set_crs("EPSG:4326").to_file(halves)
    given = ["--date-col", "when", "--offense-col", "what", "--id-col", "", "--lat-col", "y", "--lon-col", "x"]
    build = build_cli(path, "-b", f"halves={halves}", *given)
    assert build.exit_code == 0, build.stderr
    layer = gpd.read_parquet(build.out / "layers" / "halves.parquet")
    assert layer.set_index("id")["violent_count_2016"].to_dict() == {"south-east": 1, "north-west": 0}  # rows in spatial order
    assert build.report["categories"]["violent"]["aggravated assault"] == 1
    assert build.rejects[["row", "reason", "detail"]].values.tolist() == [["2", "unparseable coordinates", "bad, 0.75"]]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".parquet"])
def test_point_geometry_input(build_cli, tmp_path, suffix):
    """Points in another CRS (web mercator), read from their geometry and reprojected: each
    falls in its own micro-degree square."""
    path = tmp_path / f"points{suffix}"
    lon, lat = [0.2, 0.4], [0.3, 0.6]
    points = gpd.GeoDataFrame(
        {"inci_id": ["a", "b"], "date_rept": ["2013-05-05", "2013-05-06"], "ucr_code": ["0310", "0810"]},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    if suffix == ".parquet":
        points.to_parquet(path)
    else:
        points.to_file(path)
    squares = tmp_path / "squares.geojson"
    around = [box(x - 1e-6, y - 1e-6, x + 1e-6, y + 1e-6) for x, y in zip(lon, lat, strict=True)]
    gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=around, crs="EPSG:4326").to_file(squares)
    build = build_cli(path, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    layer = gpd.read_parquet(build.out / "layers" / "squares.parquet")
    assert layer[["id", "violent_count_2013"]].values.tolist() == [["a", 1], ["b", 1]]
    assert build.rejects.empty


def test_missing_column_is_one_clear_error(tmp_path, bad_rows_csv, unit_square):
    result = CliRunner().invoke(
        main, ["build", str(bad_rows_csv), "-b", f"sq={unit_square}", "--date-col", "occurred", "-o", str(tmp_path / "b")]
    )
    assert result.exit_code == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"Error: {bad_rows_csv}: missing column(s) occurred (columns: inci_id, date_rept, ucr_code, geo_point_2d)"
    )
    assert not (tmp_path / "b").exists()


def test_malformed_boundary_file_is_one_clear_error(tmp_path, bad_rows_csv):
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    result = CliRunner().invoke(main, ["build", str(bad_rows_csv), "-b", f"x={broken}", "-o", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"Error: {broken}: cannot read boundaries")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_boundary_without_crs_is_refused(tmp_path):
    path = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(InputError, match="no CRS"):
        read_boundaries("nocrs", path)


def test_invalid_boundary_is_repaired_and_reported(tmp_path):
    path = tmp_path / "bowtie.geojson"
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gpd.GeoDataFrame({"id": ["bow"], "name": ["Bow"]}, geometry=[bowtie], crs="EPSG:4326").to_file(path)
    layer = read_boundaries("bow", path)
    assert layer.frame.geometry.is_valid.all()
    assert layer.frame.geometry.to_crs(3857).area.iloc[0] > 0
    assert layer.warnings == (f"{path}: 1 invalid geometries repaired with make_valid",)


def test_unknown_boundary_id_field(tmp_path, unit_square):
    with pytest.raises(InputError, match="no id field 'GEOID'"):
        read_boundaries("sq", unit_square, id_field="GEOID")


def test_report_json_balances(tmp_path, bad_rows_csv, unit_square):
    options = BuildOptions(
        incidents=(bad_rows_csv,),
        boundaries=(BoundarySpec("square", unit_square),),
        out=tmp_path / "build",
        hex_resolutions=(8,),
        archive_maxzoom=-1,
        progress=False,
    )
    run_build(options)
    report = json.loads((tmp_path / "build" / "report.json").read_text())
    for summary in report["inputs"]:
        assert summary["rows_read"] == summary["rows_used"] + summary["rows_rejected"]
        assert sum(summary["rejected_by_reason"].values()) == summary["rows_rejected"]


def test_file_with_no_usable_row_is_one_clear_error(tmp_path, unit_square):
    path = tmp_path / "hopeless.csv"
    path.write_text(HEADER + '1,2014-03-01,0810,"nowhere"\n2,,0810,"0.5, 0.5"\n')
    result = CliRunner().invoke(main, ["build", str(path), "-b", f"sq={unit_square}", "-o", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {path}: no usable incident rows (2 read, all rejected: unparseable coordinates 1, missing or unparseable date 1)"
    )
    assert not (tmp_path / "b").exists()


def test_incident_in_two_overlapping_exports_of_one_source_counts_once(tmp_path, unit_square):
    january = tmp_path / "january.csv"
    january.write_text(HEADER + '1,2014-01-05,0810,"0.5, 0.5"\n2,2014-01-06,0810,"0.5, 0.5"\n')
    overlap = tmp_path / "jan-feb.csv"
    overlap.write_text(HEADER + '2,2014-01-06,0810,"0.5, 0.5"\n3,2014-02-01,0310,"0.5, 0.5"\n')
    options = BuildOptions(
        incidents=(),
        sources=(IncidentSource("police", (january, overlap)),),
        boundaries=(BoundarySpec("square", unit_square),),
        out=tmp_path / "build",
        hex_resolutions=(),
        archive_maxzoom=-1,
        progress=False,
    )
    report = run_build(options).report
    first, second = report["inputs"]
    assert (first["rows_used"], first["rows_rejected"]) == (2, 0)
    assert (second["rows_used"], second["rows_rejected"]) == (1, 1)
    assert second["rejected_by_reason"] == {"duplicate incident id": 1}
    rejects = pd.read_csv(tmp_path / "build" / "rejects.csv", dtype=str)
    assert rejects[["source", "row", "detail", "incident_id"]].values.tolist() == [[str(overlap), "1", f"also in {january}", "2"]]
    assert report["violent_by_year"] == {"2014": 3}


def test_missing_point_geometry_is_rejected_with_its_reason(build_cli, tmp_path, unit_square):
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(
        {"inci_id": ["a", "b"], "date_rept": ["2013-05-05", "2013-05-06"], "ucr_code": ["0310", "0810"]},
        geometry=[None, shapely.Point(0.4, 0.6)],
        crs="EPSG:4326",
    ).to_file(path)
    build = build_cli(path, "-b", f"square={unit_square}")
    assert build.exit_code == 0, build.stderr
    assert build.rejects[["row", "reason", "detail", "incident_id"]].values.tolist() == [
        ["1", "missing coordinates", "empty geometry", "a"]
    ]
    assert build.report["inputs"][0]["rows_used"] == 1


@pytest.mark.parametrize(
    ("document", "introduction"),
    [("README.md", "A row is\n  rejected for the first of these reasons"), ("docs/artifact.md", "Reasons, each row getting")],
)
def test_documents_list_every_reject_reason_in_the_order_checked(document, introduction):
    text = (ROOT / document).read_text(encoding="utf-8")
    assert introduction in text
    listing = text.split(introduction, 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\s*- `([^`]+)`", listing, flags=re.MULTILINE) == [str(reason) for reason in Reason]


def test_blank_incident_ids_are_not_duplicates(build_cli, tmp_path, unit_square):
    path = tmp_path / "blank-ids.csv"
    path.write_text(HEADER + '"",2014-03-01,0810,"0.5, 0.5"\n"",2014-03-02,0810,"0.5, 0.5"\n7,2014-03-03,0810,"0.5, 0.5"\n')
    build = build_cli(path, "-b", f"square={unit_square}")
    assert build.exit_code == 0, build.stderr
    assert build.rejects.empty
    assert build.report["inputs"][0]["rows_used"] == 3


def test_parse_dates_of_a_column_is_each_values_own_parse():
    """Each distinct text is parsed once: the answer is still that of every value alone."""
    values = [
        "2013-05-05", "2013-05-05T10:00:00Z", "2013-05-05T10:00:00.123+02:00", "05/06/2014", "05/06/2014 10:11:12 PM",
        "05/06/2014 22:11", "1019-05-05", "garbage", "2015-02-30", "", " 2014-01-01 ", "March 3, 2015", "nan", None,
    ]  # fmt: skip
    column = pd.Series(np.random.default_rng(1).choice(np.array(values, dtype=object), 500), index=range(7, 507), dtype=str)
    alone = [parse_dates(pd.Series([value], dtype=str)).iloc[0] for value in column]
    parsed = parse_dates(column)
    assert parsed.index.equals(column.index)
    assert [None if pd.isna(date) else date for date in parsed] == [None if pd.isna(date) else date for date in alone]
    assert parsed.isna().sum() == column.isin(["1019-05-05", "garbage", "2015-02-30", "", "nan"]).sum() + column.isna().sum()
