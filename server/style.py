"""MapLibre style (spec v8) and legend for a tileset: pure functions of the manifest."""

from __future__ import annotations

from typing import Any

from crimetiles.artifact.fields import DENSITY, SUPPRESSED, UNSTABLE, suppressed_field, unstable_field
from crimetiles.artifact.manifest import Provenance, Tileset

YLORRD = {
    2: ("#feb24c", "#f03b20"),
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffcc", "#fed976", "#fc6e33", "#e31a1c", "#800026"),
    6: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"),
    7: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    8: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    9: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"),
}
"""ColorBrewer YlOrRd, sequential, by number of classes. The default five are spread wider along the
same ramp (its ends and an orange between two of its own) so that neighbouring classes stay apart
for the common colour-vision deficiencies, paler (unstable) too: tests/test_palette.py simulates them."""
ZERO_COLOR = "#a8a8a8"
"""Exactly zero incidents: a neutral grey, outside the sequential ramp (darker than its lightest
yellow, which a lighter grey would match for tritanopia)."""
UNITS = "violent crimes per sq mi"
FILL_OPACITY = 0.8
WITHHELD_COLOR = "#ffffff"
"""A withheld count: white, outlined, outside the ramp (no class: its density is not published)."""
UNSTABLE_WASH = {"color": "#ffffff", "opacity": 0.5}
"""Drawn over an unstable area's class colour: the class shows, paler (reduced contrast)."""
YEAR_FIELDS = (DENSITY, UNSTABLE, SUPPRESSED)
"""The fields the style's filters read: to show one year, swap each for its year's (`fields.year_field`)."""


def class_colors(breaks: tuple[float, ...]) -> tuple[str, ...]:
    """One colour per class above zero (len(breaks) + 1 classes)."""
    count = len(breaks) + 1
    return YLORRD[min(max(count, 2), 9)][:count] if count >= 2 else (YLORRD[2][1],)


def class_filters(breaks: tuple[float, ...], field: str = DENSITY) -> list[list[Any]]:
    """One filter per legend class, from 0 up: exactly 0, then each class with its lower bound
    inclusive. Plain filters rather than one `step` expression, so that QGIS's style converter,
    which reads filters but not data-driven `step`, draws the same classes as MapLibre."""
    value = ["get", field]
    bounds: list[float | None] = [None, *breaks, None]
    filters: list[list[Any]] = [["==", value, 0]]
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        lower = [">", value, 0] if low is None else [">=", value, low]
        filters.append(lower if high is None else ["all", lower, ["<", value, high]])
    return filters


def legend(breaks: tuple[float, ...]) -> list[dict[str, str]]:
    """Legend rows, label and colour, from 0 up."""
    colors = class_colors(breaks)
    bounds = [None, *breaks, None]
    rows = [{"label": "0", "color": ZERO_COLOR}]
    for i, color in enumerate(colors):
        low, high = bounds[i], bounds[i + 1]
        if low is None and high is None:
            label = "more than 0"
        elif low is None:
            label = f"under {format_number(high)}"
        elif high is None:
            label = f"{format_number(low)} or more"
        else:
            label = f"{format_number(low)} – {format_number(high)}"
        rows.append({"label": label, "color": color})
    return rows


def format_number(value: float) -> str:
    """1234.0 -> '1,234', 12.0 -> '12', 0.35 -> '0.35'."""
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2g}" if value < 1 else f"{value:,.1f}"


def mark_filter(mark: str, year: int | None = None) -> list[Any]:
    """The areas a mark (`unstable` or `suppressed`) draws, all years or `year`: withheld ones, or
    unstable ones whose numbers are published (a withheld one has its own mark). Plain comparisons,
    which QGIS's style converter reads (it skips `!`)."""
    withheld = ["==", ["get", suppressed_field(year)], True]
    if mark == SUPPRESSED:
        return withheld
    return ["all", ["==", ["get", unstable_field(year)], True], ["!=", ["get", suppressed_field(year)], True]]


def marks(tileset: Tileset) -> list[dict[str, Any]]:
    """What the map draws beside the classes, for the legend: unstable areas paler, withheld ones
    white (each only when the build marks or withholds any)."""
    rows = []
    if tileset.unstable_below > 0:
        label = f"Unstable: fewer than {tileset.unstable_below} incidents, a wide 95 % interval (drawn paler)"
        rows.append(
            {
                "mark": UNSTABLE,
                "below": tileset.unstable_below,
                "label": label,
                "color": UNSTABLE_WASH["color"],
                "opacity": UNSTABLE_WASH["opacity"],
            }
        )
    if tileset.suppress_below > 0:
        label = f"Withheld to protect counts under {tileset.suppress_below}: not published"
        mark = {"mark": SUPPRESSED, "below": tileset.suppress_below, "label": label, "color": WITHHELD_COLOR}
        rows.append({**mark, "opacity": FILL_OPACITY})
    return rows


def style(tileset: Tileset, tilejson_url: str, provenance: Provenance) -> dict[str, Any]:
    """The choropleth style of `tileset`, all-years density: one fill layer per class (filter and
    colour), the marks of unstable and withheld areas, then outlines, its source credited with the
    build's attribution. To show a year, swap each of `YEAR_FIELDS` for its year's in the filters."""
    breaks = tileset.class_breaks.values
    rows = legend(breaks)
    fills = [
        {
            "id": f"{tileset.name}-class-{i}",
            "type": "fill",
            "source": tileset.name,
            "source-layer": tileset.name,
            "filter": class_filter,
            "metadata": {"crimetiles:class": row["label"]},
            "paint": {"fill-color": row["color"], "fill-opacity": FILL_OPACITY},
        }
        for i, (class_filter, row) in enumerate(zip(class_filters(breaks), rows, strict=True))
    ]
    mark_layers = [
        {
            "id": f"{tileset.name}-{mark['mark']}",
            "type": "fill",
            "source": tileset.name,
            "source-layer": tileset.name,
            "filter": mark_filter(mark["mark"]),
            "metadata": {"crimetiles:mark": mark["label"]},
            "paint": {"fill-color": mark["color"], "fill-opacity": mark["opacity"]},
        }
        for mark in marks(tileset)
    ]
    outline = {
        "id": f"{tileset.name}-line",
        "type": "line",
        "source": tileset.name,
        "source-layer": tileset.name,
        "paint": {
            "line-color": "#4d4d4d",
            "line-opacity": 0.6,
            "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 1.0],
        },
    }
    return {
        "version": 8,
        "name": f"{provenance.title}: {tileset.title}",
        "metadata": {
            "crimetiles:title": provenance.title,
            "crimetiles:caveat": provenance.caveat,
            "crimetiles:tileset": tileset.name,
            "crimetiles:field": DENSITY,
            "crimetiles:units": UNITS,
            "crimetiles:legend": rows,
            "crimetiles:marks": marks(tileset),
            "crimetiles:year-fields": list(YEAR_FIELDS),
            "crimetiles:fill-layers": [fill["id"] for fill in fills],
        },
        "sources": {tileset.name: {"type": "vector", "url": tilejson_url, "attribution": provenance.attribution_html()}},
        "layers": [*fills, *mark_layers, outline],
    }
