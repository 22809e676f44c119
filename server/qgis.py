"""QGIS layer definitions (.qlr): a vector tile layer that arrives styled.

QGIS (3.22) does not fetch the `styleUrl` of a layer loaded from a .qlr file, so the file carries
the choropleth itself, in QGIS's own XML for a vector tile layer: a basic renderer with one fill
style per legend class (the same filters and colours as the MapLibre style in `style.py`),
an outline style, and labels with the features' names when zoomed in. Pure functions of the
manifest; no Flask.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from crimetiles.artifact.export import YearSelection
from crimetiles.artifact.fields import ALL_YEARS, NAME, density_field
from crimetiles.artifact.manifest import Provenance, Tileset
from crimetiles.server.style import FILL_OPACITY, class_filters, legend, mark_filter, marks

OUTLINE = {"color": "#4d4d4d", "opacity": 0.6, "width_px": 0.8}
"""The MapLibre style's outline colour and opacity; its width (0.2 px at zoom 8 to 1 px at 14) as one width."""
LABEL_MINZOOM = 13
"""Names show from this zoom (about a neighborhood on screen): below it they would cover the map."""
POLYGON_GEOMETRY = "2"
"""`QgsWkbTypes::PolygonGeometry`: the styles draw the tiles' polygons."""
QGIS_OPERATORS = {"==": "=", "!=": "IS NOT", ">": ">", ">=": ">=", "<": "<"}
"""MapLibre comparison -> QGIS operator (`!=` true also holds for a missing value, as in MapLibre)."""


def qgis_source(tileset: str, base_url: str, minzoom: int, maxzoom: int, style_url: str | None = None) -> str:
    """The QGIS vector tile data source string: the XYZ tile URL with explicit zooms (QGIS
    cannot read TileJSON and needs `zmax` to overzoom), and a style URL when one applies."""
    style = f"styleUrl={style_url}&" if style_url else ""
    return f"{style}type=xyz&url={base_url}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt&zmax={maxzoom}&zmin={minzoom}"


def qgis_expression(maplibre_filter: list[Any]) -> str:
    """A QGIS expression equal to one of `style.class_filters`' MapLibre filters, so that both
    clients draw the same classes: `["all", [">=", ["get", "f"], 3.8], ["<", ["get", "f"], 13.0]]`
    -> `"f" >= 3.8 AND "f" < 13.0`."""
    operator, *operands = maplibre_filter
    if operator == "all":
        return " AND ".join(qgis_expression(operand) for operand in operands)
    (_, field), value = operands
    quoted = '"' + field.replace('"', '""') + '"'
    literal = str(value).upper() if isinstance(value, bool) else repr(value)
    return f"{quoted} {QGIS_OPERATORS[operator]} {literal}"


def qgis_color(hex_color: str) -> str:
    """`#fd8d3c` -> `253,141,60,255`, QGIS's colour notation."""
    return ",".join(str(int(hex_color[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"


def _options(parent: ElementTree.Element, values: dict[str, str]) -> None:
    option_map = ElementTree.SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        ElementTree.SubElement(option_map, "Option", type="QString", name=name, value=value)


def _style(styles: ElementTree.Element, name: str, layer: str, expression: str, **zooms: str) -> ElementTree.Element:
    """One `<style>` of a vector tile renderer or labeling: what it draws (`layer`, polygons,
    `expression`) and at which zooms (-1: no limit)."""
    attributes = {"min-zoom": "-1", "max-zoom": "-1", **zooms}
    return ElementTree.SubElement(
        styles,
        "style",
        name=name,
        layer=layer,
        geometry=POLYGON_GEOMETRY,
        enabled="1",
        expression=expression,
        **attributes,
    )


def _symbol(style: ElementTree.Element, kind: str, opacity: float, symbol_layer: str, properties: dict[str, str]) -> None:
    symbols = ElementTree.SubElement(style, "symbols")
    symbol = ElementTree.SubElement(symbols, "symbol", type=kind, name="0", alpha=f"{opacity:g}")
    _options(ElementTree.SubElement(symbol, "layer", {"class": symbol_layer}), properties)


def renderer(tileset: Tileset, year: int | None) -> ElementTree.Element:
    """The choropleth of `year` (None: all years): one fill per legend class, from 0 up, the marks
    of unstable and withheld areas (as the MapLibre style draws them), then the outlines."""
    element = ElementTree.Element("renderer", type="basic")
    styles = ElementTree.SubElement(element, "styles")
    breaks = tileset.class_breaks.values
    for row, class_filter in zip(legend(breaks), class_filters(breaks, density_field(year)), strict=True):
        style = _style(styles, row["label"], tileset.name, qgis_expression(class_filter))
        _symbol(style, "fill", FILL_OPACITY, "SimpleFill", {"color": qgis_color(row["color"]), "outline_style": "no"})
    for mark in marks(tileset):
        style = _style(styles, mark["label"], tileset.name, qgis_expression(mark_filter(mark["mark"], year)))
        _symbol(style, "fill", mark["opacity"], "SimpleFill", {"color": qgis_color(mark["color"]), "outline_style": "no"})
    outline = _style(styles, "outline", tileset.name, "")
    _symbol(
        outline,
        "line",
        OUTLINE["opacity"],
        "SimpleLine",
        {"line_color": qgis_color(OUTLINE["color"]), "line_width": f"{OUTLINE['width_px']:g}", "line_width_unit": "Pixel"},
    )
    return element


def labeling(tileset: Tileset) -> ElementTree.Element:
    """Feature names over each polygon (inside it), from `LABEL_MINZOOM`, with a white halo."""
    element = ElementTree.Element("labeling", type="basic")
    styles = ElementTree.SubElement(element, "styles")
    settings = ElementTree.SubElement(_style(styles, "names", tileset.name, "", **{"min-zoom": str(LABEL_MINZOOM)}), "settings")
    text = ElementTree.SubElement(
        settings,
        "text-style",
        fieldName=NAME,
        isExpression="0",
        fontSize="8",
        fontSizeUnit="Point",
        textColor="40,40,40,255",
    )
    ElementTree.SubElement(
        text, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM", bufferColor="255,255,255,255"
    )
    ElementTree.SubElement(settings, "placement", placement="1", centroidInside="1")  # over the point, inside
    return element


def layer_title(tileset: Tileset, year: int | None) -> str:
    when = f" in {year}" if year is not None else ""
    return f"Violent crimes per sq mi{when}: {tileset.title}"


def layer_abstract(provenance: Provenance) -> str:
    """The layer's description in QGIS (its properties' Metadata): the build's title and caveat."""
    caveat = f" {provenance.caveat}" if provenance.caveat else ""
    return f"{provenance.title}. Violent crimes per square mile: incidents reported by police, per year and all years.{caveat}"


def _provenance(layer: ElementTree.Element, provenance: Provenance) -> None:
    """The build's title, description and attribution (with its link), where QGIS keeps a layer's."""
    ElementTree.SubElement(layer, "title").text = provenance.title
    ElementTree.SubElement(layer, "abstract").text = layer_abstract(provenance)
    ElementTree.SubElement(layer, "attribution", href=provenance.attribution_url or "").text = provenance.attribution


def qlr(tileset: Tileset, base_url: str, provenance: Provenance, selection: YearSelection = None) -> str:
    """A QGIS layer definition for `tileset` served under `base_url` (no trailing slash), styled
    on the density of the selected year (None or `"all"`: all years, average per year, which the
    style URL also draws), credited as `provenance` says."""
    year = None if selection == ALL_YEARS else selection
    layer_id = f"crimetiles_{tileset.name}" + (f"_{year}" if year is not None else "")
    title = layer_title(tileset, year)
    style_url = f"{base_url}/styles/{tileset.name}.json" if year is None else None
    source = qgis_source(tileset.name, base_url, tileset.minzoom, tileset.maxzoom, style_url)
    root = ElementTree.Element("qlr")
    group = ElementTree.SubElement(root, "layer-tree-group", expanded="1", checked="Qt::Checked", name="")
    ElementTree.SubElement(
        group,
        "layer-tree-layer",
        expanded="1",
        checked="Qt::Checked",
        id=layer_id,
        name=title,
        providerKey="vectortile",
        source=source,
    )
    layer = ElementTree.SubElement(
        ElementTree.SubElement(root, "maplayers"),
        "maplayer",
        type="vector-tile",
        hasScaleBasedVisibilityFlag="0",
        minScale="1e+08",
        maxScale="0",
        styleCategories="AllStyleCategories",
    )
    for tag, text in (("id", layer_id), ("datasource", source), ("layername", title)):
        ElementTree.SubElement(layer, tag).text = text
    ElementTree.SubElement(
        ElementTree.SubElement(ElementTree.SubElement(layer, "srs"), "spatialrefsys"), "authid"
    ).text = "EPSG:3857"
    ElementTree.SubElement(layer, "provider").text = "vectortile"
    _provenance(layer, provenance)
    layer.append(renderer(tileset, year))
    layer.append(labeling(tileset))
    ElementTree.indent(root)
    return "<!DOCTYPE qgis-layer-definition>\n" + ElementTree.tostring(root, encoding="unicode") + "\n"
