// What residents use the Neighborhood Compass for, on our map: select areas, see their trend
// against the study area, the distribution of all areas, search, a ranked table and a printable
// report. Started by app.js once the map's style is loaded; the chart library, the charts, the table
// and the report load only when they are first shown.
import { ALL_YEARS, areaIndex, classOf, yearValues } from './data.js';
import { outlineSelection, selectionFromUrl, selectOnClickAndKey } from './selection.js';
import { loadSummary } from './summaries.js';

/** The zoom a search or the report moves to at most: a small area still shows its streets. */
const MAX_FOCUS_ZOOM = 15;

/**
 * `context`: what app.js knows: {map, state, names, years, styles, tilejsons, fillLayers, isEmbed,
 * params, view (fires `change` after the layer, year or view changed), densityLayer (the density
 * layer drawn at the current zoom)}.
 */
export function startCompass(context) {
  const { map, state, names, styles, tilejsons, isEmbed, params, view, densityLayer } = context;
  const selection = selectionFromUrl(params, densityLayer());
  const bandsOf = (tileset) => tilejsons[tileset].crimetiles.bands;
  const tilesetOf = (layer) => names.find((name) => bandsOf(name).some((band) => band.layer === layer));

  const compass = {
    ...context,
    selection,
    /** The summary of the layer the selection belongs to (the one drawn now). */
    summary: () => loadSummary(selection.layer),
    selectedIndexes(summary) {
      const index = areaIndex(summary);
      return selection.ids.map((id) => index.get(id)).filter((i) => i !== undefined);
    },
    /** The map's legend classes: the tileset's breaks and its legend rows (label, colour). */
    classes: () => ({ breaks: tilejsons[state.layer].crimetiles.class_breaks, legend: styles[state.layer].metadata['crimetiles:legend'] }),
    yearLabel: () => (state.year === ALL_YEARS ? `all years ${context.years[0]}–${context.years[context.years.length - 1]} (average per year)` : state.year),
    /** Select every area of legend class `k` in the year shown. */
    selectClass(summary, k) {
      const { breaks } = compass.classes();
      const { density } = yearValues(summary, state.year);
      selection.set(summary.areas.id.filter((_, i) => classOf(density[i], breaks) === k));
    },
    /** `zoom` moved within the zooms that draw `layer` (the hex grid changes layer with the zoom). */
    zoomWithinLayer(zoom, layer) {
      const bands = bandsOf(tilesetOf(layer));
      const k = bands.findIndex((band) => band.layer === layer);
      const top = k === bands.length - 1 ? MAX_FOCUS_ZOOM : bands[k].maxzoom + 0.99;
      return Math.min(Math.max(zoom, bands[k].minzoom), top, MAX_FOCUS_ZOOM);
    },
    /** Tilesets drawn from one layer all the way (searched by name and id). */
    boundaryLayers: () => names.filter((name) => bandsOf(name).length === 1).map((name) => ({ tileset: name, layer: bandsOf(name)[0].layer })),
    /** Layers of the tilesets that change layer with the zoom (searched by whole cell id). */
    bandLayers: () => names.filter((name) => bandsOf(name).length > 1).flatMap((name) => bandsOf(name).map((band) => ({ tileset: name, layer: band.layer }))),
    /** Show the layer of a search result, move the map to its area and select it. */
    async goTo(entry) {
      const tileset = tilesetOf(entry.layer);
      if (tileset !== state.layer) {
        const select = document.getElementById('layer-select');
        select.value = tileset;
        select.dispatchEvent(new Event('change'));
      }
      const summary = await loadSummary(entry.layer);
      const [west, south, east, north] = summary.areas.bbox[entry.index];
      const camera = map.cameraForBounds([[west, south], [east, north]], { padding: 60 });
      map.jumpTo({ ...camera, zoom: compass.zoomWithinLayer(camera.zoom, entry.layer) });
      selection.set([entry.id], entry.layer);
    },
  };

  // `change` (detail `selection` or `view`): what the panels show has changed.
  compass.changes = new EventTarget();
  const changed = (detail) => compass.changes.dispatchEvent(new CustomEvent('change', { detail }));
  selection.addEventListener('change', () => changed('selection'));
  const refreshOutline = outlineSelection(map, names, state, selection);
  selectOnClickAndKey(map, context.fillLayers, state, selection);
  let shown = { tileset: state.layer, year: state.year };
  view.addEventListener('change', () => {
    const layer = densityLayer();
    if (layer !== selection.layer) selection.set([], layer);
    else if (shown.tileset !== state.layer || shown.year !== state.year) changed('view');
    shown = { tileset: state.layer, year: state.year };
    refreshOutline();
  });
  window.crimetiles.compass = compass;
  return import('./panels.js')
    .then(({ wirePanels }) => wirePanels(compass))
    .then(() => {
      document.body.dataset.compass = 'ready';
      return compass;
    });
}
