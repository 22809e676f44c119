// Unit tests of static/compass/stats.js against scipy's values (printed by scipy.stats, hard-coded here).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { binomialPValue, poissonInterval, roundedOutward } from '../../static/compass/stats.js';

// chi2.ppf(0.025, 2k) / 2 (0 for k = 0) and chi2.ppf(0.975, 2k + 2) / 2
const GARWOOD = [
  [0, 0, 3.6888794541139354],
  [1, 0.025317807984289876, 5.571643390938898],
  [2, 0.24220927854396496, 7.22468766772396],
  [19, 11.43924116436673, 29.67085357158559],
  [20, 12.216519585403944, 30.8883779026746],
  [1000, 938.9730184076952, 1063.952136016302],
];

// binomtest(k1, k1 + k2, 0.5).pvalue
const BINOMIAL = [
  [10, 20, 0.09873714670538905],
  [100, 150, 0.0018833009350761602],
  [0, 5, 0.0625],
  [0, 6, 0.03125],
  [7, 7, 1],
  [3, 0, 0.25],
  [1000, 1100, 0.03072070786424249],
];

test('the Garwood interval matches scipy chi-square quantiles at 0, 1, 2, 19, 20 and 1000', () => {
  for (const [k, low, high] of GARWOOD) {
    const [gotLow, gotHigh] = poissonInterval(k);
    assert.ok(Math.abs(gotLow - low) <= 1e-9 * Math.max(1, low), `low of ${k}: ${gotLow} vs ${low}`);
    assert.ok(Math.abs(gotHigh - high) <= 1e-9 * high, `high of ${k}: ${gotHigh} vs ${high}`);
  }
});

test('interval bounds round outward to 4 significant digits, 0 staying 0', () => {
  assert.equal(roundedOutward(9.43921, Math.floor), 9.439);
  assert.equal(roundedOutward(133.41, Math.ceil), 133.5);
  assert.equal(roundedOutward(0, Math.floor), 0);
});

test('the exact two-sided binomial p-value matches scipy binomtest', () => {
  for (const [k1, k2, p] of BINOMIAL) {
    const got = binomialPValue(k1, k2);
    assert.ok(Math.abs(got - p) <= 1e-9 * p, `${k1} vs ${k2}: ${got} vs ${p}`);
    assert.ok(Math.abs(binomialPValue(k2, k1) - p) <= 1e-9 * p, 'symmetric');
  }
  assert.equal(binomialPValue(0, 0), 1);
});
