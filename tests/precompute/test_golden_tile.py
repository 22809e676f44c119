"""A decoded tile compared with a golden file checked into the repo (tippecanoe's practice):
any change to clipping, buffering, simplification, rounding or properties shows up as a diff.

Regenerate after an intended change: CRIMETILES_UPDATE_GOLDEN=1 pytest tests/precompute/test_golden_tile.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
from shapely.geometry import Polygon, box

from crimetiles.artifact.mvt import layer_tiler

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "durham_squares_z12.json"
TILE = mercantile.Tile(1150, 1608, 12)


def _layer() -> gpd.GeoDataFrame:
    """Two adjacent squares and an L-shaped polygon with a hole, straddling the tile's east edge."""
    west, south, east, north = mercantile.bounds(TILE)
    step = (east - west) / 8
    square_a = box(west + step, south + step, west + 3 * step, south + 3 * step)
    square_b = box(west + 3 * step, south + step, west + 5 * step, south + 3 * step)
    ell = Polygon(
        [
            (east - step, north - step),
            (east + 2 * step, north - step),
            (east + 2 * step, north - 4 * step),
            (east - 3 * step, north - 4 * step),
            (east - 3 * step, north - 3 * step),
            (east - step, north - 3 * step),
        ],
        holes=[
            [
                (east - 0.5 * step, north - 1.5 * step),
                (east - 0.5 * step, north - 2.5 * step),
                (east + 0.5 * step, north - 2.5 * step),
                (east + 0.5 * step, north - 1.5 * step),
            ]
        ],
    )
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "ell"], "name": ["A", "B", "Ell"], "violent_count": [3, 0, 12], "violent_per_sqmi": [1.5, 0.0, 4.125]},
        geometry=[square_a, square_b, ell],
        crs="EPSG:4326",
    )


def test_decoded_tile_matches_golden_file():
    """Compared as JSON text, so that a density of 0.0 written as the integer 0 shows up too."""
    data = layer_tiler("squares", _layer(), simplify_maxzoom=14).encode(TILE)
    decoded = json.dumps(mapbox_vector_tile.decode(data), indent=1, sort_keys=True) + "\n"
    if os.environ.get("CRIMETILES_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(decoded)
    assert decoded == GOLDEN.read_text()
