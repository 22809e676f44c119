"""PNG tiles drawn from our vector tiles with the MapLibre style's own layers. Pure: bytes in, bytes out.

The geometry is the vector tile's (the browser's: clipped to the tile and its buffer, simplified
for the zoom) and the drawing is the style's (`server/style.py`): every fill and line layer, in
order, with its filter, colour, opacity and width evaluated as MapLibre evaluates them
(`server/style_expressions.py`). Skia draws, antialiased, on a transparent tile, so the PNG lies
over any basemap as the vector layer does; the PNG is a palette PNG (`encode_png`).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import skia
from mapbox_vector_tile.Mapbox import vector_tile_pb2
from PIL import Image

from crimetiles.server.params import TILE_PIXELS
from crimetiles.server.style_expressions import (
    Expression,
    Properties,
    UnsupportedStyle,
    compile_expression,
    parse_color,
    with_field,
)

SCALES = (1, 2)
MOVE_TO, LINE_TO = 1, 2
POLYGON_TYPE = 3
"""Geometry command ids and the polygon geometry type of vector_tile.proto (spec 4.3)."""
DRAWN_TYPES = ("fill", "line")
"""Style layer types the renderer draws; layers of other types (symbols, backgrounds) are left out."""
Ring = list[tuple[float, float]]
MAX_PALETTE = 256
MAX_FLATS = 64
FLAT_SAMPLE_STEP = 7
"""Every 7th pixel (a prime step: no alignment with rows) is looked at to find a tile's flat colours."""
FLAT_MIN_PIXELS = 128
"""A colour covering this many pixels (a legend swatch of 16 x 16, any area's fill) is kept exactly."""


@dataclass(frozen=True)
class DrawLayer:
    """One style layer as the renderer draws it: a fill or a line of the features of
    `source_layer` that `filter` keeps, its colour, opacity and (lines) width in CSS pixels."""

    kind: str
    source_layer: str
    filter: Expression
    color: Expression
    opacity: Expression
    width: Expression
    minzoom: float
    maxzoom: float


@dataclass(frozen=True)
class Feature:
    properties: Properties
    rings: list[Ring]
    """Polygon rings in tile units (y down), exterior and holes alike: drawn even-odd."""


def draw_layers(style: dict[str, Any], year: int | None) -> tuple[DrawLayer, ...]:
    """The fill and line layers of a style (`server/style.py`), drawn for `year` (None: all
    years): as the page shows a year, each field the style's filters read for all years
    (`crimetiles:year-fields`, else `crimetiles:field`) swapped for that year's."""
    metadata = style["metadata"]
    swaps = [(field, year_field(field, year)) for field in metadata.get("crimetiles:year-fields", [metadata["crimetiles:field"]])]
    layers = []
    for layer in style["layers"]:
        if layer["type"] in DRAWN_TYPES and layer.get("layout", {}).get("visibility", "visible") == "visible":
            layer_filter = layer.get("filter", True)
            for field, its_year in swaps:
                layer_filter = with_field(layer_filter, field, its_year)
            layers.append(draw_layer({**layer, "filter": layer_filter}))
    return tuple(layers)


def year_field(field: str, year: int | None) -> str:
    """A per-year field's name as the build writes it (`artifact/fields.py`): `violent_per_sqmi`
    for all years, `violent_per_sqmi_2014` for one."""
    return field if year is None else f"{field}_{year}"


def draw_layer(layer: dict[str, Any]) -> DrawLayer:
    """A fill or line layer of a MapLibre style (JSON) as the renderer draws it."""
    kind, paint = layer["type"], layer.get("paint", {})
    known = {f"{kind}-color", f"{kind}-opacity", "line-width"}
    unknown = set(paint) - known - {"fill-antialias"}
    if unknown:
        raise UnsupportedStyle(f"the raster renderer does not draw {sorted(unknown)} of layer {layer['id']!r}")
    return DrawLayer(
        kind=kind,
        source_layer=layer["source-layer"],
        filter=compile_expression(layer.get("filter", True)),
        color=compile_expression(paint.get(f"{kind}-color", "#000000")),
        opacity=compile_expression(paint.get(f"{kind}-opacity", 1)),
        width=compile_expression(paint.get("line-width", 1)),
        minzoom=layer.get("minzoom", 0),
        maxzoom=layer.get("maxzoom", 24),
    )


def decode_polygons(tile: bytes) -> dict[str, tuple[int, list[Feature]]]:
    """The polygon features of a gzip-compressed (or plain) vector tile, by layer: the layer's
    extent and its features, rings in tile units."""
    raw = gzip.decompress(tile) if tile[:2] == b"\x1f\x8b" else tile
    message = vector_tile_pb2.tile()
    message.ParseFromString(raw)
    layers = {}
    for layer in message.layers:
        values = [_value(value) for value in layer.values]
        keys = list(layer.keys)
        features = [
            Feature(
                {keys[key]: values[value] for key, value in zip(feature.tags[::2], feature.tags[1::2], strict=True)},
                _rings(list(feature.geometry)),
            )
            for feature in layer.features
            if feature.type == POLYGON_TYPE
        ]
        layers[layer.name] = (layer.extent, features)
    return layers


def _value(value: Any) -> Any:
    (_, typed), *_ = value.ListFields()
    return typed


def _rings(geometry: list[int]) -> list[Ring]:
    """Rings of a polygon's geometry commands (MoveTo, LineTo, ClosePath; zigzag deltas)."""
    rings: list[Ring] = []
    x = y = 0
    i = 0
    while i < len(geometry):
        command, count = geometry[i] & 7, geometry[i] >> 3
        i += 1
        if command == MOVE_TO or command == LINE_TO:
            if command == MOVE_TO:
                rings.append([])
            ring = rings[-1]
            for _ in range(count):
                dx, dy = geometry[i], geometry[i + 1]
                x += (dx >> 1) ^ -(dx & 1)
                y += (dy >> 1) ^ -(dy & 1)
                ring.append((x, y))
                i += 2
    return rings


def render_png(tile: bytes | None, layers: tuple[DrawLayer, ...], zoom: int, scale: int) -> bytes:
    """The PNG of vector tile `tile` (None: empty) at `zoom`, `TILE_PIXELS * scale` pixels a side."""
    if not tile:
        return empty_png(scale)
    size = TILE_PIXELS * scale
    surface = float_surface(size, size)
    draw_tile(surface.getCanvas(), tile, layers, zoom, size, scale)
    return encode_png(unpremultiplied(surface))


def float_surface(width: int, height: int) -> skia.Surface:
    """A transparent surface in half floats (see `unpremultiplied`)."""
    return skia.Surface.MakeRaster(skia.ImageInfo.Make(width, height, skia.kRGBA_F16_ColorType, skia.kPremul_AlphaType))


def draw_tile(canvas: skia.Canvas, tile: bytes, layers: tuple[DrawLayer, ...], zoom: float, size: float, scale: float) -> None:
    """Draw vector tile `tile` over the square (0, 0)-(size, size) of `canvas`, its line widths at
    `zoom` times `scale` (device pixels per CSS pixel)."""
    sources = decode_polygons(tile)
    paths: dict[str, list[tuple[Properties, skia.Path]]] = {}
    for layer in layers:
        if not layer.minzoom <= zoom < layer.maxzoom or layer.source_layer not in sources:
            continue
        extent, features = sources[layer.source_layer]
        if layer.source_layer not in paths:
            paths[layer.source_layer] = [(feature.properties, _path(feature.rings, size / extent)) for feature in features]
        _draw(canvas, layer, paths[layer.source_layer], zoom, scale)


def unpremultiplied(surface: skia.Surface) -> np.ndarray:
    """The surface's RGBA bytes, unpremultiplied. Drawn in half floats: 8-bit premultiplied pixels
    would lose a level of each colour under the fills' opacity (253 * 0.8 comes back as 252)."""
    return surface.makeImageSnapshot().toarray(colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType)


def _path(rings: list[Ring], pixels_per_unit: float) -> skia.Path:
    path = skia.Path()
    path.setFillType(skia.PathFillType.kEvenOdd)
    for ring in rings:
        path.addPoly([(x * pixels_per_unit, y * pixels_per_unit) for x, y in ring], True)
    return path


def _draw(canvas: skia.Canvas, layer: DrawLayer, features: list[tuple[Properties, skia.Path]], zoom: float, scale: float) -> None:
    paint = skia.Paint(AntiAlias=True)
    if layer.kind == "line":
        paint.setStyle(skia.Paint.kStroke_Style)
    for properties, path in features:
        if not layer.filter(properties, zoom):
            continue
        red, green, blue, alpha = parse_color(layer.color(properties, zoom))
        paint.setColor4f(skia.Color4f(red / 255, green / 255, blue / 255, alpha * layer.opacity(properties, zoom)))
        if layer.kind == "line":
            paint.setStrokeWidth(layer.width(properties, zoom) * scale)
        canvas.drawPath(path, paint)


def encode_png(pixels: np.ndarray) -> bytes:
    """RGBA pixels (height x width x 4, unpremultiplied) as a palette PNG, about 2.5 times smaller
    than RGBA: the tile's flat colours (`flat_colours`) exact, its other colours (antialiased
    edges) in Pillow's fast octree palette, no dithering."""
    colours = pixels.reshape(-1, 4).view(np.uint32).ravel()
    flats = flat_colours(colours)
    quantized = Image.fromarray(pixels, "RGBA").quantize(
        MAX_PALETTE - len(flats), method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    shades = np.array(quantized.getpalette("RGBA"), np.uint8).reshape(-1, 4)[: MAX_PALETTE - len(flats)]
    indices = np.asarray(quantized).ravel().copy()
    for offset, colour in enumerate(flats):
        indices[colours == colour] = len(shades) + offset
    palette = np.concatenate([shades, flats.view(np.uint8).reshape(-1, 4)])
    used = np.bincount(indices, minlength=len(palette)) > 0
    indices = (np.cumsum(used) - 1).astype(np.uint8)[indices]  # only the colours used, in order
    palette = palette[used]
    image = Image.fromarray(indices.reshape(pixels.shape[:2]), "P")
    image.putpalette(palette[:, :3].tobytes(), "RGB")
    image.info["transparency"] = palette[:, 3].tobytes()
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=9)
    return out.getvalue()


def flat_colours(colours: np.ndarray) -> np.ndarray:
    """The colours (RGBA as uint32) of about `FLAT_MIN_PIXELS` pixels or more, judged on every
    `FLAT_SAMPLE_STEP`th pixel: the areas' fills and the legend's swatches, drawn exactly; the
    `MAX_FLATS` most common of them."""
    values, counts = np.unique(colours[::FLAT_SAMPLE_STEP], return_counts=True)
    flat = counts * FLAT_SAMPLE_STEP >= FLAT_MIN_PIXELS
    return values[flat][np.argsort(-counts[flat], kind="stable")][:MAX_FLATS]


@lru_cache(maxsize=len(SCALES))
def empty_png(scale: int) -> bytes:
    """A transparent tile: what a tile without features is (clients of raster tiles expect an image)."""
    size = TILE_PIXELS * scale
    return encode_png(np.zeros((size, size, 4), np.uint8))
