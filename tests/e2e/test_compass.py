"""The compass on the map page, in a real browser: selection, trend, distribution, search, table,
report, accessibility (axe-core) and the embed. Expected values are computed here from the build's
GeoParquet layers and manifest, never read back from the page's own code."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.stats import binomtest

from crimetiles.precompute.density import density_interval
from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser
YEARS = [2012, 2013, 2014, 2015, 2016]
FIRST, SECOND = "370630010011", "370630017074"
"""Two block groups: a dense one downtown and a large one to the north-west."""
AXE = os.environ.get("CRIMETILES_AXE", "")
"""axe-core's `axe.min.js` (.ci/run installs it with npm, like the style validator)."""

JUMP = """([lon, lat, zoom]) => new Promise((resolve) => {
  const map = window.crimetiles.map;
  map.once('idle', resolve);
  map.jumpTo({center: [lon, lat], zoom});
})"""
SELECTED_IS = "(ids) => JSON.stringify(window.crimetiles.compass.selection.ids) === JSON.stringify(ids)"
SELECTED_SET_IS = "(ids) => JSON.stringify([...window.crimetiles.compass.selection.ids].sort()) === JSON.stringify(ids)"
CELL_VALUES = "(cells) => cells.map((c) => +c.dataset.value)"


@pytest.fixture(scope="module")
def blockgroups(durham_build) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")


@pytest.fixture(scope="module")
def manifest(durham_build) -> dict:
    return json.loads((durham_build / "manifest.json").read_text(encoding="utf-8"))


def _open(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)


def _centre_on(page, frame: gpd.GeoDataFrame, area_id: str, zoom: float = 13) -> None:
    point = frame.geometry[area_id].representative_point()
    page.evaluate(JUMP, [point.x, point.y, zoom])


def _click_map_centre(page) -> None:
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _table_values(page, selector: str) -> list[float]:
    return [float(value) for value in page.locator(f"{selector} td").evaluate_all("(cells) => cells.map((c) => c.dataset.value)")]


def _classes(values: np.ndarray, breaks: list[float]) -> list[int]:
    """Areas per legend class by the rule of docs/artifact.md: class 0 is exactly 0, class 1 above 0
    and below breaks[0], class i >= 2 in [breaks[i-2], breaks[i-1]), the last from breaks[-1] up."""
    bounds = [0.0, *breaks, np.inf]
    counts = [int((values == 0).sum())]
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        inside = (values >= low) & (values < high) if low > 0 else (values > 0) & (values < high)
        counts.append(int(inside.sum()))
    return counts


def _check_trend(page, blockgroups: gpd.GeoDataFrame, selected: list[str]) -> None:
    """The trend table against the GeoParquet: the selection (total count / total area) and the
    study area (all block groups: total count / total area) every year, and each area's density."""
    page.wait_for_selector(f"#trend-table tr[data-series=area][data-id='{selected[-1]}']")
    chosen = blockgroups.loc[selected]
    area = chosen["area_sqmi"].sum()
    expected_selection = [chosen[f"violent_count_{year}"].sum() / area for year in YEARS]
    expected_study = [blockgroups[f"violent_count_{year}"].sum() / blockgroups["area_sqmi"].sum() for year in YEARS]
    # the selection is computed in the page from the exact counts and areas: float rounding only
    assert _table_values(page, "#trend-table tr[data-series=selection]") == pytest.approx(expected_selection, rel=1e-12)
    # the study area's densities are stored rounded to 3 decimals (docs/artifact.md)
    assert _table_values(page, "#trend-table tr[data-series=study-area]") == pytest.approx(expected_study, abs=5e-4)
    for area_id in selected:
        row = f"#trend-table tr[data-series=area][data-id='{area_id}']"
        assert _table_values(page, row) == [blockgroups.loc[area_id, f"violent_per_sqmi_{year}"] for year in YEARS]
        marked = [text.endswith(" unstable") for text in page.locator(f"{row} td").all_inner_texts()]
        assert marked == [bool(blockgroups.loc[area_id, f"unstable_{year}"]) for year in YEARS]
    header = page.locator("#trend-table thead th").all_inner_texts()
    assert header == ["Area", *map(str, YEARS)]
    _check_bands(page, "#trend-table", blockgroups, selected)


def _check_bands(page, table: str, frame: gpd.GeoDataFrame, selected: list[str]) -> None:
    """The chart's 95 % bands (the values it paints, per line) against the exact Poisson interval of
    the GeoParquet's counts, divided by the area and rounded outward as the build rounds
    (docs/artifact.md)."""
    bands = page.evaluate(f"() => document.querySelector('{table}').closest('figure').querySelector('.chart').bands")
    chosen = frame.loc[selected]
    for counts, area, band in [
        (chosen[[f"violent_count_{year}" for year in YEARS]].sum().to_numpy(), chosen["area_sqmi"].sum(), bands["selection"]),
        (frame[[f"violent_count_{year}" for year in YEARS]].sum().to_numpy(), frame["area_sqmi"].sum(), bands["study-area"]),
    ]:
        low, high = band["low"], band["high"]
        expected_low, expected_high = density_interval(counts, np.full(len(YEARS), area))
        assert low == pytest.approx(expected_low, rel=1e-3) and high == pytest.approx(expected_high, rel=1e-3)
        assert all(lo < value < hi for lo, value, hi in zip(low, counts / area, high, strict=True))


def test_select_two_areas_by_click_and_their_trend_matches_the_geoparquet(page, live_url, blockgroups):
    _open(page, f"{live_url}/?layer=blockgroups&year=2016")
    _centre_on(page, blockgroups, FIRST, 14)
    _click_map_centre(page)
    page.wait_for_function(SELECTED_IS, arg=[FIRST])
    _centre_on(page, blockgroups, SECOND, 13)
    _click_map_centre(page)
    page.wait_for_function(SELECTED_IS, arg=[FIRST, SECOND])
    assert f"selected={FIRST}%2C{SECOND}" in page.url or f"selected={FIRST},{SECOND}" in page.url
    assert page.locator("#charts").is_visible()
    assert page.locator("#charts-button").inner_text() == "Selected (2)"
    outlined = page.evaluate("() => JSON.stringify(window.crimetiles.map.getFilter('blockgroups-selected'))")
    assert FIRST in outlined and SECOND in outlined
    _check_trend(page, blockgroups, [FIRST, SECOND])
    screenshot(page, "compass-two-block-groups")
    page.click("#clear-selection")
    page.wait_for_function(SELECTED_IS, arg=[])
    assert "selected=" not in page.url
    # the charts redraw once the view they show is ready (panels.js: `shown()`), not at the click
    page.wait_for_function("() => !document.querySelector('#trend-table tr[data-series=selection]')", timeout=10_000)


def test_select_two_areas_by_keyboard(page, live_url, blockgroups):
    _open(page, f"{live_url}/?layer=blockgroups&year=2016")
    canvas = page.locator("#map canvas")
    _centre_on(page, blockgroups, FIRST, 14)
    canvas.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(SELECTED_IS, arg=[FIRST])
    _centre_on(page, blockgroups, SECOND, 13)
    canvas.focus()
    page.keyboard.press(" ")
    page.wait_for_function(SELECTED_IS, arg=[FIRST, SECOND])
    _check_trend(page, blockgroups, [FIRST, SECOND])
    assert page.locator("#charts .chip").evaluate_all("(chips) => chips.map((c) => c.dataset.id)") == [FIRST, SECOND]
    page.keyboard.press("Enter")  # the same key again takes the area out
    page.wait_for_function(SELECTED_IS, arg=[FIRST])
    page.locator(f"#charts .chip[data-id='{FIRST}'] button").press("Enter")
    page.wait_for_function(SELECTED_IS, arg=[])


def test_distribution_counts_the_layer_classes_and_a_bar_selects_its_areas(page, live_url, durham_build, manifest):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet")
    values = tracts["violent_per_sqmi_2014"].to_numpy()
    breaks = manifest["tilesets"]["tracts"]["class_breaks"]["values"]
    expected = _classes(values, breaks)
    assert sum(expected) == 60 and all(expected[1:])
    _open(page, f"{live_url}/?layer=tracts&year=2014")
    page.click("#charts-button")
    page.wait_for_selector("#distribution-table tbody tr")
    counts = page.locator("#distribution-table tbody tr td:nth-of-type(1)").evaluate_all(
        "(cells) => cells.map((c) => +c.dataset.value)"
    )
    assert counts == expected
    assert float(page.locator("#charts .chart-note").get_attribute("data-median")) == pytest.approx(np.median(values), abs=1e-9)
    # a click on the bar of the class "under <first break>" (class 1) selects exactly its tracts
    page.locator("#distribution-title + .chart").scroll_into_view_if_needed()  # below the trend's table
    over = page.locator("#distribution-title + .chart .u-over").bounding_box()
    page.mouse.click(over["x"] + over["width"] * 1.5 / len(expected), over["y"] + over["height"] - 3)
    in_class = sorted(tracts["id"][(values > 0) & (values < breaks[0])])
    page.wait_for_function("(n) => window.crimetiles.compass.selection.ids.length === n", arg=len(in_class))
    assert sorted(page.evaluate("() => window.crimetiles.compass.selection.ids")) == in_class
    selected_counts = page.locator("#distribution-table tbody tr td:nth-of-type(2)").evaluate_all(CELL_VALUES)
    assert selected_counts == [0, len(in_class), *[0] * (len(expected) - 2)]
    # the same from the keyboard: the table row's button of the last class
    page.locator("#distribution-table tbody tr").last.locator("button").press("Enter")
    top = sorted(tracts["id"][values >= breaks[-1]])
    page.wait_for_function(
        "(ids) => JSON.stringify([...window.crimetiles.compass.selection.ids].sort()) === JSON.stringify(ids)", arg=top
    )
    screenshot(page, "compass-distribution")


def test_search_finds_a_neighborhood_by_part_of_its_name_and_selects_it(page, live_url, durham_build):
    neighborhoods = gpd.read_parquet(durham_build / "layers" / "neighborhoods.parquet").set_index("id")
    _open(page, f"{live_url}/?layer=blockgroups&year=2015")
    page.fill("#search-input", "lbrig")
    option = page.locator("#search-results [role=option]").first
    option.wait_for()
    assert option.inner_text().startswith("Albright")
    page.keyboard.press("ArrowDown")
    assert page.locator("#search-input").get_attribute("aria-activedescendant") == "search-result-0"
    page.keyboard.press("Enter")
    page.wait_for_function(SELECTED_IS, arg=["Albright"])
    assert page.locator("#layer-select").input_value() == "neighborhoods"
    assert "layer=neighborhoods" in page.url and "selected=Albright" in page.url
    centre = page.evaluate("() => window.crimetiles.map.getCenter().toArray()")
    assert neighborhoods.geometry["Albright"].buffer(0.002).contains(shapely.Point(centre))
    page.wait_for_selector("#trend-table tr[data-series=area][data-id='Albright']")
    assert _table_values(page, "#trend-table tr[data-series=area]") == [
        neighborhoods.loc["Albright", f"violent_per_sqmi_{year}"] for year in YEARS
    ]


def test_search_by_block_group_id_and_by_hex_cell_id(page, live_url, durham_build):
    _open(page, f"{live_url}/?layer=neighborhoods")
    page.fill("#search-input", FIRST[:10])
    page.locator(f"#search-results [data-id='{FIRST}']").click()
    page.wait_for_function(SELECTED_IS, arg=[FIRST])
    assert page.locator("#layer-select").input_value() == "blockgroups"
    cells = gpd.read_parquet(durham_build / "layers" / "hex8.parquet")
    cell = cells.loc[cells["violent_count"].idxmax(), "id"]
    page.fill("#search-input", cell.upper())
    page.locator(f"#search-results [data-id='{cell}']").click()
    page.wait_for_function(SELECTED_IS, arg=[cell])
    assert page.locator("#layer-select").input_value() == "hex"
    assert 12 <= page.evaluate("() => window.crimetiles.map.getZoom()") < 14  # the zooms that draw resolution 8


def _table_cells(page) -> list[list[str]]:
    """The table as shown, without the checkbox column."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#area-table tr')].map((tr) =>
             [...tr.children].filter((cell) => !cell.classList.contains('select-cell') && cell.textContent !== 'Selected')
               .map((cell) => cell.textContent))"""
    )


def test_table_ranks_sorts_and_its_csv_is_the_table(page, live_url, durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet")
    _open(page, f"{live_url}/?layer=tracts&year=2014")
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    cells = _table_cells(page)
    assert cells[0] == [
        "Rank",
        "Name",
        "Violent incidents",
        "Area (sq mi)",
        "Violent crimes per sq mi",
        "95 % interval",
        "Reliability",
    ]
    ranked = tracts.sort_values("violent_per_sqmi_2014", ascending=False, kind="stable")
    assert len(cells) == 61
    assert [row[1] for row in cells[1:]][:10] == list(ranked["id"])[:10]
    assert [row[0] for row in cells[1:4]] == ["1", "2", "3"]
    top = ranked.iloc[0]
    assert cells[1][2:6] == [
        f"{top['violent_count_2014']:,}",
        f"{top['area_sqmi']:,.2f}",
        f"{top['violent_per_sqmi_2014']:,.1f}",
        f"{top['violent_per_sqmi_low_2014']:,.1f}–{top['violent_per_sqmi_high_2014']:,.1f}",
    ]
    unstable = set(tracts.loc[tracts["unstable_2014"], "id"])
    assert unstable and set(tracts["id"]) - unstable  # this year has both kinds of tract
    marked = {row[1]: row[6] for row in cells[1:]}
    assert marked == {tract: "unstable: fewer than 20 incidents" if tract in unstable else "" for tract in tracts["id"]}
    assert set(page.locator("#area-table tbody tr.unstable").evaluate_all("(rows) => rows.map((r) => r.dataset.id)")) == unstable
    page.click("button.sort[data-key=name]")
    assert page.locator("#area-table th[aria-sort=ascending]").inner_text().startswith("Name")
    names = [row[1] for row in _table_cells(page)[1:]]
    assert names == sorted(tracts["id"])
    page.click("button.sort[data-key=density]")  # numbers sort highest first on the first click
    shown = [float(row[4].replace(",", "")) for row in _table_cells(page)[1:]]
    assert shown == sorted(shown, reverse=True)
    with page.expect_download() as download:
        page.click("#table-csv")
    assert download.value.suggested_filename == "violent-crimes-per-sqmi-tracts-2014-table.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    table = _table_cells(page)
    assert rows[0] == [*table[0][:5], "95 % interval low", "95 % interval high", "Reliability"]
    assert [[cell.replace(",", "") for cell in row[:5]] + [row[6]] for row in table[1:]] == [
        [*row[:5], row[7]] for row in rows[1:]
    ]
    # the interval's bounds in the CSV are the GeoParquet's, exactly
    by_id = tracts.set_index("id")
    for row in rows[1:]:
        assert [float(row[5]), float(row[6])] == [
            by_id.loc[row[1], "violent_per_sqmi_low_2014"],
            by_id.loc[row[1], "violent_per_sqmi_high_2014"],
        ]
    page.locator("#area-table tbody tr").first.locator("input[type=checkbox]").check()
    page.wait_for_function(SELECTED_IS, arg=[table[1][1]])
    screenshot(page, "compass-table")


def test_table_and_its_csv_say_fewer_than_k_for_withheld_hex_cells(page, live_url, durham_build):
    _open(page, f"{live_url}/?layer=hex&year=2014#10/35.99/-78.9")
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    with page.expect_download() as download:
        page.click("#table-csv")
    layer = download.value.suggested_filename.removeprefix("violent-crimes-per-sqmi-").removesuffix("-2014-table.csv")
    cells = gpd.read_parquet(durham_build / "layers" / f"{layer}.parquet").set_index("id")
    withheld = set(cells.index[cells["suppressed_2014"]])
    assert withheld  # the hex floor (3) withholds some cells of this layer
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    header = rows[0]
    by_id = {row[header.index("Name")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_id.keys() == set(cells.index)
    count = "Violent incidents"
    for cell in withheld:
        row = by_id[cell]
        assert row[count] == "withheld" and row["Reliability"] == "withheld to protect counts under 3"
        assert row["Violent crimes per sq mi"] == row["95 % interval low"] == row["95 % interval high"] == ""
    # no published count gives a withheld one: every number in the column is 0 or at least 3
    assert all(int(row[count]) == 0 or int(row[count]) >= 3 for cell, row in by_id.items() if cell not in withheld)
    shown = {row[1]: row for row in _table_cells(page)[1:]}
    assert {cell: shown[cell][2] for cell in withheld} == dict.fromkeys(withheld, "withheld")


def _verdict(k1: int, k2: int) -> str:
    """The change's verdict computed here: scipy's exact two-sided binomial test of k1 given
    k1 + k2 at 95 %."""
    if k1 + k2 == 0 or binomtest(k1, k1 + k2, 0.5).pvalue >= 0.05:
        return "no clear change"
    return "rose" if k2 > k1 else "fell"


def test_table_gives_the_change_since_another_year_with_its_verdict(page, live_url, durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    _open(page, f"{live_url}/?layer=tracts&year=2016")
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    page.select_option("#table-change", "2012")
    header = _table_cells(page)[0]
    assert header[-3:] == ["Change since 2012 (per sq mi)", "Change since 2012 (%)", "Verdict (exact test, 95 %)"]
    page.click("button.sort[data-key=change]")  # the largest rise first
    with page.expect_download() as download:
        page.click("#table-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][-3:] == header[-3:]
    first, last = tracts["violent_count_2012"], tracts["violent_count_2016"]
    expected = {
        tract: [
            round(tracts.loc[tract, "violent_per_sqmi_2016"] - tracts.loc[tract, "violent_per_sqmi_2012"], 3),
            100 * (last[tract] - first[tract]) / first[tract] if first[tract] else None,  # none from 0
            _verdict(int(first[tract]), int(last[tract])),
        ]
        for tract in tracts.index
    }
    shown = {row[1]: [float(row[-3]), float(row[-2]) if row[-2] else None, row[-1]] for row in rows[1:]}
    assert shown.keys() == expected.keys()
    for tract, (change, percent, verdict) in shown.items():
        assert [change, verdict] == [expected[tract][0], expected[tract][2]], tract
        assert percent == (None if expected[tract][1] is None else pytest.approx(expected[tract][1], abs=0.051)), tract
    verdicts = [row[-1] for row in rows[1:]]
    assert "no clear change" in verdicts and {"rose", "fell"} & set(verdicts)  # the build has both kinds
    changes = [float(row[-3]) for row in rows[1:]]
    assert changes == sorted(changes, reverse=True)
    k1, k2 = int(first.sum()), int(last.sum())
    study = page.locator("#table-change-study").inner_text()
    assert study.startswith(f"The study area, 2012 to 2016: {_verdict(k1, k2)}"), study
    page.select_option("#table-change", "")
    assert page.locator("#table-change-study").is_hidden()
    assert _table_cells(page)[0][-1] == "Reliability"


def test_report_renders_the_selection_and_prints_without_the_map_controls(page, live_url, durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    chosen = ["37063000301", "37063001301"]
    _open(page, f"{live_url}/?layer=tracts&year=2015&selected={','.join(chosen)}")
    assert page.locator(".maplibregl-ctrl-zoom-in").is_visible()  # beside the panel the selection opened
    page.click("#report-button")
    report = page.locator("#report")
    report.locator("img").wait_for()
    page.wait_for_function("() => document.querySelector('#report img').naturalWidth > 100")
    text = report.inner_text()
    assert "Census tracts, 2015" in text and all(area in text for area in chosen)
    assert "reported by the police department" in text and "not its population" in text and "Sources." in text
    area = tracts.loc[chosen, "area_sqmi"].sum()
    expected = [tracts.loc[chosen, f"violent_count_{year}"].sum() / area for year in YEARS]
    assert _table_values(page, "#report-trend-table tr[data-series=selection]") == pytest.approx(expected, rel=1e-12)
    count = int(tracts.loc[chosen, "violent_count_2015"].sum())
    low, high = density_interval(np.array([count]), np.array([area]))
    assert count >= 20  # so the value is not marked unstable
    assert report.locator("#report-value").inner_text() == (
        f"The selection, 2015: {count / area:,.1f} per sq mi, 95 % interval {low[0]:,.1f}–{high[0]:,.1f}."
    )
    _check_bands(page, "#report-trend-table", tracts, chosen)
    k1, k2 = (int(tracts.loc[chosen, f"violent_count_{year}"].sum()) for year in (YEARS[0], YEARS[-1]))
    verdict = _verdict(k1, k2)
    change = report.locator("#report-change").inner_text()
    assert f"The selection: {verdict}" in change, change
    assert (
        f"{k1 / area:,.1f} to {k2 / area:,.1f} per sq mi, {'+' if k2 >= k1 else '−'}{abs(100 * (k2 - k1) / k1):.0f} %" in change
    )
    assert report.locator("#report-distribution-table").is_visible()
    page.emulate_media(media="print")
    assert report.is_visible() and report.locator("canvas").count() >= 2
    assert not page.locator(".maplibregl-ctrl-zoom-in").is_visible()
    assert not page.locator(".bar").is_visible() and not page.locator("#report-print").is_visible()
    screenshot(page, "compass-report-print")
    page.emulate_media(media="screen")
    page.click("#report-close")
    assert report.is_hidden() and page.locator(".maplibregl-ctrl-zoom-in").is_visible()


def axe_violations(page) -> list[dict]:
    """axe-core's violations of any impact on `page` (a page or a frame), run under the page's own
    CSP: its source is evaluated through the DevTools protocol, which the CSP does not govern (a
    script tag would be refused)."""
    page.evaluate(Path(AXE).read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in results["violations"]]


def csp_refusals(page) -> list[str]:
    """The console's reports of what the page's Content-Security-Policy refused, from now on."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    return refused


def require_axe() -> None:
    if not Path(AXE).is_file():
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("CRIMETILES_AXE is not set to axe-core's axe.min.js and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("CRIMETILES_AXE not set (npm install axe-core; see .ci/run)")


def test_axe_finds_no_violation_with_a_selection_the_table_and_the_report(page, live_url):
    require_axe()
    refused = csp_refusals(page)
    _open(page, f"{live_url}/?layer=blockgroups&year=2016&selected={FIRST},{SECOND}")
    page.wait_for_selector("#trend-table")
    page.wait_for_selector("#distribution-table")
    assert axe_violations(page) == []
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    assert axe_violations(page) == []
    page.click("#report-button")
    page.wait_for_function("() => document.querySelector('#report img')?.naturalWidth > 100")
    assert axe_violations(page) == []
    assert refused == []


def _requests(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def test_first_load_fetches_neither_charts_nor_summaries(page, live_url):
    urls = _requests(page)
    _open(page, f"{live_url}/")
    assert not [url for url in urls if "uPlot" in url or "/summaries/" in url or "compass/charts.js" in url]
    assert [url for url in urls if "compass/compass.js" in url]


def test_embed_selects_without_the_chart_library_unless_asked(page, live_url):
    urls = _requests(page)
    _open(page, f"{live_url}/embed?layer=tracts&year=2016&selected=37063000301,37063001301")
    outlined = page.evaluate("() => JSON.stringify(window.crimetiles.map.getFilter('tracts-selected'))")
    assert "37063000301" in outlined and "37063001301" in outlined
    assert page.locator("#charts").is_hidden()
    assert not [url for url in urls if "uPlot" in url or "compass/charts.js" in url or "/summaries/" in url]
    urls.clear()
    _open(page, f"{live_url}/embed?layer=tracts&year=2016&selected=37063000301&charts=1")
    page.wait_for_selector("#trend-table tr[data-series=selection]")
    assert [url for url in urls if "uPlot.iife.min.js" in url]
    assert page.locator("#charts .chip").count() == 1
    screenshot(page, "compass-embed-charts")
