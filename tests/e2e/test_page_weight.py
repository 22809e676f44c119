"""The README's "What it loads": the bytes a first visit to `/` transfers until the map has drawn its
first features, the page's and its map worker's requests alike (headers and bodies as sent,
compressed), as `benchmarks/page_load.py` counts them."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
FIRST_FEATURES = """() => {
  const page = window.crimetiles;
  return Boolean(page && page.map.loaded()
    && page.map.queryRenderedFeatures({layers: page.fillLayers[page.state.layer]}).length > 0);
}"""


def _stated_kb(pattern: str) -> float:
    found = re.search(pattern, README)
    assert found, pattern
    return float(found.group(1).replace(",", ""))


def _wire_bytes(request) -> int:
    """Headers and body as sent; a worker's main script has no body size reported, so its
    Content-Length counts; a response from the memory cache sent nothing."""
    sizes = request.sizes()
    body = sizes["responseBodySize"] or int((request.response().headers or {}).get("content-length", 0))
    return sizes["responseHeadersSize"] + body if body >= 0 else 0


def test_the_first_visit_transfers_what_the_readme_says(browser, live_url):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    try:
        page.goto(live_url + "/", wait_until="commit")
        page.wait_for_function(FIRST_FEATURES, polling="raf", timeout=60_000)
        entries = [{"name": request.url, "bytes": _wire_bytes(request)} for request in list(finished)]
    finally:
        context.close()
    total_kb = sum(entry["bytes"] for entry in entries) / 1000
    maplibre_kb = sum(entry["bytes"] for entry in entries if "maplibre-gl-csp.js" in entry["name"]) / 1000
    picture_kb = sum(entry["bytes"] for entry in entries if "/map.png" in entry["name"]) / 1000
    stated = _stated_kb(r"first visit to `/` transfers about\s+([\d,]+) kB until the map is drawn")
    assert abs(total_kb - stated) <= 0.1 * stated, (total_kb, stated)
    assert abs(maplibre_kb - _stated_kb(r"MapLibre\s+\((\d+) kB brotli-compressed")) <= 5
    assert abs(picture_kb - _stated_kb(r"first-view picture \((\d+) kB")) <= 0.25 * picture_kb
