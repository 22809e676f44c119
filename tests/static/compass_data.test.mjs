// Unit tests of static/compass/data.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  classCounts,
  changeOf,
  changeSentence,
  changeVerdict,
  classOf,
  csvText,
  densitySentence,
  intervalText,
  formatSelected,
  idsOfClass,
  median,
  parseSelected,
  rankedRows,
  searchAreas,
  searchEntries,
  searchLayers,
  selectedIndexes,
  selectionSeries,
  selectionValues,
  signedNumber,
  withChange,
  sortRows,
  tilesetOfLayer,
  unionBox,
  yearValues,
  zoomWithinLayer,
} from '../../static/compass/data.js';

// Three areas, two years: counts and areas chosen so that every density is exact.
const SUMMARY = {
  layer: 'wards',
  title: 'Wards',
  years: [2015, 2016],
  average_years: 2,
  unstable_below: 20,
  suppress_below: 3,
  study_area: {
    areas: 3,
    area_sqmi: 7,
    violent_count: [14, 21],
    violent_per_sqmi: [2, 3],
    violent_per_sqmi_low: [1.093, 1.857],
    violent_per_sqmi_high: [3.356, 4.586],
    unstable: [true, false],
    suppressed: [false, false],
  },
  areas: {
    id: ['w1', 'w2', 'w3'],
    name: ['Café Hill', 'Belmont', 'Belmont Park'],
    area_sqmi: [1, 2, 4],
    violent_count: [[4, 0], [2, 6], [8, 15]],
    violent_per_sqmi: [[4, 0], [1, 3], [2, 3.75]],
    violent_per_sqmi_low: [[1.089, 0], [0.121, 1.101], [0.8634, 2.098]],
    violent_per_sqmi_high: [[10.25, 3.689], [3.613, 6.53], [3.941, 6.185]],
    unstable: [[true, true], [true, true], [true, true]],
    suppressed: [[false, false], [false, false], [false, false]],
    violent_count_all: [4, 8, 23],
    violent_per_sqmi_all: [2, 2, 2.875],
    violent_per_sqmi_low_all: [0.5449, 0.8634, 1.822],
    violent_per_sqmi_high_all: [5.121, 3.941, 4.314],
    unstable_all: [true, true, false],
    suppressed_all: [false, false, false],
    bbox: [[0, 0, 1, 1], [1, -1, 3, 0.5], [-2, 0, 0, 2]],
  },
};

test('selected ids round-trip through the URL value, commas and percent signs included', () => {
  const ids = ['370630010011', 'Duke Park, East', '100% Hill'];
  assert.equal(formatSelected(ids), '370630010011,Duke Park%2C East,100%25 Hill');
  assert.deepEqual(parseSelected(formatSelected(ids)), ids);
  assert.deepEqual(parseSelected('a,,b,a'), ['a', 'b']);
  assert.deepEqual(parseSelected(null), []);
});

test('the selection trend is total count over total area, not the mean of densities', () => {
  // 2015: (4 + 8) / (1 + 4) = 2.4; 2016: (0 + 15) / 5 = 3 (the mean of densities would be 3 and 1.875)
  assert.deepEqual(selectionSeries(SUMMARY, [0, 2]).values, [2.4, 3]);
  assert.deepEqual(selectionSeries(SUMMARY, []).values, [2, 3], 'no selection: the study area');
});

test('the selection carries the exact 95 % interval of its total count, rounded outward as the build rounds', () => {
  // scipy: chi2.ppf(0.025, 24) / 2 / 5 = 1.2401.., chi2.ppf(0.975, 26) / 2 / 5 = 4.1924..; 15 of 5 sq mi: 1.6790.., 4.9481..
  assert.deepEqual(selectionValues(SUMMARY, [0, 2], '2015'), { count: 12, density: 2.4, low: 1.24, high: 4.193, unstable: true, suppressed: false });
  assert.deepEqual(selectionSeries(SUMMARY, [0, 2]), { values: [2.4, 3], low: [1.24, 1.679], high: [4.193, 4.949], unstable: [true, true] });
  // all years: 27 incidents over 5 sq mi and 2 years
  assert.deepEqual(selectionValues(SUMMARY, [0, 2], 'all').density, 2.7);
  assert.deepEqual(selectionSeries(SUMMARY, []), { values: [2, 3], low: [1.093, 1.857], high: [3.356, 4.586], unstable: [true, false] });
});

test('a selection holding a withheld area is withheld, and says so', () => {
  const withheld = structuredClone(SUMMARY);
  withheld.areas.suppressed[1][0] = true;
  withheld.areas.violent_count[1][0] = null;
  const values = selectionValues(withheld, [0, 1], '2015');
  assert.equal(values.suppressed, true);
  assert.equal(values.density, null);
  assert.equal(densitySentence(withheld, values, '2015'), 'withheld to protect counts under 3');
  assert.deepEqual(selectionSeries(withheld, [0, 1]).values, [null, 2]);
});

test('a density in a sentence gives its interval and marks it unstable', () => {
  const values = { count: 3, density: 45.8, low: 9.44, high: 133.8, unstable: true, suppressed: false };
  assert.equal(densitySentence(SUMMARY, values, '2015'), '45.8 per sq mi, 95 % interval 9.4–133.8 (unstable: fewer than 20 incidents)');
  assert.equal(densitySentence(SUMMARY, { ...values, unstable: false }, 'all'), '45.8 per sq mi per year, 95 % interval 9.4–133.8');
  assert.equal(intervalText(1234.5, 2000), '1,234.5–2,000.0');
});

test('classes follow the map: 0 alone, then each lower bound inclusive', () => {
  const breaks = [1, 3];
  assert.deepEqual([0, 0.5, 1, 2.99, 3, 400].map((value) => classOf(value, breaks)), [0, 1, 2, 2, 3, 3]);
  assert.deepEqual(classCounts([0, 0.5, 1, 2.99, 3, 400], breaks), [1, 1, 2, 2]);
});

test('median of an odd and an even count', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 10]), 3.5);
  assert.equal(median([]), null);
});

test('rows are ranked by density, equal densities sharing a rank', () => {
  const rows = rankedRows(SUMMARY, 'all');
  assert.deepEqual(rows.map((row) => [row.id, row.rank, row.count]), [['w1', 2, 4], ['w2', 2, 8], ['w3', 1, 23]]);
  assert.deepEqual(rows.map((row) => [row.low, row.high, row.reliability]), [
    [0.5449, 5.121, 'unstable: fewer than 20 incidents'],
    [0.8634, 3.941, 'unstable: fewer than 20 incidents'],
    [1.822, 4.314, ''],
  ]);
  assert.deepEqual(rankedRows(SUMMARY, '2016').map((row) => row.rank), [3, 2, 1]);
  assert.deepEqual(yearValues(SUMMARY, '2015').density, [4, 1, 2]);
  assert.throws(() => yearValues(SUMMARY, '1999'), /year 1999/);
});

test('sorting by text or number, either way, ties in rank order', () => {
  const rows = rankedRows(SUMMARY, 'all');
  assert.deepEqual(sortRows(rows, 'name', true).map((row) => row.id), ['w2', 'w3', 'w1']);
  assert.deepEqual(sortRows(rows, 'density', false).map((row) => row.id), ['w3', 'w1', 'w2']);
  assert.deepEqual(sortRows(rows, 'rank', true).map((row) => row.id), ['w3', 'w1', 'w2']);
});

test('CSV fields are quoted when they need it (RFC 4180)', () => {
  assert.equal(csvText(['Name', 'n'], [['Duke Park, East', '1'], ['Say "hi"', '2']]), 'Name,n\r\n"Duke Park, East",1\r\n"Say ""hi""",2\r\n');
});

test('search ignores case and accents, exact and prefix matches first', () => {
  const entries = searchEntries(SUMMARY);
  assert.deepEqual(searchAreas(entries, 'belmont').map((entry) => entry.id), ['w2', 'w3']);
  assert.deepEqual(searchAreas(entries, 'park').map((entry) => entry.id), ['w3']);
  assert.deepEqual(searchAreas(entries, 'CAFE').map((entry) => entry.id), ['w1']);
  assert.deepEqual(searchAreas(entries, 'W3').map((entry) => entry.name), ['Belmont Park']);
  assert.deepEqual(searchAreas(entries, '  '), []);
});

test('the bounding box of several areas', () => {
  assert.deepEqual(unionBox(SUMMARY, [1, 2]), [-2, -1, 3, 2]);
});

test('the selected ids are found in the summary, unknown ids left out', () => {
  assert.deepEqual(selectedIndexes(SUMMARY, ['w3', 'gone', 'w1']), [2, 0]);
  assert.deepEqual(selectedIndexes(SUMMARY, []), []);
});

test('a legend class selects the areas in it for the year shown', () => {
  assert.deepEqual(idsOfClass(SUMMARY, '2015', [1, 3], 2), ['w2', 'w3']);
  assert.deepEqual(idsOfClass(SUMMARY, '2015', [1, 3], 3), ['w1']);
  assert.deepEqual(idsOfClass(SUMMARY, '2016', [1, 3], 0), ['w1']);
  assert.deepEqual(idsOfClass(SUMMARY, 'all', [1, 3], 2), ['w1', 'w2', 'w3']);
});

// Zoom bands of the TileJSONs: tracts drawn from one layer, the hex grid from one per band.
const BANDS = {
  tracts: [{ layer: 'tracts', minzoom: 8, maxzoom: 14 }],
  hexes: [
    { layer: 'hex_r7', minzoom: 0, maxzoom: 10 },
    { layer: 'hex_r8', minzoom: 11, maxzoom: 12 },
    { layer: 'hex_r9', minzoom: 13, maxzoom: 14 },
  ],
};

test('a density layer belongs to the tileset with a band of it', () => {
  assert.equal(tilesetOfLayer(BANDS, 'hex_r8'), 'hexes');
  assert.equal(tilesetOfLayer(BANDS, 'tracts'), 'tracts');
  assert.equal(tilesetOfLayer(BANDS, 'wards'), undefined);
});

test("a zoom is moved into the layer's band, the last band's up to the focus zoom", () => {
  assert.equal(zoomWithinLayer(BANDS, 16, 'hex_r8', 15), 12.99);
  assert.equal(zoomWithinLayer(BANDS, 9, 'hex_r8', 15), 11);
  assert.equal(zoomWithinLayer(BANDS, 11.5, 'hex_r8', 15), 11.5);
  assert.equal(zoomWithinLayer(BANDS, 17, 'hex_r9', 15), 15);
  assert.equal(zoomWithinLayer(BANDS, 14.5, 'hex_r9', 15), 14.5);
  assert.equal(zoomWithinLayer(BANDS, 4, 'tracts', 15), 8);
  assert.equal(zoomWithinLayer(BANDS, 13.5, 'hex_r7', 15), 10.99);
});

test('the search reads boundary layers by name and the bands of the hex grid by cell id', () => {
  assert.deepEqual(searchLayers(BANDS), {
    boundary: [{ tileset: 'tracts', layer: 'tracts' }],
    cells: [
      { tileset: 'hexes', layer: 'hex_r7' },
      { tileset: 'hexes', layer: 'hex_r8' },
      { tileset: 'hexes', layer: 'hex_r9' },
    ],
  });
});

test('a change is clear only when the exact binomial test rejects no change at 95 % (scipy binomtest p-values)', () => {
  // binomtest(10, 30, 0.5).pvalue = 0.0987..: not clear; binomtest(100, 250, 0.5).pvalue = 0.00188..: clear
  assert.equal(changeVerdict(10, 20), 'no clear change');
  assert.equal(changeVerdict(100, 150), 'rose');
  assert.equal(changeVerdict(150, 100), 'fell');
  // 0 vs 5: p = 0.0625, not clear; 0 vs 6: p = 0.03125, clear; 1000 vs 1100: p = 0.0307, clear
  assert.equal(changeVerdict(0, 5), 'no clear change');
  assert.equal(changeVerdict(0, 6), 'rose');
  assert.equal(changeVerdict(1000, 1100), 'rose');
  assert.equal(changeVerdict(0, 0), 'no clear change');
});

test('a change gives the difference, the percent and the verdict, and says so in a sentence', () => {
  const first = { count: 100, density: 12.1 };
  const second = { count: 150, density: 18.15 };
  const change = changeOf(first, second);
  assert.ok(Math.abs(change.difference - 6.05) < 1e-12);
  assert.deepEqual([change.percent, change.verdict], [50, 'rose']);
  assert.equal(changeSentence(SUMMARY, first, second), 'rose from 12.1 to 18.2 per sq mi, +50 %: a clear rise');
  assert.equal(changeSentence(SUMMARY, second, first), 'fell from 18.2 to 12.1 per sq mi, −33 %: a clear fall');
  assert.equal(changeSentence(SUMMARY, { count: 10, density: 1 }, { count: 20, density: 2 }), 'no clear change (1.0 to 2.0 per sq mi, +100 %)');
  assert.equal(changeOf({ count: 0, density: 0 }, { count: 3, density: 3 }).percent, null);
  assert.equal(changeSentence(SUMMARY, { count: null, density: null }, second), 'withheld to protect counts under 3');
});

test('table rows carry their change since another year, its percent and verdict', () => {
  const rows = withChange(rankedRows(SUMMARY, '2016'), SUMMARY, '2015');
  // w1: 4 -> 0 (binomtest(4, 4) p = 0.125), w2: 2 -> 6 (p = 0.289), w3: 8 -> 15 (p = 0.210)
  assert.deepEqual(rows.map((row) => [row.id, row.change, row.change_percent, row.verdict]), [
    ['w1', -4, -100, 'no clear change'],
    ['w2', 2, 200, 'no clear change'],
    ['w3', 1.75, 87.5, 'no clear change'],
  ]);
  assert.deepEqual(sortRows(rows, 'change', false).map((row) => row.id), ['w2', 'w3', 'w1']);
  assert.equal(signedNumber(-1234.56), '−1,234.6');
  assert.equal(signedNumber(0, 0), '+0');
});

test('withheld values sort last, whichever the direction', () => {
  const withheld = structuredClone(SUMMARY);
  withheld.areas.violent_count[1][0] = null;
  withheld.areas.violent_per_sqmi[1][0] = null;
  withheld.areas.suppressed[1][0] = true;
  const rows = rankedRows(withheld, '2015');
  assert.deepEqual(sortRows(rows, 'density', false).map((row) => row.id), ['w1', 'w3', 'w2']);
  assert.deepEqual(sortRows(rows, 'density', true).map((row) => row.id), ['w3', 'w1', 'w2']);
  assert.equal(rows[1].reliability, 'withheld to protect counts under 3');
});
