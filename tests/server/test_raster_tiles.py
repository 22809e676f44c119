"""PNG tiles: the choropleth of the MapLibre style, drawn from the vector tiles, through the same
tile answers (fast path, ETag, 304, CORS, Cache-Control) and the same byte-bounded cache.

Colours are checked against literal ColorBrewer YlOrRd values (colorbrewer2.org), not the
project's palette, at the interior points of many areas, for all years and one year, at every zoom
from the archive's (z10-12) to on-demand ones (z13-16).
"""

from __future__ import annotations

import bisect
import io
import json
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pytest
from flask import Flask
from PIL import Image

from crimetiles.artifact.fields import DENSITY, UNSTABLE
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.server.apps import metric_value, tile_answers

ZERO_GREY = (0xA8, 0xA8, 0xA8)
YLORRD_5 = ((0xFF, 0xFF, 0xCC), (0xFE, 0xD9, 0x76), (0xFC, 0x6E, 0x33), (0xE3, 0x1A, 0x1C), (0x80, 0x00, 0x26))
"""ColorBrewer YlOrRd, 5 classes: the classes above 0 of the Durham build's 4-break legends."""
FILL_ALPHA = round(0.8 * 255)
"""The style's fill opacity, on a transparent tile."""
WASH_TOLERANCE = 4
"""Levels per channel between an unstable area's pixel and its wash composited in 8-bit sRGB by
`area_pixel` (Skia blends the two layers at its own precision: 3 levels apart at most here)."""
UNSTABLE_WASH_ALPHA = 0.5
"""The opacity of the white the style draws over an unstable area (fewer than 20 incidents)."""
COLOUR_TOLERANCE = 0
"""Levels per channel: an area's colour is the style's exactly (the README says so)."""
MIN_PIXELS_FROM_EDGE = 4
"""Interior points this far inside their area: outlines and antialiased edges stay clear."""
ZOOMS = range(10, 17)
POINTS_PER_ZOOM = 40
ARCHIVE_PNG = "/tiles/tracts/12/1150/1608.png"
ON_DEMAND_PNG = "/tiles/tracts/14/4601/6433.png"


def decoded(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGBA"))


def class_colour(value: float, breaks: list[float]) -> tuple[int, int, int]:
    return ZERO_GREY if value == 0 else YLORRD_5[bisect.bisect_right(breaks, value)]


def area_pixel(value: float, unstable: bool, breaks: list[float]) -> np.ndarray:
    """The RGBA an area is drawn in on a transparent tile: its class colour at the fill opacity,
    and for an unstable area the white wash over it (half opacity), composited ("over")."""
    colour, fill = np.array(class_colour(value, breaks), dtype=float), FILL_ALPHA / 255
    if not unstable:
        return np.array([*colour, FILL_ALPHA])
    alpha = fill + UNSTABLE_WASH_ALPHA * (1 - fill)
    rgb = (colour * fill * (1 - UNSTABLE_WASH_ALPHA) + 255 * UNSTABLE_WASH_ALPHA) / alpha
    return np.array([*rgb, alpha * 255])


def breaks_of(build: Path, tileset: str) -> list[float]:
    values = json.loads((build / "manifest.json").read_text())["tilesets"][tileset]["class_breaks"]["values"]
    assert len(values) == len(YLORRD_5) - 1
    return values


def interior_samples(frame: gpd.GeoDataFrame, zoom: int, scale: int) -> list[tuple[int, mercantile.Tile, int, int]]:
    """(row, tile, pixel column, pixel row) of each area's representative point at `zoom`, for
    areas whose point lies `MIN_PIXELS_FROM_EDGE` pixels inside them, `POINTS_PER_ZOOM` of them."""
    mercator = frame.to_crs(3857)
    points = mercator.geometry.representative_point()
    lonlat = points.to_crs(4326)
    metres_per_pixel = 2 * np.pi * 6378137.0 / (256 * scale * 2**zoom)
    inside = mercator.geometry.boundary.distance(points) / metres_per_pixel >= MIN_PIXELS_FROM_EDGE
    samples = []
    for row in np.flatnonzero(inside.to_numpy()):
        tile = mercantile.tile(lonlat.iloc[row].x, lonlat.iloc[row].y, zoom)
        west, south, east, north = mercantile.xy_bounds(tile)
        size = 256 * scale
        column = int((points.iloc[row].x - west) / (east - west) * size)
        line = int((north - points.iloc[row].y) / (north - south) * size)
        samples.append((int(row), tile, column, line))
    step = max(1, len(samples) // POINTS_PER_ZOOM)
    return samples[::step][:POINTS_PER_ZOOM]


@pytest.fixture(scope="module")
def client(durham_build: Path):
    return create_app(ServerConfig(build_dir=durham_build, reload_interval=0)).test_client()


@pytest.mark.parametrize("tileset", ["blockgroups", "tracts"])
@pytest.mark.parametrize("year", [None, 2014])
def test_areas_are_drawn_in_their_class_colour_at_every_zoom(client, durham_build, tileset, year):
    """Each area in its class colour, paler where unstable: the class colours exactly the style's,
    the paler ones within `WASH_TOLERANCE` of the wash composited over them.
    """
    query, field, unstable = (
        ("", DENSITY, UNSTABLE) if year is None else (f"?year={year}", f"{DENSITY}_{year}", f"{UNSTABLE}_{year}")
    )
    frame = gpd.read_parquet(durham_build / "layers" / f"{tileset}.parquet")
    breaks = breaks_of(durham_build, tileset)
    checked, classes_seen = 0, set()
    for zoom in ZOOMS:
        tiles: dict[mercantile.Tile, np.ndarray] = {}
        for row, tile, column, line in interior_samples(frame, zoom, scale=1):
            if tile not in tiles:
                response = client.get(f"/tiles/{tileset}/{zoom}/{tile.x}/{tile.y}.png{query}")
                assert response.status_code == 200 and response.content_type == "image/png"
                tiles[tile] = decoded(response.data)
                assert tiles[tile].shape == (256, 256, 4)
            washed = bool(frame[unstable].iloc[row])
            expected = area_pixel(frame[field].iloc[row], washed, breaks)
            drawn = tiles[tile][line, column].astype(int)
            tolerance = WASH_TOLERANCE if washed else COLOUR_TOLERANCE
            assert np.abs(drawn[:3] - expected[:3]).max() <= tolerance, (zoom, frame["id"].iloc[row], drawn, expected)
            assert drawn[3] == pytest.approx(expected[3], abs=1)
            checked += 1
            classes_seen.add((class_colour(frame[field].iloc[row], breaks), washed))
    assert checked >= 150
    assert len(classes_seen) >= 6  # the five classes, stable and unstable


def test_a_year_draws_other_classes_than_all_years(client):
    every_year = decoded(client.get(ARCHIVE_PNG).data)
    year_2014 = decoded(client.get(f"{ARCHIVE_PNG}?year=2014").data)
    assert (every_year != year_2014).any()
    assert (decoded(client.get(f"{ARCHIVE_PNG}?year=all").data) == every_year).all()


def test_a_2x_tile_is_the_same_map_at_twice_the_pixels(client, durham_build):
    frame = gpd.read_parquet(durham_build / "layers" / "tracts.parquet")
    breaks = breaks_of(durham_build, "tracts")
    stable = [sample for sample in interior_samples(frame, 13, scale=2) if not frame["unstable"].iloc[sample[0]]]
    for row, tile, column, line in stable[:10]:  # an unstable area is drawn paler (tested on its own)
        response = client.get(f"/tiles/tracts/13/{tile.x}/{tile.y}@2x.png")
        assert response.status_code == 200
        pixels = decoded(response.data)
        assert pixels.shape == (512, 512, 4)
        expected = class_colour(frame["violent_per_sqmi"].iloc[row], breaks)
        assert np.abs(pixels[line, column, :3].astype(int) - expected).max() <= COLOUR_TOLERANCE


def test_outlines_are_drawn_antialiased(client):
    pixels = decoded(client.get(ON_DEMAND_PNG).data)
    colours = {tuple(int(channel) for channel in pixel) for pixel in pixels.reshape(-1, 4)}
    fills = {(*colour, FILL_ALPHA) for colour in (ZERO_GREY, *YLORRD_5)}
    edges = colours - fills
    assert len(edges) > 20  # blends of fills and the grey outline, not two flat colours
    darkest = min(edges, key=lambda colour: sum(colour[:3]))
    assert sum(darkest[:3]) < sum(YLORRD_5[0]) - 150  # the #4d4d4d outline shows


def test_a_tile_without_areas_is_a_transparent_png(client):
    for path in ("/tiles/tracts/12/0/0.png", "/tiles/tracts/15/0/0.png", "/tiles/tracts/15/0/0@2x.png"):
        response = client.get(path)
        assert response.status_code == 200 and response.content_type == "image/png"
        pixels = decoded(response.data)
        assert pixels.shape[0] in (256, 512) and (pixels[..., 3] == 0).all()
        assert len(response.data) < 200


def test_png_tiles_have_the_tile_http_rules(client):
    first = client.get(f"{ON_DEMAND_PNG}?year=2014", headers={"Origin": "https://example.org"})
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["ETag"].endswith('-tracts-14-4601-6433-2014.png"')
    again = client.get(f"{ON_DEMAND_PNG}?year=2014", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(ON_DEMAND_PNG, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    twice = client.get("/tiles/tracts/14/4601/6433@2x.png?year=2014")
    assert twice.headers["ETag"].endswith('-tracts-14-4601-6433@2x-2014.png"')
    preflight = client.options(ON_DEMAND_PNG, headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (f"{ARCHIVE_PNG}?year=1999", 400, "year '1999' is not in this build (years: 2012, 2013, 2014, 2015, 2016, or all)"),
        (
            "/tiles/tracts/12/1150/1608@3x.png",
            400,
            "y must be a non-negative integer in ASCII digits, no leading zero, got '1608@3x'",
        ),
        (
            "/tiles/tracts/12/1150/1608@2x.mvt",
            400,
            "y must be a non-negative integer in ASCII digits, no leading zero, got '1608@2x'",
        ),
        ("/tiles/counties/12/1150/1608.png", 404, "no tileset 'counties' (tilesets: blockgroups, tracts, neighborhoods, hex)"),
        ("/tiles/tracts/23/0/0.png", 404, "zoom 23 is outside 0..22"),
    ],
)
def test_png_refusals(client, path, status, message):
    response = client.get(path)
    assert (response.status_code, response.json) == (status, {"error": message, "status": status})


def test_archive_pngs_are_kept_ready_and_on_demand_ones_in_the_byte_bounded_cache(durham_build):
    app: Flask = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, cache_bytes=64 * 1024))
    client = app.test_client()
    answers = tile_answers(app)
    service = answers.service
    archive = client.get(ARCHIVE_PNG)
    assert answers.ready.get(ARCHIVE_PNG, None).body == archive.data
    assert answers.ready.get(ARCHIVE_PNG, "2014") is None
    on_demand = client.get(f"{ON_DEMAND_PNG}?year=2014")
    assert answers.ready.get(ON_DEMAND_PNG, "2014") is None
    assert service.cache[("tracts", 14, 4601, 6433, 2014, 1)] == on_demand.data
    renders, hits = service.stats.renders, service.stats.cache_hits
    assert client.get(f"{ON_DEMAND_PNG}?year=2014").data == on_demand.data
    assert service.stats.renders == renders  # the second request read the cache,
    assert service.stats.cache_hits == hits + 1  # the PNG's entry alone, not its vector tile's
    for x in range(4590, 4610):  # more PNGs than 64 KiB hold: the oldest leave
        client.get(f"/tiles/tracts/14/{x}/6433@2x.png")
    assert service.cache.currsize <= 64 * 1024
    assert ("tracts", 14, 4601, 6433, 2014, 1) not in service.cache


def test_metrics_count_png_drawing_apart_from_encoding(durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0))
    client = app.test_client()
    client.get(ARCHIVE_PNG)
    client.get(ON_DEMAND_PNG)
    client.get(ON_DEMAND_PNG)
    exposition = client.get("/metrics").get_data(as_text=True)
    assert metric_value(exposition, "crimetiles_tile_renders_total") == 2
    assert metric_value(exposition, "crimetiles_tile_encodes_total") == 1  # the on-demand PNG's vector tile
    assert metric_value(exposition, "crimetiles_tile_render_seconds_total") > 0
    assert metric_value(exposition, "crimetiles_png_tile_requests_total") == 3
    client.get("/tiles/tracts/13/2300/3216.mvt")
    assert metric_value(client.get("/metrics").get_data(as_text=True), "crimetiles_png_tile_requests_total") == 3


def test_the_openapi_document_describes_the_png_tiles_and_every_year_it_allows_is_drawn(client):
    document = client.get("/openapi.json").get_json()
    for path, pixels in (("/tiles/{tileset}/{z}/{x}/{y}.png", 256), ("/tiles/{tileset}/{z}/{x}/{y}@2x.png", 512)):
        operation = document["paths"][path]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["image/png"]
        (year,) = [parameter for parameter in operation["parameters"] if parameter["name"] == "year"]
        assert year["schema"]["enum"] == ["2012", "2013", "2014", "2015", "2016", "all", ""]
        tile = path.replace("{tileset}", "tracts").replace("{z}/{x}/{y}", "12/1150/1608")
        for value in year["schema"]["enum"]:
            response = client.get(f"{tile}?year={value}")
            assert response.status_code == 200 and decoded(response.data).shape == (pixels, pixels, 4)


def test_the_raster_tilejson_points_at_the_png_tiles_of_all_years_or_one(client):
    every_year = client.get("/tiles/tracts/raster.json", base_url="http://maps.test").get_json()
    assert every_year["tilejson"] == "3.0.0" and every_year["format"] == "png" and every_year["tileSize"] == 256
    assert every_year["tiles"] == ["http://maps.test/tiles/tracts/{z}/{x}/{y}.png"]
    assert (every_year["minzoom"], every_year["maxzoom"]) == (0, 22)
    assert "vector_layers" not in every_year
    vector = client.get("/tiles/tracts.json", base_url="http://maps.test").get_json()
    assert {key: every_year[key] for key in ("bounds", "center", "attribution", "description")} == {
        key: vector[key] for key in ("bounds", "center", "attribution", "description")
    }
    one_year = client.get("/tiles/tracts/raster.json?year=2014", base_url="http://maps.test").get_json()
    assert one_year["tiles"] == ["http://maps.test/tiles/tracts/{z}/{x}/{y}.png?year=2014"]
    assert one_year["name"] == "Census tracts (2014)"
    url = one_year["tiles"][0].format(z=12, x=1150, y=1608).removeprefix("http://maps.test")
    assert client.get(url).content_type == "image/png"
    assert client.get("/tiles/tracts/raster.json?year=1999").status_code == 400
    assert client.get("/tiles/counties/raster.json").status_code == 404


def test_the_catalog_lists_the_raster_tilejson_and_the_wmts_capabilities(client):
    listing = client.get("/tiles", base_url="http://maps.test").get_json()
    assert listing["wmts"] == "http://maps.test/wmts/1.0.0/WMTSCapabilities.xml"
    assert listing["tilesets"][1]["raster_tilejson"] == "http://maps.test/tiles/tracts/raster.json"
    for entry in listing["tilesets"]:
        assert client.get(entry["raster_tilejson"].removeprefix("http://maps.test")).status_code == 200
    assert client.get(listing["wmts"].removeprefix("http://maps.test")).status_code == 200
