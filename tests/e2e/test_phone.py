"""The map page and the embed on a phone, in Chromium's phone emulation (touch, a small screen):
a compact bar, the legend as a key, a tap that selects an area and shows its numbers, the drawers
as a bottom sheet, targets of at least 44 CSS px, nothing drawn over another control."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pytest

from tests.e2e.conftest import RENDERED_IDS, new_page, screenshot, wait_idle
from tests.e2e.test_compass import AXE, axe_violations, csp_refusals, require_axe

pytestmark = pytest.mark.browser
PHONES = [(390, 844), (360, 740)]
BLOCKGROUP = "370630010011"
SEARCHED = "370630017074"
TARGET = 44
"""The smallest target a finger can hit, in CSS px (WCAG 2.5.5)."""
JUMP = """([lon, lat, zoom]) => new Promise((resolve) => {
  const map = window.crimetiles.map;
  map.once('idle', resolve);
  map.jumpTo({center: [lon, lat], zoom});
})"""
VISIBLE_TARGETS = """() => [...document.querySelectorAll('button, select, input, a.button, .maplibregl-ctrl button')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter((e) => !e.closest('.visually-hidden'))
  .map((e) => {
    const r = e.getBoundingClientRect();
    return {name: e.id || e.className || e.tagName, width: r.width, height: r.height};
  })"""


def announcement(area_id: str, year: str, row) -> str:
    """What the page's live region says of an area (`row`: its layer's row) in `year`."""
    title = row.get("name") or area_id
    return (
        f"{title}, {year}: {row[f'violent_per_sqmi_{year}']:,.1f} incidents per sq mi, "
        f"{row[f'violent_count_{year}']:,} violent incidents."
    )


README = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").split())
NARROW = int(re.search(r"\*\*On a phone\*\* \(a screen (\d+) px wide or less\)", README).group(1))
SHORT = int(re.search(r"A screen that is short rather than narrow \((\d+) px high or less", README).group(1))


@pytest.mark.parametrize(
    ("width", "height", "phone"),
    [(NARROW, 900, True), (NARROW + 1, 900, False), (1000, SHORT, True), (1000, SHORT + 1, False)],
)
def test_the_phone_layout_starts_where_the_readme_says(browser, live_url, width, height, phone):
    """README: "a screen 600 px wide or less", and "420 px high or less" gets the same layout."""
    context, page = new_page(browser, viewport={"width": width, "height": height})
    try:
        page.goto(f"{live_url}/?layer=tracts")
        page.wait_for_function("() => window.crimetiles && window.crimetiles.map")
        assert page.locator("#menu-button").is_visible() is phone
    finally:
        context.close()


def _phone(browser, width: int, height: int):
    viewport = {"width": width, "height": height}
    return new_page(browser, viewport=viewport, has_touch=True, is_mobile=True, device_scale_factor=2)


def _box(page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"]
        and inner["y"] >= outer["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def _assert_apart(page, selectors: list[str]) -> None:
    boxes = {selector: _box(page, selector) for selector in selectors}
    for i, first in enumerate(selectors):
        for second in selectors[i + 1 :]:
            assert not _overlap(boxes[first], boxes[second]), (first, second, boxes[first], boxes[second])


def _assert_targets_big_enough(page) -> None:
    small = [t for t in page.evaluate(VISIBLE_TARGETS) if t["width"] < TARGET - 0.5 or t["height"] < TARGET - 0.5]
    assert small == []


def _tap_map_centre(page) -> None:
    box = _box(page, "#map")
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture(scope="module")
def blockgroups(durham_build) -> gpd.GeoDataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_phone_layout_tap_selects_and_shows_the_numbers(browser, live_url, blockgroups, width, height):
    context, page = _phone(browser, width, height)
    try:
        page.goto(f"{live_url}/?layer=blockgroups&year=2016")
        wait_idle(page)
        page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
        bar = _box(page, ".bar")
        assert bar["height"] <= 0.15 * height  # the map, not the toolbar, fills the screen
        map_box = _box(page, "#map")
        assert map_box["width"] == width and map_box["y"] == pytest.approx(bar["height"], abs=1)
        assert page.locator("#search-input").is_hidden() and page.locator("#table-button").is_hidden()
        bar_controls = ["h1", "#layer-select", "#year-select", "#menu-button"]
        map_controls = ["#legend", ".maplibregl-ctrl-attrib", ".maplibregl-ctrl-zoom-in"]
        _assert_apart(page, bar_controls)
        _assert_apart(page, map_controls)
        _assert_targets_big_enough(page)
        # the legend is a small key, expanded by a tap, and never over the attribution
        assert page.locator("#legend-rows").is_hidden()
        key = _box(page, "#legend-key")
        assert key["width"] < width / 2
        page.locator("#legend-key").tap()
        assert page.locator("#legend-rows li").first.is_visible()
        assert page.locator("#legend-key").get_attribute("aria-expanded") == "true"
        page.locator(".maplibregl-ctrl-attrib-button").tap()  # the attribution's full text
        _assert_apart(page, map_controls)
        screenshot(page, f"phone-{width}-legend")
        page.locator("#legend-key").tap()
        assert page.locator("#legend-rows").is_hidden()

        # the first tap on an area selects it and shows its numbers, in an opaque bottom sheet
        point = blockgroups.geometry[BLOCKGROUP].representative_point()
        page.evaluate(JUMP, [point.x, point.y, 14])
        _tap_map_centre(page)
        page.wait_for_function(
            "() => JSON.stringify(window.crimetiles.compass.selection.ids) === JSON.stringify(['370630010011'])"
        )
        tooltip = page.locator("#tooltip")
        assert tooltip.is_visible()
        row = blockgroups.loc[BLOCKGROUP]
        text = tooltip.inner_text()
        assert BLOCKGROUP in text and f"{row['violent_per_sqmi_2016']:,.1f}" in text and f"{row['violent_count_2016']:,}" in text
        assert page.locator("#announcer").inner_text() == announcement(BLOCKGROUP, "2016", row)
        sheet = _box(page, "#charts")
        assert sheet["x"] == 0 and sheet["width"] == width and sheet["y"] + sheet["height"] == pytest.approx(height, abs=1)
        assert page.locator("#charts").evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
        page.wait_for_selector(f"#trend-table tr[data-series=area][data-id='{BLOCKGROUP}']")
        cells = page.locator(f"#trend-table tr[data-series=area][data-id='{BLOCKGROUP}'] td")
        assert float(cells.last.get_attribute("data-value")) == row["violent_per_sqmi_2016"]
        # the map shrinks to the space above the sheet: nothing over the sheet, the legend and attribution apart
        assert _box(page, "#map")["y"] + _box(page, "#map")["height"] == pytest.approx(sheet["y"], abs=1)
        _assert_apart(page, ["#charts", "#legend", ".maplibregl-ctrl-attrib", "#tooltip", ".maplibregl-ctrl-zoom-in"])
        _assert_targets_big_enough(page)
        # the legend expanded over the map's half: under the bar, beside the zoom buttons, the
        # area's numbers hidden meanwhile; the next area shown folds it
        page.locator("#legend-key").tap()
        assert page.locator("#legend-rows li").first.is_visible() and tooltip.is_hidden()
        _assert_apart(
            page,
            [".bar", "#legend", "#charts", ".maplibregl-ctrl-attrib", ".maplibregl-ctrl-zoom-in", ".maplibregl-ctrl-zoom-out"],
        )
        page.locator("#map").focus()
        page.keyboard.press("Enter")  # the area at the centre, under the legend now
        page.wait_for_function("() => !document.getElementById('legend').classList.contains('expanded')")
        assert tooltip.is_visible() and page.locator("#legend-key").get_attribute("aria-expanded") == "false"
        _assert_apart(page, ["#charts", "#legend", ".maplibregl-ctrl-attrib", "#tooltip", ".maplibregl-ctrl-zoom-in"])
        screenshot(page, f"phone-{width}-selected")
        page.locator("#charts .close").tap()
        assert page.locator("#charts").is_hidden()
        assert page.evaluate("() => document.activeElement.id") == "menu-button"

        # year and geography from the bar; the tapped area's numbers follow the year, and a screen
        # reader hears them in one sentence (the page's live region)
        page.select_option("#year-select", "2014")
        wait_idle(page)
        assert "year=2014" in page.url
        assert tooltip.is_visible()
        assert page.locator("#announcer").inner_text() == announcement(BLOCKGROUP, "2014", row)
        text = tooltip.inner_text()
        assert (
            f"{row['violent_per_sqmi_2014']:,.1f}" in text and f"Violent incidents, 2014\n{row['violent_count_2014']:,}" in text
        )
        page.select_option("#layer-select", "tracts")
        wait_idle(page)
        ids = page.evaluate(RENDERED_IDS)
        assert ids and all(len(fid) == 11 for fid in ids)

        # the other tools behind the menu: opened, used, closed by Escape with the focus back
        page.locator("#menu-button").tap()
        assert page.locator("#search-input").is_visible() and page.locator("#table-button").is_visible()
        _assert_targets_big_enough(page)
        screenshot(page, f"phone-{width}-menu")
        page.locator("#table-button").tap()
        assert page.locator("#search-input").is_hidden()
        page.wait_for_selector("#area-table tbody tr")
        assert _box(page, "#table-panel")["width"] == width
        change = _box(page, ".table-change")  # "Change to 2016 since" on the line of its select
        assert change["height"] == pytest.approx(_box(page, "#table-change")["height"], abs=1)
        page.keyboard.press("Escape")
        assert page.locator("#table-panel").is_hidden()
        assert page.evaluate("() => document.activeElement.id") == "menu-button"
        page.locator("#menu-button").tap()
        page.locator("#search-input").focus()
        page.keyboard.press("Escape")
        assert page.locator("#search-input").is_hidden()
        assert page.evaluate("() => document.activeElement.id") == "menu-button"

        # search from the menu: the map moves to the area and selects it, the menu closes
        page.locator("#menu-button").tap()
        page.fill("#search-input", SEARCHED)
        page.locator(f"#search-results [data-id='{SEARCHED}']").tap()
        page.wait_for_function(f"() => window.crimetiles.compass.selection.ids.includes('{SEARCHED}')")
        assert page.locator("#search-input").is_hidden() and page.locator("#layer-select").input_value() == "blockgroups"
        page.locator("#menu-button").tap()
        page.locator("#charts-button").tap()  # closed by the user earlier: it stays closed until asked for
        page.wait_for_selector(f"#trend-table tr[data-series=area][data-id='{SEARCHED}']")
        assert _box(page, "#charts")["width"] == width
        assert page.errors == []
    finally:
        context.close()


def test_axe_finds_no_violation_on_the_phone_layout(browser, live_url):
    require_axe()
    context, page = _phone(browser, 390, 844)
    try:
        refused = csp_refusals(page)
        page.goto(f"{live_url}/?layer=blockgroups&year=2016&selected={BLOCKGROUP}")
        wait_idle(page)
        page.wait_for_selector("#trend-table")
        page.locator("#legend-key").tap()
        assert axe_violations(page) == []
        page.locator("#menu-button").tap()
        assert axe_violations(page) == []
        page.locator("#table-button").tap()
        page.wait_for_selector("#area-table tbody tr")
        assert axe_violations(page) == []
        page.keyboard.press("Escape")
        page.locator("#menu-button").tap()
        page.locator("#report-button").tap()
        page.wait_for_function("() => document.querySelector('#report img')?.naturalWidth > 100")
        assert page.locator("#report").is_visible()
        assert axe_violations(page) == []
        screenshot(page, "phone-report")
        assert refused == []
    finally:
        context.close()


def _host_page(html: str) -> ThreadingHTTPServer:
    """A server on another origin (another port of loopback) whose every page is `html`."""

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args: object) -> None:
            pass

    host = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    return host


@pytest.mark.parametrize(("width", "height"), [(300, 250), (320, 480)])
def test_small_embed_shows_a_legend_key_and_an_areas_numbers_on_tap(browser, live_url, blockgroups, width, height):
    context, page = _phone(browser, 390, 844)
    point = blockgroups.geometry[BLOCKGROUP].representative_point()
    src = f"{live_url}/embed?layer=blockgroups&year=2016#14/{point.y:.6f}/{point.x:.6f}"
    host = _host_page(
        '<!DOCTYPE html><meta name="viewport" content="width=device-width"><title>host</title><p>A neighbourhood newsletter</p>'
        f'<iframe id="crime" src="{src}" width="{width}" height="{height}" style="border:0"></iframe>'
    )
    try:
        page.goto(f"http://127.0.0.1:{host.server_port}/")
        page.frame_locator("#crime").locator("#legend-key").wait_for()
        frame = next(f for f in page.frames if "/embed" in f.url)
        wait_idle(frame)
        legend = frame.locator("#legend")
        assert frame.locator("#legend-rows").is_hidden() and frame.locator("#legend-key").is_visible()
        _assert_apart(frame, ["#legend", ".maplibregl-ctrl-attrib"])
        _assert_targets_big_enough(frame)
        assert frame.locator(".maplibregl-ctrl-zoom-in").is_visible() == (height > 320)
        frame.locator("#legend-key").tap()
        assert frame.locator("#legend-rows li").first.is_visible()
        _assert_apart(frame, ["#legend", ".maplibregl-ctrl-attrib"])
        iframe = _box(page, "#crime")
        assert _inside(legend.bounding_box(), iframe)
        screenshot(page, f"embed-{width}x{height}-legend")
        frame.locator("#legend-key").tap()
        assert frame.locator("#legend-rows").is_hidden()

        page.touchscreen.tap(iframe["x"] + width / 2, iframe["y"] + height / 2)
        tooltip = frame.locator("#tooltip")
        tooltip.wait_for(state="visible")
        row = blockgroups.loc[BLOCKGROUP]
        text = tooltip.inner_text()
        assert BLOCKGROUP in text and f"{row['violent_per_sqmi_2016']:,.1f}" in text and f"{row['violent_count_2016']:,}" in text
        assert tooltip.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)") >= 12  # legible
        if height > 320:
            _assert_apart(frame, ["#tooltip", "#legend", ".maplibregl-ctrl-attrib"])
        else:  # too short for both: the key makes way for the numbers
            assert legend.is_hidden()
            _assert_apart(frame, ["#tooltip", ".maplibregl-ctrl-attrib"])
        assert _inside(tooltip.bounding_box(), iframe)
        screenshot(page, f"embed-{width}x{height}-tapped")
        if Path(AXE).is_file():
            assert axe_violations(frame) == []
        assert page.errors == []
    finally:
        context.close()
        host.shutdown()


def test_axe_finds_no_violation_on_the_embed(page, live_url):
    require_axe()
    refused = csp_refusals(page)
    page.goto(f"{live_url}/embed?layer=tracts&year=2014&selected=37063000301&charts=1")
    wait_idle(page)
    page.wait_for_selector("#trend-table tr[data-series=selection]")
    assert axe_violations(page) == []
    assert refused == []


ZOOM_IN_ONCE = """() => {
  const map = window.crimetiles.map;
  const before = map.getZoom();
  let moves = 0;
  map.on('move', () => { moves += 1; });
  document.querySelector('.maplibregl-ctrl-zoom-in').click();
  return [before, map.getZoom(), moves];
}"""
"""Zoom in with the + button; the zoom before, right after the click, and the map's moves meanwhile."""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_reduced_motion_zooms_without_animation(browser, live_url, motion):
    context = browser.new_context(viewport={"width": 390, "height": 844}, reduced_motion=motion)
    page = context.new_page()
    try:
        page.goto(f"{live_url}/?layer=tracts#11/35.99/-78.9")
        wait_idle(page)
        before, after, moves = page.evaluate(ZOOM_IN_ONCE)
        if motion == "reduce":
            assert (after, moves) == (pytest.approx(before + 1), 1)  # at once, no frames in between
        else:
            assert after == pytest.approx(before)  # animated over the next frames
    finally:
        context.close()


def test_320_px_wide_reflows_without_horizontal_scrolling(browser, live_url):
    context, page = _phone(browser, 320, 640)
    no_scroll = "() => document.documentElement.scrollWidth <= window.innerWidth"
    try:
        page.goto(f"{live_url}/?layer=blockgroups&year=2016&selected={BLOCKGROUP}")
        wait_idle(page)
        page.wait_for_selector("#trend-table")
        assert page.evaluate(no_scroll)
        _assert_apart(page, ["h1", "#layer-select", "#year-select", "#menu-button"])
        page.locator("#legend-key").tap()
        page.locator("#menu-button").tap()
        assert page.evaluate(no_scroll)
        _assert_targets_big_enough(page)
        screenshot(page, "phone-320-menu")
        page.locator("#table-button").tap()
        page.wait_for_selector("#area-table tbody tr")
        assert page.evaluate(no_scroll)
        assert page.errors == []
    finally:
        context.close()


SWATCHES = """() => [...document.querySelectorAll('#legend-rows li:not(.legend-mark) .swatch')]
  .map((swatch) => getComputedStyle(swatch).backgroundColor)"""
"""The legend's class colours, as drawn."""


def test_forced_colors_keep_the_legend_swatches(browser, live_url):
    colours = {}
    for forced in ("none", "active"):
        context = browser.new_context(viewport={"width": 1100, "height": 760}, forced_colors=forced)
        page = context.new_page()
        try:
            page.goto(f"{live_url}/?layer=tracts")
            wait_idle(page)
            colours[forced] = page.evaluate(SWATCHES)
        finally:
            context.close()
    assert len(set(colours["none"])) == len(colours["none"]) > 3  # one colour per class
    assert colours["active"] == colours["none"]


@pytest.mark.parametrize(("width", "height"), [(1100, 760), (390, 844)])
def test_t_on_the_focused_map_opens_the_ranked_table(browser, live_url, width, height):
    context, page = _phone(browser, width, height)
    try:
        page.goto(f"{live_url}/?layer=tracts&year=2016")
        wait_idle(page)
        page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
        page.locator("#map canvas").focus()
        page.keyboard.press("t")
        page.wait_for_selector("#area-table tbody tr")
        assert page.evaluate("() => document.activeElement.closest('#table-panel') !== null")
        page.keyboard.press("Escape")
        assert page.locator("#table-panel").is_hidden()
        assert page.evaluate("() => document.activeElement.id") == ("table-button" if width > 600 else "menu-button")
    finally:
        context.close()


WHOLE_CHOICES = """(ids) => ids.map((id) => {
  const select = document.getElementById(id);
  const alone = select.cloneNode(false);  // the same select holding only its choice, at its own width
  alone.removeAttribute('id');
  alone.style.cssText = 'width: auto; min-width: 0; max-width: none; flex: none';
  alone.add(new Option(select.options[select.selectedIndex].text));
  select.parentElement.append(alone);
  const needed = alone.offsetWidth;
  alone.remove();
  return [select.options[select.selectedIndex].text, needed, select.offsetWidth];
})"""
"""Each select of the bar: its choice's text, the width a select needs to show it whole, its width."""


@pytest.mark.parametrize(
    ("query", "choices"),
    [
        ("", ["Block groups", "All years"]),
        ("layer=neighborhoods&year=2016&change=2014-2016", ["Neighborhoods", "2016"]),
        ("layer=hex", ["Hex grid", "All years"]),
    ],
)
@pytest.mark.parametrize("mobile", [True, False], ids=["phone", "desktop at 200 %"])
@pytest.mark.parametrize(("width", "height"), [*PHONES, (320, 640)])
def test_the_bars_selects_show_their_whole_choice_on_a_phone(browser, live_url, width, height, mobile, query, choices):
    """Geography and year side by side, each as wide as a select showing its choice needs ("All
    years (average per year)" showed as "All y", "Block groups" as "Block group" at 360 px), on a
    phone and in a desktop browser's window as narrow (a 720 px window at 200 % zoom); the change
    view is in the menu."""
    viewport = {"width": width, "height": height}
    context, page = new_page(browser, viewport=viewport, has_touch=mobile, is_mobile=mobile, device_scale_factor=2)
    try:
        page.goto(f"{live_url}/?{query}")
        wait_idle(page)
        shown = page.evaluate(WHOLE_CHOICES, ["layer-select", "year-select"])
        assert page.get_attribute("#layer-select option[value=hex]", "title") == "Hex grid (H3, resolution follows zoom)"
        assert "(average per year)" in page.inner_text("#legend-subtitle") or "year=2016" in query
        assert page.locator("#change-select").is_hidden()
        page.click("#menu-button")
        assert page.locator("#change-select").is_visible()
        assert page.input_value("#change-select") == ("2014" if "change" in query else "")
    finally:
        context.close()
    assert [text for text, _, _ in shown] == choices
    for text, needed, select_width in shown:
        assert needed <= select_width, (text, needed, select_width)


@pytest.mark.parametrize(
    ("query", "choices"),
    [
        ("", ["Block groups", "All years", "off"]),
        ("layer=neighborhoods&year=2016&change=2014-2016", ["Neighborhoods", "2016", "since 2014"]),
    ],
)
def test_a_wide_screens_selects_show_their_whole_choice(page, live_url, query, choices):
    """The bar of a wide screen: geography, year and change, each a width of its own (so that the
    bar does not move when their options arrive) that shows the choice whole."""
    page.goto(f"{live_url}/?{query}")
    wait_idle(page)
    shown = page.evaluate(WHOLE_CHOICES, ["layer-select", "year-select", "change-select"])
    assert [text for text, _, _ in shown] == choices
    for text, needed, select_width in shown:
        assert needed <= select_width, (text, needed, select_width)


def test_a_mouse_passing_over_the_map_leaves_the_expanded_legend(browser, live_url):
    """A short window (a laptop's at 200 % zoom) gets the phone's legend key: the mouse passing over
    areas does not fold the legend it expanded; a click on an area does."""
    context, page = new_page(browser, viewport={"width": 1280, "height": 400})
    try:
        page.goto(f"{live_url}/?layer=blockgroups&year=2016")
        wait_idle(page)
        page.locator("#legend-key").click()
        box = _box(page, "#map")
        for step in range(1, 6):
            page.mouse.move(box["x"] + box["width"] * step / 6, box["y"] + box["height"] / 2)
            page.wait_for_timeout(100)
        assert page.locator("#legend-key").get_attribute("aria-expanded") == "true"
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("() => document.getElementById('legend-key').getAttribute('aria-expanded') === 'false'")
        assert page.locator("#tooltip").is_visible()
    finally:
        context.close()
