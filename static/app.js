// The map page and the embed page: a MapLibre choropleth of violent crimes per square mile.
// Everything comes from this site (catalog, styles, tiles: the server's routes, or the files of a static
// export, as the page's data-* attributes say); an optional basemap from data-basemap.
// Every URL is relative to the page's base (the app's root, wherever a proxy mounts it).
// The pure parts (URL state, style, labels, years) are modules of their own, unit-tested by node;
// the change view (static/change_view.js) is loaded the first time a change is shown.
/* global maplibregl, pmtiles */
import { labelBox, labelCandidates } from './area_labels.js';
import { areaFacts, legendSubtitle } from './labels.js';
import { buildStyle, densityLayerAt, highlightFilter, legendMarks, legendRows, legendView, NO_BASEMAP, rasterBasemap, styleBasemap, styleLayers } from './map_style.js';
import { changeText, downloadUrl, initialView, mapLink, mapStateFromUrl, parseChange, qgisUrl, withMapState } from './url_state.js';
import { ALL_YEARS, filterForYear } from './years.js';

const BASEMAP_TIMEOUT_MS = 3000;
const LABELLED_TILESET = 'neighborhoods';
const LABEL_MIN_ZOOM = 12;
const MAX_LABELS = 80;
const CAVEAT = 'Reported by police: where policing happens, not all violence.';

const body = document.body;
/** The app's root as the browser sees it, e.g. https://example.org/crime/ behind a proxy. */
const baseUrl = new URL('.', document.baseURI);
const absolute = (path) => new URL(path, baseUrl).href;
/** The app's root as other sites should reach it: the server's --public-url when set (behind a proxy
 * the browser's own address may not be the public one), else the page's base. */
const publicBase = body.dataset.publicUrl ? new URL(body.dataset.publicUrl.replace(/\/?$/, '/')) : baseUrl;
const shareable = (path) => new URL(path, publicBase).href;
const isEmbed = body.dataset.page === 'embed';
const params = new URLSearchParams(window.location.search);

/** MapLibre's worker, started now so that its script downloads while the map is set up; the
 * pmtiles protocol where the page loads it (a static export's styles read PMTiles archives). */
function startMapLibre() {
  maplibregl.setWorkerUrl(absolute(body.dataset.worker));
  maplibregl.prewarm();
  if (typeof pmtiles !== 'undefined') maplibregl.addProtocol('pmtiles', new pmtiles.Protocol().tile);
}

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

/** A basemap to draw under our layers: an XYZ raster template, a style URL, or none. Never hangs. */
async function basemapParts(url) {
  if (!url) return NO_BASEMAP;
  if (url.includes('{z}')) return rasterBasemap(url);
  try {
    return styleBasemap(await getJSON(url, { signal: AbortSignal.timeout(BASEMAP_TIMEOUT_MS) }));
  } catch (error) {
    console.warn(`basemap unavailable, drawing without it: ${error.message}`);
    return NO_BASEMAP;
  }
}

/** Every tileset's style and TileJSON, and the basemap. */
async function loadMapDocuments(names) {
  const [styles, tilejsons, basemap] = await Promise.all([
    getEach(names, (name) => `styles/${name}.json`),
    getEach(names, (name) => `tiles/${name}.json`),
    basemapParts(body.dataset.basemap),
  ]);
  return { styles, tilejsons, basemap };
}

function createMap(style, view) {
  const interactive = !isEmbed || params.get('interactive') !== '0';
  const map = new maplibregl.Map({ container: 'map', style, ...view, hash: true, interactive, attributionControl: { compact: true }, maxZoom: 18 });
  if (interactive) map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.on('error', (event) => console.warn('map:', event.error && event.error.message));
  return map;
}

/** The legend: its `rows` ([{background, label, className}]), the key's swatches (`keyColors`) and
 * the `subtitle`. */
function drawLegend({ rows, keyColors, subtitle }) {
  const swatch = (background, className) => {
    const node = document.createElement('span');
    if (className) node.className = className;
    node.style.background = background;
    return node;
  };
  document.getElementById('legend-rows').replaceChildren(...rows.map(({ background, label, className }) => {
    const row = document.createElement('li');
    if (className) row.className = className;
    row.append(swatch(background, 'swatch'), document.createTextNode(label));
    return row;
  }));
  document.getElementById('legend-key-swatches').replaceChildren(...keyColors.map((color) => swatch(color)));
  document.getElementById('legend-subtitle').textContent = subtitle;
}

/** The legend of a tileset's classes in `year`. */
function renderLegend(style, years, year) {
  const classes = legendRows(style);
  drawLegend(legendView(classes, legendMarks(style, classes[classes.length - 1].color), legendSubtitle(years, year)));
}

/** The tooltip's card for an area: its name, its numbers in `year`, the `extraFacts` ([[term,
 * value]]: its change in the change view) and the caveat. */
function areaCard(properties, years, year, marks, extraFacts) {
  const { title, facts } = areaFacts(properties, years, year, marks);
  facts.push(...extraFacts);
  const heading = document.createElement('strong');
  heading.textContent = title;
  const list = document.createElement('dl');
  for (const [term, value] of facts) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
  const note = document.createElement('p');
  note.className = 'caveat';
  note.textContent = CAVEAT;
  const fragment = document.createDocumentFragment();
  fragment.append(heading, list, note);
  return fragment;
}

/** The tooltip: `show(feature)` describes the area under the pointer (null hides it), with its
 * change in the change view (`change.facts`); `pin(feature)` keeps it shown and outlined until
 * another is pinned (null unpins), announces its numbers and folds the legend (`foldLegend`: on a
 * phone's map an expanded legend would lie over them); `repin()` describes and announces the
 * pinned area again, in the year shown now. */
function areaTooltip(map, state, names, years, styles, change, foldLegend) {
  const tooltip = document.getElementById('tooltip');
  let pinned = null;
  const show = (feature) => {
    tooltip.hidden = !feature;
    if (feature) tooltip.replaceChildren(areaCard(feature.properties, years, state.year, styles[state.layer].metadata['crimetiles:marks'], change.facts(feature.properties)));
  };
  const pin = (feature) => {
    pinned = feature;
    state.pinned = feature ? feature.properties.id : null;
    for (const name of names) map.setFilter(`${name}-highlight`, highlightFilter(state.pinned));
    tooltip.classList.toggle('pinned', Boolean(feature));
    if (feature) foldLegend();
    show(feature);
    announceArea(feature, years, state.year, styles[state.layer].metadata['crimetiles:marks'], change);
  };
  return { show, pin, repin: () => pin(pinned) };
}

/** One short sentence on the pinned area in `year` (its density and count; in the change view its
 * change too) in the page's live region, which a screen reader says when it changes (the tooltip's
 * whole card would be too long). */
function announceArea(feature, years, year, marks, change) {
  const region = document.getElementById('announcer');
  if (!feature) {
    region.textContent = '';
    return;
  }
  const { title, facts } = areaFacts(feature.properties, years, year, marks);
  const [[, yearText], [, count]] = facts;
  const density = facts.find(([term]) => term === 'Density')[1];
  const changed = change.facts(feature.properties).map(([term, sentence]) => ` ${term}: ${sentence}.`);
  region.textContent = `${title}, ${yearText}: ${density}, ${count} violent incidents.${changed.join('')}`;
}

/** The areas of the tileset shown: `at(point)` the one at a screen point ([x, y] or {x, y}), or
 * null; `atCrosshair()` the one at the centre of the map, where the keyboard points. */
function mapAreas(map, state, fillLayers) {
  const at = (point) => map.queryRenderedFeatures(point, { layers: fillLayers[state.layer] })[0] || null;
  const atCrosshair = () => {
    const { width, height } = map.getCanvas().getBoundingClientRect();
    return at([width / 2, height / 2]);
  };
  return { at, atCrosshair };
}

/** Hover shows an area; a click, or Enter or Space with the map focused (the area at the
 * crosshair), pins it; Escape unpins. */
function wirePointer(map, state, areas, tooltip) {
  map.on('mousemove', (event) => {
    const feature = areas.at(event.point);
    map.getCanvas().style.cursor = feature ? 'pointer' : '';
    if (!state.pinned) tooltip.show(feature);
  });
  map.on('mouseout', () => { if (!state.pinned) tooltip.show(null); });
  map.on('click', (event) => tooltip.pin(areas.at(event.point)));
  map.getCanvas().addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      tooltip.pin(areas.atCrosshair());
      event.preventDefault();
    } else if (event.key === 'Escape') {
      tooltip.pin(null);
    }
  });
}

/** The full page's downloads, TileJSON URL and QGIS links, for the tileset and year shown
 * (`densityLayer`: the tileset's layer drawn at the current zoom). */
function updateLinks(state, densityLayer) {
  const download = (format) => downloadUrl(body.dataset.download, densityLayer, format, state.year);
  document.getElementById('download-csv').href = download('csv');
  document.getElementById('download-geojson').href = download('geojson');
  const tilejsonUrl = document.getElementById('tilejson-url');
  if (tilejsonUrl) tilejsonUrl.textContent = shareable(`tiles/${state.layer}.json`);
  for (const link of document.querySelectorAll('.qgis-link')) link.href = qgisUrl(state.layer, state.year);
}

/** window.mapIdle: false until what the user asked for is drawn (tests wait on it). `mark()`: true
 * again once the map is idle; `hold()`: false until the next `mark()` (the change view waits for a
 * summary before it draws). */
function idleFlag(map) {
  let generation = 0;
  const hold = () => {
    generation += 1;
    window.mapIdle = false;
  };
  const mark = () => {
    hold();
    const mine = generation;
    map.once('idle', () => { if (mine === generation) window.mapIdle = true; });
    map.triggerRepaint();
  };
  return { hold, mark };
}

/** Draw `year`: each filter re-pointed at that year's fields (`yearFields`: density and marks). */
function showYear(map, classFilters, yearFields, year) {
  for (const [id, filter] of Object.entries(classFilters)) map.setFilter(id, filterForYear(filter, year, yearFields));
}

/** Show tileset `shown`'s layers, hide the others'. */
function showTileset(map, tilesetLayers, shown) {
  for (const [name, ids] of Object.entries(tilesetLayers)) {
    for (const id of ids) map.setLayoutProperty(id, 'visibility', name === shown ? 'visible' : 'none');
  }
}

/** What follows a change of the view (`syncUrl`: the URL, the full page's links, then `view`'s
 * `change` event), of the year (`applyYear`) or of the tileset (`applyLayer`): the map redrawn,
 * the legend, the pinned area's numbers in the new year (a new tileset unpins it), then the view's
 * updates. */
function viewUpdaters({ map, state, years, styles, classFilters, yearFields, tilesetLayers, tooltip, view, densityLayer, change, idle }) {
  const syncUrl = () => {
    window.history.replaceState(window.history.state, '', `${withMapState(window.location.search, state)}${window.location.hash}`);
    view.dispatchEvent(new Event('change'));
    if (!isEmbed) updateLinks(state, densityLayer());
  };
  const redraw = (show, updateTooltip) => () => {
    idle.mark();
    show();
    renderLegend(styles[state.layer], years, state.year);
    change.apply();
    updateTooltip();
    syncUrl();
  };
  return {
    syncUrl,
    applyYear: redraw(() => showYear(map, classFilters, yearFields, state.year), () => tooltip.repin()),
    applyLayer: redraw(() => showTileset(map, tilesetLayers, state.layer), () => tooltip.pin(null)),
  };
}

/** The change view (static/change_view.js), loaded the first time a change is shown: `apply()` draws
 * what the state asks for (then `repin()`: the tooltip shows the pinned area again), `facts(properties)`
 * the tooltip's words for an area's change; its layers join `fillLayers` (the areas the pointer finds). */
function changeLoader(context, fillLayers, repin, idle) {
  let view = null;
  let loading = null;
  const load = () => {
    loading = loading || import('./change_view.js').then(({ changeView }) => {
      view = changeView({ ...context, afterDraw: () => { repin(); idle.mark(); } });
      for (const name of context.names) fillLayers[name].push(...view.areaLayers(name));
    });
    return loading;
  };
  return {
    apply: () => {
      if (!context.state.since && !view) return;
      idle.hold();
      load().then(() => view.apply()).catch((error) => console.error(error));
    },
    facts: (properties) => (view ? view.facts(properties) : []),
  };
}

/** Names of the areas in view, as HTML labels over the map (static/area_labels.js places them). */
function drawLabels(map, layers, overlay) {
  overlay.replaceChildren();
  if (!layers || map.getZoom() < LABEL_MIN_ZOOM) return;
  const project = (coordinate) => map.project(coordinate);
  const placed = [];
  for (const { name, box } of labelCandidates(map.queryRenderedFeatures({ layers }), project, MAX_LABELS)) {
    const label = document.createElement('span');
    label.className = 'area-label';
    label.textContent = name;
    overlay.append(label);
    const own = labelBox(box, label.offsetWidth, label.offsetHeight, placed);
    if (!own) {
      label.remove();
      continue;
    }
    label.style.transform = `translate(${Math.round(own.left)}px, ${Math.round(own.top)}px)`;
    placed.push(own);
  }
}

/** The area labels of the labelled tileset, redrawn when the map settles, cleared while it moves. */
function wireAreaLabels(map, state, fillLayers) {
  const overlay = document.getElementById('labels');
  const refresh = () => drawLabels(map, state.layer === LABELLED_TILESET ? fillLayers[state.layer] : null, overlay);
  map.on('idle', refresh);
  map.on('moveend', refresh);
  map.on('movestart', () => overlay.replaceChildren());
}

/** Selection, charts, search, table and report (static/compass), once the first view is drawn
 * (their modules do not compete with the map's for the link); the embed has them only when asked. */
function startCompassWhenLoaded(map, context) {
  if (isEmbed && !params.has('selected') && params.get('charts') !== '1') return;
  map.once('load', () => import('./compass/compass.js').then(({ startCompass }) => startCompass(context)).catch((error) => console.error(error)));
}

async function main() {
  const catalog = await getJSON(body.dataset.catalog);
  const names = catalog.tilesets.map((tileset) => tileset.name);
  const years = catalog.years.map(String);
  const state = { ...mapStateFromUrl(params, names, years), pinned: null };
  const { styles, tilejsons, basemap } = await loadMapDocuments(names);
  const { fillLayers, tilesetLayers, classFilters, yearFields } = styleLayers(names, styles);
  const map = createMap(buildStyle(names, styles, basemap, state.layer), initialView(params, tilejsons[state.layer].center));
  keepFlat(map);
  window.crimetiles = { map, state, fillLayers };
  map.once('load', () => document.getElementById('first-view')?.remove()); // static/first_view.js's picture
  const densityLayer = () => densityLayerAt(tilejsons[state.layer].crimetiles.bands, map.getZoom());
  const view = new EventTarget(); // `change` after the layer, year or view changed (static/compass listens)
  const idle = idleFlag(map);
  const change = changeLoader({ map, state, names, styles, densityLayer, drawLegend }, fillLayers, () => tooltip.repin(), idle);
  const tooltip = areaTooltip(map, state, names, years, styles, change, wireLegendKey());
  const areas = mapAreas(map, state, fillLayers);
  const { syncUrl, applyYear, applyLayer } = viewUpdaters({ map, state, years, styles, classFilters, yearFields, tilesetLayers, tooltip, view, densityLayer, change, idle });
  map.once('style.load', () => {
    applyYear();
    if (isEmbed && params.get('legend') === '0') document.getElementById('legend').hidden = true;
  });
  startCompassWhenLoaded(map, { map, state, names, years, styles, tilejsons, areas, isEmbed, params, view, densityLayer });
  map.on('moveend', syncUrl);
  wireAreaLabels(map, state, fillLayers);
  wirePointer(map, state, areas, tooltip);
  if (isEmbed) {
    document.getElementById('full-map-link').href = absolute(mapLink(body.dataset.home, state, window.location.search, window.location.hash));
    return;
  }
  wireSelectors(state, catalog.tilesets, years, applyLayer, applyYear);
  wireAboutPanel();
  wireEmbedDialog(state);
  wireMenu(map);
  wireTableKey(map);
}

/** A flat map for two fingers: dragging them up or down pans it, as sideways does (MapLibre would
 * tilt it, which a choropleth has no use for); a pinch still zooms. */
function keepFlat(map) {
  map.touchPitch.disable();
}

/** T with the map focused opens the ranked table, the map's text alternative (its button may be
 * in the phone's closed menu). */
function wireTableKey(map) {
  map.getCanvas().addEventListener('keydown', (event) => {
    const table = document.getElementById('table-panel');
    if (event.key.toLowerCase() !== 't' || event.ctrlKey || event.metaKey || event.altKey || !table.hidden) return;
    document.getElementById('table-button').click();
    event.preventDefault();
  });
}

/** The legend's key (what a phone shows of the legend): a tap expands the whole legend, another
 * folds it back. Returns the function that folds it, for an area pinned (a tap, a click or Enter;
 * not a mouse passing over the map), whose numbers an expanded legend hides. */
function wireLegendKey() {
  const legend = document.getElementById('legend');
  const key = document.getElementById('legend-key');
  const expand = (expanded) => {
    legend.classList.toggle('expanded', expanded);
    key.setAttribute('aria-expanded', String(expanded));
  };
  key.addEventListener('click', () => expand(!legend.classList.contains('expanded')));
  return () => expand(false);
}

/** The phone's menu button: it shows and hides the search and the tools (which a wide screen shows
 * in the bar); choosing a tool, moving the map (a search flies to its area) or Escape closes it. */
function wireMenu(map) {
  const bar = document.querySelector('.bar');
  const button = document.getElementById('menu-button');
  const setOpen = (open) => {
    bar.classList.toggle('menu-open', open);
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => setOpen(!bar.classList.contains('menu-open')));
  document.getElementById('bar-tools').addEventListener('click', (event) => {
    if (event.target.closest('.actions .button')) setOpen(false);
  });
  bar.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !bar.classList.contains('menu-open')) return;
    event.stopPropagation();
    setOpen(false);
    button.focus();
  });
  map.on('movestart', () => setOpen(false));
}

/** An option named by `title` without its trailing parenthesis ("Hex grid (H3, resolution follows
 * zoom)": "Hex grid"), the whole title as its tooltip: a select shows its choice whole in the bar,
 * on a phone too. */
function choice(title, value, selected) {
  const option = new Option(title.replace(/\s*\([^()]*\)$/, '') || title, value, false, selected);
  option.title = title;
  return option;
}

/** The geography and year selects of the full page. */
function wireSelectors(state, tilesets, years, applyLayer, applyYear) {
  const layerSelect = document.getElementById('layer-select');
  for (const tileset of tilesets) layerSelect.add(choice(tileset.title, tileset.name, tileset.name === state.layer));
  layerSelect.addEventListener('change', () => { state.layer = layerSelect.value; applyLayer(); });
  const yearSelect = document.getElementById('year-select');
  yearSelect.add(choice('All years (average per year)', ALL_YEARS, state.year === ALL_YEARS));
  for (const year of years) yearSelect.add(new Option(year, year, false, year === state.year));
  const fillChangeSelect = wireChangeSelect(state, years, applyYear);
  yearSelect.addEventListener('change', () => {
    state.year = yearSelect.value;
    if (!parseChange(changeText(state), years)) state.since = null;
    fillChangeSelect();
    applyYear();
  });
}

/** The change control beside the year: no change view, or the change to the year shown since an
 * earlier year (none for all years). Returns the function that fills it again for the year shown. */
function wireChangeSelect(state, years, applyYear) {
  const select = document.getElementById('change-select');
  const fill = () => {
    const earlier = state.year === ALL_YEARS ? [] : years.filter((year) => Number(year) < Number(state.year));
    select.replaceChildren(new Option('off', ''), ...earlier.map((year) => new Option(`since ${year}`, year, false, year === state.since)));
    select.disabled = !earlier.length;
  };
  fill();
  select.addEventListener('change', () => { state.since = select.value || null; applyYear(); });
  return fill;
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
function wireEmbedDialog(state) {
  const dialog = document.getElementById('embed-dialog');
  const code = document.getElementById('embed-code');
  document.getElementById('embed-button').addEventListener('click', () => {
    const src = shareable(mapLink(body.dataset.embed, state, window.location.search, window.location.hash));
    code.value = `<iframe src="${src}" width="640" height="480" style="border:0" loading="lazy" title="Violent crimes per square mile"></iframe>`;
    dialog.showModal();
    code.select();
  });
  document.getElementById('embed-copy').addEventListener('click', async () => {
    code.select();
    try { await navigator.clipboard.writeText(code.value); } catch { document.execCommand('copy'); }
  });
}

startMapLibre();
window.mapIdle = false;
main().catch((error) => {
  console.error(error);
  const tooltip = document.getElementById('tooltip');
  tooltip.textContent = `The map could not load: ${error.message}`;
  tooltip.setAttribute('role', 'alert');
  tooltip.hidden = false;
});
