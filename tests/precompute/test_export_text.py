"""Downloads of a density layer (`crimetiles.artifact.export`) on a two-feature layer written by hand:
every value of the long CSV table and of the GeoJSON is a literal."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
import shapely.affinity

from crimetiles.artifact.errors import BuildError, InvalidYear
from crimetiles.artifact.export import export_text, geojson_text, parse_year
from crimetiles.artifact.fields import YEAR_FIELDS, year_field
from crimetiles.artifact.value_text import CSV, JSON, column_text

YEARS = (2014, 2015)
ALL = "ALL".lower()
"""`all` as a string made at run time, like a request's query: a new object, equal to "all" but not it."""
CSV_HEADER = (
    "layer,id,name,year,violent_count,area_sqmi,violent_per_sqmi,violent_per_sqmi_low,violent_per_sqmi_high,unstable,suppressed"
)
NAN = float("nan")


@pytest.fixture
def layer() -> gpd.GeoDataFrame:
    """Two tracts, in Web Mercator metres (a download is always lon/lat); tract 1.01's count of
    2014 withheld, and so its all-years values."""
    return gpd.GeoDataFrame(
        {
            "id": ["37063000101", "37063000102"],
            "name": ["Tract 1.01", "Tract 1.02"],
            "area_sqmi": [0.5, 2.0],
            "violent_count": pd.array([None, 8], dtype="Int64"),
            "violent_per_sqmi": [NAN, 2.0],
            "violent_per_sqmi_low": [NAN, 0.431],
            "violent_per_sqmi_high": [NAN, 3.95],
            "unstable": [True, True],
            "suppressed": [True, False],
            "violent_count_2014": pd.array([None, 6], dtype="Int64"),
            "violent_per_sqmi_2014": [NAN, 3.0],
            "violent_per_sqmi_low_2014": [NAN, 1.1],
            "violent_per_sqmi_high_2014": [NAN, 6.53],
            "unstable_2014": [True, True],
            "suppressed_2014": [True, False],
            "violent_count_2015": pd.array([2, 2], dtype="Int64"),
            "violent_per_sqmi_2015": [4.0, 1.0],
            "violent_per_sqmi_low_2015": [0.484, 0.121],
            "violent_per_sqmi_high_2015": [14.5, 3.62],
            "unstable_2015": [True, True],
            "suppressed_2015": [False, False],
        },
        geometry=[shapely.box(0, 0, 111319.49079327357, 111325.14286638486), shapely.box(-111319.49079327357, 0, 0, 1000)],
        crs="EPSG:3857",
    )


@pytest.mark.parametrize(("text", "year"), [(None, None), ("", None), (ALL, "all"), ("2014", 2014), ("2015", 2015)])
def test_parse_year(text, year):
    assert parse_year(text, YEARS) == year


@pytest.mark.parametrize("text", ["2016", "02014", " 2014", "+2014", "ALL", "٢٠١٤"])
def test_parse_year_refuses_a_year_the_build_lacks(text):
    with pytest.raises(InvalidYear, match=r"is not in this build \(years: 2014, 2015, or all\)"):
        parse_year(text, YEARS)


def _csv_rows(text: str) -> list[list[str]]:
    """The data rows of a CSV download, after checking its header."""
    header, *rows = csv.reader(io.StringIO(text))
    assert header == CSV_HEADER.split(",")
    return rows


def test_long_table_every_year_then_all(layer):
    assert _csv_rows(export_text(layer, "tracts", YEARS, "csv")) == [
        ["tracts", "37063000101", "Tract 1.01", "2014", "", "0.5", "", "", "", "True", "True"],
        ["tracts", "37063000102", "Tract 1.02", "2014", "6", "2.0", "3.0", "1.1", "6.53", "True", "False"],
        ["tracts", "37063000101", "Tract 1.01", "2015", "2", "0.5", "4.0", "0.484", "14.5", "True", "False"],
        ["tracts", "37063000102", "Tract 1.02", "2015", "2", "2.0", "1.0", "0.121", "3.62", "True", "False"],
        ["tracts", "37063000101", "Tract 1.01", "all", "", "0.5", "", "", "", "True", "True"],
        ["tracts", "37063000102", "Tract 1.02", "all", "8", "2.0", "2.0", "0.431", "3.95", "True", "False"],
    ]


@pytest.mark.parametrize(
    ("year", "rows"),
    [
        (2015, [["2015", "2", "4.0"], ["2015", "2", "1.0"]]),
        (ALL, [["all", "", ""], ["all", "8", "2.0"]]),
    ],
)
def test_long_table_one_year(layer, year, rows):
    assert [[row[3], row[4], row[6]] for row in _csv_rows(export_text(layer, "tracts", YEARS, "csv", year))] == rows


def test_csv_text(layer):
    assert export_text(layer, "tracts", YEARS, "CSV".lower(), 2014) == (
        f"{CSV_HEADER}\ntracts,37063000101,Tract 1.01,2014,,0.5,,,,True,True\n"
        "tracts,37063000102,Tract 1.02,2014,6,2.0,3.0,1.1,6.53,True,False\n"
    )


def test_geojson_one_year_carries_that_year(layer):
    document = json.loads(export_text(layer, "tracts", YEARS, "geojson", 2014))
    expected = [
        ("37063000101", "Tract 1.01", 0.5, None, None, None, None, True, True),
        ("37063000102", "Tract 1.02", 2.0, 6, 3.0, 1.1, 6.53, True, False),
    ]
    assert [feature["properties"] for feature in document["features"]] == [
        {
            "id": id_,
            "name": name,
            "year": "2014",
            "area_sqmi": area,
            "violent_count": count,
            "violent_per_sqmi": density,
            "violent_per_sqmi_low": low,
            "violent_per_sqmi_high": high,
            "unstable": unstable,
            "suppressed": suppressed,
        }
        for id_, name, area, count, density, low, high, unstable, suppressed in expected
    ]


def test_geojson_all_years_value_and_lonlat(layer):
    document = json.loads(geojson_text(layer, ALL))
    assert sorted(document) == ["features", "type"]  # RFC 7946: lon/lat WGS 84, no `crs` member
    first = document["features"][0]
    assert first["properties"] == {
        "id": "37063000101",
        "name": "Tract 1.01",
        "year": "all",
        "area_sqmi": 0.5,
        "violent_count": None,
        "violent_per_sqmi": None,
        "violent_per_sqmi_low": None,
        "violent_per_sqmi_high": None,
        "unstable": True,
        "suppressed": True,
    }
    # 1 degree of longitude at the equator is 111319.49 m; the north edge is latitude 1 degree
    west, south, east, north = shapely.geometry.shape(first["geometry"]).bounds
    assert (west, south, east, north) == pytest.approx((0.0, 0.0, 1.0, 1.0), abs=1e-6)


def test_geojson_every_year_keeps_every_field(layer):
    document = json.loads(geojson_text(layer))
    assert document["features"][1]["properties"] == {
        "id": "37063000102",
        "name": "Tract 1.02",
        "area_sqmi": 2.0,
        "violent_count": 8,
        "violent_per_sqmi": 2.0,
        "violent_per_sqmi_low": 0.431,
        "violent_per_sqmi_high": 3.95,
        "unstable": True,
        "suppressed": False,
        "violent_count_2014": 6,
        "violent_per_sqmi_2014": 3.0,
        "violent_per_sqmi_low_2014": 1.1,
        "violent_per_sqmi_high_2014": 6.53,
        "unstable_2014": True,
        "suppressed_2014": False,
        "violent_count_2015": 2,
        "violent_per_sqmi_2015": 1.0,
        "violent_per_sqmi_low_2015": 0.121,
        "violent_per_sqmi_high_2015": 3.62,
        "unstable_2015": True,
        "suppressed_2015": False,
    }
    assert document["features"][0]["properties"]["violent_count_2014"] is None
    assert "id" not in document["features"][1]


def test_unknown_format_is_refused(layer):
    with pytest.raises(BuildError, match="format 'xml' is not one of csv, geojson"):
        export_text(layer, "tracts", YEARS, "xml")


def test_importing_the_module_for_parse_year_loads_neither_pandas_nor_geopandas():
    """A server imports this module for `parse_year` at start: pandas and geopandas (about
    140 MB resident) are loaded only when a download is made."""
    code = "import sys, crimetiles.artifact.export; print(sorted({'pandas', 'geopandas'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


AWKWARD_NAMES = ["Walltown, East", 'The "Bottom"', "Line\nbreak", "Carriage\rreturn", "Café Ñ", "", " spaced ", "back\\slash"]
"""Names that a CSV writer must quote or a JSON writer escape."""


@pytest.fixture(scope="module")
def neighborhoods() -> gpd.GeoDataFrame:
    """40 made-up neighbourhoods of 2012-2016 in lon/lat, polygons and multipolygons: awkward
    names, numbers of many digits and magnitudes (1e-06 to 1e+16), every fifth one's 2014 values
    withheld (as a build withholds them: missing count, density and interval)."""
    rng = np.random.default_rng(26)
    rows = 40
    corners = rng.uniform((-79.1, 35.8), (-78.8, 36.1), (rows, 2))
    boxes = [shapely.box(x, y, x + rng.uniform(0.001, 0.01), y + rng.uniform(0.001, 0.01)) for x, y in corners]
    shapes = [shapely.MultiPolygon([box, shapely.affinity.translate(box, 0.02)]) if i % 2 else box for i, box in enumerate(boxes)]
    columns: dict[str, object] = {
        "id": [f"N{i:03d}" for i in range(rows)],
        "name": [AWKWARD_NAMES[i % len(AWKWARD_NAMES)] for i in range(rows)],
        "area_sqmi": rng.uniform(0.01, 3.0, rows),
    }
    for year in [None, 2012, 2013, 2014, 2015, 2016]:
        withheld = (np.arange(rows) % 5 == 0) & (year == 2014)
        density = rng.uniform(1, 10, rows) * 10.0 ** rng.integers(-6, 17, rows)
        columns |= {
            year_field("violent_count", year): pd.array(np.where(withheld, None, rng.integers(0, 500, rows)), dtype="Int64"),
            year_field("violent_per_sqmi", year): np.where(withheld, NAN, density),
            year_field("violent_per_sqmi_low", year): np.where(withheld, NAN, density / 3),
            year_field("violent_per_sqmi_high", year): np.where(withheld, NAN, density * 3),
            year_field("unstable", year): rng.uniform(size=rows) < 0.5,
            year_field("suppressed", year): withheld,
        }
    return gpd.GeoDataFrame(columns, geometry=shapes, crs="EPSG:4326")


def _pandas_long_csv(frame: gpd.GeoDataFrame, layer: str, years: list[int | None]) -> str:
    """The long table as pandas writes it (the downloads' writer before they were written a column
    at a time): the reference their text must equal byte for byte."""
    parts = [
        pd.DataFrame(
            {
                "layer": layer,
                "id": frame["id"],
                "name": frame["name"],
                "year": "all" if y is None else str(y),
                "area_sqmi": frame["area_sqmi"],
                **{base: frame[year_field(base, y)] for base in YEAR_FIELDS},
            }
        )[CSV_HEADER.split(",")]
        for y in years
    ]
    return pd.concat(parts, ignore_index=True).to_csv(index=False)


@pytest.mark.parametrize(("year", "selected"), [(None, [2012, 2013, 2014, 2015, 2016, None]), (2014, [2014]), ("all", [None])])
def test_a_csv_download_is_what_pandas_writes(neighborhoods, year, selected):
    text = export_text(neighborhoods, "neighborhoods", [2012, 2013, 2014, 2015, 2016], "csv", year)
    assert text == _pandas_long_csv(neighborhoods, "neighborhoods", selected)


def test_a_geojson_download_is_what_geopandas_writes(neighborhoods):
    """The same document (every number the same double) as `json.dumps` of geopandas' features:
    GEOS writes a coordinate at times with one more digit than Python's `repr`."""
    reference = json.dumps(neighborhoods.to_geo_dict(drop_id=True), separators=(",", ":"))
    assert json.loads(geojson_text(neighborhoods)) == json.loads(reference)


@pytest.mark.parametrize(("notation", "texts"), [(CSV, ["2.0", "1e-05", "", ""]), (JSON, ["2.0", "1e-05", "null", "null"])])
def test_a_nan_is_written_as_a_missing_value_like_a_null(notation, texts):
    """A layer written by another tool may hold NaN where a build writes null: pandas wrote both
    alike (the array a slice: its values and validity bits start at an offset)."""
    array = pa.array([9.0, 2.0, 1e-05, NAN, None], type=pa.float64()).slice(1)
    assert column_text(array, notation).tolist() == texts


def test_a_layer_without_rows_downloads_as_a_header_or_no_feature(layer):
    assert export_text(layer.iloc[:0], "tracts", YEARS, "csv") == CSV_HEADER + "\n"
    assert json.loads(geojson_text(layer.iloc[:0])) == {"type": "FeatureCollection", "features": []}


def test_numbers_keep_every_digit_whatever_print_options_a_library_set():
    """colour-science sets NumPy's 1.13 print options on import, under which a cast to text kept
    12 digits: a download in such a process lost digits."""
    values = [0.41816581918371676, 46505707267.08402, 2.0, 5.54e16]
    with np.printoptions(legacy="1.13"):
        texts = column_text(pa.array(values), CSV).tolist()
    assert texts == [repr(value) for value in values]
