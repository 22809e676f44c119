"""Tiles of a loaded build: archive lookup, on-demand encoding, a byte-bounded cache. No Flask.

Every file a request needs is opened when the service is created (the archives stay on disk,
read through SQLite connections opened then; the density layers' files are opened and checked
then, and read a record batch at a time by the requests that need them), so a build directory
replaced on disk afterwards cannot break requests in flight.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cachetools
import mercantile

from crimetiles.artifact.manifest import BuildManifest, Tileset
from crimetiles.artifact.reader import Build, LayerFile, TileLookup
from crimetiles.server.errors import TileOutOfRange, UnknownTileset
from crimetiles.server.renderer import drawing_module
from crimetiles.server.static_files import CompressedBodies
from crimetiles.server.style import style

if TYPE_CHECKING:  # annotations only: the layer reader and encoder are imported when layers open
    from crimetiles.artifact.layer_rows import LayerRows  # (`open_density_layers`), the renderer when the
    from crimetiles.server.on_demand import RowGroupCache, RowGroupTiler  # first PNG is asked (`TileService.png`)
    from crimetiles.server.raster import DrawLayer

MAX_ZOOM = 22
"""Highest zoom served: above a tileset's max zoom tiles are encoded from the exact geometry."""
CACHE_ENTRY_BYTES = 512
"""Memory one cache entry costs besides its tile's bytes object: the key (a 4-tuple and its two
large ints), the size record, a slot in each of the cache's three hash tables and its LRU link.
Measured with tracemalloc over 100k inserts under LRU churn (CPython 3.11, cachetools 8): at most
423 bytes; rounded up for the allocator's pools (tests/server/test_cache_memory.py checks both)."""
BOUNDS_TOLERANCE_M = 1.0
"""Metres added around a layer's bounds before deciding a tile cannot touch it: far above the
round-off between projecting bounds and geometries (nanometres), far below a z22 tile (9.55 m)."""
MercatorBounds = tuple[float, float, float, float]
"""west, south, east, north in Web Mercator metres (EPSG:3857)."""
CacheKey = tuple[str, int, int, int] | tuple[str, int, int, int, int, int]
"""A vector tile's (tileset, z, x, y); a PNG's (tileset, z, x, y, year or 0 for all years, scale)."""


@dataclass
class TileStats:
    """Counters of on-demand tiles for /metrics, carried from build to build
    (`load_tile_service`); archive tiles are counted with their answers (`Metrics.count_tile`).
    A worker's threads add to them through `add`, under a lock: `+=` from two threads can lose
    one of the additions."""

    outside_bounds: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    encodes: int = 0
    encode_seconds: float = 0.0
    renders: int = 0
    render_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # not a field: the counts alone are the record (`asdict`, `==`)

    def add(self, **amounts: float) -> None:
        """Add each amount to the counter it names."""
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


@dataclass(frozen=True)
class DensityLayers:
    """What on-demand tiles and downloads need of a build: each layer's Arrow stream, read a record
    batch at a time, and a bounded cache of batches as read; never a whole layer (docs/artifact.md)."""

    rows: dict[str, LayerRows]
    """Every density layer, for downloads (`LayerRows.tables`) and tiles."""
    tilers: dict[str, RowGroupTiler]
    """An encoder per layer drawn in a tileset (`_tiler_key`)."""
    extents: dict[str, MercatorBounds]
    """Bounds of each tiler's layer (keyed like `tilers`): no tile outside them has a feature."""
    cache: RowGroupCache
    """The record batches as read that every tiler shares."""


class LazyDensityLayers:
    """A build's `DensityLayers`, opened by the first request that needs them (an on-demand tile
    or a download), once, whatever the number of threads asking at the same time.

    Opening them costs the libraries that read and encode them (numpy, shapely, nanoarrow): a
    worker that serves only archive tiles, pages and metadata never pays it. The files are opened
    when the build loads, so the layers can still be read after the build directory is deleted.
    An open that fails (a `BuildError`) is tried again by the next request.
    """

    def __init__(self, manifest: BuildManifest, files: dict[str, LayerFile]) -> None:
        self._manifest = manifest
        self._files = files
        self._lock = threading.Lock()
        self._loaded: DensityLayers | None = None

    def get(self) -> DensityLayers:
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = open_density_layers(self._manifest, self._files)
                loaded = self._loaded
        return loaded


class LayerSummaries:
    """Every density layer's summary (JSON) by layer name, read from the build when asked rather
    than held: at national size one is sixty megabytes, which every worker would otherwise keep
    from its start. Compressed, it is read from the build's compressed copy; for a build made
    before those existed, made by the first request for it and kept (a tenth of the size). None for
    a build made before summaries existed, or without a build."""

    def __init__(self, build: Build | None = None) -> None:
        """Each summary `build` names must be a file (a broken build fails here)."""
        for name in build.manifest.summaries if build is not None else ():
            build.check_summary(name)
        self._build = build
        self._compressed = CompressedBodies()

    def __contains__(self, name: object) -> bool:
        return self._build is not None and name in self._build.manifest.summaries

    def read(self, name: str) -> bytes:
        """The summary of layer `name` as stored; a KeyError if there is none."""
        if self._build is None or name not in self:
            raise KeyError(name)
        return self._build.summary(name)

    def body(self, name: str, encoding: str | None) -> bytes:
        """The bytes to send for the summary of `name` in `encoding` (None: as stored)."""
        if encoding is None:
            return self.read(name)
        stored = self._build.encoded_summary(name, encoding) if name in self else None
        return stored if stored is not None else self._compressed.get(name, encoding, lambda: self.read(name))


@dataclass
class TileService:
    """The tiles of one build. `tile()` returns gzip-compressed MVT bytes, or None if empty."""

    manifest: BuildManifest
    layers: LazyDensityLayers
    archives: dict[str, TileLookup]
    """Each tileset's archive, read from its MBTiles file per request (no copy in memory)."""
    cache: cachetools.LRUCache
    summaries: LayerSummaries = field(default_factory=LayerSummaries)
    stats: TileStats = field(default_factory=TileStats)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)
    _key_locks: dict[CacheKey, threading.Lock] = field(default_factory=dict)
    _draw_layers: dict[tuple[str, int | None], tuple[DrawLayer, ...]] = field(default_factory=dict)

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
        if self.archived(name, z):
            return self.archives[name].get((z, x, y))
        if not self._may_have_features(tileset, z, x, y):
            self.stats.add(outside_bounds=1)
            return None
        return self._cached((tileset.name, z, x, y), lambda: self._encode(tileset, z, x, y)) or None

    def png(self, name: str, z: int, x: int, y: int, scale: int, year: int | None) -> bytes:
        """PNG of tile `z/x/y` of tileset `name`, `256 * scale` pixels a side, drawn with the
        tileset's style for density in `year` (None: all years) from the vector tile; kept in the
        tile cache (a cached PNG costs no vector tile lookup). Raises as `tile()` does."""
        tileset = self.tileset(name)
        check_tile(z, x, y)
        key = (tileset.name, z, x, y, year or 0, scale)
        return self._cached(key, lambda: self._render(self.tile(name, z, x, y), name, z, scale, year))

    def archived(self, name: str, z: int) -> bool:
        """Whether tileset `name`'s tiles of zoom `z` come from the build's archive: the same
        bytes for as long as the build is served, so an answer made from one may be kept."""
        archive = self.manifest.tilesets[name].archive
        return archive is not None and archive.holds(z)

    def _may_have_features(self, tileset: Tileset, z: int, x: int, y: int) -> bool:
        """False when the tile, with its buffer, lies wholly outside its layer's bounds: then it is
        empty for sure, and a flood of such tiles costs neither an encode nor a cache entry."""
        layers = self.layers.get()
        key = _tiler_key(tileset.band_for_zoom(z).layer, tileset.name)
        tiler = layers.tilers[key]
        return tile_meets_bounds(mercantile.Tile(x, y, z), layers.extents[key], tiler.buffer / tiler.extent)

    def _cached(self, key: CacheKey, make: Callable[[], bytes]) -> bytes:
        """The cached bytes of `key`, else `make()`'s, kept while the cache has room for them."""
        with self._cache_lock:
            if key in self.cache:
                self.stats.add(cache_hits=1)
                return self.cache[key]
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one encode per tile under a burst: the others wait and read the cache
            try:
                with self._cache_lock:
                    if key in self.cache:
                        self.stats.add(cache_hits=1)
                        return self.cache[key]
                self.stats.add(cache_misses=1)
                data = make()
                with self._cache_lock:
                    if _cache_size(data) <= self.cache.maxsize:  # a tile larger than the whole cache is not kept
                        self.cache[key] = data
                return data
            finally:
                with self._cache_lock:
                    self._key_locks.pop(key, None)

    def _encode(self, tileset: Tileset, z: int, x: int, y: int) -> bytes:
        started = time.perf_counter()
        raw = self.layers.get().tilers[_tiler_key(tileset.band_for_zoom(z).layer, tileset.name)].encode(mercantile.Tile(x, y, z))
        self.stats.add(encodes=1, encode_seconds=time.perf_counter() - started)
        return gzip.compress(raw, compresslevel=6, mtime=0) if raw else b""

    def _render(self, vector_tile: bytes | None, name: str, z: int, scale: int, year: int | None) -> bytes:
        raster = drawing_module("raster")  # Skia loads with the first PNG asked
        started = time.perf_counter()
        png = raster.render_png(vector_tile, self.draw_layers(name, year), z, scale)
        self.stats.add(renders=1, render_seconds=time.perf_counter() - started)
        return png

    def draw_layers(self, name: str, year: int | None) -> tuple[DrawLayer, ...]:
        """Tileset `name`'s style as the renderer draws it, for density in `year` (None: all years)."""
        key = (name, year)
        if key not in self._draw_layers:
            document = style(self.manifest.tilesets[name], "", self.manifest.provenance)
            self._draw_layers[key] = drawing_module("raster").draw_layers(document, year)
        return self._draw_layers[key]


def check_tile(z: int, x: int, y: int) -> None:
    """Raises `TileOutOfRange` unless `z/x/y` is a tile of a zoom served."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"zoom {z} is outside 0..{MAX_ZOOM}")
    if not (0 <= x < 1 << z and 0 <= y < 1 << z):
        raise TileOutOfRange(f"x and y must be within 0..{(1 << z) - 1} at zoom {z}")


def tile_meets_bounds(tile: mercantile.Tile, bounds: MercatorBounds, buffer_fraction: float) -> bool:
    """Whether `tile`, grown on each side by `buffer_fraction` of its width (the MVT buffer the
    encoder draws), meets `bounds` (Web Mercator metres, grown by `BOUNDS_TOLERANCE_M`)."""
    west, south, east, north = mercantile.xy_bounds(tile)
    pad = (east - west) * buffer_fraction + BOUNDS_TOLERANCE_M
    return west - pad <= bounds[2] and east + pad >= bounds[0] and south - pad <= bounds[3] and north + pad >= bounds[1]


def _mercator_bounds(bounds: tuple[float, float, float, float]) -> MercatorBounds:
    """Lon/lat `bounds` (west, south, east, north) in Web Mercator metres: x and y are monotonic in
    lon and lat, so they bound the projected geometries too."""
    west, south, east, north = bounds
    return (*mercantile.xy(west, south), *mercantile.xy(east, north))


def _cache_size(value: bytes) -> int:
    """Memory a cache entry holding `value` costs: `b""` (an empty tile) is one shared object."""
    return CACHE_ENTRY_BYTES + (sys.getsizeof(value) if value else 0)


def open_density_layers(manifest: BuildManifest, files: dict[str, LayerFile]) -> DensityLayers:
    """Open every density layer of `manifest` from `files` (by layer name), reading only their
    metadata (the schema of each layer's Arrow stream), and make the tilers."""
    # Imported here, not at the top: they bring numpy, shapely and nanoarrow, needed only once
    # layers open (see `LazyDensityLayers`).
    from crimetiles.artifact.layer_rows import LayerRows
    from crimetiles.server.on_demand import RowGroupCache, RowGroupTiler

    rows = {name: LayerRows(file) for name, file in files.items()}
    cache = RowGroupCache()
    drawn = [(tileset, band.layer) for tileset in manifest.tilesets.values() for band in tileset.bands]
    return DensityLayers(
        rows=rows,
        tilers={_tiler_key(layer, t.name): RowGroupTiler(t.name, rows[layer], t.maxzoom, cache) for t, layer in drawn},
        extents={_tiler_key(layer, t.name): _mercator_bounds(rows[layer].bounds) for t, layer in drawn},
        cache=cache,
    )


def load_tile_service(build: Build, cache_bytes: int, stats: TileStats | None = None) -> TileService:
    """`stats`: the counters to add to (those of the build served before, so that a hot swap
    resets none); new ones by default.

    Open every archive and density layer file of `build` and check them, and that every summary is
    there (a broken build fails here); the layers are read by the first request that needs them
    (`LazyDensityLayers`), the summaries by each request for one (`LayerSummaries`)."""
    manifest = build.manifest
    layer_files = {name: build.open_layer(name) for name in manifest.layers}
    archives = {name: build.archive_lookup(name) for name in manifest.tilesets}
    return TileService(
        manifest=manifest,
        layers=LazyDensityLayers(manifest, layer_files),
        archives=archives,
        cache=cachetools.LRUCache(maxsize=cache_bytes, getsizeof=_cache_size),
        summaries=LayerSummaries(build),
        stats=stats if stats is not None else TileStats(),
    )


def _tiler_key(layer: str, tileset: str) -> str:
    """A layer drawn in a tileset: the MVT layer is named after the tileset."""
    return f"{layer}@{tileset}"
