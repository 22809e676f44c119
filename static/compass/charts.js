// The "Selected areas" panel: the selection (each area removable, a clear button), its trend against
// the study area and the distribution of the layer's areas. Loaded when the panel first opens.
import { changeSentences, idsOfClass } from './data.js';
import { renderDistribution } from './distribution.js';
import { renderTrend } from './trend.js';
import { element } from './widgets.js';

const HINT = 'No area selected: click areas on the map (or press Enter at the crosshair), search, or use the distribution or the table.';

/** The selected areas as chips, each with a button taking it out of `selection` (not in the embed). */
function selectionList(summary, indexes, selection, isEmbed) {
  if (!indexes.length) return element('p', { class: 'muted' }, [isEmbed ? 'No area selected.' : HINT]);
  const items = indexes.map((i) => {
    const id = summary.areas.id[i];
    const name = summary.areas.name[i];
    const remove = element('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${name} from the selection` }, ['×']);
    remove.addEventListener('click', () => selection.toggle(id));
    return element('li', { class: 'chip', 'data-id': id }, [name, ...(isEmbed ? [] : [remove])]);
  });
  return element('ul', { class: 'chips', 'aria-label': 'Selected areas' }, items);
}

/** The selection list and, on the full page, the button clearing `selection`. */
function selectionSection(view, selection, isEmbed) {
  const list = selectionList(view.summary, view.selected, selection, isEmbed);
  if (isEmbed) return element('section', { class: 'selection-list', 'aria-label': 'Selection' }, [list]);
  const clear = element('button', { type: 'button', id: 'clear-selection', class: 'button', disabled: view.selected.length === 0 }, ['Clear selection']);
  clear.addEventListener('click', () => selection.clear());
  return element('section', { class: 'selection-list', 'aria-label': 'Selection' }, [list, clear]);
}

/** The change the map shows (`view.since` to `view.year`) of the selection and the study area. */
function changeNote(view) {
  const text = [`${view.since} to ${view.year}:`, ...changeSentences(view.summary, view.selected, view.since, view.year)].join(' ');
  return element('p', { id: 'selection-change', class: 'chart-note' }, [text]);
}

/** Fill `body` with the panel's views of `view` (compass.js's shownView), the charts (`uPlot`)
 * `width` CSS pixels wide; a class of the distribution selects its areas in `selection`. Returns a
 * function that frees the charts. */
export function renderCharts(body, { uPlot, view, width, selection, isEmbed }) {
  const trend = renderTrend(uPlot, view.summary, view.selected, width);
  const distribution = renderDistribution(uPlot, {
    ...view,
    width,
    onSelectClass: (k) => selection.set(idsOfClass(view.summary, view.year, view.breaks, k)),
  });
  body.replaceChildren(selectionSection(view, selection, isEmbed), ...(view.since ? [changeNote(view)] : []), trend.figure, distribution.figure);
  return () => [trend, distribution].forEach((chart) => chart.destroy());
}
