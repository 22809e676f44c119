"""`/map.png`: a picture of a view, decoded: its areas in their class colours over white, the
legend's swatches in the same colours, a title, a selected area outlined, the change view between
two years as the page draws it, and every bad query a 400."""

from __future__ import annotations

import bisect
import io
import json
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pytest
from PIL import Image
from scipy.stats import binomtest

from crimetiles.artifact.mvt import WEB_MERCATOR_WORLD_M
from crimetiles.server.change_view import YearPair, change_breaks, layer_changes
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
def blockgroups(durham_build: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").to_crs(3857)


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


def test_with_no_query_the_picture_is_1200_by_800(client):
    """README: "default ... 1200x800"."""
    response = client.get("/map.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).size == (1200, 800)


def test_the_picture_has_an_etag_and_answers_304(client):
    first = client.get("/map.png?layer=tracts&width=300&height=200")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get("/map.png?layer=tracts&width=300&height=200", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/map.png?layer=tracts&width=301&height=200").headers["ETag"] != first.headers["ETag"]


CHANGE_REFUSED = (
    "change must be two different years of this build, the earlier first, as FIRST-SECOND (years: 2012, 2013, 2014, 2015, "
    "2016), got %s"
)


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
        *((f"change={text}", CHANGE_REFUSED % repr(text)) for text in ("2016-2014", "2014-2014", "2014-2017", "1999-2016", "x")),
        ("change=2014-2016&layer=tracts&year=2012&bare=2", "bare must be 0 or 1, got '2'"),
    ],
)
def test_bad_queries_are_400(client, query, message):
    response = client.get(f"/map.png?{query}")
    assert (response.status_code, response.get_json()) == (400, {"error": message, "status": 400})


PUOR_7 = (
    (0x54, 0x27, 0x88),
    (0x99, 0x8E, 0xC3),
    (0xD8, 0xDA, 0xEB),
    (0xF7, 0xF7, 0xF7),
    (0xFE, 0xE0, 0xB6),
    (0xF1, 0xA3, 0x40),
    (0xB3, 0x58, 0x06),
)
"""ColorBrewer PuOr, 7 classes (colorbrewer2.org), from the largest fall to the largest rise."""
PAIR = YearPair(2014, 2016)


def washed(colour: np.ndarray) -> np.ndarray:
    """White at 0.6 over `colour`: the change view's wash of no clear change."""
    return np.round(0.4 * colour + 0.6 * 255)


def clear_change(first: int, second: int) -> str:
    """The page's verdict, by scipy's exact test (docs/artifact.md)."""
    if first + second == 0 or binomtest(first, first + second, 0.5).pvalue >= 0.05:
        return "no clear change"
    return "rose" if second > first else "fell"


def summary_breaks(durham_build: Path, layer: str) -> tuple[float, ...]:
    """The breaks of `PAIR` in the layer's summary (the page's: tests/server/test_change_view.py)."""
    summary = json.loads((durham_build / "summaries" / f"{layer}.json").read_text())
    return change_breaks(layer_changes(summary, PAIR).differences)


def test_the_change_view_draws_each_area_in_its_change_class_paler_where_the_change_is_not_clear(
    client, blockgroups, durham_build
):
    """Rises orange, falls purple, by the class of the difference of the two years' densities;
    an area whose change the exact test does not find clear washed white at 0.6 over its class
    colour (within 4 levels: the wash is blended at the renderer's precision)."""
    breaks = summary_breaks(durham_build, "blockgroups")
    assert len(breaks) == 6
    bbox = ",".join(map(str, BBOX))
    image = picture(client, layer="blockgroups", change=PAIR.text, bbox=bbox, width=WIDTH, height=HEIGHT)
    rows, pixels = view_pixels(blockgroups)
    verdicts = set()
    for row, (column, line) in zip(rows, pixels, strict=True):
        area = blockgroups.iloc[row]
        difference = area[f"violent_per_sqmi_{PAIR.year}"] - area[f"violent_per_sqmi_{PAIR.since}"]
        verdict = clear_change(int(area[f"violent_count_{PAIR.since}"]), int(area[f"violent_count_{PAIR.year}"]))
        verdicts.add(verdict)
        expected = over_white(PUOR_7[bisect.bisect_right(breaks, difference)])
        if verdict == "no clear change":
            expected = washed(expected)
        tolerance = 4 if verdict == "no clear change" else 1
        assert np.abs(image[line, column] - expected).max() <= tolerance, (area["id"], verdict, image[line, column], expected)
    assert verdicts == {"rose", "fell", "no clear change"}


def test_the_change_views_legend_shows_its_classes_and_the_wash(client):
    image = picture(client, layer="tracts", change=PAIR.text, width=800, height=600)
    *classes, (ux, uy) = legend_swatches(len(PUOR_7) + 1, 600)
    for (x, y), colour in zip(classes, PUOR_7, strict=True):
        assert np.abs(image[y + 8, x + 8] - over_white(colour)).max() <= 1
    assert np.abs(image[uy + 8, ux + 8] - washed(over_white(PUOR_7[-1]))).max() <= 4


def test_the_change_view_draws_an_area_withheld_in_either_year_as_withheld(client, durham_build):
    """The hex grid withholds small counts: in the bare picture (transparent) a cell withheld in
    2014 or 2016 is the style's withheld white at its opacity (0.8), a cell published in both its
    change class at the same opacity."""
    zoom, width, height = 11.5, 1200, 800  # the tiles of zoom 10: hex7
    lon, lat, _ = json.loads((durham_build / "manifest.json").read_text())["center"]
    cells = gpd.read_parquet(durham_build / "layers" / "hex7.parquet").to_crs(3857)
    query = {"center": f"{lon},{lat}", "zoom": zoom, "width": width, "height": height, "bare": 1}
    response = client.get("/map.png", query_string={"layer": "hex", "change": PAIR.text, **query})
    image = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGBA")).astype(int)
    per_pixel = WEB_MERCATOR_WORLD_M / (256 * 2**zoom)
    x0, y0 = mercantile.xy(lon, lat)
    points = cells.geometry.representative_point()
    inside = cells.geometry.boundary.distance(points) / per_pixel
    breaks, seen = summary_breaks(durham_build, "hex7"), {True: 0, False: 0}
    for (_, cell), point, room in zip(cells.iterrows(), points, inside, strict=True):
        column, line = int(width / 2 + (point.x - x0) / per_pixel), int(height / 2 - (point.y - y0) / per_pixel)
        if room < 4 or not (0 <= column < width and 0 <= line < height):
            continue
        withheld = bool(cell[f"suppressed_{PAIR.since}"] or cell[f"suppressed_{PAIR.year}"])
        if withheld:
            expected = (255, 255, 255)
        else:
            difference = cell[f"violent_per_sqmi_{PAIR.year}"] - cell[f"violent_per_sqmi_{PAIR.since}"]
            verdict = clear_change(int(cell[f"violent_count_{PAIR.since}"]), int(cell[f"violent_count_{PAIR.year}"]))
            if verdict == "no clear change":
                continue  # the wash over a translucent fill: checked on white above
            expected = PUOR_7[bisect.bisect_right(breaks, difference)]
        assert np.abs(image[line, column] - (*expected, round(0.8 * 255))).max() <= 1, (cell["id"], withheld, image[line, column])
        seen[withheld] += 1
    assert seen[True] >= 5 and seen[False] >= 1, seen


def test_the_change_views_title_names_its_pair(client):
    """The title's second line names the two years (`change in incidents per sq mi · 2014 to
    2016`): the title's dark text (clear of the map at the build's bounds; its antialiased shades
    vary with the picture's palette) changes with the pair, not with `year`."""

    def title_text(**query: str) -> np.ndarray:
        return picture(client, layer="tracts", width=1200, height=800, **query)[36:56, 20:400].sum(axis=2) < 3 * 0x80

    shown = title_text(change=PAIR.text)
    assert shown.sum() > 100
    assert np.array_equal(shown, title_text(change=PAIR.text, year="2012"))
    assert (shown != title_text(change="2012-2016")).sum() > 10
    assert (shown != title_text(year="2016")).sum() > 100
