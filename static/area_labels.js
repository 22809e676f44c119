// Where the names of the areas in view go: MapLibre draws text only with glyph files, which an
// offline page does not have, so app.js draws them as HTML labels over the map. Largest areas first;
// a label that would overlap another, or not fit its area, is left out. Pure: run by the browser and
// by node (tests/static/area_labels.test.mjs). Boxes are {left, right, top, bottom} in screen pixels.

/** Screen box of a rendered polygon part (tile-clipped); `project` maps [lon, lat] to {x, y}. */
export function screenBox(geometry, project) {
  const rings = geometry.type === 'Polygon' ? [geometry.coordinates[0]] : geometry.coordinates.map((polygon) => polygon[0]);
  const points = rings.flat().map((coordinate) => project(coordinate));
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return { left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
}

export const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** The largest drawn part of each area among rendered `features` (an area cut by tile edges comes
 * in parts), largest first, at most `max`: [{name, box, size}]. */
export function labelCandidates(features, project, max) {
  const parts = new Map();
  for (const feature of features) {
    const box = screenBox(feature.geometry, project);
    const size = (box.right - box.left) * (box.bottom - box.top);
    const seen = parts.get(feature.properties.id);
    if (!seen || seen.size < size) parts.set(feature.properties.id, { name: feature.properties.name, box, size });
  }
  return [...parts.values()].sort((a, b) => b.size - a.size).slice(0, max);
}

/** The box of a `width` × `height` label centred on an area's `box`, or null when it is wider than
 * the area or overlaps a label already `placed`. */
export function labelBox(box, width, height, placed) {
  const x = (box.left + box.right) / 2 - width / 2;
  const y = (box.top + box.bottom) / 2 - height / 2;
  const own = { left: x, right: x + width, top: y, bottom: y + height };
  if (width > box.right - box.left || placed.some((other) => overlaps(own, other))) return null;
  return own;
}
