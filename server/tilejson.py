"""TileJSON 3.0.0 for a tileset: a pure function of the manifest and the public base URL."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crimetiles.artifact.manifest import BuildManifest, Provenance, Tileset


def tile_url_template(base_url: str, tileset: str) -> str:
    return f"{base_url}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt"


def description(provenance: Provenance) -> str:
    """What the tiles are, for map clients: the build's title, the metric and its caveat."""
    caveat = f" {provenance.caveat}" if provenance.caveat else ""
    return f"{provenance.title}: violent crimes per square mile (incidents reported by police), per year and all years.{caveat}"


def tilejson(manifest: BuildManifest, tileset: Tileset, base_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 with absolute tile URLs under `base_url` (no trailing slash)."""
    return {
        "tilejson": "3.0.0",
        "name": tileset.title,
        "description": description(manifest.provenance),
        "version": "1.0.0",
        "attribution": manifest.provenance.attribution_html(),
        "scheme": "xyz",
        "tiles": [tile_url_template(base_url, tileset.name)],
        "minzoom": tileset.minzoom,
        "maxzoom": tileset.maxzoom,
        "bounds": list(manifest.bounds),
        "center": list(manifest.center),
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
