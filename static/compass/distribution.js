// The distribution: how many areas of the layer fall in each legend class in the year shown, the
// study area's median marked, the selected areas pointed out; a bar (or its table row's button)
// selects the areas of its class.
import { formatNumber, upperFirst } from '../labels.js';
import { classCounts, classOf, median, yearValues } from './data.js';
import { chartFigure, dataTable, element } from './widgets.js';

const SELECTED_COLOR = '#08306b';
const MEDIAN_COLOR = '#000000';

/** Where the median goes on the class axis: inside its bar, in proportion to its place between the
 * class bounds, or the bar's middle for the classes without two bounds. */
function medianPosition(value, breaks) {
  const k = classOf(value, breaks);
  const bounds = [0, 0, ...breaks];
  if (k === 0 || k > breaks.length) return k;
  const low = bounds[k];
  const high = bounds[k + 1];
  return k - 0.4 + (0.8 * (value - low)) / (high - low);
}

function medianMarker(value, breaks) {
  return (u) => {
    const ratio = window.devicePixelRatio || 1;
    const x = u.valToPos(medianPosition(value, breaks), 'x', true);
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = MEDIAN_COLOR;
    ctx.fillStyle = MEDIAN_COLOR;
    ctx.lineWidth = 1.5 * ratio;
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    const label = `median ${formatNumber(value)}`;
    const width = ctx.measureText(label).width;
    const left = x + 4 * ratio + width > bbox.left + bbox.width ? x - 4 * ratio - width : x + 4 * ratio;
    ctx.fillText(label, left, bbox.top + 12 * ratio);
    ctx.restore();
  };
}

/** The bar chart's uPlot options: one bar per legend class (`classes`: 0, 1, ...) in its colour, the selected areas' count
 * as a narrow dark bar in it, the median (null: none) marked. */
function barChartOptions(uPlot, { width, legend, breaks, classes, middle }) {
  return {
    width,
    height: 190,
    scales: { x: { time: false, range: [-0.5, classes.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    axes: [
      { splits: () => classes, values: (u, ticks) => ticks.map((k) => (legend[k] ? legend[k].label : '')), size: 34, gap: 4 },
      { label: 'areas', size: 50 },
    ],
    series: [
      { label: 'Class' },
      {
        label: 'All areas',
        fill: '#bdbdbd',
        width: 0,
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.8], disp: { fill: { unit: 3, values: () => legend.map((row) => row.color) } } }),
      },
      {
        label: 'Selected',
        fill: SELECTED_COLOR,
        width: 0,
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.25] }),
      },
    ],
    hooks: middle === null ? {} : { draw: [medianMarker(middle, breaks)] },
  };
}

/** The classes as a table: how many areas and selected areas each holds and, with `onSelectClass`,
 * a button selecting its areas. */
function classTable(id, caption, noun, { legend, counts, chosen, onSelectClass }) {
  const header = ['Class (per sq mi)', upperFirst(noun), 'Selected', ...(onSelectClass ? ['Select'] : [])];
  const rows = legend.map((row, k) => ({
    attributes: { 'data-class': k },
    heading: row.label,
    cells: [
      { text: String(counts[k]), value: counts[k] },
      { text: String(chosen[k]), value: chosen[k] },
      ...(onSelectClass
        ? [{ node: element('button', { type: 'button', class: 'link-button', disabled: counts[k] === 0 }, [`Select these ${counts[k]}`]) }]
        : []),
    ],
  }));
  const table = dataTable(id, caption, header, rows);
  if (onSelectClass) {
    table.querySelectorAll('tbody button').forEach((button, k) => button.addEventListener('click', () => onSelectClass(k)));
  }
  return table;
}

/**
 * The figure (chart and table) for `summary` in `year`. `legend`: the map's legend rows [{label,
 * color}] for `breaks`. `onSelectClass(k)`: called with a class index when a bar or a row's button
 * is used; without it (the report) there are no buttons and the bars do nothing.
 */
export function renderDistribution(uPlot, { summary, year, yearLabel, breaks, legend, selected, width, onSelectClass, idPrefix = 'distribution' }) {
  const { density } = yearValues(summary, year);
  const counts = classCounts(density, breaks);
  const chosen = classCounts(selected.map((i) => density[i]), breaks);
  const middle = median(density);
  const noun = summary.title.toLowerCase();
  const description =
    `Bar chart of ${summary.areas.id.length} ${noun} by class of violent crimes per square mile, ${yearLabel}: ` +
    legend.map((row, k) => `${row.label}: ${counts[k]}`).join(', ') +
    `. Median ${formatNumber(middle)}. The table below lists the classes.`;
  const { figure, chart } = chartFigure(`${idPrefix}-title`, `Distribution of ${noun}, ${yearLabel}`, description);
  const classes = counts.map((_, k) => k);
  const plot = new uPlot(barChartOptions(uPlot, { width, legend, breaks, classes, middle }), [classes, counts, chosen.map((count) => count || null)], chart);
  if (onSelectClass) {
    plot.over.classList.add('clickable');
    plot.over.addEventListener('click', () => {
      if (plot.cursor.idx !== null && plot.cursor.idx !== undefined && counts[plot.cursor.idx]) onSelectClass(plot.cursor.idx);
    });
  }
  const note = element('p', { class: 'chart-note', 'data-median': middle }, [
    `Median of all ${summary.areas.id.length} ${noun}: ${formatNumber(middle)} per sq mi (dashed line). Dark bars: the selected areas.`,
  ]);
  const caption = `${summary.title} per class of violent crimes per sq mi, ${yearLabel}`;
  figure.append(note, classTable(`${idPrefix}-table`, caption, noun, { legend, counts, chosen, onSelectClass }));
  return { figure, destroy: () => plot.destroy() };
}
