"""The tile archive: pre-generated, gzip-compressed MVT tiles in an MBTiles file."""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import mercantile
import pandas as pd

from crimetiles.artifact.manifest import Bounds, Tileset
from crimetiles.artifact.mvt import LayerTiler, tiles_covering
from crimetiles.precompute.artifact import writing

TILESTATS_LISTED_VALUES = 100
"""Distinct values listed per attribute in `tilestats` (tippecanoe's and mapbox-geostats' limit);
`min` and `max` still cover every value."""
TILESTATS_COUNTED_VALUES = 1000
"""Distinct values counted per attribute in `tilestats` (the same tools' limit)."""


def tileset_tiles(
    tileset: Tileset, tilers: dict[str, LayerTiler], bounds: Bounds, zooms: Iterable[int]
) -> Iterable[tuple[mercantile.Tile, bytes]]:
    """Every non-empty tile of `tileset` over `bounds` at `zooms`, gzip-compressed."""
    for tile in tiles_covering(bounds, list(zooms)):
        data = tilers[tileset.band_for_zoom(tile.z).layer].encode(tile)
        if data is not None:
            yield tile, gzip.compress(data, compresslevel=6, mtime=0)


def attribute_stats(name: str, values: pd.Series) -> dict[str, Any]:
    """One `tilestats` attribute in the mapbox-geostats format: distinct-value count, type,
    the smallest distinct values and, for numbers, min and max. Integer columns keep JSON
    integers (`3`, not `3.0`), so readers such as GDAL can tell counts from densities."""
    distinct = sorted(set(values.dropna().tolist()))
    numeric = pd.api.types.is_numeric_dtype(values)
    stats: dict[str, Any] = {
        "attribute": name,
        "count": min(len(distinct), TILESTATS_COUNTED_VALUES),
        "type": "number" if numeric else "string",
        "values": distinct[:TILESTATS_LISTED_VALUES],
    }
    if numeric and distinct:
        stats["min"], stats["max"] = distinct[0], distinct[-1]
    return stats


def tilestats(layer: str, frames: Sequence[gpd.GeoDataFrame]) -> dict[str, Any]:
    """`tilestats` for the one MVT layer `layer` drawn from the density layers `frames`
    (several for the hex tileset), as tippecanoe writes it, so that viewers can build a legend
    without reading tiles. Density layers hold polygons only."""
    table = pd.concat([frame.drop(columns=frame.geometry.name) for frame in frames], ignore_index=True)
    return {
        "layerCount": 1,
        "layers": [
            {
                "layer": layer,
                "count": len(table),
                "geometry": "Polygon",
                "attributeCount": len(table.columns),
                "attributes": [attribute_stats(str(column), table[column]) for column in table.columns],
            }
        ],
    }


def mbtiles_metadata(
    tileset: Tileset,
    bounds: Bounds,
    center: tuple[float, float, int],
    zooms: range,
    field_types: dict[str, str],
    frames: Sequence[gpd.GeoDataFrame],
) -> dict[str, str]:
    """The MBTiles 1.3 `metadata` rows of an archive holding `zooms` of `tileset`, drawn from the
    density layers `frames`. `minzoom`/`maxzoom` are the archive's (what the file holds), field
    values are types (`field_types`, per the spec; TileJSON carries the descriptions)."""
    vector_layer = {
        "id": tileset.name,
        "description": tileset.title,
        "minzoom": zooms.start,
        "maxzoom": zooms.stop - 1,
        "fields": field_types,
    }
    return {
        "name": tileset.name,
        "description": tileset.title,
        "format": "pbf",
        "type": "overlay",
        "version": "1",
        "minzoom": str(zooms.start),
        "maxzoom": str(zooms.stop - 1),
        "bounds": ",".join(f"{v:.6f}" for v in bounds),
        "center": ",".join(str(v) for v in center),
        "json": json.dumps({"vector_layers": [vector_layer], "tilestats": tilestats(tileset.name, frames)}),
    }


def write_mbtiles(
    path: Path,
    metadata: dict[str, str],
    tiles: Iterable[tuple[mercantile.Tile, bytes]],
    on_tile: Callable[[], None] = lambda: None,
) -> int:
    """Write an MBTiles 1.3 file with `metadata` and `tiles` (XYZ, stored as TMS rows);
    returns the number of tiles written. A full disk raises `DiskFull`."""
    count = 0
    with writing(path), contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
        for tile, data in tiles:
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (tile.z, tile.x, (1 << tile.z) - 1 - tile.y, data))
            count += 1
            on_tile()
    return count
