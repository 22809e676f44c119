"""TileJSON, styles, catalog, downloads, health, metrics and OpenAPI."""

from __future__ import annotations

import csv
import io
import json
import re

import geopandas as gpd
import pytest
from werkzeug.routing import Map, Rule

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.server.sample_routes import route_rules

ZERO_GREY = "#a8a8a8"
YLORRD_5 = ("#ffffcc", "#fed976", "#fc6e33", "#e31a1c", "#800026")
"""ColorBrewer YlOrRd, 5 classes (colorbrewer2.org): the classes above 0 of a 4-break legend."""


def test_tilejson_3(client, durham_build):
    manifest = json.loads((durham_build / "manifest.json").read_text())
    document = client.get("/tiles/tracts.json", base_url="http://maps.test").get_json()
    assert document["tilejson"] == "3.0.0"
    assert document["tiles"] == ["http://maps.test/tiles/tracts/{z}/{x}/{y}.mvt"]
    assert (document["minzoom"], document["maxzoom"]) == (0, 14)
    assert document["bounds"] == manifest["bounds"] and len(document["center"]) == 3
    (layer,) = document["vector_layers"]
    assert layer["id"] == "tracts"
    assert layer["fields"]["violent_per_sqmi_2014"] == "Violent crimes per square mile in 2014; missing when withheld"
    assert set(layer["fields"]) == set(manifest["fields"])
    assert document["attribution"] == manifest["attribution"]
    assert document["crimetiles"]["years"] == [2012, 2013, 2014, 2015, 2016]
    assert document["crimetiles"]["class_breaks"] == manifest["tilesets"]["tracts"]["class_breaks"]["values"]


def test_tilejson_urls_behind_a_proxy(client):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crime.example.org", "X-Forwarded-Prefix": "/durham"}
    response = client.get("/tiles/hex.json", headers=headers)
    assert response.get_json()["tiles"] == ["https://crime.example.org/durham/tiles/hex/{z}/{x}/{y}.mvt"]
    vary = {part.strip() for part in response.headers["Vary"].split(",")}
    assert vary >= {"Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix"}


def test_tilejson_with_configured_public_url(durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, public_url="https://tiles.example.org/ct/"))
    document = app.test_client().get("/tiles/tracts.json").get_json()
    assert document["tiles"] == ["https://tiles.example.org/ct/tiles/tracts/{z}/{x}/{y}.mvt"]


def test_style_draws_the_build_class_breaks(client, durham_build):
    manifest = json.loads((durham_build / "manifest.json").read_text())
    response = client.get("/styles/blockgroups.json", base_url="http://maps.test")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    style = response.get_json()
    assert style["version"] == 8
    assert style["sources"] == {
        "blockgroups": {
            "type": "vector",
            "url": "http://maps.test/tiles/blockgroups.json",
            "attribution": manifest["attribution"],
        }
    }
    *fills, unstable, line = style["layers"]
    assert line["type"] == "line" and line["source-layer"] == "blockgroups"
    assert unstable["id"] == "blockgroups-unstable" and unstable["paint"] == {"fill-color": "#ffffff", "fill-opacity": 0.5}
    breaks = manifest["tilesets"]["blockgroups"]["class_breaks"]["values"]
    assert len(breaks) == len(YLORRD_5) - 1
    assert [f["id"] for f in fills] == [f"blockgroups-class-{i}" for i in range(len(breaks) + 2)]
    assert style["metadata"]["crimetiles:fill-layers"] == [f["id"] for f in fills]
    assert [f["paint"]["fill-color"] for f in fills] == [ZERO_GREY, *YLORRD_5]
    value = ["get", "violent_per_sqmi"]
    assert fills[0]["filter"] == ["==", value, 0]
    assert fills[1]["filter"] == ["all", [">", value, 0], ["<", value, breaks[0]]]
    assert fills[2]["filter"] == ["all", [">=", value, breaks[0]], ["<", value, breaks[1]]]
    assert fills[-1]["filter"] == [">=", value, breaks[-1]]
    legend = style["metadata"]["crimetiles:legend"]
    assert legend[0] == {"label": "0", "color": ZERO_GREY} and len(legend) == len(fills)
    assert [f["metadata"]["crimetiles:class"] for f in fills] == [row["label"] for row in legend]


def test_every_density_falls_in_exactly_one_class(durham_build, client):
    """The class filters partition the values: evaluate them on the real densities."""
    style = client.get("/styles/tracts.json").get_json()
    frame = gpd.read_parquet(durham_build / "layers" / "tracts.parquet")
    operators = {"==": float.__eq__, ">": float.__gt__, ">=": float.__ge__, "<": float.__lt__}

    def matches(condition, value: float) -> bool:
        if condition[0] == "all":
            return all(matches(part, value) for part in condition[1:])
        return operators[condition[0]](value, float(condition[2]))

    fills = [layer for layer in style["layers"] if layer["type"] == "fill"]
    for year in ("", "_2012", "_2016"):
        for value in frame[f"violent_per_sqmi{year}"]:
            assert sum(matches(fill["filter"], float(value)) for fill in fills) == 1, value


def test_catalog_lists_every_tileset(client):
    catalog = client.get("/tiles", base_url="http://maps.test").get_json()
    assert [t["name"] for t in catalog["tilesets"]] == ["blockgroups", "tracts", "neighborhoods", "hex"]
    assert catalog["tilesets"][0]["tilejson"] == "http://maps.test/tiles/blockgroups.json"
    assert {d["layer"] for d in catalog["downloads"]} >= {"blockgroups", "hex8"}


def test_download_csv_one_year(client, durham_build):
    response = client.get("/downloads/blockgroups.csv?year=2014")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="violent-crimes-per-sqmi-blockgroups-2014.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 153 and {r["year"] for r in rows} == {"2014"}
    frame = gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")
    row = rows[0]
    assert int(row["violent_count"]) == frame.loc[row["id"], "violent_count_2014"]
    assert float(row["violent_per_sqmi"]) == pytest.approx(frame.loc[row["id"], "violent_per_sqmi_2014"])


def test_download_geojson_all_years(client):
    response = client.get("/downloads/tracts.geojson")
    assert response.headers["Content-Type"] == "application/geo+json"
    collection = json.loads(response.data)
    assert len(collection["features"]) == 60
    assert "violent_per_sqmi_2016" in collection["features"][0]["properties"]


def test_healthz_and_metrics(client, durham_build):
    manifest = json.loads((durham_build / "manifest.json").read_text())
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["build_id"] == manifest["build_id"]
    client.get("/tiles/tracts/0/0/0.mvt")
    client.get("/tiles/tracts/x/0/0.mvt")
    text = client.get("/metrics").get_data(as_text=True)
    assert f'crimetiles_build_info{{build_id="{manifest["build_id"]}"}} 1' in text
    assert 'crimetiles_http_requests_total{status="400"}' in text
    for name in (
        "crimetiles_tile_cache_hits_total",
        "crimetiles_tile_cache_misses_total",
        "crimetiles_tile_request_seconds_count",
    ):
        assert f"\n{name} " in text


def _openapi_example_url(path: str, operation: dict) -> str:
    """`path` with each `{name}` replaced by its parameter's `example`."""
    examples = {parameter["name"]: parameter["example"] for parameter in operation["parameters"] if parameter["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda match: examples[match.group(1)], path)


def test_openapi_documents_every_route(client, app):
    """Every route of the app (walked from its URL map and the tile route, so a new route without
    docs fails) is reached by a documented path, and every documented path, filled with its
    examples, answers 200."""
    document = client.get("/openapi.json").get_json()
    rules = route_rules(app)
    routes = Map([Rule(rule, endpoint=endpoint) for endpoint, rule in rules.items()]).bind("localhost")
    documented_endpoints = set()
    for path, item in document["paths"].items():
        url = _openapi_example_url(path, item["get"])
        endpoint, _ = routes.match(url)
        documented_endpoints.add(endpoint)
        assert client.get(url).status_code == 200, url
    assert documented_endpoints == set(rules)


def test_openapi_names_the_pages_the_pbf_form_and_the_qlr_year(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/", "/embed", "/qgis/{tileset}.qlr", "/tiles/{tileset}/{z}/{x}/{y}.pbf"} <= set(paths)
    year = next(parameter for parameter in paths["/qgis/{tileset}.qlr"]["get"]["parameters"] if parameter["name"] == "year")
    assert year["in"] == "query"
    assert client.get("/qgis/tracts.qlr?year=2014").status_code == 200
    assert client.get("/tiles/tracts/12/1150/1608.pbf").data == client.get("/tiles/tracts/12/1150/1608.mvt").data


def test_openapi_document_is_valid_openapi_3(client):
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_config_from_environment_and_flags(tmp_path):
    environ = {
        "CRIMETILES_PORT": "9000",
        "CRIMETILES_MAX_AGE": "60",
        "CRIMETILES_PUBLIC_URL": "",
        "CRIMETILES_RELOAD_INTERVAL": "0.5",
    }
    config = ServerConfig.from_env(environ, build_dir=tmp_path, max_age=None, cors_origins="https://a.example")
    assert (config.port, config.max_age, config.public_url, config.reload_interval) == (9000, 60, None, 0.5)
    assert config.build_dir == tmp_path and config.allowed_origins() == ("https://a.example",)


def test_bad_environment_value_is_a_clear_error():
    from crimetiles.server.config import ConfigError

    with pytest.raises(ConfigError, match="CRIMETILES_PORT='eighty': expected int"):
        ServerConfig.from_env({"CRIMETILES_PORT": "eighty"})
