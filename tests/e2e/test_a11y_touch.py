"""Two fingers on the phone's map, as Chromium's touch screen sends them (the DevTools protocol's
Input.dispatchTouchEvent, two touch points): a pinch zooms the map and a two-finger drag pans it;
the page itself never zooms (the map takes the gesture)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_idle
from tests.e2e.test_phone import _box, _phone

pytestmark = pytest.mark.browser
VIEW = "() => { const m = window.crimetiles.map; return {zoom: m.getZoom(), pitch: m.getPitch(), ...m.getCenter()}; }"
PAGE_SCALE = "() => window.visualViewport.scale"
STEPS = 8


def drag_fingers(cdp, start: list[tuple[float, float]], end: list[tuple[float, float]]) -> None:
    """Put fingers down at `start` (one point each), move them in steps to `end`, lift them."""

    def touch(kind: str, points: list[tuple[float, float]]) -> None:
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]},
        )

    touch("touchStart", start)
    for step in range(1, STEPS + 1):
        t = step / STEPS
        touch("touchMove", [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for (x0, y0), (x1, y1) in zip(start, end, strict=True)])
    touch("touchEnd", [])


def _settled(page) -> dict:
    page.wait_for_function("() => !window.crimetiles.map.isMoving()")
    return page.evaluate(VIEW)


def test_pinch_zooms_and_two_fingers_pan_the_map_not_the_page(browser, live_url):
    context, page = _phone(browser, 390, 844)
    try:
        page.goto(f"{live_url}/?layer=tracts#11/35.99/-78.9")
        wait_idle(page)
        cdp = context.new_cdp_session(page)
        box = _box(page, "#map")
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        before = page.evaluate(VIEW)

        drag_fingers(cdp, [(cx - 40, cy), (cx + 40, cy)], [(cx - 120, cy), (cx + 120, cy)])  # pinch out: 3x apart
        pinched = _settled(page)
        assert pinched["zoom"] > before["zoom"] + 1  # log2(3) = 1.58 levels in
        assert page.evaluate(PAGE_SCALE) == 1

        # both fingers down 150 px: a pan (MapLibre would tilt the map)
        drag_fingers(cdp, [(cx - 60, cy), (cx + 60, cy)], [(cx - 60, cy + 150), (cx + 60, cy + 150)])
        panned = _settled(page)
        assert panned["zoom"] == pytest.approx(pinched["zoom"], abs=0.05)
        assert panned["pitch"] == 0  # never tilted
        assert panned["lat"] > pinched["lat"] and panned["lng"] == pytest.approx(
            pinched["lng"], abs=1e-3
        )  # dragged down: north comes into view
        assert page.evaluate(PAGE_SCALE) == 1
        wait_idle(page)
        zoom, lat, lng = (float(part) for part in page.url.split("#")[1].split("/")[:3])  # the URL keeps the view
        assert (zoom, lat, lng) == (
            pytest.approx(panned["zoom"], abs=0.01),
            pytest.approx(panned["lat"], abs=1e-4),
            pytest.approx(panned["lng"], abs=1e-4),
        )
        assert page.errors == []
    finally:
        context.close()
