"""Why an incident row was rejected: the `reason` column of rejects.csv and the keys of
`rejected_by_reason` in report.json (listed in README.md and docs/artifact.md)."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    FIELDS = "more fields than the header"
    MISSING_COORDINATES = "missing coordinates"
    PLACEHOLDER_COORDINATES = "placeholder coordinates"
    COORDINATES = "unparseable coordinates"
    COORDINATES_OUT_OF_RANGE = "coordinates out of range"
    DATE = "missing or unparseable date"
    FUTURE_DATE = "date in the future"
    YEAR = "year outside --years"
    STUDY_YEAR = "year outside the study years"
    OFFENSE = "unknown offense"
    DUPLICATE = "duplicate incident id"
    OUTSIDE = "outside all boundaries"
