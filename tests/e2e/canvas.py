"""Reading what the map page drew: the pixels of MapLibre's WebGL canvas, for tests that check
colours (the choropleth's classes, the basemap under it)."""

from __future__ import annotations

from typing import Any

PIXELS_AT = """(points) => new Promise((resolve) => {
  // Read the map's WebGL canvas right after a frame is drawn, before the browser may clear it.
  const map = window.crimetiles.map;
  map.once('render', () => {
    const canvas = map.getCanvas();
    const ratio = canvas.width / canvas.clientWidth;
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext('2d');
    context.drawImage(canvas, 0, 0);
    resolve(points.map(([x, y]) => Array.from(context.getImageData(Math.floor(x * ratio), Math.floor(y * ratio), 1, 1).data)));
  });
  map.triggerRepaint();
})"""
"""RGBA of the drawn canvas at each CSS pixel [x, y] of the map."""

PROJECTED = """(lonlats) => {
  const map = window.crimetiles.map;
  const canvas = map.getCanvas();
  return {
    width: canvas.clientWidth,
    height: canvas.clientHeight,
    points: lonlats.map((lonlat) => { const p = map.project(lonlat); return [p.x, p.y]; }),
  };
}"""
"""Each [lon, lat] on the map's screen (CSS pixels), and the canvas size."""


def pixels_at_lonlats(page: Any, lonlats: list[tuple[float, float]]) -> list[tuple[int, int, int]]:
    """RGB the map drew at each (lon, lat) of the current view."""
    screen = page.evaluate(PROJECTED, [list(lonlat) for lonlat in lonlats])
    return [tuple(pixel[:3]) for pixel in page.evaluate(PIXELS_AT, screen["points"])]
