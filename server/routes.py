"""The HTTP layer: parse, call the core, set headers. Every route is a few lines."""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, current_app, jsonify, request

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.export import FORMATS, export_text, parse_year
from crimetiles.server.catalog import catalog
from crimetiles.server.config import ServerConfig
from crimetiles.server.errors import BadTileRequest, UnknownResource
from crimetiles.server.openapi import openapi_document
from crimetiles.server.style import style
from crimetiles.server.tilejson import tilejson
from crimetiles.server.tiles import TileService

bp = Blueprint("api", __name__)
TILE_EXTENSIONS = ("mvt", "pbf")
MVT_TYPE = "application/vnd.mapbox-vector-tile"
DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def service() -> TileService:
    return current_app.extensions["crimetiles.live"].service


def config() -> ServerConfig:
    return current_app.config["CRIMETILES"]


def base_url() -> str:
    """Absolute URL prefix clients use: the configured public URL, else the request's own
    (scheme, host and prefix as forwarded by a proxy)."""
    return (config().public_url or request.url_root).rstrip("/")


def _cacheable(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = config().max_age
    return response.make_conditional(request)


FORWARDED_HEADERS = ("Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix")


def _json(document: object, etag: str) -> Response:
    """A JSON document holding absolute URLs: shared caches must key it on the headers the URLs
    come from, or one client's forged X-Forwarded-Host would be served to everyone."""
    response = jsonify(document)
    if not config().public_url:
        response.vary.update(FORWARDED_HEADERS)
    return _cacheable(response, etag)


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise BadTileRequest(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


@bp.get("/tiles/<tileset>/<z>/<x>/<y_ext>")
def tile(tileset: str, z: str, x: str, y_ext: str) -> Response:
    """A Mapbox Vector Tile, gzip-compressed when the client accepts it; 204 when empty."""
    y, _, extension = y_ext.partition(".")
    if extension not in TILE_EXTENSIONS:
        raise BadTileRequest(f"unknown tile extension {extension!r}; use .mvt or .pbf")
    tiles = service()
    data = tiles.tile(tileset, _int(z, "z"), _int(x, "x"), _int(y, "y"))
    gzip_ok = "gzip" in request.accept_encodings
    etag = f"{tiles.build_id}-{tileset}-{z}-{x}-{y}" + ("-gz" if gzip_ok and data else "")
    if data is None:
        response = Response(status=204)
    elif gzip_ok:
        response = Response(data, mimetype=MVT_TYPE)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(gzip.decompress(data), mimetype=MVT_TYPE)
    response.vary.add("Accept-Encoding")
    return _cacheable(response, etag)


@bp.get("/tiles/<tileset>.json")
def tileset_tilejson(tileset: str) -> Response:
    tiles = service()
    return _json(tilejson(tiles.manifest, tiles.tileset(tileset), base_url()), f"{tiles.build_id}-{tileset}-{base_url()}")


@bp.get("/tiles")
def tileset_catalog() -> Response:
    tiles = service()
    base = base_url()
    return _json(catalog(tiles.manifest, lambda path: f"{base}/{path}"), f"{tiles.build_id}-catalog-{base}")


@bp.get("/styles/<name>.json")
def map_style(name: str) -> Response:
    tiles = service()
    if name not in tiles.manifest.tilesets:
        raise UnknownResource(f"no style {name!r} (styles: {', '.join(tiles.manifest.tilesets)})")
    base = base_url()
    document = style(tiles.manifest.tilesets[name], f"{base}/tiles/{name}.json", tiles.manifest.attribution)
    return _json(document, f"{tiles.build_id}-style-{name}-{base}")


@bp.get("/downloads/<layer>.<fmt>")
def download(layer: str, fmt: str) -> Response:
    """A density layer as CSV (long table) or GeoJSON, every year or `?year=2014|all`."""
    tiles = service()
    if fmt not in FORMATS or layer not in tiles.frames:
        raise UnknownResource(f"no download {layer}.{fmt} (layers: {', '.join(tiles.frames)}; formats: {', '.join(FORMATS)})")
    try:
        year = parse_year(request.args.get("year"), tiles.manifest.years)
    except BuildError as exc:
        raise BadTileRequest(str(exc)) from None
    text = export_text(tiles.frames[layer], layer, tiles.manifest.years, fmt, year)
    response = Response(text, content_type=DOWNLOAD_TYPES[fmt])
    suffix = f"-{year}" if year is not None else ""
    response.headers["Content-Disposition"] = f'attachment; filename="violent-crimes-per-sqmi-{layer}{suffix}.{fmt}"'
    return _cacheable(response, f"{tiles.build_id}-{layer}-{fmt}-{year}")


@bp.get("/healthz")
def healthz() -> Response:
    tiles = service()
    return jsonify(
        {"status": "ok", "build_id": tiles.build_id, "built_at": tiles.manifest.built_at, "generator": tiles.manifest.generator}
    )


@bp.get("/metrics")
def metrics() -> Response:
    tiles = service()
    text = current_app.extensions["crimetiles.metrics"].render(tiles.stats, tiles.build_id)
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(base_url()))
