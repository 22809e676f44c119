"""A picture of any view of the map (`/map.png`), for articles, slides and print: the choropleth
(or the change view between two years, `server/change_view.py`) drawn from the vector tiles with
the style (`server/raster.py`), on white, with a title, the legend, the attribution and the caveat
line; or bare, the choropleth alone on a transparent background (the pages show it while MapLibre
loads, and draw the rest themselves). No Flask: the route parses the query with
`MapRequest.parse` and sends what `render_map` returns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mercantile
import skia

from crimetiles.artifact.export import parse_year
from crimetiles.artifact.fields import ALL_YEARS, UNSTABLE
from crimetiles.artifact.manifest import BuildManifest
from crimetiles.artifact.mvt import WEB_MERCATOR_WORLD_M
from crimetiles.server.change_view import (
    YearPair,
    change_breaks,
    change_legend,
    change_style,
    change_subtitle,
    layer_changes,
    parse_change,
)
from crimetiles.server.errors import BadMapRequest
from crimetiles.server.params import TILE_PIXELS
from crimetiles.server.raster import DrawLayer, draw_layer, draw_layers, draw_tile, encode_png, float_surface, unpremultiplied
from crimetiles.server.style import UNITS, style
from crimetiles.server.style_expressions import parse_color
from crimetiles.server.tiles import MAX_ZOOM, MercatorBounds, TileService

MAX_SIDE = 2048
"""Largest width or height, pixels."""
DEFAULT_SIZE = (1200, 800)
HIGHLIGHT = {"line-color": "#08306b", "line-width": 3}
"""The page's outline of the selected areas."""
TEXT_COLOR = skia.ColorSetRGB(0x22, 0x22, 0x22)
FONT_SIZE = 14
MARGIN = 12
SWATCH = 16
"""Side of a legend colour swatch, pixels."""
PANEL = skia.Color4f(1, 1, 1, 0.9)


@dataclass(frozen=True)
class MapRequest:
    """What `/map.png` draws: a tileset's density (one year or all) or, when `change` names two
    years, its change view between them (instead of `year`'s density, as on the page), the view
    (Web Mercator bounds, exactly the image's aspect) and the image's size, the selected areas
    (none, one or more), and whether bare: the choropleth alone, transparent, without title,
    legend or credits."""

    tileset: str
    year: int | None
    bounds: MercatorBounds
    width: int
    height: int
    selected: tuple[str, ...]
    bare: bool = False
    change: YearPair | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str], manifest: BuildManifest) -> MapRequest:
        """`layer` (default the first tileset), `year`, `bbox=W,S,E,N` (degrees) or
        `center=LON,LAT&zoom=Z` (default: the build's bounds), `width`, `height` (1..2048,
        default 1200x800), `selected` (area ids, comma-separated as in the page's URL), `bare`
        (`1`: the choropleth alone; `0`, the default: with its title, legend and credits), `change`
        (`2014-2016`: the change view, as the page's `?change=`). Raises `BadMapRequest` or
        `InvalidYear`."""
        tileset = args.get("layer") or next(iter(manifest.tilesets))
        if tileset not in manifest.tilesets:
            raise BadMapRequest(f"no layer {tileset!r} (layers: {', '.join(manifest.tilesets)})")
        year = parse_year(args.get("year"), manifest.years)
        width, height = (
            _side(args.get(name), name, default) for name, default in zip(("width", "height"), DEFAULT_SIZE, strict=True)
        )
        if args.get("center"):
            bounds = _around(_numbers(args["center"], "center", 2), _number(args.get("zoom", ""), "zoom"), width, height)
        else:
            box = _numbers(args["bbox"], "bbox", 4) if args.get("bbox") else manifest.bounds
            bounds = _fitted(box, width, height)
        selected = tuple(area for area in args.get("selected", "").split(",") if area)
        bare = args.get("bare", "0")
        if bare not in ("0", "1"):
            raise BadMapRequest(f"bare must be 0 or 1, got {bare!r}")
        change = _change(args.get("change"), manifest.years)
        return cls(tileset, None if year == ALL_YEARS else year, bounds, width, height, selected, bare == "1", change)

    @property
    def zoom(self) -> float:
        """The view's zoom: the web map zoom whose 256 px tiles show it at this scale."""
        return math.log2(self.width * WEB_MERCATOR_WORLD_M / (self.bounds[2] - self.bounds[0]) / TILE_PIXELS)


def _change(text: str | None, years: tuple[int, ...]) -> YearPair | None:
    """The pair of `change=` (None when not asked for), as the page reads it; anything the page
    would ignore is a `BadMapRequest` here (a picture of another view than the one asked for would mislead)."""
    if not text:
        return None
    pair = parse_change(text, years)
    if pair is None:
        raise BadMapRequest(
            f"change must be two different years of this build, the earlier first, as FIRST-SECOND "
            f"(years: {', '.join(map(str, years))}), got {text!r}"
        )
    return pair


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadMapRequest(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise BadMapRequest(f"{name} must be a finite number, got {text!r}")
    return value


def _numbers(text: str, name: str, count: int) -> tuple[float, ...]:
    parts = text.split(",")
    if len(parts) != count:
        raise BadMapRequest(f"{name} must be {count} comma-separated numbers, got {text!r}")
    return tuple(_number(part, name) for part in parts)


def _side(text: str | None, name: str, default: int) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SIDE):
        raise BadMapRequest(f"{name} must be a whole number of pixels from 1 to {MAX_SIDE}, got {text!r}")
    return int(text)


def _fitted(box: tuple[float, ...], width: int, height: int) -> MercatorBounds:
    """Web Mercator bounds of the `width` x `height` view centred on `box` (degrees) showing all of it."""
    west, south, east, north = box
    if not (-180 <= west < east <= 180 and -85.05 <= south < north <= 85.05):
        raise BadMapRequest(f"bbox must be west,south,east,north in degrees with west < east and south < north, got {box}")
    left, bottom = mercantile.xy(west, south)
    right, top = mercantile.xy(east, north)
    metres_per_pixel = max((right - left) / width, (top - bottom) / height)
    return _view((left + right) / 2, (bottom + top) / 2, metres_per_pixel, width, height)


def _around(center: tuple[float, ...], zoom: float, width: int, height: int) -> MercatorBounds:
    lon, lat = center
    if not (-180 <= lon <= 180 and -85.05 <= lat <= 85.05 and 0 <= zoom <= MAX_ZOOM):
        raise BadMapRequest(f"center must be lon,lat in degrees and zoom 0..{MAX_ZOOM}, got {center} and {zoom}")
    x, y = mercantile.xy(lon, lat)
    return _view(x, y, WEB_MERCATOR_WORLD_M / (TILE_PIXELS * 2**zoom), width, height)


def _view(x: float, y: float, metres_per_pixel: float, width: int, height: int) -> MercatorBounds:
    half_width, half_height = width * metres_per_pixel / 2, height * metres_per_pixel / 2
    return (x - half_width, y - half_height, x + half_width, y + half_height)


def render_map(service: TileService, request: MapRequest) -> bytes:
    """The PNG of `request`: the choropleth on white, the title, the legend, the attribution and
    caveat; bare, the choropleth alone on a transparent background."""
    surface = float_surface(request.width, request.height)
    canvas = surface.getCanvas()
    if not request.bare:
        canvas.clear(skia.ColorWHITE)
    document = style(service.manifest.tilesets[request.tileset], "", service.manifest.provenance)
    if request.change:
        view = _change_view(service, request, request.change, document)
    else:
        view = _density_view(service, request, document)
    _draw_choropleth(canvas, service, request, view.layers)
    if not request.bare:
        _draw_furniture(canvas, service.manifest, request, view, _swatch_outline(document))
    return encode_png(unpremultiplied(surface))


@dataclass(frozen=True)
class DrawnView:
    """What the picture draws: the style's layers, the legend's rows and the line under the title."""

    layers: tuple[DrawLayer, ...]
    legend: list[LegendRow]
    subtitle: str


def _density_view(service: TileService, request: MapRequest, document: dict[str, Any]) -> DrawnView:
    """The tileset's classes (its style, `document`) of the density of `request.year` (None: all years)."""
    when = "all years, average per year" if request.year is None else str(request.year)
    legend = legend_rows(document)
    return DrawnView(service.draw_layers(request.tileset, request.year), legend, f"{UNITS}, {when}")


def _change_view(service: TileService, request: MapRequest, pair: YearPair, document: dict[str, Any]) -> DrawnView:
    """The change view of `pair`, as the page draws it over the tileset's style (`document`): the
    breaks and verdicts from the summary of the density layer drawn at the picture's zoom (for the
    hex grid, its resolution)."""
    layer = service.manifest.tilesets[request.tileset].band_for_zoom(_tile_zoom(request)).layer
    if layer not in service.summaries:
        raise BadMapRequest("the change view needs the layer summaries, which this build lacks (rebuild it)")
    changes = layer_changes(json.loads(service.summaries.read(layer)), pair)
    breaks = change_breaks(changes.differences)
    legend = [LegendRow(row.label, tuple(_fill(*fill) for fill in row.fills)) for row in change_legend(document, breaks, pair)]
    return DrawnView(draw_layers(change_style(document, breaks, changes, pair), None), legend, change_subtitle(pair))


def _draw_furniture(
    canvas: skia.Canvas, manifest: BuildManifest, request: MapRequest, view: DrawnView, outline: skia.Color4f
) -> None:
    """The title, the legend (its swatches outlined in `outline`), the caveat and the attribution
    over the choropleth."""
    _draw_title(canvas, [f"{manifest.provenance.title}: {manifest.tilesets[request.tileset].title}", view.subtitle])
    legend = _draw_legend(canvas, view.legend, outline, request.height)
    credits = [line for line in (manifest.provenance.caveat, manifest.provenance.attribution) if line]
    _draw_credits(canvas, credits, request.width, request.height, legend)


def _tile_zoom(request: MapRequest) -> int:
    """The zoom of the tiles the picture draws: the floor of MapLibre's zoom (one below
    `request.zoom`: its tiles are 512 px), within the served zooms."""
    return min(max(math.floor(request.zoom - 1), 0), MAX_ZOOM)


def _draw_choropleth(canvas: skia.Canvas, service: TileService, request: MapRequest, layers: tuple[DrawLayer, ...]) -> None:
    """The view as MapLibre draws it at this scale: the tiles of `_tile_zoom` with the style's
    `layers` evaluated at MapLibre's zoom (a hex grid shows the resolution the page shows), each
    tile clipped to its own square (tiles overlap by their buffer: translucent fills drawn twice
    would show seams)."""
    if request.selected:
        source_layer = layers[0].source_layer
        highlight = {"id": "selected", "type": "line", "source-layer": source_layer, "paint": HIGHLIGHT}
        chosen = ["any", *(["==", ["get", "id"], area] for area in request.selected)]
        layers = (*layers, draw_layer({**highlight, "filter": chosen}))
    left, bottom, right, top = request.bounds
    pixels_per_metre = request.width / (right - left)
    map_zoom = request.zoom - 1
    zoom = _tile_zoom(request)
    west, south = mercantile.lnglat(max(left, -WEB_MERCATOR_WORLD_M / 2), max(bottom, -WEB_MERCATOR_WORLD_M / 2))
    east, north = mercantile.lnglat(min(right, WEB_MERCATOR_WORLD_M / 2), min(top, WEB_MERCATOR_WORLD_M / 2))
    for tile in mercantile.tiles(west, south, east, north, zooms=zoom):
        data = service.tile(request.tileset, tile.z, tile.x, tile.y)
        if not data:
            continue
        tile_left, _, tile_right, tile_top = mercantile.xy_bounds(tile)
        size = (tile_right - tile_left) * pixels_per_metre
        canvas.save()
        canvas.translate((tile_left - left) * pixels_per_metre, (top - tile_top) * pixels_per_metre)
        canvas.clipRect(skia.Rect.MakeWH(size, size))
        draw_tile(canvas, data, layers, max(map_zoom, 0), size, 1)
        canvas.restore()


def _font(bold: bool = False) -> skia.Font:
    """DejaVu Sans (Debian's fonts-dejavu-core; the Docker image installs it), else the system's default."""
    typeface = skia.Typeface("DejaVu Sans", skia.FontStyle.Bold() if bold else skia.FontStyle.Normal())
    return skia.Font(typeface, FONT_SIZE)


def _text_paint() -> skia.Paint:
    return skia.Paint(AntiAlias=True, Color=TEXT_COLOR)


def _panel(canvas: skia.Canvas, rect: skia.Rect) -> None:
    canvas.drawRect(rect, skia.Paint(Color4f=PANEL))


def _draw_title(canvas: skia.Canvas, lines: list[str]) -> None:
    fonts = [_font(bold=True), _font()]
    width = max(font.measureText(line) for font, line in zip(fonts, lines, strict=True))
    line_height = FONT_SIZE * 1.4
    _panel(canvas, skia.Rect.MakeXYWH(MARGIN, MARGIN, width + 2 * MARGIN, line_height * len(lines) + MARGIN))
    for index, (font, line) in enumerate(zip(fonts, lines, strict=True)):
        canvas.drawString(line, 2 * MARGIN, MARGIN + line_height * (index + 1), font, _text_paint())


@dataclass(frozen=True)
class LegendRow:
    """A row of the picture's legend: its label and the fills its swatch is drawn with, in order
    over white, as the map draws them."""

    label: str
    fills: tuple[skia.Color4f, ...]


def _fill(color: str, opacity: float) -> skia.Color4f:
    red, green, blue, alpha = parse_color(color)
    return skia.Color4f(red / 255, green / 255, blue / 255, alpha * opacity)


def legend_rows(document: dict[str, Any]) -> list[LegendRow]:
    """The style's legend (`crimetiles:legend`: each class colour at the fills' opacity), then its
    marks (`crimetiles:marks`) as the page's legend shows them: the unstable wash over the top
    class colour (the class shows, paler), a withheld area in its own colour (white)."""
    fill_opacity = document["layers"][0]["paint"]["fill-opacity"]
    classes = [LegendRow(row["label"], (_fill(row["color"], fill_opacity),)) for row in document["metadata"]["crimetiles:legend"]]
    rows = list(classes)
    for mark in document["metadata"].get("crimetiles:marks", []):
        own = _fill(mark["color"], mark["opacity"])
        rows.append(LegendRow(mark["label"], (*classes[-1].fills, own) if mark["mark"] == UNSTABLE else (own,)))
    return rows


def _swatch_outline(document: dict[str, Any]) -> skia.Color4f:
    """The areas' outline (the style's line layer), drawn round each swatch: a white one shows."""
    paint = next(layer for layer in document["layers"] if layer["type"] == "line")["paint"]
    return _fill(paint["line-color"], paint.get("line-opacity", 1))


def legend_swatches(count: int, image_height: int) -> list[tuple[int, int]]:
    """The top-left pixel of each of the `count` legend rows' swatch: a column at the bottom left,
    0 at the top."""
    line_height = SWATCH + 6
    top = image_height - MARGIN - count * line_height - MARGIN
    return [(2 * MARGIN, int(top + MARGIN / 2 + index * line_height)) for index in range(count)]


def _draw_legend(canvas: skia.Canvas, rows: list[LegendRow], outline: skia.Color4f, image_height: int) -> skia.Rect:
    """Each row's swatch, its fills drawn over white and outlined as the areas are, and its label;
    returns the legend's panel."""
    font = _font()
    swatches = legend_swatches(len(rows), image_height)
    width = SWATCH + MARGIN + max(font.measureText(row.label) for row in rows)
    panel = skia.Rect.MakeXYWH(MARGIN, swatches[0][1] - MARGIN / 2, width + 2 * MARGIN, len(rows) * (SWATCH + 6) + MARGIN)
    _panel(canvas, panel)
    border = skia.Paint(Color4f=outline, Style=skia.Paint.kStroke_Style, StrokeWidth=1)
    for row, (x, y) in zip(rows, swatches, strict=True):
        square = skia.Rect.MakeXYWH(x, y, SWATCH, SWATCH)
        canvas.drawRect(square, skia.Paint(Color=skia.ColorWHITE))
        for fill in row.fills:
            canvas.drawRect(square, skia.Paint(Color4f=fill))
        canvas.drawRect(square.makeInset(0.5, 0.5), border)
        canvas.drawString(row.label, x + SWATCH + MARGIN / 2, y + SWATCH - 3, font, _text_paint())
    return panel


def _draw_credits(canvas: skia.Canvas, lines: list[str], image_width: int, image_height: int, legend: skia.Rect) -> None:
    """The caveat and the attribution, right-aligned at the bottom, or above the legend where
    they would cover it (a narrow picture)."""
    if not lines:
        return
    font = _font()
    line_height = FONT_SIZE * 1.4
    width = max(font.measureText(line) for line in lines)
    left = image_width - MARGIN - width - 2 * MARGIN
    bottom = image_height - MARGIN if left > legend.right() else legend.top() - MARGIN / 2
    top = bottom - line_height * len(lines) - MARGIN / 2
    _panel(canvas, skia.Rect.MakeXYWH(left, top, width + 2 * MARGIN, line_height * len(lines) + MARGIN / 2))
    for index, line in enumerate(lines):
        canvas.drawString(line, left + MARGIN, top + line_height * (index + 1) - 2, font, _text_paint())
