"""Tiles encoded on demand from a density layer read a row group at a time: a worker holds a
bounded cache of decoded row groups (`RowGroupCache`), never a whole layer, whatever its size.

Imported when a server first encodes a tile on demand (it brings numpy, shapely, pyarrow and
pyproj; never pandas, about 45 MB more: nothing here makes a pyarrow array from Python or NumPy
objects, nor converts one to NumPy, which pyarrow does through pandas). The tiles are the bytes
the archive holds for the same tile: the same encoder (`encode_features`) draws the same
features, in the layer's order, with the same properties.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cachetools
import mercantile
import numpy as np
import pyproj
import shapely

from crimetiles.artifact.layer_rows import LayerRows
from crimetiles.artifact.mvt import TILE_BUFFER, TILE_EXTENT, WEB_MERCATOR, encode_features, simplified_for_zoom, tile_box
from crimetiles.artifact.pbf import CodedColumn, PropertyTable

if TYPE_CHECKING:
    import pyarrow as pa

GROUP_CACHE_BYTES = 16 * 1024 * 1024
"""Memory the decoded row groups of a build may take in a worker (estimated, `DecodedGroup.nbytes`):
about 6 to 40 groups of 1,000 polygons (their property values take most), the neighbourhood of the
tiles last asked for."""
BOX_TOLERANCE_M = 1.0
"""Metres added around a tile's box before choosing the row groups that meet it: far above the
round-off between the layer's degrees and Web Mercator metres, far below a z22 tile (9.55 m)."""
GEOMETRY_BYTES = 200
"""Memory a shapely geometry costs besides its coordinates (16 bytes each): the GEOS objects and
the Python object, rounded up."""


@dataclass(frozen=True)
class DecodedGroup:
    """A row group of a density layer as a tile needs it: geometries in Web Mercator metres, their
    bounds (rows: geometries; west, south, east, north), each property column coded."""

    geoms_3857: np.ndarray
    bounds_3857: np.ndarray
    properties: tuple[CodedColumn, ...]
    nbytes: int
    """Memory it takes, estimated: coordinates, geometries, codes and distinct values."""


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

    @property
    def groups(self) -> int:
        """Row groups held."""
        with self._lock:
            return len(self._groups)


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
        groups = [self._cache.group(self.rows, int(i), self._decoded) for i in self.rows.groups_meeting(self._layer_box(box))]
        meeting = [(group, _meeting(group.bounds_3857, box)) for group in groups]
        geoms = np.concatenate([group.geoms_3857[rows] for group, rows in meeting] or [np.empty(0, object)])
        if len(geoms) == 0:
            return None
        parts = [[(codes[rows], distinct) for codes, distinct in group.properties] for group, rows in meeting]
        properties = PropertyTable.of_coded(self.rows.properties, parts)
        geoms = simplified_for_zoom(geoms, tile.z, self.simplify_maxzoom, self.extent)
        return encode_features(self.name, tile, geoms, np.arange(len(geoms)), properties, self.extent, self.buffer)

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
        geoms = shapely.from_wkb(table.column(self.rows.geometry).to_pylist())
        coordinates = shapely.get_coordinates(geoms)
        with self._lock:
            projected = self._to_mercator.transform(coordinates[:, 0], coordinates[:, 1])
        geoms = shapely.set_coordinates(geoms, np.array(projected).T)
        properties = tuple(_coded(table.column(name)) for name in self.rows.properties)
        size = 16 * len(coordinates) + GEOMETRY_BYTES * len(geoms) + sum(_coded_bytes(column) for column in properties)
        return DecodedGroup(geoms, shapely.bounds(geoms), properties, size + 32 * len(geoms))


def _meeting(bounds: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Which of `bounds` (rows: west, south, east, north) meet `box`, edges included."""
    west, south, east, north = box
    return (bounds[:, 0] <= east) & (bounds[:, 2] >= west) & (bounds[:, 1] <= north) & (bounds[:, 3] >= south)


def _coded(column: pa.ChunkedArray) -> CodedColumn:
    """A column as read as a `CodedColumn` (a null is missing). Through Python lists: pyarrow
    converts to NumPy through pandas."""
    encoded = column.combine_chunks().dictionary_encode()
    codes = np.array([-1 if code is None else code for code in encoded.indices.to_pylist()], dtype=np.int32)
    return codes, encoded.dictionary.to_pylist()


VALUE_BYTES = 64
"""Memory a distinct property value costs in a decoded group: the Python object and its list slot,
rounded up (a short string's object is about 50 bytes)."""


def _coded_bytes(column: CodedColumn) -> int:
    codes, distinct = column
    return codes.nbytes + VALUE_BYTES * len(distinct)
