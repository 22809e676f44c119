// Unit tests of static/change.js (the change view's classes, palette, style expressions and words),
// run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { changeBreaks, changeColorExpression, changeColors, changeFacts, changeLayers, changeLegend, changeLegendMarks, changeLegendRows, layerChanges, unclearFilter, withheldFilter } from '../../static/change.js';

/** A tileset's style as the build writes it (server/style.py), reduced to what the change view reads. */
const style = (marks) => ({ metadata: { 'crimetiles:marks': marks }, layers: [{ type: 'fill', paint: { 'fill-opacity': 0.8 } }, { type: 'line' }] });
const WITHHOLDING = style([{ mark: 'unstable', below: 20, color: '#ffffff', opacity: 0.5 }, { mark: 'suppressed', below: 3, color: '#ffffff', opacity: 0.8 }]);

const PUOR7 = ['#542788', '#998ec3', '#d8daeb', '#f7f7f7', '#fee0b6', '#f1a340', '#b35806'];

test('the breaks are symmetric about 0, the quartiles of the sizes of the changes to 2 significant digits', () => {
  // sizes 1..9 (and the withheld and unchanged areas left out): quartiles 3, 5, 7
  const differences = [-1, 2, -3, 4, -5, 6, -7, 8, -9, 0, null];
  assert.deepEqual(changeBreaks(differences), [-7, -5, -3, 3, 5, 7]);
  // quartiles 0.3456, 13.27 and 123.45 (linear between neighbours) round to 2 significant digits
  assert.deepEqual(changeBreaks([0.3456, -0.3456, 13.27, -13.27, 123.45, -123.45, 124, 0.1]), [-120, -13, -0.35, 0.35, 13, 120]);
});

test('0 is in the middle class: the colour of a change of 0 is the neutral grey, rises orange, falls purple', () => {
  const breaks = [-7, -5, -3, 3, 5, 7];
  assert.deepEqual(changeColors(breaks), PUOR7);
  const expression = changeColorExpression(breaks, '2014', '2016');
  assert.deepEqual(expression, [
    'step',
    ['-', ['to-number', ['get', 'violent_per_sqmi_2016']], ['to-number', ['get', 'violent_per_sqmi_2014']]],
    '#542788', -7, '#998ec3', -5, '#d8daeb', -3, '#f7f7f7', 3, '#fee0b6', 5, '#f1a340', 7, '#b35806',
  ]);
  // step's rule: the class of a value is the last break at or below it
  const classOf = (value) => PUOR7[breaks.filter((limit) => limit <= value).length];
  assert.equal(classOf(0), '#f7f7f7');
  assert.equal(classOf(-2.99), '#f7f7f7');
  assert.equal(classOf(3), '#fee0b6');
  assert.equal(classOf(-7.01), '#542788');
});

test('fewer classes when the rounded quartiles coincide, one when nothing changed', () => {
  assert.deepEqual(changeBreaks([1, 1, 1, -1, 1.01]), [-1, 1]);
  assert.equal(changeColors([-1, 1]).length, 3);
  assert.deepEqual(changeBreaks([1, 1, 1, 2, 2, 2, 2, 4]), [-2, -1, 1, 2]);
  assert.equal(changeColors([-2, -1, 1, 2]).length, 5);
  assert.deepEqual(changeBreaks([0, 0, null]), []);
  assert.equal(changeColorExpression([], '2014', '2016'), '#f7f7f7');
  assert.deepEqual(changeLegendRows([]), [{ label: 'no change', color: '#f7f7f7' }]);
});

test("the legend's rows name each class, from the largest fall up", () => {
  assert.deepEqual(
    changeLegendRows([-19, -6.2, -1.8, 1.8, 6.2, 19]).map((row) => row.label),
    ['fell by more than 19', '−19 to −6.2', '−6.2 to −1.8', '−1.8 to +1.8', '+1.8 to +6.2', '+6.2 to +19', 'rose by 19 or more'],
  );
  assert.deepEqual(changeLegendRows([-1200, 1200]).map((row) => row.label), ['fell by more than 1,200', '−1,200 to +1,200', 'rose by 1,200 or more']);
});

test('the marks say which test at what level, and the withheld years', () => {
  const marks = changeLegendMarks(WITHHOLDING, '2014', '2016', '#b35806');
  assert.equal(marks[0].label, 'No clear change (drawn paler): exact conditional binomial test of the two Poisson counts, 95 %');
  assert.equal(marks[0].background, 'linear-gradient(rgba(255, 255, 255, 0.6), rgba(255, 255, 255, 0.6)), #b35806');
  assert.equal(marks[1].label, 'Withheld in 2014 or 2016, to protect counts under 3');
  assert.equal(changeLegendMarks(style([]), '2014', '2016', '#b35806').length, 1);
});

test("the change layers draw at the classes' opacity, withheld areas as the build's style draws them", () => {
  const [fill, unclear, withheld] = changeLayers('hex', WITHHOLDING);
  assert.deepEqual([fill.id, unclear.id, withheld.id], ['hex-change', 'hex-change-unclear', 'hex-change-withheld']);
  assert.equal(fill.paint['fill-opacity'], 0.8);
  assert.deepEqual(unclear.paint, { 'fill-color': '#ffffff', 'fill-opacity': 0.6 });
  assert.deepEqual(withheld.paint, { 'fill-color': '#ffffff', 'fill-opacity': 0.8 });
  assert.equal(changeLayers('tracts', style([]))[2].paint['fill-opacity'], 0);
});

test('the legend: the classes, then the marks over the largest rise, the key and the years', () => {
  const legend = changeLegend(WITHHOLDING, [-2, 2], '2014', '2016');
  assert.deepEqual(legend.keyColors, ['#998ec3', '#f7f7f7', '#f1a340']);
  assert.deepEqual(legend.rows.map((row) => [row.label.slice(0, 15), row.className]), [
    ['fell by more th', undefined],
    ['−2 to +2', undefined],
    ['rose by 2 or mo', undefined],
    ['No clear change', 'legend-mark'],
    ['Withheld in 201', 'legend-mark'],
  ]);
  assert.ok(legend.rows[3].background.endsWith(', #f1a340'));
  assert.equal(legend.subtitle, 'change in incidents per sq mi · 2014 to 2016');
});

const SUMMARY = {
  layer: 'hex8',
  years: [2014, 2015, 2016],
  suppress_below: 3,
  unstable_below: 20,
  areas: {
    id: ['a', 'b', 'c', 'd'],
    violent_count: [[100, 0, 150], [10, 0, 20], [null, 0, 40], [0, 0, 0]],
    violent_per_sqmi: [[10, 0, 15], [1, 0, 2], [null, 0, 4], [0, 0, 0]],
    ...Object.fromEntries(['violent_per_sqmi_low', 'violent_per_sqmi_high', 'unstable', 'suppressed'].map((field) => [field, [[], [], [], []]])),
  },
};

test("a layer's changes: differences per sq mi (null where withheld) and the areas with no clear change", () => {
  const { differences, unclearIds } = layerChanges(SUMMARY, '2014', '2016');
  assert.deepEqual(differences, [5, 1, null, 0]);
  // 100 -> 150 is a clear rise at 95 %, 10 -> 20 is not; none -> none is no change
  assert.deepEqual(unclearIds, ['b', 'd']);
  assert.deepEqual(unclearFilter(unclearIds), ['match', ['get', 'id'], ['b', 'd'], true, false]);
  assert.deepEqual(unclearFilter([]), ['==', ['get', 'id'], '']);
});

test('withheld in either year: drawn withheld', () => {
  assert.deepEqual(withheldFilter('2014', '2016'), ['any', ['==', ['get', 'suppressed_2014'], true], ['==', ['get', 'suppressed_2016'], true]]);
});

test("the tooltip's change of an area, from its tile properties", () => {
  const rose = { violent_count_2014: 100, violent_per_sqmi_2014: 12.1, violent_count_2016: 152, violent_per_sqmi_2016: 18.392 };
  assert.deepEqual(changeFacts(SUMMARY, rose, '2014', '2016'), [['Change 2014 to 2016', 'rose from 12.1 to 18.4 per sq mi, +52 %: a clear rise']]);
  const unclear = { violent_count_2014: 10, violent_per_sqmi_2014: 1, violent_count_2016: 20, violent_per_sqmi_2016: 2 };
  assert.deepEqual(changeFacts(SUMMARY, unclear, '2014', '2016'), [['Change 2014 to 2016', 'no clear change (1.0 to 2.0 per sq mi, +100 %)']]);
  const withheld = { suppressed_2014: true, violent_count_2016: 20, violent_per_sqmi_2016: 2 };
  assert.deepEqual(changeFacts(SUMMARY, withheld, '2014', '2016'), [['Change 2014 to 2016', 'withheld to protect counts under 3']]);
});
