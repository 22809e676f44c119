"""OGC WMTS 1.0.0 capabilities (RESTful) of the PNG tiles: a pure function of the manifest and the
public base URL. No Flask.

One layer per tileset and year: `tracts` draws the all-years average, `tracts-2014` the year 2014
(desktop GIS and ArcGIS pick layers readily; a WMTS dimension is read by few clients). Every layer
is in the well-known `GoogleMapsCompatible` tile matrix set (EPSG:3857, 256 px tiles, zooms 0-22,
the scale denominators of OGC 07-057r7 annex E.4), its tiles the server's own PNG URLs.
"""

from __future__ import annotations

from xml.etree import ElementTree

from crimetiles.artifact.manifest import BuildManifest, Tileset
from crimetiles.server.params import TILE_PIXELS
from crimetiles.server.tilejson import description
from crimetiles.server.tiles import MAX_ZOOM

WMTS_NS = "http://www.opengis.net/wmts/1.0"
OWS_NS = "http://www.opengis.net/ows/1.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
TILE_MATRIX_SET = "GoogleMapsCompatible"
WEB_MERCATOR_CRS = "urn:ogc:def:crs:EPSG::3857"
WELL_KNOWN_SCALE_SET = "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
ZOOM0_SCALE_DENOMINATOR = 559082264.0287178
"""Scale denominator of zoom 0 (one 256 px tile for the world at 0.28 mm pixels); halved per zoom."""
WORLD_TOP_LEFT = "-20037508.3427892 20037508.3427892"
"""Web Mercator x, y of the world's north-west corner, as the matrix set's TopLeftCorner."""

CAPABILITIES_PATH = "wmts/1.0.0/WMTSCapabilities.xml"
"""Under the server's base URL."""

ElementTree.register_namespace("", WMTS_NS)
ElementTree.register_namespace("ows", OWS_NS)
ElementTree.register_namespace("xlink", XLINK_NS)


def layer_id(tileset: str, year: int | None) -> str:
    """`tracts` (all years) or `tracts-2014`."""
    return tileset if year is None else f"{tileset}-{year}"


def capabilities(manifest: BuildManifest, base_url: str) -> bytes:
    """The WMTS capabilities document (UTF-8 XML) of every tileset and year of `manifest`."""
    root = ElementTree.Element(_wmts("Capabilities"), {"version": "1.0.0"})
    _service_identification(root, manifest)
    _operations_metadata(root, f"{base_url}/{CAPABILITIES_PATH}")
    contents = _sub(root, _wmts("Contents"))
    for tileset in manifest.tilesets.values():
        for year in (None, *manifest.years):
            _layer(contents, manifest, tileset, year, base_url)
    _tile_matrix_set(contents)
    _sub(root, _wmts("ServiceMetadataURL"), {_xlink("href"): f"{base_url}/{CAPABILITIES_PATH}"})
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _wmts(tag: str) -> str:
    return f"{{{WMTS_NS}}}{tag}"


def _ows(tag: str) -> str:
    return f"{{{OWS_NS}}}{tag}"


def _xlink(tag: str) -> str:
    return f"{{{XLINK_NS}}}{tag}"


def _sub(parent: ElementTree.Element, tag: str, attributes: dict[str, str] | None = None, text: str | None = None):
    element = ElementTree.SubElement(parent, tag, attributes or {})
    element.text = text
    return element


def _service_identification(root: ElementTree.Element, manifest: BuildManifest) -> None:
    service = _sub(root, _ows("ServiceIdentification"))
    _sub(service, _ows("Title"), text=manifest.provenance.title)
    _sub(service, _ows("Abstract"), text=description(manifest.provenance))
    _sub(service, _ows("ServiceType"), text="OGC WMTS")
    _sub(service, _ows("ServiceTypeVersion"), text="1.0.0")


def _operations_metadata(root: ElementTree.Element, capabilities_url: str) -> None:
    operations = _sub(root, _ows("OperationsMetadata"))
    for name in ("GetCapabilities", "GetTile"):
        operation = _sub(operations, _ows("Operation"), {"name": name})
        get = _sub(_sub(_sub(operation, _ows("DCP")), _ows("HTTP")), _ows("Get"), {_xlink("href"): capabilities_url})
        constraint = _sub(get, _ows("Constraint"), {"name": "GetEncoding"})
        _sub(_sub(constraint, _ows("AllowedValues")), _ows("Value"), text="RESTful")


def _layer(contents: ElementTree.Element, manifest: BuildManifest, tileset: Tileset, year: int | None, base_url: str) -> None:
    layer = _sub(contents, _wmts("Layer"))
    when = "all years, average per year" if year is None else str(year)
    _sub(layer, _ows("Title"), text=f"{tileset.title}: violent crimes per sq mi ({when})")
    _sub(layer, _ows("Abstract"), text=description(manifest.provenance))
    west, south, east, north = manifest.bounds
    box = _sub(layer, _ows("WGS84BoundingBox"))
    _sub(box, _ows("LowerCorner"), text=f"{west} {south}")
    _sub(box, _ows("UpperCorner"), text=f"{east} {north}")
    _sub(layer, _ows("Identifier"), text=layer_id(tileset.name, year))
    style = _sub(layer, _wmts("Style"), {"isDefault": "true"})
    _sub(style, _ows("Identifier"), text="default")
    _sub(layer, _wmts("Format"), text="image/png")
    _sub(_sub(layer, _wmts("TileMatrixSetLink")), _wmts("TileMatrixSet"), text=TILE_MATRIX_SET)
    query = "" if year is None else f"?year={year}"
    template = f"{base_url}/tiles/{tileset.name}/{{TileMatrix}}/{{TileCol}}/{{TileRow}}.png{query}"
    _sub(layer, _wmts("ResourceURL"), {"format": "image/png", "resourceType": "tile", "template": template})


def _tile_matrix_set(contents: ElementTree.Element) -> None:
    matrix_set = _sub(contents, _wmts("TileMatrixSet"))
    _sub(matrix_set, _ows("Identifier"), text=TILE_MATRIX_SET)
    _sub(matrix_set, _ows("SupportedCRS"), text=WEB_MERCATOR_CRS)
    _sub(matrix_set, _wmts("WellKnownScaleSet"), text=WELL_KNOWN_SCALE_SET)
    for zoom in range(MAX_ZOOM + 1):
        matrix = _sub(matrix_set, _wmts("TileMatrix"))
        _sub(matrix, _ows("Identifier"), text=str(zoom))
        _sub(matrix, _wmts("ScaleDenominator"), text=repr(ZOOM0_SCALE_DENOMINATOR / 2**zoom))
        _sub(matrix, _wmts("TopLeftCorner"), text=WORLD_TOP_LEFT)
        _sub(matrix, _wmts("TileWidth"), text=str(TILE_PIXELS))
        _sub(matrix, _wmts("TileHeight"), text=str(TILE_PIXELS))
        _sub(matrix, _wmts("MatrixWidth"), text=str(2**zoom))
        _sub(matrix, _wmts("MatrixHeight"), text=str(2**zoom))
