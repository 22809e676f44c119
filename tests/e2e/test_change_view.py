"""The map's change view (`?change=2014-2016`) in a real browser on the Durham build: the colours
drawn, the tooltip's, the selected-areas panel's, the table's and the report's words, the legend, the
embed, the Change control and invalid values. Expected values come from the build's GeoParquet
layers and scipy's binomial test, never from the page's own code."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from tests.e2e.conftest import BACKGROUND, CENTRE_PIXEL, screenshot, wait_idle
from tests.e2e.test_compass import axe_violations, csp_refusals, require_axe
from tests.e2e.test_static_site import base, static_host  # noqa: F401 (fixtures: the exported site under nginx)

pytestmark = pytest.mark.browser
SINCE, YEAR = 2014, 2016
PUOR_7 = ["#542788", "#998ec3", "#d8daeb", "#f7f7f7", "#fee0b6", "#f1a340", "#b35806"]
"""ColorBrewer PuOr, 7 classes, from the largest fall (purple) to the largest rise (orange)."""
FILL_OPACITY = 0.8
UNCLEAR_WASH = 0.6
"""White over an area with no clear change, at this opacity (the legend: drawn paler)."""
TEST_WORDS = "exact conditional binomial test of the two Poisson counts, 95 %"
WAIT_DRAWN = "() => window.mapIdle === true && document.getElementById('legend-subtitle').textContent.includes(' to ')"
LAYER_AT_CENTRE = """() => {
  const {map, state, fillLayers} = window.crimetiles;
  const {width, height} = map.getCanvas().getBoundingClientRect();
  const found = map.queryRenderedFeatures([width / 2, height / 2], {layers: fillLayers[state.layer]});
  return found.map((f) => [f.layer.id, f.properties.id]);
}"""


@pytest.fixture(scope="module")
def blockgroups(durham_build) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")


def _hex(value: str) -> tuple[int, int, int]:
    return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))


def _verdict(k1: int, k2: int) -> str:
    """scipy's two-sided exact binomial test of k1 given k1 + k2 at 95 %."""
    if k1 + k2 == 0 or binomtest(k1, k1 + k2, 0.5).pvalue >= 0.05:
        return "no clear change"
    return "rose" if k2 > k1 else "fell"


def _breaks(differences: pd.Series) -> list[float]:
    """The README's rule: the quartiles of the sizes of the changes above 0, to 2 significant
    digits, and their negatives."""
    sizes = np.sort(np.abs(differences.dropna().to_numpy()))
    sizes = sizes[sizes > 0]
    upper = sorted({float(f"{q:.2g}") for q in np.quantile(sizes, [0.25, 0.5, 0.75])})
    return [-value for value in reversed(upper)] + upper


def _signed(value: float, digits: int) -> str:
    return f"{'+' if value >= 0 else '−'}{abs(value):,.{digits}f}"


def _sentence(k1: int, k2: int, d1: float, d2: float) -> str:
    """The page's words for a change, written here from the README's examples."""
    span = f"{d1:,.1f} to {d2:,.1f} per sq mi"
    percent = f"{_signed(100 * (k2 - k1) / k1, 0)} %"
    verdict = _verdict(k1, k2)
    if verdict == "no clear change":
        return f"no clear change ({span}, {percent})"
    return f"{verdict} from {span}, {percent}: a clear {'rise' if verdict == 'rose' else 'fall'}"


def _area_sentence(blockgroups: gpd.GeoDataFrame, area: str) -> str:
    row = blockgroups.loc[area]
    counts = int(row[f"violent_count_{SINCE}"]), int(row[f"violent_count_{YEAR}"])
    return _sentence(*counts, row[f"violent_per_sqmi_{SINCE}"], row[f"violent_per_sqmi_{YEAR}"])


def _study_sentence(blockgroups: gpd.GeoDataFrame) -> str:
    area = blockgroups["area_sqmi"].sum()
    k1, k2 = (int(blockgroups[f"violent_count_{year}"].sum()) for year in (SINCE, YEAR))
    return _sentence(k1, k2, round(k1 / area, 3), round(k2 / area, 3))


def _differences(blockgroups: gpd.GeoDataFrame) -> pd.Series:
    return blockgroups[f"violent_per_sqmi_{YEAR}"] - blockgroups[f"violent_per_sqmi_{SINCE}"]


def _pick(blockgroups: gpd.GeoDataFrame, verdict: str) -> str:
    """The largest block group (easy to hit at the map's centre) whose change has `verdict`, in a
    strong class (beyond the second break from 0: the wash of no clear change shows on it)."""
    verdicts = blockgroups.apply(
        lambda row: _verdict(int(row[f"violent_count_{SINCE}"]), int(row[f"violent_count_{YEAR}"])), axis=1
    )
    differences = _differences(blockgroups)
    strong = differences.abs() >= _breaks(differences)[-2]
    return blockgroups[(verdicts == verdict) & strong]["area_sqmi"].idxmax()


def _expected_colour(blockgroups: gpd.GeoDataFrame, area: str) -> tuple[float, ...]:
    """The class colour of the area's change at the fill's opacity over the background, under the
    white wash where the change is not clear."""
    differences = _differences(blockgroups)
    breaks = _breaks(differences)
    colour = _hex(PUOR_7[sum(limit <= differences[area] for limit in breaks)])
    drawn = [FILL_OPACITY * c + (1 - FILL_OPACITY) * b for c, b in zip(colour, BACKGROUND, strict=True)]
    row = blockgroups.loc[area]
    if _verdict(int(row[f"violent_count_{SINCE}"]), int(row[f"violent_count_{YEAR}"])) == "no clear change":
        drawn = [UNCLEAR_WASH * 255 + (1 - UNCLEAR_WASH) * c for c in drawn]
    return tuple(drawn)


def _open_at(page, url: str, frame: gpd.GeoDataFrame, area: str, zoom: int = 14) -> None:
    point = frame.geometry[area].representative_point()
    page.goto(f"{url}#{zoom}/{point.y:.6f}/{point.x:.6f}")
    page.wait_for_function(WAIT_DRAWN, timeout=30_000)


def _legend_rows(page) -> list[str]:
    return page.locator("#legend-rows li").all_inner_texts()


@pytest.mark.parametrize("verdict", ["rose", "fell", "no clear change"])
def test_an_area_is_drawn_in_its_change_class_and_the_tooltip_says_its_change(page, live_url, blockgroups, verdict):
    area = _pick(blockgroups, verdict)
    _open_at(page, f"{live_url}/?layer=blockgroups&change={SINCE}-{YEAR}", blockgroups, area)
    assert page.evaluate(LAYER_AT_CENTRE)[0] == ["blockgroups-change", area]
    red, green, blue, alpha = page.evaluate(CENTRE_PIXEL)
    assert alpha == 255
    assert (red, green, blue) == pytest.approx(_expected_colour(blockgroups, area), abs=3)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator("#tooltip")
    expected = _area_sentence(blockgroups, area)
    page.wait_for_function("(text) => document.getElementById('tooltip').innerText.includes(text)", arg=expected)
    assert f"Change {SINCE} to {YEAR}\n{expected}" in tooltip.inner_text()
    assert f"{blockgroups.loc[area, f'violent_per_sqmi_{YEAR}']:,.1f} incidents per sq mi" in tooltip.inner_text()
    # the selected-areas panel (the phone's sheet) says the selection's and the study area's change
    page.wait_for_selector("#selection-change")
    note = page.inner_text("#selection-change")
    assert note == f"{SINCE} to {YEAR}: The selection: {expected}. The study area: {_study_sentence(blockgroups)}."
    assert page.errors == []
    screenshot(page, f"change-view-{verdict.replace(' ', '-')}")


def test_the_legend_explains_the_classes_the_mark_and_the_test(page, live_url, blockgroups):
    _open_at(page, f"{live_url}/?layer=blockgroups&change={SINCE}-{YEAR}", blockgroups, _pick(blockgroups, "rose"), zoom=11)
    breaks = _breaks(_differences(blockgroups))
    assert len(breaks) == 6 and breaks[:3] == [-b for b in reversed(breaks[3:])]

    def shown(value: float) -> str:
        return f"{'+' if value > 0 else '−'}{abs(value):,.3g}"

    middle = [f"{shown(low)} to {shown(high)}" for low, high in zip(breaks[:-1], breaks[1:], strict=True)]
    assert _legend_rows(page) == [
        f"fell by more than {shown(breaks[0])[1:]}",
        *middle,
        f"rose by {shown(breaks[-1])[1:]} or more",
        f"No clear change (drawn paler): {TEST_WORDS}",
    ]
    assert page.inner_text("#legend-subtitle") == f"change in incidents per sq mi · {SINCE} to {YEAR}"
    assert (page.input_value("#year-select"), page.input_value("#change-select")) == (str(YEAR), str(SINCE))
    swatches = page.locator("#legend-key-swatches span").evaluate_all(
        "(spans) => spans.map((s) => getComputedStyle(s).backgroundColor)"
    )
    assert swatches == [f"rgb({', '.join(map(str, _hex(colour)))})" for colour in PUOR_7]


def test_the_embed_draws_the_change_and_links_to_it(page, live_url, blockgroups):
    area = _pick(blockgroups, "rose")
    _open_at(page, f"{live_url}/embed?layer=blockgroups&change={SINCE}-{YEAR}", blockgroups, area)
    red, green, blue, _ = page.evaluate(CENTRE_PIXEL)
    assert (red, green, blue) == pytest.approx(_expected_colour(blockgroups, area), abs=3)
    assert page.inner_text("#legend-subtitle") == f"change in incidents per sq mi · {SINCE} to {YEAR}"
    assert f"change={SINCE}-{YEAR}" in page.get_attribute("#full-map-link", "href")
    assert page.errors == []


def test_the_static_export_draws_the_change(page, base, blockgroups):  # noqa: F811
    """The exported site (PMTiles read with Range requests, the CSP in the page) draws the same."""
    area = _pick(blockgroups, "no clear change")
    refused = csp_refusals(page)
    _open_at(page, f"{base}?layer=blockgroups&change={SINCE}-{YEAR}", blockgroups, area)
    red, green, blue, _ = page.evaluate(CENTRE_PIXEL)
    assert (red, green, blue) == pytest.approx(_expected_colour(blockgroups, area), abs=3)
    assert page.inner_text("#legend-subtitle") == f"change in incidents per sq mi · {SINCE} to {YEAR}"
    assert page.errors == [] and refused == []


@pytest.mark.parametrize("value", ["2016-2014", "2014-2014", "1999-2016", "garbage", "2014-2016x", ""])
def test_an_invalid_change_is_ignored_with_the_normal_view(page, live_url, value):
    page.goto(f"{live_url}/?layer=blockgroups&year=2015&change={value}")
    wait_idle(page)
    assert page.inner_text("#legend-subtitle") == "incidents per sq mi · 2015"
    assert "change=" not in page.evaluate("() => location.search")
    assert page.input_value("#change-select") == ""
    assert page.evaluate("() => window.crimetiles.map.getLayoutProperty('blockgroups-class-1', 'visibility')") == "visible"
    assert page.errors == []


def test_the_change_control_sets_the_url_the_embed_snippet_and_is_off_for_all_years(page, live_url):
    page.goto(f"{live_url}/?layer=blockgroups&year={YEAR}")
    wait_idle(page)
    assert page.locator("#change-select option").all_inner_texts() == [
        "off",
        *[f"since {y}" for y in range(2012, YEAR)],
    ]
    page.select_option("#change-select", str(SINCE))
    page.wait_for_function(WAIT_DRAWN)
    assert f"change={SINCE}-{YEAR}" in page.evaluate("() => location.search")
    page.click("#embed-button")
    assert f"/embed?layer=blockgroups&year={YEAR}&change={SINCE}-{YEAR}" in page.input_value("#embed-code")
    page.keyboard.press("Escape")
    page.select_option("#year-select", "2015")  # the pair follows the year shown while its first year is earlier
    page.wait_for_function(WAIT_DRAWN)
    assert f"change={SINCE}-2015" in page.evaluate("() => location.search")
    assert page.inner_text("#legend-subtitle") == f"change in incidents per sq mi · {SINCE} to 2015"
    page.select_option("#year-select", str(SINCE))  # no longer earlier: the change view is off
    wait_idle(page)
    assert "change=" not in page.evaluate("() => location.search")
    assert page.input_value("#change-select") == ""
    page.select_option("#year-select", "all")
    wait_idle(page)
    assert "change=" not in page.evaluate("() => location.search")
    assert page.is_disabled("#change-select")
    assert page.inner_text("#legend-subtitle").startswith("incidents per sq mi")
    assert page.errors == []


def test_the_table_opens_with_the_pairs_change_and_the_report_says_it(page, live_url, blockgroups):
    area = _pick(blockgroups, "fell")
    page.goto(f"{live_url}/?layer=blockgroups&change={SINCE}-{YEAR}&selected={area}")
    page.wait_for_function(WAIT_DRAWN, timeout=30_000)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    assert page.input_value("#table-change") == str(SINCE)
    with page.expect_download() as download:
        page.click("#table-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == len(blockgroups)
    for row in rows:
        source = blockgroups.loc[row["Name"]]
        k1, k2 = int(source[f"violent_count_{SINCE}"]), int(source[f"violent_count_{YEAR}"])
        assert row["Verdict (exact test, 95 %)"] == _verdict(k1, k2)
        assert float(row[f"Change since {SINCE} (per sq mi)"]) == pytest.approx(_differences(blockgroups)[row["Name"]], abs=5e-4)
    page.click("#table-panel button.sort[data-key=change]")
    changes = [float(r[f"Change since {SINCE} (per sq mi)"]) for r in rows]
    first_shown = page.locator("#area-table tbody tr").first.get_attribute("data-id")
    assert _differences(blockgroups)[first_shown] == pytest.approx(max(changes), abs=5e-4)
    page.click("#table-panel .close")
    page.click("#report-button")
    page.wait_for_selector("#report-change")
    caption = page.inner_text("#report figcaption")
    assert caption.endswith(f"Colours: the change from {SINCE} to {YEAR}, as in the map's legend.")
    text = page.inner_text("#report-change")
    assert text.startswith(f"From {SINCE} to {YEAR} ")
    assert f"The selection: {_area_sentence(blockgroups, area)}." in text
    assert f"The study area: {_study_sentence(blockgroups)}." in text
    assert page.errors == []


def _largest_fall_row(cells: gpd.GeoDataFrame) -> str:
    """The legend's first row for a hex layer: its largest fall, of the cells published both years."""
    published = cells[(cells[f"suppressed_{SINCE}"] == False) & (cells[f"suppressed_{YEAR}"] == False)]  # noqa: E712
    largest_fall = _breaks(published[f"violent_per_sqmi_{YEAR}"] - published[f"violent_per_sqmi_{SINCE}"])[0]
    return f"fell by more than {abs(largest_fall):,.3g}"


def test_withheld_hex_cells_are_drawn_withheld_in_the_change_view(page, live_url, durham_build):
    cells = gpd.read_parquet(durham_build / "layers" / "hex9.parquet").set_index("id")
    withheld = cells[(cells[f"suppressed_{SINCE}"] == True) & (cells[f"suppressed_{YEAR}"] == False)]  # noqa: E712
    cell = withheld["violent_count_2016"].idxmax()
    _open_at(page, f"{live_url}/?layer=hex&change={SINCE}-{YEAR}", cells, cell, zoom=14.5)
    assert page.evaluate(LAYER_AT_CENTRE)[0] == ["hex-change-withheld", cell]
    red, green, blue, _ = page.evaluate(CENTRE_PIXEL)
    white = tuple(FILL_OPACITY * 255 + (1 - FILL_OPACITY) * b for b in BACKGROUND)
    assert (red, green, blue) == pytest.approx(white, abs=3)
    page.keyboard.press("Tab")
    page.focus("#map canvas")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('tooltip').innerText.includes('Change')")
    assert f"Change {SINCE} to {YEAR}\nwithheld to protect counts under 3" in page.inner_text("#tooltip")
    assert f"Withheld in {SINCE} or {YEAR}, to protect counts under 3" in _legend_rows(page)
    # the classes are those of the resolution drawn at this zoom (H3 9)
    assert _legend_rows(page)[0] == _largest_fall_row(cells)
    # zoomed out to H3 8, the classes are H3 8's
    coarser = gpd.read_parquet(durham_build / "layers" / "hex8.parquet")
    page.evaluate("() => window.crimetiles.map.jumpTo({zoom: 12.5})")
    page.wait_for_function(
        "(row) => document.querySelector('#legend-rows li').textContent === row", arg=_largest_fall_row(coarser)
    )
    assert _largest_fall_row(coarser) != _largest_fall_row(cells)


def test_axe_finds_no_violation_in_the_change_view(page, live_url):
    require_axe()
    refused = csp_refusals(page)
    page.goto(f"{live_url}/?layer=blockgroups&change={SINCE}-{YEAR}")
    page.wait_for_function(WAIT_DRAWN, timeout=30_000)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    assert axe_violations(page) == []
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    assert axe_violations(page) == []
    assert refused == []
