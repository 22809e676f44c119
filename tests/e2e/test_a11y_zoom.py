"""The page at 200 % zoom (WCAG 1.4.4 and 1.4.10): Chromium at a device scale factor of 2, a 1280x800
screen (a 640 px wide CSS viewport) and a 640 px wide one (320 CSS px), shows no horizontal
scrolling, no control over another, and every tool within reach."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import new_page, screenshot, wait_idle
from tests.e2e.test_phone import BLOCKGROUP, _assert_apart

pytestmark = pytest.mark.browser
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
TOOLS = [
    "#search-input",
    "#charts-button",
    "#table-button",
    "#report-button",
    "#download-csv",
    "#download-geojson",
    "#embed-button",
    "#about-button",
]
"""Every tool of the bar (behind the menu on a narrow screen)."""


def _zoomed(browser, width: int, height: int):
    """A page in a `width`x`height` screen (device px) at 200 % zoom."""
    return new_page(browser, viewport={"width": width // 2, "height": height // 2}, device_scale_factor=2)


def _assert_reachable(page, selector: str) -> None:
    """`selector` can be scrolled to and clicked: visible, and not under another element."""
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    target.click(trial=True, timeout=5_000)
    box = target.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5, (selector, box)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (640, 800)])
def test_200_percent_zoom_reflows_with_every_tool_in_reach(browser, live_url, width, height):
    context, page = _zoomed(browser, width, height)
    try:
        page.goto(f"{live_url}/?layer=blockgroups&year=2016&selected={BLOCKGROUP}")
        wait_idle(page)
        page.wait_for_selector("#trend-table")
        assert page.evaluate("() => window.devicePixelRatio") == 2
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        _assert_apart(page, ["h1", "#layer-select", "#year-select"])
        _assert_apart(page, ["#legend", ".maplibregl-ctrl-attrib", ".maplibregl-ctrl-zoom-in"])
        _assert_apart(page, ["#charts", "#legend"])
        for control in ["#layer-select", "#year-select", "#legend", "#charts .close"]:
            _assert_reachable(page, control)
        page.locator("#charts .close").click()
        narrow = page.locator("#menu-button").is_visible()
        screenshot(page, f"zoom-200-{width}")
        for tool in TOOLS:
            if narrow and not page.locator(tool).is_visible():
                page.locator("#menu-button").click()
            _assert_reachable(page, tool)
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.locator("#table-button").click()
        page.wait_for_selector("#area-table tbody tr")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        _assert_reachable(page, "#table-panel .close")
        assert page.errors == []
    finally:
        context.close()
