// The table: every area of the layer shown, in the year shown, ranked by violent crimes per sq mi,
// sortable by any column, each row's checkbox adding the area to the selection; each density with its
// 95 % interval and its reliability (unstable, or withheld); its CSV download holds
// the table's columns (all but the checkboxes; the interval as its two bounds) and rows in the order
// shown. A picker adds the change since another year: per sq mi, percent and the exact test's verdict,
// and the study area's change above the table; the map's change view opens it with its own pair.
import { formatNumber } from '../labels.js';
import { ALL_YEARS, yearSpan } from '../years.js';
import { changeSentence, csvText, intervalText, plainNumber, rankedRows, selectionValues, signedNumber, sortRows, withChange } from './data.js';
import { element, saveText } from './widgets.js';

/** A number shown with `digits` decimals, blank where withheld (null). */
function shownNumber(digits) {
  return (value) => (value === null ? '' : formatNumber(value, digits));
}

/** The same number for the CSV, blank where withheld (null). */
function csvNumber(digits) {
  return (value) => (value === null ? '' : plainNumber(value, digits));
}

/** The table's columns for `summary` in `year`: header, row field, how a value is shown and
 * written to the CSV (the interval as two CSV columns, its bounds as the build gives them). */
function columns(summary, year) {
  const all = year === ALL_YEARS;
  const span = yearSpan(summary.years);
  const named = summary.areas.id.some((id, i) => summary.areas.name[i] !== id);
  const withheld = 'withheld';
  return [
    { header: 'Rank', key: 'rank', show: String, csv: String, numeric: true },
    { header: 'Name', key: 'name', show: String, csv: String },
    ...(named ? [{ header: 'Id', key: 'id', show: String, csv: String }] : []),
    {
      header: all ? `Violent incidents ${span} (total)` : 'Violent incidents',
      key: 'count',
      show: (value) => (value === null ? withheld : formatNumber(value, 0)),
      csv: (value) => (value === null ? withheld : plainNumber(value, 0)),
      numeric: true,
    },
    { header: 'Area (sq mi)', key: 'area_sqmi', show: shownNumber(2), csv: csvNumber(2), numeric: true },
    {
      header: all ? 'Violent crimes per sq mi per year (average)' : 'Violent crimes per sq mi',
      key: 'density',
      show: shownNumber(1),
      csv: csvNumber(1),
      numeric: true,
    },
    {
      header: '95 % interval',
      csvHeaders: ['95 % interval low', '95 % interval high'],
      key: 'low',
      show: (value, row) => (value === null ? '' : intervalText(row.low, row.high)),
      csv: (value, row) => (value === null ? ['', ''] : [String(row.low), String(row.high)]),
      numeric: true,
    },
    { header: 'Reliability', key: 'reliability', show: String, csv: String },
  ];
}

/** The columns of the change since year `since`: per sq mi, percent (none from 0) and verdict. */
function changeColumns(since) {
  const signed = (digits) => (value) => (value === null ? '' : signedNumber(value, digits));
  return [
    { header: `Change since ${since} (per sq mi)`, key: 'change', show: signed(1), csv: csvNumber(3), numeric: true },
    { header: `Change since ${since} (%)`, key: 'change_percent', show: signed(0), csv: csvNumber(1), numeric: true },
    { header: 'Verdict (exact test, 95 %)', key: 'verdict', show: (value) => value || '', csv: (value) => value || '' },
  ];
}

/** The year the table's change is measured from: `comparison.since` if it is another year of the
 * summary than the one shown (none for all years). */
function changeBase(summary, year, comparison) {
  const other = year !== ALL_YEARS && comparison.since !== year && summary.years.includes(Number(comparison.since));
  return other ? comparison.since : null;
}

/** The "Change since" picker: none or another year of the summary than `year`; sets `comparison.since`
 * and calls `redraw()`. */
function changePicker(summary, year, comparison, redraw) {
  const since = changeBase(summary, year, comparison);
  const options = summary.years
    .map(String)
    .filter((other) => other !== year)
    .map((other) => element('option', { value: other, selected: other === since }, [other]));
  const select = element('select', { id: 'table-change' }, [element('option', { value: '' }, ['none']), ...options]);
  select.addEventListener('change', () => {
    comparison.since = select.value || null;
    redraw();
  });
  return element('label', { class: 'table-change' }, [`Change to ${year} since `, select]);
}

/** The header row's cells: a sort button per column (`sort` changed in place, then `redraw(key)`)
 * and the checkboxes' column. */
function headerCells(cols, sort, redraw) {
  const cells = cols.map((col) => {
    const order = col.key === sort.key ? (sort.ascending ? 'ascending' : 'descending') : undefined;
    const button = element('button', { type: 'button', class: 'sort', 'data-key': col.key }, [col.header]);
    button.addEventListener('click', () => {
      sort.ascending = col.key === sort.key ? !sort.ascending : !col.numeric || col.key === 'rank';
      sort.key = col.key;
      redraw(col.key);
    });
    return element('th', { scope: 'col', 'aria-sort': order, class: col.numeric ? 'numeric' : undefined }, [button]);
  });
  return [...cells, element('th', { scope: 'col' }, ['Selected'])];
}

/** A row of the table: the area's cells (its name the row header) and its checkbox, in step with
 * `selection`. */
function areaRow(row, cols, selection) {
  const box = element('input', { type: 'checkbox', 'aria-label': `Select ${row.name}`, checked: selection.has(row.id) });
  box.addEventListener('change', () => selection.toggle(row.id));
  const cells = cols.map((col, c) =>
    element(c === 1 ? 'th' : 'td', { scope: c === 1 ? 'row' : undefined, class: col.numeric ? 'numeric' : undefined }, [col.show(row[col.key], row)]),
  );
  return element('tr', { 'data-id': row.id, class: row.reliability ? 'unstable' : undefined }, [...cells, element('td', { class: 'select-cell' }, [box])]);
}

/** The button saving the table as shown (`shown()`: its columns and rows) as CSV. */
function csvButton(shown, summary, year) {
  const download = element('button', { type: 'button', id: 'table-csv', class: 'button' }, ['Download this table (CSV)']);
  download.addEventListener('click', () => {
    const { cols, rows } = shown();
    const text = csvText(
      cols.flatMap((col) => col.csvHeaders || [col.header]),
      rows.map((row) => cols.flatMap((col) => col.csv(row[col.key], row))),
    );
    saveText(text, `violent-crimes-per-sqmi-${summary.layer}-${year}-table.csv`, 'text/csv');
  });
  return download;
}

/** The table's change follows the map's change view (`since`, null when off) when the map shows a
 * new pair; the picker may change it afterwards (`comparison.mapPair` remembers the pair followed). */
function followMapChange(comparison, since, year) {
  const pair = since ? `${since}-${year}` : null;
  if (pair && comparison.mapPair !== pair) comparison.since = since;
  comparison.mapPair = pair;
}

/** Render the table of `view` ({summary, year, since, yearLabel}: compass.js's shownView) into `body`
 * (replacing what was there), sorted by `sort` ({key, ascending}) with the change since
 * `comparison.since` (a year, or null; the map's change view sets it), both kept across re-renders,
 * each row's checkbox toggling its area in `selection`; returns a function that brings the
 * checkboxes in step with the selection. */
export function renderTable(body, { summary, year, since: mapSince, yearLabel }, selection, sort, comparison) {
  followMapChange(comparison, mapSince, year);
  const ranked = rankedRows(summary, year);
  const caption = `All ${ranked.length} ${summary.title.toLowerCase()}, ${yearLabel}: violent crimes per sq mi, rank 1 the highest`;
  const headRow = element('tr');
  const tbody = element('tbody');
  const table = element('table', { id: 'area-table', class: 'data sortable' }, [
    element('caption', { id: 'area-table-caption' }, [caption]),
    element('thead', {}, [headRow]),
    tbody,
  ]);
  let shown = { cols: [], rows: [] };
  const studyChange = element('p', { id: 'table-change-study', class: 'chart-note' });
  const draw = () => {
    const since = changeBase(summary, year, comparison);
    studyChange.hidden = !since;
    studyChange.textContent = since ? `The study area, ${since} to ${year}: ${changeSentence(summary, selectionValues(summary, [], since), selectionValues(summary, [], year))}.` : '';
    const cols = [...columns(summary, year), ...(since ? changeColumns(since) : [])];
    const rows = since ? withChange(ranked, summary, since) : ranked;
    if (!cols.some((col) => col.key === sort.key)) Object.assign(sort, { key: 'rank', ascending: true });
    shown = { cols, rows: sortRows(rows, sort.key, sort.ascending) };
    headRow.replaceChildren(...headerCells(cols, sort, (key) => {
      draw();
      table.querySelector(`button.sort[data-key="${key}"]`).focus();
    }));
    tbody.replaceChildren(...shown.rows.map((row) => areaRow(row, cols, selection)));
  };
  draw();
  const region = element('div', { class: 'table-scroll tall', role: 'region', 'aria-labelledby': 'area-table-caption', tabindex: 0 }, [table]);
  const actions = [csvButton(() => shown, summary, year), ...(year === ALL_YEARS ? [] : [changePicker(summary, year, comparison, draw)])];
  body.replaceChildren(element('div', { class: 'table-actions' }, actions), studyChange, region);
  return () => {
    for (const box of tbody.querySelectorAll('input[type="checkbox"]')) box.checked = selection.has(box.closest('tr').dataset.id);
  };
}
