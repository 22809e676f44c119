// The change view's pure parts: each area drawn by the change of its violent crimes per sq mi
// between two years (`since` and `year`, study years as text) on a diverging palette, paler where
// the exact test finds no clear change, white where either year is withheld; its legend and its
// words. No DOM, no map: run by the browser and by node (tests/static/change.test.mjs).
import { changeOf, changeSentence, yearValues } from './compass/data.js';
import { protecting } from './labels.js';
import { legendView } from './map_style.js';
import { countField, densityField, yearField } from './years.js';

/** ColorBrewer PuOr (colour-blind safe) by number of classes, from the largest fall (purple) to the
 * largest rise (orange); the middle class, which holds 0, a neutral grey. */
const PUOR = {
  1: ['#f7f7f7'],
  3: ['#998ec3', '#f7f7f7', '#f1a340'],
  5: ['#5e3c99', '#b2abd2', '#f7f7f7', '#fdb863', '#e66101'],
  7: ['#542788', '#998ec3', '#d8daeb', '#f7f7f7', '#fee0b6', '#f1a340', '#b35806'],
};
/** The share of areas (by size of change) below each break above 0: a quarter each in the middle
 * class, the light, the medium and the dark classes (half of them rises, half falls). */
const BREAK_QUANTILES = [0.25, 0.5, 0.75];
const BREAK_DIGITS = 2;
/** Drawn over an area with no clear change: its class colour shows, paler. */
export const UNCLEAR_WASH = { color: '#ffffff', opacity: 0.6 };
export const TEST_NAME = 'exact conditional binomial test of the two Poisson counts, 95 %';

/** The `q` quantile of sorted numbers (linear between the two nearest). */
function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below] + (sorted[Math.min(below + 1, sorted.length - 1)] - sorted[below]) * (at - below);
}

/** `value` (> 0) to 2 significant digits: 13.27 -> 13, 0.347 -> 0.35. */
function nice(value) {
  return Number(value.toPrecision(BREAK_DIGITS));
}

/** The change classes' breaks for a layer's `differences` (per sq mi; null where withheld):
 * symmetric about 0 (-c, -b, -a, a, b, c), a, b and c the quartiles of the sizes of the changes
 * above 0 rounded to 2 significant digits, so that 0 is in the middle class [-a, a). Fewer when
 * the rounded quartiles coincide; none when no area changed. */
export function changeBreaks(differences) {
  const sizes = differences.filter((value) => value !== null && value !== 0).map(Math.abs).sort((a, b) => a - b);
  if (!sizes.length) return [];
  const upper = [...new Set(BREAK_QUANTILES.map((q) => nice(quantile(sizes, q))))].filter((value) => value > 0);
  return [...upper.map((value) => -value).reverse(), ...upper];
}

/** One colour per class of `breaks` (breaks.length + 1 classes), from the largest fall up. */
export function changeColors(breaks) {
  return PUOR[breaks.length + 1];
}

/** A break as the legend shows it: a sign always (+, or a minus sign), up to 3 significant digits. */
function signedBreak(value) {
  const size = Math.abs(value).toLocaleString('en-US', { maximumSignificantDigits: 3 });
  return `${value < 0 ? '−' : '+'}${size}`;
}

/** The legend's rows of the change classes, from the largest fall up: [{label, color}]. */
export function changeLegendRows(breaks) {
  const colors = changeColors(breaks);
  if (!breaks.length) return [{ label: 'no change', color: colors[0] }];
  return colors.map((color, k) => {
    let label = `${signedBreak(breaks[k - 1])} to ${signedBreak(breaks[k])}`;
    if (k === 0) label = `fell by more than ${signedBreak(breaks[0]).slice(1)}`;
    else if (k === breaks.length) label = `rose by ${signedBreak(breaks[k - 1]).slice(1)} or more`;
    return { label, color };
  });
}

/** The change of an area's density from `since` to `year` in a style expression, from its tile
 * properties (per sq mi). */
function differenceExpression(since, year) {
  return ['-', ['to-number', ['get', densityField(year)]], ['to-number', ['get', densityField(since)]]];
}

/** The fill colour of an area by its change class (`breaks` as changeBreaks gives them). */
export function changeColorExpression(breaks, since, year) {
  const colors = changeColors(breaks);
  if (!breaks.length) return colors[0];
  return ['step', differenceExpression(since, year), colors[0], ...breaks.flatMap((limit, k) => [limit, colors[k + 1]])];
}

/** The areas withheld in `since` or in `year` (plain comparisons, as the build's styles write them). */
export function withheldFilter(since, year) {
  return ['any', ['==', ['get', yearField('suppressed', since)], true], ['==', ['get', yearField('suppressed', year)], true]];
}

/** The areas published in both years. */
export function publishedFilter(since, year) {
  return ['all', ['!=', ['get', yearField('suppressed', since)], true], ['!=', ['get', yearField('suppressed', year)], true]];
}

/** The areas of `ids` (those with no clear change); none for no ids. */
export function unclearFilter(ids) {
  return ids.length ? ['match', ['get', 'id'], [...new Set(ids)], true, false] : ['==', ['get', 'id'], ''];
}

/** The ids of the change view's layers of tileset `name`: its fill, the wash of no clear change and
 * the withheld areas. */
export function changeLayerIds(name) {
  return { fill: `${name}-change`, unclear: `${name}-change-unclear`, withheld: `${name}-change-withheld` };
}

/** How the build's style of a tileset draws a withheld area: its `suppressed` mark ({color, opacity,
 * below}), or null when the build withholds nothing there. */
export function withheldMark(style) {
  return (style.metadata['crimetiles:marks'] || []).find((mark) => mark.mark === 'suppressed') || null;
}

/** The change view's layers of tileset `name` (hidden, drawing nothing until shown with a pair of
 * years), drawn as its `style` draws its classes (their opacity) and its withheld areas. */
export function changeLayers(name, style) {
  const ids = changeLayerIds(name);
  const opacity = style.layers.find((layer) => layer.type === 'fill').paint['fill-opacity'];
  const withheld = withheldMark(style) || { color: UNCLEAR_WASH.color, opacity: 0 }; // nothing is withheld
  const common = { type: 'fill', source: name, 'source-layer': name, layout: { visibility: 'none' } };
  const none = ['==', ['get', 'id'], ''];
  return [
    { ...common, id: ids.fill, filter: none, paint: { 'fill-color': PUOR[1][0], 'fill-opacity': opacity } },
    { ...common, id: ids.unclear, filter: none, paint: { 'fill-color': UNCLEAR_WASH.color, 'fill-opacity': UNCLEAR_WASH.opacity } },
    { ...common, id: ids.withheld, filter: none, paint: { 'fill-color': withheld.color, 'fill-opacity': withheld.opacity } },
  ];
}

/** Every area's change in a layer summary from `since` to `year`: its `differences` (per sq mi,
 * null where withheld) and the ids of the areas with no clear change (`unclearIds`). */
export function layerChanges(summary, since, year) {
  const first = yearValues(summary, since);
  const second = yearValues(summary, year);
  const changes = summary.areas.id.map((_, i) =>
    changeOf({ count: first.count[i], density: first.density[i] }, { count: second.count[i], density: second.density[i] }),
  );
  return {
    differences: changes.map((change) => change.difference),
    unclearIds: summary.areas.id.filter((_, i) => changes[i].verdict === 'no clear change'),
  };
}

/** An area's count and density of `year` from its tile properties, null where withheld (a tile
 * leaves them out). */
function tileValues(properties, year) {
  const count = properties[countField(year)];
  return count === undefined || count === null ? { count: null, density: null } : { count, density: properties[densityField(year)] };
}

/** What the tooltip adds in the change view: [[term, sentence]], e.g. ["Change 2014 to 2016",
 * "rose from 12.1 to 18.4 per sq mi, +52 %: a clear rise"]; `summary` gives the thresholds. */
export function changeFacts(summary, properties, since, year) {
  const sentence = changeSentence(summary, tileValues(properties, since), tileValues(properties, year));
  return [[`Change ${since} to ${year}`, sentence]];
}

/** The legend's rows for the marks of the change view: [{label, background}], the wash of no clear
 * change drawn over the class colour `over`, then the withheld areas as the tileset's `style` draws
 * them. */
export function changeLegendMarks(style, since, year, over) {
  const wash = `rgba(255, 255, 255, ${UNCLEAR_WASH.opacity})`;
  const rows = [{ label: `No clear change (drawn paler): ${TEST_NAME}`, background: `linear-gradient(${wash}, ${wash}), ${over}` }];
  const withheld = withheldMark(style);
  if (withheld) rows.push({ label: `Withheld in ${since} or ${year}, ${protecting(withheld.below)}`, background: withheld.color });
  return rows;
}

/** The change view's legend (map_style.js's legendView): the classes, then the marks. */
export function changeLegend(style, breaks, since, year) {
  const classes = changeLegendRows(breaks);
  const marks = changeLegendMarks(style, since, year, classes[classes.length - 1].color);
  return legendView(classes, marks, `change in incidents per sq mi · ${since} to ${year}`);
}
