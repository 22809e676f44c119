// Unit tests of static/url_state.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { downloadUrl, initialView, mapLink, mapStateFromUrl, parseChange, qgisUrl, withMapState } from '../../static/url_state.js';

const NAMES = ['tracts', 'blockgroups', 'hexes'];
const YEARS = ['2014', '2015', '2016'];
const state = (query) => mapStateFromUrl(new URLSearchParams(query), NAMES, YEARS);

test('the URL chooses the tileset and year the build has', () => {
  assert.deepEqual(state('layer=hexes&year=2015'), { layer: 'hexes', year: '2015', since: null });
  assert.deepEqual(state('year=all'), { layer: 'blockgroups', year: 'all', since: null });
});

test('the map opens on block groups (or the first tileset) and all years when the URL asks for nothing the build has', () => {
  assert.deepEqual(state(''), { layer: 'blockgroups', year: 'all', since: null });
  assert.deepEqual(state('layer=wards&year=1999'), { layer: 'tracts', year: 'all', since: null });
  assert.deepEqual(mapStateFromUrl(new URLSearchParams('layer=wards'), ['tracts', 'hexes'], YEARS), { layer: 'tracts', year: 'all', since: null });
  assert.deepEqual(mapStateFromUrl(new URLSearchParams(''), ['tracts', 'hexes'], YEARS), { layer: 'tracts', year: 'all', since: null });
});

test('change=FIRST-SECOND opens the change view between two study years, the earlier first', () => {
  assert.deepEqual(parseChange('2014-2016', YEARS), { since: '2014', year: '2016' });
  assert.deepEqual(state('change=2014-2016&year=2015&layer=tracts'), { layer: 'tracts', year: '2016', since: '2014' });
  assert.deepEqual(state('change=2015-2016'), { layer: 'blockgroups', year: '2016', since: '2015' });
});

test('an invalid change= is ignored: the normal view of the year asked for', () => {
  for (const text of ['2016-2014', '2014-2014', '1999-2016', '2014-2030', '2014', '2014-', 'garbage', '2014-2016x', ' 2014-2016', '2014–2016', '', null]) {
    assert.equal(parseChange(text, YEARS), null, text);
  }
  assert.deepEqual(state('change=2016-2014&year=2015'), { layer: 'blockgroups', year: '2015', since: null });
  assert.deepEqual(state('change=2014-2014'), { layer: 'blockgroups', year: 'all', since: null });
});

test("the view is the URL's center and zoom when valid, else the TileJSON's", () => {
  const tilejsonCenter = [-78.9, 36.0, 11];
  const view = (query) => initialView(new URLSearchParams(query), tilejsonCenter);
  assert.deepEqual(view('center=-78.5,35.5&zoom=13.5'), { center: [-78.5, 35.5], zoom: 13.5 });
  assert.deepEqual(view('zoom=0'), { center: [-78.9, 36.0], zoom: 0 });
  assert.deepEqual(view(''), { center: [-78.9, 36.0], zoom: 11 });
  assert.deepEqual(view('center=-78.5&zoom=far'), { center: [-78.9, 36.0], zoom: 11 });
  assert.deepEqual(view('center=-78.5,north&zoom='), { center: [-78.9, 36.0], zoom: 11 });
  assert.deepEqual(view('center=1,2,3'), { center: [-78.9, 36.0], zoom: 11 });
});

test('the shown tileset, year and change view go into the query, its other parameters kept', () => {
  assert.equal(withMapState('?selected=a%2Cb&layer=tracts', { layer: 'hexes', year: '2015', since: null }), '?selected=a%2Cb&layer=hexes&year=2015');
  assert.equal(withMapState('', { layer: 'tracts', year: 'all', since: null }), '?layer=tracts&year=all');
  assert.equal(withMapState('?layer=tracts', { layer: 'tracts', year: '2016', since: '2014' }), '?layer=tracts&year=2016&change=2014-2016');
  assert.equal(withMapState('?change=2014-2016&selected=a', { layer: 'tracts', year: '2016', since: null }), '?selected=a&layer=tracts&year=2016');
});

test('a link to the map or the embed keeps the tileset, year, selection and view', () => {
  const shown = { layer: 'tracts', year: '2015', since: null };
  assert.equal(
    mapLink('embed', shown, '?layer=tracts&selected=37063000301%2C37063001301', '#12/36/-78.9'),
    'embed?layer=tracts&year=2015&selected=37063000301%2C37063001301#12/36/-78.9',
  );
  assert.equal(mapLink('./', shown, '?layer=tracts', ''), './?layer=tracts&year=2015');
  assert.equal(
    mapLink('embed', { ...shown, since: '2014' }, '?selected=37063000301', '#12/36/-78.9'),
    'embed?layer=tracts&year=2015&change=2014-2015&selected=37063000301#12/36/-78.9',
  );
});

test('downloads and QGIS layer definitions are for the layer and year shown', () => {
  assert.equal(downloadUrl('downloads/{layer}.{format}?year={year}', 'hex_r8', 'csv', 'all'), 'downloads/hex_r8.csv?year=all');
  assert.equal(downloadUrl('downloads/{layer}-{year}.{format}', 'tracts', 'geojson', '2015'), 'downloads/tracts-2015.geojson');
  assert.equal(qgisUrl('tracts', '2015'), 'qgis/tracts.qlr?year=2015');
});
