"""The hash that finds duplicate-id candidates (`precompute.text_hash`): the same text always gives
the same hash, whatever array holds it, and different texts differ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from crimetiles.precompute.tally import TWIN_SAMPLE_BELOW
from crimetiles.precompute.text_hash import few_text_hashes, pair_hashes, text_hashes

TEXTS = ["a", "a ", "", "0000000001", "0000000001 ", "INC-2014-000123\x1fROBBERY", "é", "e\u0301", "x" * 40, "x" * 41]


def test_a_text_hashes_alike_in_any_array_that_holds_it():
    """Beside longer or shorter values, in chunks, sliced, `string` or `large_string`: the first
    and second pass of a build see the same id in differently shaped arrays."""
    alone = np.concatenate([text_hashes(pa.array([text])) for text in TEXTS])
    mixed = text_hashes(pa.array(["padding value longer than the rest", *TEXTS], pa.large_string()).slice(1))
    chunked = text_hashes(pa.chunked_array([TEXTS[:3], TEXTS[3:]]))
    reversed_order = text_hashes(pa.array(TEXTS[::-1]))[::-1]
    assert alone.dtype == np.uint64
    for other in (mixed, chunked, reversed_order):
        assert other.tolist() == alone.tolist()


def test_texts_of_one_length_hash_as_beside_other_lengths():
    """An array whose texts all have one length (ids of one format) is hashed a faster way: the
    same hashes, for lengths under, at and past whole words."""
    for length in (1, 7, 8, 9, 10, 16, 23):
        texts = [f"{i:0{length}d}"[-length:] for i in range(1000)]
        together = text_hashes(pa.array(texts))
        beside_others = text_hashes(pa.array([*texts, "a different length" * 2]))[:-1]
        assert together.tolist() == beside_others.tolist()
        assert len(set(together.tolist())) == len(set(texts))


def test_different_texts_hash_apart_and_a_null_apart_from_every_text():
    """A trailing space, a trailing NUL, one more byte past a whole word, the empty text, a null."""
    texts = [*TEXTS, "a\x00", "x" * 8, "x" * 9, "x" * 16, None]
    hashes = text_hashes(pa.array(texts))
    assert len(set(hashes.tolist())) == len(texts)


def test_hashes_spread_evenly_as_the_twin_sample_needs():
    """A thirty-second of 200,000 sequential ids (one spelling, differing in their last digits) falls
    under TWIN_SAMPLE_BELOW, alone and paired with one offense, and every id hashes apart."""
    ids = text_hashes(pa.array([f"{i:010d}" for i in range(200_000)]))
    robbery = text_hashes(pa.array(["ROBBERY"] * len(ids)))
    for hashes in (ids, pair_hashes(ids, robbery)):
        assert len(np.unique(hashes)) == len(ids)
        share = float((hashes < TWIN_SAMPLE_BELOW).mean())
        assert abs(share - 1 / 32) < 0.002, share
        top_bit = float((hashes >> np.uint64(63)).mean())
        assert abs(top_bit - 0.5) < 0.005, top_bit


def test_a_pair_hashes_apart_from_its_reverse_and_from_its_parts():
    one, other = text_hashes(pa.array(["INC-1", "ROBBERY"]))
    pairs = pair_hashes(np.array([one, other, one, one]), np.array([other, one, one, other]))
    assert pairs[0] == pairs[3]
    assert len({*pairs[:3].tolist(), one, other}) == 5


def test_an_array_of_empty_texts_and_nulls_only():
    hashes = text_hashes(pa.array(["", None, ""]))
    assert hashes[0] == hashes[2] != hashes[1]
    assert text_hashes(pa.array([], pa.string())).shape == (0,)


def test_few_text_hashes_are_the_text_hashes():
    offenses = pd.Series(["13A", "290", "13A", "", "290", None, "13A"] * 50, dtype=str)
    assert (few_text_hashes(offenses) == text_hashes(pa.array(offenses))).all()
    assert len(set(few_text_hashes(offenses).tolist())) == 4
