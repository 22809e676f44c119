// The map's style, made from the build's styles (one per tileset) and an optional basemap, and
// what the page reads from those styles and TileJSONs. Pure: run by the browser and by node
// (tests/static/map_style.test.mjs).

const CONTEXT_TILESET = 'tracts';
const BACKGROUND = { id: 'background', type: 'background', paint: { 'background-color': '#f4f3ef' } };

/** No basemap: our layers over the background. */
export const NO_BASEMAP = { sources: {}, layers: [] };

/** A basemap from an XYZ raster template (`.../{z}/{x}/{y}.png`), credited to its host. */
export function rasterBasemap(template) {
  const host = new URL(template.replace(/[{}]/g, '')).host;
  const attribution = host.endsWith('openstreetmap.org') ? '© OpenStreetMap contributors' : `Basemap: ${host}`;
  return {
    sources: { basemap: { type: 'raster', tiles: [template], tileSize: 256, attribution } },
    layers: [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.6 } }],
  };
}

/** A basemap from a MapLibre style document: its sources and layers, its glyphs and sprite. */
export function styleBasemap(style) {
  return { sources: style.sources || {}, layers: style.layers || [], glyphs: style.glyphs, sprite: style.sprite };
}

/** The filter of a tileset's highlight line: the area with id `id`, or none. */
export function highlightFilter(id) {
  return ['==', ['get', 'id'], id || ''];
}

const visibility = (shown) => (shown ? 'visible' : 'none');

/** Faint outlines of the whole study area under every layer, for orientation without a basemap. */
function contextOutline(names) {
  const context = names.includes(CONTEXT_TILESET) ? CONTEXT_TILESET : names[0];
  return {
    id: 'context-outline',
    type: 'line',
    source: context,
    'source-layer': context,
    paint: { 'line-color': '#9a9a9a', 'line-width': 0.6, 'line-opacity': 0.7 },
  };
}

/** A tileset's layers (its style's, then its highlight line), visible when it is `shown`. */
function tilesetLayers(name, style, shown) {
  const highlight = {
    id: `${name}-highlight`,
    type: 'line',
    source: name,
    'source-layer': name,
    filter: highlightFilter(null),
    layout: { visibility: visibility(shown) },
    paint: { 'line-color': '#08306b', 'line-width': 3 },
  };
  return [...style.layers.map((layer) => ({ ...layer, layout: { ...(layer.layout || {}), visibility: visibility(shown) } })), highlight];
}

/** The map's style: the basemap, the context outline, then every tileset (`names`, their
 * `styles`), only tileset `shown` visible. */
export function buildStyle(names, styles, basemap, shown) {
  const style = {
    version: 8,
    sources: { ...basemap.sources },
    layers: [BACKGROUND, ...basemap.layers, contextOutline(names)],
  };
  if (basemap.glyphs) style.glyphs = basemap.glyphs;
  if (basemap.sprite) style.sprite = basemap.sprite;
  for (const name of names) {
    Object.assign(style.sources, styles[name].sources);
    style.layers.push(...tilesetLayers(name, styles[name], name === shown));
  }
  return style;
}

/** What the page changes in the style: each tileset's fill layers (one per legend class, selected
 * by a filter on the density field) and all its layer ids (shown or hidden together), the
 * filters by layer id, and the fields those filters read that a year swaps for its own. */
export function styleLayers(names, styles) {
  const entries = (f) => Object.fromEntries(names.map((name) => [name, f(name, styles[name])]));
  return {
    fillLayers: entries((name, style) => style.metadata['crimetiles:fill-layers']),
    tilesetLayers: entries((name, style) => [...style.layers.map((layer) => layer.id), `${name}-highlight`]),
    classFilters: Object.fromEntries(
      names.flatMap((name) => styles[name].layers.filter((layer) => layer.filter).map((layer) => [layer.id, layer.filter])),
    ),
    yearFields: [...new Set(names.flatMap((name) => styles[name].metadata['crimetiles:year-fields'] || []))],
  };
}

/** The legend of a tileset's style: [{label, color}] per class, the class of 0 first. */
export function legendRows(style) {
  return style.metadata['crimetiles:legend'];
}

/** The legend's rows for the style's marks (`crimetiles:marks`): [{label, background}], each
 * swatch drawn as the map draws the mark, over the class colour `over` (a wash shows on it). */
export function legendMarks(style, over) {
  return (style.metadata['crimetiles:marks'] || []).map((mark) => {
    const [red, green, blue] = [1, 3, 5].map((at) => parseInt(mark.color.slice(at, at + 2), 16));
    const wash = `rgba(${red}, ${green}, ${blue}, ${mark.opacity})`;
    const background = mark.mark === 'unstable' ? `linear-gradient(${wash}, ${wash}), ${over}` : mark.color;
    return { label: mark.label, background };
  });
}

/** A legend as app.js draws it: `rows` ([{background, label, className}]: the `classes`, [{label,
 * color}], then the `marks`, [{label, background}]), the key's colours (the classes') and the
 * `subtitle`. */
export function legendView(classes, marks, subtitle) {
  return {
    rows: [...classes.map((row) => ({ background: row.color, label: row.label })), ...marks.map((mark) => ({ ...mark, className: 'legend-mark' }))],
    keyColors: classes.map((row) => row.color),
    subtitle,
  };
}

/** The density layer drawn at `zoom`: the layer of the TileJSON band (`crimetiles.bands`) holding
 * the whole zoom, else the last band's. */
export function densityLayerAt(bands, zoom) {
  const z = Math.floor(zoom);
  return (bands.find((band) => band.minzoom <= z && z <= band.maxzoom) || bands[bands.length - 1]).layer;
}
