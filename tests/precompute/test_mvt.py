"""Tile encoding math: what goes into a tile comes back where it belongs (property tests)."""

from __future__ import annotations

import mapbox_vector_tile
import mercantile
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from crimetiles.artifact import mvt
from crimetiles.artifact.mvt import TILE_EXTENT, LayerTiler, _flat, _repaired, tile_unit_m

tiles = st.builds(
    lambda z, fx, fy: mercantile.Tile(int(fx * (2**z)), int(fy * (2**z)), z),
    st.integers(0, 18),
    st.floats(0, 1, exclude_max=True),
    st.floats(0, 1, exclude_max=True),
)
fractions = st.floats(0.05, 0.75)


@settings(max_examples=200, deadline=None)
@given(tile=tiles, left=fractions, top=fractions, size=st.floats(0.05, 0.2))
def test_square_lands_at_its_tile_coordinates(tile, left, top, size):
    """A square at known fractions of a tile decodes to those fractions of the 4096 extent
    (y down from the north edge), within one unit."""
    west, south, east, north = mercantile.xy_bounds(tile)
    width, height = east - west, north - south
    x0, x1 = west + left * width, west + (left + size) * width
    y1, y0 = north - top * height, north - (top + size) * height
    tiler = LayerTiler("squares", [shapely.box(x0, y0, x1, y1)], pd.DataFrame({"id": ["a"]}), simplify_maxzoom=30)
    decoded = mapbox_vector_tile.decode(tiler.encode(tile), default_options={"y_coord_down": True})
    (feature,) = decoded["squares"]["features"]
    ring = feature["geometry"]["coordinates"][0]
    xs, ys = [x for x, _ in ring], [y for _, y in ring]
    expected = (left * TILE_EXTENT, top * TILE_EXTENT, (left + size) * TILE_EXTENT, (top + size) * TILE_EXTENT)
    assert abs(min(xs) - expected[0]) <= 1 and abs(min(ys) - expected[1]) <= 1
    assert abs(max(xs) - expected[2]) <= 1 and abs(max(ys) - expected[3]) <= 1
    assert feature["properties"] == {"id": "a"}


@settings(max_examples=100, deadline=None)
@given(tile=tiles)
def test_polygon_covering_the_tile_is_clipped_to_the_buffer(tile):
    west, south, east, north = mercantile.xy_bounds(tile)
    span = east - west
    huge = shapely.box(west - 10 * span, south - 10 * span, east + 10 * span, north + 10 * span)
    tiler = LayerTiler("cover", [huge], pd.DataFrame({"id": ["big"]}), simplify_maxzoom=30)
    ring = mapbox_vector_tile.decode(tiler.encode(tile))["cover"]["features"][0]["geometry"]["coordinates"][0]
    assert {min(x for x, _ in ring), max(x for x, _ in ring)} == {-64, TILE_EXTENT + 64}


def test_far_away_polygon_gives_no_tile():
    tile = mercantile.Tile(0, 0, 10)
    elsewhere = shapely.box(0, 0, 1000, 1000)  # near lon/lat 0,0, far from tile 10/0/0
    assert LayerTiler("x", [elsewhere], pd.DataFrame(index=[0]), simplify_maxzoom=14).encode(tile) is None


def test_tile_units_are_the_mvt_default_4096_per_tile_side():
    # the Web Mercator world, 2 pi x 6378137 m = 40,075,016.69 m, over 4096 units, then halved per zoom
    assert tile_unit_m(0) == pytest.approx(9783.93962050256, rel=1e-12)
    assert tile_unit_m(12) == pytest.approx(2.388657133911758, rel=1e-12)
    square = shapely.box(-1e6, -1e6, 1e6, 1e6)
    layer = mapbox_vector_tile.decode(LayerTiler("sq", [square], pd.DataFrame(index=[0]), 0).encode(mercantile.Tile(0, 0, 0)))
    assert layer["sq"]["extent"] == 4096


def test_a_tile_of_polygons_with_holes_keeps_each_hole_a_ring():
    outer, hole = shapely.box(-1e7, -1e7, 1e7, 1e7), shapely.box(-5e6, -5e6, 5e6, 5e6)
    donut = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    tile = LayerTiler("donut", [donut], pd.DataFrame(index=[0]), 0).encode(mercantile.Tile(0, 0, 0))
    geometry = mapbox_vector_tile.decode(tile)["donut"]["features"][0]["geometry"]
    assert geometry["type"] == "Polygon" and [len(ring) for ring in geometry["coordinates"]] == [5, 5]


def test_flat_means_every_vertex_on_one_line():
    assert _flat(shapely.Polygon([(0, 0), (1, 2), (2, 4), (0, 0)]))
    assert _flat(shapely.Polygon([(5, 5), (5, 5), (5, 5), (5, 5)]))
    assert not _flat(shapely.Polygon([(0, 0), (1, 1), (2, 3), (0, 0)]))
    assert not _flat(shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 0)]))


def test_a_polygon_pyclipper_cannot_repair_is_dropped_after_four_repairs(monkeypatch):
    """mapbox-vector-tile's rule: the shape is checked five times and repaired between checks, so
    `make_it_valid` runs four times, then the shape is dropped. pyclipper's `make_it_valid` is
    replaced by one that fails (returns the same bowtie), which the real one does only for rare
    shapes that no small example reproduces."""
    bowtie = shapely.Polygon([(0, 0), (4, 4), (4, 0), (0, 4)])
    calls: list[shapely.Geometry] = []

    def failing_repair(shape: shapely.Geometry) -> shapely.Geometry:
        calls.append(shape)
        return bowtie

    monkeypatch.setattr(mvt, "make_it_valid", failing_repair)
    assert _repaired(bowtie) is None
    assert len(calls) == 4
