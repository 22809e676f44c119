"""The OpenAPI 3.1 description of the HTTP API, served at /openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "JSON error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or {"type": "string"}}


def _get(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


def _json_ok(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def openapi_document(base_url: str) -> dict[str, Any]:
    tileset = _path_param("tileset", "Tileset name, e.g. blockgroups, tracts, neighborhoods, hex")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crimetiles",
            "version": "1",
            "description": "Violent crimes per square mile (incidents reported by police) as Mapbox Vector Tiles.",
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/tiles/{tileset}/{z}/{x}/{y}.mvt": _get(
                "A Mapbox Vector Tile (also .pbf). gzip when Accept-Encoding gives gzip a q-value above 0 and not below"
                " identity's; 204 when no feature touches the tile.",
                {
                    "200": {"description": "MVT 2.1", "content": {"application/vnd.mapbox-vector-tile": {}}},
                    "204": {"description": "Empty tile, or wholly outside the tileset's bounds: no body, no Content-Type"},
                    "304": {"description": "Not modified (If-None-Match)"},
                    "400": _ERROR,
                    "404": _ERROR,
                    "406": _ERROR,
                },
                [
                    tileset,
                    _path_param("z", "Zoom, 0..22, ASCII digits", {"type": "integer", "minimum": 0, "maximum": 22}),
                    _path_param("x", "Column, 0..2^z-1, ASCII digits", {"type": "integer", "minimum": 0}),
                    _path_param("y", "Row (XYZ, 0 at the north), 0..2^z-1, ASCII digits", {"type": "integer", "minimum": 0}),
                ],
            ),
            "/tiles/{tileset}.json": _get("TileJSON 3.0.0", {"200": _json_ok("TileJSON"), "404": _ERROR}, [tileset]),
            "/tiles": _get("Catalog of tilesets and downloads", {"200": _json_ok("Catalog")}),
            "/styles/{tileset}.json": _get(
                "MapLibre style v8 (choropleth)", {"200": _json_ok("Style"), "404": _ERROR}, [tileset]
            ),
            "/downloads/{layer}.{format}": _get(
                "A density layer as CSV (long table) or GeoJSON",
                {"200": {"description": "The file"}, "400": _ERROR, "404": _ERROR},
                [
                    _path_param("layer", "Density layer, e.g. blockgroups, hex8"),
                    _path_param("format", "csv or geojson", {"type": "string", "enum": ["csv", "geojson"]}),
                    {
                        "name": "year",
                        "in": "query",
                        "required": False,
                        "description": "A year of the build (ASCII digits), or all",
                        "schema": {"type": "string", "pattern": "^([0-9]{4}|all)$"},
                    },
                ],
            ),
            "/summaries/{layer}.json": _get(
                "A density layer's summary: ids, names, areas, yearly counts and densities, study-area totals, class breaks",
                {"200": _json_ok("Layer summary (docs/artifact.md)"), "304": {"description": "Not modified"}, "404": _ERROR},
                [_path_param("layer", "Density layer, e.g. blockgroups, hex8")],
            ),
            "/healthz": _get("Build loaded and its id", {"200": _json_ok("Health")}),
            "/metrics": _get(
                "Prometheus metrics", {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}
            ),
            "/openapi.json": _get("This document", {"200": _json_ok("OpenAPI")}),
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
