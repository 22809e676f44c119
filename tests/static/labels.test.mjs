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
