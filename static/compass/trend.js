// The trend: the selection's violent crimes per sq mi (total count / total area) and the study
// area's, every year of the build, each with its 95 % band (so that a reader sees when two lines are
// within each other's noise), as a line chart and, for screen readers and exact values, a table
// with one row per selected area too.
import { formatNumber } from '../labels.js';
import { intervalText, selectionSeries } from './data.js';
import { chartFigure, dataTable } from './widgets.js';

const SELECTION_COLOR = '#08306b';
const STUDY_AREA_COLOR = '#737373';
const SELECTION_BAND = 'rgba(8, 48, 107, 0.18)';
const STUDY_AREA_BAND = 'rgba(115, 115, 115, 0.18)';

/** The rows of the trend table: the selection, the study area, then each selected area. */
export function trendRows(summary, indexes) {
  const rows = [];
  if (indexes.length) {
    const label = indexes.length === 1 ? 'Selection (1 area)' : `Selection (${indexes.length} areas)`;
    rows.push({ series: 'selection', label, ...selectionSeries(summary, indexes) });
  }
  rows.push({ series: 'study-area', label: `Study area: all ${summary.study_area.areas} ${summary.title.toLowerCase()}`, ...selectionSeries(summary, []) });
  const { areas } = summary;
  for (const i of indexes) {
    rows.push({
      series: 'area',
      id: areas.id[i],
      label: areas.name[i],
      values: areas.violent_per_sqmi[i],
      low: areas.violent_per_sqmi_low[i],
      high: areas.violent_per_sqmi_high[i],
      unstable: areas.unstable[i],
    });
  }
  return rows;
}

/** Runs of consecutive positions where `values` are known (a withheld year breaks a band). */
function knownRuns(values) {
  const runs = [];
  values.forEach((value, j) => {
    if (value === null) return;
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === j - 1) last.push(j);
    else runs.push([j]);
  });
  return runs;
}

/** Paint each line's 95 % band (its `low` to its `high`, every year) under the lines of `u`. */
function paintBands(u, lines) {
  const { ctx } = u;
  const x = (j) => u.valToPos(u.data[0][j], 'x', true);
  const y = (value) => u.valToPos(value, 'y', true);
  ctx.save();
  for (const row of lines) {
    ctx.fillStyle = row.series === 'selection' ? SELECTION_BAND : STUDY_AREA_BAND;
    for (const run of knownRuns(row.high)) {
      ctx.beginPath();
      run.forEach((j, k) => (k ? ctx.lineTo(x(j), y(row.high[j])) : ctx.moveTo(x(j), y(row.high[j]))));
      [...run].reverse().forEach((j) => ctx.lineTo(x(j), y(row.low[j])));
      ctx.closePath();
      ctx.fill();
    }
  }
  ctx.restore();
}

/** The line chart's uPlot options: the selection's line solid, the study area's dashed, each over
 * its 95 % band (painted under the lines; the y scale reaches the bands' tops). */
function lineChartOptions(width, lines) {
  const selection = (row) => row.series === 'selection';
  const top = Math.max(1, ...lines.flatMap((row) => row.high.filter((value) => value !== null)));
  return {
    width,
    height: 200,
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(top, max) * 1.1] } },
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    hooks: { drawClear: [(u) => paintBands(u, lines)] },
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

/** A value of the trend table: its density and interval, marked "unstable" where it is. */
function trendCell(row, j) {
  if (row.values[j] === null) return { text: 'withheld', value: '' };
  const text = `${formatNumber(row.values[j])} (${intervalText(row.low[j], row.high[j])})`;
  return { text: row.unstable[j] ? `${text} unstable` : text, value: row.values[j] };
}

/** Every value of the trend `rows` as a table, a row per series. */
function trendTable(id, summary, rows) {
  const header = ['Area', ...summary.years.map(String)];
  const body = rows.map((row) => ({
    attributes: { 'data-series': row.series, ...(row.id ? { 'data-id': row.id } : {}) },
    heading: row.label,
    cells: row.values.map((value, j) => trendCell(row, j)),
  }));
  const caption = `Violent crimes per sq mi by year, 95 % interval in brackets, unstable where based on fewer than ${summary.unstable_below} incidents (the selection: its total count / its total area)`;
  return dataTable(id, caption, header, body);
}

/** A figure with the chart (uPlot) and the table; `width` in CSS pixels. */
export function renderTrend(uPlot, summary, indexes, width, idPrefix = 'trend') {
  const rows = trendRows(summary, indexes);
  const years = summary.years;
  const lines = rows.filter((row) => row.series !== 'area');
  const description = lines
    .map((row) => `${row.label}: ${years.map((year, j) => `${year} ${row.values[j] === null ? 'withheld' : formatNumber(row.values[j])}`).join(', ')}`)
    .join('; ');
  const { figure, chart } = chartFigure(
    `${idPrefix}-title`,
    'Trend: violent crimes per sq mi by year',
    `Line chart of violent crimes per square mile by year, each line over its shaded 95 % interval. ${description}. The table below lists every value.`,
  );
  const plot = new uPlot(lineChartOptions(width, lines), [years, ...lines.map((row) => row.values)], chart);
  chart.bands = Object.fromEntries(lines.map((row) => [row.series, { low: row.low, high: row.high }]));
  figure.append(trendTable(`${idPrefix}-table`, summary, rows));
  return { figure, destroy: () => plot.destroy() };
}
