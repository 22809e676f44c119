"""The page's change verdicts and intervals (static/compass/data.js and stats.js, run in node)
against scipy: the exact two-sided binomial test of one year's count given the two years' sum
(`binomtest(k1, k1 + k2, 0.5)` at 95 %) and the Garwood interval (chi-square quantiles), on a grid
of counts that crosses the verdict's edges."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import binomtest, chi2

from tests.static.node import node_answer

STATIC = Path(__file__).resolve().parents[2] / "static" / "compass"
PAIRS = [(k1, k2) for k1 in (0, 1, 2, 5, 10, 19, 20, 40, 100) for k2 in (0, 1, 3, 6, 10, 20, 31, 60, 150, 400)]
COUNTS = [0, 1, 2, 3, 19, 20, 250, 1000, 20_000]
SCRIPT = """
import { changeVerdict } from '%(data)s';
import { binomialPValue, poissonInterval } from '%(stats)s';
const [pairs, counts] = JSON.parse(process.argv[1]);
console.log(JSON.stringify({
  verdicts: pairs.map(([a, b]) => changeVerdict(a, b)),
  pValues: pairs.map(([a, b]) => binomialPValue(a, b)),
  intervals: counts.map((k) => poissonInterval(k)),
}));
"""


@pytest.fixture(scope="module")
def page_answers() -> dict:
    script = SCRIPT % {"data": (STATIC / "data.js").as_uri(), "stats": (STATIC / "stats.js").as_uri()}
    return node_answer(script, [PAIRS, COUNTS])


def _scipy_verdict(k1: int, k2: int) -> str:
    if k1 + k2 == 0 or binomtest(k1, k1 + k2, 0.5).pvalue >= 0.05:
        return "no clear change"
    return "rose" if k2 > k1 else "fell"


def test_change_verdicts_are_scipys_binomial_test_at_95_percent(page_answers):
    assert page_answers["verdicts"] == [_scipy_verdict(k1, k2) for k1, k2 in PAIRS]
    expected = [1.0 if k1 + k2 == 0 else binomtest(k1, k1 + k2, 0.5).pvalue for k1, k2 in PAIRS]
    assert page_answers["pValues"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    # the examples: 10 vs 20 is no clear rise at 95 %, 100 vs 150 is
    verdicts = dict(zip(PAIRS, page_answers["verdicts"], strict=True))
    assert verdicts[(10, 20)] == "no clear change" and verdicts[(100, 150)] == "rose"
    assert {"rose", "fell", "no clear change"} == set(verdicts.values())


def test_the_selection_interval_is_garwoods(page_answers):
    expected = [(chi2.ppf(0.025, 2 * k) / 2 if k else 0.0, chi2.ppf(0.975, 2 * k + 2) / 2) for k in COUNTS]
    assert page_answers["intervals"] == [pytest.approx(list(pair), rel=1e-9) for pair in expected]
