// Search: a neighborhood name, a tract or block-group id, or a hex cell id, found in our own layer
// summaries (no online geocoder: the page works offline); choosing one shows its layer, moves the
// map to it and selects it. A combobox (ARIA 1.2 pattern): arrows move, Enter chooses, Escape closes.
import { searchAreas, searchEntries } from './data.js';
import { loadSummary } from './summaries.js';
import { element } from './widgets.js';

const MAX_RESULTS = 10;
const CELL_ID = /^[0-9a-f]{15}$/i;

/** The search box of the full page. `compass.boundaryLayers()`: tilesets drawn from one layer each
 * (searched by name and id); `compass.bandLayers()`: the layers of tilesets that change layer with
 * the zoom (the hex grid), searched only for a whole cell id. */
export function wireSearch(compass) {
  const input = document.getElementById('search-input');
  const list = document.getElementById('search-results');
  const status = document.getElementById('search-status');
  let entries = null;
  let results = [];
  let active = -1;

  const indexOnce = async () => {
    if (!entries) {
      const summaries = await Promise.all(compass.boundaryLayers().map(({ layer }) => loadSummary(layer)));
      entries = summaries.flatMap(searchEntries);
    }
    return entries;
  };
  const findCell = async (id) => {
    for (const { layer } of compass.bandLayers()) {
      const summary = await loadSummary(layer);
      const index = summary.areas.id.indexOf(id.toLowerCase());
      if (index >= 0) return searchEntries(summary)[index];
    }
    return null;
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (k) => {
    active = k;
    list.querySelectorAll('[role="option"]').forEach((option, i) => option.setAttribute('aria-selected', String(i === k)));
    if (k >= 0) input.setAttribute('aria-activedescendant', `search-result-${k}`);
  };
  const choose = async (entry) => {
    close();
    input.value = entry.name;
    status.textContent = `${entry.name} (${entry.title}) selected`;
    await compass.goTo(entry);
  };
  const show = (found, query) => {
    results = found;
    list.replaceChildren(
      ...found.map((entry, k) => {
        const label = entry.name === entry.id ? entry.id : `${entry.name} · ${entry.id}`;
        const option = element('li', { id: `search-result-${k}`, role: 'option', 'aria-selected': 'false', 'data-layer': entry.layer, 'data-id': entry.id }, [
          element('span', {}, [label]),
          element('span', { class: 'muted' }, [` ${entry.title}`]),
        ]);
        option.addEventListener('mousedown', (event) => event.preventDefault()); // keep the focus in the box
        option.addEventListener('click', () => choose(entry));
        return option;
      }),
    );
    list.hidden = found.length === 0;
    input.setAttribute('aria-expanded', String(found.length > 0));
    active = -1;
    status.textContent = query ? `${found.length || 'No'} area${found.length === 1 ? '' : 's'} found` : '';
  };
  const update = async () => {
    const query = input.value.trim();
    const found = query ? searchAreas(await indexOnce(), query, MAX_RESULTS) : [];
    if (!found.length && CELL_ID.test(query)) {
      const cell = await findCell(query);
      if (cell) found.push(cell);
    }
    if (input.value.trim() === query) show(found, query);
  };

  input.addEventListener('focus', () => indexOnce().catch((error) => console.warn(`search: ${error.message}`)));
  input.addEventListener('input', () => update().catch((error) => console.warn(`search: ${error.message}`)));
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && results.length) {
      if (list.hidden) show(results, input.value);
      highlight((active + 1) % results.length);
      event.preventDefault();
    } else if (event.key === 'ArrowUp' && results.length) {
      highlight((active - 1 + results.length) % results.length);
      event.preventDefault();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (results.length) choose(results[Math.max(active, 0)]);
    } else if (event.key === 'Escape') {
      close();
    }
  });
}
