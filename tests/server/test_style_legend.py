"""The style and legend of a tileset from its class breaks, against literal ColorBrewer YlOrRd colours
and hand-written MapLibre filters: pure functions, no build or server needed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crimetiles.artifact.manifest import ClassBreaks, Provenance, Tileset, ZoomBand
from crimetiles.server.style import class_colors, class_filters, format_number, legend, mark_filter, style

GREY = "#a8a8a8"
YLORRD_4 = ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c")
YLORRD_9 = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
DENSITY = ["get", "violent_per_sqmi"]


@pytest.mark.parametrize(
    ("breaks", "colors"),
    [
        ((), ("#f03b20",)),
        ((5.0,), ("#feb24c", "#f03b20")),
        ((1.0, 2.0), ("#ffeda0", "#feb24c", "#f03b20")),
        ((1.0, 2.0, 3.0), YLORRD_4),
        ((1.0, 2.0, 3.0, 4.0), ("#ffffcc", "#fed976", "#fc6e33", "#e31a1c", "#800026")),
        ((1.0, 2.0, 3.0, 4.0, 5.0), ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")),
        (tuple(float(b) for b in range(1, 7)), ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")),
        (
            tuple(float(b) for b in range(1, 8)),
            ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
        ),
        (tuple(float(b) for b in range(1, 9)), YLORRD_9),
        (tuple(float(b) for b in range(1, 12)), YLORRD_9),
    ],
)
def test_class_colors_are_colorbrewer_ylorrd(breaks, colors):
    assert class_colors(breaks) == colors


def test_class_filters_zero_then_lower_bound_inclusive():
    assert class_filters((10.0, 20.0)) == [
        ["==", DENSITY, 0],
        ["all", [">", DENSITY, 0], ["<", DENSITY, 10.0]],
        ["all", [">=", DENSITY, 10.0], ["<", DENSITY, 20.0]],
        [">=", DENSITY, 20.0],
    ]


def test_class_filters_without_breaks_and_on_a_year_field():
    year = ["get", "violent_per_sqmi_2014"]
    assert class_filters((), "violent_per_sqmi_2014") == [["==", year, 0], [">", year, 0]]


def test_legend_labels_and_colours():
    assert legend((0.5, 12.0, 250.0)) == [
        {"label": "0", "color": GREY},
        {"label": "under 0.5", "color": YLORRD_4[0]},
        {"label": "0.5 – 12", "color": YLORRD_4[1]},
        {"label": "12 – 250", "color": YLORRD_4[2]},
        {"label": "250 or more", "color": YLORRD_4[3]},
    ]


def test_legend_without_breaks():
    assert legend(()) == [{"label": "0", "color": GREY}, {"label": "more than 0", "color": "#f03b20"}]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.0, "1,234"),
        (2500.7, "2,501"),
        (100.0, "100"),
        (100.4, "100"),
        (99.94, "99.9"),
        (12.0, "12"),
        (1.0, "1"),
        (1.5, "1.5"),
        (1.96, "2.0"),  # one decimal from 1 up: rounded up to 2, it keeps its ".0"
        (0.0, "0"),
        (0.35, "0.35"),
        (0.061, "0.061"),
        (-0.5, "-0.5"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def tracts(breaks: tuple[float, ...]) -> Tileset:
    return Tileset(
        name="tracts",
        title="Census tracts",
        minzoom=8,
        maxzoom=14,
        bands=(ZoomBand("tracts", 8, 14),),
        class_breaks=ClassBreaks("quantile", breaks),
        archive=None,
    )


def test_style_layers_in_drawing_order():
    provenance = Provenance("Springfield assaults", "Police <Springfield> & Shelbyville", "https://police.test/?a=1&b=2")
    document = style(tracts((3.0, 40.0)), "https://maps.test/tiles/tracts.json", provenance)
    colors = ("#ffeda0", "#feb24c", "#f03b20")
    assert document["version"] == 8
    assert document["name"] == "Springfield assaults: Census tracts"
    credit = '<a href="https://police.test/?a=1&amp;b=2">Police &lt;Springfield&gt; &amp; Shelbyville</a>'
    assert document["sources"] == {
        "tracts": {"type": "vector", "url": "https://maps.test/tiles/tracts.json", "attribution": credit}
    }
    fills, outline = document["layers"][:-1], document["layers"][-1]
    assert [layer["id"] for layer in fills] == ["tracts-class-0", "tracts-class-1", "tracts-class-2", "tracts-class-3"]
    assert [layer["paint"] for layer in fills] == [{"fill-color": color, "fill-opacity": 0.8} for color in (GREY, *colors)]
    assert [layer["filter"] for layer in fills] == [
        ["==", DENSITY, 0],
        ["all", [">", DENSITY, 0], ["<", DENSITY, 3.0]],
        ["all", [">=", DENSITY, 3.0], ["<", DENSITY, 40.0]],
        [">=", DENSITY, 40.0],
    ]
    assert [layer["metadata"] for layer in fills] == [
        {"crimetiles:class": label} for label in ("0", "under 3", "3 – 40", "40 or more")
    ]
    assert all(layer["type"] == "fill" and layer["source"] == layer["source-layer"] == "tracts" for layer in fills)
    assert outline == {
        "id": "tracts-line",
        "type": "line",
        "source": "tracts",
        "source-layer": "tracts",
        "paint": {
            "line-color": "#4d4d4d",
            "line-opacity": 0.6,
            "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 1.0],
        },
    }
    assert document["metadata"] == {
        "crimetiles:title": "Springfield assaults",
        "crimetiles:caveat": None,
        "crimetiles:tileset": "tracts",
        "crimetiles:field": "violent_per_sqmi",
        "crimetiles:units": "violent crimes per sq mi",
        "crimetiles:legend": [
            {"label": "0", "color": GREY},
            {"label": "under 3", "color": colors[0]},
            {"label": "3 – 40", "color": colors[1]},
            {"label": "40 or more", "color": colors[2]},
        ],
        "crimetiles:marks": [],  # a tileset neither marking unstable areas nor withholding any
        "crimetiles:year-fields": ["violent_per_sqmi", "unstable", "suppressed"],
        "crimetiles:fill-layers": ["tracts-class-0", "tracts-class-1", "tracts-class-2", "tracts-class-3"],
    }


def test_unstable_areas_are_drawn_paler_and_withheld_ones_white_with_the_legend_saying_so():
    tileset = replace(tracts((3.0, 40.0)), unstable_below=20, suppress_below=5)
    document = style(tileset, "https://maps.test/tiles/tracts.json", Provenance())
    classes, marks, outline = document["layers"][:4], document["layers"][4:6], document["layers"][6]
    assert [layer["id"] for layer in classes] == document["metadata"]["crimetiles:fill-layers"]
    assert outline["id"] == "tracts-line"
    unstable = ["==", ["get", "unstable"], True]
    withheld = ["==", ["get", "suppressed"], True]
    assert marks == [
        {
            "id": "tracts-unstable",
            "type": "fill",
            "source": "tracts",
            "source-layer": "tracts",
            "filter": ["all", unstable, ["!=", ["get", "suppressed"], True]],
            "metadata": {"crimetiles:mark": "Unstable: fewer than 20 incidents, a wide 95 % interval (drawn paler)"},
            "paint": {"fill-color": "#ffffff", "fill-opacity": 0.5},
        },
        {
            "id": "tracts-suppressed",
            "type": "fill",
            "source": "tracts",
            "source-layer": "tracts",
            "filter": withheld,
            "metadata": {"crimetiles:mark": "Withheld to protect counts under 5: not published"},
            "paint": {"fill-color": "#ffffff", "fill-opacity": 0.8},
        },
    ]
    assert document["metadata"]["crimetiles:marks"] == [
        {"mark": "unstable", "below": 20, "label": marks[0]["metadata"]["crimetiles:mark"], "color": "#ffffff", "opacity": 0.5},
        {"mark": "suppressed", "below": 5, "label": marks[1]["metadata"]["crimetiles:mark"], "color": "#ffffff", "opacity": 0.8},
    ]
    assert mark_filter("unstable", 2014) == [
        "all",
        ["==", ["get", "unstable_2014"], True],
        ["!=", ["get", "suppressed_2014"], True],
    ]


def test_nine_classes_are_drawn_and_more_are_refused_rather_than_drawn_short():
    """YlOrRd has nine colours: a build makes at most nine classes (`--classes` 2-9). A manifest
    with more breaks has more classes than colours: its style is refused, never drawn without
    its top classes."""
    nine = style(tracts(tuple(float(b) for b in range(1, 9))), "https://maps.test/tiles/tracts.json", Provenance())
    assert [layer["paint"]["fill-color"] for layer in nine["layers"][:-1]] == [GREY, *YLORRD_9]
    assert nine["layers"][-2]["filter"] == [">=", DENSITY, 8.0]
    with pytest.raises(ValueError, match="shorter"):
        style(tracts(tuple(float(b) for b in range(1, 10))), "https://maps.test/tiles/tracts.json", Provenance())
