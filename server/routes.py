"""The HTTP layer of everything but tiles (`server/tile_answer.py`): parse, call the core, set
headers. Every route is a few lines."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, jsonify, request

from crimetiles.artifact.export import FORMATS, export_chunks
from crimetiles.artifact.fields import ALL_YEARS
from crimetiles.server.catalog import catalog
from crimetiles.server.context import app_metrics, current_service, public_base_url, server_config
from crimetiles.server.documents import (
    accepted_encoding,
    compress_document,
    document_encoding,
    encode_document,
    encoded_response,
)
from crimetiles.server.errors import JSON_TYPE, UnknownResource
from crimetiles.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from crimetiles.server.openapi import openapi_document
from crimetiles.server.params import parse_year
from crimetiles.server.renderer import drawing_module
from crimetiles.server.style import style
from crimetiles.server.tilejson import raster_tilejson, tilejson
from crimetiles.server.wmts import CAPABILITIES_PATH, capabilities

bp = Blueprint("api", __name__)
DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def _cacheable(response: Response, etag: str) -> Response:
    """`response` with an ETag per build and representation (`etag`, and the coding), cacheable
    for `max_age`, conditional (304), and compressed if it is a document (`server/documents.py`):
    the coding is chosen first, for the ETag, and the body compressed only if it is sent."""
    encoding = document_encoding(response)
    response.set_etag(f"{etag}-{encoding}" if encoding else etag)
    response.cache_control.public = True
    response.cache_control.max_age = server_config().max_age
    response = response.make_conditional(request)
    if response.status_code == 200:
        encode_document(response, encoding)
    return response


def _json(document: object, etag: str) -> Response:
    return _cacheable(jsonify(document), etag)


@bp.get("/tiles/<tileset>.json")
def tileset_tilejson(tileset: str) -> Response:
    tiles = current_service()
    base = public_base_url()
    return _json(tilejson(tiles.manifest, tiles.tileset(tileset), base), f"{tiles.build_id}-{tileset}-{base}")


@bp.get("/tiles/<tileset>/raster.json")
def tileset_raster_tilejson(tileset: str) -> Response:
    """TileJSON of the tileset's PNG tiles, all years or `?year=2014`."""
    tiles = current_service()
    base = public_base_url()
    year = parse_year(request.args.get("year"), tiles.manifest.years)
    year = None if year == ALL_YEARS else year
    document = raster_tilejson(tiles.manifest, tiles.tileset(tileset), base, year)
    return _json(document, f"{tiles.build_id}-{tileset}-raster-{year}-{base}")


@bp.get("/tiles")
def tileset_catalog() -> Response:
    tiles = current_service()
    base = public_base_url()
    return _json(catalog(tiles.manifest, lambda path: f"{base}/{path}", raster=True), f"{tiles.build_id}-catalog-{base}")


@bp.get("/styles/<name>.json")
def map_style(name: str) -> Response:
    tiles = current_service()
    if name not in tiles.manifest.tilesets:
        raise UnknownResource(f"no style {name!r} (styles: {', '.join(tiles.manifest.tilesets)})")
    base = public_base_url()
    document = style(tiles.manifest.tilesets[name], f"{base}/tiles/{name}.json", tiles.manifest.provenance)
    return _json(document, f"{tiles.build_id}-style-{name}-{base}")


@bp.get(f"/{CAPABILITIES_PATH}")
def wmts_capabilities() -> Response:
    """OGC WMTS 1.0.0 (RESTful): every tileset and year as a layer of PNG tiles, GoogleMapsCompatible."""
    tiles = current_service()
    base = public_base_url()
    response = Response(capabilities(tiles.manifest, base), content_type="application/xml")
    return _cacheable(response, f"{tiles.build_id}-wmts-{base}")


@bp.get("/map.png")
def map_image() -> Response:
    """A picture of any view: the choropleth with its title, legend, attribution and caveat."""
    static_map = drawing_module("static_map")  # Skia loads with the first picture asked
    tiles = current_service()
    wanted = static_map.MapRequest.parse(request.args, tiles.manifest)
    response = Response(static_map.render_map(tiles, wanted), content_type="image/png")
    return _cacheable(response, f"{tiles.build_id}-map-{hashlib.sha256(repr(wanted).encode()).hexdigest()[:16]}")


@bp.get("/downloads/<layer>.<fmt>")
def download(layer: str, fmt: str) -> Response:
    """A density layer as CSV (long table) or GeoJSON, every year or `?year=2014|all`, written as it
    is read, a record batch at a time (never held whole)."""
    tiles = current_service()
    layers = tiles.manifest.layers
    if fmt not in FORMATS or layer not in layers:
        raise UnknownResource(f"no download {layer}.{fmt} (layers: {', '.join(layers)}; formats: {', '.join(FORMATS)})")
    year = parse_year(request.args.get("year"), tiles.manifest.years)
    chunks = tiles.layers.get().rows[layer].tables
    text = export_chunks(chunks, layer, tiles.manifest.years, fmt, year, tiles.manifest.provenance)
    # direct_passthrough: else `make_conditional` would read the whole body to set its Content-Length
    response = Response((piece.encode() for piece in text), content_type=DOWNLOAD_TYPES[fmt], direct_passthrough=True)
    suffix = f"-{year}" if year is not None else ""
    response.headers["Content-Disposition"] = f'attachment; filename="violent-crimes-per-sqmi-{layer}{suffix}.{fmt}"'
    return _cacheable(response, f"{tiles.build_id}-{layer}-{fmt}-{year}")


@bp.get("/healthz")
def healthz() -> Response:
    tiles = current_service()
    return jsonify(
        {"status": "ok", "build_id": tiles.build_id, "built_at": tiles.manifest.built_at, "generator": tiles.manifest.generator}
    )


@bp.get("/metrics")
def metrics() -> Response:
    return Response(app_metrics().render(), content_type=METRICS_CONTENT_TYPE)


@bp.get("/openapi.json")
def openapi() -> Response:
    response = jsonify(openapi_document(public_base_url(), current_service().manifest))
    compress_document(response)
    return response


@bp.get("/summaries/<layer>.json")
def layer_summary(layer: str) -> Response:
    """A density layer's summary for the page's charts, table and search (docs/artifact.md),
    brotli- or gzip-compressed as the client accepts."""
    tiles = current_service()
    if layer not in tiles.summaries:
        raise UnknownResource(f"no summary {layer!r} (summaries: {', '.join(tiles.manifest.summaries) or 'none in this build'})")
    encoding = accepted_encoding()
    response = encoded_response(tiles.summaries.body(layer, encoding), encoding, JSON_TYPE)
    return _cacheable(response, f"{tiles.build_id}-summary-{layer}-{encoding or 'identity'}")
