// The map page and the embed page: a MapLibre choropleth of violent crimes per square mile.
// Everything comes from this site (catalog, styles, tiles: the server's routes, or the files of a static
// export, as the page's data-* attributes say); an optional basemap from data-basemap.
// Every URL is relative to the page's base (the app's root, wherever a proxy mounts it).
/* global maplibregl, pmtiles */

const DENSITY = 'violent_per_sqmi';
const COUNT = 'violent_count';
const ALL_YEARS = 'all';
const BASEMAP_TIMEOUT_MS = 3000;
const CONTEXT_TILESET = 'tracts';
const LABELLED_TILESET = 'neighborhoods';
const LABEL_MIN_ZOOM = 12;
const MAX_LABELS = 80;

const body = document.body;
/** The app's root as the browser sees it, e.g. https://example.org/crime/ behind a proxy. */
const baseUrl = new URL('.', document.baseURI);
const absolute = (path) => new URL(path, baseUrl).href;
/** The app's root as other sites should reach it: the server's --public-url when set (behind a proxy
 * the browser's own address may not be the public one), else the page's base. */
const publicBase = body.dataset.publicUrl ? new URL(body.dataset.publicUrl.replace(/\/?$/, '/')) : baseUrl;
const shareable = (path) => new URL(path, publicBase).href;

maplibregl.setWorkerUrl(absolute(body.dataset.worker));
// Start the map worker now, so that its script downloads while the map is set up, not after.
maplibregl.prewarm();
// Only a static export's pages load the pmtiles library: their styles read PMTiles archives (Range requests).
if (typeof pmtiles !== 'undefined') maplibregl.addProtocol('pmtiles', new pmtiles.Protocol().tile);

const isEmbed = body.dataset.page === 'embed';
const params = new URLSearchParams(window.location.search);
const state = {
  layer: params.get('layer') || 'blockgroups',
  year: params.get('year') || ALL_YEARS,
  pinned: null,
};
window.mapIdle = false;

async function getJSON(url, options = {}) {
  const response = await fetch(url, options);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** `{name: document}` for every name, fetched in parallel from `urlOf(name)`. */
async function getEach(names, urlOf) {
  const documents = await Promise.all(names.map((name) => getJSON(urlOf(name))));
  return Object.fromEntries(names.map((name, i) => [name, documents[i]]));
}

const densityField = (year) => (year === ALL_YEARS ? DENSITY : `${DENSITY}_${year}`);
const countField = (year) => (year === ALL_YEARS ? COUNT : `${COUNT}_${year}`);

/** A filter of the style with the all-years field swapped for `field`. */
function withField(expression, field) {
  return JSON.parse(JSON.stringify(expression).replaceAll(`"${DENSITY}"`, JSON.stringify(field)));
}

function formatNumber(value, digits = 1) {
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function yearLabel(years, year) {
  return year === ALL_YEARS ? `All years ${years[0]}–${years[years.length - 1]} (average per year)` : String(year);
}

/** A basemap to draw under our layers: an XYZ raster template, a style URL, or none. Never hangs. */
async function basemapParts(url) {
  if (!url) return { sources: {}, layers: [] };
  if (url.includes('{z}')) {
    const host = new URL(url.replace(/[{}]/g, '')).host;
    const attribution = host.endsWith('openstreetmap.org') ? '© OpenStreetMap contributors' : `Basemap: ${host}`;
    return {
      sources: { basemap: { type: 'raster', tiles: [url], tileSize: 256, attribution } },
      layers: [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.6 } }],
    };
  }
  try {
    const style = await getJSON(url, { signal: AbortSignal.timeout(BASEMAP_TIMEOUT_MS) });
    return { sources: style.sources || {}, layers: style.layers || [], glyphs: style.glyphs, sprite: style.sprite };
  } catch (error) {
    console.warn(`basemap unavailable, drawing without it: ${error.message}`);
    return { sources: {}, layers: [] };
  }
}

function initialView(tilejson) {
  const [lon, lat, zoom] = tilejson.center;
  const center = (params.get('center') || '').split(',').map(Number);
  return {
    center: center.length === 2 && center.every(Number.isFinite) ? center : [lon, lat],
    zoom: Number.isFinite(Number(params.get('zoom'))) && params.get('zoom') ? Number(params.get('zoom')) : zoom,
  };
}

function buildStyle(names, styles, basemap) {
  const style = {
    version: 8,
    sources: { ...basemap.sources },
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f3ef' } }, ...basemap.layers],
  };
  if (basemap.glyphs) style.glyphs = basemap.glyphs;
  if (basemap.sprite) style.sprite = basemap.sprite;
  for (const name of names) Object.assign(style.sources, styles[name].sources);
  const context = names.includes(CONTEXT_TILESET) ? CONTEXT_TILESET : names[0];
  // Faint outlines of the whole study area under every layer, for orientation without a basemap.
  style.layers.push({
    id: 'context-outline',
    type: 'line',
    source: context,
    'source-layer': context,
    paint: { 'line-color': '#9a9a9a', 'line-width': 0.6, 'line-opacity': 0.7 },
  });
  for (const name of names) {
    for (const layer of styles[name].layers) {
      style.layers.push({ ...layer, layout: { ...(layer.layout || {}), visibility: name === state.layer ? 'visible' : 'none' } });
    }
    style.layers.push({
      id: `${name}-highlight`,
      type: 'line',
      source: name,
      'source-layer': name,
      filter: ['==', ['get', 'id'], ''],
      layout: { visibility: name === state.layer ? 'visible' : 'none' },
      paint: { 'line-color': '#08306b', 'line-width': 3 },
    });
  }
  return style;
}

function renderLegend(styles, years) {
  const rows = document.getElementById('legend-rows');
  rows.replaceChildren();
  for (const row of styles[state.layer].metadata['crimetiles:legend']) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = row.color;
    item.append(swatch, document.createTextNode(row.label));
    rows.append(item);
  }
  document.getElementById('legend-subtitle').textContent = `incidents per sq mi · ${yearLabel(years, state.year)}`;
}

function describe(properties, years) {
  const year = state.year;
  const count = properties[countField(year)];
  const density = properties[densityField(year)];
  const countLabel = year === ALL_YEARS ? `Violent incidents, ${years[0]}–${years[years.length - 1]} total` : `Violent incidents, ${year}`;
  const densityLabel = year === ALL_YEARS ? 'incidents per sq mi per year (average)' : 'incidents per sq mi';
  const fragment = document.createDocumentFragment();
  const title = document.createElement('strong');
  title.textContent = properties.name || properties.id;
  const list = document.createElement('dl');
  for (const [term, value] of [
    ['Year', yearLabel(years, year)],
    [countLabel, formatNumber(count, 0)],
    ['Area', `${formatNumber(properties.area_sqmi, 2)} sq mi`],
    ['Density', `${formatNumber(density)} ${densityLabel}`],
  ]) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
  const note = document.createElement('p');
  note.className = 'caveat';
  note.textContent = 'Reported by police: where policing happens, not all violence.';
  fragment.append(title, list, note);
  return fragment;
}

/** Screen box of a rendered polygon part (tile-clipped), in pixels. */
function screenBox(map, geometry) {
  const rings = geometry.type === 'Polygon' ? [geometry.coordinates[0]] : geometry.coordinates.map((polygon) => polygon[0]);
  const points = rings.flat().map((coordinate) => map.project(coordinate));
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return { left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
}

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/**
 * Names of the areas in view, as HTML labels over the map: MapLibre draws text only with glyph
 * files, which an offline page does not have. Largest areas first; a label that would overlap
 * another, or not fit its area, is left out.
 */
function drawLabels(map, layers, overlay) {
  overlay.replaceChildren();
  if (!layers || map.getZoom() < LABEL_MIN_ZOOM) return;
  const parts = new Map();
  for (const feature of map.queryRenderedFeatures({ layers })) {
    const box = screenBox(map, feature.geometry);
    const size = (box.right - box.left) * (box.bottom - box.top);
    const seen = parts.get(feature.properties.id);
    if (!seen || seen.size < size) parts.set(feature.properties.id, { name: feature.properties.name, box, size });
  }
  const placed = [];
  for (const { name, box } of [...parts.values()].sort((a, b) => b.size - a.size).slice(0, MAX_LABELS)) {
    const label = document.createElement('span');
    label.className = 'area-label';
    label.textContent = name;
    overlay.append(label);
    const width = label.offsetWidth;
    const height = label.offsetHeight;
    const x = (box.left + box.right) / 2 - width / 2;
    const y = (box.top + box.bottom) / 2 - height / 2;
    const own = { left: x, right: x + width, top: y, bottom: y + height };
    if (width > box.right - box.left || placed.some((other) => overlaps(own, other))) {
      label.remove();
      continue;
    }
    label.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
    placed.push(own);
  }
}

async function main() {
  const catalog = await getJSON(body.dataset.catalog);
  const names = catalog.tilesets.map((tileset) => tileset.name);
  const years = catalog.years.map(String);
  if (!names.includes(state.layer)) state.layer = names[0];
  if (state.year !== ALL_YEARS && !years.includes(String(state.year))) state.year = ALL_YEARS;
  state.year = String(state.year);
  const [styles, tilejsons, basemap] = await Promise.all([
    getEach(names, (name) => `styles/${name}.json`),
    getEach(names, (name) => `tiles/${name}.json`),
    basemapParts(body.dataset.basemap),
  ]);
  // Each tileset draws one fill layer per legend class, selected by a filter on the density field.
  const fillLayers = Object.fromEntries(names.map((name) => [name, styles[name].metadata['crimetiles:fill-layers']]));
  const classFilters = Object.fromEntries(
    names.flatMap((name) => styles[name].layers.filter((layer) => layer.filter).map((layer) => [layer.id, layer.filter])),
  );
  const tilesetLayers = Object.fromEntries(names.map((name) => [name, [...styles[name].layers.map((l) => l.id), `${name}-highlight`]]));
  const interactive = !isEmbed || params.get('interactive') !== '0';
  const view = new EventTarget(); // `change` after the layer, year or view changed (static/compass listens)

  const map = new maplibregl.Map({
    container: 'map',
    style: buildStyle(names, styles, basemap),
    ...initialView(tilejsons[state.layer]),
    hash: true,
    interactive,
    attributionControl: { compact: true },
    maxZoom: 18,
  });
  window.crimetiles = { map, state, fillLayers };
  if (interactive) map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.on('error', (event) => console.warn('map:', event.error && event.error.message));

  const tooltip = document.getElementById('tooltip');
  const showFeature = (feature) => {
    if (!feature) { tooltip.hidden = true; return; }
    tooltip.replaceChildren(describe(feature.properties, years));
    tooltip.hidden = false;
  };
  const setPinned = (feature) => {
    state.pinned = feature ? feature.properties.id : null;
    for (const name of names) map.setFilter(`${name}-highlight`, ['==', ['get', 'id'], state.pinned || '']);
    tooltip.classList.toggle('pinned', Boolean(feature));
    showFeature(feature);
  };
  const featureAt = (point) => map.queryRenderedFeatures(point, { layers: fillLayers[state.layer] })[0];

  const downloadLayer = () => {
    const bands = tilejsons[state.layer].crimetiles.bands;
    const zoom = Math.floor(map.getZoom());
    const band = bands.find((b) => b.minzoom <= zoom && zoom <= b.maxzoom) || bands[bands.length - 1];
    return band.layer;
  };
  const syncUrl = () => {
    const search = new URLSearchParams(window.location.search);
    search.set('layer', state.layer);
    search.set('year', state.year);
    window.history.replaceState(window.history.state, '', `?${search}${window.location.hash}`);
    view.dispatchEvent(new Event('change'));
    if (isEmbed) return;
    const layer = downloadLayer();
    const download = (format) => body.dataset.download.replace('{layer}', layer).replace('{format}', format).replace('{year}', state.year);
    document.getElementById('download-csv').href = download('csv');
    document.getElementById('download-geojson').href = download('geojson');
    const tilejsonUrl = document.getElementById('tilejson-url');
    if (tilejsonUrl) tilejsonUrl.textContent = shareable(`tiles/${state.layer}.json`);
    for (const link of document.querySelectorAll('.qgis-link')) link.href = `qgis/${state.layer}.qlr?year=${state.year}`;
  };
  // window.mapIdle: true once what the user asked for is drawn (tests wait on it).
  const markBusy = () => {
    window.mapIdle = false;
    map.once('idle', () => { window.mapIdle = true; });
    map.triggerRepaint();
  };
  const applyYear = () => {
    markBusy();
    for (const [id, filter] of Object.entries(classFilters)) map.setFilter(id, withField(filter, densityField(state.year)));
    renderLegend(styles, years);
    setPinned(null);
    syncUrl();
  };
  const applyLayer = () => {
    markBusy();
    for (const name of names) {
      for (const id of tilesetLayers[name]) map.setLayoutProperty(id, 'visibility', name === state.layer ? 'visible' : 'none');
    }
    renderLegend(styles, years);
    setPinned(null);
    syncUrl();
  };

  map.once('style.load', () => {
    applyYear();
    if (isEmbed && params.get('legend') === '0') document.getElementById('legend').hidden = true;
  });
  // Selection, charts, search, table and report, once the first view is drawn (their modules do not
  // compete with the map's for the link); the embed has them only when asked for.
  if (!isEmbed || params.has('selected') || params.get('charts') === '1') {
    const context = { map, state, names, years, styles, tilejsons, fillLayers, isEmbed, params, view, densityLayer: downloadLayer };
    map.once('load', () => import('./compass/compass.js').then(({ startCompass }) => startCompass(context)).catch((error) => console.error(error)));
  }
  map.on('moveend', syncUrl);
  const labels = document.getElementById('labels');
  const refreshLabels = () => drawLabels(map, state.layer === LABELLED_TILESET ? fillLayers[state.layer] : null, labels);
  map.on('idle', refreshLabels);
  map.on('moveend', refreshLabels);
  map.on('movestart', () => labels.replaceChildren());
  map.on('mousemove', (event) => {
    const feature = featureAt(event.point);
    map.getCanvas().style.cursor = feature ? 'pointer' : '';
    if (!state.pinned) showFeature(feature);
  });
  map.on('mouseout', () => { if (!state.pinned) showFeature(null); });
  map.on('click', (event) => setPinned(featureAt(event.point) || null));
  map.getCanvas().addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      const { width, height } = map.getCanvas().getBoundingClientRect();
      setPinned(featureAt([width / 2, height / 2]) || null);
      event.preventDefault();
    } else if (event.key === 'Escape') {
      setPinned(null);
    }
  });

  if (isEmbed) {
    document.getElementById('full-map-link').href = absolute(`${body.dataset.home}?layer=${state.layer}&year=${state.year}${selectedQuery()}${window.location.hash}`);
    return;
  }
  wireSelectors(catalog.tilesets, years, applyLayer, applyYear);
  wireAboutPanel();
  wireEmbedDialog();
}

/** `&selected=...` of the current URL (kept there by static/compass), or nothing. */
function selectedQuery() {
  const selected = new URLSearchParams(window.location.search).get('selected');
  return selected ? `&selected=${encodeURIComponent(selected)}` : '';
}

/** The geography and year selects of the full page. */
function wireSelectors(tilesets, years, applyLayer, applyYear) {
  const layerSelect = document.getElementById('layer-select');
  for (const tileset of tilesets) layerSelect.add(new Option(tileset.title, tileset.name, false, tileset.name === state.layer));
  layerSelect.addEventListener('change', () => { state.layer = layerSelect.value; applyLayer(); });
  const yearSelect = document.getElementById('year-select');
  yearSelect.add(new Option('All years (average per year)', ALL_YEARS, false, state.year === ALL_YEARS));
  for (const year of years) yearSelect.add(new Option(year, year, false, year === state.year));
  yearSelect.addEventListener('change', () => { state.year = yearSelect.value; applyYear(); });
}

/** "About this data", with the code snippets completed with this app's base URL. */
function wireAboutPanel() {
  const base = publicBase.href.replace(/\/$/, '');
  for (const code of document.querySelectorAll('.with-base-url')) code.textContent = code.textContent.replaceAll('BASE_URL', base);
  const about = document.getElementById('about');
  const aboutButton = document.getElementById('about-button');
  const toggleAbout = (open) => { about.hidden = !open; aboutButton.setAttribute('aria-expanded', String(open)); };
  aboutButton.addEventListener('click', () => toggleAbout(about.hidden));
  document.getElementById('about-close').addEventListener('click', () => toggleAbout(false));
}

/** The Embed button: a copyable iframe snippet for the current view. */
function wireEmbedDialog() {
  const dialog = document.getElementById('embed-dialog');
  const code = document.getElementById('embed-code');
  document.getElementById('embed-button').addEventListener('click', () => {
    const src = shareable(`${body.dataset.embed}?layer=${state.layer}&year=${state.year}${selectedQuery()}${window.location.hash}`);
    code.value = `<iframe src="${src}" width="640" height="480" style="border:0" loading="lazy" title="Violent crimes per square mile"></iframe>`;
    dialog.showModal();
    code.select();
  });
  document.getElementById('embed-copy').addEventListener('click', async () => {
    code.select();
    try { await navigator.clipboard.writeText(code.value); } catch { document.execCommand('copy'); }
  });
}

main().catch((error) => {
  console.error(error);
  const tooltip = document.getElementById('tooltip');
  tooltip.textContent = `The map could not load: ${error.message}`;
  tooltip.hidden = false;
});
