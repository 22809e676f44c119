"""The tile archive: pre-generated, gzip-compressed MVT tiles in an MBTiles file."""

from __future__ import annotations

import collections
import contextlib
import gzip
import json
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

import geopandas as gpd
import mercantile
import pandas as pd

from crimetiles.artifact.manifest import Bounds, Tileset
from crimetiles.artifact.mvt import LayerTiler, tiles_covering
from crimetiles.precompute.build_dir import writing

TILESTATS_LISTED_VALUES = 100
"""Distinct values listed per attribute in `tilestats` (tippecanoe's and mapbox-geostats' limit);
`min` and `max` still cover every value."""
TILESTATS_COUNTED_VALUES = 1000
"""Distinct values counted per attribute in `tilestats` (the same tools' limit)."""


EncodedTiles = Iterator[tuple[mercantile.Tile, bytes]]

TASK_TILES = 32
"""Tiles per encoding task at the zooms that share one geometry (the tilers' simplification max
zoom and above); below it a task is a whole zoom, whose simplification it computes once."""
PARALLEL_MIN_TILES = 64
"""Below this many tiles a tileset is encoded in the building process: starting worker processes
would cost more than it saves."""


@dataclass(frozen=True)
class EncodingTask:
    """Tiles that one process encodes with the tiler of `layer`."""

    layer: str
    tiles: tuple[mercantile.Tile, ...]
    whole_zoom: bool = False
    """All the tiles of a simplified zoom: its geometry is dropped once they are encoded."""


def encoding_tasks(tileset: Tileset, bounds: Bounds, zooms: Iterable[int], simplify_maxzoom: int) -> list[EncodingTask]:
    """The tiles of `tileset` over `bounds` at `zooms` as tasks, the largest first so that the
    processes sharing them finish together: each simplified zoom whole (one simplification per zoom, in one
    process), highest first, then the zooms drawn from exact geometry in chunks of TASK_TILES."""
    whole, chunked = [], []
    for zoom in sorted(zooms, reverse=True):
        layer, tiles = tileset.band_for_zoom(zoom).layer, tiles_covering(bounds, [zoom])
        if zoom < simplify_maxzoom:
            whole.append(EncodingTask(layer, tuple(tiles), whole_zoom=True))
        else:
            chunked += [EncodingTask(layer, tuple(tiles[i : i + TASK_TILES])) for i in range(0, len(tiles), TASK_TILES)]
    return whole + chunked


def encoded(tilers: dict[str, LayerTiler], task: EncodingTask) -> Iterator[tuple[mercantile.Tile, bytes | None]]:
    """Each tile of `task`, gzip-compressed, or None when it is empty. The simplified geometry of a
    whole zoom is let go after it, so that a process holds one simplified zoom at a time."""
    tiler = tilers[task.layer]
    for tile in task.tiles:
        data = tiler.encode(tile)
        yield tile, None if data is None else gzip.compress(data, compresslevel=6, mtime=0)
    if task.whole_zoom:
        tiler.release(task.tiles[0].z)


def encode_task(tilers: dict[str, LayerTiler], task: EncodingTask) -> list[tuple[mercantile.Tile, bytes]]:
    """The non-empty tiles of `task`, gzip-compressed."""
    return [(tile, data) for tile, data in encoded(tilers, task) if data is not None]


@contextlib.contextmanager
def tileset_tiles(
    tileset: Tileset, tilers: dict[str, LayerTiler], bounds: Bounds, zooms: Iterable[int], processes: int | None = None
) -> Iterator[EncodedTiles]:
    """Every non-empty tile of `tileset` over `bounds` at `zooms`, gzip-compressed, in no set order,
    as they are encoded (so that the archive is written as they come, never held whole).

    Encoded by this process and `processes` - 1 helper processes (default: one process per
    available core), forked on entering so that they inherit the tilers; by this process alone for
    one core or a small tileset, where starting a helper costs more than it saves."""
    simplify_maxzoom = min((tiler.simplify_maxzoom for tiler in tilers.values()), default=0)
    tasks = encoding_tasks(tileset, bounds, zooms, simplify_maxzoom)
    helpers = min(processes or len(os.sched_getaffinity(0)), len(tasks)) - 1
    if helpers < 1 or sum(len(task.tiles) for task in tasks) < PARALLEL_MIN_TILES:
        yield (tile for task in tasks for tile in encode_task(tilers, task))
        return
    with multiprocessing.get_context("fork").Pool(helpers, _adopt_tilers, (tilers,)) as pool:  # terminated on error
        yield _shared(pool, helpers, tilers, tasks)
        pool.close()
        pool.join()


def _shared(pool: Pool, helpers: int, tilers: dict[str, LayerTiler], tasks: Sequence[EncodingTask]) -> EncodedTiles:
    """The tiles of `tasks`, shared out: the helpers take tasks from the front (the largest), this
    process from the back. Each helper has a task queued beside the one it works on, refilled
    between two tiles of this process, so that it never waits long for the next."""
    pending = collections.deque(tasks)
    sent: collections.deque[AsyncResult] = collections.deque()
    local: Iterator[tuple[mercantile.Tile, bytes | None]] = iter(())
    while True:
        while sent and sent[0].ready():
            yield from sent.popleft().get()
        while pending and len(sent) < 2 * helpers:
            sent.append(pool.apply_async(_encode_in_helper, (pending.popleft(),)))
        tile, data = next(local, (None, None))
        if tile is not None:
            if data is not None:
                yield tile, data
        elif pending:
            local = encoded(tilers, pending.pop())
        elif sent:
            yield from sent.popleft().get()
        else:
            return


_helper_tilers: dict[str, LayerTiler] = {}
"""The tilers of a helper process, inherited from the building process when it forked."""


def _adopt_tilers(tilers: dict[str, LayerTiler]) -> None:
    """A helper's start: Ctrl-C is for the building process (which stops its helpers), SIGTERM
    stops a helper at once whatever handler the building process had set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _helper_tilers.update(tilers)


def _encode_in_helper(task: EncodingTask) -> list[tuple[mercantile.Tile, bytes]]:
    return encode_task(_helper_tilers, task)


def attribute_stats(name: str, values: pd.Series) -> dict[str, Any]:
    """One `tilestats` attribute in the mapbox-geostats format: distinct-value count, type,
    the smallest distinct values and, for numbers, min and max (missing values, withheld ones, left
    out). Integer columns keep JSON integers (`3`, not `3.0`), so readers such as GDAL can tell
    counts from densities."""
    distinct = sorted(set(values.dropna().tolist()))
    kind = "boolean" if pd.api.types.is_bool_dtype(values) else "number" if pd.api.types.is_numeric_dtype(values) else "string"
    stats: dict[str, Any] = {
        "attribute": name,
        "count": min(len(distinct), TILESTATS_COUNTED_VALUES),
        "type": kind,
        "values": distinct[:TILESTATS_LISTED_VALUES],
    }
    if kind == "number" and distinct:
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
