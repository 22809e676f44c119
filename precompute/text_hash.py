"""A 64-bit hash of every text of an Arrow array, computed on its buffers with NumPy.

Duplicate ids are found by hash (`tally`): every id of every row is hashed once in each pass,
and hashing Python strings one by one (pandas' `hash_array` on objects) cost a sixth of a build's
counting. Here each value is read eight bytes at a time straight from the array's data buffer,
and each word is folded into the value's hash with the splitmix64 finalizer, for all the values
that long at once: a loop over the longest value's words, not over the values. The hashes are well
spread (a fixed share of them falls under any threshold, which the twin-source sample relies on)
but not meant to resist chosen collisions: a collision only makes a candidate that is then
checked exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crimetiles.precompute.arrays import string_buffers

WORD = 8
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(WORD)] + [2**64 - 1], dtype=np.uint64)
"""`_LOW_BYTES[n]` keeps the first `n` bytes of a little-endian word (the rest belong to the next value)."""


def text_hashes(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The uint64 hash of each value of `text` (strings); a null hashes apart from every text.
    The same text gives the same hash in any array, chunked, sliced, `string` or `large_string`."""
    values = pc.cast(text, pa.large_string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    offsets, data = string_buffers(values)
    length = np.diff(offsets)
    text = data[offsets[0] : offsets[-1]]
    if len(length) and length.min() == length.max():
        hashes = _equal_length_hashes(text, int(length[0]), len(length))
    else:
        hashes = _any_length_hashes(text, offsets[:-1] - offsets[0], length)
    null = values.is_null().to_numpy(zero_copy_only=False)
    return np.where(null, splitmix64(hashes ^ GOLDEN), hashes)


def _any_length_hashes(text: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The hashes of the values of `length` bytes at `start` in `text`: each word gathered from
    where it lies, for the values that reach it."""
    words = np.lib.stride_tricks.sliding_window_view(np.concatenate([text, np.zeros(WORD, np.uint8)]), WORD)
    hashes = splitmix64((length.astype(np.uint64) + np.uint64(1)) * GOLDEN)
    for first in range(0, int(length.max(initial=0)), WORD):
        longer = np.flatnonzero(length > first)
        word = np.ascontiguousarray(words[start[longer] + first]).view("<u8").ravel()
        hashes[longer] = splitmix64(hashes[longer] ^ (word & _LOW_BYTES[np.minimum(length[longer] - first, WORD)]))
    return hashes


def _equal_length_hashes(text: np.ndarray, length: int, count: int) -> np.ndarray:
    """`_any_length_hashes` of `count` values of `length` bytes each, one after the other (ids of
    one format: "1400012345"): their bytes are a table, copied once into rows of whole words
    padded with zeros, and each word is a column, read with no gather (a seventh of the time)."""
    words = -(-length // WORD)
    rows = np.zeros((count, words * WORD), np.uint8)
    rows[:, :length] = text.reshape(count, length)
    hashes = splitmix64(np.full(count, length + 1, np.uint64) * GOLDEN)
    for word in rows.view("<u8").T:
        hashes = splitmix64(hashes ^ word)
    return hashes


def few_text_hashes(text: pd.Series) -> np.ndarray:
    """`text_hashes` of a column that holds few distinct values (offenses): each distinct value
    hashed once, and a missing value once."""
    codes, distinct = pd.factorize(text)
    hashes = text_hashes(pa.array([*distinct, None], type=pa.large_string()))
    return hashes[codes]  # a missing value's code, -1, is the last


def pair_hashes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One hash per pair of hashes, (a, b) apart from (b, a): an id and an offense together."""
    return splitmix64(first ^ splitmix64(second + GOLDEN))


def splitmix64(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer: every input bit moves about half the output bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
