// The "Selected areas" panel: the selection (each area removable, a clear button), its trend against
// the study area and the distribution of the layer's areas. Loaded when the panel first opens.
import { renderCompassDistribution } from './distribution.js';
import { loadChartLibrary } from './summaries.js';
import { renderTrend } from './trend.js';
import { element } from './widgets.js';

function selectionList(compass, summary, indexes) {
  if (!indexes.length) {
    return element('p', { class: 'muted' }, [
      compass.isEmbed
        ? 'No area selected.'
        : 'No area selected: click areas on the map (or press Enter at the crosshair), search, or use the distribution or the table.',
    ]);
  }
  const items = indexes.map((i) => {
    const id = summary.areas.id[i];
    const name = summary.areas.name[i];
    const remove = element('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${name} from the selection` }, ['×']);
    remove.addEventListener('click', () => compass.selection.toggle(id));
    return element('li', { class: 'chip', 'data-id': id }, [name, ...(compass.isEmbed ? [] : [remove])]);
  });
  return element('ul', { class: 'chips', 'aria-label': 'Selected areas' }, items);
}

/** Fill `body` with the panel's views for the compass's current layer, year and selection, the
 * charts `width` CSS pixels wide; resolves to a function that frees the charts. */
export async function renderCharts(compass, body, width) {
  const [uPlot, summary] = await Promise.all([loadChartLibrary(), compass.summary()]);
  const indexes = compass.selectedIndexes(summary);
  const views = [];
  const clear = element('button', { type: 'button', id: 'clear-selection', class: 'button', disabled: indexes.length === 0 }, ['Clear selection']);
  clear.addEventListener('click', () => compass.selection.clear());
  const list = element('section', { class: 'selection-list', 'aria-label': 'Selection' }, [selectionList(compass, summary, indexes), ...(compass.isEmbed ? [] : [clear])]);
  body.replaceChildren(list);
  const trend = renderTrend(uPlot, summary, indexes, width);
  body.append(trend.figure);
  views.push(trend);
  const distribution = renderCompassDistribution(uPlot, compass, summary, indexes, {
    width,
    onSelectClass: (k) => compass.selectClass(summary, k),
  });
  body.append(distribution.figure);
  views.push(distribution);
  return () => views.forEach((view) => view.destroy());
}
