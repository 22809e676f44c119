// The exact tests and intervals the page computes itself (the selection's 95 % band, the change
// between two years): pure, in log space where a product of many terms would overflow. Tested in
// node against scipy's values (tests/static/stats.test.mjs).

export const LEVEL = 0.95;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const EPSILON = 1e-15;
const INTERVAL_DIGITS = 4;
/** An outcome as likely as the observed one within this (log) relative difference counts as as likely (scipy's rule). */
const RELATIVE_TIE = Math.log1p(1e-7);

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
function lnGamma(x) {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i += 1) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The regularized lower incomplete gamma function P(a, x): a series below a + 1, a continued
 * fraction (Lentz) above. */
function gammaP(a, x) {
  if (x <= 0) return 0;
  const front = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 100000 && Math.abs(term) > Math.abs(sum) * EPSILON; n += 1) {
      term *= x / (a + n);
      sum += term;
    }
    return sum * Math.exp(front);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let n = 1; n < 100000; n += 1) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    d = Math.abs(d) < 1e-300 ? 1e-300 : d;
    c = b + an / c;
    c = Math.abs(c) < 1e-300 ? 1e-300 : c;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < EPSILON) break;
  }
  return 1 - Math.exp(front) * h;
}

/** The `p` quantile of the gamma distribution of shape `a` (scale 1), by bisection. */
function gammaQuantile(p, a) {
  let low = 0;
  let high = a + 10 * Math.sqrt(a) + 10;
  while (gammaP(a, high) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-13 * high; i += 1) {
    const middle = (low + high) / 2;
    if (gammaP(a, middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** The exact (Garwood) 95 % interval of the mean of a Poisson count `k`, as the build computes it
 * (docs/artifact.md): Γ quantiles 0.025 of shape k (0 for k = 0) and 0.975 of shape k + 1. */
export function poissonInterval(k) {
  const tail = (1 - LEVEL) / 2;
  return [k > 0 ? gammaQuantile(tail, k) : 0, gammaQuantile(1 - tail, k + 1)];
}

/** `value` to 4 significant digits, rounded down (`Math.floor`) or up (`Math.ceil`), as the build
 * rounds an interval's bounds outward; 0 stays 0. */
export function roundedOutward(value, direction) {
  if (!(value > 0)) return 0;
  const scale = 10 ** (INTERVAL_DIGITS - 1 - Math.floor(Math.log10(value)));
  return direction(value * scale) / scale;
}

/** ln of the binomial probability of `k` successes in `n` trials of probability 1/2. */
function lnHalfBinomial(k, n) {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) - n * Math.LN2;
}

/** The two-sided exact p-value of `k1` given `k1 + k2` under Binomial(k1 + k2, 1/2), as scipy's
 * `binomtest(k1, k1 + k2, 0.5)`: the total probability of every outcome no more likely than k1's
 * (log-space terms, summed from the largest). */
export function binomialPValue(k1, k2) {
  const n = k1 + k2;
  if (n === 0) return 1;
  const observed = lnHalfBinomial(k1, n);
  const terms = [];
  for (let k = 0; k <= n; k += 1) {
    const term = lnHalfBinomial(k, n);
    if (term <= observed + RELATIVE_TIE) terms.push(term);
  }
  const top = Math.max(...terms);
  const sum = terms.reduce((total, term) => total + Math.exp(term - top), 0);
  return Math.min(1, Math.exp(top) * sum);
}
