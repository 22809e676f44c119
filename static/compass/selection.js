// The selection: areas of one density layer picked by click, Enter at the crosshair, search, the
// distribution or the table; kept in the URL (`selected=ID,ID`) and outlined on the map.
import { formatSelected, parseSelected } from './data.js';

const OUTLINE = '#000000';
const CASING = '#ffffff';

/**
 * The selected ids of `layer` (the density layer drawn now). Fires `change` whenever they change.
 * A selection belongs to its layer: when the page shows another layer (another geography, or for
 * the hex grid another resolution after zooming), it is emptied.
 */
export class Selection extends EventTarget {
  constructor(layer, ids) {
    super();
    this.layer = layer;
    this.ids = ids;
  }

  has(id) {
    return this.ids.includes(id);
  }

  set(ids, layer = this.layer) {
    this.ids = [...new Set(ids)];
    this.layer = layer;
    this.dispatchEvent(new Event('change'));
  }

  toggle(id) {
    this.set(this.has(id) ? this.ids.filter((other) => other !== id) : [...this.ids, id]);
  }

  clear() {
    this.set([]);
  }
}

/** The selection in the page's URL (`selected=`), kept in step with it. */
export function selectionFromUrl(params, layer) {
  const selection = new Selection(layer, parseSelected(params.get('selected')));
  selection.addEventListener('change', () => {
    const search = new URLSearchParams(window.location.search);
    if (selection.ids.length) search.set('selected', formatSelected(selection.ids));
    else search.delete('selected');
    window.history.replaceState(window.history.state, '', `?${search}${window.location.hash}`);
  });
  return selection;
}

/** A white casing and a black line around every selected area, above the fills of each tileset
 * (`names`), shown with the tileset shown (`state.layer`); returns a function bringing them in step. */
export function outlineSelection(map, names, state, selection) {
  const filter = () => ['in', ['get', 'id'], ['literal', selection.ids]];
  const visibility = (name) => (name === state.layer ? 'visible' : 'none');
  for (const name of names) {
    const common = { type: 'line', source: name, 'source-layer': name, filter: filter(), layout: { visibility: visibility(name) } };
    map.addLayer({ ...common, id: `${name}-selected-casing`, paint: { 'line-color': CASING, 'line-width': 5 } }, `${name}-highlight`);
    map.addLayer({ ...common, id: `${name}-selected`, paint: { 'line-color': OUTLINE, 'line-width': 2.5 } }, `${name}-highlight`);
  }
  const refresh = () => {
    for (const name of names) {
      for (const id of [`${name}-selected-casing`, `${name}-selected`]) {
        map.setFilter(id, filter());
        map.setLayoutProperty(id, 'visibility', visibility(name));
      }
    }
  };
  selection.addEventListener('change', refresh);
  return refresh;
}

/** Click an area, or press Enter or Space with the map focused (the area at the crosshair), to add
 * it to the selection or take it out. `areas`: app.js's mapAreas (`at(point)`, `atCrosshair()`). */
export function selectOnClickAndKey(map, areas, selection) {
  const toggle = (feature) => {
    if (feature) selection.toggle(String(feature.properties.id));
  };
  map.on('click', (event) => toggle(areas.at(event.point)));
  map.getCanvas().addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') toggle(areas.atCrosshair());
  });
}
