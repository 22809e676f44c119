"""Tiles of a loaded build: archive lookup, on-demand encoding, a byte-bounded cache. No Flask.

Everything a request needs is loaded into memory when the service is created, so a build
directory replaced on disk afterwards cannot break requests in flight.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field

import cachetools
import geopandas as gpd
import mercantile

from crimetiles.artifact.manifest import BuildManifest, Tileset
from crimetiles.artifact.mvt import LayerTiler, layer_tiler
from crimetiles.artifact.reader import Build, TileKey
from crimetiles.server.errors import TileOutOfRange, UnknownTileset
from crimetiles.server.static_files import StaticFile, StaticFiles

MAX_ZOOM = 22
"""Highest zoom served: above a tileset's max zoom tiles are encoded from the exact geometry."""
CACHE_ENTRY_OVERHEAD = 64
"""Bytes counted per cache entry besides the tile, so that empty tiles are bounded too."""


@dataclass
class TileStats:
    """Counters for /metrics (read without locks: approximate under concurrency is fine)."""

    archive_hits: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    encodes: int = 0
    encode_seconds: float = 0.0


@dataclass
class TileService:
    """The tiles of one build. `tile()` returns gzip-compressed MVT bytes, or None if empty."""

    manifest: BuildManifest
    frames: dict[str, gpd.GeoDataFrame]
    """Every density layer, for downloads."""
    tilers: dict[str, LayerTiler]
    archives: dict[str, dict[TileKey, bytes]]
    cache: cachetools.LRUCache
    summaries: StaticFiles = field(default_factory=lambda: StaticFiles({}))
    """Every density layer's summary (JSON) by layer name, compressed once per encoding; none for a
    build made before summaries existed."""
    stats: TileStats = field(default_factory=TileStats)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)
    _key_locks: dict[TileKey, threading.Lock] = field(default_factory=dict)

    @property
    def build_id(self) -> str:
        return self.manifest.build_id

    def tileset(self, name: str) -> Tileset:
        try:
            return self.manifest.tilesets[name]
        except KeyError:
            raise UnknownTileset(name, tuple(self.manifest.tilesets)) from None

    def tile(self, name: str, z: int, x: int, y: int) -> bytes | None:
        """Compressed tile `z/x/y` of tileset `name`; raises `UnknownTileset` or `TileOutOfRange`."""
        tileset = self.tileset(name)
        check_tile(z, x, y)
        archive = tileset.archive
        if archive is not None and archive.minzoom <= z <= archive.maxzoom:
            self.stats.archive_hits += 1
            return self.archives[name].get((z, x, y))
        return self._cached(name, tileset, z, x, y)

    def _cached(self, name: str, tileset: Tileset, z: int, x: int, y: int) -> bytes | None:
        key = (name, z, x, y)
        with self._cache_lock:
            if key in self.cache:
                self.stats.cache_hits += 1
                return self.cache[key] or None
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one encode per tile under a burst: the others wait and read the cache
            try:
                with self._cache_lock:
                    if key in self.cache:
                        self.stats.cache_hits += 1
                        return self.cache[key] or None
                self.stats.cache_misses += 1
                data = self._encode(tileset, z, x, y)
                with self._cache_lock:
                    if _cache_size(data) <= self.cache.maxsize:  # a tile larger than the whole cache is not kept
                        self.cache[key] = data
                return data or None
            finally:
                with self._cache_lock:
                    self._key_locks.pop(key, None)

    def _encode(self, tileset: Tileset, z: int, x: int, y: int) -> bytes:
        started = time.perf_counter()
        raw = self.tilers[_tiler_key(tileset.band_for_zoom(z).layer, tileset.name)].encode(mercantile.Tile(x, y, z))
        self.stats.encodes += 1
        self.stats.encode_seconds += time.perf_counter() - started
        return gzip.compress(raw, compresslevel=6, mtime=0) if raw else b""


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"zoom {z} is outside 0..{MAX_ZOOM}")
    limit = (1 << z) - 1
    if not (0 <= x <= limit and 0 <= y <= limit):
        raise TileOutOfRange(f"x and y must be within 0..{limit} at zoom {z}")


def _cache_size(value: bytes) -> int:
    return len(value) + CACHE_ENTRY_OVERHEAD


def load_tile_service(build: Build, cache_bytes: int) -> TileService:
    """Load every density layer a tileset draws and every archive of `build` into memory."""
    manifest = build.manifest
    frames = {name: build.layer_frame(name) for name in manifest.layers}
    tilers = {
        _tiler_key(band.layer, tileset.name): layer_tiler(tileset.name, frames[band.layer], tileset.maxzoom)
        for tileset in manifest.tilesets.values()
        for band in tileset.bands
    }
    archives = {name: build.archive_tiles(name) for name in manifest.tilesets}
    summaries = StaticFiles(
        {name: StaticFile(name, build.summary(name), manifest.build_id, "application/json") for name in manifest.summaries}
    )
    cache = cachetools.LRUCache(maxsize=cache_bytes, getsizeof=_cache_size)
    return TileService(manifest, frames, tilers, archives, cache, summaries)


def _tiler_key(layer: str, tileset: str) -> str:
    """A layer drawn in a tileset: the MVT layer is named after the tileset."""
    return f"{layer}@{tileset}"
