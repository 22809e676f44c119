"""The OpenAPI document agrees with the server on the downloads and the QGIS layer definitions:
every request the document allows (each layer or tileset, format and year of its enums, the year
absent too) gets a 2xx, and every request with one value the document refuses gets a 4xx."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote, urlencode

import jsonschema
import pytest

from crimetiles.server.context import live_build

PATHS = ("/downloads/{layer}.{format}", "/qgis/{tileset}.qlr")
REFUSED = {
    "layer": ["hex", "nope", "Tracts", "tracts.json", "hex10", "tracts%00"],
    "tileset": ["hex8", "nope", "TRACTS", "tracts.json", " tracts"],
    "format": ["json", "CSV", "shp", "csv.gz", "geojson2"],
    "year": ["2011", "2017", "0000", "02014", "2014.0", "²⁰¹⁴", "٢٠١٤", "ALL", "all ", " 2014", "+2014", "2014,2015"],
}
"""Values a client might try that are no layer, tileset, format or year of the demo build."""
ABSENT = object()


def _parameters(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in document["paths"][path]["get"]["parameters"]}


def _allowed(parameter: dict[str, Any], value: str) -> bool:
    try:
        jsonschema.validate(value, parameter["schema"])
    except jsonschema.ValidationError:
        return False
    return True


def _url(path: str, parameters: dict[str, dict[str, Any]], values: dict[str, Any]) -> str:
    url = path
    query = {}
    for name, value in values.items():
        if value is ABSENT:
            continue
        if parameters[name]["in"] == "path":
            url = url.replace("{" + name + "}", quote(value, safe=""))
        else:
            query[name] = value
    return url + ("?" + urlencode(query) if query else "")


def _allowed_values(parameter: dict[str, Any]) -> list[Any]:
    values = list(parameter["schema"]["enum"])
    return values if parameter["required"] else [ABSENT, *values]


@pytest.fixture(scope="module")
def document(app) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


@pytest.mark.parametrize("path", PATHS)
def test_every_request_the_document_allows_is_answered(client, document, path):
    parameters = _parameters(document, path)
    names = list(parameters)
    for combination in itertools.product(*(_allowed_values(parameters[name]) for name in names)):
        url = _url(path, parameters, dict(zip(names, combination, strict=True)))
        response = client.get(url)
        assert 200 <= response.status_code < 300, (url, response.status_code, response.get_data(as_text=True)[:200])


@pytest.mark.parametrize("path", PATHS)
def test_every_request_the_document_refuses_is_refused(client, document, path):
    """One refused value at a time, the other parameters allowed: a 4xx, never a 2xx or a 500."""
    parameters = _parameters(document, path)
    allowed = {name: parameter["schema"]["enum"][0] for name, parameter in parameters.items()}
    for name, parameter in parameters.items():
        for value in REFUSED[name]:
            assert not _allowed(parameter, value), (name, value)
            url = _url(path, parameters, {**allowed, name: value})
            response = client.get(url)
            assert 400 <= response.status_code < 500, (url, response.status_code)


def test_the_enums_are_the_builds_names(document, app):
    manifest = live_build(app).service.manifest
    downloads = _parameters(document, "/downloads/{layer}.{format}")
    assert downloads["layer"]["schema"]["enum"] == list(manifest.layers)
    assert downloads["format"]["schema"]["enum"] == ["csv", "geojson"]
    qlr = _parameters(document, "/qgis/{tileset}.qlr")
    assert qlr["tileset"]["schema"]["enum"] == list(manifest.tilesets) == ["blockgroups", "tracts", "neighborhoods", "hex"]
    assert qlr["year"]["schema"]["enum"] == ["2012", "2013", "2014", "2015", "2016", "all", ""]
