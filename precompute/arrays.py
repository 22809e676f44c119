"""Array steps several modules share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct `values`, sorted, as `np.unique` gives them, but by sorting: numpy's `np.unique`
    hashes first, some thirty times slower on a chunk's hundreds of thousands of 64-bit hashes."""
    ordered = np.sort(values)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first]


def string_buffers(values: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """The value offsets (one more than the values) and the data bytes of `values`, as NumPy
    views of its buffers (the offsets count from the start of the data)."""
    _, offsets, data = values.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64, count=len(values) + 1, offset=values.offset * 8)
    return starts, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
