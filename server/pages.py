"""The map page (`/`), the embed page (`/embed`), static files and QGIS layer definitions.

Pages get a strict Content-Security-Policy: scripts, styles and workers only from this server
(the vendored MapLibre CSP build needs nothing else), images and data only from here and the
configured basemap. `/embed` may be framed by `frame_ancestors`; `/` only by this origin.

Every URL in the pages is relative to the app's root (`static/...`, `tiles`), so they work under
any path a reverse proxy mounts the app at. Static files are served from memory, compressed as the
client accepts, cached forever under their content-hashed URLs (`static/app.js?v=<hash>`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState

from crimetiles.server.config import ServerConfig
from crimetiles.server.errors import UnknownResource
from crimetiles.server.static_files import ENCODINGS, StaticFiles

STATIC_DIR = Path(str(files("crimetiles.static")))
"""The page files, found as package data so that an installed wheel serves them from anywhere."""
bp = Blueprint("pages", __name__, template_folder=str(STATIC_DIR))
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
"""Seconds a content-hashed URL may be cached: a year, the longest HTTP caches honour."""


@bp.record_once
def _load_static_files(state: BlueprintSetupState) -> None:
    """Read and hash the static files once, when the app is created."""
    state.app.extensions["crimetiles.static"] = StaticFiles.load(STATIC_DIR)


def _static_files() -> StaticFiles:
    return current_app.extensions["crimetiles.static"]


def _config() -> ServerConfig:
    return current_app.config["CRIMETILES"]


def _basemap_origin(config: ServerConfig) -> str:
    if not config.basemap_url:
        return ""
    parts = urlsplit(config.basemap_url)
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(config: ServerConfig, frame_ancestors: str) -> str:
    extra = _basemap_origin(config)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "worker-src 'self'",
            "child-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _startup_documents() -> list[str]:
    """The JSON documents app.js fetches before it can draw (the catalog, then every tileset's
    style and TileJSON), as it names them, for the page to preload."""
    tilesets = current_app.extensions["crimetiles.live"].service.manifest.tilesets
    return ["tiles", *(f"styles/{name}.json" for name in tilesets), *(f"tiles/{name}.json" for name in tilesets)]


def _page(template: str, frame_ancestors: str) -> Response:
    config = _config()
    html = render_template(
        template, basemap_url=config.basemap_url or "", static_url=_static_files().url, startup_documents=_startup_documents()
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(config, frame_ancestors)
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@bp.get("/")
def index() -> Response:
    response = _page("index.html", "'self'")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/embed")
def embed() -> Response:
    ancestors = " ".join(origin.strip() for origin in _config().frame_ancestors.split(",") if origin.strip()) or "'none'"
    return _page("embed.html", ancestors)


@bp.get("/static/<path:filename>")
def static_file(filename: str) -> Response:
    """A web file under static/ (never a template), brotli- or gzip-compressed as the client
    accepts (q-values honoured). Under its current hash (`?v=`) it may be cached forever; any other
    URL of it must be revalidated (ETag), e.g. a module imported by a relative path."""
    files = _static_files()
    file = files.get(filename)
    if file is None:
        raise UnknownResource(f"no static file {filename!r}")
    encoding = request.accept_encodings.best_match(ENCODINGS)
    response = Response(files.body(file, encoding), mimetype=file.mimetype)
    if encoding:
        response.content_encoding = encoding
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{file.digest}-{encoding or 'identity'}")
    if request.args.get("v") == file.digest:
        response.cache_control.public = True
        response.cache_control.max_age = IMMUTABLE_MAX_AGE
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("/qgis/<tileset>.qlr")
def qgis_layer_definition(tileset: str) -> Response:
    """A QGIS layer definition: drag it onto QGIS (3.22+) to add the styled vector tile layer."""
    live = current_app.extensions["crimetiles.live"].service
    if tileset not in live.manifest.tilesets:
        raise UnknownResource(f"no tileset {tileset!r} (tilesets: {', '.join(live.manifest.tilesets)})")
    spec = live.manifest.tilesets[tileset]
    base = (_config().public_url or request.url_root).rstrip("/")
    response = Response(
        qlr(tileset, f"Violent crimes per sq mi: {spec.title}", base, spec.minzoom, spec.maxzoom), mimetype="application/xml"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="crimetiles-{tileset}.qlr"'
    return response


def qgis_source(tileset: str, base_url: str, minzoom: int, maxzoom: int) -> str:
    """The QGIS vector tile data source string (also what the README tells users to type)."""
    return (
        f"styleUrl={base_url}/styles/{tileset}.json&type=xyz"
        f"&url={base_url}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt&zmax={maxzoom}&zmin={minzoom}"
    )


def qlr(tileset: str, title: str, base_url: str, minzoom: int, maxzoom: int) -> str:
    """A QGIS layer definition (.qlr) for one vector tile layer."""
    layer_id = f"crimetiles_{tileset}"
    source = qgis_source(tileset, base_url, minzoom, maxzoom)
    return f"""<!DOCTYPE qgis-layer-definition>
<qlr>
  <layer-tree-group expanded="1" checked="Qt::Checked" name="">
    <customproperties/>
    <layer-tree-layer expanded="1" checked="Qt::Checked" id={quoteattr(layer_id)} name={quoteattr(title)}
                      providerKey="" source={quoteattr(source)}>
      <customproperties/>
    </layer-tree-layer>
  </layer-tree-group>
  <maplayers>
    <maplayer type="vector-tile" hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0"
              styleCategories="AllStyleCategories">
      <id>{escape(layer_id)}</id>
      <datasource>{escape(source)}</datasource>
      <layername>{escape(title)}</layername>
      <srs>
        <spatialrefsys>
          <authid>EPSG:3857</authid>
        </spatialrefsys>
      </srs>
      <provider>xyzvectortiles</provider>
      <flags>
        <Identifiable>1</Identifiable>
        <Removable>1</Removable>
        <Searchable>1</Searchable>
      </flags>
    </maplayer>
  </maplayers>
</qlr>
"""
