"""Low-zoom tiles look like the exact layer: a view of thousands of polygons under a pixel each,
pictured from the tiles (pixel dust, `artifact/mvt.py`) and from the same layer's exact geometry,
has the same colours and the same coverage, block by block.

The pictures are drawn without antialiasing, each pixel the colour of the polygon under its
centre: the rule pixel dust follows. (Antialiased, the exact layer of sub-pixel polygons is drawn
partly transparent where neighbours share a pixel, each covering a part of it over the other: it
is no reference to compare with.)
"""

from __future__ import annotations

import mercantile
import numpy as np
import pandas as pd
import pytest
import shapely
import skia

from crimetiles.artifact.manifest import ClassBreaks, Provenance, Tileset, ZoomBand
from crimetiles.artifact.mvt import TILE_EXTENT, LayerTiler
from crimetiles.server.raster import DrawLayer, decode_polygons, draw_layers
from crimetiles.server.style import style
from crimetiles.server.style_expressions import parse_color

PIXELS = 512
"""A tile's pixels a side, as MapLibre draws vector tiles."""
TILE = mercantile.Tile(72, 100, 8)
REGION_UNITS = (256, 3840)
"""The layer covers this span of `TILE`'s units both ways: 448 pixels at zoom 8, 56 at 5, 28 at 4."""
CELLS = 16_000
"""Polygons of 0.8 pixels on average at zoom 6, whose bounds are under a pixel both ways for 19 %
of them there, 98 % at zoom 5 and all at zoom 4."""
BLOCK = 4
"""Pixels a side of the blocks whose mean colours are compared."""


@pytest.fixture(scope="module")
def layer() -> tuple[np.ndarray, pd.DataFrame, tuple[DrawLayer, ...]]:
    """Voronoi cells of seeded random points over the region (Web Mercator metres), their
    densities (a smooth field times noise, a tenth of them 0) and the served style's fills
    for them (quintile breaks)."""
    rng = np.random.default_rng(5)
    west, _, east, north = mercantile.xy_bounds(TILE)
    unit = (east - west) / TILE_EXTENT
    low, high = REGION_UNITS
    region = shapely.box(west + low * unit, north - high * unit, west + high * unit, north - low * unit)
    x0, y0, x1, y1 = region.bounds
    seeds = rng.uniform((x0, y0), (x1, y1), (CELLS, 2))
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region)), region
    )
    u, v = ((shapely.get_coordinates(shapely.centroid(cells)) - (x0, y0)) / (x1 - x0)).T
    density = np.round(50 * (1.2 + np.sin(6 * u) * np.cos(5 * v)) * rng.lognormal(0, 0.3, len(cells)), 1)
    density[rng.random(len(cells)) < 0.1] = 0
    breaks = tuple(float(value) for value in np.quantile(density[density > 0], [0.2, 0.4, 0.6, 0.8]))
    tileset = Tileset("cells", "Cells", 0, 14, (ZoomBand("cells", 0, 14),), ClassBreaks("quantile", breaks), None)
    fills = tuple(layer for layer in draw_layers(style(tileset, "tiles.json", Provenance()), None) if layer.kind == "fill")
    return cells, pd.DataFrame({"id": np.arange(len(cells)), "violent_per_sqmi": density}), fills


def picture(tiler: LayerTiler, tile: mercantile.Tile, fills: tuple[DrawLayer, ...]) -> np.ndarray:
    """The tile drawn without antialiasing, opaque, each feature in its class's colour (RGBA)."""
    surface = skia.Surface(PIXELS, PIXELS)
    canvas = surface.getCanvas()
    data = tiler.encode(tile)
    extent, features = decode_polygons(data)[tiler.name] if data else (TILE_EXTENT, [])
    paint = skia.Paint(AntiAlias=False)
    for feature in features:
        paint.setColor(skia.Color(*class_colour(feature.properties, tile.z, fills)))
        path = skia.Path()
        path.setFillType(skia.PathFillType.kEvenOdd)
        for ring in feature.rings:
            path.addPoly([(x * PIXELS / extent, y * PIXELS / extent) for x, y in ring], True)
        canvas.drawPath(path, paint)
    return surface.makeImageSnapshot().toarray(colorType=skia.kRGBA_8888_ColorType)


def point_sampled(cells: np.ndarray, properties: pd.DataFrame, tile: mercantile.Tile, fills: tuple[DrawLayer, ...]) -> np.ndarray:
    """The exact layer as an un-antialiased rasteriser draws it, from its geometry, not from tiles:
    each pixel of `tile` opaque in the colour of the polygon under its centre (RGBA)."""
    west, _, east, north = mercantile.xy_bounds(tile)
    centres = (np.arange(PIXELS) + 0.5) * (east - west) / PIXELS
    x, y = np.meshgrid(west + centres, north - centres)
    pixel, cell = shapely.STRtree(cells).query(shapely.points(x.ravel(), y.ravel()), predicate="within")
    colours = np.array([(*class_colour(row, tile.z, fills), 255) for row in properties.to_dict("records")], np.uint8)
    image = np.zeros((PIXELS * PIXELS, 4), np.uint8)
    image[pixel] = colours[cell]
    return image.reshape(PIXELS, PIXELS, 4)


def class_colour(properties: dict, zoom: int, fills: tuple[DrawLayer, ...]) -> tuple[int, int, int]:
    (fill,) = [fill for fill in fills if fill.filter(properties, zoom)]
    return parse_color(fill.color(properties, zoom))[:3]


def region_pixels(tile: mercantile.Tile, image: np.ndarray) -> np.ndarray:
    """The pixels of `image` (of `tile`) inside the layer's region, a pixel in from its edges."""
    scale = 2 ** (TILE.z - tile.z)
    first = [(TILE.x - tile.x * scale) * TILE_EXTENT, (TILE.y - tile.y * scale) * TILE_EXTENT]
    (left, right), (top, bottom) = ([(offset + edge) / scale * PIXELS / TILE_EXTENT for edge in REGION_UNITS] for offset in first)
    return image[int(top) + 1 : int(bottom) - 1, int(left) + 1 : int(right) - 1]


def block_colours(pixels: np.ndarray) -> np.ndarray:
    """Mean colour over white (0-255 a channel) of each `BLOCK` x `BLOCK` block of `pixels`."""
    height, width = (size // BLOCK * BLOCK for size in pixels.shape[:2])
    alpha = pixels[:height, :width, 3:] / 255
    over_white = pixels[:height, :width, :3] * alpha + 255 * (1 - alpha)
    return over_white.reshape(height // BLOCK, BLOCK, width // BLOCK, BLOCK, 3).mean(axis=(1, 3))


def pictures(layer, zoom: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The region at `zoom` drawn from the tiles (pixel dust), from the tiles of the exact
    geometry (a tiler whose zooms are all exact) and point-sampled from the geometry itself."""
    cells, properties, fills = layer
    tile = mercantile.parent(TILE, zoom=zoom)
    dusted = picture(LayerTiler("cells", cells, properties, simplify_maxzoom=14), tile, fills)
    exact = picture(LayerTiler("cells", cells, properties, simplify_maxzoom=0), tile, fills)
    return tuple(region_pixels(tile, image) for image in (dusted, exact, point_sampled(cells, properties, tile, fills)))


@pytest.mark.parametrize(
    ("zoom", "same_share"),
    [
        (4, 1.0),  # every polygon is dust
        (5, 0.99),  # 98 % of them: measured 0.992 (the others simplified to a tile unit)
    ],
)
def test_where_polygons_are_dust_each_pixel_is_the_polygon_under_its_centre(layer, zoom, same_share):
    """The exact tiles are farther off (0.797 of the pixels the same at zoom 4, 0.903 at 5): they
    snap polygons a few tile units wide to the unit grid."""
    dusted, _, truth = pictures(layer, zoom)
    assert (dusted == truth).all(axis=2).mean() >= same_share


@pytest.mark.parametrize(
    ("zoom", "mean_bound", "p95_bound", "uncovered_bound"),
    [
        (4, 8.5, 22.0, 0.0),  # measured 7.48, 20.10, 0
        (5, 6.2, 18.0, 0.01),  # 5.35, 15.60, 0.007
        (6, 6.2, 23.0, 0.055),  # 5.42, 20.17, 0.047: gaps of the simplified polygons, 81 % of them
    ],
)
def test_a_low_zoom_view_has_the_exact_tiles_colours_and_coverage(layer, zoom, mean_bound, p95_bound, uncovered_bound):
    """Block colours (over white, 0-255 a channel) apart by at most the bounds, mean and 95th
    percentile, and at most that share of the region left undrawn, which the exact tiles cover."""
    dusted, exact, _ = pictures(layer, zoom)
    assert (exact[..., 3] == 255).all()
    apart = np.abs(block_colours(dusted) - block_colours(exact)).mean(axis=2)
    assert apart.mean() <= mean_bound
    assert np.percentile(apart, 95) <= p95_bound
    assert (dusted[..., 3] == 0).mean() <= uncovered_bound
