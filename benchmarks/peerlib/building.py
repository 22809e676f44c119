"""Tile builds: crimetiles' archive writing against tippecanoe with matched settings, per tileset."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from crimetiles.artifact.fields import feature_field_types
from crimetiles.artifact.manifest import Tileset
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.artifact.reader import open_build
from crimetiles.precompute.mbtiles_archive import mbtiles_metadata, tileset_tiles, write_mbtiles
from peerlib.demo import read_archive

TIPPECANOE_SETTINGS = (
    "-Z0",
    "-z14",
    "--full-detail=12",
    "--low-detail=12",
    "-b",
    "4",
    "--no-feature-limit",
    "--no-tile-size-limit",
    "--simplify-only-low-zooms",
    "--no-tiny-polygon-reduction",
)
"""Matched to crimetiles: zooms 0-14, extent 4096 (2^12) at every zoom, a 64-unit buffer (4 of 256
pixels), no feature or size limits, simplified to one tile unit below the max zoom only, and tiny
polygons kept as they are."""


@dataclass(frozen=True)
class BuildRun:
    seconds: float
    archive: Path

    def summary(self) -> dict[str, float]:
        tiles = read_archive(self.archive)
        return {"seconds": self.seconds, "tile_bytes": sum(map(len, tiles.values())), "tiles": len(tiles)}


def crimetiles_archive(build_dir: Path, name: str, out: Path, zooms: range | None = None) -> BuildRun:
    """Time what `crimetiles build` does for one tileset's archive (of `zooms`, by default the
    build's archive zooms): tilers over its density layers (read beforehand, untimed), every tile
    encoded and gzip-compressed (shared with a helper process per further core, as the build does),
    the MBTiles metadata, the MBTiles file written."""
    build = open_build(build_dir)
    manifest = build.manifest
    tileset = manifest.tilesets[name]
    zooms = zooms or _archive_zooms(tileset)
    frames = {band.layer: build.layer_frame(band.layer) for band in tileset.bands if band.minzoom < zooms.stop}
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    tilers = {layer: layer_tiler(name, frame, tileset.maxzoom) for layer, frame in frames.items()}
    with tileset_tiles(tileset, tilers, manifest.bounds, zooms) as tiles:
        field_types = feature_field_types(manifest.years)
        metadata = mbtiles_metadata(tileset, manifest.bounds, manifest.center, zooms, field_types, list(frames.values()))
        write_mbtiles(out, metadata, tiles)
    return BuildRun(time.perf_counter() - started, out)


def _archive_zooms(tileset: Tileset) -> range:
    archive = tileset.archive
    return range(archive.minzoom, archive.maxzoom + 1) if archive else range(tileset.minzoom, tileset.maxzoom + 1)


def tippecanoe_input(build_dir: Path, name: str, out: Path) -> Path:
    """The tileset's density layers as one GeoJSON file (EPSG:4326), each feature carrying its band's
    zoom range (`"tippecanoe": {"minzoom", "maxzoom"}`), as tippecanoe reads zoom-dependent layers."""
    build = open_build(build_dir)
    tileset = build.manifest.tilesets[name]
    top = _archive_zooms(tileset).stop - 1
    features = []
    for band in tileset.bands:
        for feature in build.layer_frame(band.layer).to_crs("EPSG:4326").to_geo_dict(drop_id=True)["features"]:
            feature["tippecanoe"] = {"minzoom": band.minzoom, "maxzoom": min(band.maxzoom, top)}
            features.append(feature)
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return out


def tippecanoe_archive(tippecanoe: Path, geojson: Path, name: str, out: Path) -> BuildRun:
    """Time a tippecanoe run (wall clock; it uses every core) from the GeoJSON to an MBTiles file."""
    command = [str(tippecanoe), "--output", str(out), "--force", "--quiet", "--layer", name, *TIPPECANOE_SETTINGS, str(geojson)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return BuildRun(time.perf_counter() - started, out)
