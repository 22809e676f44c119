"""Density math on hand-made polygons whose areas and counts are known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box

from crimetiles.precompute.density import (
    UnitYearCounts,
    density_frame,
    geodesic_area_sqmi,
    quantile_breaks,
)

MILE_M = 1609.344
# Lambert azimuthal equal-area centred on Durham: a square of side 1 mile here is 1 sq mi.
TO_LONLAT = Transformer.from_crs("+proj=laea +lat_0=36 +lon_0=-78.9 +datum=WGS84", "EPSG:4326", always_xy=True)


def square_miles(x0: float, y0: float, side_mi: float) -> shapely.Polygon:
    """A square of `side_mi` miles with its south-west corner `x0, y0` miles from Durham, in lon/lat."""
    square = box(x0 * MILE_M, y0 * MILE_M, (x0 + side_mi) * MILE_M, (y0 + side_mi) * MILE_M)
    return shapely.transform(
        shapely.segmentize(square, 50.0), lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1]))
    )


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two 1-sq-mi squares sharing an edge, and a 2 x 2 mile square (4 sq mi) further east."""
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "name": ["A", "B", "C"]},
        geometry=[square_miles(0, 0, 1), square_miles(1, 0, 1), square_miles(5, 0, 2)],
        crs="EPSG:4326",
    )


def test_geodesic_area_of_known_squares(squares):
    assert geodesic_area_sqmi(squares.geometry.to_numpy()) == pytest.approx([1.0, 1.0, 4.0], rel=1e-4)


def test_area_ignores_ring_orientation():
    square = square_miles(0, 0, 1)
    assert geodesic_area_sqmi([square.reverse()]) == pytest.approx([1.0], rel=1e-4)


def test_density_frame_hand_computed(squares):
    counts = np.array([[3, 1], [0, 0], [8, 4]])
    frame = density_frame(squares, counts, [2012, 2013])
    per_year = ["violent_count", "violent_per_sqmi", "violent_per_sqmi_low", "violent_per_sqmi_high", "unstable", "suppressed"]
    assert list(frame.columns) == [
        "id",
        "name",
        "area_sqmi",
        *per_year,
        *(f"{field}_2012" for field in per_year),
        *(f"{field}_2013" for field in per_year),
        "geometry",
    ]
    a, b, c = frame.to_dict("records")
    assert a["violent_count"] == 4 and a["violent_count_2012"] == 3
    assert a["violent_per_sqmi_2012"] == pytest.approx(3.0, abs=1e-3)
    assert a["violent_per_sqmi"] == pytest.approx(2.0, abs=1e-3)  # (3 + 1) / 2 years / 1 sq mi
    assert b["violent_count"] == 0 and b["violent_per_sqmi"] == 0 and b["violent_per_sqmi_2013"] == 0
    assert c["violent_per_sqmi_2012"] == pytest.approx(2.0, abs=1e-3)  # 8 / 4 sq mi
    assert c["violent_per_sqmi"] == pytest.approx(1.5, abs=1e-3)  # 12 / 2 / 4


def test_quantile_breaks_pool_years_and_skip_zero(squares):
    counts = np.array([[10, 20], [0, 0], [40, 80]])
    frame = density_frame(squares, counts, [2012, 2013])
    breaks = quantile_breaks([frame], [2012, 2013], classes=2)
    positive = [10, 20, 15, 10, 20, 15]  # a: 10, 20, avg 15; c: 40/4, 80/4, avg 60/4
    assert breaks == (pytest.approx(float(np.median(positive)), rel=0.05),)
    assert quantile_breaks([density_frame(squares, np.zeros((3, 2), dtype=int), [2012, 2013])], [2012, 2013]) == ()


def test_unit_year_counts_sorted_by_unit_then_year():
    counts = UnitYearCounts.of(np.array([5, 2, 5, 5, 2]), np.array([2015, 2014, 2015, 2016, 2014]))
    assert (counts.unit.tolist(), counts.year.tolist(), counts.count.tolist()) == ([2, 5, 5], [2014, 2015, 2016], [2, 2, 1])


@pytest.mark.parametrize("largest_unit", [3, 400, 617_000_000_000_000_000])
def test_unit_year_counts_of_rows_are_the_sorted_total(largest_unit):
    """Polygon positions (counted in a table) and H3 cells (too many for one: sorted) alike."""
    rng = np.random.default_rng(largest_unit % 1000)
    unit = rng.integers(0, largest_unit, 5000, dtype=np.int64)
    year = rng.integers(2010, 2017, 5000)
    counts = UnitYearCounts.of(unit, year)
    expected = UnitYearCounts.total([UnitYearCounts(unit, year, np.ones(len(unit), np.int64))])
    for field in ("unit", "year", "count"):
        assert getattr(counts, field).tolist() == getattr(expected, field).tolist()
        assert getattr(counts, field).dtype == np.int64
    assert counts.count.sum() == 5000


def test_unit_year_counts_of_chunks_add_up_from_the_first_year():
    first = UnitYearCounts.of(np.array([0, 1, 1]), np.array([1900, 1900, 2024]))
    second = UnitYearCounts.of(np.array([1, 7]), np.array([1900, 2024]))
    total = UnitYearCounts.total([first, second])
    assert total.unit.tolist() == [0, 1, 1, 7]
    assert total.year.tolist() == [1900, 1900, 2024, 2024]
    assert total.count.tolist() == [1, 2, 1, 1]
    assert total.matrix(np.array([7, 0, 1, 3]), [1900, 2024]).tolist() == [[0, 1], [1, 0], [2, 1], [0, 0]]
    nothing = UnitYearCounts.total([])
    assert (nothing.unit.tolist(), nothing.year.tolist(), nothing.count.tolist()) == ([], [], [])


def test_density_frame_rounds_areas_to_6_and_densities_to_3_decimals(squares):
    area = np.array([0.1234567891, 3.0, 0.0])
    frame = density_frame(squares, np.array([[0], [1], [5]]), [2012], area=area)
    assert frame["area_sqmi"].tolist() == [0.123457, 3.0, 0.0]
    assert frame["violent_per_sqmi_2012"].tolist() == [0.0, 0.333, 0.0]  # 1 / 3 sq mi; no area, no density
    assert frame["violent_per_sqmi"].tolist() == [0.0, 0.333, 0.0]  # one year: the average is that year
    averaged = density_frame(squares, np.array([[8], [6], [5]]), [2012], average_years=4, area=area)
    assert averaged["violent_per_sqmi"].tolist() == [16.2, 0.5, 0.0]  # 8 / 4 / 0.1234567891; 6 / 4 / 3


def test_density_frame_without_years_has_zero_densities_not_nan(squares):
    """No year counted (no incident): the all-years density is 0 everywhere, not 0 / 0."""
    frame = density_frame(squares, np.zeros((3, 0), dtype=np.int64), [], area=np.array([1.0, 2.0, 0.0]))
    assert frame["violent_count"].tolist() == [0, 0, 0]
    assert frame["violent_per_sqmi"].tolist() == [0.0, 0.0, 0.0]


def test_quantile_breaks_round_to_two_significant_digits_over_every_frame_and_column():
    years = [2012]
    first = pd.DataFrame({"violent_per_sqmi_2012": [0.01234, 0.0, 123.4], "violent_per_sqmi": [0.0, 0.0, 0.0]})
    second = pd.DataFrame({"violent_per_sqmi_2012": [0.0], "violent_per_sqmi": [0.01236]})
    third = pd.DataFrame({"violent_per_sqmi_2012": [123.6], "violent_per_sqmi": [0.0]})
    # positive values 0.01234, 0.01236, 123.4, 123.6: quartiles 0.012355, 61.70618, 123.45 (linear)
    assert quantile_breaks([first, second, third], years, classes=4) == (0.012, 62.0, 120.0)
    assert quantile_breaks([first, second, third], years, classes=2) == (62.0,)


def test_quantile_breaks_default_to_five_classes():
    """Positive values 1..10 (the all-years column all 0): quintile bounds at linear positions
    1.8, 3.6, 5.4 and 7.2 of the sorted values, i.e. 2.8, 4.6, 6.4, 8.2."""
    frame = pd.DataFrame({"violent_per_sqmi_2012": [float(v) for v in range(1, 11)], "violent_per_sqmi": [0.0] * 10})
    assert quantile_breaks([frame], [2012]) == (2.8, 4.6, 6.4, 8.2)
    assert quantile_breaks([frame], [2012], classes=3) == (4.0, 7.0)  # positions 3 and 6


def test_unit_year_counts_are_frozen():
    counts = UnitYearCounts.of(np.array([1]), np.array([2012]))
    with pytest.raises(AttributeError):
        counts.count = np.array([2])  # type: ignore[misc]
