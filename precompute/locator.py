"""Which polygon of a layer holds each point, fast enough for hundreds of millions of points.

A regular grid over the layers' extent answers most points with one array lookup: a grid cell
that no polygon boundary comes near lies wholly inside one polygon (or none), and every point in
it gets that polygon. Points in the other cells are tested exactly (`shapely.intersects_xy` on
prepared polygons) against the polygons whose boundary crosses the cell or that hold it whole
(an overlapping layer's), in layer order, until one holds the point. The answer is the
same as testing every point against every polygon: a point on a shared edge, or in an overlap,
goes to the first polygon in layer order.

Cells no boundary comes near are not tested one by one: side by side, two such cells are inside
the same polygons (no boundary crosses between their centres), so each connected region of them
is tested once, at one of its cells. That makes a fine grid cheap to build, and the finer the
grid, the fewer points fall in the cells tested point by point. Every layer shares one grid, so
a point's cell is found once for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from crimetiles.precompute.arrays import distinct

MIN_GRID_CELLS = 1 << 20
MAX_GRID_CELLS = 1 << 22
GRID_CELLS_PER_POLYGON = 256
EDGE_SLACK_DEG = 1e-9
"""A boundary closer than this to a grid cell (degrees, about 0.1 mm) makes it a cell to test
point by point: far more than the rounding error of placing a point in its cell."""
INNER_SLACK_CELLS = 1e-6
"""A cell this close (in cells) to lying wholly inside a polygon's bounding box counts as inside."""
BOUNDARY_BATCH = 16384
NONE = -1
MIXED = -2
"""`owner` values from MIXED down: the cell is tested point by point, its candidates numbered MIXED - owner."""


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

    @classmethod
    def for_layers(cls, layers: Sequence[np.ndarray]) -> GridShape:
        """The grid over every polygon of `layers`: GRID_CELLS_PER_POLYGON cells per polygon of the
        largest layer, within MIN_GRID_CELLS and MAX_GRID_CELLS."""
        bounds = np.concatenate([np.empty((0, 4)), *(shapely.bounds(polygons) for polygons in layers)])
        bounds = bounds[~np.isnan(bounds).any(axis=1)]
        if not len(bounds):
            return cls(0.0, 0.0, 1.0, 1.0, 1, 1)
        extent = np.array([bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()])
        most = max(len(polygons) for polygons in layers)
        return cls.over(extent, int(np.clip(GRID_CELLS_PER_POLYGON * most, MIN_GRID_CELLS, MAX_GRID_CELLS)))

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
        columns, rows = (self.column(boxes[:, 0]), self.column(boxes[:, 2])), (self.row(boxes[:, 1]), self.row(boxes[:, 3]))
        return self._cells_in_ranges(*columns, *rows)

    def cells_within_boxes(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(box index, cell) for every cell wholly inside each (west, south, east, north) box, and
        the cells a rounding error away from being so (more cells only cost more tests)."""
        columns = self._inner((boxes[:, 0] - self.west) / self.dx, (boxes[:, 2] - self.west) / self.dx, self.nx)
        rows = self._inner((boxes[:, 1] - self.south) / self.dy, (boxes[:, 3] - self.south) / self.dy, self.ny)
        some = (columns[1] >= columns[0]) & (rows[1] >= rows[0])
        box, cell = self._cells_in_ranges(columns[0][some], columns[1][some], rows[0][some], rows[1][some])
        return np.flatnonzero(some)[box], cell

    @staticmethod
    def _inner(low: np.ndarray, high: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
        """The first and last whole cells between `low` and `high`, in cells from the grid's edge."""
        first = np.clip(np.ceil(low - INNER_SLACK_CELLS), 0, cells).astype(np.int64)
        return first, np.clip(np.floor(high + INNER_SLACK_CELLS) - 1, -1, cells - 1).astype(np.int64)

    def _cells_in_ranges(
        self, first_column: np.ndarray, last_column: np.ndarray, first_row: np.ndarray, last_row: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(range index, cell) for every cell of each range of columns and rows (inclusive)."""
        width = last_column - first_column + 1
        per_box = width * (last_row - first_row + 1)
        box = np.repeat(np.arange(len(first_column)), per_box)
        offset = np.arange(int(per_box.sum())) - np.repeat(np.cumsum(per_box) - per_box, per_box)
        cell = (first_row[box] + offset // width[box]) * self.nx + first_column[box] + offset % width[box]
        return box, cell

    def centres(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.west + (cells % self.nx + 0.5) * self.dx, self.south + (cells // self.nx + 0.5) * self.dy


@dataclass(frozen=True)
class PolygonLocator:
    """One polygon layer on a grid: `owner[cell]` is the polygon position holding the whole cell,
    NONE, or from MIXED down a cell whose points are tested against its candidates,
    `candidates[start[k]:start[k + 1]]` (ascending positions) for `owner == MIXED - k`."""

    polygons: np.ndarray
    grid: GridShape
    owner: np.ndarray
    start: np.ndarray
    candidates: np.ndarray

    @classmethod
    def build(cls, polygons: Sequence[shapely.Geometry] | np.ndarray, grid: GridShape | None = None) -> PolygonLocator:
        """The locator of `polygons` on `grid` (by default, a grid over them alone)."""
        polygons = np.asarray(polygons, dtype=object)
        grid = grid or GridShape.for_layers([polygons])
        shapely.prepare(polygons)
        tree = shapely.STRtree(polygons)
        crossed, crossing = _boundary_cells(grid, polygons)
        near = np.zeros(grid.nx * grid.ny, dtype=bool)
        near[crossed] = True
        owner = _region_owners(grid, tree, ~near)
        # A polygon holds points of a cell its boundary crosses, or the whole cell, centre included.
        mixed = np.flatnonzero(near)
        crossing_keys = _pair_keys(crossed, crossing, len(polygons))
        held, holding = _holders(grid, polygons, near, crossing_keys)
        holding_keys = _pair_keys(held, holding, len(polygons))
        cell, candidate = _distinct_pairs(np.concatenate([crossing_keys, holding_keys]), len(polygons))
        start = np.searchsorted(cell, mixed)
        owner[mixed] = MIXED - np.arange(len(mixed), dtype=np.int32)
        return cls(polygons, grid, owner, np.append(start, len(cell)), candidate.astype(np.int32))

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The position of the polygon holding each point, -1 where none does (see the module)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        return self.assign_cells(self.grid.cell_of(lon, lat), lon, lat)

    def assign_cells(self, cell: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """`assign` for points whose cell of `grid` is known (`GridShape.cell_of`)."""
        assignment = np.where(cell >= 0, self.owner[np.maximum(cell, 0)], np.int32(NONE))
        mixed = np.flatnonzero(assignment <= MIXED)
        assignment[mixed] = self._test(MIXED - assignment[mixed], lon[mixed], lat[mixed])
        return assignment

    def _test(self, tested: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Exact test of each point against its cell's candidates (`tested`: the cells' numbers
        among those tested), in layer order: the first that holds it, or -1. A point leaves at its
        first hit, so a point on one side of a boundary costs one test, the other side two."""
        first, count = self.start[tested], self.start[tested + 1] - self.start[tested]
        found = np.full(len(tested), NONE, dtype=np.int32)
        waiting = np.arange(len(tested))
        for rank in range(int(count.max(initial=0))):
            waiting = waiting[count[waiting] > rank]
            candidate = self.candidates[first[waiting] + rank]
            hit = shapely.intersects_xy(self.polygons[candidate], x[waiting], y[waiting])
            found[waiting[hit]] = candidate[hit]
            waiting = waiting[~hit]
        return found


@dataclass(frozen=True)
class LayerLocators:
    """Several layers' locators on one grid: each point's cell is found once for all of them."""

    grid: GridShape
    layers: Mapping[str, PolygonLocator]

    @classmethod
    def build(cls, layers: Mapping[str, np.ndarray]) -> LayerLocators:
        grid = GridShape.for_layers(list(layers.values()))
        return cls(grid, {name: PolygonLocator.build(polygons, grid) for name, polygons in layers.items()})

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
        """Per layer, `PolygonLocator.assign` of the points."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        cell = self.grid.cell_of(lon, lat)
        return {name: locator.assign_cells(cell, lon, lat) for name, locator in self.layers.items()}


def _region_owners(grid: GridShape, tree: shapely.STRtree, away: np.ndarray) -> np.ndarray:
    """Per cell, the first polygon (in layer order) holding it for the cells `away` from every
    boundary, NONE elsewhere: each connected region of such cells tested once, at one of its cells."""
    region, regions = ndimage.label(away.reshape(grid.ny, grid.nx))
    region = region.ravel()
    sample = np.zeros(regions + 1, dtype=np.int64)
    sample[region] = np.arange(len(region))  # any cell of a region stands for it
    x, y = grid.centres(sample[1:])
    point, polygon = tree.query(shapely.points(x, y), predicate="intersects")
    first = np.full(regions + 1, np.iinfo(np.int32).max, dtype=np.int64)
    np.minimum.at(first, point + 1, polygon)
    owners = np.where(first == np.iinfo(np.int32).max, NONE, first).astype(np.int32)
    owners[0] = NONE
    return owners[region]


def _boundary_cells(grid: GridShape, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cell, polygon) for each cell a polygon's boundary (outer or inner ring) passes within
    EDGE_SLACK_DEG of: the boundaries are cut into pieces no longer than a cell, and each piece's
    bounding box, widened by the slack, marks the cells it touches (BOUNDARY_BATCH polygons at a
    time). Pairs are distinct, sorted by cell then polygon."""
    step = min(grid.dx, grid.dy)
    keys = [np.empty(0, np.int64)]
    for first in range(0, len(polygons), BOUNDARY_BATCH):
        rings, polygon = shapely.get_parts(shapely.boundary(polygons[first : first + BOUNDARY_BATCH]), return_index=True)
        coordinates, ring = shapely.get_coordinates(shapely.segmentize(rings, step), return_index=True)
        same_ring = ring[1:] == ring[:-1]
        start, end = coordinates[:-1][same_ring], coordinates[1:][same_ring]
        boxes = np.column_stack([np.minimum(start, end) - EDGE_SLACK_DEG, np.maximum(start, end) + EDGE_SLACK_DEG])
        piece, cell = grid.cells_in_boxes(boxes)
        batch = _pair_keys(cell, first + polygon[ring[:-1][same_ring][piece]], len(polygons))
        # A ring's next pieces mostly lie in the cell of the last: drop those repeats before sorting.
        repeat = np.zeros(len(batch), dtype=bool)
        repeat[1:] = batch[1:] == batch[:-1]
        keys.append(batch[~repeat])
    return _distinct_pairs(np.concatenate(keys), len(polygons))


def _pair_keys(cell: np.ndarray, polygon: np.ndarray, polygons: int) -> np.ndarray:
    """One integer per (cell, polygon) pair of a layer of `polygons`, in the order of cell then polygon."""
    return cell.astype(np.int64) * polygons + polygon


def _holders(grid: GridShape, polygons: np.ndarray, near: np.ndarray, crossing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cell, polygon) for each cell `near` a boundary that a polygon whose boundary does not cross
    it (`crossing`: sorted keys of the pairs that do) holds whole: one that holds its centre, among
    those whose bounding box holds the whole cell."""
    box, cell = grid.cells_within_boxes(shapely.bounds(polygons))
    kept = near[cell]
    box, cell = box[kept], cell[kept]
    keys = _pair_keys(cell, box, len(polygons))
    apart = crossing[np.minimum(np.searchsorted(crossing, keys), max(len(crossing) - 1, 0))] != keys
    box, cell = box[apart], cell[apart]
    hold = shapely.intersects_xy(polygons[box], *grid.centres(cell))
    return cell[hold], box[hold]


def _distinct_pairs(keys: np.ndarray, polygons: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (cell, polygon) pairs of `keys` (`_pair_keys` of a layer of `polygons`), sorted
    by cell then polygon."""
    pairs = distinct(keys)
    return pairs // polygons, pairs % polygons
