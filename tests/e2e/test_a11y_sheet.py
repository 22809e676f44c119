"""The phone's bottom sheet has a handle: a button (a tap or Enter expands the sheet, again shrinks
it back to half) that a finger can drag, up to expand the sheet and down to close it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_idle
from tests.e2e.test_a11y_touch import drag_fingers
from tests.e2e.test_phone import BLOCKGROUP, _assert_targets_big_enough, _box, _phone

pytestmark = pytest.mark.browser


def _sheet_share(page) -> float:
    """The sheet's height as a share of the space under the bar; the map must end where it starts."""
    sheet, layout, map_box = _box(page, "#charts"), _box(page, ".layout"), _box(page, "#map")
    assert map_box["y"] + map_box["height"] == pytest.approx(sheet["y"], abs=1)
    return sheet["height"] / layout["height"]


def test_the_sheets_handle_expands_shrinks_and_closes_it(browser, live_url):
    context, page = _phone(browser, 390, 844)
    try:
        page.goto(f"{live_url}/?layer=blockgroups&year=2016&selected={BLOCKGROUP}")
        wait_idle(page)
        page.wait_for_selector("#trend-table")
        handle = page.locator("#charts .sheet-handle")
        assert handle.get_attribute("aria-expanded") == "false" and handle.get_attribute("aria-label")
        assert _sheet_share(page) == pytest.approx(0.5, abs=0.01)
        _assert_targets_big_enough(page)

        handle.tap()
        page.wait_for_function("() => document.querySelector('#charts .sheet-handle').ariaExpanded === 'true'")
        assert _sheet_share(page) == pytest.approx(0.85, abs=0.01)
        handle.focus()
        page.keyboard.press("Enter")  # the keyboard's way: the handle is a button
        assert handle.get_attribute("aria-expanded") == "false"
        assert _sheet_share(page) == pytest.approx(0.5, abs=0.01)

        cdp = context.new_cdp_session(page)
        box = _box(page, "#charts .sheet-handle")
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        drag_fingers(cdp, [(x, y)], [(x, y - 250)])  # up: expanded
        assert handle.get_attribute("aria-expanded") == "true"
        assert _sheet_share(page) == pytest.approx(0.85, abs=0.01)
        box = _box(page, "#charts .sheet-handle")
        y = box["y"] + box["height"] / 2
        drag_fingers(cdp, [(x, y)], [(x, 820)])  # down to the bottom: closed, as the close button would
        assert page.locator("#charts").is_hidden()
        assert page.evaluate("() => document.activeElement.id") == "menu-button"
        assert _box(page, "#map")["height"] == pytest.approx(_box(page, ".layout")["height"], abs=1)
        assert page.errors == []
    finally:
        context.close()
