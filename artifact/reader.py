"""Reading a build directory: the manifest, its density layers and its tile archives."""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import quote

from crimetiles.artifact.content_coding import encoded_path
from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import BuildManifest, LayerStream, read_manifest

if TYPE_CHECKING:  # annotations only: geopandas is imported when a layer is read (`read_layer`)
    import geopandas as gpd

TileKey = tuple[int, int, int]
"""z, x, y in the XYZ scheme (y = 0 at the north)."""
TILE_QUERY = "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?"
STREAM_START = b"\xff\xff\xff\xff"
"""The 4 bytes every message of an Arrow IPC stream starts with (the continuation marker)."""
STREAM_END = STREAM_START + b"\x00\x00\x00\x00"
"""The end-of-stream marker of the Arrow IPC stream format: a message of length 0."""


class TileLookup(Protocol):
    """Stored tiles by XYZ key: a dict, or an archive read on demand."""

    def get(self, key: TileKey, /) -> bytes | None: ...


@dataclass(frozen=True)
class Build:
    root: Path
    manifest: BuildManifest

    def layer_frame(self, name: str) -> gpd.GeoDataFrame:
        """The density layer `name` as a GeoDataFrame in EPSG:4326."""
        layer = self.manifest.layers.get(name)
        if layer is None:
            raise BuildError(f"{self.root}: no layer {name!r} (layers: {', '.join(self.manifest.layers)})")
        return read_layer(self.root / layer.path)

    def open_layer(self, name: str) -> LayerFile:
        """The Arrow stream of density layer `name` (what a server reads), opened now and checked
        to look like one (a stream's first message at the start, its end marker at the end: a
        missing, empty or truncated file fails here) without reading it."""
        layer = self.manifest.layers[name]
        if layer.stream is None:
            older = "a build made by an older crimetiles"
            raise BuildError(f"{self.root}: density layer {name!r} has no Arrow stream ({older}): rebuild")
        path = self.root / layer.stream.path
        try:
            file = path.open("rb")
        except OSError as exc:
            raise BuildError(f"{path}: cannot read density layer ({exc.strerror})") from None
        if not _looks_like_arrow_stream(file):
            file.close()
            raise BuildError(f"{path}: cannot read density layer (not an Arrow stream)")
        return LayerFile(path, file, layer.stream)

    def archive_tiles(self, tileset: str) -> dict[TileKey, bytes]:
        """All pre-generated tiles of `tileset`, gzip-compressed as stored; empty if it has no archive."""
        archive = self.manifest.tilesets[tileset].archive
        if archive is None:
            return {}
        return read_mbtiles(self.root / archive.path)

    def archive_lookup(self, tileset: str) -> TileLookup:
        """The pre-generated tiles of `tileset`, read from its MBTiles file per request (see
        `MBTilesLookup`); an empty lookup if it has no archive."""
        archive = self.manifest.tilesets[tileset].archive
        if archive is None:
            return {}
        return MBTilesLookup(self.root / archive.path)

    def check_summary(self, name: str) -> None:
        """Fail as `summary` would if the summary of density layer `name` is not a file, without reading it."""
        path = self.root / self.manifest.summaries[name]
        if not path.is_file():
            raise BuildError(f"{path}: cannot read layer summary (not a file)")

    def summary(self, name: str) -> bytes:
        """The summary of density layer `name` (JSON, see docs/artifact.md) as stored."""
        path = self.root / self.manifest.summaries[name]
        try:
            return path.read_bytes()
        except OSError as exc:
            raise BuildError(f"{path}: cannot read layer summary ({exc.strerror})") from None

    def encoded_summary(self, name: str, encoding: str) -> bytes | None:
        """The summary of density layer `name` as the build compressed it in `encoding` (a content
        coding of `artifact.content_coding`); None if the build has no such copy (builds made
        before the copies existed: the reader compresses the summary itself)."""
        path = self.root / encoded_path(self.manifest.summaries[name], encoding)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BuildError(f"{path}: cannot read layer summary ({exc.strerror})") from None

    def missing_files(self) -> list[str]:
        """Files the manifest names (density layers, summaries, tile archives) that are not in the build."""
        named = [layer.path for layer in self.manifest.layers.values()]
        named += [layer.stream.path for layer in self.manifest.layers.values() if layer.stream]
        named += list(self.manifest.summaries.values())
        archives = [tileset.archive for tileset in self.manifest.tilesets.values() if tileset.archive]
        named += [archive.path for archive in archives] + [archive.pmtiles for archive in archives if archive.pmtiles]
        return [path for path in named if not (self.root / path).is_file()]


@dataclass(frozen=True)
class LayerFile:
    """A density layer's Arrow stream, opened when a build loads (`Build.open_layer`) and read
    later (`artifact/layer_rows.py`): whoever holds it can read the layer even after the build
    directory is deleted."""

    path: Path
    file: BinaryIO
    stream: LayerStream

    def close(self) -> None:
        self.file.close()


def open_build(root: Path | str) -> Build:
    """Open a build directory written by `crimetiles build`; raises `BuildError` if unusable.

    A symbolic link (what `crimetiles build` makes of its output) is resolved once here, so every
    file is read from the same build even if the link is swapped to a new build meanwhile.
    """
    root = Path(root).resolve()
    return Build(root=root, manifest=read_manifest(root))


def _looks_like_arrow_stream(file: BinaryIO) -> bool:
    """Whether `file` starts as an Arrow IPC stream's first message and ends with its end marker."""
    if file.read(len(STREAM_START)) != STREAM_START:
        return False
    file.seek(0, os.SEEK_END)
    if file.tell() < len(STREAM_START) + len(STREAM_END):
        return False
    file.seek(-len(STREAM_END), os.SEEK_END)
    return file.read() == STREAM_END


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """The density layer stored at `path` (GeoParquet)."""
    # Imported here, not at the top: geopandas brings pandas, shapely and pyarrow (about 140 MB
    # resident), which a server answering only archive tiles, pages and metadata never needs.
    import geopandas as gpd

    try:
        return gpd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path}: cannot read density layer ({exc})") from None


def read_mbtiles(path: Path) -> dict[TileKey, bytes]:
    """Every tile of an MBTiles file keyed by XYZ (MBTiles stores TMS rows, flipped here)."""
    if not path.is_file():
        raise BuildError(f"{path}: tile archive is missing")
    uri = f"file:{path}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:  # closed now, not when collected
            rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BuildError(f"{path}: not a readable MBTiles file ({exc})") from None
    return {(z, x, (1 << z) - 1 - row): bytes(data) for z, x, row, data in rows}


class MBTilesLookup:
    """Tiles of an MBTiles file, read through SQLite when asked for, gzip-compressed as stored.

    Nothing is copied into the process: the file's pages live in the OS page cache, one copy
    shared by every worker process, so a worker's memory does not grow with the archive.
    Connections are read-only (`mode=ro`) and `immutable=1`: a versioned build directory never
    changes (docs/artifact.md, "Atomicity"), so SQLite takes no file lock and checks for no change
    per query (four times faster here). Each serves one thread at a time: a request takes an
    idle one or opens another, so there are as many as requests run at once. The first is opened
    here, which checks the file and keeps it open: a server still on this build after the
    directory is deleted (two rebuilds later, docs/artifact.md) keeps reading it through the
    connections it has.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        if not path.is_file():
            raise BuildError(f"{path}: tile archive is missing")
        self._idle.put(self._connect())

    def get(self, key: TileKey, /) -> bytes | None:
        """The tile `z/x/y` (XYZ), or None if the archive holds none (MBTiles rows are TMS: flipped)."""
        z, x, y = key
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._another_connection()
        try:
            row = db.execute(TILE_QUERY, (z, x, (1 << z) - 1 - y)).fetchone()
        finally:
            self._idle.put(db)
        return row[0] if row else None

    def _another_connection(self) -> sqlite3.Connection:
        """A new connection, or, if the file can no longer be opened, the next one to come back."""
        try:
            return self._connect()
        except BuildError:
            return self._idle.get()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            db.execute(TILE_QUERY, (0, 0, 0)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise BuildError(f"{self.path}: not a readable MBTiles file ({exc})") from None
        return db
