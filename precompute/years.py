"""Which years a build studies: `--years` as given, else the years that hold a real share of the rows.

A real export reaches back far beyond its years (late reports of old incidents, typed dates such as
1920 for 2020): a handful of rows must not add years to the map's year switch nor stretch the
all-years average. Pure functions on counts of rows per year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crimetiles.precompute.reasons import Reason

STUDY_YEAR_SHARE = 0.01
"""A year holding at least this share of the dated rows is a *common* year."""
MAX_GAP_YEARS = 1
"""Years of the study span that are not common (fewer rows, or none) allowed inside it."""
YEARS_NAMED = 10
"""Stray years a warning names before `and N more`."""


def study_span(year_rows: Mapping[int, int]) -> range:
    """The study years chosen from the rows per year (of the rows with a usable date).

    A candidate span runs from a common year to a common year (possibly the same one) and holds
    at most MAX_GAP_YEARS years that are not common. The study years are the candidate holding
    the most rows; between candidates holding as many, the latest. With no common year (every year
    under the share: rows spread over more than a hundred years) every year is studied; with no
    dated row the span is empty.
    """
    if not year_rows:
        return range(0)
    total = sum(year_rows.values())
    common = sorted(year for year, rows in year_rows.items() if rows >= STUDY_YEAR_SHARE * total)
    if not common:
        return range(min(year_rows), max(year_rows) + 1)
    candidates = [
        range(first, last + 1)
        for i, first in enumerate(common)
        for j, last in enumerate(common[i:], start=i)
        if last - first + 1 - (j - i + 1) <= MAX_GAP_YEARS
    ]
    return max(candidates, key=lambda span: (sum(year_rows.get(year, 0) for year in span), span.start))


def describe_span(span: range) -> str:
    """`2017-2018`, or `2018` for one year."""
    return f"{span.start}-{span[-1]}" if len(span) > 1 else str(span.start)


@dataclass(frozen=True)
class StudyYears:
    """The years a build counts; a row dated outside them is rejected with `reason`."""

    span: range
    from_data: bool
    """True when chosen from the data (`study_span`), False for `--years`."""

    @property
    def reason(self) -> Reason:
        return Reason.STUDY_YEAR if self.from_data else Reason.YEAR

    def chosen_line(self) -> str:
        """The console line saying the years chosen from the data."""
        return f"study years {describe_span(self.span)} (from the data; --years to choose)"

    def rejected_warning(self, rejected_years: Mapping[int, int]) -> list[str]:
        """One warning naming the rows rejected as dated outside the study years, and their years."""
        if not self.from_data or not rejected_years:
            return []
        years = [str(year) for year in sorted(rejected_years)]
        named = ", ".join(years[:YEARS_NAMED]) + (f" and {len(years) - YEARS_NAMED} more" if len(years) > YEARS_NAMED else "")
        rows = sum(rejected_years.values())
        counted = f"{rows} rows" if rows > 1 else "1 row"
        return [
            f"{counted} dated {named}, outside the study years {describe_span(self.span)}, rejected; pass --years to keep them"
        ]
