"""H3 hex cells as polygons: the grid that covers the study area at several resolutions."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import h3
import h3.api.basic_int as h3_int
import numpy as np
import pandas as pd
import shapely

from crimetiles.artifact.fields import ID, NAME
from crimetiles.precompute.density import UnitYearCounts

DEFAULT_RESOLUTIONS = (6, 7, 8, 9)


@dataclass(frozen=True)
class HexBand:
    """H3 `resolution` drawn for zooms `minzoom..maxzoom` (inclusive)."""

    resolution: int
    minzoom: int
    maxzoom: int


def zoom_bands(resolutions: Sequence[int], maxzoom: int) -> tuple[HexBand, ...]:
    """Which resolution each zoom draws: resolution r suits zooms 2r-4 and 2r-3, where a cell is
    roughly 15-70 screen pixels across at Durham's latitude. The coarsest band starts at zoom 0,
    the finest runs to `maxzoom`."""
    ordered = sorted(set(resolutions))
    starts = [0] + [max(2 * r - 4, 1) for r in ordered[1:]]
    starts = [max(start, starts[i - 1] + 1) if i else start for i, start in enumerate(starts)]
    ends = [start - 1 for start in starts[1:]] + [max(maxzoom, starts[-1])]
    return tuple(HexBand(r, start, end) for r, start, end in zip(ordered, starts, ends, strict=True))


def cells_covering(area: shapely.Geometry, resolution: int, point_cells: np.ndarray) -> list[str]:
    """Every cell overlapping `area` (lon/lat) plus the cells `point_cells` (H3 integers) that
    hold a point, as H3 strings, sorted."""
    covering = set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(area), resolution, contain="overlap"))
    covering.update(h3.int_to_str(int(cell)) for cell in np.unique(point_cells))
    return sorted(covering)


def point_cells(lon: np.ndarray, lat: np.ndarray, resolutions: Sequence[int]) -> dict[int, np.ndarray]:
    """The cell of each point (every point lies in exactly one cell) as an H3 integer, at each of
    `resolutions`. H3 is asked once per distinct location and resolution: police exports repeat the
    same geocoded addresses. (Each resolution is asked, not derived from the finest by
    `cell_to_parent`: a point near a coarse cell's edge can lie outside its fine cell's parent.)"""
    if not resolutions:
        return {}
    codes, distinct = pd.factorize(np.asarray(lon, dtype=float) + 1j * np.asarray(lat, dtype=float))
    lats, lons = distinct.imag.tolist(), distinct.real.tolist()
    return {
        resolution: np.fromiter(
            map(h3_int.latlng_to_cell, lats, lons, itertools.repeat(resolution)), dtype=np.int64, count=len(distinct)
        )[codes]
        for resolution in resolutions
    }


def cell_integers(cells: Sequence[str]) -> np.ndarray:
    """H3 strings as the integers `point_cells` gives."""
    return np.array([h3.str_to_int(cell) for cell in cells], dtype=np.int64)


@dataclass(frozen=True)
class HexCounts:
    """The cells of each resolution (H3 strings, sorted), their counts (cells x years), and for
    each resolution but the coarsest the next coarser one and the row there of each cell's parent."""

    cells: dict[int, list[str]]
    counts: dict[int, np.ndarray]
    parents: dict[int, tuple[int, np.ndarray]]


def hex_counts(
    study_area: shapely.Geometry, points: Mapping[int, UnitYearCounts], resolutions: Sequence[int], years: Sequence[int]
) -> HexCounts:
    """The grid at each of `resolutions`: `cells_covering` the study area and the points' cells,
    with the points' counts per year and each cell's parent (`parent_rows`)."""
    ordered = sorted(resolutions)
    cells = {r: cells_covering(study_area, r, points[r].unit) for r in ordered}
    counts = {r: points[r].matrix(cell_integers(cells[r]), years) for r in ordered}
    parents = {fine: (coarse, parent_rows(cells[fine], cells[coarse], coarse)) for coarse, fine in itertools.pairwise(ordered)}
    return HexCounts(cells, counts, parents)


def parent_rows(cells: Sequence[str], coarser: Sequence[str], resolution: int) -> np.ndarray:
    """For each of `cells`, the position in `coarser` (cells of `resolution`) of its H3 parent at
    that resolution, -1 where `coarser` does not hold it."""
    rows = {cell: row for row, cell in enumerate(coarser)}
    return np.array([rows.get(h3.cell_to_parent(cell, resolution), -1) for cell in cells], dtype=np.int64)


def cell_polygons(cells: Sequence[str]) -> gpd.GeoDataFrame:
    """Cells as a polygon layer with `id` = `name` = the cell index, EPSG:4326."""
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(cell)] for cell in cells]
    return gpd.GeoDataFrame(
        {ID: list(cells), NAME: list(cells)}, geometry=[shapely.Polygon(ring) for ring in rings], crs="EPSG:4326"
    )
