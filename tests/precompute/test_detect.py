"""Column detection and coordinate parsing on small hand-written tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crimetiles.precompute.coordinates import CoordinateSource, read_coordinates
from crimetiles.precompute.detect import IncidentColumns, resolve_columns
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.ingest import read_table
from crimetiles.precompute.synth import COLUMNS as DURHAM_COLUMNS

PATH = Path("export.csv")
LAYOUTS = Path(__file__).resolve().parent.parent / "fixtures" / "layouts"


def _table(**columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=str)


def _durham_table() -> pd.DataFrame:
    """One row of the Durham export layout, every column filled as the police export fills it."""
    values = {column: "x" for column in DURHAM_COLUMNS}
    values.update(
        inci_id="2014000001",
        date_rept="2014-03-01",
        date_occu="2014-02-27",
        date_fnd="2014-02-27",
        csstatusdt="2014-03-20",
        addtime="2014-03-01T10:00:00",
        strdate="03/01/2014",
        ucr_code="0810",
        chrgdesc="SIMPLE ASSAULT",
        geo_point_2d="35.99, -78.9",
    )
    return _table(**{column: [value] for column, value in values.items()})


def test_durham_export_keeps_its_defaults():
    columns = resolve_columns(PATH, _durham_table(), IncidentColumns())
    assert columns.coordinates == CoordinateSource("point column", point="geo_point_2d")
    assert (columns.date, columns.date_kind, columns.offense, columns.incident_id) == (
        "date_rept",
        "reported",
        "ucr_code",
        "inci_id",
    )


def test_occurrence_date_on_request():
    columns = resolve_columns(PATH, _durham_table(), IncidentColumns(date_kind="occurred"))
    assert (columns.date, columns.date_kind) == ("date_occu", "occurred")


def test_given_column_found_whatever_its_case():
    columns = resolve_columns(PATH, _durham_table(), IncidentColumns(date="DATE_OCCU", offense="ChrgDesc"))
    assert (columns.date, columns.offense, columns.detected) == ("date_occu", "chrgdesc", {"coordinates", "incident_id"})


def test_latitude_names_with_prefixes_and_suffixes():
    table = _table(incident_lat=["35.9"], incident_long=["-78.9"], occurred=["2019-01-01"], offense=["0810"])
    columns = resolve_columns(PATH, table, IncidentColumns())
    assert (columns.coordinates.lat, columns.coordinates.lon) == ("incident_lat", "incident_long")
    assert (columns.date, columns.date_kind, columns.incident_id) == ("occurred", "occurred", None)


def test_text_in_a_column_named_like_longitude_is_not_a_coordinate():
    table = _table(lat=["35.9"], long_description=["SHOPLIFTING"], Location=["(35.9, -78.9)"], date=["2019-01-01"])
    table["offense"] = "0610"
    assert resolve_columns(PATH, table, IncidentColumns()).coordinates == CoordinateSource("point column", point="Location")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            _table(Location=["(35.9, -78.9)"], geo_point=["35.9, -78.9"], date=["2019-01-01"], offense=["0810"]),
            "several point columns (Location, geo_point); pass --point-col",
        ),
        (
            _table(lat_wgs84=["35.9"], lat_nad83=["35.9"], lon_wgs84=["-78.9"], date=["2019-01-01"], offense=["0810"]),
            "several coordinate columns (latitude or y: lat_wgs84, lat_nad83; longitude or x: lon_wgs84); "
            "pass --lat-col and --lon-col",
        ),
        (
            _table(Location=["(35.9, -78.9)"], report_date_utc=["2019-01-01"], reported_on_date=["2019-01-01"]),
            "several report date columns (report_date_utc, reported_on_date); pass --date-col",
        ),
        (
            _table(Location=["(35.9, -78.9)"], date=["2019-01-01"], crime_category=["ASSAULT"], offense_group=["A"]),
            "several offense columns (crime_category, offense_group); pass --offense-col",
        ),
        (
            _table(address=["1 MAIN ST"], date=["2019-01-01"], offense=["0810"]),
            "no coordinates found: no point geometry, no latitude/longitude or x/y columns, no point column "
            "(columns: address, date, offense); pass --lat-col and --lon-col, or --point-col",
        ),
        (
            _table(Location=["(35.9, -78.9)"], date=["2019-01-01"], what=["0810"]),
            "no offense column found (looked for ucr_code, nibrs_code, nibrs_offense_code, offense_code, primary_type, "
            "ofns_desc, crm_cd_desc, crime_description, chrgdesc, offense_description, offense, offense_type, crime_type, "
            "description, or one name holding charge, chrgdesc, crime, crm, nibrs, offence, offense, ofns, ucr); "
            "columns: Location, date, what; pass --offense-col",
        ),
        (
            _table(Location=["(35.9, -78.9)"], when=["2019-01-01"], offense=["0810"]),
            "no date column found (columns: Location, when, offense); pass --date-col",
        ),
        (
            _table(lat=["35.9"], lon=["-78.9"], date=["2019"], offense=["0810"]),
            "missing column(s) RPT_DT (columns: lat, lon, date, offense)",
        ),
    ],
)
def test_undecidable_or_missing_columns_are_one_line_errors(table, message):
    wanted = IncidentColumns(date="RPT_DT") if message.startswith("missing column") else IncidentColumns()
    with pytest.raises(InputError) as caught:
        resolve_columns(PATH, table, wanted)
    assert str(caught.value) == f"{PATH}: {message}"


def test_no_occurrence_date_when_asked_for_one():
    table = _table(Location=["(35.9, -78.9)"], report_date=["2019-01-01"], offense=["0810"])
    with pytest.raises(InputError, match=r"no occurrence date column found \(columns: Location, report_date, offense\)"):
        resolve_columns(PATH, table, IncidentColumns(date_kind="occurred"))


def test_x_y_preferred_when_a_crs_is_given():
    table = _table(X=["2030000"], Y=["810000"], Latitude=["35.9"], Longitude=["-78.9"], date=["2019-01-01"], offense=["1"])
    assert resolve_columns(PATH, table, IncidentColumns()).coordinates.lat == "Latitude"
    assert resolve_columns(PATH, table, IncidentColumns(crs="EPSG:2264")).coordinates.lat == "Y"


POINTS = {
    "35.99, -78.9": (-78.9, 35.99),
    "(35.99, -78.9)": (-78.9, 35.99),
    " ( 35.99 ,-78.9 ) ": (-78.9, 35.99),
    "POINT (-78.9 35.99)": (-78.9, 35.99),
    "point(-78.9 35.99)": (-78.9, 35.99),
    "SRID=4326;POINT (-78.9 35.99)": (-78.9, 35.99),
    "POINT Z (-78.9 35.99 120)": (-78.9, 35.99),
    '{"type": "Point", "coordinates": [-78.9, 35.99]}': (-78.9, 35.99),
    "{'type': 'Point', 'coordinates': [-78.9, 35.99]}": (-78.9, 35.99),
}
PROBLEMS = {
    "": "missing coordinates",
    "REDACTED": "missing coordinates",
    "null": "missing coordinates",
    "N/A": "missing coordinates",
    "POINT EMPTY": "missing coordinates",
    "0, 0": "placeholder coordinates",
    "(0.0, 0.0)": "placeholder coordinates",
    "-1, -1": "placeholder coordinates",
    "POINT (0 0)": "placeholder coordinates",
    "35.99, 0": "placeholder coordinates",
    "abc": "unparseable coordinates",
    "POINT (-78.91": "unparseable coordinates",
    "35.99 -78.9": "unparseable coordinates",
    "95.0, 10.0": "coordinates out of range",
}


def test_every_point_layout_and_every_problem():
    values = list(POINTS) + list(PROBLEMS)
    coordinates = read_coordinates(PATH, _table(p=values), CoordinateSource("point column", point="p"))
    n = len(POINTS)
    assert np.column_stack([coordinates.lon[:n], coordinates.lat[:n]]).tolist() == [list(point) for point in POINTS.values()]
    assert coordinates.problem.tolist() == [""] * n + list(PROBLEMS.values())
    assert np.isnan(coordinates.lon[n:]).all() and np.isnan(coordinates.lat[n:]).all()
    assert coordinates.text.tolist() == [value.strip() for value in values]


def test_placeholders_in_lat_lon_columns():
    table = _table(lat=["35.99", "0", "-1", "REDACTED", "", "35.99"], lon=["-78.9", "0", "-1", "REDACTED", "", "east"])
    coordinates = read_coordinates(PATH, table, CoordinateSource("lat/lon columns", lat="lat", lon="lon"))
    assert coordinates.problem.tolist() == [
        "",
        "placeholder coordinates",
        "placeholder coordinates",
        "missing coordinates",
        "missing coordinates",
        "unparseable coordinates",
    ]
    assert coordinates.text.tolist()[5] == "35.99, east"


def test_longitudes_beyond_90_read_as_latitudes_are_called_swapped():
    """Los Angeles (lon -118) swapped: out of range as given, so caught before any boundary test."""
    table = _table(latitude=["-118.25", "-118.3", "-118.4"], longitude=["34.05", "34.1", "34.0"])
    source = CoordinateSource("lat/lon columns", lat="latitude", lon="longitude")
    with pytest.raises(InputError) as caught:
        read_coordinates(PATH, table, source)
    assert str(caught.value) == (
        f"{PATH}: latitude and longitude look swapped: 3 of 3 points are out of range as given and in range exchanged; "
        "pass --swap-lat-lon (or --lat-col 'longitude' --lon-col 'latitude')"
    )
    swapped = read_coordinates(PATH, table, source, swap=True)
    assert swapped.lon.tolist() == [-118.25, -118.3, -118.4]


def test_a_few_out_of_range_rows_are_rejected_not_fatal():
    table = _table(p=["35.99, -78.9", "35.98, -78.8", "359.9, -78.9"])
    coordinates = read_coordinates(PATH, table, CoordinateSource("point column", point="p"))
    assert coordinates.problem.tolist() == ["", "", "coordinates out of range"]


def test_state_plane_feet_reprojected():
    """Longitude -78.9, latitude 36.0 is x 2029579.948 y 818913.240 US feet in EPSG:2264
    (`echo -78.9 36.0 | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:2264`)."""
    table = _table(x=["2029579.948"], y=["818913.240"])
    coordinates = read_coordinates(PATH, table, CoordinateSource("lat/lon columns", lat="y", lon="x"), crs="EPSG:2264")
    assert coordinates.lon[0] == pytest.approx(-78.9, abs=1e-6)
    assert coordinates.lat[0] == pytest.approx(36.0, abs=1e-6)


def test_dates_in_the_future_are_rejected(build_cli, tmp_path):
    """Export dates are local times: a date later on the build's day (up to a day past UTC) is
    kept, one two days ahead is in the future; a UTC offset is dropped (2019 stays 2019). `--years`
    keeps both years (from the data, a year this far from the other would not be studied)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    later_today = (now + timedelta(hours=12)).isoformat(timespec="seconds")
    in_two_days = (now + timedelta(days=2)).isoformat(timespec="seconds")
    path = tmp_path / "dates.csv"
    path.write_text(
        "inci_id,date_rept,ucr_code,geo_point_2d\n"
        f'1,{later_today},0810,"35.99, -78.9"\n'
        f'2,{in_two_days},0810,"35.99, -78.9"\n'
        '3,01/01/2099,0810,"35.99, -78.9"\n'
        '4,2019-12-31T23:00:00-05:00,0810,"35.99, -78.9"\n'
    )
    build = build_cli(path, "--years", f"2019-{now.year + 1}")
    assert build.exit_code == 0, build.stderr
    assert build.rejects[["row", "reason", "detail"]].values.tolist() == [
        ["2", "date in the future", in_two_days],
        ["3", "date in the future", "01/01/2099"],
    ]
    assert build.report["violent_by_year"] == {"2019": 1, later_today[:4]: 1}


def test_windows_1252_text_is_read():
    table = read_table(LAYOUTS / "latin1.csv")
    assert table["chrgdesc"].tolist()[:2] == ["DÉGRADATION", "VOIES DE FAIT"]


def test_excel_csv_with_bom_semicolons_and_crlf():
    table = read_table(LAYOUTS / "excel.csv")
    assert list(table.columns) == ["INCI_ID", "DATE_REPT", "UCR_CODE", "CHRGDESC", "LATITUDE", "LONGITUDE"]
    assert table.iloc[0].tolist() == ["2018000001", "12/6/2018 7:58", "0810", "SIMPLE ASSAULT", "36.08203", "-78.92667"]
    assert not table["LONGITUDE"].str.endswith("\r").any()


def test_text_in_no_encoding_we_know_is_one_clear_error(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"inci_id,date_rept\n1,\x81\x8d\x90\n")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(caught.value) == f"{path}: neither UTF-8 nor Windows-1252 text; save it as UTF-8"


@pytest.mark.parametrize("separator", ["\t", "|", ";", ","])
def test_separator_is_the_one_the_header_uses_most(tmp_path, separator):
    path = tmp_path / "export.txt"
    rows = [["inci_id", "chrgdesc", "geo_point_2d"], ["1", '"ASSAULT, SIMPLE"', '"35.99, -78.9"']]
    path.write_text("".join(separator.join(row) + "\n" for row in rows), encoding="utf-8")
    table = read_table(path)
    assert table.values.tolist() == [["1", "ASSAULT, SIMPLE", "35.99, -78.9"]]
