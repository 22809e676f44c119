"""Each tileset's archive again as PMTiles 3: one file that any static host or CDN serves to
MapLibre (the `pmtiles://` protocol) with HTTP Range requests, no tile server needed.

Converted from the finished MBTiles archive, tile bytes unchanged (gzip-compressed MVT), so both
files always hold the same tiles whatever wrote the MBTiles.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from pmtiles.convert import mbtiles_to_header_json
from pmtiles.tile import Compression, serialize_directory, serialize_header, tileid_to_zxy, zxy_to_tileid
from pmtiles.writer import Writer

from crimetiles.artifact.manifest import BuildManifest
from crimetiles.precompute.build_dir import TILES_DIR, writing

HEADER_KEYS = ("minzoom", "maxzoom", "bounds", "center")
"""MBTiles metadata rows that the PMTiles header holds as numbers instead."""
HEADER_BYTES = 127
"""The PMTiles 3 header's fixed length: the root directory follows it."""


def pmtiles_archive_path(tileset: str) -> str:
    return f"{TILES_DIR}/{tileset}.pmtiles"


def pmtiles_metadata(mbtiles_metadata: dict[str, str], attribution: str) -> dict[str, Any]:
    """The PMTiles metadata (a JSON object): the MBTiles rows the header does not hold, with the
    `json` row's `vector_layers` and `tilestats` at the top level as the PMTiles spec puts them,
    and the map attribution (HTML) that viewers show."""
    rows = {key: value for key, value in mbtiles_metadata.items() if key not in (*HEADER_KEYS, "json")}
    return {**rows, **json.loads(mbtiles_metadata.get("json", "{}")), "attribution": attribution}


def write_pmtiles(mbtiles: Path, out: Path, attribution: str) -> int:
    """Write every tile of the MBTiles file `mbtiles` to the PMTiles file `out`, in tile-id order
    (a clustered archive: the tiles of one area are near each other in the file). Returns the
    number of tiles. A full disk raises `DiskFull`."""
    with contextlib.closing(sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True)) as db, writing(out), open(out, "wb") as stream:
        metadata = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        rows = db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall()
        tile_ids = sorted(zxy_to_tileid(z, x, (1 << z) - 1 - row) for z, x, row in rows)
        writer = Writer(stream)
        writer.tile_f.close()
        writer.tile_f = tempfile.TemporaryFile(dir=out.parent)  # beside the archive: /tmp may be held in memory
        for tile_id in tile_ids:
            z, x, y = tileid_to_zxy(tile_id)
            [(data,)] = db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", (z, x, (1 << z) - 1 - y)
            )
            writer.write_tile(tile_id, bytes(data))
        header, _ = mbtiles_to_header_json(metadata)
        if tile_ids:
            writer.finalize(header, pmtiles_metadata(metadata, attribution))
        else:
            writer.tile_f.close()
            stream.write(empty_archive(header, pmtiles_metadata(metadata, attribution)))
    return len(tile_ids)


def empty_archive(header: dict[str, Any], metadata: dict[str, Any]) -> bytes:
    """A PMTiles archive of no tile, which the `pmtiles` writer cannot finish (it reads the
    header's zooms off the first and last tile): `header` (the MBTiles file's zooms, bounds and
    center), an empty root directory and `metadata`. An archive of a small study area's lowest
    zooms draws nothing, its polygons pixel dust that holds no pixel's centre (docs/artifact.md)."""
    root = serialize_directory([])
    compressed = gzip.compress(json.dumps(metadata).encode(), mtime=0)
    metadata_offset = HEADER_BYTES + len(root)
    end = metadata_offset + len(compressed)
    header = header | {
        "addressed_tiles_count": 0,
        "tile_entries_count": 0,
        "tile_contents_count": 0,
        "clustered": True,
        "internal_compression": Compression.GZIP,
        "root_offset": HEADER_BYTES,
        "root_length": len(root),
        "metadata_offset": metadata_offset,
        "metadata_length": len(compressed),
        "leaf_directory_offset": end,
        "leaf_directory_length": 0,
        "tile_data_offset": end,
        "tile_data_length": 0,
    }
    return serialize_header(header) + root + compressed


def with_pmtiles(manifest: BuildManifest, build_dir: Path) -> BuildManifest:
    """Write `tiles/<tileset>.pmtiles` beside each tileset's MBTiles archive in `build_dir` and
    record it in the manifest (tilesets without an archive get none)."""
    tilesets = {}
    for name, tileset in manifest.tilesets.items():
        if tileset.archive is not None:
            path = pmtiles_archive_path(name)
            write_pmtiles(build_dir / tileset.archive.path, build_dir / path, manifest.attribution)
            tileset = replace(tileset, archive=replace(tileset.archive, pmtiles=path))
        tilesets[name] = tileset
    return replace(manifest, tilesets=tilesets)
