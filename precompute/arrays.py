"""Array steps several modules share."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def stripped_text(values: pd.Series) -> pd.Series:
    """`values` as text without surrounding spaces, a missing value kept missing. A categorical
    column (a Parquet column read as its dictionary: `chunks.chunk_table`) stays one: its distinct
    texts are stripped, not its rows, and two that strip alike become one."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        if isinstance(values.array, pd.arrays.ArrowStringArray) and not _padded(values.array):
            return values  # nothing to strip: most id and point columns
        return values.astype(str).str.strip()
    categories = values.cat.categories.astype(str)
    codes, texts = pd.factorize(categories.str.strip())
    if pd.api.types.is_string_dtype(values.cat.categories) and len(texts) == len(categories) and (texts == categories).all():
        return values  # nothing to strip: most exports
    rows = values.cat.codes.to_numpy()
    merged = np.where(rows >= 0, codes[rows], -1)
    return pd.Series(pd.Categorical.from_codes(merged, categories=texts), index=values.index, name=values.name)


def _padded(values: pd.arrays.ArrowStringArray) -> bool:
    """Whether a value may start or end with whitespace: its first or last byte is an ASCII space
    or control character, or not ASCII (Unicode's other spaces). Two bytes per value are looked at,
    where stripping copies every one."""
    text = pa.array(values)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    offsets, data = string_buffers(text.cast(pa.large_string()))
    filled = offsets[1:] > offsets[:-1]
    ends = np.concatenate([data[offsets[:-1][filled]], data[offsets[1:][filled] - 1]])
    return bool(((ends <= ord(" ")) | (ends > 0x7F)).any())


def text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's position among the distinct texts of `values` (a missing value is ""), and
    those texts: for a categorical column, its codes and categories as they are."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        codes, texts = pd.factorize(values.fillna("").astype(str))
        return codes, pd.Index(texts, dtype=str)
    texts = pd.Index(values.cat.categories.astype(str), dtype=str)
    codes = values.cat.codes.to_numpy().astype(np.int64)
    missing = codes < 0
    if missing.any():
        empty = texts.get_indexer([""])[0]
        if empty < 0:
            texts, empty = texts.append(pd.Index([""], dtype=str)), len(texts)
        codes[missing] = empty
    return codes, texts
