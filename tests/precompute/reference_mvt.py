"""The tile encoder as it was before the hand-written protobuf writer, kept for the tests as an
independent oracle: the same geometry per zoom (`simplified_for_zoom`: simplification and pixel
dust, which the encoder's own tests check), index query and clipping, then mapbox-vector-tile's own
`encode` (its rounding, winding order, validity repair, property tables and protobuf objects).
"""

from __future__ import annotations

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pandas as pd
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

from crimetiles.artifact.mvt import TILE_BUFFER, TILE_EXTENT, WEB_MERCATOR, simplified_for_zoom


class ReferenceTiler:
    def __init__(self, name: str, frame: gpd.GeoDataFrame, simplify_maxzoom: int) -> None:
        self.name = name
        self.simplify_maxzoom = simplify_maxzoom
        self.geometries = frame.geometry.to_crs(WEB_MERCATOR).to_numpy()
        records = frame.drop(columns=frame.geometry.name).to_dict("records")
        # a missing value (a withheld count or density) is left out of its feature, as docs/artifact.md says
        self.properties = [{key: value for key, value in record.items() if not pd.isna(value)} for record in records]
        self.by_level: dict[int, tuple[np.ndarray, shapely.STRtree]] = {}

    def indexed(self, zoom: int) -> tuple[np.ndarray, shapely.STRtree]:
        level = min(zoom, self.simplify_maxzoom)
        if level not in self.by_level:
            geoms = simplified_for_zoom(self.geometries, zoom, self.simplify_maxzoom)
            self.by_level[level] = (geoms, shapely.STRtree(geoms))
        return self.by_level[level]

    def encode(self, tile: mercantile.Tile) -> bytes | None:
        """The old encoder's bytes, or None when no feature is left (where the old encoder wrote a
        tile with an empty layer when snapping removed every feature, the new one writes none)."""
        west, south, east, north = mercantile.xy_bounds(tile)
        pad = (east - west) * TILE_BUFFER / TILE_EXTENT
        geoms, tree = self.indexed(tile.z)
        hits = np.sort(tree.query(shapely.box(west - pad, south - pad, east + pad, north + pad), predicate="intersects"))
        if hits.size == 0:
            return None
        clipped = shapely.clip_by_rect(geoms[hits], west - pad, south - pad, east + pad, north + pad)
        scale_x = TILE_EXTENT / (east - west)
        scale_y = TILE_EXTENT / (north - south)
        in_tile = shapely.transform(
            clipped, lambda xy: np.column_stack(((xy[:, 0] - west) * scale_x, (north - xy[:, 1]) * scale_y))
        )
        features = [
            {"geometry": geom, "properties": self.properties[i]}
            for geom, i in zip(in_tile, hits, strict=True)
            if not geom.is_empty and geom.geom_type in ("Polygon", "MultiPolygon")
        ]
        if not features:
            return None
        data = mapbox_vector_tile.encode(
            [{"name": self.name, "features": features}],
            default_options={"extents": TILE_EXTENT, "y_coord_down": True, "on_invalid_geometry": on_invalid_geometry_make_valid},
        )
        return data if mapbox_vector_tile.decode(data)[self.name]["features"] else None
