"""How sure each density is, through a real build (`crimetiles build`): squares of 1 sq mi holding
0, 1, 2, 19, 20 and 1000 incidents in 2015, built with `--years 2015-2016` (the all-years
density averages over 2 years). The interval of every density in the
GeoParquet layer, the archived tiles and the served ones is checked against scipy's chi-square
quantiles computed here, and against the published Garwood values."""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import chi2

from crimetiles.cli import main
from crimetiles.precompute.density import density_frame
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.precompute.test_density import square_miles

COUNTS = {"k0": 0, "k1": 1, "k2": 2, "k19": 19, "k20": 20, "k1000": 1000}
PUBLISHED = {
    0: (0.0, 3.689),
    1: (0.0253, 5.572),
    2: (0.2422, 7.225),
    19: (11.44, 29.67),
    20: (12.22, 30.89),
    1000: (939.0, 1064.0),
}
"""Exact 95 % Poisson limits as tables print them (e.g. Ulm 1990; Garwood 1936), to their digits."""
SIGNIFICANT = 4
"""Significant digits of the published bounds (docs/artifact.md), rounded outward."""


@pytest.fixture(scope="module")
def interval_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("intervals")
    squares = gpd.GeoDataFrame(
        {"id": list(COUNTS)}, geometry=[square_miles(3 * i, 0, 1) for i in range(len(COUNTS))], crs="EPSG:4326"
    )
    squares.to_file(folder / "squares.geojson")
    rows = ["inci_id,date_rept,ucr_code,geo_point_2d"]
    for square, count in zip(squares.itertuples(), COUNTS.values(), strict=True):
        point = square.geometry.representative_point()
        rows += [f'{square.id}-{i},2015-06-01,0810,"{point.y!r}, {point.x!r}"' for i in range(count)]
    (folder / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = folder / "build"
    command = ["build", str(folder / "incidents.csv"), "-b", f"squares={folder / 'squares.geojson'}", "-o", str(out)]
    command += ["--years", "2015-2016", "--hex-res", "", "--maxzoom", "10", "--archive-maxzoom", "10", "-q"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    return out


def _bounds(count: int, divisor: float) -> tuple[float, float]:
    """The exact interval of `count` / `divisor`, from scipy's chi-square quantiles."""
    low = chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
    return low / divisor, chi2.ppf(0.975, 2 * count + 2) / 2 / divisor


def _unit(value: float) -> float:
    """One unit of the last significant digit of `value`."""
    return 10.0 ** (math.floor(math.log10(value)) - SIGNIFICANT + 1)


def _assert_outward(published_low: float, published_high: float, low: float, high: float) -> None:
    """The published bounds hold the exact interval, rounded outward to their last digit."""
    tolerance = 1e-9
    if low == 0:
        assert published_low == 0
    else:
        assert published_low <= low * (1 + tolerance) and low < published_low + _unit(published_low) * (1 + tolerance)
    assert published_high >= high * (1 - tolerance) and high > published_high - _unit(published_high) * (1 + tolerance)


@pytest.fixture(scope="module")
def layer(interval_build: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(interval_build / "layers" / "squares.parquet").set_index("id")


@pytest.mark.parametrize("name", list(COUNTS))
def test_each_density_carries_the_exact_poisson_interval(layer, name):
    count, row = COUNTS[name], layer.loc[name]
    area = row["area_sqmi"]
    assert area == pytest.approx(1.0, rel=1e-4)
    assert row["violent_count_2015"] == count and row["violent_per_sqmi_2015"] == round(count / area, 3)
    _assert_outward(row["violent_per_sqmi_low_2015"], row["violent_per_sqmi_high_2015"], *_bounds(count, area))
    # all years: the interval of the total, divided by the 2 years and the area
    assert row["violent_per_sqmi"] == round(count / 2 / area, 3)
    _assert_outward(row["violent_per_sqmi_low"], row["violent_per_sqmi_high"], *_bounds(count, 2 * area))
    assert row["unstable_2015"] == row["unstable"] == (count < 20)
    assert not row["suppressed_2015"] and not row["suppressed"]


@pytest.mark.parametrize("count", sorted(PUBLISHED))
def test_the_intervals_match_published_garwood_limits(layer, count):
    row = layer.loc[f"k{count}"]
    low, high = PUBLISHED[count]
    area = row["area_sqmi"]
    assert row["violent_per_sqmi_low_2015"] * area == pytest.approx(low, rel=1e-3)
    assert row["violent_per_sqmi_high_2015"] * area == pytest.approx(high, rel=1e-3)


def _tile_features(tiles: list[bytes]) -> dict[str, dict]:
    features = {}
    for data in tiles:
        for feature in mapbox_vector_tile.decode(data)["squares"]["features"]:
            features[feature["properties"]["id"]] = feature["properties"]
    return features


def _columns(layer: gpd.GeoDataFrame) -> list[str]:
    return [column for column in layer.columns if column != "geometry"]


def test_archived_tiles_carry_the_layers_intervals_and_flags(interval_build, layer):
    with sqlite3.connect(interval_build / "tiles" / "squares.mbtiles") as db:
        tiles = [gzip.decompress(row[0]) for row in db.execute("SELECT tile_data FROM tiles WHERE zoom_level = 10")]
        metadata = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    features = _tile_features(tiles)
    assert set(features) == set(COUNTS)
    for name, properties in features.items():
        expected = {"id": name, **{column: layer.at[name, column] for column in _columns(layer)}}
        assert properties == expected and all(
            type(properties[key]) is type(expected[key].item()) for key in expected if key not in ("id", "name")
        )
    assert features["k19"]["unstable_2015"] is True and features["k20"]["unstable_2015"] is False
    (vector_layer,) = json.loads(metadata["json"])["vector_layers"]
    assert vector_layer["fields"]["unstable_2015"] == "Boolean"
    assert vector_layer["fields"]["violent_per_sqmi_low_2015"] == "Number"


def test_served_tiles_carry_the_same_intervals(interval_build, layer):
    client = create_app(ServerConfig(build_dir=interval_build, reload_interval=0)).test_client()
    point = layer.loc["k1000"].geometry.representative_point()
    tile = mercantile.tile(point.x, point.y, 14)  # above the archive: encoded on demand
    response = client.get(f"/tiles/squares/{tile.z}/{tile.x}/{tile.y}.mvt")
    assert response.status_code == 200
    properties = _tile_features([response.data])["k1000"]
    assert properties["violent_per_sqmi_low_2015"] == layer.at["k1000", "violent_per_sqmi_low_2015"]
    assert properties["violent_per_sqmi_high"] == layer.at["k1000", "violent_per_sqmi_high"]
    assert properties["unstable"] is False and properties["suppressed"] is False


def test_the_readme_example_and_the_width_of_unstable_intervals():
    """README "How sure each number is": 3 incidents on 0.07 sq mi; at 20 incidents the interval
    spans 93 % of the rate, more below."""
    polygons = gpd.GeoDataFrame({"id": ["bg"], "name": ["bg"]}, geometry=[square_miles(0, 0, 1)], crs="EPSG:4326")
    row = density_frame(polygons, np.array([[3]]), [2016], area=np.array([0.07])).iloc[0]
    assert (row["violent_per_sqmi_2016"], row["violent_per_sqmi_low_2016"], row["violent_per_sqmi_high_2016"]) == (
        42.857,
        8.838,
        125.3,
    )
    widths = {k: (chi2.ppf(0.975, 2 * k + 2) - chi2.ppf(0.025, 2 * k)) / 2 / k for k in (10, 19, 20, 30)}
    assert widths[10] > widths[19] > widths[20] > widths[30]
    assert round(widths[20], 2) == 0.93
