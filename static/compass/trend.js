// The trend: the selection's violent crimes per sq mi (total count / total area) and the study
// area's, every year of the build, as a line chart and, for screen readers and exact values, a table
// with one row per selected area too.
import { formatNumber } from '../labels.js';
import { selectionTrend } from './data.js';
import { chartFigure, dataTable } from './widgets.js';

const SELECTION_COLOR = '#08306b';
const STUDY_AREA_COLOR = '#737373';

/** The rows of the trend table: the selection, the study area, then each selected area. */
export function trendRows(summary, indexes) {
  const rows = [];
  if (indexes.length) {
    const label = indexes.length === 1 ? 'Selection (1 area)' : `Selection (${indexes.length} areas)`;
    rows.push({ series: 'selection', label, values: selectionTrend(summary, indexes) });
  }
  rows.push({ series: 'study-area', label: `Study area: all ${summary.study_area.areas} ${summary.title.toLowerCase()}`, values: summary.study_area.violent_per_sqmi });
  for (const i of indexes) rows.push({ series: 'area', id: summary.areas.id[i], label: summary.areas.name[i], values: summary.areas.violent_per_sqmi[i] });
  return rows;
}

/** The line chart's uPlot options: the selection's line solid, the study area's dashed. */
function lineChartOptions(width, lines) {
  const selection = (row) => row.series === 'selection';
  return {
    width,
    height: 200,
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { values: (u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : '')), incrs: [1] },
      { label: 'violent crimes per sq mi', size: 56 },
    ],
    series: [
      { label: 'Year' },
      ...lines.map((row) => ({
        label: selection(row) ? 'Selection' : 'Study area',
        stroke: selection(row) ? SELECTION_COLOR : STUDY_AREA_COLOR,
        width: selection(row) ? 2.5 : 2,
        dash: selection(row) ? undefined : [6, 4],
        points: { show: true, size: 6 },
      })),
    ],
  };
}

/** Every value of the trend `rows` as a table, a row per series. */
function trendTable(id, years, rows) {
  const header = ['Area', ...years.map(String)];
  const body = rows.map((row) => ({
    attributes: { 'data-series': row.series, ...(row.id ? { 'data-id': row.id } : {}) },
    heading: row.label,
    cells: row.values.map((value) => ({ text: formatNumber(value), value })),
  }));
  return dataTable(id, 'Violent crimes per sq mi by year (the selection: its total count / its total area)', header, body);
}

/** A figure with the chart (uPlot) and the table; `width` in CSS pixels. */
export function renderTrend(uPlot, summary, indexes, width, idPrefix = 'trend') {
  const rows = trendRows(summary, indexes);
  const years = summary.years;
  const lines = rows.filter((row) => row.series !== 'area');
  const description = lines
    .map((row) => `${row.label}: ${years.map((year, j) => `${year} ${formatNumber(row.values[j])}`).join(', ')}`)
    .join('; ');
  const { figure, chart } = chartFigure(
    `${idPrefix}-title`,
    'Trend: violent crimes per sq mi by year',
    `Line chart of violent crimes per square mile by year. ${description}. The table below lists every value.`,
  );
  const plot = new uPlot(lineChartOptions(width, lines), [years, ...lines.map((row) => row.values)], chart);
  figure.append(trendTable(`${idPrefix}-table`, years, rows));
  return { figure, destroy: () => plot.destroy() };
}
