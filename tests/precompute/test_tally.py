"""A chunk's counting helpers give what the plain NumPy/pandas spelling gives, only faster."""

from __future__ import annotations

import numpy as np

from crimetiles.precompute.arrays import distinct


def test_distinct_is_np_unique_of_hashes_with_repeats():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**64 - 1, 50_000, dtype=np.uint64, endpoint=True)
    hashes = np.concatenate([hashes, hashes[::7], [np.uint64(0), np.uint64(2**64 - 1)] * 3])
    rng.shuffle(hashes)
    assert np.array_equal(distinct(hashes), np.unique(hashes))
    assert distinct(hashes).dtype == np.uint64


def test_distinct_of_nothing_and_of_one():
    assert distinct(np.empty(0, np.uint64)).tolist() == []
    assert distinct(np.array([5, 5, 5], np.uint64)).tolist() == [5]
