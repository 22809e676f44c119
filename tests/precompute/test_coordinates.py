"""Coordinates read through Arrow are the numbers pandas reads from the same text, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from crimetiles.precompute.coordinates import _numbers, lat_lon_halves

ODD_VALUES = [
    "", " ", "nan", "NaN", "None", "-", "abc", "inf", "-Infinity", "1e400", "-1e-400", "0x10", "1_000", "+5", "5.", ".5",
    "1E+02", "1e", "--1", "1.5.2", "35.99 ", " 35.99", "\t35.99", "35.99\n", "３５.９", "١٢.٥", "00035.5",
    "35.9999999999999999999999999", "4.9e-324", "1" + "0" * 400,
]  # fmt: skip


def decimals(count: int, seed: int) -> list[str]:
    """Coordinates as exports write them: 0 to 17 decimals, some in exponent form."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(-180, 180, count)
    digits = rng.integers(0, 18, count)
    return [f"{v:.{d}f}" if d % 5 else f"{v:.{d}e}" for v, d in zip(values, digits, strict=True)]


def test_numbers_are_what_pandas_reads():
    text = pd.Series([*decimals(20_000, 5), *ODD_VALUES, None], dtype=str)
    expected = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    np.testing.assert_array_equal(_numbers(pa.array(text)), expected)


def test_lat_lon_halves_split_as_pandas_partition_does():
    text = pd.Series(
        [
            "35.9, -78.9",
            "(35.9, -78.9)",
            "((35.9 ,  -78.9)) ",
            "35.9",
            "35.9,",
            ",-78.9",
            ",",
            "1,234",
            "a, b, c",
            "(,)",
            "",
            None,
        ],
        dtype=str,
    )
    parts = text.str.strip("() ").str.partition(",")
    halves = lat_lon_halves(text)
    numbers = _numbers(halves)
    np.testing.assert_array_equal(numbers[0::2], pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float))
    np.testing.assert_array_equal(numbers[1::2], pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float))
    assert halves.to_pylist()[0::2] == ["35.9", "35.9", "35.9", "35.9", "35.9", "", "", "1", "a", "", "", ""]
    assert halves.to_pylist()[1::2] == ["-78.9", "-78.9", "-78.9", "", "", "-78.9", "", "234", "b, c", "", "", ""]


def test_lat_lon_halves_of_a_slice_and_of_many_chunks():
    """A slice (its offsets not starting at 0) and a column of several chunks split as one array."""
    text = pd.Series(["x", "(1.5, 2.5)", " 3, 4 ", None, "5,6", "３５.９, é"], dtype=str)
    assert lat_lon_halves(text.iloc[1:]).to_pylist() == ["1.5", "2.5", "3", "4", "", "", "5", "6", "３５.９", "é"]
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["1, 2", "3,4"], [None, "(5 ,6)"]])))
    assert lat_lon_halves(chunked).to_pylist() == ["1", "2", "3", "4", "", "", "5", "6"]
