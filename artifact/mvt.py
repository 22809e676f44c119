"""Mapbox Vector Tile encoding of a density layer: pure, shared by the archive builder and the server.

Both the pre-generated archive (`precompute`) and on-demand tiles (`server`) go through
`LayerTiler.encode`, so a tile is the same bytes whichever path produced it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import mercantile
import numpy as np
import shapely

from crimetiles.artifact.pbf import PropertyTable, polygon_geometries, polygon_layer_tile

if TYPE_CHECKING:  # annotations only: a server encoding on demand never imports pandas (`encode_features`)
    import geopandas as gpd
    import pandas as pd

TILE_EXTENT = 4096
"""Tile coordinate units per tile side (MVT default)."""
TILE_BUFFER = 64
"""Tile units drawn beyond each edge so that strokes and fills meet without seams."""
WEB_MERCATOR = "EPSG:3857"
EARTH_RADIUS_M = 6378137.0
"""The sphere of Web Mercator (the WGS84 ellipsoid's semi-major axis)."""
WEB_MERCATOR_WORLD_M = 2 * math.pi * EARTH_RADIUS_M
"""Width of the Web Mercator world in metres (EPSG:3857)."""
DUST_CELL_UNITS = 8
"""Tile units per side of a pixel cell: one pixel of a tile drawn 512 pixels wide, as MapLibre
draws vector tiles (4096 / 512). Below the exact zooms, a polygon smaller than a cell both ways is
drawn as the cell whose centre it holds, or not at all (`pixel_dust`): a pixel takes the colour of
the polygon under its centre, as an un-antialiased rasteriser draws the exact layer, for the cost
of a square."""


def tile_unit_m(zoom: int, extent: int = TILE_EXTENT) -> float:
    """Size of one tile coordinate unit at `zoom`, in Web Mercator metres."""
    return WEB_MERCATOR_WORLD_M / (2**zoom) / extent


class LayerTiler:
    """Encodes tiles of one polygon layer.

    Geometries are given in Web Mercator (EPSG:3857) metres, properties as a table with one row per
    geometry. Per zoom below `simplify_maxzoom` geometries are drawn once (`simplified_for_zoom`:
    simplified to one tile unit, a polygon under a pixel as its pixel's square) and indexed; zooms
    from it use the full geometry, so overzoomed tiles stay exact. Properties are encoded once for
    every tile (`PropertyTable`), the geometries' bounds measured once for every zoom.
    """

    def __init__(
        self,
        name: str,
        geometries_3857: Sequence[shapely.Geometry] | np.ndarray,
        properties: pd.DataFrame,
        simplify_maxzoom: int,
        extent: int = TILE_EXTENT,
        buffer: int = TILE_BUFFER,
    ) -> None:
        if len(geometries_3857) != len(properties):
            raise ValueError("one row of properties per geometry is required")
        self.name = name
        self.extent = extent
        self.buffer = buffer
        self.simplify_maxzoom = simplify_maxzoom
        self._geometries = np.asarray(geometries_3857, dtype=object)
        self._bounds = shapely.bounds(self._geometries)
        self._properties = PropertyTable.of(properties)
        self._by_zoom: dict[int, tuple[np.ndarray, shapely.STRtree]] = {}
        self._lock = threading.Lock()

    def _indexed(self, zoom: int) -> tuple[np.ndarray, shapely.STRtree]:
        level = min(zoom, self.simplify_maxzoom)
        with self._lock:
            if level not in self._by_zoom:
                geoms = simplified_for_zoom(self._geometries, zoom, self.simplify_maxzoom, self.extent, self._bounds)
                self._by_zoom[level] = (geoms, shapely.STRtree(geoms))
            return self._by_zoom[level]

    @property
    def indexed_zooms(self) -> tuple[int, ...]:
        """The zoom levels whose geometry and index are held (a simplified level of 250,000
        polygons is a few hundred MB)."""
        with self._lock:
            return tuple(sorted(self._by_zoom))

    def release(self, zoom: int) -> None:
        """Drop the geometry and index held for `zoom` (made again if a tile of it is asked for): an
        archive build encodes each simplified zoom once, and would otherwise hold every one."""
        with self._lock:
            self._by_zoom.pop(min(zoom, self.simplify_maxzoom), None)

    def encode(self, tile: mercantile.Tile) -> bytes | None:
        """The uncompressed MVT bytes of `tile`, or None when no feature touches it.

        Each feature is clipped to the tile grown by the buffer, snapped to the integer tile grid
        (y down), oriented (exterior rings clockwise on screen) and, when snapping broke it, made
        valid as mapbox-vector-tile does, so that a reader sees what it would have written."""
        west, south, east, north = tile_box(tile, self.buffer, self.extent)
        geoms, tree = self._indexed(tile.z)
        hits = tree.query(shapely.box(west, south, east, north))
        if hits.size == 0:
            return None
        hits.sort()
        return encode_features(self.name, tile, geoms[hits], hits, self._properties, self.extent, self.buffer)


def simplified_for_zoom(
    geoms_3857: np.ndarray, zoom: int, simplify_maxzoom: int, extent: int = TILE_EXTENT, bounds: np.ndarray | None = None
) -> np.ndarray:
    """The geometries a tile of `zoom` draws: exact from `simplify_maxzoom`; below it, those
    smaller than a pixel cell both ways as pixel dust (`pixel_dust`), the others simplified to one
    tile unit. Each geometry is drawn on its own, so a subset draws alike. `bounds`: the
    geometries' `shapely.bounds`, when the caller holds them."""
    level = min(zoom, simplify_maxzoom)
    if level == simplify_maxzoom:
        return geoms_3857
    bounds = shapely.bounds(geoms_3857) if bounds is None else bounds
    cell = tile_unit_m(level, extent) * DUST_CELL_UNITS
    tiny = (bounds[:, 2] - bounds[:, 0] < cell) & (bounds[:, 3] - bounds[:, 1] < cell)
    drawn = np.empty(len(geoms_3857), dtype=object)
    drawn[~tiny] = shapely.simplify(geoms_3857[~tiny], tile_unit_m(level, extent), preserve_topology=True)
    drawn[tiny] = pixel_dust(geoms_3857[tiny], bounds[tiny], cell)
    return drawn


def pixel_dust(geoms_3857: np.ndarray, bounds: np.ndarray, cell: float) -> np.ndarray:
    """Each of `geoms_3857`, none as wide or as tall as `cell` (metres; `bounds` their
    `shapely.bounds`), as the square of the pixel cell whose centre it holds, or None if it holds
    none. The cells tile the Web Mercator world from its north-west corner, so their edges fall on
    the tile-unit grid of every tile of the zoom: snapped, a square stays a square sharing its
    edges with its neighbours, and lies inside a tile's box (grown by its 64-unit buffer) or
    outside it, so a tile draws a polygon's square only if the polygon meets the box, as the
    server's on-demand tiles read them. A polygon narrower than a cell spans at most one cell
    centre each way, the first at or past its west (north) edge."""
    half_world = WEB_MERCATOR_WORLD_M / 2
    column = np.ceil((bounds[:, 0] + half_world) / cell - 0.5)
    row = np.ceil((half_world - bounds[:, 3]) / cell - 0.5)
    x, y = (column + 0.5) * cell - half_world, half_world - (row + 0.5) * cell
    holding = np.flatnonzero(shapely.contains_xy(geoms_3857, x, y))
    dust = np.full(len(geoms_3857), None, dtype=object)
    west, north = column[holding] * cell - half_world, half_world - row[holding] * cell
    dust[holding] = shapely.box(west, north - cell, west + cell, north)
    return dust


def tile_box(tile: mercantile.Tile, buffer: int = TILE_BUFFER, extent: int = TILE_EXTENT) -> tuple[float, float, float, float]:
    """The box a tile draws, in Web Mercator metres: the tile grown by `buffer` units on each side."""
    west, south, east, north = mercantile.xy_bounds(tile)
    pad = (east - west) * buffer / extent
    return west - pad, south - pad, east + pad, north + pad


def encode_features(
    name: str,
    tile: mercantile.Tile,
    geoms_3857: np.ndarray,
    features: np.ndarray,
    properties: PropertyTable,
    extent: int = TILE_EXTENT,
    buffer: int = TILE_BUFFER,
) -> bytes | None:
    """The uncompressed MVT bytes (layer `name`) of `tile` drawing `geoms_3857`, the geometries of
    `features` (rows of `properties`, ascending: the tile's feature order), or None when none is
    left. A geometry that does not meet the tile's box (`tile_box`) is left out, so any superset
    of the features meeting it gives the same tile."""
    clipped = shapely.clip_by_rect(geoms_3857, *tile_box(tile, buffer, extent))
    kinds = shapely.get_type_id(clipped)
    polygonal = ((kinds == POLYGON) | (kinds == MULTIPOLYGON)) & ~shapely.is_empty(clipped)
    if not polygonal.any():
        return None
    west, south, east, north = mercantile.xy_bounds(tile)
    scale = np.array([extent / (east - west), -extent / (north - south)])
    snapped = shapely.orient_polygons(_snapped(clipped[polygonal], np.array([west, north]), scale))
    features, shapes = _valid(features[polygonal], snapped)
    if features.size == 0:
        return None
    coords, ring_lengths, ring_features = _rings(shapes)
    geometries = polygon_geometries(coords.tolist(), ring_lengths.tolist(), ring_features.tolist())
    return polygon_layer_tile(name, extent, properties.tile_tags(features), geometries)


POLYGON, MULTIPOLYGON = 3, 6
"""shapely type ids: what a clipped polygon may be, besides lines, points and empty collections."""
MAX_REPAIRS = 5
"""Rounds of making a snapped polygon valid before it is dropped (mapbox-vector-tile's default)."""


def _valid(features: np.ndarray, shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`features` with their oriented `shapes` on the tile grid, the invalid ones repaired
    (`_repaired`) and those left with nothing dropped. Most invalid shapes are features smaller
    than a tile unit that snapping flattened onto a line: nothing of them would survive repair."""
    invalid = np.flatnonzero(~shapely.lib.is_valid(shapes))  # shapely.is_valid's catch_warnings costs more than this
    if invalid.size == 0:
        return features, shapes
    for i in invalid:
        shapes[i] = None if _flat(shapes[i]) else _repaired(shapes[i])
    drawn = ~(shapely.is_missing(shapes) | shapely.is_empty(shapes))
    return features[drawn], shapes[drawn]


def _flat(shape: shapely.Geometry) -> bool:
    """Whether every vertex of `shape` (integer coordinates) lies on one line."""
    offsets = shapely.get_coordinates(shape)[1:] - shapely.get_coordinates(shape)[0]
    moved = offsets[(offsets != 0).any(axis=1)]
    return bool(moved.size == 0 or (moved[:, 0] * moved[0, 1] == moved[:, 1] * moved[0, 0]).all())


def _repaired(shape: shapely.Geometry, tries: int = 1) -> shapely.Geometry | None:
    """mapbox-vector-tile's repair of a polygon broken by snapping: each polygon snapped and
    oriented, the whole made valid with `make_it_valid` (pyclipper) and tried again, up to
    MAX_REPAIRS times; None if it stays invalid."""
    if isinstance(shape, shapely.MultiPolygon):
        parts = [_validated(_snapped_polygon(part), tries) for part in shape.geoms]
        polygons = [polygon for part in parts if part is not None and not part.is_empty for polygon in shapely.get_parts(part)]
        if not polygons:
            return None
        return _validated(polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons), tries)
    if isinstance(shape, shapely.Polygon):
        return _validated(_snapped_polygon(shape), tries)
    return shape


def _validated(shape: shapely.Geometry, tries: int) -> shapely.Geometry | None:
    if shape.is_valid:
        return shape
    if tries >= MAX_REPAIRS:
        return None
    # Imported here, not at the top: mapbox-vector-tile brings protobuf and pyclipper (2-3 MB in a
    # server encoding on demand) for a repair that few tiles need.
    from mapbox_vector_tile.polygon import make_it_valid

    repaired = make_it_valid(shape)
    if repaired is not None and not repaired.is_empty:
        repaired = _repaired(repaired, tries + 1)
    return repaired


def _snapped_polygon(polygon: shapely.Polygon) -> shapely.Polygon:
    return shapely.orient_polygons(shapely.transform(polygon, np.rint))


def _snapped(geoms: np.ndarray, origin: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """`geoms` in tile units from `origin` (the tile's north-west corner), y down, rounded to
    integers (half to even, as Python's `round`)."""
    return shapely.set_coordinates(geoms, np.rint((shapely.get_coordinates(geoms) - origin) * scale))


def _rings(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of polygonal `shapes` as integers, the number of coordinates of each ring (per
    polygon its exterior, then its holes) and the index of each ring's shape. Most shapes of most
    tiles are polygons without holes: one ring each."""
    coords = shapely.get_coordinates(shapes).astype(np.int64)
    if ((shapely.get_type_id(shapes) == POLYGON) & (shapely.get_num_interior_rings(shapes) == 0)).all():
        return coords, shapely.get_num_coordinates(shapes), np.arange(len(shapes))
    parts, shape_of_part = shapely.get_parts(shapes, return_index=True)
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    return coords, shapely.get_num_coordinates(rings), shape_of_part[part_of_ring]


def layer_tiler(mvt_layer: str, frame: gpd.GeoDataFrame, simplify_maxzoom: int) -> LayerTiler:
    """A tiler drawing a density layer (GeoDataFrame in any CRS) as MVT layer `mvt_layer`,
    every non-geometry column a feature property. A layer in degrees (EPSG:4326, as every density
    layer is) is projected as the server projects it (`to_web_mercator`), any other by PROJ."""
    import pandas as pd  # here, not at the top: see `encode_features`

    properties = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geometry = frame.geometry
    in_degrees = geometry.crs is not None and geometry.crs.equals("EPSG:4326", ignore_axis_order=True)
    projected = to_web_mercator(geometry.to_numpy()) if in_degrees else geometry.to_crs(WEB_MERCATOR).to_numpy()
    return LayerTiler(mvt_layer, projected, properties, simplify_maxzoom)


def to_web_mercator(geoms: np.ndarray) -> np.ndarray:
    """Geometries in degrees (EPSG:4326, x the longitude) in Web Mercator metres (EPSG:3857), by
    the spherical formula PROJ uses: x as PROJ gives it, y within one unit in the last place
    (4e-9 m; NumPy's `tan` and `arcsinh` are not the C library's). The archive and the server's
    on-demand tiles both project with it, so their tiles are the same bytes, and a server needs
    no pyproj (about 10 MB in a worker)."""
    return shapely.transform(geoms, _web_mercator_xy)


def _web_mercator_xy(lonlat: np.ndarray) -> np.ndarray:
    radians = np.radians(lonlat)
    return np.column_stack([radians[:, 0], np.arcsinh(np.tan(radians[:, 1]))]) * EARTH_RADIUS_M


def tiles_covering(bounds: tuple[float, float, float, float], zooms: Sequence[int]) -> list[mercantile.Tile]:
    """Every tile at `zooms` that intersects lon/lat `bounds` (west, south, east, north)."""
    return list(mercantile.tiles(*bounds, zooms=list(zooms)))
