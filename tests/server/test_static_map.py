"""`/map.png`: a picture of a view, decoded: its areas in their class colours over white, the
legend's swatches in the same colours, a title, a selected area outlined, and every bad query a 400."""

from __future__ import annotations

import bisect
import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image

from crimetiles.server.static_map import legend_swatches

ZERO_GREY = (0xA8, 0xA8, 0xA8)
YLORRD_5 = ((0xFF, 0xFF, 0xCC), (0xFE, 0xD9, 0x76), (0xFC, 0x6E, 0x33), (0xE3, 0x1A, 0x1C), (0x80, 0x00, 0x26))
"""ColorBrewer YlOrRd, 5 classes (colorbrewer2.org)."""
WIDTH, HEIGHT = 1600, 1200
BBOX = (-78.96, 35.95, -78.84, 36.04)
"""Central Durham, in degrees."""
HIGHLIGHT = (0x08, 0x30, 0x6B)
CLASSES = 6
"""The legend's classes: 0, then the five of YlOrRd; the marks' rows follow."""


def over_white(colour: tuple[int, int, int], unstable: bool = False) -> np.ndarray:
    """A fill of `colour` at the style's opacity (0.8) on white; where `unstable`, the style's
    white wash (0.5) over it."""
    filled = np.array([0.8 * channel + 0.2 * 255 for channel in colour])
    return np.round(0.5 * filled + 0.5 * 255 if unstable else filled)


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., :3].astype(int)


def picture(client, **query) -> np.ndarray:
    response = client.get("/map.png", query_string=query)
    assert response.status_code == 200 and response.content_type == "image/png", response.data[:200]
    return decoded(response.data)


@pytest.fixture(scope="module")
def tracts(durham_build: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "tracts.parquet").to_crs(3857)


@pytest.fixture(scope="module")
def breaks(durham_build: Path) -> list[float]:
    return json.loads((durham_build / "manifest.json").read_text())["tilesets"]["tracts"]["class_breaks"]["values"]


def view_pixels(tracts: gpd.GeoDataFrame) -> tuple[list[int], list[tuple[int, int]]]:
    """Rows and pixels of the tracts' interior points in the middle of the picture (clear of the
    title, legend and credits), 4 px or more inside their tract, for `BBOX` fitted to the image."""
    import mercantile

    left, bottom = mercantile.xy(BBOX[0], BBOX[1])
    right, top = mercantile.xy(BBOX[2], BBOX[3])
    per_pixel = max((right - left) / WIDTH, (top - bottom) / HEIGHT)
    x0, y0 = (left + right) / 2 - WIDTH * per_pixel / 2, (bottom + top) / 2 + HEIGHT * per_pixel / 2
    points = tracts.geometry.representative_point()
    inside = tracts.geometry.boundary.distance(points) / per_pixel
    rows, pixels = [], []
    for row, point in enumerate(points):
        column, line = int((point.x - x0) / per_pixel), int((y0 - point.y) / per_pixel)
        if inside.iloc[row] >= 4 and 0.25 * WIDTH < column < 0.75 * WIDTH and 0.2 * HEIGHT < line < 0.75 * HEIGHT:
            rows.append(row)
            pixels.append((column, line))
    return rows, pixels


@pytest.mark.parametrize(
    ("year", "field", "flag"), [("", "violent_per_sqmi", "unstable"), ("2014", "violent_per_sqmi_2014", "unstable_2014")]
)
def test_areas_are_drawn_in_their_class_colours(client, tracts, breaks, year, field, flag):
    """Each area in its class colour over white, paler where its count is under 20 (within 4
    levels there: the wash is blended at the renderer's precision)."""
    bbox = ",".join(map(str, BBOX))
    image = picture(client, layer="tracts", year=year, bbox=bbox, width=WIDTH, height=HEIGHT)
    assert image.shape == (HEIGHT, WIDTH, 3)
    rows, pixels = view_pixels(tracts)
    assert len(rows) >= 10
    for row, (column, line) in zip(rows, pixels, strict=True):
        value = tracts[field].iloc[row]
        unstable = bool(tracts[flag].iloc[row])
        expected = over_white(ZERO_GREY if value == 0 else YLORRD_5[bisect.bisect_right(breaks, value)], unstable)
        tolerance = 4 if unstable else 1
        assert np.abs(image[line, column] - expected).max() <= tolerance, (tracts["id"].iloc[row], image[line, column], expected)


def test_the_legend_shows_each_class_colour_and_the_title_is_written(client):
    image = picture(client, layer="tracts", width=800, height=600)
    for (x, y), colour in zip(legend_swatches(CLASSES + 1, 600)[:CLASSES], (ZERO_GREY, *YLORRD_5), strict=True):
        assert np.abs(image[y + 8, x + 8] - over_white(colour)).max() <= 1
    title_area = image[12:70, 12:400]
    assert (title_area.sum(axis=2) < 3 * 0x60).sum() > 200  # dark text on the white panel


def test_the_legend_explains_the_marks_unstable_paler_and_withheld_white(client):
    """Hex withholds small counts and marks unstable ones: two rows after the classes, each swatch
    drawn as the map draws the mark, with its label written beside it; tracts withhold nothing."""
    image = picture(client, layer="hex", width=900, height=600)
    *_, (ux, uy), (wx, wy) = legend_swatches(CLASSES + 2, 600)
    assert np.abs(image[uy + 8, ux + 8] - over_white(YLORRD_5[-1], unstable=True)).max() <= 1
    assert tuple(image[wy + 8, wx + 8]) == (255, 255, 255)
    assert image[wy + 8, wx].max() < 200  # outlined, as a white area is on the map
    for y in (uy, wy):
        label = image[y : y + 16, ux + 24 : ux + 300]
        assert (label.sum(axis=2) < 3 * 0x60).sum() > 100  # dark text on the panel
    tracts = picture(client, layer="tracts", width=900, height=600)
    *_, (lx, ly) = legend_swatches(CLASSES + 1, 600)
    assert np.abs(tracts[ly + 8, lx + 8] - over_white(YLORRD_5[-1], unstable=True)).max() <= 1
    above = legend_swatches(CLASSES + 2, 600)[0]
    assert tuple(tracts[above[1] + 8, above[0] + 8]) != tuple(image[above[1] + 8, above[0] + 8])  # one row fewer


def test_a_selected_area_is_outlined_as_the_page_does(client, tracts):
    selected = tracts["id"].iloc[view_pixels(tracts)[0][0]]
    query = {"layer": "tracts", "bbox": ",".join(map(str, BBOX)), "width": 800, "height": 600}
    plain, outlined = picture(client, **query), picture(client, **query, selected=selected)
    highlight = lambda image: (np.abs(image - np.array(HIGHLIGHT)).max(axis=2) <= 2).sum()  # noqa: E731
    assert highlight(plain) == 0
    assert highlight(outlined) > 100
    second = tracts["id"].iloc[view_pixels(tracts)[0][-1]]
    both = picture(client, **query, selected=f"{selected},{second}")
    assert (
        highlight(both) > highlight(outlined) + 50 and highlight(both) > highlight(picture(client, **query, selected=second)) + 50
    )


def test_center_and_zoom_give_the_view_and_the_size_is_the_one_asked(client):
    image = picture(client, layer="blockgroups", center="-78.9,35.99", zoom="13.5", width="640", height="480")
    assert image.shape == (480, 640, 3)
    assert len({tuple(pixel) for pixel in image[200:280, 280:360].reshape(-1, 3)}) > 3  # areas drawn in the middle


def test_the_picture_has_an_etag_and_answers_304(client):
    first = client.get("/map.png?layer=tracts&width=300&height=200")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get("/map.png?layer=tracts&width=300&height=200", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/map.png?layer=tracts&width=301&height=200").headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("width=4096", "width must be a whole number of pixels from 1 to 2048, got '4096'"),
        ("height=0", "height must be a whole number of pixels from 1 to 2048, got '0'"),
        ("bbox=1,2,3", "bbox must be 4 comma-separated numbers, got '1,2,3'"),
        (
            "bbox=10,0,5,1",
            "bbox must be west,south,east,north in degrees with west < east and south < north, got (10.0, 0.0, 5.0, 1.0)",
        ),
        ("center=-78.9,35.99&zoom=30", "center must be lon,lat in degrees and zoom 0..22, got (-78.9, 35.99) and 30.0"),
        ("center=-78.9,35.99", "zoom must be a number, got ''"),
        ("bbox=a,b,c,d", "bbox must be a number, got 'a'"),
        ("bbox=nan,0,1,1", "bbox must be a finite number, got 'nan'"),
        ("layer=counties", "no layer 'counties' (layers: blockgroups, tracts, neighborhoods, hex)"),
        ("year=1999", "year '1999' is not in this build (years: 2012, 2013, 2014, 2015, 2016, or all)"),
    ],
)
def test_bad_queries_are_400(client, query, message):
    response = client.get(f"/map.png?{query}")
    assert (response.status_code, response.get_json()) == (400, {"error": message, "status": 400})
