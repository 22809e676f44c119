"""Tiles encoded on demand from a density layer read a record batch at a time: a worker holds a
bounded cache of batches as read (`RowGroupCache`), never a whole layer, whatever its size, and
decodes only the rows a tile meets.

Imported when a server first encodes a tile on demand (it brings numpy, shapely and nanoarrow;
never pyarrow, pyproj nor pandas, about 85 MB more). The tiles are the bytes the archive holds
for the same tile: the same projection (`to_web_mercator`) and encoder (`encode_features`) draw
the same features, in the layer's order, with the same properties.
"""

from __future__ import annotations

import threading

import cachetools
import mercantile
import numpy as np
import shapely

from crimetiles.artifact.arrow_arrays import binaries, numbers, values
from crimetiles.artifact.layer_rows import COVERING, Batch, LayerRows
from crimetiles.artifact.mvt import (
    TILE_BUFFER,
    TILE_EXTENT,
    WEB_MERCATOR_WORLD_M,
    encode_features,
    simplified_for_zoom,
    tile_box,
    to_web_mercator,
)
from crimetiles.artifact.pbf import CodedColumn, PropertyTable

GROUP_CACHE_BYTES = 16 * 1024 * 1024
"""Memory the record batches a worker keeps read may take (their messages' bytes): about 40
batches of 1,000 polygons with 39 properties, the neighbourhood of the tiles last asked for."""
BOX_TOLERANCE_M = 1.0
"""Metres added around a tile's box before choosing the rows that meet it: far above the round-off
between the layer's degrees and Web Mercator metres, far below a z22 tile (9.55 m)."""


class RowGroupCache:
    """Record batches of any layer as read, by (layer path, batch), least recently used dropped
    first beyond `max_bytes`; thread-safe (a batch read twice by two threads at once is kept once)."""

    def __init__(self, max_bytes: int = GROUP_CACHE_BYTES) -> None:
        self._groups: cachetools.LRUCache = cachetools.LRUCache(maxsize=max_bytes, getsizeof=lambda batch: batch.nbytes)
        self._lock = threading.Lock()

    def group(self, rows: LayerRows, group: int) -> Batch:
        key = (str(rows.path), group)
        with self._lock:
            found = self._groups.get(key)
        if found is not None:
            return found
        batch = rows.read_group(group, [*rows.properties, rows.geometry, rows.covering])
        with self._lock:
            if batch.nbytes <= self._groups.maxsize:
                self._groups[key] = batch
        return batch

    @property
    def nbytes(self) -> int:
        with self._lock:
            return int(self._groups.currsize)

    @property
    def groups(self) -> int:
        """Batches held."""
        with self._lock:
            return len(self._groups)


class RowGroupTiler:
    """Encodes tiles of one density layer as MVT layer `name` from the rows of the record batches
    (one per row group of the layer) each tile meets whose bounding box meets it: only those rows'
    geometries are decoded and projected (as the archive's tiler projects them) and simplified
    below `simplify_maxzoom` as `LayerTiler` simplifies (`simplified_for_zoom`), only their
    properties read."""

    def __init__(self, name: str, rows: LayerRows, simplify_maxzoom: int, cache: RowGroupCache) -> None:
        self.name = name
        self.rows = rows
        self.simplify_maxzoom = simplify_maxzoom
        self.extent = TILE_EXTENT
        self.buffer = TILE_BUFFER
        self._cache = cache

    def encode(self, tile: mercantile.Tile) -> bytes | None:
        """The uncompressed MVT bytes of `tile`, or None when no feature touches it."""
        box = self._layer_box(tile_box(tile, self.buffer, self.extent))
        wkb: list[bytes] = []
        parts: list[list[CodedColumn]] = []
        for group in self.rows.groups_meeting(box):
            table = self._cache.group(self.rows, int(group))
            rows = np.flatnonzero(_meeting(self._row_bounds(table), box))
            if rows.size:
                wkb += binaries(table.column(self.rows.geometry), rows)
                parts.append([(np.arange(rows.size), values(table.column(name), rows)) for name in self.rows.properties])
        if not wkb:
            return None
        geoms = simplified_for_zoom(to_web_mercator(shapely.from_wkb(wkb)), tile.z, self.simplify_maxzoom, self.extent)
        properties = PropertyTable.of_coded(self.rows.properties, parts)
        return encode_features(self.name, tile, geoms, np.arange(len(geoms)), properties, self.extent, self.buffer)

    def _layer_box(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """`box` (Web Mercator metres) grown by `BOX_TOLERANCE_M` and cut to the world (a low zoom's
        buffer reaches past it, where longitudes would wrap round and turn the box inside out), in
        degrees (the layer's coordinates)."""
        half_world = WEB_MERCATOR_WORLD_M / 2
        west, south = (max(edge - BOX_TOLERANCE_M, -half_world) for edge in box[:2])
        east, north = (min(edge + BOX_TOLERANCE_M, half_world) for edge in box[2:])
        return (*mercantile.lnglat(west, south), *mercantile.lnglat(east, north))

    def _row_bounds(self, batch: Batch) -> np.ndarray:
        """Each row's bounds in degrees (rows: west, south, east, north), from its `bbox` covering."""
        covering = batch.column(self.rows.covering)
        fields = {covering.schema.child(i).name: covering.child(i) for i in range(covering.n_children)}
        return np.column_stack([numbers(fields[name]) for name in COVERING])


def _meeting(bounds: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Which of `bounds` (rows: west, south, east, north) meet `box`, edges included."""
    west, south, east, north = box
    return (bounds[:, 0] <= east) & (bounds[:, 2] >= west) & (bounds[:, 1] <= north) & (bounds[:, 3] >= south)
