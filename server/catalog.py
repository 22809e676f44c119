"""The catalog: every tileset with its documents, every density layer with its downloads.

A pure function of the manifest; `url` turns a path relative to the app's root into what the
document says (the server: an absolute URL under its public base; a static export: the path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crimetiles.artifact.manifest import BuildManifest
from crimetiles.server.wmts import CAPABILITIES_PATH


def raster_tilejson_path(tileset: str) -> str:
    """The TileJSON of a tileset's PNG tiles, relative to the app's root (or a static site's)."""
    return f"tiles/{tileset}/raster.json"


def catalog(manifest: BuildManifest, url: Callable[[str], str], raster: bool = False) -> dict[str, Any]:
    """`raster`: list the PNG tiles' documents too (the server draws them; a static export has none)."""
    tilesets = [
        {"name": name, "title": spec.title, "tilejson": url(f"tiles/{name}.json"), "style": url(f"styles/{name}.json")}
        for name, spec in manifest.tilesets.items()
    ]
    if raster:
        tilesets = [{**entry, "raster_tilejson": url(raster_tilejson_path(entry["name"]))} for entry in tilesets]
    return {
        "build_id": manifest.build_id,
        "years": list(manifest.years),
        **({"wmts": url(CAPABILITIES_PATH)} if raster else {}),
        "tilesets": tilesets,
        "downloads": [
            {
                "layer": name,
                "title": layer.title,
                "csv": url(f"downloads/{name}.csv"),
                "geojson": url(f"downloads/{name}.geojson"),
            }
            for name, layer in manifest.layers.items()
        ],
    }
