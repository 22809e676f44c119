"""Tiles encoded on demand from a density layer read a row group at a time: a worker holds a
bounded cache of decoded row groups (`RowGroupCache`), never a whole layer, whatever its size.

Imported when a server first encodes a tile on demand (it brings numpy, shapely, pyarrow and
pyproj; never pandas). The tiles are the bytes the archive holds for the same tile: the same
encoder (`encode_features`) draws the same features, in the layer's order, with the same
properties.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import cachetools
import mercantile
import numpy as np
import pyarrow as pa
import pyproj
import shapely

from crimetiles.artifact.layer_rows import LayerRows
from crimetiles.artifact.mvt import TILE_BUFFER, TILE_EXTENT, WEB_MERCATOR, encode_features, simplified_for_zoom, tile_box
from crimetiles.artifact.pbf import PropertyTable

GROUP_CACHE_BYTES = 32 * 1024 * 1024
"""Memory the decoded row groups of a build may take in a worker (estimated, `DecodedGroup.nbytes`):
about 30 groups of 1,000 polygons, the neighbourhood of the tiles last asked for."""
BOX_TOLERANCE_M = 1.0
"""Metres added around a tile's box before choosing the row groups that meet it: far above the
round-off between the layer's degrees and Web Mercator metres, far below a z22 tile (9.55 m)."""
GEOMETRY_BYTES = 200
"""Memory a shapely geometry costs besides its coordinates (16 bytes each): the GEOS objects and
the Python object, rounded up."""


@dataclass(frozen=True)
class DecodedGroup:
    """A row group of a density layer as a tile needs it: geometries in Web Mercator metres, their
    bounds (rows: geometries; west, south, east, north), properties as read."""

    geoms_3857: np.ndarray
    bounds_3857: np.ndarray
    properties: pa.Table

    @property
    def nbytes(self) -> int:
        coordinates = int(shapely.get_num_coordinates(self.geoms_3857).sum())
        return 16 * coordinates + GEOMETRY_BYTES * len(self.geoms_3857) + self.bounds_3857.nbytes + self.properties.nbytes


class RowGroupCache:
    """Decoded row groups of any layer by (layer path, group), least recently used dropped first
    beyond `max_bytes`; thread-safe (a group decoded twice by two threads at once is kept once)."""

    def __init__(self, max_bytes: int = GROUP_CACHE_BYTES) -> None:
        self._groups: cachetools.LRUCache = cachetools.LRUCache(maxsize=max_bytes, getsizeof=lambda group: group.nbytes)
        self._lock = threading.Lock()

    def group(self, rows: LayerRows, group: int, decode: Callable[[int], DecodedGroup]) -> DecodedGroup:
        key = (str(rows.path), group)
        with self._lock:
            found = self._groups.get(key)
        if found is not None:
            return found
        decoded = decode(group)
        with self._lock:
            if decoded.nbytes <= self._groups.maxsize:
                self._groups[key] = decoded
        return decoded

    @property
    def nbytes(self) -> int:
        with self._lock:
            return int(self._groups.currsize)


class RowGroupTiler:
    """Encodes tiles of one density layer as MVT layer `name` from the row groups each tile meets:
    simplified below `simplify_maxzoom` as `LayerTiler` simplifies (`simplified_for_zoom`)."""

    def __init__(self, name: str, rows: LayerRows, simplify_maxzoom: int, cache: RowGroupCache) -> None:
        self.name = name
        self.rows = rows
        self.simplify_maxzoom = simplify_maxzoom
        self.extent = TILE_EXTENT
        self.buffer = TILE_BUFFER
        self._cache = cache
        self._lock = threading.Lock()
        crs = pyproj.CRS.from_json_dict(rows.crs) if rows.crs else pyproj.CRS.from_user_input("OGC:CRS84")
        self._to_mercator = pyproj.Transformer.from_crs(crs, pyproj.CRS.from_user_input(WEB_MERCATOR), always_xy=True)
        self._to_layer = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(WEB_MERCATOR), crs, always_xy=True)

    def encode(self, tile: mercantile.Tile) -> bytes | None:
        """The uncompressed MVT bytes of `tile`, or None when no feature touches it."""
        box = tile_box(tile, self.buffer, self.extent)
        geoms, properties = self._features_meeting(box)
        if len(geoms) == 0:
            return None
        geoms = simplified_for_zoom(geoms, tile.z, self.simplify_maxzoom, self.extent)
        features = np.arange(len(geoms))
        return encode_features(self.name, tile, geoms, features, PropertyTable.of_arrow(properties), self.extent, self.buffer)

    def _features_meeting(self, box: tuple[float, float, float, float]) -> tuple[np.ndarray, pa.Table]:
        """The geometries (Web Mercator) and properties of the rows whose bounds meet `box`
        (Web Mercator metres, edges included), in the layer's order."""
        west, south, east, north = box
        geoms, tables = [], []
        for group in self.rows.groups_meeting(self._layer_box(box)):
            decoded = self._cache.group(self.rows, int(group), self._decoded)
            b = decoded.bounds_3857
            meets = (b[:, 0] <= east) & (b[:, 2] >= west) & (b[:, 1] <= north) & (b[:, 3] >= south)
            geoms.append(decoded.geoms_3857[meets])
            tables.append(decoded.properties.filter(pa.array(meets)))
        if not geoms:
            return np.empty(0, dtype=object), pa.table({})
        return np.concatenate(geoms), pa.concat_tables(tables)

    def _layer_box(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """`box` (Web Mercator metres) grown by `BOX_TOLERANCE_M`, in the layer's coordinates."""
        west, south, east, north = box
        with self._lock:  # a pyproj transformer serves one thread at a time
            (lon_w, lon_e), (lat_s, lat_n) = self._to_layer.transform(
                [west - BOX_TOLERANCE_M, east + BOX_TOLERANCE_M], [south - BOX_TOLERANCE_M, north + BOX_TOLERANCE_M]
            )
        return lon_w, lat_s, lon_e, lat_n

    def _decoded(self, group: int) -> DecodedGroup:
        """Row group `group` decoded: its geometries projected as geopandas' `to_crs` projects them."""
        table = self.rows.read_group(group)
        geoms = shapely.from_wkb(table.column(self.rows.geometry).to_numpy(zero_copy_only=False))
        coordinates = shapely.get_coordinates(geoms)
        with self._lock:
            projected = self._to_mercator.transform(coordinates[:, 0], coordinates[:, 1])
        geoms = shapely.set_coordinates(geoms, np.array(projected).T)
        return DecodedGroup(geoms, shapely.bounds(geoms), table.drop_columns([self.rows.geometry]))
