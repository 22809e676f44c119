"""Bad input never crashes and never hides: a one-line error naming the file at fault, or a build
whose report accounts for every row and every dropped boundary feature. Each case was a traceback
or a misleading message before."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

INCIDENTS = (
    "inci_id,date_rept,ucr_code,geo_point_2d\n"
    '1,2019-03-01,0810,"0.5, 0.5"\n'  # lat, lon: in the square (0, 0)-(1, 1)
    '2,2019-03-02,0810,"0.5, 1.5"\n'  # in the square (1, 0)-(2, 1)
    '3,2020-03-03,0610,"0.5, 0.25"\n'
)


@pytest.fixture
def incidents(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENTS)
    return path


def _boundaries(tmp_path, ids, geometries, name="squares.geojson", crs="EPSG:4326"):
    path = tmp_path / name
    gpd.GeoDataFrame({"id": ids}, geometry=geometries, crs=crs).to_file(path)
    return path


def test_csv_with_a_header_and_no_rows(build_cli, tmp_path):
    path = tmp_path / "empty-month.csv"
    path.write_text("inci_id,date_rept,ucr_code,geo_point_2d\n")
    assert build_cli(path).error == f"Error: {path}: no data rows (only a header)"


def test_empty_file(build_cli, tmp_path):
    path = tmp_path / "zero-bytes.csv"
    path.write_text("")
    assert build_cli(path).error == f"Error: {path}: empty file"


def test_boundary_features_all_without_id(build_cli, tmp_path, incidents):
    squares = _boundaries(tmp_path, [None, None], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.error == f"Error: {squares}: no usable polygon among 2 feature(s): 2 feature(s) with no 'id'; pass --id-field"


def test_one_boundary_feature_without_id_is_dropped_with_a_warning(build_cli, tmp_path, incidents):
    squares = _boundaries(tmp_path, ["a", None], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    warning = f"{squares}: 1 feature(s) with no 'id' dropped (feature 2)"
    assert build.report["warnings"] == [warning]
    assert f"warning: {warning}" in build.stderr.splitlines()
    (summary,) = build.report["inputs"]
    assert (summary["rows_used"], summary["rejected_by_reason"]) == (2, {"outside all boundaries": 1})
    assert gpd.read_parquet(build.out / "layers" / "squares.parquet")["id"].tolist() == ["a"]


def test_zero_area_polygon_among_good_ones_is_dropped_with_a_warning(build_cli, tmp_path, incidents):
    flat = Polygon([(1, 0), (2, 0), (3, 0), (1, 0)])
    squares = _boundaries(tmp_path, ["a", "flat", "b"], [box(0, 0, 1, 1), flat, box(1, 0, 2, 1)])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    assert build.report["warnings"] == [f"{squares}: 1 feature(s) with zero area dropped (feature 2)"]
    layer = gpd.read_parquet(build.out / "layers" / "squares.parquet")
    assert layer[["id", "violent_count"]].values.tolist() == [["a", 1], ["b", 1]]
    assert build.report["inputs"][0]["rows_used"] == 3


def test_boundary_feature_without_geometry_is_dropped_with_a_warning(build_cli, tmp_path, incidents):
    squares = _boundaries(tmp_path, ["a", "b", "c"], [box(0, 0, 1, 1), None, box(1, 0, 2, 1)])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.exit_code == 0, build.stderr
    assert build.report["warnings"] == [f"{squares}: 1 feature(s) with no geometry dropped (feature 2)"]
    assert gpd.read_parquet(build.out / "layers" / "squares.parquet")["id"].tolist() == ["a", "c"]


def test_every_boundary_polygon_empty_names_the_boundary_file(build_cli, tmp_path, incidents):
    squares = _boundaries(tmp_path, ["a", "b"], [Polygon(), Polygon()])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.error == f"Error: {squares}: no usable polygon among 2 feature(s): 2 feature(s) with no geometry"


def test_boundaries_in_feet_labelled_as_degrees_say_what_is_wrong(build_cli, tmp_path, incidents):
    """A GeoJSON of NC State Plane feet: GeoJSON is longitude/latitude by definition."""
    squares = _boundaries(tmp_path, ["a"], [box(2020000, 800000, 2030000, 810000)])
    build = build_cli(incidents, "-b", f"squares={squares}")
    assert build.error == (
        f"Error: {squares}: coordinates run from x 2020000 to 2030000, y 800000 to 810000, far outside "
        "longitude/latitude, but the file declares EPSG:4326 (degrees): they look projected (feet or metres); "
        "declare their CRS, e.g. ogr2ogr -a_srs EPSG:2264 fixed.gpkg squares.geojson"
    )


def test_boundaries_in_feet_without_any_crs(build_cli, tmp_path, incidents):
    path = tmp_path / "wards.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(2020000, 800000, 2030000, 810000)]).to_file(path)
    build = build_cli(incidents, "-b", f"wards={path}")
    assert build.error == f"Error: {path}: boundary file has no CRS; declare one (e.g. a .prj file or GeoJSON)"
