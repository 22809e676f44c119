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
    for part, (pattern, belongs) in PARTS.items():
        part_kb = sum(entry["bytes"] for entry in entries if belongs(entry["name"].removeprefix(live_url))) / 1000
        stated_kb = _stated_kb(pattern)
        assert abs(part_kb - stated_kb) <= max(3, 0.2 * stated_kb), (part, part_kb, stated_kb)


PARTS = {
    "page": (r"the page \((\d+) kB\)", lambda path: path == "/"),
    "worker": (r"and its worker \((\d+) kB,", lambda path: "maplibre-gl-csp-worker.js" in path),
    "css": (r"CSS \((\d+) kB\)", lambda path: ".css" in path),
    "app": (
        r"`app.js` and the modules it imports \((\d+) kB\)",
        lambda path: path.startswith("/static/") and ".js" in path and "/vendor/" not in path and "/compass/" not in path,
    ),
    "documents": (
        r"the\s+catalog, styles and TileJSON \((\d+) kB\)",
        lambda path: path == "/tiles" or path.startswith("/styles/") or re.fullmatch(r"/tiles/\w+\.json", path) is not None,
    ),
    "tiles": (r"the first tiles \((\d+) kB at zoom 10\)", lambda path: path.endswith(".mvt")),
}
"""The README's other parts of the first visit, each found by its URLs (`live_url` taken off)."""


def test_maplibre_and_its_worker_as_is_weigh_what_the_readme_says():
    vendor = Path(__file__).parents[2] / "static" / "vendor" / "maplibre-gl"
    assert round((vendor / "maplibre-gl-csp.js").stat().st_size / 1000) == _stated_kb(r"brotli-compressed, ([\d,]+) kB as is\)")
    assert round((vendor / "maplibre-gl-csp-worker.js").stat().st_size / 1000) == _stated_kb(r"\(\d+ kB, (\d+) kB as is\)")
