"""The tile archive: pre-generated, gzip-compressed MVT tiles in an MBTiles file."""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import mercantile

from crimetiles.artifact.manifest import Bounds, Tileset
from crimetiles.artifact.mvt import LayerTiler, tiles_covering
from crimetiles.precompute.artifact import writing


def tileset_tiles(
    tileset: Tileset, tilers: dict[str, LayerTiler], bounds: Bounds, zooms: Iterable[int]
) -> Iterable[tuple[mercantile.Tile, bytes]]:
    """Every non-empty tile of `tileset` over `bounds` at `zooms`, gzip-compressed."""
    for tile in tiles_covering(bounds, list(zooms)):
        data = tilers[tileset.band_for_zoom(tile.z).layer].encode(tile)
        if data is not None:
            yield tile, gzip.compress(data, compresslevel=6, mtime=0)


def write_mbtiles(
    path: Path,
    tileset: Tileset,
    tiles: Iterable[tuple[mercantile.Tile, bytes]],
    bounds: Bounds,
    center: tuple[float, float, int],
    vector_layer_fields: dict[str, str],
    on_tile: Callable[[], None] = lambda: None,
) -> int:
    """Write an MBTiles 1.3 file; returns the number of tiles written. A full disk raises `DiskFull`."""
    metadata = {
        "name": tileset.name,
        "description": tileset.title,
        "format": "pbf",
        "type": "overlay",
        "version": "1",
        "minzoom": str(tileset.minzoom),
        "maxzoom": str(tileset.maxzoom),
        "bounds": ",".join(f"{v:.6f}" for v in bounds),
        "center": ",".join(str(v) for v in center),
        "json": json.dumps({"vector_layers": [{"id": tileset.name, "fields": vector_layer_fields}]}),
    }
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
