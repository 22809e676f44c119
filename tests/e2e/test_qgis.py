"""QGIS (Debian's python3-qgis, 3.22) draws our choropleth: from the .qlr file a user drags onto
it (the layer loaded from the file, every year or one), from the style URL added by hand, and
from the WMTS capabilities (a PNG tile layer, every year or one)."""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import pytest
import requests

from tests.e2e.conftest import ARTIFACTS
from tests.system_python import run_json, system_python_with

SCRIPT = Path(__file__).with_name("qgis_render.py")
ZERO_GREY = "#a8a8a8"
YLORRD_5 = ("#ffffcc", "#fed976", "#fc6e33", "#e31a1c", "#800026")
"""ColorBrewer YlOrRd, 5 classes (colorbrewer2.org): the classes above 0 of a 4-break legend."""
FILL_OPACITY = 0.8
UNSTABLE_WASH = 0.5
"""White at this opacity over an unstable area (a count below 20): its class colour, paler."""
UNSTABLE_MARK = "Unstable: fewer than 20 incidents, a wide 95 % interval (drawn paler)"
IMAGE_WIDTH = 600
MIN_PIXELS_FROM_EDGE = 6
"""Sample only points this far inside their polygon: outlines and antialiasing stay clear."""


@pytest.fixture(scope="module")
def qgis_python() -> str:
    return system_python_with("qgis.core", "python3-qgis")


def render(python: str, live_url: str, tmp_path: Path, name: str, **request) -> dict:
    ARTIFACTS.mkdir(exist_ok=True)
    request = {"base": live_url, "tileset": "tracts", "png": str(ARTIFACTS / f"qgis-{name}.png"), **request}
    env = {**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}  # a fresh QGIS profile and cache
    return run_json([python, str(SCRIPT), json.dumps(request)], env=env)


def download_qlr(live_url: str, tmp_path: Path, query: str = "") -> Path:
    response = requests.get(f"{live_url}/qgis/tracts.qlr{query}", timeout=10)
    assert response.status_code == 200
    path = tmp_path / f"tracts{query.replace('?', '-').replace('=', '')}.qlr"
    path.write_bytes(response.content)
    return path


class Scene:
    """Tracts over Durham in EPSG:3857, an image whose aspect matches the extent (so QGIS draws
    exactly that extent), and each tract's interior point on the image's pixel grid."""

    def __init__(self, build: Path) -> None:
        self.tracts = gpd.read_parquet(build / "layers" / "tracts.parquet").to_crs("EPSG:3857")
        xmin, ymin, xmax, ymax = self.tracts.total_bounds
        pad = 0.03 * (xmax - xmin)
        xmin, ymin, xmax = xmin - pad, ymin - pad, xmax + pad
        height = round(IMAGE_WIDTH * (ymax + pad - ymin) / (xmax - xmin))
        self.metres_per_pixel = (xmax - xmin) / IMAGE_WIDTH
        self.extent = [xmin, ymin, xmax, ymin + height * self.metres_per_pixel]
        self.size = [IMAGE_WIDTH, height]
        points = self.tracts.geometry.representative_point()
        self.pixels = [
            [int((p.x - self.extent[0]) / self.metres_per_pixel), int((self.extent[3] - p.y) / self.metres_per_pixel)]
            for p in points
        ]
        self.inside_px = self.tracts.geometry.boundary.distance(points) / self.metres_per_pixel


def class_colour(value: float, breaks: list[float]) -> str:
    """The legend colour of `value`: grey for exactly 0, else the YlOrRd class its breaks put it in."""
    return ZERO_GREY if value == 0 else YLORRD_5[bisect.bisect_right(breaks, value)]


def drawn_over_white(colour: str, unstable: bool = False) -> tuple[int, ...]:
    """The pixel a fill of `colour` at `FILL_OPACITY` gives on the white background, washed with
    white at `UNSTABLE_WASH` if `unstable`."""
    drawn = [FILL_OPACITY * int(colour[i : i + 2], 16) + (1 - FILL_OPACITY) * 255 for i in (1, 3, 5)]
    wash = UNSTABLE_WASH if unstable else 0.0
    return tuple(round(wash * 255 + (1 - wash) * value) for value in drawn)


def rgb(name: str) -> tuple[int, ...]:
    return tuple(int(name[i : i + 2], 16) for i in (1, 3, 5))


@pytest.fixture(scope="module")
def scene(durham_build) -> Scene:
    return Scene(durham_build)


@pytest.fixture(scope="module")
def breaks(durham_build) -> list[float]:
    values = json.loads((durham_build / "manifest.json").read_text())["tilesets"]["tracts"]["class_breaks"]["values"]
    assert len(values) == len(YLORRD_5) - 1
    return values


@pytest.fixture(scope="module")
def sampled(scene, breaks) -> list[int]:
    """Tracts well inside their outline whose class differs between all years and 2014."""
    rows = [
        i
        for i, tract in enumerate(scene.tracts.itertuples())
        if scene.inside_px.iloc[i] >= MIN_PIXELS_FROM_EDGE
        and class_colour(tract.violent_per_sqmi, breaks) != class_colour(tract.violent_per_sqmi_2014, breaks)
    ]
    assert len(rows) >= 4
    return rows


def assert_drawn_in_class_colours(seen: dict, scene: Scene, rows: list[int], field: str, breaks: list[float], flag: str) -> None:
    assert seen["visible_extent"] == pytest.approx(scene.extent, abs=scene.metres_per_pixel / 2)
    for row, drawn in zip(rows, seen["colours"], strict=True):
        tract = scene.tracts.iloc[row]
        expected = drawn_over_white(class_colour(tract[field], breaks), bool(tract[flag]))
        assert max(abs(a - b) for a, b in zip(rgb(drawn), expected, strict=True)) <= 4, (tract["id"], field, drawn, expected)


@pytest.mark.parametrize(
    "query, field, flag",
    [("", "violent_per_sqmi", "unstable"), ("?year=2014", "violent_per_sqmi_2014", "unstable_2014")],
    ids=["all-years", "2014"],
)
def test_qgis_draws_the_choropleth_from_the_qlr_file(qgis_python, live_url, tmp_path, scene, breaks, sampled, query, field, flag):
    """Each sampled tract in its class colour, paler where its count (of all years or 2014) is
    below 20: some of them are, in 2014."""
    qlr = download_qlr(live_url, tmp_path, query)
    pixels = [scene.pixels[row] for row in sampled]
    name = f"qlr-tracts{query.replace('?year=', '-')}"
    seen = render(qgis_python, live_url, tmp_path, name, qlr=str(qlr), extent=scene.extent, size=scene.size, pixels=pixels)
    assert seen["qlr_loaded"]
    (layer,) = seen["layers"]
    assert layer["valid"] and layer["source"].endswith("/tiles/tracts/{z}/{x}/{y}.mvt&zmax=14&zmin=0")
    assert [style[0] for style in layer["styles"]] == [
        "0",
        "under 3.8",
        "3.8 – 13",
        "13 – 39",
        "39 – 77",
        "77 or more",
        UNSTABLE_MARK,
        "outline",
    ]
    assert layer["styles"][2][1] == f'"{field}" >= 3.8 AND "{field}" < 13.0'
    suppressed = flag.replace("unstable", "suppressed")
    assert layer["styles"][-2][1:] == [f'"{flag}" = TRUE AND "{suppressed}" IS NOT TRUE', "#ffffff", UNSTABLE_WASH]
    assert layer["labels"] == [["name", 13]]
    assert seen["labels_drawn"] == []  # names show from zoom 13, never over the overview's colours
    assert_drawn_in_class_colours(seen, scene, sampled, field, breaks, flag)
    assert any(scene.tracts.iloc[row][flag] for row in sampled) == (flag == "unstable_2014")  # one drawn paler


@pytest.mark.parametrize(
    ("layer", "field", "flag"),
    [("tracts", "violent_per_sqmi", "unstable"), ("tracts-2014", "violent_per_sqmi_2014", "unstable_2014")],
)
def test_qgis_draws_the_choropleth_from_the_wmts_layer(
    qgis_python, live_url, tmp_path, scene, breaks, sampled, layer, field, flag
):
    """The WMTS layer's PNG tiles: each sampled tract in its class colour, paler where unstable."""
    pixels = [scene.pixels[row] for row in sampled]
    seen = render(
        qgis_python,
        live_url,
        tmp_path,
        f"wmts-{layer}",
        qlr=None,
        wmts=layer,
        extent=scene.extent,
        size=scene.size,
        pixels=pixels,
    )
    (described,) = seen["layers"]
    assert described["valid"] and described["crs"] == "EPSG:3857", described
    assert_drawn_in_class_colours(seen, scene, sampled, field, breaks, flag)


def test_qgis_labels_tracts_with_their_names_when_zoomed_in(qgis_python, live_url, tmp_path, scene):
    """At 8 m a pixel (zoom 14) QGIS places the names of the tracts in view (the overview, at
    zoom 10 or 11, has none: see above)."""
    qlr = download_qlr(live_url, tmp_path)
    row = int(scene.inside_px.idxmax())
    point = scene.tracts.geometry.iloc[row].representative_point()
    half = 200 * 8
    extent = [point.x - half, point.y - half, point.x + half, point.y + half]
    close = render(qgis_python, live_url, tmp_path, "qlr-labels", qlr=str(qlr), extent=extent, size=[400, 400], pixels=[])
    assert scene.tracts["name"].iloc[row] in close["labels_drawn"]
    assert set(close["labels_drawn"]) <= set(scene.tracts["name"])


def test_qgis_draws_the_choropleth_from_the_style_url(qgis_python, live_url, tmp_path, scene):
    seen = render(qgis_python, live_url, tmp_path, "tracts", qlr=None, extent=scene.extent, size=scene.size, pixels=[])
    (layer,) = seen["layers"]
    assert layer["valid"] and seen["style_loaded"], seen
    assert [name for name, *_ in layer["styles"]] == [*(f"tracts-class-{i}" for i in range(6)), "tracts-unstable", "tracts-line"]
    assert layer["styles"][2][1] == '("violent_per_sqmi" >= 3.8) AND ("violent_per_sqmi" < 13)'
    assert layer["styles"][-3][1] == '"violent_per_sqmi" >= 77'
    assert [colour for _, _, colour, _ in layer["styles"][:-2]] == [ZERO_GREY, *YLORRD_5]
    assert layer["styles"][-2][1:] == ['("unstable" IS TRUE) AND ("suppressed" IS NOT TRUE)', "#ffffff", 0.5]
    # the fills are drawn: the red end of the YlOrRd ramp shows (outlines alone are grey)
    assert any(red - green > 100 for red, green, _ in map(rgb, seen["all_colours"]))


def test_qlr_for_a_year_styles_that_years_field_without_the_all_years_style_url(client):
    response = client.get("/qgis/tracts.qlr?year=2014", base_url="http://maps.test")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="crimetiles-tracts-2014.qlr"'
    layer = ElementTree.fromstring(response.data).find("maplayers/maplayer")
    assert layer.findtext("layername") == "Violent crimes per sq mi in 2014: Census tracts"
    assert layer.findtext("datasource") == ("type=xyz&url=http://maps.test/tiles/tracts/{z}/{x}/{y}.mvt&zmax=14&zmin=0")
    expressions = [style.get("expression") for style in layer.iterfind("renderer/styles/style")]
    assert expressions[0] == '"violent_per_sqmi_2014" = 0'
    assert expressions[-3] == '"violent_per_sqmi_2014" >= 77.0'
    assert expressions[-2] == '"unstable_2014" = TRUE AND "suppressed_2014" IS NOT TRUE'  # drawn paler
    assert expressions[-1] == ""  # the outlines
    all_years = client.get("/qgis/tracts.qlr?year=all", base_url="http://maps.test")
    assert all_years.data == client.get("/qgis/tracts.qlr", base_url="http://maps.test").data


@pytest.mark.parametrize("year", ["2011", "2014.0", "latest"])
def test_qlr_for_an_unknown_year_is_a_json_400(client, year):
    response = client.get(f"/qgis/tracts.qlr?year={year}")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"year {year!r} is not in this build (years: 2012, 2013, 2014, 2015, 2016, or all)",
        "status": 400,
    }
