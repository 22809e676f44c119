"""Tiles over Durham, fetched from a real server on loopback and decoded."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import pytest
import requests

BLOCKGROUP = "370630010011"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def blockgroups(durham_build) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")


def _tile_for(blockgroups: gpd.GeoDataFrame, zoom: int) -> mercantile.Tile:
    point = blockgroups.geometry[BLOCKGROUP].representative_point()
    return mercantile.tile(point.x, point.y, zoom)


@pytest.mark.parametrize("zoom", [8, 10, 12, 13, 14, 17])
def test_known_block_group_in_tile_has_the_build_values(live_url, blockgroups, zoom):
    """z8-12 come from the archive, 13-14 are encoded on demand, 17 is past the data's max zoom."""
    tile = _tile_for(blockgroups, zoom)
    response = requests.get(f"{live_url}/tiles/blockgroups/{tile.z}/{tile.x}/{tile.y}.mvt", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    assert list(decoded) == ["blockgroups"]
    layer = decoded["blockgroups"]
    assert layer["extent"] == 4096
    (feature,) = [f for f in layer["features"] if f["properties"]["id"] == BLOCKGROUP]
    expected = blockgroups.loc[BLOCKGROUP].drop("geometry").to_dict()
    assert feature["properties"] == {"id": BLOCKGROUP, **expected}
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    if zoom <= 12:
        assert len(layer["features"]) > 1


def test_z8_tile_of_all_durham_is_small(live_url):
    sizes = []
    for tileset in ("blockgroups", "tracts", "neighborhoods", "hex"):
        response = requests.get(f"{live_url}/tiles/{tileset}/8/71/100.mvt", timeout=10)
        assert response.status_code == 200
        assert len(mapbox_vector_tile.decode(response.content)[tileset]["features"]) > 10
        sizes.append(len(gzip.compress(response.content)))
    assert max(sizes) < 100_000


def test_hex_tileset_switches_resolution_with_zoom(live_url, blockgroups):
    import h3

    resolutions = {}
    for zoom in (9, 10, 12, 14):
        tile = _tile_for(blockgroups, zoom)
        decoded = mapbox_vector_tile.decode(
            requests.get(f"{live_url}/tiles/hex/{zoom}/{tile.x}/{tile.y}.pbf", timeout=10).content
        )
        resolutions[zoom] = {h3.get_resolution(f["properties"]["id"]) for f in decoded["hex"]["features"]}
    assert resolutions == {9: {6}, 10: {7}, 12: {8}, 14: {9}}


def test_empty_tile_is_204(live_url):
    response = requests.get(f"{live_url}/tiles/tracts/10/0/0.mvt", timeout=10)
    assert response.status_code == 204 and response.content == b""
    response = requests.get(f"{live_url}/tiles/tracts/16/0/0.mvt", timeout=10)
    assert response.status_code == 204


def test_gzip_only_when_accepted_never_twice(live_url, blockgroups):
    tile = _tile_for(blockgroups, 11)
    url = f"{live_url}/tiles/tracts/{tile.z}/{tile.x}/{tile.y}.mvt"
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    raw = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert raw[:2] == b"\x1f\x8b"
    inner = gzip.decompress(raw)
    assert inner[:2] != b"\x1f\x8b"  # not gzipped twice
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, stream=True, timeout=10)
    body = plain.raw.read(decode_content=False)
    assert "Content-Encoding" not in plain.headers
    assert body == inner
    assert mapbox_vector_tile.decode(body)["tracts"]["features"]
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    for response in (zipped, plain):
        assert response.headers["Vary"] == "Accept-Encoding"


def test_etag_304_cache_control_cors(live_url, blockgroups):
    tile = _tile_for(blockgroups, 13)
    url = f"{live_url}/tiles/neighborhoods/{tile.z}/{tile.x}/{tile.y}.mvt"
    first = requests.get(url, timeout=10)
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/wards/10/287/402.mvt", 404),
        ("/tiles/tracts/23/0/0.mvt", 404),
        ("/tiles/tracts/2/4/0.mvt", 404),
        ("/tiles/tracts/2/0/4.mvt", 404),
        ("/tiles/tracts/-1/0/0.mvt", 400),
        ("/tiles/tracts/a/0/0.mvt", 400),
        ("/tiles/tracts/2/1.5/0.mvt", 400),
        ("/tiles/tracts/2/0/0.jpg", 400),
        ("/tiles/tracts/2/0/0", 400),
        ("/tiles/../manifest.json", 404),
        ("/tiles/..%2F..%2Fmanifest/0/0/0.mvt", 404),
        ("/tiles/tracts%2F..%2Ftracts/0/0/0.mvt", 404),
        ("/tiles/%2e%2e/0/0/0.mvt", 404),
        ("/styles/nope.json", 404),
        ("/tiles/nope.json", 404),
        ("/downloads/tracts.xls", 404),
        ("/downloads/tracts.csv?year=1999", 400),
        ("/nothing/here", 404),
    ],
)
def test_bad_requests_get_json_4xx(live_url, path, status):
    response = requests.get(live_url + path, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert "Traceback" not in response.text


def test_method_not_allowed_is_json_405(live_url):
    response = requests.post(f"{live_url}/tiles/tracts/0/0/0.mvt", timeout=10)
    assert response.status_code == 405 and response.json()["status"] == 405


def _readme_properties() -> tuple[list[str], list[str]]:
    """The README's tile properties: those for the area, those for all years (each also per year)."""
    prose = " ".join(README.read_text(encoding="utf-8").split())
    listed = re.search(r"Properties: (.*?), and each of these for each year \(`violent_count_YYYY`\.\.\.\)", prose).group(1)
    names = re.findall(r"`(\w+)`", listed)
    return names[:3], names[3:]


def _properties(live_url: str, tileset: str, tile: mercantile.Tile) -> list[dict]:
    response = requests.get(f"{live_url}/tiles/{tileset}/{tile.z}/{tile.x}/{tile.y}.mvt", timeout=10)
    return [feature["properties"] for feature in mapbox_vector_tile.decode(response.content)[tileset]["features"]]


@pytest.mark.parametrize("zoom", [12, 14])
def test_tile_properties_are_those_the_readme_lists_and_a_withheld_value_is_left_out(live_url, blockgroups, zoom):
    """From the archive (12) and encoded on demand (14); hex cells withhold counts below 3."""
    area, measures = _readme_properties()
    assert area == ["id", "name", "area_sqmi"] and "violent_per_sqmi_low" in measures
    years = [2012, 2013, 2014, 2015, 2016]
    tile = _tile_for(blockgroups, zoom)
    found = {key for properties in _properties(live_url, "blockgroups", tile) for key in properties}
    assert found == {*area, *measures, *(f"{name}_{year}" for name in measures for year in years)}
    cells = _properties(live_url, "hex", tile)
    withheld = [(cell, year) for cell in cells for year in years if cell[f"suppressed_{year}"]]
    assert withheld and all(f"violent_count_{year}" not in cell for cell, year in withheld)
    assert all(f"violent_count_{year}" in cell for cell in cells for year in years if not cell[f"suppressed_{year}"])
