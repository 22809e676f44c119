"""H3 hex cells as polygons: the grid that covers the study area at several resolutions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import shapely

from crimetiles.artifact.fields import ID, NAME

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


def cells_covering(area: shapely.Geometry, lon: np.ndarray, lat: np.ndarray, resolution: int) -> list[str]:
    """Every cell overlapping `area` (lon/lat) plus every cell holding a point, sorted."""
    covering = set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(area), resolution, contain="overlap"))
    covering.update(point_cells(lon, lat, resolution))
    return sorted(covering)


def point_cells(lon: np.ndarray, lat: np.ndarray, resolution: int) -> list[str]:
    """The cell of each point (every point lies in exactly one cell)."""
    return [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]


def cell_polygons(cells: Sequence[str]) -> gpd.GeoDataFrame:
    """Cells as a polygon layer with `id` = `name` = the cell index, EPSG:4326."""
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(cell)] for cell in cells]
    return gpd.GeoDataFrame(
        {ID: list(cells), NAME: list(cells)}, geometry=[shapely.Polygon(ring) for ring in rings], crs="EPSG:4326"
    )
