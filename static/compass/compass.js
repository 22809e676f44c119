// What residents use the Neighborhood Compass for, on our map: select areas, see their trend
// against the study area, the distribution of all areas, search, a ranked table and a printable
// report. Started by app.js once the map's style is loaded; the chart library, the charts, the table
// and the report load only when they are first shown. This module puts the pieces together: each
// other module gets only what it uses.
import { legendRows } from '../map_style.js';
import { yearLabel } from '../years.js';
import { searchLayers, selectedIndexes, tilesetOfLayer, zoomWithinLayer } from './data.js';
import { outlineSelection, selectionFromUrl, selectOnClickAndKey } from './selection.js';
import { loadSummary } from './summaries.js';

/** The zoom a search or the report moves to at most: a small area still shows its streets. */
const MAX_FOCUS_ZOOM = 15;

/**
 * `context`: what app.js knows: {map, state ({layer, year, since}: the tileset and year shown, the
 * change view's first year), names,
 * years, styles, tilejsons, areas (the areas drawn: `at(point)`, `atCrosshair()`), isEmbed, params,
 * view (fires `change` after the layer, year or view changed), densityLayer (the density layer drawn
 * at the current zoom)}.
 */
export function startCompass(context) {
  const { map, state, names, tilejsons, isEmbed, params } = context;
  const selection = selectionFromUrl(params, context.densityLayer());
  const bands = Object.fromEntries(names.map((name) => [name, tilejsons[name].crimetiles.bands]));
  const fitBox = boxFitter(map, bands);
  const changes = watchChanges(context, selection);
  selectOnClickAndKey(map, context.areas, selection);
  window.crimetiles.compass = { selection };
  return import('./panels.js')
    .then(({ wirePanels }) =>
      wirePanels({
        selection,
        changes,
        shown: () => shownView(context, selection),
        isEmbed,
        openCharts: params.get('charts') === '1',
        map,
        fitBox,
        search: { ...searchLayers(bands), goTo: (entry) => goToArea(entry, state, bands, fitBox, selection) },
      }),
    )
    .then(() => {
      document.body.dataset.compass = 'ready';
    });
}

/**
 * What the panels draw, as plain data: the `summary` of the layer the selection belongs to (the one
 * drawn now), the `tileset` and `year` shown and its `yearLabel`, the first year of the map's change
 * view (`since`, null when off), the map's legend classes (`breaks` and `legend` rows) and the
 * positions in the summary of the `selected` areas.
 */
async function shownView({ state, years, styles, tilejsons }, selection) {
  const summary = await loadSummary(selection.layer);
  return {
    summary,
    tileset: state.layer,
    year: state.year,
    since: state.since,
    yearLabel: yearLabel(years, state.year),
    breaks: tilejsons[state.layer].crimetiles.class_breaks,
    legend: legendRows(styles[state.layer]),
    selected: selectedIndexes(summary, selection.ids),
  };
}

/** An EventTarget firing `change` (detail `selection` or `view`) when what the panels show has
 * changed; the selection emptied when the map draws another density layer, its outline kept in step. */
function watchChanges({ map, names, state, view, densityLayer }, selection) {
  const changes = new EventTarget();
  const changed = (detail) => changes.dispatchEvent(new CustomEvent('change', { detail }));
  selection.addEventListener('change', () => changed('selection'));
  const refreshOutline = outlineSelection(map, names, state, selection);
  let shown = { tileset: state.layer, year: state.year, since: state.since };
  view.addEventListener('change', () => {
    const layer = densityLayer();
    if (layer !== selection.layer) selection.set([], layer);
    else if (shown.tileset !== state.layer || shown.year !== state.year || shown.since !== state.since) changed('view');
    shown = { tileset: state.layer, year: state.year, since: state.since };
    refreshOutline();
  });
  return changes;
}

/** `fitBox(box, layer, padding)`: move the map to show `box` ([west, south, east, north]) at a zoom
 * that draws density layer `layer`, at most MAX_FOCUS_ZOOM. */
function boxFitter(map, bands) {
  return ([west, south, east, north], layer, padding) => {
    const camera = map.cameraForBounds([[west, south], [east, north]], { padding });
    if (camera) map.jumpTo({ ...camera, zoom: zoomWithinLayer(bands, camera.zoom, layer, MAX_FOCUS_ZOOM) });
  };
}

/** Show the layer of a search result, move the map to its area and select it. */
async function goToArea(entry, state, bands, fitBox, selection) {
  const tileset = tilesetOfLayer(bands, entry.layer);
  if (tileset !== state.layer) {
    const select = document.getElementById('layer-select');
    select.value = tileset;
    select.dispatchEvent(new Event('change'));
  }
  const summary = await loadSummary(entry.layer);
  fitBox(summary.areas.bbox[entry.index], entry.layer, 60);
  selection.set([entry.id], entry.layer);
}
