"""The grid locator answers as testing each point against every polygon in layer order would."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box

from crimetiles.precompute.locator import LayerLocators, PolygonLocator


def brute_force(polygons: list[shapely.Geometry], lon: np.ndarray, lat: np.ndarray) -> list[int]:
    """The first polygon that intersects each point (boundary included), -1 for none."""
    return [
        next((i for i, polygon in enumerate(polygons) if polygon.intersects(Point(x, y))), -1)
        for x, y in zip(lon, lat, strict=True)
    ]


def test_tessellation_overlap_hole_and_edges():
    rng = np.random.default_rng(11)
    cells = shapely.voronoi_polygons(shapely.multipoints(rng.uniform(0, 1, (60, 2))), extend_to=box(0, 0, 1, 1))
    polygons = [cell.intersection(box(0, 0, 1, 1)) for cell in shapely.get_parts(cells)]
    polygons.append(box(0.2, 0.2, 0.6, 0.6))  # overlaps others: loses to them, wins where only it is
    polygons.append(Polygon([(1.2, 0), (2, 0), (2, 1), (1.2, 1)], [[(1.4, 0.2), (1.8, 0.2), (1.8, 0.8), (1.4, 0.8)]]))
    vertices = shapely.get_coordinates(polygons)
    edges = (vertices[:-1] + vertices[1:]) / 2
    points = np.concatenate([rng.uniform(-0.1, 2.1, (4000, 2)), vertices, edges, [[1.6, 0.5], [2.0, 1.0], [-0.1, 0.5]]])
    lon, lat = points[:, 0], points[:, 1]
    assert PolygonLocator.build(polygons).assign(lon, lat).tolist() == brute_force(polygons, lon, lat)


def test_one_polygon_and_points_far_away():
    polygons = [box(-79.0, 35.9, -78.9, 36.0)]
    lon, lat = np.array([-78.95, -78.9, 10.0, -79.0000001]), np.array([35.95, 36.0, 10.0, 35.95])
    assert PolygonLocator.build(polygons).assign(lon, lat).tolist() == [0, 0, -1, -1]


def test_polygon_holding_cells_that_others_cross_comes_first():
    """A polygon earlier in the layer that wholly holds the cells crossed by later ones' edges wins
    there too, though no edge of its own comes near those cells."""
    rng = np.random.default_rng(5)
    small = [Point(x, y).buffer(0.03) for x, y in rng.uniform(0.2, 0.8, (12, 2))]
    polygons = [box(0, 0, 1, 1), *small, box(0.45, 0.45, 0.55, 0.55)]
    points = np.concatenate([rng.uniform(-0.1, 1.1, (3000, 2)), shapely.get_coordinates(small)])
    lon, lat = points[:, 0], points[:, 1]
    assigned = PolygonLocator.build(polygons).assign(lon, lat).tolist()
    assert assigned == brute_force(polygons, lon, lat)
    assert set(assigned) == {-1, 0}


def test_layers_share_one_grid_and_answer_as_each_alone():
    rng = np.random.default_rng(3)
    tracts = [box(0, 0, 1, 1), box(1, 0, 2, 1)]
    blocks = [Point(x, y).buffer(0.2) for x, y in rng.uniform(0, 3, (10, 2))]
    lon, lat = rng.uniform(-0.5, 3.5, 2000), rng.uniform(-0.5, 3.5, 2000)
    located = LayerLocators.build({"tracts": np.array(tracts), "blocks": np.array(blocks)})
    assert located.layers["tracts"].grid == located.layers["blocks"].grid
    assigned = located.assign(lon, lat)
    assert assigned["tracts"].tolist() == brute_force(tracts, lon, lat)
    assert assigned["blocks"].tolist() == brute_force(blocks, lon, lat)


def test_an_empty_layer_holds_no_point_beside_another():
    located = LayerLocators.build({"square": np.array([box(0, 0, 1, 1)]), "empty": np.array([], dtype=object)})
    assigned = located.assign(np.array([0.5, 3.0]), np.array([0.5, 3.0]))
    assert assigned["square"].tolist() == [0, -1]
    assert assigned["empty"].tolist() == [-1, -1]
    assert PolygonLocator.build([]).assign(np.array([0.5]), np.array([0.5])).tolist() == [-1]


def test_cells_within_boxes_are_every_cell_a_box_holds_whole():
    from crimetiles.precompute.locator import GridShape

    grid = GridShape(0.0, 0.0, 1.0, 1.0, 10, 10)
    rng = np.random.default_rng(2)
    corners = rng.uniform(-0.2, 1.2, (300, 2, 2))
    boxes = np.column_stack([corners.min(axis=1), corners.max(axis=1)])[:, [0, 1, 2, 3]]
    boxes = np.concatenate([boxes, [[0.1, 0.1, 0.3, 0.3], [0.15, 0.1, 0.24, 0.9]]])  # edges on cell lines; under a cell wide
    box, cell = grid.cells_within_boxes(boxes)
    found = set(zip(box.tolist(), cell.tolist(), strict=True))
    column, row = np.arange(100) % 10, np.arange(100) // 10

    def held(west: float, south: float, east: float, north: float, slack: float) -> set[int]:
        inside = (column / 10 >= west - slack) & ((column + 1) / 10 <= east + slack)
        return set(np.flatnonzero(inside & (row / 10 >= south - slack) & ((row + 1) / 10 <= north + slack)).tolist())

    for index, bounds in enumerate(boxes):
        mine = {c for b, c in found if b == index}
        assert held(*bounds, slack=0) <= mine <= held(*bounds, slack=1e-6), index
    assert {c for b, c in found if b == 300} == {11, 12, 21, 22}
    assert not {c for b, c in found if b == 301}
