// The table: every area of the layer shown, in the year shown, ranked by violent crimes per sq mi,
// sortable by any column, each row's checkbox adding the area to the selection; its CSV download
// holds exactly the table's columns (all but the checkboxes) and rows in the order shown.
import { csvText, formatNumber, plainNumber, rankedRows, sortRows } from './data.js';
import { element, saveText } from './widgets.js';

/** The table's columns: header, row field, how a value is shown and written to the CSV. */
function columns(compass, summary) {
  const all = compass.state.year === 'all';
  const span = `${summary.years[0]}–${summary.years[summary.years.length - 1]}`;
  const named = summary.areas.id.some((id, i) => summary.areas.name[i] !== id);
  return [
    { header: 'Rank', key: 'rank', show: String, csv: String, numeric: true },
    { header: 'Name', key: 'name', show: String, csv: String },
    ...(named ? [{ header: 'Id', key: 'id', show: String, csv: String }] : []),
    {
      header: all ? `Violent incidents ${span} (total)` : 'Violent incidents',
      key: 'count',
      show: (value) => formatNumber(value, 0),
      csv: (value) => plainNumber(value, 0),
      numeric: true,
    },
    { header: 'Area (sq mi)', key: 'area_sqmi', show: (value) => formatNumber(value, 2), csv: (value) => plainNumber(value, 2), numeric: true },
    {
      header: all ? 'Violent crimes per sq mi per year (average)' : 'Violent crimes per sq mi',
      key: 'density',
      show: (value) => formatNumber(value, 1),
      csv: (value) => plainNumber(value, 1),
      numeric: true,
    },
  ];
}

/** Render the table into `body` (replacing what was there), sorted by `sort` ({key, ascending}, kept
 * across re-renders); returns a function that brings its checkboxes in step with the selection. */
export async function renderTable(compass, body, sort) {
  const summary = await compass.summary();
  const rows = rankedRows(summary, compass.state.year);
  const cols = columns(compass, summary);
  const caption = `All ${rows.length} ${summary.title.toLowerCase()}, ${compass.yearLabel()}: violent crimes per sq mi, rank 1 the highest`;
  const headRow = element('tr');
  const tbody = element('tbody');
  const table = element('table', { id: 'area-table', class: 'data sortable' }, [
    element('caption', { id: 'area-table-caption' }, [caption]),
    element('thead', {}, [headRow]),
    tbody,
  ]);
  let sorted = [];
  const draw = () => {
    sorted = sortRows(rows, sort.key, sort.ascending);
    headRow.replaceChildren(
      ...cols.map((col) => {
        const state = col.key === sort.key ? (sort.ascending ? 'ascending' : 'descending') : undefined;
        const button = element('button', { type: 'button', class: 'sort', 'data-key': col.key }, [col.header]);
        button.addEventListener('click', () => {
          sort.ascending = col.key === sort.key ? !sort.ascending : !col.numeric || col.key === 'rank';
          sort.key = col.key;
          draw();
          table.querySelector(`button.sort[data-key="${col.key}"]`).focus();
        });
        return element('th', { scope: 'col', 'aria-sort': state, class: col.numeric ? 'numeric' : undefined }, [button]);
      }),
      element('th', { scope: 'col' }, ['Selected']),
    );
    tbody.replaceChildren(
      ...sorted.map((row) => {
        const box = element('input', { type: 'checkbox', 'aria-label': `Select ${row.name}`, checked: compass.selection.has(row.id) });
        box.addEventListener('change', () => compass.selection.toggle(row.id));
        const cells = cols.map((col, c) =>
          element(c === 1 ? 'th' : 'td', { scope: c === 1 ? 'row' : undefined, class: col.numeric ? 'numeric' : undefined }, [col.show(row[col.key])]),
        );
        return element('tr', { 'data-id': row.id }, [...cells, element('td', { class: 'select-cell' }, [box])]);
      }),
    );
  };
  draw();
  const download = element('button', { type: 'button', id: 'table-csv', class: 'button' }, ['Download this table (CSV)']);
  download.addEventListener('click', () => {
    const text = csvText(
      cols.map((col) => col.header),
      sorted.map((row) => cols.map((col) => col.csv(row[col.key]))),
    );
    const year = compass.state.year;
    saveText(text, `violent-crimes-per-sqmi-${summary.layer}-${year}-table.csv`, 'text/csv');
  });
  const region = element('div', { class: 'table-scroll tall', role: 'region', 'aria-labelledby': 'area-table-caption', tabindex: 0 }, [table]);
  body.replaceChildren(element('div', { class: 'table-actions' }, [download]), region);
  return () => {
    for (const box of tbody.querySelectorAll('input[type="checkbox"]')) box.checked = compass.selection.has(box.closest('tr').dataset.id);
  };
}
