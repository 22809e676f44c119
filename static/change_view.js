// The change view on the map (`?change=2014-2016`): app.js loads it the first time a change is
// shown. Each tileset gets its change layers (static/change.js) under its outlines; showing a pair
// of years reads the summary of the density layer drawn (its differences give the classes' breaks,
// its counts the exact test's verdicts), then draws the shown tileset's change instead of its
// classes, with its legend. The tooltip asks `facts(properties)` for the area's change.
import { changeBreaks, changeColorExpression, changeFacts, changeLayerIds, changeLayers, changeLegend, layerChanges, publishedFilter, unclearFilter, withheldFilter } from './change.js';
import { loadSummary } from './compass/summaries.js';

/** The layer ids of a tileset's style drawn by class (its fills and marks), hidden in the change view. */
function classLayerIds(style) {
  return style.layers.filter((layer) => layer.type === 'fill').map((layer) => layer.id);
}

/** Add every tileset's change layers (hidden) under its first line layer (its outlines). */
function addChangeLayers(map, names, styles) {
  for (const name of names) {
    const outline = styles[name].layers.find((layer) => layer.type === 'line');
    for (const layer of changeLayers(name, styles[name])) map.addLayer(layer, outline && outline.id);
  }
}

/** Show the change layers of tileset `shown` instead of its classes when `on`, its classes otherwise;
 * every other tileset's change layers hidden. */
function showChange(map, names, styles, shown, on) {
  const set = (id, visible) => map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  for (const name of names) {
    for (const id of Object.values(changeLayerIds(name))) set(id, on && name === shown);
    if (name === shown) for (const id of classLayerIds(styles[name])) set(id, !on);
  }
}

/** Draw the change of `summary`'s layer in tileset `name` from `since` to `year`; returns its breaks. */
function drawChange(map, name, summary, since, year) {
  const { differences, unclearIds } = layerChanges(summary, since, year);
  const breaks = changeBreaks(differences);
  const ids = changeLayerIds(name);
  map.setPaintProperty(ids.fill, 'fill-color', changeColorExpression(breaks, since, year));
  map.setFilter(ids.fill, publishedFilter(since, year));
  map.setFilter(ids.unclear, unclearFilter(unclearIds));
  map.setFilter(ids.withheld, withheldFilter(since, year));
  return breaks;
}

/**
 * The change view of the map. `context`: {map, state ({layer, year, since}), names, styles,
 * densityLayer() (the density layer drawn now), drawLegend({rows, keyColors, subtitle}), afterDraw()
 * (called once what was asked is drawn)}.
 * Returns {apply() (draw what `state` asks for: a promise), facts(properties), areaLayers(name) (the
 * layers whose areas the pointer finds)}.
 */
export function changeView({ map, state, names, styles, densityLayer, drawLegend, afterDraw }) {
  addChangeLayers(map, names, styles);
  let generation = 0;
  let shown = null; // {summary, since, year} of the change drawn
  const apply = async () => {
    const mine = ++generation;
    shown = null;
    if (!state.since) {
      showChange(map, names, styles, state.layer, false);
      afterDraw();
      return;
    }
    const { since, year, layer: tileset } = state;
    const summary = await loadSummary(densityLayer());
    if (mine !== generation) return;
    const breaks = drawChange(map, tileset, summary, since, year);
    showChange(map, names, styles, tileset, true);
    drawLegend(changeLegend(styles[tileset], breaks, since, year));
    shown = { summary, since, year };
    afterDraw();
  };
  let drawnLayer = densityLayer();
  map.on('moveend', () => {
    if (densityLayer() === drawnLayer) return;
    drawnLayer = densityLayer();
    if (state.since) apply();
  });
  return {
    apply,
    facts: (properties) => (shown ? changeFacts(shown.summary, properties, shown.since, shown.year) : []),
    areaLayers: (name) => [changeLayerIds(name).fill, changeLayerIds(name).withheld],
  };
}
