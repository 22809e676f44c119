"""Shared array steps (`precompute.arrays`): text stripped and coded as pandas would, however stored."""

from __future__ import annotations

import pandas as pd
import pytest

from crimetiles.precompute.arrays import stripped_text, text_codes

TEXTS = ["13A", " 13A", "13A ", "\t290\n", "\u00a0290", "290\u2003", "é ", "", None, "a b", "\x1f9"]


@pytest.mark.parametrize("clean", [False, True])
def test_stripped_text_is_what_pandas_strips(clean: bool):
    """A column with nothing to strip is given back as it is; with any value padded by ASCII or
    Unicode spaces (no-break, em), or control characters, every value is stripped."""
    texts = [text.strip() if text and clean else text for text in TEXTS]
    expected = _plain(pd.Series(texts, dtype="str").str.strip())
    for values in (pd.Series(texts, dtype="str"), pd.Series(texts, dtype=object), pd.Series(texts, dtype="category")):
        assert _plain(stripped_text(values)) == expected


def _plain(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(value) else str(value) for value in values]


@pytest.mark.parametrize("padded", ["\u00a0290", "290\u2003", "\x1f9", "9\t"])
def test_one_value_padded_by_any_space_strips_the_column(padded: str):
    """Unicode's spaces (no-break, em) are not ASCII, ASCII's control characters are not printable:
    either at an end makes the column one to strip."""
    values = pd.Series(["1400012345", padded, None], dtype="str")
    assert _plain(stripped_text(values)) == ["1400012345", padded.strip(), None]


def test_a_clean_column_is_not_copied():
    values = pd.Series(["1400012345", "1400012346", None], dtype="str")
    assert stripped_text(values) is values


def test_a_categorical_column_stays_one_and_merges_what_strips_alike():
    stripped = stripped_text(pd.Series([" 13A", "13A", "290 ", None], dtype="category"))
    assert isinstance(stripped.dtype, pd.CategoricalDtype)
    assert list(stripped.cat.categories) == ["13A", "290"]
    assert stripped.isna().tolist() == [False, False, False, True]


def test_text_codes_count_a_missing_value_as_empty_text():
    for values in (pd.Series(["a", None, "b", "a", ""], dtype="str"), pd.Series(["a", None, "b", "a", ""], dtype="category")):
        codes, texts = text_codes(values)
        assert [texts[code] for code in codes] == ["a", "", "b", "a", ""]
        assert len(set(texts)) == len(texts)
