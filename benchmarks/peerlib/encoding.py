"""Cold tiles: each tile made once, timed one by one, by crimetiles in-process, crimetiles over
HTTP, and PostGIS.

In-process: a fresh `layer_tiler` per round (as a server worker has after loading a build), then
every tile encoded once, zoom by zoom, and gzip-compressed as the server stores it. The first tile
of each zoom also pays that zoom's simplification and spatial index (7 of the 346 tiles): the p50
ignores them, the mean includes them.
"""

from __future__ import annotations

import gzip
import http.client
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import mercantile

from crimetiles.artifact.mvt import layer_tiler
from peerlib.demo import EXACT_ZOOM

GZIP_LEVEL = 6
"""The level crimetiles compresses its tiles with; PostGIS tiles are compressed the same way."""


@dataclass(frozen=True)
class ColdRun:
    """Per-tile times of one pass over the tiles, and what was produced (for the content check)."""

    seconds: tuple[float, ...]
    tiles: dict[mercantile.Tile, bytes]

    def summary(self) -> dict[str, float]:
        return {
            "p50_ms": statistics.median(self.seconds) * 1000,
            "mean_ms": statistics.fmean(self.seconds) * 1000,
            "tiles": len(self.seconds),
        }


def each_once(tiles: Sequence[mercantile.Tile], make: Callable[[mercantile.Tile], bytes]) -> ColdRun:
    """Time `make` (which returns the gzip-compressed tile, b'' if empty) once per tile."""
    seconds, produced = [], {}
    for tile in tiles:
        started = time.perf_counter()
        produced[tile] = make(tile)
        seconds.append(time.perf_counter() - started)
    return ColdRun(tuple(seconds), produced)


def crimetiles_in_process(frame: gpd.GeoDataFrame, layer: str, tiles: Sequence[mercantile.Tile]) -> ColdRun:
    """Encode + gzip each tile once with a fresh tiler over `frame` (the density layer)."""
    return each_once(tiles, compressed(layer_tiler(layer, frame, EXACT_ZOOM).encode))


def compressed(encode: Callable[[mercantile.Tile], bytes | None]) -> Callable[[mercantile.Tile], bytes]:
    """`encode` (raw MVT bytes, None or b'' when empty) followed by the same gzip as crimetiles."""

    def make(tile: mercantile.Tile) -> bytes:
        raw = encode(tile)
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0) if raw else b""

    return make


TileGetter = Callable[[mercantile.Tile], bytes]


def over_http(port: int, path_of: Callable[[mercantile.Tile], str]) -> tuple[TileGetter, Callable[[], None]]:
    """A tile getter over one keep-alive loopback connection (`Accept-Encoding: gzip`), and its closer.
    Only 200 (a tile) and 204 (empty) are accepted."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(tile: mercantile.Tile) -> bytes:
        connection.request("GET", path_of(tile), headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        if response.status not in (200, 204):
            raise RuntimeError(f"{path_of(tile)}: HTTP {response.status}")
        return body

    return get, connection.close
