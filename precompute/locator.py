"""Which polygon of a layer holds each point, fast enough for hundreds of millions of points.

A regular grid over the layer's extent answers most points with one array lookup: a grid cell
that no polygon boundary comes near lies wholly inside one polygon (or none), and every point in
it gets the polygon that holds the cell's centre. Points in the other cells are tested exactly
(`shapely.intersects_xy` on prepared polygons) against the polygons whose bounding box touches the
cell. The answer is the same as testing every point against every polygon: a point on a shared
edge, or in an overlap, goes to the first polygon in layer order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

MIN_GRID_CELLS = 1 << 18
MAX_GRID_CELLS = 1 << 22
GRID_CELLS_PER_POLYGON = 64
EDGE_SLACK_DEG = 1e-9
"""A boundary closer than this to a grid cell (degrees, about 0.1 mm) makes it a cell to test
point by point: far more than the rounding error of placing a point in its cell."""
BOUNDARY_BATCH = 16384
NONE = -1
MIXED = -2


@dataclass(frozen=True)
class GridShape:
    """`nx` x `ny` cells of `dx` x `dy` degrees over (`west`, `south`, `east`, `north`)."""

    west: float
    south: float
    east: float
    north: float
    nx: int
    ny: int

    @classmethod
    def over(cls, bounds: np.ndarray, cells: int) -> GridShape:
        """About `cells` cells over `bounds` (west, south, east, north), roughly square."""
        west, south, east, north = (float(v) for v in bounds)
        width, height = max(east - west, 1e-9), max(north - south, 1e-9)
        nx = int(np.clip(round(np.sqrt(cells * width / height)), 1, cells))
        ny = int(np.clip(round(cells / nx), 1, cells))
        return cls(west, south, west + width, south + height, nx, ny)

    @property
    def dx(self) -> float:
        return (self.east - self.west) / self.nx

    @property
    def dy(self) -> float:
        return (self.north - self.south) / self.ny

    def column(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((x - self.west) / self.dx), 0, self.nx - 1).astype(np.int64)

    def row(self, y: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((y - self.south) / self.dy), 0, self.ny - 1).astype(np.int64)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The cell holding each point (the last one for a point on the far edge), -1 off the grid."""
        inside = (x >= self.west) & (x <= self.east) & (y >= self.south) & (y <= self.north)
        return np.where(inside, self.row(y) * self.nx + self.column(x), -1)

    def cells_in_boxes(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(box index, cell) for every cell that each (west, south, east, north) box touches."""
        first_column, last_column = self.column(boxes[:, 0]), self.column(boxes[:, 2])
        first_row, last_row = self.row(boxes[:, 1]), self.row(boxes[:, 3])
        width = last_column - first_column + 1
        per_box = width * (last_row - first_row + 1)
        box = np.repeat(np.arange(len(boxes)), per_box)
        offset = np.arange(int(per_box.sum())) - np.repeat(np.cumsum(per_box) - per_box, per_box)
        cell = (first_row[box] + offset // width[box]) * self.nx + first_column[box] + offset % width[box]
        return box, cell

    def centres(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.west + (cells % self.nx + 0.5) * self.dx, self.south + (cells // self.nx + 0.5) * self.dy


@dataclass(frozen=True)
class PolygonLocator:
    """The grid of one polygon layer: `owner[cell]` is the polygon position holding the whole
    cell, NONE, or MIXED (test each point against `candidates[start[cell]:start[cell + 1]]`,
    ascending positions)."""

    polygons: np.ndarray
    grid: GridShape
    owner: np.ndarray
    start: np.ndarray
    candidates: np.ndarray

    @classmethod
    def build(cls, polygons: Sequence[shapely.Geometry] | np.ndarray) -> PolygonLocator:
        polygons = np.asarray(polygons, dtype=object)
        shapely.prepare(polygons)
        if len(polygons) == 0:
            empty = np.zeros(1, dtype=np.int64)
            return cls(polygons, GridShape(0.0, 0.0, 1.0, 1.0, 1, 1), np.full(1, NONE), empty, empty[:0])
        bounds = shapely.bounds(polygons)
        extent = np.array([bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()])
        cells = int(np.clip(GRID_CELLS_PER_POLYGON * len(polygons), MIN_GRID_CELLS, MAX_GRID_CELLS))
        grid = GridShape.over(extent, cells)
        polygon, cell = grid.cells_in_boxes(bounds)
        order = np.lexsort((polygon, cell))
        start = np.searchsorted(cell[order], np.arange(grid.nx * grid.ny + 1))
        owner = np.where(np.diff(start) > 0, MIXED, NONE)
        unmixed = np.flatnonzero((owner == MIXED) & ~_cells_near_boundaries(grid, polygons))
        locator = cls(polygons, grid, owner, start, polygon[order].astype(np.int32))
        x, y = grid.centres(unmixed)
        owner[unmixed] = locator._test(unmixed, x, y)
        return locator

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The position of the polygon holding each point, -1 where none does (see the module)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        cell = self.grid.cell_of(lon, lat)
        assignment = np.where(cell >= 0, self.owner[np.maximum(cell, 0)], NONE)
        mixed = np.flatnonzero(assignment == MIXED)
        assignment[mixed] = self._test(cell[mixed], lon[mixed], lat[mixed])
        return assignment

    def _test(self, cells: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Exact test of each point against its cell's candidates: the first that holds it, or -1."""
        per_point = self.start[cells + 1] - self.start[cells]
        point = np.repeat(np.arange(len(cells)), per_point)
        offset = np.arange(int(per_point.sum())) - np.repeat(np.cumsum(per_point) - per_point, per_point)
        candidate = self.candidates[self.start[cells][point] + offset]
        hit = shapely.intersects_xy(self.polygons[candidate], x[point], y[point])
        found = np.full(len(cells), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(found, point[hit], candidate[hit])
        return np.where(found == np.iinfo(np.int64).max, NONE, found)


def _cells_near_boundaries(grid: GridShape, polygons: np.ndarray) -> np.ndarray:
    """Whether some polygon's boundary (outer or inner ring) passes within EDGE_SLACK_DEG of each
    cell: the boundaries are cut into pieces no longer than a cell, and each piece's bounding box,
    widened by the slack, marks the cells it touches (BOUNDARY_BATCH polygons at a time)."""
    step = min(grid.dx, grid.dy)
    near = np.zeros(grid.nx * grid.ny, dtype=bool)
    for first in range(0, len(polygons), BOUNDARY_BATCH):
        lines = shapely.segmentize(shapely.get_parts(shapely.boundary(polygons[first : first + BOUNDARY_BATCH])), step)
        coordinates, line = shapely.get_coordinates(lines, return_index=True)
        same_line = line[1:] == line[:-1]
        start, end = coordinates[:-1][same_line], coordinates[1:][same_line]
        boxes = np.column_stack([np.minimum(start, end) - EDGE_SLACK_DEG, np.maximum(start, end) + EDGE_SLACK_DEG])
        near[grid.cells_in_boxes(boxes)[1]] = True
    return near
