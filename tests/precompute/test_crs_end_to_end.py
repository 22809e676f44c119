"""Coordinate systems end to end, through `crimetiles build`: the same incidents written in every
layout the build reads, in longitude/latitude (EPSG:4326), North Carolina State Plane feet
(EPSG:2264) and UTM zone 17N metres (EPSG:32617), count the same per tract, block group and
neighborhood; so do the real Durham boundaries written in those projected CRSs. Landmarks land in
the areas they are known to lie in, and a wrong `--crs` stops the build instead of mapping the
incidents somewhere else.

The fixtures are written here with pyproj from one set of longitude/latitude points: four
landmarks (each repeated a different number of times, so that exchanged areas would show) and
random points that stay out of the landmarks' areas.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from crimetiles.precompute.synth import DURHAM_DATA_DIR

LAYERS = ("tracts", "blockgroups", "neighborhoods")
PROJECTED = {"EPSG:2264": "NC State Plane, US feet", "EPSG:32617": "UTM 17N, metres"}
RANDOM_POINTS = 120
SQUARE_METRES_PER_SQUARE_MILE = 1609.344**2


@dataclass(frozen=True)
class Landmark:
    """A well-known place (longitude, latitude from a map), the real areas it lies in, and how many
    incidents the fixture puts there."""

    name: str
    lon: float
    lat: float
    tract: str
    blockgroup: str
    neighborhood: str
    incidents: int


LANDMARKS = (
    Landmark("Duke Chapel", -78.9403, 36.0019, "37063001501", "370630015011", "Duke West Campus", 1),
    Landmark("NC Central University", -78.8985, 35.9745, "37063001303", "370630013031", "North Carolina Central University", 2),
    Landmark("Durham County Courthouse", -78.8985, 35.9935, "37063002200", "370630022001", "Downtown", 3),
    Landmark("Durham Bulls Athletic Park", -78.9043, 35.9918, "37063002300", "370630023001", "American Tobacco Campus", 4),
)


def _boundaries(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(DURHAM_DATA_DIR / f"{name}.geojson")


def _landmark_areas() -> shapely.Geometry:
    """Every tract, block group and neighborhood holding a landmark: random points stay out of them."""
    tracts, blockgroups, neighborhoods = (_boundaries(name).set_index("id").geometry for name in LAYERS)
    return shapely.union_all(
        [tracts[m.tract] for m in LANDMARKS]
        + [blockgroups[m.blockgroup] for m in LANDMARKS]
        + [neighborhoods[m.neighborhood] for m in LANDMARKS]
    )


@pytest.fixture(scope="module")
def points() -> pd.DataFrame:
    """The incidents as longitude/latitude: the landmarks' (repeated) and random points over the
    tracts' bounding box, outside the landmarks' areas (some outside every boundary too)."""
    west, south, east, north = _boundaries("tracts").total_bounds
    rng = np.random.default_rng(27)
    lon, lat = rng.uniform(west, east, RANDOM_POINTS * 2), rng.uniform(south, north, RANDOM_POINTS * 2)
    away = ~shapely.contains_xy(_landmark_areas(), lon, lat)
    lon, lat = lon[away][:RANDOM_POINTS], lat[away][:RANDOM_POINTS]
    lon = np.concatenate([[m.lon for m in LANDMARKS for _ in range(m.incidents)], lon])
    lat = np.concatenate([[m.lat for m in LANDMARKS for _ in range(m.incidents)], lat])
    years = 2018 + np.arange(len(lon)) % 3
    return pd.DataFrame(
        {
            "inci_id": [f"I{n:04d}" for n in range(len(lon))],
            "date_rept": [f"{year}-06-15T12:00:00" for year in years],
            "ucr_code": "0410",
            "lon": lon,
            "lat": lat,
        }
    )


def expected_counts(points: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Incidents per area of each layer, by shapely on the longitude/latitude points: what every
    build must count, whatever the file's layout or CRS."""
    located = gpd.GeoDataFrame(geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs="EPSG:4326")
    counts = {}
    for name in LAYERS:
        areas = _boundaries(name)
        joined = gpd.sjoin(located, areas, predicate="within")
        counts[name] = {area: int(joined["id"].eq(area).sum()) for area in areas["id"]}
    return counts


def _xy(points: pd.DataFrame, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the points in `crs`, rounded as exports write them (a centimetre, a millionth of a degree)."""
    if crs == "EPSG:4326":
        return points["lon"].round(6).to_numpy(), points["lat"].round(6).to_numpy()
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(points["lon"], points["lat"])
    return np.round(x, 2), np.round(y, 2)


def _table(points: pd.DataFrame, column: str, values: list[str]) -> pd.DataFrame:
    return points[["inci_id", "date_rept", "ucr_code"]].assign(**{column: values})


def _write_xy_columns(points: pd.DataFrame, crs: str, folder: Path) -> list[Path]:
    x, y = _xy(points, crs)
    path = folder / "xy.csv"
    points[["inci_id", "date_rept", "ucr_code"]].assign(POINT_X=x, POINT_Y=y).to_csv(path, index=False)
    return [path]


def _point_column_writer(template: Callable[[float, float], str], column: str) -> Callable[..., list[Path]]:
    """A layout with one column of points, `template(x, y)` each."""

    def write(points: pd.DataFrame, crs: str, folder: Path) -> list[Path]:
        x, y = _xy(points, crs)
        path = folder / f"{column}.csv"
        _table(points, column, [template(a, b) for a, b in zip(x, y, strict=True)]).to_csv(path, index=False)
        return [path]

    return write


def _write_geopackage(points: pd.DataFrame, crs: str, folder: Path) -> list[Path]:
    """A point layer declaring its CRS (read with no --crs)."""
    x, y = _xy(points, crs)
    path = folder / "points.gpkg"
    gpd.GeoDataFrame(_table(points, "n", list(range(len(points)))), geometry=gpd.points_from_xy(x, y), crs=crs).to_file(path)
    return [path]


def _write_two_files(points: pd.DataFrame, crs: str, folder: Path) -> list[Path]:
    """The x/y layout split in two files (two sources, built together)."""
    (whole,) = _write_xy_columns(points, crs, folder)
    table = pd.read_csv(whole, dtype=str)
    whole.unlink()
    halves = [folder / "first.csv", folder / "second.csv"]
    table.iloc[::2].to_csv(halves[0], index=False)
    table.iloc[1::2].to_csv(halves[1], index=False)
    return halves


LAYOUTS: dict[str, Callable[[pd.DataFrame, str, Path], list[Path]]] = {
    "x/y columns": _write_xy_columns,
    '"lat, lon"': _point_column_writer(lambda x, y: f"{y}, {x}", "geo_point_2d"),
    '"(lat, lon)"': _point_column_writer(lambda x, y: f"({y}, {x})", "Location"),
    "WKT": _point_column_writer(lambda x, y: f"POINT ({x} {y})", "the_geom"),
    "GeoJSON point": _point_column_writer(lambda x, y: json.dumps({"type": "Point", "coordinates": [x, y]}), "location"),
    "point geometry": _write_geopackage,
    "several files": _write_two_files,
}


def write_layout(points: pd.DataFrame, layout: str, crs: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    return LAYOUTS[layout](points, crs, folder)


def durham_boundaries(folder: Path | None = None, crs: str = "EPSG:4326") -> list[str]:
    """`-b NAME=PATH` for the real Durham layers: the bundled files, or copies in `crs` (a
    GeoPackage for feet, a shapefile with its .prj for metres) written into `folder`."""
    flags = []
    for name in LAYERS:
        path = DURHAM_DATA_DIR / f"{name}.geojson"
        if folder is not None:
            path = folder / (f"{name}.gpkg" if crs == "EPSG:2264" else f"{name}.shp")
            _boundaries(name).to_crs(crs).to_file(path)
        flags += ["-b", f"{name}={path}"]
    return flags


def counted(build) -> dict[str, dict[str, int]]:
    """Incidents per area of each layer of a build."""
    assert build.exit_code == 0, build.stderr
    counts = {}
    for name in LAYERS:
        layer = gpd.read_parquet(build.out / "layers" / f"{name}.parquet")
        counts[name] = dict(zip(layer["id"], layer["violent_count"].astype(int), strict=True))
    return counts


def _assert_landmarks_counted_in_their_areas(build) -> None:
    neighborhoods = gpd.read_parquet(build.out / "layers" / "neighborhoods.parquet").set_index("name")
    tracts = gpd.read_parquet(build.out / "layers" / "tracts.parquet").set_index("id")
    blockgroups = gpd.read_parquet(build.out / "layers" / "blockgroups.parquet").set_index("id")
    for landmark in LANDMARKS:
        found = (
            neighborhoods.loc[landmark.neighborhood, "violent_count"],
            tracts.loc[landmark.tract, "violent_count"],
            blockgroups.loc[landmark.blockgroup, "violent_count"],
        )
        assert found == (landmark.incidents,) * 3, landmark.name


def _crs_flags(crs: str, layout: str) -> list[str]:
    """What a user passes: a CSV's CRS with --crs; a GeoPackage declares its own."""
    return [] if crs == "EPSG:4326" or layout == "point geometry" else ["--crs", crs]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_counts_the_same_in_degrees_feet_and_metres(build_cli, points, layout, tmp_path):
    expected = expected_counts(points)
    inside = sum(expected["tracts"].values())
    for crs in ("EPSG:4326", *PROJECTED):
        files = write_layout(points, layout, crs, tmp_path / crs.replace(":", ""))
        build = build_cli(*files, *_crs_flags(crs, layout), *durham_boundaries())
        assert counted(build) == expected, (layout, crs)
        _assert_landmarks_counted_in_their_areas(build)
        rows = build.report["inputs"]
        assert sum(summary["rows_read"] for summary in rows) == len(points)
        assert sum(summary["rows_used"] for summary in rows) == inside
        assert build.rejects["reason"].value_counts().to_dict() == {"outside all boundaries": len(points) - inside}


@pytest.mark.parametrize("crs", PROJECTED)
def test_boundaries_in_a_projected_crs_count_the_same(build_cli, points, crs, tmp_path):
    """The Durham layers written in feet (GeoPackage) or metres (shapefile and .prj), with the
    incidents in degrees and in that same CRS."""
    expected = expected_counts(points)
    (tmp_path / "boundaries").mkdir()
    boundaries = durham_boundaries(tmp_path / "boundaries", crs)
    geod = pyproj.Geod(ellps="WGS84")
    areas = {
        tract: abs(geod.geometry_area_perimeter(polygon)[0]) / SQUARE_METRES_PER_SQUARE_MILE
        for tract, polygon in _boundaries("tracts").set_index("id").geometry.items()
    }
    for incidents_crs in ("EPSG:4326", crs):
        files = write_layout(points, "x/y columns", incidents_crs, tmp_path / incidents_crs.replace(":", ""))
        build = build_cli(*files, *_crs_flags(incidents_crs, "x/y columns"), *boundaries)
        assert counted(build) == expected, incidents_crs
        _assert_landmarks_counted_in_their_areas(build)
        built = gpd.read_parquet(build.out / "layers" / "tracts.parquet").set_index("id")["area_sqmi"]
        assert built.to_dict() == pytest.approx(areas, rel=1e-5)


WRONG_CRS = {
    "feet read as metres": ("EPSG:2264", "EPSG:32617"),
    "metres read as feet": ("EPSG:32617", "EPSG:2264"),
}


@pytest.mark.parametrize("case", WRONG_CRS)
@pytest.mark.parametrize("layout", ["x/y columns", "WKT"])
def test_a_wrong_crs_stops_the_build_rather_than_mapping_elsewhere(build_cli, points, case, layout, tmp_path):
    """Every point lands far from Durham (feet as metres: off Venezuela): none is in an area."""
    written_in, given = WRONG_CRS[case]
    (path,) = write_layout(points, layout, written_in, tmp_path / "incidents")
    build = build_cli(path, "--crs", given, *durham_boundaries())
    assert build.error == (
        f"Error: {path}: no usable incident rows ({len(points)} read, all rejected: outside all boundaries {len(points)}; "
        f"are the coordinates in {given}? check --crs)"
    )
    assert not build.out.exists()


@pytest.mark.parametrize("layout", ["x/y columns", '"lat, lon"', "WKT"])
def test_degrees_given_a_projected_crs_stop_the_build_naming_the_fix(build_cli, points, layout, tmp_path):
    (path,) = write_layout(points, layout, "EPSG:4326", tmp_path / "incidents")
    build = build_cli(path, "--crs", "EPSG:2264", *durham_boundaries())
    x, y = _xy(points, "EPSG:4326")
    assert build.error == (
        f"Error: {path}: {len(points)} of {len(points)} points are within longitude/latitude ranges (x {x.min():.4f} to "
        f"{x.max():.4f}, y {y.min():.4f} to {y.max():.4f}), but --crs EPSG:2264 is projected (in US survey foot): these "
        "look like degrees; leave out --crs"
    )
    assert not build.out.exists()
