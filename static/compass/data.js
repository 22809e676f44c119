// Pure helpers of the compass (selection, trend, distribution, search, table): no DOM, no network,
// so that they run in a browser or in node alike (tests/static/compass_data.test.mjs).
// A layer summary is the JSON document of docs/artifact.md ("Layer summaries"): columns of areas.
import { formatNumber, protecting } from '../labels.js';
import { ALL_YEARS } from '../years.js';
import { binomialPValue, LEVEL, poissonInterval, roundedOutward } from './stats.js';

/** `selected=` of the URL -> ids. Ids are joined by commas; a comma or % inside an id is escaped. */
export function parseSelected(text) {
  if (!text) return [];
  const ids = text.split(',').map((part) => part.replaceAll('%2C', ',').replaceAll('%25', '%')).filter(Boolean);
  return [...new Set(ids)];
}

/** Ids -> the `selected=` value (the inverse of parseSelected). */
export function formatSelected(ids) {
  return ids.map((id) => id.replaceAll('%', '%25').replaceAll(',', '%2C')).join(',');
}

/** Position of every area id in the summary's columns. */
function areaIndex(summary) {
  return new Map(summary.areas.id.map((id, i) => [id, i]));
}

/** Positions in the summary's columns of the selected `ids` (ids not in the summary left out). */
export function selectedIndexes(summary, ids) {
  const index = areaIndex(summary);
  return ids.map((id) => index.get(id)).filter((i) => i !== undefined);
}

/** The summary's fields of a year (docs/artifact.md) by the names the page gives them. */
const VALUE_FIELDS = {
  count: 'violent_count',
  density: 'violent_per_sqmi',
  low: 'violent_per_sqmi_low',
  high: 'violent_per_sqmi_high',
  unstable: 'unstable',
  suppressed: 'suppressed',
};

/** {count, density, low, high, unstable, suppressed}, each `pick(the summary's field name)`. */
function valuesBy(pick) {
  return Object.fromEntries(Object.entries(VALUE_FIELDS).map(([name, base]) => [name, pick(base)]));
}

/** Each area's violent count, density (per sq mi), its 95 % interval (`low`, `high`) and flags
 * (`unstable`, `suppressed`: withheld, its numbers null) for `year`, or for all years: the total
 * count and the average density per year. */
export function yearValues(summary, year) {
  const { areas } = summary;
  const j = year === ALL_YEARS ? -1 : summary.years.indexOf(Number(year));
  if (year !== ALL_YEARS && j < 0) throw new Error(`year ${year} is not in the summary of ${summary.layer}`);
  return valuesBy((base) => (j < 0 ? areas[`${base}_all`] : areas[base].map((row) => row[j])));
}

/** The study area's values for `year` (or all years), as one of yearValues' areas. */
function studyAreaValues(summary, year) {
  const study = summary.study_area;
  const j = summary.years.indexOf(Number(year));
  return valuesBy((base) => (year === ALL_YEARS ? study[`${base}_all`] : study[base][j]));
}

/**
 * The selection's values for `year` (or all years) as yearValues gives an area's: its total count,
 * its density (total count / total area, per year of the average for all years), the exact 95 %
 * interval of that count divided the same way (rounded outward as the build rounds), unstable below
 * the summary's `unstable_below`; withheld if any selected area is. No selection: the study area.
 */
export function selectionValues(summary, indexes, year) {
  if (!indexes.length) return studyAreaValues(summary, year);
  const values = yearValues(summary, year);
  if (indexes.some((i) => values.suppressed[i])) {
    return { count: null, density: null, low: null, high: null, unstable: true, suppressed: true };
  }
  const count = indexes.reduce((sum, i) => sum + values.count[i], 0);
  const area = indexes.reduce((sum, i) => sum + summary.areas.area_sqmi[i], 0);
  const divisor = year === ALL_YEARS ? area * summary.average_years : area;
  const [low, high] = poissonInterval(count);
  return {
    count,
    density: divisor > 0 ? count / divisor : 0,
    low: divisor > 0 ? roundedOutward(low / divisor, Math.floor) : 0,
    high: divisor > 0 ? roundedOutward(high / divisor, Math.ceil) : 0,
    unstable: count < summary.unstable_below,
    suppressed: false,
  };
}

/** The selection's (or, with none, the study area's) values every year, each a list in the order
 * of the summary's years: `values` (densities), `low`, `high` (null where withheld), `unstable`. */
export function selectionSeries(summary, indexes) {
  const years = summary.years.map((year) => selectionValues(summary, indexes, String(year)));
  const list = (name) => years.map((values) => values[name]);
  return { values: list('density'), low: list('low'), high: list('high'), unstable: list('unstable') };
}

/** An interval as the page shows it: "9.4–134.0". */
export function intervalText(low, high) {
  return `${formatNumber(low)}–${formatNumber(high)}`;
}

/** What a value's reliability mark says (yearValues' flags; `summary` gives the thresholds):
 * "withheld to protect counts under K", "unstable: fewer than N incidents" or "". */
export function reliabilityText(summary, suppressed, unstable) {
  if (suppressed) return `withheld ${protecting(summary.suppress_below)}`;
  if (unstable) return `unstable: fewer than ${summary.unstable_below} incidents`;
  return '';
}

/** A density in a sentence: "45.8 per sq mi, 95 % interval 9.4–134.0" ("per sq mi per year" for
 * all years), then its reliability mark in brackets; a withheld one as "withheld to protect counts
 * under K". `values`: one of selectionValues' for `year`. */
export function densitySentence(summary, values, year) {
  if (values.suppressed) return reliabilityText(summary, true, true);
  const mark = reliabilityText(summary, false, values.unstable);
  const unit = year === ALL_YEARS ? 'per sq mi per year' : 'per sq mi';
  const text = `${formatNumber(values.density)} ${unit}, 95 % interval ${intervalText(values.low, values.high)}`;
  return mark ? `${text} (${mark})` : text;
}

/**
 * The verdict on a change of an area's count from `k1` to `k2` (the same area, so the densities
 * change as the counts do): the exact conditional test of k1 given k1 + k2 (under no change,
 * Binomial(k1 + k2, 1/2)), two-sided at the 95 % level: "rose", "fell" or "no clear change".
 */
export function changeVerdict(k1, k2) {
  if (binomialPValue(k1, k2) >= 1 - LEVEL) return 'no clear change';
  return k2 > k1 ? 'rose' : 'fell';
}

/** The change from `first` to `second` (each {count, density} of one area or of the study area, as
 * yearValues and selectionValues give them): the density's difference (per sq mi), its percent
 * (null from 0) and the verdict; all null where either year is withheld. */
export function changeOf(first, second) {
  if (first.count === null || second.count === null) return { difference: null, percent: null, verdict: null };
  return {
    difference: second.density - first.density,
    percent: first.count > 0 ? (100 * (second.count - first.count)) / first.count : null,
    verdict: changeVerdict(first.count, second.count),
  };
}

/** A change as the page shows it: a sign always (+, or a minus sign), en-US grouping, `digits` decimals. */
export function signedNumber(value, digits = 1) {
  return `${value >= 0 ? '+' : '−'}${formatNumber(Math.abs(value), digits)}`;
}

/** Table rows (rankedRows' for a year) with their change since year `since`: `change` (per sq mi),
 * `change_percent` and `verdict` (changeOf's; null where either year is withheld). */
export function withChange(rows, summary, since) {
  const base = yearValues(summary, since);
  return rows.map((row, i) => {
    const change = changeOf({ count: base.count[i], density: base.density[i] }, row);
    return { ...row, change: change.difference, change_percent: change.percent, verdict: change.verdict };
  });
}

/** A change in a sentence: "rose from 12.1 to 18.4 per sq mi, +52 %: a clear rise", "no clear
 * change (12.1 to 13.0 per sq mi, +7 %)"; a withheld year as "withheld to protect counts under K". */
export function changeSentence(summary, first, second) {
  const change = changeOf(first, second);
  if (change.verdict === null) return reliabilityText(summary, true, true);
  const span = `${formatNumber(first.density)} to ${formatNumber(second.density)} per sq mi`;
  const percent = change.percent === null ? 'from none' : `${signedNumber(change.percent, 0)} %`;
  if (change.verdict === 'rose') return `rose from ${span}, ${percent}: a clear rise`;
  if (change.verdict === 'fell') return `fell from ${span}, ${percent}: a clear fall`;
  return `no clear change (${span}, ${percent})`;
}

/** The change from year `first` to `last` of the selection (`indexes`, none: left out) and of the
 * study area, as sentences: ["The selection: rose from ...: a clear rise.", "The study area: ..."]. */
export function changeSentences(summary, indexes, first, last) {
  const sentence = (chosen) => changeSentence(summary, selectionValues(summary, chosen, first), selectionValues(summary, chosen, last));
  return [...(indexes.length ? [`The selection: ${sentence(indexes)}.`] : []), `The study area: ${sentence([])}.`];
}

/** Legend class of a density: 0 for exactly 0, then 1 + the number of breaks at or below it (the
 * class rule of docs/artifact.md and of the map's filters). */
export function classOf(value, breaks) {
  if (value === 0) return 0;
  return 1 + breaks.filter((limit) => limit <= value).length;
}

/** The ids of the areas of legend class `k` in `year`. */
export function idsOfClass(summary, year, breaks, k) {
  const { density } = yearValues(summary, year);
  return summary.areas.id.filter((_, i) => classOf(density[i], breaks) === k);
}

/** How many areas fall in each legend class (0 ... breaks.length + 1). */
export function classCounts(densities, breaks) {
  const counts = new Array(breaks.length + 2).fill(0);
  for (const value of densities) counts[classOf(value, breaks)] += 1;
  return counts;
}

/** The median of numbers (mean of the two middle ones for an even count); null for none. */
export function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Every area of the summary for `year` as table rows, ranked by density, highest first: equal
 * densities share a rank and the next rank skips (1, 2, 2, 4), so a rank says how many areas are
 * denser (rank - 1).
 */
export function rankedRows(summary, year) {
  const values = yearValues(summary, year);
  const rows = summary.areas.id.map((id, i) => ({
    id,
    name: summary.areas.name[i],
    area_sqmi: summary.areas.area_sqmi[i],
    count: values.count[i],
    density: values.density[i],
    low: values.low[i],
    high: values.high[i],
    reliability: reliabilityText(summary, values.suppressed[i], values.unstable[i]),
  }));
  const order = [...rows].sort((a, b) => b.density - a.density);
  order.forEach((row, k) => {
    row.rank = k > 0 && order[k - 1].density === row.density ? order[k - 1].rank : k + 1;
  });
  return rows;
}

/** Rows sorted by `key` (a row field), ascending or not; text compared as the locale would, a
 * withheld value (null) last either way, ties kept in rank order so that the table's order is
 * always the same for the same sort. */
export function sortRows(rows, key, ascending) {
  const direction = ascending ? 1 : -1;
  const compare = (a, b) => {
    const x = a[key];
    const y = b[key];
    if ((x === null) !== (y === null)) return x === null ? 1 : -1;
    const order = x === null || typeof x !== 'string' ? x - y : x.localeCompare(y, 'en');
    return order * direction || a.rank - b.rank || a.id.localeCompare(b.id, 'en');
  };
  return [...rows].sort(compare);
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
function csvField(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV text (RFC 4180, CRLF line ends) of a header and rows of values. */
export function csvText(header, rows) {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Fold case and accents, so that "belmont" finds "Belmont" and "cafe" finds "Café". */
export function searchKey(text) {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();
}

/**
 * Areas whose name or id contains the query (case and accents ignored), best first: an exact name
 * or id, then names or ids starting with the query, then the rest, each group by name.
 * `entries`: [{layer, id, name, key}] with `key = searchKey(name + ' ' + id)`.
 */
export function searchAreas(entries, query, limit = 10) {
  const wanted = searchKey(query);
  if (!wanted) return [];
  const score = (entry) => {
    const name = searchKey(entry.name);
    const id = entry.id.toLowerCase();
    if (name === wanted || id === wanted) return 0;
    if (name.startsWith(wanted) || id.startsWith(wanted)) return 1;
    return 2;
  };
  return entries
    .filter((entry) => entry.key.includes(wanted))
    .map((entry) => ({ entry, score: score(entry) }))
    .sort((a, b) => a.score - b.score || a.entry.name.localeCompare(b.entry.name, 'en'))
    .slice(0, limit)
    .map(({ entry }) => entry);
}

/** The search entries of a summary (see searchAreas). */
export function searchEntries(summary) {
  return summary.areas.id.map((id, i) => {
    const name = summary.areas.name[i];
    return { layer: summary.layer, title: summary.title, id, name, index: i, key: searchKey(name === id ? id : `${name} ${id}`) };
  });
}

/** The union of bounding boxes [west, south, east, north] of the areas at `indexes`. */
export function unionBox(summary, indexes) {
  const boxes = indexes.map((i) => summary.areas.bbox[i]);
  return [
    Math.min(...boxes.map((b) => b[0])),
    Math.min(...boxes.map((b) => b[1])),
    Math.max(...boxes.map((b) => b[2])),
    Math.max(...boxes.map((b) => b[3])),
  ];
}

/** The same number for a CSV: no grouping, `digits` decimals. */
export function plainNumber(value, digits = 1) {
  return Number(value).toFixed(digits);
}

/** The tileset drawing density layer `layer`; `bands`: each tileset's TileJSON zoom bands
 * (`crimetiles.bands`: [{layer, minzoom, maxzoom}]). */
export function tilesetOfLayer(bands, layer) {
  return Object.keys(bands).find((name) => bands[name].some((band) => band.layer === layer));
}

/** `zoom` moved within the zooms that draw `layer` (the hex grid changes layer with the zoom), and
 * at most `maxZoom`; `bands` as in tilesetOfLayer. The last band draws at any zoom above its own. */
export function zoomWithinLayer(bands, zoom, layer, maxZoom) {
  const own = bands[tilesetOfLayer(bands, layer)];
  const k = own.findIndex((band) => band.layer === layer);
  const top = k === own.length - 1 ? maxZoom : own[k].maxzoom + 0.99;
  return Math.min(Math.max(zoom, own[k].minzoom), top, maxZoom);
}

/** The layers the search reads (`bands` as in tilesetOfLayer), as [{tileset, layer}]: `boundary`,
 * of the tilesets drawn from one layer all the way (searched by name and id); `cells`, of the
 * tilesets that change layer with the zoom (searched by whole cell id). */
export function searchLayers(bands) {
  const names = Object.keys(bands);
  return {
    boundary: names.filter((name) => bands[name].length === 1).map((name) => ({ tileset: name, layer: bands[name][0].layer })),
    cells: names.filter((name) => bands[name].length > 1).flatMap((name) => bands[name].map((band) => ({ tileset: name, layer: band.layer }))),
  };
}
