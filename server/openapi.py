"""The OpenAPI 3.1 description of the HTTP API of one build, served at /openapi.json.

Every route of the app is described here (tests/server/test_metadata.py walks the app's URL map
and fails on a route missing from this document), each path parameter with an `example` (the
build's first tileset or layer; the tile coordinates name a Durham tile), so that the document's
own example URLs can be fetched. Tilesets, layers, download formats and years are the build's
own, as enums: a request the document allows is answered, one it does not is refused
(tests/server/test_openapi_conformance.py).
"""

from __future__ import annotations

import itertools
from typing import Any

from crimetiles.artifact.export import FORMATS
from crimetiles.artifact.fields import ALL_YEARS
from crimetiles.artifact.manifest import BuildManifest

_ERROR = {"description": "JSON error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _path_param(name: str, description: str, example: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
        "example": example,
    }


def _names(names: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(names)}


def _year_query(description: str, years: tuple[int, ...]) -> dict[str, Any]:
    """`?year=`: a year of the build as it writes it, `all`, or empty (as if absent)."""
    return {
        "name": "year",
        "in": "query",
        "required": False,
        "description": f"{description}; empty: as if absent",
        "schema": _names([*map(str, years), ALL_YEARS, ""]),
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or {"type": "string"}}


def _get(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


def _json_ok(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def _html_ok(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _tile_coordinates() -> list[dict[str, Any]]:
    return [
        _path_param("z", "Zoom, 0..22, ASCII digits", "12", {"type": "integer", "minimum": 0, "maximum": 22}),
        _path_param("x", "Column, 0..2^z-1, ASCII digits", "1150", {"type": "integer", "minimum": 0}),
        _path_param("y", "Row (XYZ, 0 at the north), 0..2^z-1, ASCII digits", "1608", {"type": "integer", "minimum": 0}),
    ]


def _png_tile(pixels: int, tileset: dict[str, Any], years: tuple[int, ...]) -> dict[str, Any]:
    """The PNG tile routes, `{y}.png` and `{y}@2x.png`."""
    return _get(
        f"The tile drawn with the tileset's MapLibre style: a {pixels}x{pixels} palette PNG, transparent where no area"
        " is (an empty tile is a transparent PNG, not a 204).",
        {
            "200": {"description": "PNG", "content": {"image/png": {}}},
            "304": {"description": "Not modified (If-None-Match)"},
            "400": _ERROR,
            "404": _ERROR,
        },
        [
            tileset,
            *_tile_coordinates(),
            _year_query("The year whose density is drawn, or all (the default): the all-years average", years),
        ],
    )


def _tile(extension: str, tileset: dict[str, Any]) -> dict[str, Any]:
    """The tile route, whose last segment is `{y}.mvt` or `{y}.pbf` (the same tile)."""
    return _get(
        f"A Mapbox Vector Tile ({extension}; .mvt and .pbf are the same tile). gzip when Accept-Encoding gives gzip a"
        " q-value above 0 and not below identity's; 204 when no feature touches the tile.",
        {
            "200": {"description": "MVT 2.1", "content": {"application/vnd.mapbox-vector-tile": {}}},
            "204": {"description": "Empty tile, or wholly outside the tileset's bounds: no body, no Content-Type"},
            "304": {"description": "Not modified (If-None-Match)"},
            "400": _ERROR,
            "404": _ERROR,
            "406": _ERROR,
        },
        [tileset, *_tile_coordinates()],
    )


_PAGE_QUERY = (
    "Query parameters read by the page's script: layer, year, change, selected (and for /embed legend, zoom, center,"
    " interactive, charts); the map view in the #zoom/lat/lon hash."
)


def openapi_document(base_url: str, manifest: BuildManifest) -> dict[str, Any]:
    """The document for `manifest`'s build, its server at `base_url`."""
    tileset = _path_param("tileset", "Tileset name", next(iter(manifest.tilesets)), _names(manifest.tilesets))
    layer = _path_param("layer", "Density layer", next(iter(manifest.layers)), _names(manifest.layers))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crimetiles",
            "version": "1",
            "description": "Violent crimes per square mile (incidents reported by police) as Mapbox Vector Tiles and PNG tiles.",
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/tiles/{tileset}/{z}/{x}/{y}.mvt": _tile(".mvt", tileset),
            "/tiles/{tileset}/{z}/{x}/{y}.pbf": _tile(".pbf", tileset),
            "/tiles/{tileset}/{z}/{x}/{y}.png": _png_tile(256, tileset, manifest.years),
            "/tiles/{tileset}/{z}/{x}/{y}@2x.png": _png_tile(512, tileset, manifest.years),
            "/tiles/{tileset}.json": _get("TileJSON 3.0.0", {"200": _json_ok("TileJSON"), "404": _ERROR}, [tileset]),
            "/tiles/{tileset}/raster.json": _get(
                'TileJSON 3.0.0 of the PNG tiles ("format": "png"), all years or one',
                {"200": _json_ok("TileJSON"), "400": _ERROR, "404": _ERROR},
                [tileset, _year_query("The year whose density the tiles draw, or all (the default)", manifest.years)],
            ),
            "/tiles": _get("Catalog of tilesets and downloads", {"200": _json_ok("Catalog")}),
            "/map.png": _get(
                "A picture of any view: the choropleth on white with a title, the legend, the attribution and the caveat",
                {
                    "200": {"description": "PNG", "content": {"image/png": {}}},
                    "304": {"description": "Not modified"},
                    "400": _ERROR,
                },
                [
                    _query("layer", "Tileset to draw (default: the first)", _names(manifest.tilesets)),
                    _year_query("The year whose density is drawn, or all (the default): the all-years average", manifest.years),
                    _query("bbox", "west,south,east,north in degrees: the view shows all of it (default: the build's bounds)"),
                    _query("center", "lon,lat in degrees, with zoom, instead of bbox"),
                    _query(
                        "zoom", "Web map zoom (0-22, fractional) with center", {"type": "number", "minimum": 0, "maximum": 22}
                    ),
                    _query("width", "Pixels, 1-2048 (default 1200)", {"type": "integer", "minimum": 1, "maximum": 2048}),
                    _query("height", "Pixels, 1-2048 (default 800)", {"type": "integer", "minimum": 1, "maximum": 2048}),
                    _query("selected", "Ids of areas to outline (comma-separated), as the page does"),
                    _query(
                        "change",
                        "FIRST-SECOND (2014-2016): the change view between two study years, the earlier first, as the"
                        " page's change=; year is then the second",
                        {"type": "string", "enum": [f"{a}-{b}" for a, b in itertools.combinations(manifest.years, 2)]},
                    ),
                    _query(
                        "bare",
                        "1: the choropleth alone on a transparent background, no title, legend or credits (the pages"
                        " show it while MapLibre loads); 0, the default: with them",
                        {"type": "integer", "enum": [0, 1]},
                    ),
                ],
            ),
            "/wmts/1.0.0/WMTSCapabilities.xml": _get(
                "OGC WMTS 1.0.0 capabilities (RESTful): every tileset and year as a layer of PNG tiles (tracts, tracts-2014),"
                " tile matrix set GoogleMapsCompatible (EPSG:3857, zooms 0-22)",
                {"200": {"description": "WMTS capabilities (XML)", "content": {"application/xml": {}}}},
            ),
            "/styles/{tileset}.json": _get(
                "MapLibre style v8 (choropleth)", {"200": _json_ok("Style"), "404": _ERROR}, [tileset]
            ),
            "/downloads/{layer}.{format}": _get(
                "A density layer as CSV (long table) or GeoJSON",
                {"200": {"description": "The file"}, "400": _ERROR, "404": _ERROR},
                [
                    layer,
                    _path_param("format", "csv or geojson", "csv", _names(FORMATS)),
                    _year_query("A year of the build, or all (the all-years values); absent: every year", manifest.years),
                ],
            ),
            "/summaries/{layer}.json": _get(
                "A density layer's summary: ids, names, areas, yearly counts and densities, study-area totals, class breaks",
                {"200": _json_ok("Layer summary (docs/artifact.md)"), "304": {"description": "Not modified"}, "404": _ERROR},
                [layer],
            ),
            "/healthz": _get("Build loaded and its id", {"200": _json_ok("Health")}),
            "/metrics": _get(
                "Prometheus metrics", {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}
            ),
            "/openapi.json": _get("This document", {"200": _json_ok("OpenAPI")}),
            "/": _get(f"The map page. {_PAGE_QUERY}", {"200": _html_ok("The map page")}),
            "/embed": _get(f"The embeddable map, for an iframe. {_PAGE_QUERY}", {"200": _html_ok("The embed")}),
            "/qgis/{tileset}.qlr": _get(
                "A QGIS (3.22+) layer definition: the vector tile layer with the choropleth's classes and colours",
                {
                    "200": {"description": "QGIS layer definition (XML)", "content": {"application/xml": {}}},
                    "400": _ERROR,
                    "404": _ERROR,
                },
                [
                    tileset,
                    _year_query(
                        "The year whose density the layer is styled by, or all (the default): the all-years average",
                        manifest.years,
                    ),
                ],
            ),
            "/static/{file}": _get(
                "A file of the page (JavaScript, CSS, SVG, text), brotli or gzip as accepted; under ?v=<its hash> cacheable"
                " for a year. The file may be in a folder: vendor/maplibre-gl/maplibre-gl-csp.js.",
                {"200": {"description": "The file"}, "304": {"description": "Not modified"}, "404": _ERROR},
                [
                    _path_param("file", "Path of the file under static/", "app.js"),
                    {
                        "name": "v",
                        "in": "query",
                        "required": False,
                        "description": "The file's content hash, as the pages link it",
                        "schema": {"type": "string"},
                    },
                ],
            ),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                    "required": ["error", "status"],
                }
            }
        },
    }
