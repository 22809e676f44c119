// Unit tests of static/map_style.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  buildStyle,
  densityLayerAt,
  highlightFilter,
  legendMarks,
  legendRows,
  NO_BASEMAP,
  rasterBasemap,
  styleBasemap,
  styleLayers,
} from '../../static/map_style.js';

/** A tileset's style as the server writes it: a class-0 fill and one filtered class. */
function tilesetStyle(name) {
  return {
    sources: { [name]: { type: 'vector', url: `tiles/${name}.json` } },
    layers: [
      { id: `${name}-0`, type: 'fill', source: name, 'source-layer': name, filter: ['==', ['get', 'violent_per_sqmi'], 0] },
      { id: `${name}-1`, type: 'fill', source: name, 'source-layer': name, filter: ['>', ['get', 'violent_per_sqmi'], 0], layout: { 'fill-sort-key': 1 } },
      { id: `${name}-line`, type: 'line', source: name, 'source-layer': name },
    ],
    metadata: {
      'crimetiles:fill-layers': [`${name}-0`, `${name}-1`],
      'crimetiles:legend': [{ label: '0', color: '#fff' }],
      'crimetiles:year-fields': ['violent_per_sqmi', 'unstable'],
    },
  };
}
const NAMES = ['blockgroups', 'tracts'];
const STYLES = Object.fromEntries(NAMES.map((name) => [name, tilesetStyle(name)]));

test('an XYZ basemap is a raster credited to its host, OpenStreetMap by name', () => {
  const osm = rasterBasemap('https://tile.openstreetmap.org/{z}/{x}/{y}.png');
  assert.deepEqual(osm.sources.basemap, {
    type: 'raster',
    tiles: ['https://tile.openstreetmap.org/{z}/{x}/{y}.png'],
    tileSize: 256,
    attribution: '© OpenStreetMap contributors',
  });
  assert.deepEqual(osm.layers, [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.6 } }]);
  assert.equal(rasterBasemap('https://maps.example.org/{z}/{x}/{y}.png').sources.basemap.attribution, 'Basemap: maps.example.org');
});

test('a basemap style gives its sources, layers, glyphs and sprite', () => {
  const style = { sources: { s: {} }, layers: [{ id: 'l' }], glyphs: 'g/{fontstack}/{range}.pbf', sprite: 'sp', name: 'x' };
  assert.deepEqual(styleBasemap(style), { sources: { s: {} }, layers: [{ id: 'l' }], glyphs: 'g/{fontstack}/{range}.pbf', sprite: 'sp' });
  assert.deepEqual(styleBasemap({}), { sources: {}, layers: [], glyphs: undefined, sprite: undefined });
});

test('the style stacks the background, the basemap, the tracts outline, then each tileset, one visible', () => {
  const basemap = { ...rasterBasemap('https://tile.openstreetmap.org/{z}/{x}/{y}.png'), glyphs: 'g', sprite: 's' };
  const style = buildStyle(NAMES, STYLES, basemap, 'tracts');
  assert.deepEqual(Object.keys(style.sources), ['basemap', 'blockgroups', 'tracts']);
  assert.equal(style.glyphs, 'g');
  assert.equal(style.sprite, 's');
  assert.deepEqual(style.layers.map((layer) => [layer.id, layer.layout && layer.layout.visibility]), [
    ['background', undefined],
    ['basemap', undefined],
    ['context-outline', undefined],
    ['blockgroups-0', 'none'],
    ['blockgroups-1', 'none'],
    ['blockgroups-line', 'none'],
    ['blockgroups-highlight', 'none'],
    ['tracts-0', 'visible'],
    ['tracts-1', 'visible'],
    ['tracts-line', 'visible'],
    ['tracts-highlight', 'visible'],
  ]);
  assert.equal(style.layers[2].source, 'tracts');
  assert.deepEqual(style.layers[4].layout, { 'fill-sort-key': 1, visibility: 'none' });
  assert.deepEqual(style.layers[10].filter, ['==', ['get', 'id'], '']);
  assert.equal(STYLES.tracts.layers[0].layout, undefined);
});

test('without a basemap or tracts, the outline is of the first tileset and there are no glyphs', () => {
  const style = buildStyle(['hexes'], { hexes: tilesetStyle('hexes') }, NO_BASEMAP, 'hexes');
  assert.deepEqual(style.layers.slice(0, 2).map((layer) => layer.id), ['background', 'context-outline']);
  assert.equal(style.layers[1].source, 'hexes');
  assert.equal('glyphs' in style || 'sprite' in style, false);
});

test("the page's handles on the style: fill layers, each tileset's layers, the filters and the fields a year swaps", () => {
  assert.deepEqual(styleLayers(NAMES, STYLES), {
    fillLayers: { blockgroups: ['blockgroups-0', 'blockgroups-1'], tracts: ['tracts-0', 'tracts-1'] },
    tilesetLayers: {
      blockgroups: ['blockgroups-0', 'blockgroups-1', 'blockgroups-line', 'blockgroups-highlight'],
      tracts: ['tracts-0', 'tracts-1', 'tracts-line', 'tracts-highlight'],
    },
    classFilters: {
      'blockgroups-0': ['==', ['get', 'violent_per_sqmi'], 0],
      'blockgroups-1': ['>', ['get', 'violent_per_sqmi'], 0],
      'tracts-0': ['==', ['get', 'violent_per_sqmi'], 0],
      'tracts-1': ['>', ['get', 'violent_per_sqmi'], 0],
    },
    yearFields: ['violent_per_sqmi', 'unstable'],
  });
  assert.deepEqual(legendRows(STYLES.tracts), [{ label: '0', color: '#fff' }]);
});

test('the highlight is of one area id, or of none', () => {
  assert.deepEqual(highlightFilter('370630001'), ['==', ['get', 'id'], '370630001']);
  assert.deepEqual(highlightFilter(null), ['==', ['get', 'id'], '']);
});

test('the density layer drawn is that of the band holding the whole zoom, else the last', () => {
  const bands = [
    { layer: 'hex_r7', minzoom: 0, maxzoom: 10 },
    { layer: 'hex_r8', minzoom: 11, maxzoom: 12 },
    { layer: 'hex_r9', minzoom: 13, maxzoom: 14 },
  ];
  assert.equal(densityLayerAt(bands, 10.99), 'hex_r7');
  assert.equal(densityLayerAt(bands, 11), 'hex_r8');
  assert.equal(densityLayerAt(bands, 14.5), 'hex_r9');
  assert.equal(densityLayerAt(bands, 17), 'hex_r9');
  assert.equal(densityLayerAt([{ layer: 'tracts', minzoom: 8, maxzoom: 14 }], 3), 'tracts');
});

test("the legend's marks: an unstable swatch is the wash over a class colour, a withheld one its colour", () => {
  const style = {
    metadata: {
      'crimetiles:marks': [
        { mark: 'unstable', below: 20, label: 'Unstable: fewer than 20 incidents', color: '#ffffff', opacity: 0.5 },
        { mark: 'suppressed', below: 3, label: 'Withheld to protect counts under 3: not published', color: '#ffffff', opacity: 0.8 },
      ],
    },
  };
  assert.deepEqual(legendMarks(style, '#bd0026'), [
    { label: 'Unstable: fewer than 20 incidents', background: 'linear-gradient(rgba(255, 255, 255, 0.5), rgba(255, 255, 255, 0.5)), #bd0026' },
    { label: 'Withheld to protect counts under 3: not published', background: '#ffffff' },
  ]);
  assert.deepEqual(legendMarks({ metadata: {} }, '#bd0026'), []);
});
