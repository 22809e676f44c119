// Search: a neighborhood name, a tract or block-group id, or a hex cell id, found in our own layer
// summaries (no online geocoder: the page works offline); choosing one shows its layer, moves the
// map to it and selects it. A combobox (ARIA 1.2 pattern): arrows move, Enter chooses, Escape closes.
import { searchAreas, searchEntries } from './data.js';
import { loadSummary } from './summaries.js';
import { element } from './widgets.js';

const MAX_RESULTS = 10;
const CELL_ID = /^[0-9a-f]{15}$/i;

/** Areas to search, read from the layer summaries when first needed: `find(query)` resolves to the
 * best matches by name or id among the `boundary` layers, or else to the cell of the `cells` layers
 * whose id the query is (both [{layer}]: compass data.js's searchLayers). */
function areaFinder(boundary, cells) {
  let entries = null;
  const index = async () => {
    if (!entries) {
      const summaries = await Promise.all(boundary.map(({ layer }) => loadSummary(layer)));
      entries = summaries.flatMap(searchEntries);
    }
    return entries;
  };
  const findCell = async (id) => {
    for (const { layer } of cells) {
      const summary = await loadSummary(layer);
      const position = summary.areas.id.indexOf(id.toLowerCase());
      if (position >= 0) return searchEntries(summary)[position];
    }
    return null;
  };
  const find = async (query) => {
    const found = query ? searchAreas(await index(), query, MAX_RESULTS) : [];
    if (!found.length && CELL_ID.test(query)) {
      const cell = await findCell(query);
      if (cell) found.push(cell);
    }
    return found;
  };
  return { index, find };
}

/** One option of the results list; `choose(entry)` when clicked. */
function resultOption(entry, k, choose) {
  const label = entry.name === entry.id ? entry.id : `${entry.name} · ${entry.id}`;
  const option = element('li', { id: `search-result-${k}`, role: 'option', 'aria-selected': 'false', 'data-layer': entry.layer, 'data-id': entry.id }, [
    element('span', {}, [label]),
    element('span', { class: 'muted' }, [` ${entry.title}`]),
  ]);
  option.addEventListener('mousedown', (event) => event.preventDefault()); // keep the focus in the box
  option.addEventListener('click', () => choose(entry));
  return option;
}

/** The combobox's list of results: `show(found, query)` fills it and announces the count,
 * `highlight(k)` marks the active option, `close()` hides it; `results` and `active` say what it
 * holds. */
function resultList(input, list, status, choose) {
  const self = {
    results: [],
    active: -1,
    show(found, query) {
      self.results = found;
      list.replaceChildren(...found.map((entry, k) => resultOption(entry, k, choose)));
      list.hidden = found.length === 0;
      input.setAttribute('aria-expanded', String(found.length > 0));
      self.active = -1;
      status.textContent = query ? `${found.length || 'No'} area${found.length === 1 ? '' : 's'} found` : '';
    },
    highlight(k) {
      self.active = k;
      list.querySelectorAll('[role="option"]').forEach((option, i) => option.setAttribute('aria-selected', String(i === k)));
      if (k >= 0) input.setAttribute('aria-activedescendant', `search-result-${k}`);
    },
    close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      self.active = -1;
    },
  };
  return self;
}

/** Arrows move through the results, Enter chooses (the first when none is active), Escape closes. */
function wireKeys(input, list, results, choose) {
  input.addEventListener('keydown', (event) => {
    const count = results.results.length;
    if (event.key === 'ArrowDown' && count) {
      if (list.hidden) results.show(results.results, input.value);
      results.highlight((results.active + 1) % count);
      event.preventDefault();
    } else if (event.key === 'ArrowUp' && count) {
      results.highlight((results.active - 1 + count) % count);
      event.preventDefault();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (count) choose(results.results[Math.max(results.active, 0)]);
    } else if (event.key === 'Escape') {
      results.close();
    }
  });
}

/** The search box of the full page: `boundary` and `cells`, the layers searched (see areaFinder);
 * `goTo(entry)` shows a chosen area. */
export function wireSearch({ boundary, cells, goTo }) {
  const input = document.getElementById('search-input');
  const list = document.getElementById('search-results');
  const status = document.getElementById('search-status');
  const finder = areaFinder(boundary, cells);
  const choose = async (entry) => {
    results.close();
    input.value = entry.name;
    status.textContent = `${entry.name} (${entry.title}) selected`;
    await goTo(entry);
  };
  const results = resultList(input, list, status, choose);
  const update = async () => {
    const query = input.value.trim();
    const found = await finder.find(query);
    if (input.value.trim() === query) results.show(found, query);
  };
  const warn = (error) => console.warn(`search: ${error.message}`);
  input.addEventListener('focus', () => finder.index().catch(warn));
  input.addEventListener('input', () => update().catch(warn));
  input.addEventListener('blur', () => results.close());
  wireKeys(input, list, results, choose);
}
