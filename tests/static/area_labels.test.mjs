// Unit tests of static/area_labels.js, run by node's own test runner (tests/static/test_page_modules.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { labelBox, labelCandidates, overlaps, screenBox } from '../../static/area_labels.js';

/** A projection scaling degrees by 10, y downwards from latitude 10 like the screen. */
const project = ([lon, lat]) => ({ x: lon * 10, y: (10 - lat) * 10 });
const square = (x0, y0, side) => [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]];
const feature = (id, name, ...rings) => ({
  properties: { id, name },
  geometry: rings.length === 1 ? { type: 'Polygon', coordinates: [rings[0]] } : { type: 'MultiPolygon', coordinates: rings.map((ring) => [ring]) },
});

test('the screen box of a polygon and of a multipolygon is that of their outer rings', () => {
  assert.deepEqual(screenBox(feature('a', 'A', square(1, 2, 3)).geometry, project), { left: 10, right: 40, top: 50, bottom: 80 });
  assert.deepEqual(screenBox(feature('b', 'B', square(0, 0, 1), square(5, 5, 1)).geometry, project), { left: 0, right: 60, top: 40, bottom: 100 });
});

test('boxes overlap only when they share area, not an edge', () => {
  const box = { left: 0, right: 10, top: 0, bottom: 10 };
  assert.equal(overlaps(box, { left: 9, right: 20, top: 9, bottom: 20 }), true);
  assert.equal(overlaps(box, { left: 10, right: 20, top: 0, bottom: 10 }), false);
  assert.equal(overlaps(box, { left: 2, right: 4, top: 2, bottom: 4 }), true);
});

test('each area is labelled on its largest drawn part, largest areas first, at most max', () => {
  const features = [
    feature('small', 'Small', square(0, 0, 1)),
    feature('big', 'Big (part)', square(10, 0, 2)),
    feature('big', 'Big', square(20, 0, 5)),
    feature('mid', 'Mid', square(30, 0, 3)),
  ];
  const candidates = labelCandidates(features, project, 2);
  assert.deepEqual(candidates.map(({ name, size }) => [name, size]), [['Big', 2500], ['Mid', 900]]);
  assert.deepEqual(candidates[0].box, { left: 200, right: 250, top: 50, bottom: 100 });
  assert.equal(labelCandidates(features, project, 80).length, 3);
});

test('a label is centred on its area, left out when wider than the area or over another label', () => {
  const area = { left: 0, right: 100, top: 0, bottom: 40 };
  assert.deepEqual(labelBox(area, 60, 10, []), { left: 20, right: 80, top: 15, bottom: 25 });
  assert.equal(labelBox(area, 101, 10, []), null);
  assert.equal(labelBox(area, 60, 10, [{ left: 75, right: 90, top: 20, bottom: 30 }]), null);
  assert.deepEqual(labelBox(area, 60, 10, [{ left: 80, right: 90, top: 20, bottom: 30 }]), { left: 20, right: 80, top: 15, bottom: 25 });
});
