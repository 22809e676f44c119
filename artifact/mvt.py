"""Mapbox Vector Tile encoding of a density layer: pure, shared by the archive builder and the server.

Both the pre-generated archive (`precompute`) and on-demand tiles (`server`) go through
`LayerTiler.encode`, so a tile is the same bytes whichever path produced it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

TILE_EXTENT = 4096
"""Tile coordinate units per tile side (MVT default)."""
TILE_BUFFER = 64
"""Tile units drawn beyond each edge so that strokes and fills meet without seams."""
WEB_MERCATOR = "EPSG:3857"
WEB_MERCATOR_WORLD_M = 2 * math.pi * 6378137.0
"""Width of the Web Mercator world in metres (EPSG:3857)."""

Properties = Mapping[str, Any]


def tile_unit_m(zoom: int, extent: int = TILE_EXTENT) -> float:
    """Size of one tile coordinate unit at `zoom`, in Web Mercator metres."""
    return WEB_MERCATOR_WORLD_M / (2**zoom) / extent


class LayerTiler:
    """Encodes tiles of one polygon layer.

    Geometries are given in Web Mercator (EPSG:3857) metres. Per zoom up to
    `simplify_maxzoom` they are simplified once, to one tile unit, and indexed; zooms above it
    use the full geometry, so overzoomed tiles stay exact.
    """

    def __init__(
        self,
        name: str,
        geometries_3857: Sequence[shapely.Geometry] | np.ndarray,
        properties: Sequence[Properties],
        simplify_maxzoom: int,
        extent: int = TILE_EXTENT,
        buffer: int = TILE_BUFFER,
    ) -> None:
        if len(geometries_3857) != len(properties):
            raise ValueError("one properties mapping per geometry is required")
        self.name = name
        self.extent = extent
        self.buffer = buffer
        self.simplify_maxzoom = simplify_maxzoom
        self._geometries = np.asarray(geometries_3857, dtype=object)
        self._properties = list(properties)
        self._by_zoom: dict[int, tuple[np.ndarray, shapely.STRtree]] = {}
        self._lock = threading.Lock()

    def _indexed(self, zoom: int) -> tuple[np.ndarray, shapely.STRtree]:
        level = min(zoom, self.simplify_maxzoom)
        with self._lock:
            if level not in self._by_zoom:
                geoms = self._geometries
                if level < self.simplify_maxzoom:
                    geoms = shapely.simplify(geoms, tile_unit_m(level, self.extent), preserve_topology=True)
                self._by_zoom[level] = (geoms, shapely.STRtree(geoms))
            return self._by_zoom[level]

    def encode(self, tile: mercantile.Tile) -> bytes | None:
        """The uncompressed MVT bytes of `tile`, or None when no feature touches it."""
        west, south, east, north = mercantile.xy_bounds(tile)
        pad = (east - west) * self.buffer / self.extent
        geoms, tree = self._indexed(tile.z)
        hits = np.sort(tree.query(shapely.box(west - pad, south - pad, east + pad, north + pad), predicate="intersects"))
        if hits.size == 0:
            return None
        clipped = shapely.clip_by_rect(geoms[hits], west - pad, south - pad, east + pad, north + pad)
        scale_x = self.extent / (east - west)
        scale_y = self.extent / (north - south)
        in_tile = shapely.transform(
            clipped, lambda xy: np.column_stack(((xy[:, 0] - west) * scale_x, (north - xy[:, 1]) * scale_y))
        )
        features = [
            {"geometry": geom, "properties": self._properties[i]}
            for geom, i in zip(in_tile, hits, strict=True)
            if not geom.is_empty and geom.geom_type in ("Polygon", "MultiPolygon")
        ]
        if not features:
            return None
        return mapbox_vector_tile.encode(
            [{"name": self.name, "features": features}],
            default_options={
                "extents": self.extent,
                "y_coord_down": True,
                "on_invalid_geometry": on_invalid_geometry_make_valid,
            },
        )


def layer_tiler(mvt_layer: str, frame: gpd.GeoDataFrame, simplify_maxzoom: int) -> LayerTiler:
    """A tiler drawing a density layer (GeoDataFrame in any CRS) as MVT layer `mvt_layer`,
    every non-geometry column a feature property."""
    properties = frame.drop(columns=frame.geometry.name).to_dict("records")
    return LayerTiler(mvt_layer, frame.geometry.to_crs(WEB_MERCATOR).to_numpy(), properties, simplify_maxzoom)


def tiles_covering(bounds: tuple[float, float, float, float], zooms: Sequence[int]) -> list[mercantile.Tile]:
    """Every tile at `zooms` that intersects lon/lat `bounds` (west, south, east, north)."""
    return list(mercantile.tiles(*bounds, zooms=list(zooms)))
