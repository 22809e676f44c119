"""A real headless Chromium (Debian's) driven by Playwright, against a real server on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest

CHROMIUM = os.environ.get("CRIMETILES_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

BACKGROUND = (0xF4, 0xF3, 0xEF)
"""The page's background colour (#f4f3ef), where no polygon is drawn."""
RENDERED_IDS = """() => {
  const {map, state, fillLayers} = window.crimetiles;
  return map.queryRenderedFeatures({layers: fillLayers[state.layer]}).map((f) => f.properties.id);
}"""
"""Ids of the features the page draws for its current layer."""
CENTRE_PIXEL = """() => new Promise((resolve) => {
  // Read the map's WebGL canvas right after a frame is drawn, before the browser may clear it.
  const map = window.crimetiles.map;
  map.once('render', () => {
    const canvas = map.getCanvas();
    const probe = document.createElement('canvas');
    probe.width = 1;
    probe.height = 1;
    const context = probe.getContext('2d');
    context.drawImage(canvas, Math.floor(canvas.width / 2), Math.floor(canvas.height / 2), 1, 1, 0, 0, 1, 1);
    resolve(Array.from(context.getImageData(0, 0, 1, 1).data));
  });
  map.triggerRepaint();
})"""
"""The colour (RGBA) of the map's centre pixel, as drawn."""


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        if os.environ.get("CRIMETILES_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found and CRIMETILES_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser, **options: object) -> tuple[object, object]:
    """A page of a new browser context made with `options`, and the context (the caller closes
    it); the page's uncaught errors collect in `page.errors`."""
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    return context, page


@pytest.fixture
def page(browser):
    context, page = new_page(browser, viewport={"width": 1100, "height": 760})
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_idle(page) -> None:
    page.wait_for_function("() => window.mapIdle === true", timeout=30_000)


def embedded_tracts_map(page, url_prefix: str):
    """The frame of `page` whose URL starts with `url_prefix`, once its map is idle and drawing
    tracts (11-digit GEOIDs)."""
    frame = next(f for f in page.frames if f.url.startswith(url_prefix))
    wait_idle(frame)
    ids = frame.evaluate(RENDERED_IDS)
    assert ids and all(len(fid) == 11 for fid in ids)
    return frame


def assert_draws_block_group(page, base: str, build: Path, block_group: str) -> None:
    """Open the map page at `base` on block groups in 2016, zoomed to 14 on a point inside
    `block_group`, and check that it draws that block group, in a colour (not the background)."""
    point = (
        gpd.read_parquet(build / "layers" / "blockgroups.parquet").set_index("id").geometry[block_group].representative_point()
    )
    page.goto(f"{base}?layer=blockgroups&year=2016#14/{point.y:.6f}/{point.x:.6f}")
    wait_idle(page)
    ids = page.evaluate(RENDERED_IDS)
    assert block_group in ids and all(len(fid) == 12 for fid in ids)
    red, green, blue, alpha = page.evaluate(CENTRE_PIXEL)
    assert alpha == 255
    assert max(abs(a - b) for a, b in zip((red, green, blue), BACKGROUND, strict=True)) > 30, (red, green, blue)
    assert page.errors == []
