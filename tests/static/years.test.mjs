// Unit tests of static/years.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ALL_YEARS, countField, densityField, filterForYear, yearLabel, yearSpan } from '../../static/years.js';

const YEARS = ['2014', '2015', '2016'];

test('a year is labelled as itself, all years by their span and what the numbers are', () => {
  assert.equal(yearSpan(YEARS), '2014–2016');
  assert.equal(yearLabel(YEARS, ALL_YEARS), 'all years 2014–2016 (average per year)');
  assert.equal(yearLabel(YEARS, '2015'), '2015');
  assert.equal(yearLabel([2014, 2015], 2015), '2015');
});

test('each year has its own tile properties, all years the unsuffixed ones', () => {
  assert.equal(densityField(ALL_YEARS), 'violent_per_sqmi');
  assert.equal(densityField('2015'), 'violent_per_sqmi_2015');
  assert.equal(countField(ALL_YEARS), 'violent_count');
  assert.equal(countField('2015'), 'violent_count_2015');
});

test("a class filter is re-pointed at the year's density, nothing else in it changed", () => {
  const filter = ['all', ['>=', ['get', 'violent_per_sqmi'], 2.5], ['<', ['get', 'violent_per_sqmi'], 10], ['==', ['get', 'name'], 'violent_per_sqmi_x']];
  assert.deepEqual(filterForYear(filter, '2016'), [
    'all',
    ['>=', ['get', 'violent_per_sqmi_2016'], 2.5],
    ['<', ['get', 'violent_per_sqmi_2016'], 10],
    ['==', ['get', 'name'], 'violent_per_sqmi_x'],
  ]);
  assert.deepEqual(filterForYear(filter, ALL_YEARS), filter);
  assert.equal(filter[1][1][1], 'violent_per_sqmi');
});

test("a mark's filter is re-pointed at the year's flags, each field the style names", () => {
  const unstable = ['all', ['==', ['get', 'unstable'], true], ['!=', ['get', 'suppressed'], true]];
  const fields = ['violent_per_sqmi', 'unstable', 'suppressed'];
  assert.deepEqual(filterForYear(unstable, '2015', fields), [
    'all',
    ['==', ['get', 'unstable_2015'], true],
    ['!=', ['get', 'suppressed_2015'], true],
  ]);
  assert.deepEqual(filterForYear(unstable, ALL_YEARS, fields), unstable);
  assert.deepEqual(filterForYear(unstable, '2015'), unstable); // only the density unless told
});
