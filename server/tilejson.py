"""TileJSON 3.0.0 for a tileset: a pure function of the manifest and the public base URL."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crimetiles.artifact.manifest import BuildManifest, Provenance, Tileset
from crimetiles.server.params import TILE_PIXELS
from crimetiles.server.tiles import MAX_ZOOM


def tile_url_template(base_url: str, tileset: str) -> str:
    return f"{base_url}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt"


def description(provenance: Provenance) -> str:
    """What the tiles are, for map clients: the build's title, the metric and its caveat."""
    caveat = f" {provenance.caveat}" if provenance.caveat else ""
    return f"{provenance.title}: violent crimes per square mile (incidents reported by police), per year and all years.{caveat}"


def _tilejson(manifest: BuildManifest, name: str, tiles: str, minzoom: int, maxzoom: int) -> dict[str, Any]:
    """What vector and raster TileJSON share."""
    return {
        "tilejson": "3.0.0",
        "name": name,
        "description": description(manifest.provenance),
        "version": "1.0.0",
        "attribution": manifest.provenance.attribution_html(),
        "scheme": "xyz",
        "tiles": [tiles],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(manifest.bounds),
        "center": list(manifest.center),
    }


def raster_tilejson(manifest: BuildManifest, tileset: Tileset, base_url: str, year: int | None) -> dict[str, Any]:
    """TileJSON 3.0.0 of the tileset's PNG tiles (`"format": "png"`, 256 px; `@2x` URLs for
    512 px) for density in `year` (None: all years). Its `maxzoom` is the server's: PNG tiles are
    drawn at every zoom, so raster clients never stretch a low-zoom image."""
    query = "" if year is None else f"?year={year}"
    when = "all years" if year is None else str(year)
    tiles = f"{base_url}/tiles/{tileset.name}/{{z}}/{{x}}/{{y}}.png{query}"
    document = _tilejson(manifest, f"{tileset.title} ({when})", tiles, tileset.minzoom, MAX_ZOOM)
    return {**document, "format": "png", "tileSize": TILE_PIXELS}


def tilejson(manifest: BuildManifest, tileset: Tileset, base_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 with absolute tile URLs under `base_url` (no trailing slash)."""
    return {
        **_tilejson(manifest, tileset.title, tile_url_template(base_url, tileset.name), tileset.minzoom, tileset.maxzoom),
        "vector_layers": [
            {
                "id": tileset.name,
                "description": tileset.title,
                "minzoom": tileset.minzoom,
                "maxzoom": tileset.maxzoom,
                "fields": dict(manifest.fields),
            }
        ],
        "crimetiles": {
            "build_id": manifest.build_id,
            "years": list(manifest.years),
            "class_breaks": list(tileset.class_breaks.values),
            "bands": [asdict(band) for band in tileset.bands],
            "units": "violent crimes per square mile",
        },
    }
