// Unit tests of static/labels.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { areaFacts, formatNumber, legendSubtitle, upperFirst } from '../../static/labels.js';

const YEARS = ['2014', '2015', '2016'];
const TRACT = {
  id: '37063000101',
  name: 'Tract 1.01',
  area_sqmi: 0.8125,
  violent_count: 1234,
  violent_per_sqmi: 506.25641,
  violent_count_2015: 400,
  violent_per_sqmi_2015: 492.3,
};

test('numbers are grouped the en-US way with a fixed number of decimals', () => {
  assert.equal(formatNumber(1234567.891), '1,234,567.9');
  assert.equal(formatNumber(1234.5, 0), '1,235');
  assert.equal(formatNumber(0.8125, 2), '0.81');
  assert.equal(formatNumber('3', 1), '3.0');
});

test('a label starting a line starts with a capital', () => {
  assert.equal(upperFirst('all years 2014–2016'), 'All years 2014–2016');
  assert.equal(upperFirst('2015'), '2015');
  assert.equal(upperFirst(''), '');
});

test('the legend says the unit and the year shown', () => {
  assert.equal(legendSubtitle(YEARS, 'all'), 'incidents per sq mi · All years 2014–2016 (average per year)');
  assert.equal(legendSubtitle(YEARS, '2015'), 'incidents per sq mi · 2015');
});

test("the tooltip gives all years' total count and average density per year", () => {
  assert.deepEqual(areaFacts(TRACT, YEARS, 'all'), {
    title: 'Tract 1.01',
    facts: [
      ['Year', 'All years 2014–2016 (average per year)'],
      ['Violent incidents, 2014–2016 total', '1,234'],
      ['Area', '0.81 sq mi'],
      ['Density', '506.3 incidents per sq mi per year (average)'],
    ],
  });
});

test("the tooltip gives one year's count and density, an area without a name by its id", () => {
  assert.deepEqual(areaFacts({ ...TRACT, name: '' }, YEARS, '2015'), {
    title: '37063000101',
    facts: [
      ['Year', '2015'],
      ['Violent incidents, 2015', '400'],
      ['Area', '0.81 sq mi'],
      ['Density', '492.3 incidents per sq mi'],
    ],
  });
});

const MARKS = [
  { mark: 'unstable', below: 20, label: 'Unstable', color: '#ffffff', opacity: 0.5 },
  { mark: 'suppressed', below: 3, label: 'Withheld', color: '#ffffff', opacity: 0.8 },
];

test('the tooltip gives the 95 % interval of the density, and says when it rests on few incidents', () => {
  const small = { ...TRACT, violent_count_2015: 3, violent_per_sqmi_2015: 3.7, violent_per_sqmi_low_2015: 0.7631, violent_per_sqmi_high_2015: 10.79, unstable_2015: true };
  assert.deepEqual(areaFacts(small, YEARS, '2015', MARKS).facts.slice(1), [
    ['Violent incidents, 2015', '3'],
    ['Area', '0.81 sq mi'],
    ['Density', '3.7 incidents per sq mi'],
    ['95 % interval', '0.8–10.8'],
    ['Reliability', 'unstable: fewer than 20 incidents, read with care'],
  ]);
  const stable = { ...TRACT, violent_per_sqmi_low: 478.5, violent_per_sqmi_high: 535.3, unstable: false };
  assert.deepEqual(areaFacts(stable, YEARS, 'all', MARKS).facts.slice(3), [
    ['Density', '506.3 incidents per sq mi per year (average)'],
    ['95 % interval', '478.5–535.3'],
  ]);
});

test('a withheld count says it protects counts under K (not "fewer than K": complements are withheld too) and its density is not shown', () => {
  const withheld = { id: 'h', area_sqmi: 0.04, suppressed_2015: true, unstable_2015: true };
  assert.deepEqual(areaFacts(withheld, YEARS, '2015', MARKS).facts, [
    ['Year', '2015'],
    ['Violent incidents, 2015', 'withheld to protect counts under 3'],
    ['Area', '0.04 sq mi'],
    ['Density', 'not published'],
  ]);
});
