"""The page draws the right colours: pixels read back from the map's canvas at an interior point of
every tract and block group in view, against the ColorBrewer colour (a literal here) of the class
the polygon's GeoParquet value falls in, for two years; and the hex download link follows the
zoom bands."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest

from tests.e2e.canvas import PIXELS_AT, PROJECTED
from tests.e2e.conftest import BACKGROUND, screenshot, wait_idle

pytestmark = pytest.mark.browser

ZERO_GREY = (0xA8, 0xA8, 0xA8)
YLORRD_5 = ((0xFF, 0xFF, 0xCC), (0xFE, 0xD9, 0x76), (0xFC, 0x6E, 0x33), (0xE3, 0x1A, 0x1C), (0x80, 0x00, 0x26))
"""ColorBrewer YlOrRd, 5 classes (colorbrewer2.org): the classes above 0 of a 4-break legend."""
FILL_OPACITY = 0.8
UNSTABLE_WASH = 0.5
"""White at this opacity over an unstable area (a count below 20): its class colour, paler."""
ZOOM = 10.0
MIN_PIXELS_FROM_EDGE = 4
"""Sample only points this far inside their tract: outlines and antialiasing stay clear."""
TOLERANCE = 4
"""Per channel, for rounding in blending; the nearest two classes differ by 50 or more."""
WEB_MERCATOR_METRES_PER_PIXEL_Z0 = 2 * math.pi * 6378137 / 512
"""MapLibre's 512-pixel tiles: metres (EPSG:3857) per CSS pixel at zoom 0."""


@dataclass(frozen=True)
class Sample:
    area: str
    """The polygon's id."""
    point: tuple[float, float]
    """CSS pixel in the map."""


def drawn_colour(fill: tuple[int, int, int]) -> tuple[int, ...]:
    """`fill` at `FILL_OPACITY` over the page's background."""
    return tuple(round(FILL_OPACITY * f + (1 - FILL_OPACITY) * b) for f, b in zip(fill, BACKGROUND, strict=True))


def class_fill(value: float, breaks: list[float]) -> tuple[int, int, int]:
    """Grey for exactly 0, else the YlOrRd class `breaks` put `value` in (lower bounds inclusive)."""
    return ZERO_GREY if value == 0 else YLORRD_5[bisect.bisect_right(breaks, value)]


@dataclass(frozen=True)
class Layer:
    """A density layer as the build wrote it, and its class breaks as its TileJSON gives them."""

    frame: gpd.GeoDataFrame
    breaks: list[float]

    def fill(self, area: str, year: str) -> tuple[int, int, int]:
        return class_fill(float(self.frame.loc[area, _field("violent_per_sqmi", year)]), self.breaks)

    def unstable(self, area: str, year: str) -> bool:
        return bool(self.frame.loc[area, _field("unstable", year)])

    def drawn(self, area: str, year: str) -> tuple[int, ...]:
        """The pixel of `area` in `year`: its class colour, washed with white if unstable."""
        wash = UNSTABLE_WASH if self.unstable(area, year) else 0.0
        return tuple(round(wash * 255 + (1 - wash) * value) for value in drawn_colour(self.fill(area, year)))


def _field(base: str, year: str) -> str:
    return base if year == "all" else f"{base}_{year}"


def _layer(page, live_url: str, build: Path, name: str) -> Layer:
    breaks = page.request.get(f"{live_url}/tiles/{name}.json").json()["crimetiles"]["class_breaks"]
    assert len(breaks) == len(YLORRD_5) - 1
    return Layer(gpd.read_parquet(build / "layers" / f"{name}.parquet").set_index("id"), breaks)


def _samples(page, layer: Layer) -> list[Sample]:
    """The interior point of every polygon that is on the canvas and far enough from its outline."""
    metres = layer.frame.to_crs(3857)
    interior = metres.geometry.representative_point()
    inside_px = metres.geometry.boundary.distance(interior) / (WEB_MERCATOR_METRES_PER_PIXEL_Z0 / 2**ZOOM)
    lonlat = gpd.GeoSeries(interior, crs=3857).to_crs(4326)
    screen = page.evaluate(PROJECTED, [[p.x, p.y] for p in lonlat])
    return [
        Sample(area, (x, y))
        for area, (x, y), clearance in zip(layer.frame.index, screen["points"], inside_px, strict=True)
        if clearance >= MIN_PIXELS_FROM_EDGE and 0 <= x < screen["width"] and 0 <= y < screen["height"]
    ]


def _mismatches(page, samples: list[Sample], layer: Layer, year: str) -> list:
    pixels = page.evaluate(PIXELS_AT, [list(sample.point) for sample in samples])
    wrong = []
    for sample, (red, green, blue, alpha) in zip(samples, pixels, strict=True):
        expected = layer.drawn(sample.area, year)
        if alpha != 255 or max(abs(a - b) for a, b in zip((red, green, blue), expected, strict=True)) > TOLERANCE:
            wrong.append((sample.area, year, (red, green, blue), expected))
    return wrong


def test_every_area_is_drawn_in_its_class_colour_and_the_year_switch_recolours_it(page, live_url, durham_build):
    """Tracts in 2012, then 2016 through the year select, then block groups through the layer
    select (still 2016): every polygon in view whose interior point is clear of outlines, in its
    class colour of the year shown, washed paler where that year's count is under 20."""
    tracts = _layer(page, live_url, durham_build, "tracts")
    west, south, east, north = tracts.frame.total_bounds
    page.goto(f"{live_url}/?layer=tracts&year=2012#{ZOOM}/{(south + north) / 2:.6f}/{(west + east) / 2:.6f}")
    wait_idle(page)
    samples = _samples(page, tracts)
    assert len(samples) >= 40
    recoloured = [s.area for s in samples if tracts.fill(s.area, "2012") != tracts.fill(s.area, "2016")]
    assert len(recoloured) >= 10  # the switch must change these
    assert {tracts.fill(s.area, "2016") for s in samples} == set(YLORRD_5)  # every class of the ramp is sampled
    assert _mismatches(page, samples, tracts, "2012") == []
    screenshot(page, "pixels-tracts-2012")
    page.select_option("#year-select", "2016")
    wait_idle(page)
    assert _mismatches(page, samples, tracts, "2016") == []
    screenshot(page, "pixels-tracts-2016")
    blockgroups = _layer(page, live_url, durham_build, "blockgroups")
    page.select_option("#layer-select", "blockgroups")
    wait_idle(page)
    samples = _samples(page, blockgroups)
    assert len(samples) >= 50
    # the year's own flags: areas stable over all years but not in 2016 (and the reverse) are seen
    assert [s for s in samples if blockgroups.unstable(s.area, "2016") != blockgroups.unstable(s.area, "all")]
    assert _mismatches(page, samples, blockgroups, "2016") == []
    screenshot(page, "pixels-blockgroups-2016")
    assert page.errors == []


def test_unstable_areas_are_drawn_paler(page, live_url, durham_build):
    """Block groups over all years (the page's first view): those of fewer than 20 incidents in
    their class colour washed with white, the others in their class colour."""
    blockgroups = _layer(page, live_url, durham_build, "blockgroups")
    west, south, east, north = blockgroups.frame.total_bounds
    page.goto(f"{live_url}/?layer=blockgroups&year=all#{ZOOM}/{(south + north) / 2:.6f}/{(west + east) / 2:.6f}")
    wait_idle(page)
    samples = _samples(page, blockgroups)
    assert len([s for s in samples if blockgroups.unstable(s.area, "all")]) >= 5
    assert _mismatches(page, samples, blockgroups, "all") == []
    screenshot(page, "pixels-blockgroups-unstable")
    assert page.errors == []


BAND_OF_ZOOM = {0: "hex6", 9: "hex6", 9.9: "hex6", 10: "hex7", 11.9: "hex7", 12: "hex8", 13.9: "hex8", 14: "hex9", 18: "hex9"}
"""The Durham fixture's hex bands (hex6 0-9, hex7 10-11, hex8 12-13, hex9 14): the first and last
zoom of each, and zooms past the last band's, which overzoom its tiles."""

DOWNLOAD_AT_ZOOM = """(zoom) => new Promise((resolve) => {
  const map = window.crimetiles.map;
  map.once('moveend', () => resolve(document.getElementById('download-csv').getAttribute('href')));
  map.jumpTo({zoom});
})"""


def test_hex_download_link_follows_the_zoom_band(page, live_url):
    page.goto(f"{live_url}/?layer=hex&year=2015#11/35.99/-78.9")
    wait_idle(page)
    links = {zoom: page.evaluate(DOWNLOAD_AT_ZOOM, zoom) for zoom in BAND_OF_ZOOM}
    assert links == {zoom: f"downloads/{layer}.csv?year=2015" for zoom, layer in BAND_OF_ZOOM.items()}
