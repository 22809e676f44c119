"""PNG tiles, cold: time and bytes of crimetiles' Skia renderer against a straightforward Pillow one.

Usage: python benchmarks/raster.py [--build DIR] [--tiles 40] [--json OUT]

On the Durham demo (built in a scratch directory unless `--build` names one), for every zoom
z10-z16 and the block groups tileset, `--tiles` tiles over Durham that hold areas, each drawn
once (cold: not cached; above the archive this includes encoding its vector tile):
  crimetiles: `TileService.png`, the server's own path (Skia, antialiased, palette PNG), on a
              service that has not made the tile's vector tile either;
  pillow:     the same vector tile (then in the tile cache: its encode is not timed again)
              decoded with mapbox-vector-tile and drawn with Pillow's `ImageDraw` (no antialiasing)
              in the style's colours, saved as RGBA PNG, and the same image saved as an optimised
              palette PNG (`quantize`, `optimize=True`).
Prints p50/p99 milliseconds per zoom and mean bytes, and the bytes of crimetiles' own image saved
by Pillow as an optimised palette PNG; record them in RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import tempfile
import time
from pathlib import Path

import mapbox_vector_tile
import mercantile
import numpy as np
from peerlib.demo import build, synth
from PIL import Image, ImageDraw

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.params import TILE_PIXELS
from crimetiles.server.style_expressions import parse_color
from crimetiles.server.tiles import TileService

TILESET = "blockgroups"
ZOOMS = range(10, 17)
DURHAM_BOUNDS = (-79.02, 35.87, -78.70, 36.24)


def tiles_with_areas(service: TileService, zoom: int, count: int, seed: int) -> list[mercantile.Tile]:
    """`count` distinct tiles at `zoom` over Durham whose vector tile holds features."""
    candidates = list(mercantile.tiles(*DURHAM_BOUNDS, zooms=zoom))
    random.Random(seed).shuffle(candidates)
    return [tile for tile in candidates if service.tile(TILESET, zoom, tile.x, tile.y)][:count]


def optimised_palette_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
    return out.getvalue()


def pillow_png(service: TileService, tile: mercantile.Tile) -> tuple[bytes, bytes]:
    """The tile drawn the straightforward way: RGBA PNG, and the same image as an optimised palette PNG."""
    layers = service.draw_layers(TILESET, None)
    vector_tile = gzip.decompress(service.tile(TILESET, tile.z, tile.x, tile.y))
    decoded = mapbox_vector_tile.decode(vector_tile, default_options={"y_coord_down": True})
    layer = decoded[TILESET]
    scale = TILE_PIXELS / layer["extent"]
    image = Image.new("RGBA", (TILE_PIXELS, TILE_PIXELS))
    draw = ImageDraw.Draw(image)
    for feature in layer["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        fill = next(
            (style for style in layers if style.kind == "fill" and style.filter(feature["properties"], tile.z)),
            None,
        )
        red, green, blue, _ = parse_color(fill.color(feature["properties"], tile.z)) if fill else (0, 0, 0, 0)
        for polygon in polygons:
            for ring in polygon:
                points = [(x * scale, y * scale) for x, y in ring]
                draw.polygon(points, fill=(red, green, blue, 204) if fill else None, outline=(77, 77, 77, 153))
    rgba = io.BytesIO()
    image.save(rgba, "PNG")
    return rgba.getvalue(), optimised_palette_png(image)


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def measure(build: Path, count: int) -> dict:
    probe, service = (
        create_app(ServerConfig(build_dir=build, reload_interval=0)).extensions["crimetiles.live"].service for _ in range(2)
    )
    service.png(TILESET, 9, 143, 201, 1, None)  # loads Skia once, untimed
    service.tile(TILESET, 16, 0, 0)  # and the density layers
    zooms = {}
    for zoom in ZOOMS:
        tiles = tiles_with_areas(probe, zoom, count, seed=zoom)
        ours = [timed(lambda tile=tile: service.png(TILESET, tile.z, tile.x, tile.y, 1, None)) for tile in tiles]
        pillow = [timed(lambda tile=tile: pillow_png(service, tile)) for tile in tiles]
        zooms[zoom] = {
            "tiles": len(tiles),
            "crimetiles_ms": percentiles([ms for ms, _ in ours]),
            "pillow_ms": percentiles([ms for ms, _ in pillow]),
            "crimetiles_bytes": round(float(np.mean([len(png) for _, png in ours]))),
            "crimetiles_as_pillow_palette_bytes": round(
                float(np.mean([len(optimised_palette_png(Image.open(io.BytesIO(png)).convert("RGBA"))) for _, png in ours]))
            ),
            "pillow_rgba_bytes": round(float(np.mean([len(pngs[0]) for _, pngs in pillow]))),
            "pillow_palette_bytes": round(float(np.mean([len(pngs[1]) for _, pngs in pillow]))),
        }
    return {"tileset": TILESET, "zooms": zooms}


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 2), "p99": round(float(np.percentile(values, 99)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, help="a Durham demo build to use (default: build one in a scratch directory)")
    parser.add_argument("--tiles", type=int, default=40, help="tiles per zoom (default 40)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        report = measure(args.build or build(synth(Path(workdir) / "incidents"), Path(workdir) / "build"), args.tiles)
    print("zoom  tiles  crimetiles p50/p99 ms  pillow p50/p99 ms  bytes: crimetiles", end="")
    print("  (its image as Pillow palette)  pillow RGBA  pillow palette")
    for zoom, row in report["zooms"].items():
        ours, theirs = row["crimetiles_ms"], row["pillow_ms"]
        print(
            f"z{zoom:<4} {row['tiles']:>5}  {ours['p50']:>8.1f} / {ours['p99']:<8.1f}"
            f"  {theirs['p50']:>7.1f} / {theirs['p99']:<7.1f}"
            f"  {row['crimetiles_bytes']:>17}  {row['crimetiles_as_pillow_palette_bytes']:>29}"
            f"  {row['pillow_rgba_bytes']:>11}  {row['pillow_palette_bytes']:>14}"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
