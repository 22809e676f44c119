"""Tile encoding math: what goes into a tile comes back where it belongs (property tests)."""

from __future__ import annotations

import warnings

import mapbox_vector_tile
import mapbox_vector_tile.polygon
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

    monkeypatch.setattr(mapbox_vector_tile.polygon, "make_it_valid", failing_repair)  # imported where used: see `_validated`
    assert _repaired(bowtie) is None
    assert len(calls) == 4


# -- what each part of the encoder decides, on hand-made layers ---------------------------------


def _from_tile_units(tile: mercantile.Tile, geometry: shapely.Geometry) -> shapely.Geometry:
    """`geometry`, given in tile units of `tile` (y down from its north-west corner), in Web Mercator metres."""
    west, _, east, north = mercantile.xy_bounds(tile)
    unit = (east - west) / TILE_EXTENT
    return shapely.transform(geometry, lambda uv: uv * [unit, -unit] + [west, north])


def _drawn(tiler: LayerTiler, tile: mercantile.Tile) -> list[tuple[dict, list[list[tuple[int, int]]]]] | None:
    """Each feature of the tile, read with mapbox-vector-tile: its properties and its rings (tile
    units, y down, closing point included), or None for no tile."""
    data = tiler.encode(tile)
    if data is None:
        return None
    features = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})[tiler.name]["features"]
    drawn = []
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        drawn.append((feature["properties"], [[tuple(point) for point in ring] for polygon in polygons for ring in polygon]))
    return drawn


def test_one_row_of_properties_per_geometry_is_required():
    """300 of each: beyond the small integers CPython keeps one object of, so lengths are compared by value."""
    squares = [shapely.box(-9e6 + i * 6e4, 0, -9e6 + i * 6e4 + 5e4, 5e4) for i in range(300)]
    with pytest.raises(ValueError, match="one row of properties per geometry"):
        LayerTiler("x", squares, pd.DataFrame({"id": range(299)}), 14)
    with pytest.raises(ValueError, match="one row of properties per geometry"):
        LayerTiler("x", squares[:299], pd.DataFrame({"id": range(300)}), 14)
    drawn = _drawn(LayerTiler("x", squares, pd.DataFrame({"id": range(300)}), 0), mercantile.Tile(0, 0, 0))  # exact: no dust
    assert [properties["id"] for properties, _ in drawn] == list(range(300))


def test_each_zoom_up_to_the_simplification_max_zoom_is_indexed_until_released():
    tiler = LayerTiler("sq", [shapely.box(-1e5, -1e5, 1e5, 1e5)], pd.DataFrame(index=[0]), simplify_maxzoom=4)
    for zoom in (2, 4, 6):  # zoom 6 is drawn from zoom 4's geometry: the full one
        tiler.encode(mercantile.tile(0.0, 0.0, zoom))
    assert tiler.indexed_zooms == (2, 4)
    tiler.release(6)
    assert tiler.indexed_zooms == (2,)


BUMPED_SQUARE = shapely.Polygon([(1000, 1000), (2000, 999.1), (3000, 1000), (3000, 3000), (1000, 3000)])
"""A square (tile units) whose top edge is bent outwards by 0.9 of a unit at its middle: within the
one-unit simplification tolerance, yet one unit off the edge once snapped to the grid."""
SQUARE_CORNERS = [(1000, 1000), (1000, 3000), (3000, 1000), (3000, 3000)]


@pytest.mark.parametrize(
    ("simplify_maxzoom", "expected"),
    [
        (2, SQUARE_CORNERS),  # zoom 1 is below the max zoom: simplified to one tile unit, the bump gone
        (1, sorted([*SQUARE_CORNERS, (2000, 999)])),  # at the max zoom: exact
        (0, sorted([*SQUARE_CORNERS, (2000, 999)])),  # above it: exact
    ],
)
def test_geometry_is_simplified_below_the_simplification_max_zoom_only(simplify_maxzoom, expected):
    tile = mercantile.Tile(0, 0, 1)
    bumped = _from_tile_units(tile, BUMPED_SQUARE)
    assert len(shapely.simplify(bumped, tile_unit_m(1)).exterior.coords) == 5  # Douglas-Peucker drops the bump
    ((_, (ring,)),) = _drawn(LayerTiler("sq", [bumped], pd.DataFrame(index=[0]), simplify_maxzoom), tile)
    assert sorted(set(ring)) == expected and len(ring) == len(expected) + 1


@pytest.mark.parametrize(
    "square",
    [
        shapely.box(-50, 1000, -10, 2000),  # west of the tile
        shapely.box(TILE_EXTENT + 10, 1000, TILE_EXTENT + 50, 2000),  # east
        shapely.box(1000, -50, 2000, -10),  # north (y down)
        shapely.box(1000, TILE_EXTENT + 10, 2000, TILE_EXTENT + 50),  # south
    ],
    ids=["west", "east", "north", "south"],
)
def test_a_polygon_only_in_the_buffer_is_drawn(square):
    """Within the 64 units drawn beyond each edge, on each of the four sides."""
    tile = mercantile.Tile(1150, 1608, 12)
    tiler = LayerTiler("buffer", [_from_tile_units(tile, square)], pd.DataFrame({"id": ["edge"]}), 14)
    ((properties, (ring,)),) = _drawn(tiler, tile)
    assert properties == {"id": "edge"}
    assert sorted(set(ring)) == sorted({(int(x), int(y)) for x, y in square.exterior.coords})


def test_points_and_lines_of_a_layer_are_not_drawn():
    """Only polygons are drawn in a polygon layer: a point, line or collection of them among its
    geometries is left out."""
    tile = mercantile.Tile(0, 0, 0)
    line = shapely.LineString([(100, 100), (900, 700)])
    geometries = [
        shapely.Point(500, 500),
        line,
        shapely.MultiPoint([(100, 100), (300, 900)]),
        shapely.MultiLineString([[(100, 100), (900, 100)], [(100, 900), (900, 900)]]),
        shapely.GeometryCollection([line, shapely.Point(2000, 2000)]),
        shapely.box(1000, 1000, 3000, 3000),
    ]
    ids = ["point", "line", "points", "lines", "collection", "square"]
    tiler = LayerTiler("mixed", [_from_tile_units(tile, g) for g in geometries], pd.DataFrame({"id": ids}), 14)
    ((properties, (ring,)),) = _drawn(tiler, tile)
    assert properties == {"id": "square"} and sorted(set(ring)) == SQUARE_CORNERS


def test_a_tile_whose_only_polygon_snaps_to_a_point_is_not_written():
    tile = mercantile.Tile(1150, 1608, 12)
    speck = shapely.box(2000.1, 2000.1, 2000.4, 2000.4)  # every corner rounds to (2000, 2000)
    assert LayerTiler("speck", [_from_tile_units(tile, speck)], pd.DataFrame(index=[0]), 14).encode(tile) is None


def test_a_polygon_snapping_flattens_is_dropped_and_its_neighbours_kept():
    tile = mercantile.Tile(1150, 1608, 12)
    sliver = shapely.box(100, 100.1, 300, 100.4)  # every corner rounds onto the line y = 100
    geometries = [shapely.box(1000, 1000, 3000, 3000), sliver, shapely.box(3500, 3500, 4000, 4000)]
    tiler = LayerTiler("s", [_from_tile_units(tile, g) for g in geometries], pd.DataFrame({"id": ["a", "sliver", "b"]}), 14)
    drawn = _drawn(tiler, tile)
    assert [(properties["id"], sorted(set(ring))) for properties, (ring,) in drawn] == [
        ("a", SQUARE_CORNERS),
        ("b", [(3500, 3500), (3500, 4000), (4000, 3500), (4000, 4000)]),
    ]


def test_a_tile_of_polygons_with_and_without_holes_is_encoded_without_warnings():
    outer, hole = shapely.box(-1e7, -1e7, 1e7, 1e7), shapely.box(-5e6, -5e6, 5e6, 5e6)
    donut = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    tiler = LayerTiler("d", [donut, shapely.box(1.5e7, 1.5e7, 1.8e7, 1.8e7)], pd.DataFrame({"id": ["donut", "plain"]}), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawn = _drawn(tiler, mercantile.Tile(0, 0, 0))
    assert [(properties["id"], [len(ring) for ring in rings]) for properties, rings in drawn] == [
        ("donut", [5, 5]),
        ("plain", [5]),
    ]


def test_flat_holds_for_lines_off_the_origin_and_any_slope():
    assert _flat(shapely.Polygon([(0, 1), (1, 1), (2, 1), (0, 1)]))  # y = 1
    assert _flat(shapely.Polygon([(0, 0), (2, 1), (4, 2), (0, 0)]))  # slope 1/2
    assert not _flat(shapely.Polygon([(0, 0), (-2, -1), (3, -1), (0, 0)]))  # offsets with negative coordinates
    assert not _flat(shapely.Polygon([(0, 0), (0, 4), (4, 4), (0, 0)]))  # first offset vertical
    assert not _flat(shapely.Polygon([(0, 0), (1, 0), (-1, -1), (0, 0)]))  # the one vertex off the line is 1 unit down-left


def test_a_multipolygon_left_with_one_part_is_repaired_to_that_polygon():
    """Snapping flattened one part of the multipolygon (zero area): repair leaves the other, a polygon."""
    square = shapely.box(0, 0, 4, 4)
    repaired = _repaired(shapely.MultiPolygon([square, shapely.Polygon([(10, 0), (12, 0), (14, 0)])]))
    assert repaired.geom_type == "Polygon" and repaired.equals(square)


# -- pixel dust: below the exact zooms, a polygon under a pixel is drawn as its pixel -----------

DUST_TILE = mercantile.Tile(9, 5, 4)
DUST_LAYER = {
    "big": shapely.box(1000, 1000, 3000, 3000),
    "speck": shapely.box(2505, 201, 2510, 206),  # holds the cell centre (2508, 204)
    "triangle": shapely.Polygon([(3201, 201), (3208, 201), (3201, 208)]),  # holds (3204, 204)
    "between": shapely.box(2601, 201, 2603, 206),  # between the centres x = 2596 and 2604
    "corner": shapely.Polygon([(3401, 201), (3406, 201), (3401, 206)]),  # its bounds hold (3404, 204), not it
    "thin": shapely.box(100, 3500, 600, 3505),  # under a cell tall, not wide: simplified, not dust
    "tall": shapely.box(700, 3000, 705, 3500),  # under a cell wide, not tall: simplified, not dust
    "almost": shapely.box(3600.05, 3600.05, 3607.95, 3607.95),  # 7.9 units both ways: dust
    "late": shapely.box(2013, 301, 2020.4, 308.4),  # starts past a cell's middle both ways: holds (2020, 308)
}
"""Polygons in tile units of a tile (y down); cell centres are at 8 i + 4 units, since every
tile's corner lies on the cell grid."""
DUST_TILES = [DUST_TILE, mercantile.Tile(6, 10, 4), mercantile.Tile(1205, 1540, 12)]
"""North-east and south-west of the origin (the signs of the bounds), and a zoom where a tile unit
is 2.4 m (the grid's origin to the metre)."""


def _dust_tiler(simplify_maxzoom: int, tile: mercantile.Tile = DUST_TILE) -> LayerTiler:
    geometries = [_from_tile_units(tile, geometry) for geometry in DUST_LAYER.values()]
    return LayerTiler("dust", geometries, pd.DataFrame({"id": list(DUST_LAYER)}), simplify_maxzoom)


@pytest.mark.parametrize("tile", DUST_TILES, ids=str)
def test_a_polygon_under_a_pixel_is_drawn_as_the_pixel_whose_centre_it_holds(tile):
    drawn = {properties["id"]: sorted(set(ring)) for properties, (ring,) in _drawn(_dust_tiler(14, tile), tile)}
    cell = mvt.DUST_CELL_UNITS
    assert cell == 8  # a pixel of a 512-pixel tile

    def pixel(x: int, y: int) -> list[tuple[int, int]]:
        return [(x, y), (x, y + cell), (x + cell, y), (x + cell, y + cell)]

    assert drawn == {
        "big": SQUARE_CORNERS,
        "speck": pixel(2504, 200),
        "triangle": pixel(3200, 200),
        "thin": [(100, 3500), (100, 3505), (600, 3500), (600, 3505)],
        "tall": [(700, 3000), (700, 3500), (705, 3000), (705, 3500)],
        "almost": pixel(3600, 3600),
        "late": pixel(2016, 304),
    }


def test_from_the_simplification_max_zoom_every_polygon_is_exact():
    drawn = {properties["id"]: sorted(set(ring)) for properties, (ring,) in _drawn(_dust_tiler(DUST_TILE.z), DUST_TILE)}
    assert set(drawn) == set(DUST_LAYER)
    for name, geometry in DUST_LAYER.items():
        assert drawn[name] == sorted({(round(x), round(y)) for x, y in geometry.exterior.coords}), name


def test_a_tile_whose_only_polygons_hold_no_pixel_centre_is_not_written():
    tiler = LayerTiler(
        "dust", [_from_tile_units(DUST_TILE, DUST_LAYER[name]) for name in ("between", "corner")], pd.DataFrame(index=[0, 1]), 14
    )
    assert tiler.encode(DUST_TILE) is None
