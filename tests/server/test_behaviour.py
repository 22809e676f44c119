"""What a client of the server sees, against expected values computed here: the tile cache's bound
is in bytes, TileJSON's zooms agree with themselves, a one-year download holds that year, and
the styles draw ColorBrewer's YlOrRd (a literal here) from light to dark."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import mercantile
import pytest

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.server.apps import ARCHIVE_TILE, ON_DEMAND_TILE, metric_value

TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")
ZERO_GREY = "#a8a8a8"
YLORRD = {
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffcc", "#fed976", "#fc6e33", "#e31a1c", "#800026"),
}
"""ColorBrewer YlOrRd (colorbrewer2.org) with 4 and 5 classes."""
ENTRY_OVERHEAD_LIMIT = 1024
"""More than any cache could spend on one entry besides its tile's bytes (key, links, records)."""


def _metric(client, name: str) -> float:
    return metric_value(client.get("/metrics").get_data(as_text=True), name)


def _on_demand_tiles(client, build: Path, count: int) -> list[tuple[str, int]]:
    """The `count` largest block group tiles around the layer's centre at zoom 13 (above the
    fixture's archive, so encoded on demand), as (path, gzip-compressed length in bytes)."""
    west, south, east, north = gpd.read_parquet(build / "layers" / "blockgroups.parquet").total_bounds
    centre = mercantile.tile((west + east) / 2, (south + north) / 2, 13)
    sized = []
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            path = f"/tiles/blockgroups/13/{centre.x + dx}/{centre.y + dy}.mvt"
            response = client.get(path, headers={"Accept-Encoding": "gzip"})
            if response.status_code == 200:  # not an empty tile (204)
                assert response.headers["Content-Encoding"] == "gzip"
                sized.append((path, len(response.data)))
    return sorted(sized, key=lambda item: -item[1])[:count]


def test_the_tile_cache_bound_counts_the_tiles_bytes(client, durham_build):
    """A bound of `ENTRY_OVERHEAD_LIMIT` bytes per tile holds all five tiles if it counted entries,
    but their compressed bytes alone exceed it: the first tile is evicted and encoded again."""
    tiles = _on_demand_tiles(client, durham_build, 5)
    total = sum(length for _, length in tiles)
    bound = len(tiles) * ENTRY_OVERHEAD_LIMIT
    assert total > bound, tiles
    small = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, cache_bytes=bound)).test_client()
    for path, _ in tiles:
        small.get(path, headers={"Accept-Encoding": "gzip"})
    last_path = tiles[-1][0]
    hits = _metric(small, "crimetiles_tile_cache_hits_total")
    small.get(last_path, headers={"Accept-Encoding": "gzip"})
    assert _metric(small, "crimetiles_tile_cache_hits_total") == hits + 1  # the latest tile is kept
    misses = _metric(small, "crimetiles_tile_cache_misses_total")
    small.get(tiles[0][0], headers={"Accept-Encoding": "gzip"})
    assert _metric(small, "crimetiles_tile_cache_misses_total") == misses + 1  # the first was evicted


@pytest.mark.parametrize("tileset", TILESETS)
def test_vector_layer_zooms_agree_with_the_tilejson(client, tileset):
    document = client.get(f"/tiles/{tileset}.json").get_json()
    (layer,) = document["vector_layers"]
    assert (document["minzoom"], document["maxzoom"]) == (0, 14)
    assert (layer["minzoom"], layer["maxzoom"]) == (document["minzoom"], document["maxzoom"])


def test_a_geojson_download_of_one_year_holds_that_years_values(client, durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    assert (tracts["violent_per_sqmi_2014"] != tracts["violent_per_sqmi"]).sum() > 50  # the years differ
    assert (tracts["violent_count_2014"] != tracts["violent_count"]).sum() > 50
    response = client.get("/downloads/tracts.geojson?year=2014")
    assert response.status_code == 200
    features = json.loads(response.data)["features"]
    assert len(features) == len(tracts) == 60
    for feature in features:
        properties = feature["properties"]
        row = tracts.loc[properties["id"]]
        assert properties["year"] == "2014"
        assert properties["violent_count"] == row["violent_count_2014"]
        assert properties["violent_per_sqmi"] == pytest.approx(row["violent_per_sqmi_2014"], abs=5e-4)
        assert properties["area_sqmi"] == pytest.approx(row["area_sqmi"], abs=5e-7)


def _relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of `#rrggbb`."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("tileset", TILESETS)
def test_styles_fill_classes_with_ylorrd_from_light_to_dark(client, tileset):
    style = client.get(f"/styles/{tileset}.json").get_json()
    breaks = client.get(f"/tiles/{tileset}.json").get_json()["crimetiles"]["class_breaks"]
    fills = [layer["paint"]["fill-color"] for layer in style["layers"] if "crimetiles:class" in layer.get("metadata", {})]
    assert fills == [ZERO_GREY, *YLORRD[len(breaks) + 1]]
    luminance = [_relative_luminance(colour) for colour in fills[1:]]
    assert luminance == sorted(luminance, reverse=True) and len(set(luminance)) == len(luminance)
    assert [row["color"] for row in style["metadata"]["crimetiles:legend"]] == fills


@pytest.mark.parametrize("path", [ARCHIVE_TILE, ON_DEMAND_TILE])
def test_a_304_carries_the_same_cors_headers_as_the_200(durham_build, path):
    client = create_app(ServerConfig(build_dir=durham_build, reload_interval=0)).test_client()
    first = client.get(path, headers={"Origin": "https://elsewhere.example"})
    again = client.get(path, headers={"Origin": "https://elsewhere.example", "If-None-Match": first.headers["ETag"]})
    assert (first.status_code, again.status_code) == (200, 304)
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert again.headers["Access-Control-Expose-Headers"] == first.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("path", [ARCHIVE_TILE, ON_DEMAND_TILE, "/tiles/tracts.json"])
def test_an_origin_list_answers_only_its_own_origins(durham_build, path):
    listed = "https://county.example"
    client = create_app(
        ServerConfig(build_dir=durham_build, reload_interval=0, cors_origins=f"{listed},https://city.example")
    ).test_client()
    allowed = client.get(path, headers={"Origin": listed})
    refused = client.get(path, headers={"Origin": "https://evil.example"})
    revalidated = client.get(path, headers={"Origin": listed, "If-None-Match": allowed.headers["ETag"]})
    assert allowed.headers["Access-Control-Allow-Origin"] == listed
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert revalidated.status_code == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == listed
    for response in (allowed, refused):
        assert "Origin" in response.headers["Vary"]
