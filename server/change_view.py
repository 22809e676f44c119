"""The change view (`change=2014-2016`) for the server's pictures of the map: the page's rules
(static/change.js, static/compass/data.js `changeOf`/`changeVerdict`, static/url_state.js
`parseChange`) in Python, so that `/map.png` draws what the page draws. Pure: no Flask, no Skia.

Each area is coloured by the difference of its density between two study years on ColorBrewer
PuOr, with breaks symmetric about 0 from the layer summary's differences; an area whose change the
exact conditional binomial test (two-sided, 95 %) does not find clear is washed paler; an area
withheld in either year is drawn as the tileset's style draws withheld areas.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crimetiles.artifact.fields import COUNT, DENSITY, ID, SUPPRESSED, density_field, suppressed_field

PUOR = {
    1: ("#f7f7f7",),
    3: ("#998ec3", "#f7f7f7", "#f1a340"),
    5: ("#5e3c99", "#b2abd2", "#f7f7f7", "#fdb863", "#e66101"),
    7: ("#542788", "#998ec3", "#d8daeb", "#f7f7f7", "#fee0b6", "#f1a340", "#b35806"),
}
"""ColorBrewer PuOr (colour-blind safe) by number of classes, from the largest fall (purple) to the
largest rise (orange); the middle class, which holds 0, a neutral grey."""
BREAK_QUANTILES = (0.25, 0.5, 0.75)
"""The share of areas (by size of change) below each break above 0."""
BREAK_DIGITS = 2
UNCLEAR_WASH = {"color": "#ffffff", "opacity": 0.6}
"""Drawn over an area with no clear change: its class colour shows, paler."""
LEVEL = 0.95
NO_CLEAR_CHANGE = "no clear change"
TEST_NAME = "exact conditional binomial test of the two Poisson counts, 95 %"
CHANGE_TEXT = re.compile(r"([0-9]{4})-([0-9]{4})")
"""`change=FIRST-SECOND`, ASCII digits only (as the page's `\\d`)."""
MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class YearPair:
    """The two years of a change view: `since` earlier than `year`, both study years."""

    since: int
    year: int

    @property
    def text(self) -> str:
        """The `change=` value: `2014-2016`."""
        return f"{self.since}-{self.year}"


def parse_change(text: str | None, years: Sequence[int]) -> YearPair | None:
    """The pair of `change=FIRST-SECOND` (`text`), the first earlier, both of `years`; None for
    anything else (no value, one year, the same year twice, a year the build lacks, the later year
    first, garbage), as the page's `parseChange`."""
    match = CHANGE_TEXT.fullmatch(text or "")
    if not match:
        return None
    since, year = match.groups()
    known = {str(study_year) for study_year in years}
    return YearPair(int(since), int(year)) if since in known and year in known and int(since) < int(year) else None


def change_verdict(first: int, second: int) -> str:
    """`rose` or `fell` when the exact two-sided test of `first` given `first + second` under
    Binomial(sum, 1/2) rejects no change at 95 %, else `no clear change` (two zeros included), as
    the page's `changeVerdict`."""
    from scipy.stats import binomtest  # scipy loads with the first change drawn: the pages import this module

    total = first + second
    if total == 0 or binomtest(first, total, 0.5).pvalue >= 1 - LEVEL:
        return NO_CLEAR_CHANGE
    return "rose" if second > first else "fell"


@dataclass(frozen=True)
class LayerChanges:
    """Every area's change in a layer summary between a pair of years."""

    differences: tuple[float | None, ...]
    """Per sq mi, in the summary's area order; None where either year is withheld."""
    unclear_ids: tuple[str, ...]
    """The areas with no clear change."""


def layer_changes(summary: dict[str, Any], pair: YearPair) -> LayerChanges:
    """The changes of a layer summary (docs/artifact.md) from `pair.since` to `pair.year`, as the
    page's `layerChanges`."""
    areas = summary["areas"]
    first, second = (summary["years"].index(year) for year in (pair.since, pair.year))
    differences: list[float | None] = []
    unclear: list[str] = []
    for area, counts, densities in zip(areas[ID], areas[COUNT], areas[DENSITY], strict=True):
        if counts[first] is None or counts[second] is None:
            differences.append(None)
            continue
        differences.append(densities[second] - densities[first])
        if change_verdict(counts[first], counts[second]) == NO_CLEAR_CHANGE:
            unclear.append(area)
    return LayerChanges(tuple(differences), tuple(unclear))


def _quantile(ordered: list[float], q: float) -> float:
    """The `q` quantile of sorted numbers, linear between the two nearest, in the page's own
    arithmetic (numpy's lerp may differ in the last bit, and a break must be the page's exactly)."""
    at = (len(ordered) - 1) * q
    below = math.floor(at)
    return ordered[below] + (ordered[min(below + 1, len(ordered) - 1)] - ordered[below]) * (at - below)


def _nice(value: float) -> float:
    """`value` (> 0) to 2 significant digits, halves up on its exact binary value, as JavaScript's
    `toPrecision` rounds (Python's `%g` rounds halves to even: 0.125 would give 0.12, not 0.13)."""
    exact = Decimal(value)
    return float(exact.quantize(Decimal(1).scaleb(exact.adjusted() - BREAK_DIGITS + 1), rounding=ROUND_HALF_UP))


def change_breaks(differences: Sequence[float | None]) -> tuple[float, ...]:
    """The change classes' breaks: symmetric about 0 (-c, -b, -a, a, b, c), a, b and c the
    quartiles of the sizes of the changes above 0 rounded to 2 significant digits, so that 0 is in
    the middle class [-a, a); fewer when the rounded quartiles coincide, none when no area changed."""
    sizes = sorted(abs(value) for value in differences if value is not None and value != 0)
    if not sizes:
        return ()
    upper = [value for value in dict.fromkeys(_nice(_quantile(sizes, q)) for q in BREAK_QUANTILES) if value > 0]
    return (*(-value for value in reversed(upper)), *upper)


def change_colors(breaks: Sequence[float]) -> tuple[str, ...]:
    """One colour per class of `breaks` (len(breaks) + 1 classes), from the largest fall up."""
    return PUOR[len(breaks) + 1]


def _signed_break(value: float) -> str:
    """A break as the legend shows it: a sign always (+, or a minus sign), up to 3 significant
    digits, en-US grouping (the page's `toLocaleString`)."""
    places = 2 - math.floor(math.log10(abs(value)))
    text = f"{round(abs(value), places):,.{max(places, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{MINUS if value < 0 else '+'}{text}"


@dataclass(frozen=True)
class ChangeLegendRow:
    """A row of the change view's legend: its label and the fills its swatch shows, in order
    (colour, opacity)."""

    label: str
    fills: tuple[tuple[str, float], ...]


def change_legend_rows(breaks: Sequence[float]) -> list[tuple[str, str]]:
    """The legend's (label, colour) of the change classes, from the largest fall up, as the page's
    `changeLegendRows`."""
    colors = change_colors(breaks)
    if not breaks:
        return [("no change", colors[0])]
    rows = []
    for k, color in enumerate(colors):
        if k == 0:
            label = f"fell by more than {_signed_break(breaks[0])[1:]}"
        elif k == len(breaks):
            label = f"rose by {_signed_break(breaks[k - 1])[1:]} or more"
        else:
            label = f"{_signed_break(breaks[k - 1])} to {_signed_break(breaks[k])}"
        rows.append((label, color))
    return rows


def withheld_mark(style: dict[str, Any]) -> dict[str, Any] | None:
    """How the tileset's style draws a withheld area (its `suppressed` mark), or None when the
    build withholds nothing there."""
    return next((mark for mark in style["metadata"].get("crimetiles:marks", []) if mark["mark"] == SUPPRESSED), None)


def class_opacity(style: dict[str, Any]) -> float:
    """The opacity the tileset's style fills its classes with (its first fill layer's)."""
    return next(layer for layer in style["layers"] if layer["type"] == "fill")["paint"]["fill-opacity"]


def change_legend(style: dict[str, Any], breaks: Sequence[float], pair: YearPair) -> list[ChangeLegendRow]:
    """The change view's legend, as the page's `changeLegend`: the classes at the fills' opacity,
    the wash of no clear change over the top class, then the withheld areas as `style` draws them."""
    opacity = class_opacity(style)
    classes = [ChangeLegendRow(label, ((color, opacity),)) for label, color in change_legend_rows(breaks)]
    wash = (UNCLEAR_WASH["color"], UNCLEAR_WASH["opacity"])
    rows = [*classes, ChangeLegendRow(f"No clear change (drawn paler): {TEST_NAME}", (*classes[-1].fills, wash))]
    withheld = withheld_mark(style)
    if withheld:
        label = f"Withheld in {pair.since} or {pair.year}, to protect counts under {withheld['below']}"
        rows.append(ChangeLegendRow(label, ((withheld["color"], withheld["opacity"]),)))
    return rows


def change_subtitle(pair: YearPair) -> str:
    """What the change view shows, as the page's legend heads it."""
    return f"change in incidents per sq mi · {pair.since} to {pair.year}"


def _color_expression(breaks: Sequence[float], pair: YearPair) -> Any:
    """The fill colour of an area by its change class, from its tile properties."""
    colors = change_colors(breaks)
    if not breaks:
        return colors[0]
    difference = ["-", ["to-number", ["get", density_field(pair.year)]], ["to-number", ["get", density_field(pair.since)]]]
    return ["step", difference, colors[0], *(item for k, limit in enumerate(breaks) for item in (limit, colors[k + 1]))]


def _withheld(pair: YearPair) -> list[Any]:
    return ["any", *(["==", ["get", suppressed_field(year)], True] for year in (pair.since, pair.year))]


def _published(pair: YearPair) -> list[Any]:
    return ["all", *(["!=", ["get", suppressed_field(year)], True] for year in (pair.since, pair.year))]


def _unclear(ids: Sequence[str]) -> list[Any]:
    return ["match", ["get", ID], list(dict.fromkeys(ids)), True, False] if ids else ["==", ["get", ID], ""]


def change_layers(style: dict[str, Any], breaks: Sequence[float], changes: LayerChanges, pair: YearPair) -> list[dict[str, Any]]:
    """The change view's layers of a tileset (its `style`), as the page shows them (`changeLayers`
    filled by `drawChange`): the areas published in both years by class, the wash over those with
    no clear change, and the withheld ones as the style draws them (opacity 0 when nothing is)."""
    name = style["metadata"]["crimetiles:tileset"]
    withheld = withheld_mark(style) or {"color": UNCLEAR_WASH["color"], "opacity": 0}
    common = {"type": "fill", "source": name, "source-layer": name}
    return [
        {
            **common,
            "id": f"{name}-change",
            "filter": _published(pair),
            "paint": {"fill-color": _color_expression(breaks, pair), "fill-opacity": class_opacity(style)},
        },
        {
            **common,
            "id": f"{name}-change-unclear",
            "filter": _unclear(changes.unclear_ids),
            "paint": {"fill-color": UNCLEAR_WASH["color"], "fill-opacity": UNCLEAR_WASH["opacity"]},
        },
        {
            **common,
            "id": f"{name}-change-withheld",
            "filter": _withheld(pair),
            "paint": {"fill-color": withheld["color"], "fill-opacity": withheld["opacity"]},
        },
    ]


def change_style(style: dict[str, Any], breaks: Sequence[float], changes: LayerChanges, pair: YearPair) -> dict[str, Any]:
    """The tileset's `style` showing the change view: its class fills and marks replaced by the
    change layers, under its other layers (the outlines), as the page hides the one and shows the
    other."""
    others = [layer for layer in style["layers"] if layer["type"] != "fill"]
    return {**style, "layers": [*change_layers(style, breaks, changes, pair), *others]}
