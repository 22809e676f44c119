"""The raster renderer on hand-made vector tiles: it draws what a style says, as MapLibre evaluates
it, and refuses what it cannot draw."""

from __future__ import annotations

import copy
import io

import mapbox_vector_tile
import numpy as np
import pytest
from PIL import Image

from crimetiles.server.raster import draw_layers, render_png
from crimetiles.server.style_expressions import UnsupportedStyle, compile_expression

SQUARE = "POLYGON ((1024 1024, 3072 1024, 3072 3072, 1024 3072, 1024 1024))"
"""The middle quarter of a 4096-unit tile (y up, as mapbox-vector-tile encodes by default)."""


def square_tile(**properties) -> bytes:
    return mapbox_vector_tile.encode([{"name": "areas", "features": [{"geometry": SQUARE, "properties": properties}]}])


def area_style(fill_color: str = "#fd8d3c") -> dict:
    """A style as `server/style.py` writes them: class fills on the density field, then outlines."""
    line_width = ["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 1.0]
    return {
        "metadata": {"crimetiles:field": "violent_per_sqmi"},
        "layers": [
            {"id": "zero", "type": "fill", "source-layer": "areas", "filter": ["==", ["get", "violent_per_sqmi"], 0],
             "paint": {"fill-color": "#dcdcdc", "fill-opacity": 0.8}},
            {"id": "above", "type": "fill", "source-layer": "areas", "filter": [">", ["get", "violent_per_sqmi"], 0],
             "paint": {"fill-color": fill_color, "fill-opacity": 0.8}},
            {"id": "line", "type": "line", "source-layer": "areas",
             "paint": {"line-color": "#4d4d4d", "line-opacity": 0.6, "line-width": line_width}},
        ],
    }  # fmt: skip


def pixels(tile: bytes, style: dict, zoom: int = 14, year: int | None = None, scale: int = 1) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(render_png(tile, draw_layers(style, year), zoom, scale))).convert("RGBA"))


def test_the_style_decides_the_colour():
    tile = square_tile(violent_per_sqmi=5.0, violent_per_sqmi_2014=0)
    assert tuple(pixels(tile, area_style())[128, 128]) == (0xFD, 0x8D, 0x3C, 204)
    assert tuple(pixels(tile, area_style("#123456"))[128, 128]) == (0x12, 0x34, 0x56, 204)
    assert tuple(pixels(tile, area_style(), year=2014)[128, 128]) == (0xDC, 0xDC, 0xDC, 204)
    assert tuple(pixels(tile, area_style())[10, 10]) == (0, 0, 0, 0)  # outside the area: transparent


def test_the_outline_width_follows_the_zoom_and_the_scale():
    tile = square_tile(violent_per_sqmi=5.0)

    def ink(zoom: int, scale: int = 1) -> int:
        """How much darker than the fill the tile's drawn pixels are, summed: the outline's width x length."""
        drawn = pixels(tile, area_style(), zoom, scale=scale).astype(float)
        alpha = drawn[..., 3:] / 255
        over_white = (drawn[..., :3] * alpha + 255 * (1 - alpha)).sum(axis=2)
        fill_over_white = sum(0.8 * channel + 0.2 * 255 for channel in (0xFD, 0x8D, 0x3C))
        return int(np.clip(fill_over_white - over_white, 0, None).sum())

    assert 0 < 3 * ink(8) < ink(14)  # 0.2 px wide at z8, 1 px at z14
    assert ink(14, scale=2) > 3 * ink(14)  # twice as long, twice as wide


def test_a_style_the_renderer_cannot_draw_is_refused():
    style = area_style()
    unknown_expression = copy.deepcopy(style)
    unknown_expression["layers"][1]["filter"] = ["within", {"type": "Polygon"}]
    with pytest.raises(UnsupportedStyle, match="within"):
        draw_layers(unknown_expression, None)
    pattern = copy.deepcopy(style)
    pattern["layers"][1]["paint"]["fill-pattern"] = "hatch"
    with pytest.raises(UnsupportedStyle, match="fill-pattern"):
        draw_layers(pattern, None)


@pytest.mark.parametrize(
    ("expression", "properties", "expected"),
    [
        ([">", ["get", "v"], 0], {}, False),  # a missing value compares false, as in MapLibre
        (["!=", ["get", "v"], 0], {}, True),
        (["all", [">=", ["get", "v"], 3.5], ["<", ["get", "v"], 12]], {"v": 3.5}, True),
        (["case", ["has", "v"], "yes", "no"], {}, "no"),
        (["step", ["get", "v"], "a", 10, "b"], {"v": 10}, "b"),
        (["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 1.0], {}, pytest.approx(0.6)),
        (["-", ["get", "a"], ["get", "b"]], {"a": 2.5, "b": 4}, -1.5),
        (["-", ["get", "a"]], {"a": 2.5}, -2.5),
        (["to-number", ["get", "v"]], {}, 0),  # null is 0
        (["to-number", ["get", "v"]], {"v": "3.25"}, 3.25),
        (["to-number", ["get", "v"]], {"v": True}, 1),
        (["match", ["get", "id"], ["a", "b"], "in", "out"], {"id": "b"}, "in"),
        (["match", ["get", "id"], ["a", "b"], "in", "cd", "cd's", "out"], {"id": "cd"}, "cd's"),  # one label
        (["match", ["get", "id"], ["1"], "in", "out"], {"id": 1}, "out"),  # a number is no string label
        (["match", ["get", "id"], ["a"], "in", "out"], {}, "out"),
    ],
)
def test_expressions_evaluate_as_maplibre_does(expression, properties, expected):
    assert compile_expression(expression)(properties, 11) == expected


def test_every_year_field_the_style_names_is_swapped_for_the_years():
    """A mark drawn over the classes from another per-year field (`crimetiles:year-fields`, as a
    style marking unstable areas lists them) follows the year shown, as the density does."""
    style = area_style()
    style["metadata"]["crimetiles:year-fields"] = ["violent_per_sqmi", "unstable"]
    wash = {"fill-color": "#ffffff", "fill-opacity": 0.5}
    mark = {"id": "unstable", "type": "fill", "source-layer": "areas", "filter": ["==", ["get", "unstable"], True], "paint": wash}
    style["layers"].insert(2, mark)
    tile = square_tile(violent_per_sqmi=5.0, violent_per_sqmi_2014=5.0, unstable=False, unstable_2014=True)
    assert tuple(pixels(tile, style)[128, 128]) == (0xFD, 0x8D, 0x3C, 204)
    washed = pixels(tile, style, year=2014)[128, 128]
    assert tuple(washed[:3]) != (0xFD, 0x8D, 0x3C) and washed[0] >= 0xFD and washed[1] > 0x8D  # paler: towards white
