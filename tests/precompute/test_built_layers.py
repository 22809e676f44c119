"""What a real build writes to disk, checked against values computed here independently: a
point on a shared edge in the density layer, counts and densities on squares of known area, the
class breaks against a quantile computation on the GeoParquet layers, and rows rejected for their
year in rejects.csv."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.precompute.conftest import BuildCli
from tests.precompute.test_density import square_miles

SHARED_EDGE_LON = "-78.9"
"""The two squares' shared edge: the same text in the boundary file and the incidents, so that
both parse to the same double and the incident lies exactly on the edge."""
SQUARES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "west"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-79.0, 36.0], [-78.9, 36.0], [-78.9, 36.1], [-79.0, 36.1], [-79.0, 36.0]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"id": "east"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-78.9, 36.0], [-78.8, 36.0], [-78.8, 36.1], [-78.9, 36.1], [-78.9, 36.0]]],
            },
        },
    ],
}
INCIDENTS = (
    "inci_id,date_rept,ucr_code,geo_point_2d\r\n"
    f'e1,2015-03-01,0810,"36.05, {SHARED_EDGE_LON}"\r\n'  # on the shared edge
    f'e2,2016-04-02,0810,"36.02, {SHARED_EDGE_LON}"\r\n'  # on the shared edge
    'w1,2015-05-03,0810,"36.05, -78.95"\r\n'
    'x1,2016-06-04,0810,"36.05, -78.85"\r\n'
    'old,2013-07-05,0810,"36.05, -78.95"\r\n'  # outside --years 2015-2016
    'x2,2016-08-06,0810,"36.07, -78.85"\r\n'
    'older,2011-09-07,0810,"36.05, -78.85"\r\n'  # outside --years 2015-2016
)


@pytest.fixture
def squares_build(build_cli: BuildCli, tmp_path: Path):
    """`crimetiles build --years 2015-2016` of the incidents above on the two squares."""
    boundaries = tmp_path / "squares.geojson"
    boundaries.write_text(json.dumps(SQUARES), encoding="utf-8")
    incidents = tmp_path / "incidents.csv"
    incidents.write_bytes(INCIDENTS.encode("utf-8"))
    build = build_cli(incidents, "-b", f"squares={boundaries}", "--years", "2015-2016")
    assert build.exit_code == 0, build.stderr
    return build


def test_an_incident_on_a_shared_edge_counts_once_in_the_built_layer(squares_build):
    layer = gpd.read_parquet(squares_build.out / "layers" / "squares.parquet").set_index("id")
    counts = layer[["violent_count_2015", "violent_count_2016", "violent_count"]]
    # the first polygon of the input takes the edge incidents (docs/artifact.md); each counts once
    assert counts.loc["west"].tolist() == [2, 1, 3]
    assert counts.loc["east"].tolist() == [0, 2, 2]
    assert int(layer["violent_count"].sum()) == 5 == squares_build.report["inputs"][0]["rows_used"]


def test_rows_outside_the_years_option_are_in_rejects_csv(squares_build):
    rejects = squares_build.rejects
    assert rejects[["row", "reason", "detail", "incident_id"]].values.tolist() == [
        ["5", "year outside --years", "2013", "old"],
        ["7", "year outside --years", "2011", "older"],
    ]
    assert set(rejects["source"]) == {str(squares_build.out.parent / "incidents.csv")}
    (summary,) = squares_build.report["inputs"]
    assert summary["rows_read"] == 7 and summary["rows_rejected"] == len(rejects) == 2


def test_a_build_counts_and_divides_by_the_areas_of_hand_made_squares(build_cli: BuildCli, tmp_path: Path):
    """Incidents in squares a and c of test_density.py's squares (1, 1 and 4 square miles) and one
    in no square, built by the real command: counts per square and year, densities of exactly
    count / area; the point in no square is rejected, not counted."""
    squares = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"]},
        geometry=[square_miles(0, 0, 1), square_miles(1, 0, 1), square_miles(5, 0, 2)],
        crs="EPSG:4326",
    )
    boundaries = tmp_path / "miles.geojson"
    squares.to_file(boundaries)
    in_a, in_c = squares.geometry[0].representative_point(), squares.geometry[2].representative_point()
    rows = [(in_a, 2012), (in_a, 2013), (in_c, 2013), (shapely.Point(-70.0, 30.0), 2013), (in_c, 2012), (in_c, 2013)]
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(
        "inci_id,date_rept,ucr_code,geo_point_2d\n"
        + "".join(f'{i},{year}-06-01,0810,"{point.y!r}, {point.x!r}"\n' for i, (point, year) in enumerate(rows, start=1))
    )
    build = build_cli(incidents, "-b", f"miles={boundaries}")
    assert build.exit_code == 0, build.stderr
    layer = gpd.read_parquet(build.out / "layers" / "miles.parquet").set_index("id")
    assert sorted(layer.index) == ["a", "b", "c"]  # in the file along a Hilbert curve (docs/artifact.md)
    layer = layer.loc[["a", "b", "c"]]
    counts = layer[["violent_count_2012", "violent_count_2013", "violent_count"]]
    assert counts.values.tolist() == [[1, 1, 2], [0, 0, 0], [1, 2, 3]]
    assert layer["area_sqmi"].tolist() == pytest.approx([1.0, 1.0, 4.0], rel=1e-4)
    assert layer["violent_per_sqmi_2012"].tolist() == pytest.approx([1.0, 0.0, 0.25], abs=1e-3)
    assert layer["violent_per_sqmi_2013"].tolist() == pytest.approx([1.0, 0.0, 0.5], abs=1e-3)
    assert layer["violent_per_sqmi"].tolist() == pytest.approx([1.0, 0.0, 0.375], abs=1e-3)  # a: 2 / 2 years / 1; c: 3 / 2 / 4
    assert build.rejects[["row", "reason"]].values.tolist() == [["4", "outside all boundaries"]]


CLASSES = 5
"""Legend classes above zero: quintiles."""


def _positive_densities(frames: list[pd.DataFrame], columns: list[str]) -> pd.Series:
    values = pd.concat([frame[column] for frame in frames for column in columns], ignore_index=True)
    return values[values > 0]


def _legend_breaks(values: pd.Series) -> list[float]:
    """Quintile boundaries of `values` (pandas' linear interpolation), rounded to 2 significant
    digits as a legend shows them, distinct and ascending."""
    quantiles = values.quantile([i / CLASSES for i in range(1, CLASSES)])
    return sorted({float(f"{value:.2g}") for value in quantiles})


def _breaks(frames: list[pd.DataFrame], years: list[int], all_years: bool = True, each_year: bool = True) -> list[float]:
    columns = [f"violent_per_sqmi_{year}" for year in years] * each_year + ["violent_per_sqmi"] * all_years
    return _legend_breaks(_positive_densities(frames, columns))


def _layers(build: Path, names: list[str]) -> list[pd.DataFrame]:
    return [pd.read_parquet(build / "layers" / f"{name}.parquet") for name in names]


def test_class_breaks_pool_every_year_the_average_and_every_hex_band(durham_build, client):
    """Breaks pooled over the yearly columns and the all-years column (and, for `hex`, over
    every band's layer): the manifest, the TileJSON and the style use them. On the Durham data
    each partial pooling gives other breaks for some tileset, so leaving any part out shows."""
    manifest = json.loads((durham_build / "manifest.json").read_text(encoding="utf-8"))
    years = manifest["years"]
    differs: dict[str, set[str]] = {"all-years column alone": set(), "yearly columns alone": set(), "one band alone": set()}
    for tileset, spec in manifest["tilesets"].items():
        bands = [band["layer"] for band in spec["bands"]]
        frames = _layers(durham_build, bands)
        expected = _breaks(frames, years)
        variants = {
            "all-years column alone": [_breaks(frames, years, each_year=False)],
            "yearly columns alone": [_breaks(frames, years, all_years=False)],
            "one band alone": [_breaks([frame], years) for frame in frames] if len(frames) > 1 else [],
        }
        for kind, breaks in variants.items():
            if breaks and all(variant != expected for variant in breaks):
                differs[kind].add(tileset)
        assert spec["class_breaks"]["values"] == expected, tileset
        assert client.get(f"/tiles/{tileset}.json").get_json()["crimetiles"]["class_breaks"] == expected, tileset
        layers = client.get(f"/styles/{tileset}.json").get_json()["layers"]
        fills = [layer for layer in layers if "crimetiles:class" in layer.get("metadata", {})]
        lower_bounds = [fill["filter"][1][2] if fill["filter"][0] == "all" else fill["filter"][2] for fill in fills[2:]]
        assert lower_bounds == expected, tileset
        for band, frame in zip(bands, frames, strict=True):
            assert manifest["layers"][band]["class_breaks"]["values"] == _breaks([frame], years), band
    assert all(differs.values()), differs  # every partial pooling is wrong for some tileset
