"""Reading a build directory: the manifest, its density layers and its tile archives."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import BuildManifest, read_manifest

TileKey = tuple[int, int, int]
"""z, x, y in the XYZ scheme (y = 0 at the north)."""


@dataclass(frozen=True)
class Build:
    root: Path
    manifest: BuildManifest

    def layer_frame(self, name: str) -> gpd.GeoDataFrame:
        """The density layer `name` as a GeoDataFrame in EPSG:4326."""
        layer = self.manifest.layers.get(name)
        if layer is None:
            raise BuildError(f"{self.root}: no layer {name!r} (layers: {', '.join(self.manifest.layers)})")
        path = self.root / layer.path
        try:
            return gpd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise BuildError(f"{path}: cannot read density layer ({exc})") from None

    def archive_tiles(self, tileset: str) -> dict[TileKey, bytes]:
        """All pre-generated tiles of `tileset`, gzip-compressed as stored; empty if it has no archive."""
        archive = self.manifest.tilesets[tileset].archive
        if archive is None:
            return {}
        return read_mbtiles(self.root / archive.path)

    def summary(self, name: str) -> bytes:
        """The summary of density layer `name` (JSON, see docs/artifact.md) as stored."""
        path = self.root / self.manifest.summaries[name]
        try:
            return path.read_bytes()
        except OSError as exc:
            raise BuildError(f"{path}: cannot read layer summary ({exc.strerror})") from None

    def missing_files(self) -> list[str]:
        """Files the manifest names (density layers, summaries, tile archives) that are not in the build."""
        named = [layer.path for layer in self.manifest.layers.values()]
        named += list(self.manifest.summaries.values())
        archives = [tileset.archive for tileset in self.manifest.tilesets.values() if tileset.archive]
        named += [archive.path for archive in archives] + [archive.pmtiles for archive in archives if archive.pmtiles]
        return [path for path in named if not (self.root / path).is_file()]


def open_build(root: Path | str) -> Build:
    """Open a build directory written by `crimetiles build`; raises `BuildError` if unusable.

    A symbolic link (what `crimetiles build` makes of its output) is resolved once here, so every
    file is read from the same build even if the link is swapped to a new build meanwhile.
    """
    root = Path(root).resolve()
    return Build(root=root, manifest=read_manifest(root))


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
