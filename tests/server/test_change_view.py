"""The change view's rules in Python (server/change_view.py, what `/map.png?change=` draws) against
the page's own, run in node on the same input: on every Durham layer summary and pair of years the
same differences, breaks, areas of no clear change and legend; the same verdicts on a grid of
counts (two zeros among them); the same breaks where 2 significant digits round a tie; the same
reading of `change=`."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crimetiles.artifact.manifest import read_manifest
from crimetiles.server.change_view import (
    YearPair,
    change_breaks,
    change_legend,
    change_subtitle,
    change_verdict,
    layer_changes,
    parse_change,
)
from crimetiles.server.style import style
from tests.static.node import node_answer

STATIC = Path(__file__).resolve().parents[2] / "static"
COUNTS = [(k1, k2) for k1 in (0, 1, 2, 5, 9, 10, 19, 20, 40, 100) for k2 in (0, 1, 3, 6, 10, 17, 20, 31, 60, 150, 400)]
DIFFERENCES = [
    [0.125, -0.125, 0.125, 0.125, 0],  # every quartile 0.125: 0.13 halves up, as toPrecision does (not 0.12)
    [2.5, -2.5, 99.5, 99.5, -99.5, 0.0345, None],
    [1, 1, 1, -1, 1.01],
    [0, 0, None],
    [1234.5, -0.00456, 17, -17, 3],
]
"""Differences whose quartiles land on a rounding tie, coincide, or hold nothing."""
CHANGE_TEXTS = [
    "2014-2016", "2012-2013", "2016-2014", "2014-2014", "1999-2016", "2014-2017", "2014-2016 ", " 2014-2016",
    "2014-2016\n", "2014\u20132016", "\uff12\uff10\uff11\uff14-2016", "2014-2016-2018", "201-2016", "abc", "", None,
]  # fmt: skip
SCRIPT = """
import { readFileSync } from 'node:fs';
import { changeBreaks, changeLegend, layerChanges } from '%(change)s';
import { changeVerdict } from '%(data)s';
import { parseChange } from '%(url_state)s';
const { summaries, pairs, styles, legendBreaks, counts, differences, texts, years } = JSON.parse(process.argv[1]);
const changesOf = (summary) => pairs.map(([since, year]) => {
  const { differences, unclearIds } = layerChanges(summary, since, year);
  return { differences, unclearIds, breaks: changeBreaks(differences) };
});
console.log(JSON.stringify({
  layers: summaries.map((path) => changesOf(JSON.parse(readFileSync(path, 'utf8')))),
  legends: styles.map((style) => changeLegend(style, legendBreaks, '2014', '2016')),
  verdicts: counts.map(([k1, k2]) => changeVerdict(k1, k2)),
  breaks: differences.map(changeBreaks),
  parsed: texts.map((text) => parseChange(text, years)),
}));
"""
MODULES = {"change": "change.js", "data": "compass/data.js", "url_state": "url_state.js"}
"""The page's modules the script imports, under static/."""
LEGEND_BREAKS = (-7, -5, -0.35, 0.35, 5, 7)
LEGEND_TILESETS = ("tracts", "hex")
"""One tileset that withholds nothing, one that withholds small counts."""


@pytest.fixture(scope="module")
def build(durham_build: Path) -> dict:
    manifest = read_manifest(durham_build)
    years = [str(year) for year in manifest.years]
    styles = [style(manifest.tilesets[name], "", manifest.provenance) for name in LEGEND_TILESETS]
    summaries = [str(durham_build / path) for path in manifest.summaries.values()]
    return {"manifest": manifest, "years": years, "styles": styles, "summaries": summaries}


@pytest.fixture(scope="module")
def page(build: dict) -> dict:
    script = SCRIPT % {name: (STATIC / path).as_uri() for name, path in MODULES.items()}
    argument = {
        "summaries": build["summaries"],
        "pairs": list(itertools.combinations(build["years"], 2)),
        "styles": build["styles"],
        "legendBreaks": LEGEND_BREAKS,
        "counts": COUNTS,
        "differences": DIFFERENCES,
        "texts": CHANGE_TEXTS,
        "years": build["years"],
    }
    return node_answer(script, argument)


def test_every_layer_and_pair_has_the_pages_differences_breaks_and_unclear_areas(build, page):
    pairs = list(itertools.combinations(build["manifest"].years, 2))
    assert len(page["layers"]) == 7 and len(pairs) == 10
    unclear_seen = 0
    for path, answers in zip(build["summaries"], page["layers"], strict=True):
        summary = json.loads(Path(path).read_text())
        for (since, year), answer in zip(pairs, answers, strict=True):
            changes = layer_changes(summary, YearPair(since, year))
            where = (summary["layer"], since, year)
            assert list(changes.differences) == answer["differences"], where
            assert list(changes.unclear_ids) == answer["unclearIds"], where
            assert list(change_breaks(changes.differences)) == answer["breaks"], where
            unclear_seen += len(answer["unclearIds"])
    assert unclear_seen > 0


def test_the_verdicts_are_the_pages_on_a_grid_of_counts(page):
    assert [change_verdict(k1, k2) for k1, k2 in COUNTS] == page["verdicts"]
    assert {"rose", "fell", "no clear change"} == set(page["verdicts"])
    assert change_verdict(0, 0) == "no clear change"


def test_the_breaks_round_as_the_page_rounds(page):
    assert [list(change_breaks(differences)) for differences in DIFFERENCES] == page["breaks"]
    assert page["breaks"][0] == [-0.13, 0.13]


def test_the_legend_is_the_pages(build, page):
    pair = YearPair(2014, 2016)
    for document, legend in zip(build["styles"], page["legends"], strict=True):
        rows = change_legend(document, LEGEND_BREAKS, pair)
        assert [row.label for row in rows] == [row["label"] for row in legend["rows"]]
        classes = rows[: len(legend["keyColors"])]
        assert [row.fills[0][0] for row in classes] == legend["keyColors"]
        unclear, *withheld = rows[len(classes) :]
        assert unclear.fills == (classes[-1].fills[0], ("#ffffff", 0.6))
        assert [row.fills[0][0] for row in withheld] == [row["background"] for row in legend["rows"][len(classes) + 1 :]]
        assert change_subtitle(pair) == legend["subtitle"]
    assert [len(legend["rows"]) for legend in page["legends"]] == [8, 9]  # hex withholds: one row more


def test_change_is_read_as_the_page_reads_it(build, page):
    years = build["manifest"].years
    ours = [parse_change(text, years) for text in CHANGE_TEXTS]
    assert [pair and {"since": str(pair.since), "year": str(pair.year)} for pair in ours] == page["parsed"]
    assert sum(pair is not None for pair in ours) == 2


def test_the_pages_read_change_without_loading_scipy():
    """The pages parse `change=` for their card and first view; scipy (about half a second and
    tens of MB in every worker) loads only with the first change view drawn."""
    code = "import sys, crimetiles.server.app; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "False\n"
