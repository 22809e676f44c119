"""Real export layouts build with no column flag: the columns chosen are said and recorded, and
every row is accounted for. Fixtures: tests/fixtures/layouts/ (points inside Durham block groups,
so a misread coordinate would show as a row outside all boundaries)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from tests.precompute.conftest import BLOCKGROUPS

LAYOUTS = Path(__file__).resolve().parent.parent / "fixtures" / "layouts"

CITY_RULES = ("--classification", LAYOUTS / "city_offenses.csv")


def _columns(coordinates, lat, lon, point, date, date_kind, offense, incident_id):
    return {
        "coordinates": coordinates,
        "lat": lat,
        "lon": lon,
        "point": point,
        "date": date,
        "date_kind": date_kind,
        "offense": offense,
        "incident_id": incident_id,
    }


LAYOUT_CASES = {
    "chicago": (
        ("chicago.csv", *CITY_RULES),
        (28, 24, {"missing coordinates": 2, "unknown offense": 1, "duplicate incident id": 1}, 9),
        _columns("lat/lon columns", "Latitude", "Longitude", None, "Date", "occurred", "Primary Type", "Case Number"),
    ),
    "nyc": (
        ("nyc.csv", *CITY_RULES),
        (26, 25, {"missing coordinates": 1}, 10),
        _columns("lat/lon columns", "Latitude", "Longitude", None, "RPT_DT", "reported", "OFNS_DESC", "CMPLNT_NUM"),
    ),
    "nyc, occurrence date": (
        ("nyc.csv", "--date", "occurred", *CITY_RULES),
        (26, 24, {"missing coordinates": 1, "missing or unparseable date": 1}, 10),
        _columns("lat/lon columns", "Latitude", "Longitude", None, "CMPLNT_FR_DT", "occurred", "OFNS_DESC", "CMPLNT_NUM"),
    ),
    "los angeles": (
        ("la.csv", *CITY_RULES),
        (27, 24, {"placeholder coordinates": 2, "date in the future": 1}, 9),
        _columns("lat/lon columns", "LAT", "LON", None, "Date Rptd", "reported", "Crm Cd Desc", "DR_NO"),
    ),
    "excel": (
        ("excel.csv",),
        (23, 20, {"missing coordinates": 2, "placeholder coordinates": 1}, 10),
        _columns("lat/lon columns", "LATITUDE", "LONGITUDE", None, "DATE_REPT", "reported", "UCR_CODE", "INCI_ID"),
    ),
    "wkt": (
        ("wkt.csv",),
        (22, 20, {"missing coordinates": 1, "unparseable coordinates": 1}, 10),
        _columns("point column", None, None, "the_geom", "reported_date", "reported", "offense_code", "incident_id"),
    ),
    "geojson points": (
        ("geojson_points.csv",),
        (12, 12, {}, 6),
        _columns("point column", None, None, "location", "report_date", "reported", "ucr_code", "objectid"),
    ),
    "state plane feet": (
        ("stateplane_feet.csv", "--crs", "EPSG:2264"),
        (21, 20, {"placeholder coordinates": 1}, 10),
        _columns("lat/lon columns", "POINT_Y", "POINT_X", None, "REPORT_DATE", "reported", "UCR_CODE", "INCIDENT_ID"),
    ),
    "swapped, flag": (
        ("swapped.csv", "--swap-lat-lon"),
        (20, 20, {}, 10),
        _columns("lat/lon columns", "latitude", "longitude", None, "date_rept", "reported", "ucr_code", "inci_id"),
    ),
    "kansas city": (
        ("kansas_city.csv",),
        (12, 11, {"duplicate incident id": 1}, 8),
        _columns("point column", None, None, "Location", "Reported_Date", "reported", "Offense", "Report_No"),
    ),
    "latin-1": (
        ("latin1.csv",),
        (6, 6, {}, 3),
        _columns("point column", None, None, "geo_point_2d", "date_rept", "reported", "ucr_code", "inci_id"),
    ),
}


@pytest.mark.parametrize("case", LAYOUT_CASES)
def test_layout_builds_with_no_column_flag(build_cli, case):
    (name, *flags), (read, used, rejected, violent), columns = LAYOUT_CASES[case]
    build = build_cli(LAYOUTS / name, *flags)
    assert build.exit_code == 0, build.stderr
    (summary,) = build.report["inputs"]
    assert (summary["rows_read"], summary["rows_used"], summary["rejected_by_reason"]) == (read, used, rejected)
    assert summary["rows_rejected"] == read - used == len(build.rejects)
    assert build.rejects["reason"].value_counts().to_dict() == rejected
    assert {k: v for k, v in summary["columns"].items() if k != "detected"} == columns
    assert summary["columns"]["detected"] == ["coordinates", "date", "incident_id", "offense"]
    blockgroups = gpd.read_parquet(build.out / "layers" / "blockgroups.parquet")
    assert int(blockgroups["violent_count"].sum()) == violent


def test_console_says_which_columns_were_detected(build_cli):
    build = build_cli(LAYOUTS / "la.csv", *CITY_RULES)
    line = f"{LAYOUTS / 'la.csv'}: coordinates LAT, LON; date Date Rptd (report date); offense Crm Cd Desc; incident id DR_NO"
    assert line in build.stderr.splitlines()


def test_given_columns_are_marked_and_win(build_cli):
    build = build_cli(LAYOUTS / "swapped.csv", "--lat-col", "longitude", "--lon-col", "latitude", "--id-col", "")
    assert build.exit_code == 0, build.stderr
    (summary,) = build.report["inputs"]
    assert (summary["rows_used"], summary["columns"]["lat"], summary["columns"]["lon"]) == (20, "longitude", "latitude")
    assert summary["columns"]["incident_id"] is None
    assert summary["columns"]["detected"] == ["date", "offense"]
    assert (
        f"{LAYOUTS / 'swapped.csv'}: coordinates longitude, latitude (given); date date_rept (report date); "
        "offense ucr_code; incident id none, so duplicates are not detected (given)"
    ) in build.stderr.splitlines()


def test_projected_x_y_columns_give_the_same_counts_as_lat_lon(build_cli):
    """The Chicago-like file holds each point twice: Latitude/Longitude and X/Y Coordinate in
    NC State Plane feet. With --crs, x/y are preferred, reprojected, and land in the same block groups."""
    degrees = build_cli(LAYOUTS / "chicago.csv", *CITY_RULES)
    feet = build_cli(LAYOUTS / "chicago.csv", "--crs", "EPSG:2264", *CITY_RULES)
    assert (feet.report["inputs"][0]["columns"]["lat"], feet.report["inputs"][0]["columns"]["lon"]) == (
        "Y Coordinate",
        "X Coordinate",
    )
    by_degrees = gpd.read_parquet(degrees.out / "layers" / "blockgroups.parquet").set_index("id")["violent_count"]
    by_feet = gpd.read_parquet(feet.out / "layers" / "blockgroups.parquet").set_index("id")["violent_count"]
    assert by_feet.to_dict() == by_degrees.to_dict()
    assert by_feet.sum() == 9


def test_swapped_coordinates_stop_the_build_and_name_the_fix(build_cli):
    build = build_cli(LAYOUTS / "swapped.csv")
    assert build.error == (
        f"Error: {LAYOUTS / 'swapped.csv'}: latitude and longitude look swapped: 0 of 20 points fall inside the "
        "boundaries, 20 would with latitude and longitude exchanged; pass --swap-lat-lon "
        "(or --lat-col 'longitude' --lon-col 'latitude')"
    )
    assert not build.out.exists()


def test_projected_coordinates_read_as_degrees_stop_the_build(build_cli):
    build = build_cli(LAYOUTS / "stateplane_feet.csv")
    assert build.error.startswith(f"Error: {LAYOUTS / 'stateplane_feet.csv'}: 20 of 20 points are outside longitude/latitude")
    assert build.error.endswith(
        "these look like projected coordinates (feet or metres); give the CRS with --crs EPSG:NNNN "
        "(e.g. EPSG:2264, North Carolina State Plane feet)"
    )


def _blockgroup(build, blockgroup_id="370630017074"):
    return gpd.read_parquet(build.out / "layers" / "blockgroups.parquet").set_index("id").loc[blockgroup_id]


def test_stray_year_is_rejected_outside_the_study_years(build_cli):
    """stray_year.csv: 20 simple assaults a year 2018-2023 in one block group, and one in 1920."""
    build = build_cli(LAYOUTS / "stray_year.csv")
    warning = "1 row dated 1920, outside the study years 2018-2023, rejected; pass --years to keep them"
    assert build.report["warnings"] == [warning]
    assert f"warning: {warning}" in build.stderr.splitlines()
    (summary,) = build.report["inputs"]
    assert summary["rejected_by_reason"] == {"year outside the study years": 1}
    assert build.report["average_years"] == 6
    row = _blockgroup(build)
    assert (row["violent_count"], row["violent_count_2018"], "violent_count_1920" in row.index) == (120, 20, False)
    assert row["violent_per_sqmi"] == round(120 / 6 / row["area_sqmi"], 3)


@pytest.mark.parametrize(("years", "average_years"), [("2018-2023", 6), ("2017-2023", 7)])
def test_years_option_sets_the_average(build_cli, years, average_years):
    build = build_cli(LAYOUTS / "stray_year.csv", "--years", years)
    (summary,) = build.report["inputs"]
    assert summary["rejected_by_reason"] == {"year outside --years": 1}
    assert (build.report["warnings"], build.report["average_years"]) == ([], average_years)
    row = _blockgroup(build)
    assert row["violent_count"] == 120
    assert row["violent_per_sqmi"] == round(120 / average_years / row["area_sqmi"], 3)
    assert "violent_count_2017" not in row.index


def test_a_year_with_no_incident_inside_the_span_counts_in_the_average(build_cli, tmp_path):
    rows = (LAYOUTS / "stray_year.csv").read_text(encoding="utf-8").splitlines()
    kept = [rows[0], *(line for line in rows[1:] if line[11:15] in ("2018", "2020"))]
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    build = build_cli(path)
    assert build.report["average_years"] == 3
    row = _blockgroup(build)
    assert (row["violent_count"], "violent_count_2019" in row.index) == (40, False)
    assert row["violent_per_sqmi"] == round(40 / 3 / row["area_sqmi"], 3)


@pytest.fixture
def wards(tmp_path):
    """The block groups as a city publishes its wards: upper-case fields `WARD_NO` and `NAME`."""
    frame = gpd.read_file(BLOCKGROUPS).rename(columns={"id": "WARD_NO"})
    frame["NAME"] = "Ward " + frame["WARD_NO"].str[-4:]
    path = tmp_path / "wards.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def test_boundary_fields_match_ignoring_case_and_punctuation(build_cli, wards):
    build = build_cli(LAYOUTS / "stray_year.csv", "-b", f"wards={wards}", "--id-field", "Ward No")
    assert build.exit_code == 0, build.stderr
    layer = gpd.read_parquet(build.out / "layers" / "wards.parquet").set_index("id")
    assert (layer.loc["370630017074", "name"], layer.loc["370630017074", "violent_count"]) == ("Ward 7074", 120)


def test_an_ambiguous_boundary_field_is_an_error_naming_the_candidates(build_cli, wards, tmp_path):
    frame = gpd.read_file(wards)
    frame["Name"] = frame["NAME"]
    frame.to_file(tmp_path / "twice.geojson", driver="GeoJSON")
    build = build_cli(LAYOUTS / "stray_year.csv", "-b", f"wards={tmp_path / 'twice.geojson'}", "--id-field", "ward_no")
    assert build.error == (
        f"Error: {tmp_path / 'twice.geojson'}: several fields match 'name' (NAME, Name); pass --name-field with one of "
        "them exactly"
    )


def test_a_missing_boundary_field_is_an_error_naming_the_fields(build_cli, wards):
    build = build_cli(LAYOUTS / "stray_year.csv", "-b", f"wards={wards}", "--id-field", "GEOID")
    assert build.error == f"Error: {wards}: no id field 'GEOID' (fields: WARD_NO, NAME); pass --id-field"
    build = build_cli(LAYOUTS / "stray_year.csv", "-b", f"wards={wards}", "--id-field", "ward_no", "--name-field", "label")
    assert build.error == f"Error: {wards}: no name field 'label' (fields: WARD_NO, NAME); pass --name-field"
