"""Which columns of an incident table hold the coordinates, the date, the offense and the id.

A column given by the user always wins. Otherwise the usual names of police open-data exports
are recognised (case and punctuation ignored: `Date Rptd` is `date_rptd`), in priority order, and
checked against a sample of the values (a latitude column must hold numbers, a date column dates).
Several equally good candidates are an error that lists them and names the flag to pass: detection
is a convenience, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from crimetiles.precompute.coordinates import NO_VALUE_WORDS, CoordinateSource, looks_like_point
from crimetiles.precompute.errors import InputError

DateKind = Literal["reported", "occurred"]
SAMPLE_SIZE = 200

LAT_NAMES = ("latitude", "lat")
LON_NAMES = ("longitude", "lon", "lng", "long")
LAT_WORDS = frozenset(LAT_NAMES)
LON_WORDS = frozenset(LON_NAMES)
X_WORDS = frozenset({"x", "xcoord", "xcoordinate", "easting"})
Y_WORDS = frozenset({"y", "ycoord", "ycoordinate", "northing"})
POINT_WORDS = frozenset({"point", "location", "geo", "geolocation", "latlon", "latlong", "coordinates", "geom", "shape"})
REPORTED_NAMES = (
    "date_rept",
    "date_rptd",
    "rpt_dt",
    "report_date",
    "reported_date",
    "date_reported",
    "reportdate",
    "reporteddate",
    "report_datetime",
    "reported_datetime",
    "reported",
)
REPORTED_WORDS = frozenset({"rept", "rpt", "rptd", "report", "reported"})
OCCURRED_NAMES = (
    "date_occu",
    "date_occ",
    "occ_date",
    "occurred_date",
    "occurrence_date",
    "date_occurred",
    "offense_date",
    "incident_date",
    "crime_date",
    "cmplnt_fr_dt",
    "offense_start_datetime",
    "from_date",
    "occurred",
)
OCCURRED_WORDS = frozenset({"occ", "occu", "occur", "occurred", "occurrence", "cmplnt"})
DATE_WORDS = frozenset({"date", "dt", "datetime", "time"})
GENERIC_DATE_NAMES = ("date", "datetime")
OFFENSE_NAMES = (
    "ucr_code",
    "nibrs_code",
    "nibrs_offense_code",
    "offense_code",
    "primary_type",
    "ofns_desc",
    "crm_cd_desc",
    "crime_description",
    "chrgdesc",
    "offense_description",
    "offense",
    "offense_type",
    "crime_type",
    "description",
)
OFFENSE_WORDS = frozenset({"offense", "offence", "ofns", "crime", "crm", "charge", "chrgdesc", "ucr", "nibrs"})
ID_NAMES = (
    "inci_id",
    "incident_id",
    "incident_number",
    "case_number",
    "case_no",
    "cmplnt_num",
    "dr_no",
    "report_number",
    "report_no",
    "offense_id",
    "id",
    "objectid",
)

_YEAR = re.compile(r"(?<!\d)(?:1[89]|2\d)\d\d(?!\d)")


@dataclass(frozen=True)
class IncidentColumns:
    """What the user asked for; None means "detect it". Each field's `help` metadata is what
    `crimetiles build --help` says of it (the command's flags are made from these fields)."""

    lat: str | None = field(
        default=None,
        metadata={
            "help": "Incident column with latitude, or y with --crs (with --lon-col). Default: detected (a point geometry, "
            "latitude/longitude columns such as Latitude or LAT, a point column, x/y columns; see the README)."
        },
    )
    lon: str | None = field(
        default=None, metadata={"help": "Incident column with longitude, or x with --crs. Default: as for --lat-col."}
    )
    point: str | None = field(
        default=None,
        metadata={
            "help": 'Incident column holding whole points: "lat, lon", "(lat, lon)", WKT POINT (lon lat) or GeoJSON. '
            "Default: detected (e.g. geo_point_2d, Location)."
        },
    )
    date: str | None = field(
        default=None,
        metadata={
            "help": "Incident column whose date decides the year (ISO 8601 or e.g. 03/01/2014). Default: detected, see --date."
        },
    )
    date_kind: DateKind = field(
        default="reported",
        metadata={
            "help": "Which date to detect: the report date (e.g. date_rept, Date Rptd, RPT_DT; the occurrence date when "
            "the file has none) or the occurrence date (e.g. date_occu, DATE OCC, CMPLNT_FR_DT, Date)."
        },
    )
    offense: str | None = field(
        default=None,
        metadata={
            "help": "Incident column matched against the classification patterns. Default: detected (e.g. ucr_code, "
            "offense_code, Primary Type, OFNS_DESC, Crm Cd Desc)."
        },
    )
    incident_id: str | None = field(
        default=None,
        metadata={
            "help": "Incident id column; an id repeated within a source is rejected as a duplicate. Pass '' for none. "
            "Default: detected (e.g. inci_id, incident_id, Case Number, CMPLNT_NUM, DR_NO), else none."
        },
    )
    crs: str | None = field(
        default=None,
        metadata={
            "help": "CRS of the incident coordinates, e.g. EPSG:2264 (North Carolina State Plane, US feet); they are "
            "reprojected to longitude/latitude; with it, x/y columns are detected first and a geometry's own CRS is "
            "overridden. Default: longitude/latitude degrees, or the CRS a geometry declares."
        },
    )
    swap_lat_lon: bool = field(
        default=False,
        metadata={"help": "Exchange latitude and longitude of every incident (exports that swap them)."},
    )


@dataclass(frozen=True)
class ResolvedColumns:
    """The columns a file is read with; `detected` names the roles found by detection."""

    coordinates: CoordinateSource
    date: str
    date_kind: DateKind
    offense: str
    incident_id: str | None
    detected: frozenset[str]

    def describe(self) -> str:
        """One console line: `coordinates LAT, LON; date Date Rptd (report date); offense ...`,
        each column the user gave marked `(given)`: the others were detected."""
        date_kind = "report date" if self.date_kind == "reported" else "occurrence date"
        parts = {
            "coordinates": f"coordinates {self.coordinates.describe()}",
            "date": f"date {self.date} ({date_kind})",
            "offense": f"offense {self.offense}",
            "incident_id": f"incident id {self.incident_id or 'none, so duplicates are not detected'}",
        }
        return "; ".join(text + ("" if role in self.detected else " (given)") for role, text in parts.items())

    def as_report(self) -> dict[str, Any]:
        """The `columns` entry of an input in report.json."""
        return {
            "coordinates": self.coordinates.kind,
            "lat": self.coordinates.lat,
            "lon": self.coordinates.lon,
            "point": self.coordinates.point,
            "date": self.date,
            "date_kind": self.date_kind,
            "offense": self.offense,
            "incident_id": self.incident_id,
            "detected": sorted(self.detected),
        }


def normalized_name(name: object) -> str:
    """`Date Rptd` -> `date_rptd`, `LAT` -> `lat`, `Offense Start DateTime` -> `offense_start_datetime`."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def resolve_columns(path: Path, table: pd.DataFrame, wanted: IncidentColumns) -> ResolvedColumns:
    """The columns to read `table` with: the ones given, the others detected. Raises `InputError`
    naming `path` for a missing given column or an undecidable detection."""
    given = _given_columns(path, table, wanted)
    detected = {role for role in ("coordinates", "date", "offense", "incident_id") if role not in given}
    coordinates = given.get("coordinates") or _detect_coordinates(path, table, prefer_xy=wanted.crs is not None)
    date, date_kind = given["date"] if "date" in given else _detect_date(path, table, wanted.date_kind)
    offense = given["offense"] if "offense" in given else detect_offense_column(path, table)
    incident_id = given["incident_id"] if "incident_id" in given else _detect_id(table)
    return ResolvedColumns(coordinates, date, date_kind, offense, incident_id, frozenset(detected))


def _given_columns(path: Path, table: pd.DataFrame, wanted: IncidentColumns) -> dict[str, Any]:
    """The roles the user named, with the table's own spelling of each column."""
    if (wanted.lat is None) != (wanted.lon is None):
        raise InputError(path, "give both --lat-col and --lon-col, or neither")
    names = {
        "lat": wanted.lat,
        "lon": wanted.lon,
        "point": wanted.point,
        "date": wanted.date,
        "offense": wanted.offense,
        "incident_id": wanted.incident_id or None,
    }
    found = {role: _column_named(table, name) for role, name in names.items() if name}
    missing = [str(names[role]) for role, column in found.items() if column is None]
    if missing:
        available = ", ".join(str(c) for c in table.columns if c != "geometry")
        raise InputError(path, f"missing column(s) {', '.join(missing)} (columns: {available})")
    given: dict[str, Any] = {}
    if wanted.lat:
        given["coordinates"] = CoordinateSource("lat/lon columns", lat=found["lat"], lon=found["lon"])
    elif wanted.point:
        given["coordinates"] = CoordinateSource("point column", point=found["point"])
    if wanted.date:
        given["date"] = (found["date"], wanted.date_kind)
    if wanted.offense:
        given["offense"] = found["offense"]
    if wanted.incident_id is not None:
        given["incident_id"] = found.get("incident_id")
    return given


def _column_named(table: pd.DataFrame, name: str) -> str | None:
    """`name` itself, else the one column whose name matches it ignoring case and punctuation."""
    if name in table.columns:
        return name
    matches = [str(c) for c in table.columns if normalized_name(c) == normalized_name(name)]
    return matches[0] if len(matches) == 1 else None


def _detect_coordinates(path: Path, table: pd.DataFrame, prefer_xy: bool) -> CoordinateSource:
    """A point geometry, else latitude/longitude columns (exact names, then names holding `lat`...),
    else a combined point column, else x/y columns (x/y first when a --crs is given: projected
    coordinates live there)."""
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns:
        return CoordinateSource("geometry")
    columns = _text_columns(table)

    def named(names: Sequence[str]) -> list[str]:
        return [c for c in columns if normalized_name(c) in names]

    def holding(words: frozenset[str], not_words: frozenset[str]) -> list[str]:
        return [c for c in columns if _tokens(c) & words and not _tokens(c) & not_words]

    tiers: list[Callable[[], CoordinateSource | None]] = [
        lambda: _pair(path, table, named(LAT_NAMES), named(LON_NAMES)),
        lambda: _pair(path, table, holding(LAT_WORDS, LON_WORDS), holding(LON_WORDS, LAT_WORDS)),
        lambda: _point_column(path, table, columns),
        lambda: _pair(path, table, holding(Y_WORDS, X_WORDS), holding(X_WORDS, Y_WORDS)),
    ]
    if prefer_xy:
        tiers.insert(0, tiers.pop())
    for tier in tiers:
        found = tier()
        if found:
            return found
    raise InputError(
        path,
        "no coordinates found: no point geometry, no latitude/longitude or x/y columns, no point column "
        f"(columns: {', '.join(columns)}); pass --lat-col and --lon-col, or --point-col",
    )


def _pair(path: Path, table: pd.DataFrame, lat_columns: list[str], lon_columns: list[str]) -> CoordinateSource | None:
    """The one latitude (or y) and one longitude (or x) column holding numbers, if any."""
    lat_columns = [c for c in lat_columns if _mostly(_sample(table[c]), _is_number)]
    lon_columns = [c for c in lon_columns if _mostly(_sample(table[c]), _is_number)]
    if not lat_columns or not lon_columns:
        return None
    if len(lat_columns) > 1 or len(lon_columns) > 1:
        raise InputError(
            path,
            f"several coordinate columns (latitude or y: {', '.join(lat_columns)}; longitude or x: "
            f"{', '.join(lon_columns)}); pass --lat-col and --lon-col",
        )
    return CoordinateSource("lat/lon columns", lat=lat_columns[0], lon=lon_columns[0])


def _point_column(path: Path, table: pd.DataFrame, columns: list[str]) -> CoordinateSource | None:
    """A column of "lat, lon", "(lat, lon)", WKT `POINT (lon lat)` or GeoJSON-like points: among
    the columns named like one (`geo_point_2d`, `Location`...) first, then among the others."""
    named = [c for c in columns if _tokens(c) & POINT_WORDS]
    for group in (named, [c for c in columns if c not in named]):
        points = [c for c in group if _mostly(_sample(table[c]), looks_like_point, empty=False)]
        if len(points) > 1:
            raise InputError(path, f"several point columns ({', '.join(points)}); pass --point-col")
        if points:
            return CoordinateSource("point column", point=points[0])
    return None


def _detect_date(path: Path, table: pd.DataFrame, kind: DateKind) -> tuple[str, DateKind]:
    """The report date (else the occurrence date), or the occurrence date if asked."""
    columns = _text_columns(table)
    reported = _date_tier(path, table, "report date", columns, REPORTED_NAMES, REPORTED_WORDS)
    if kind == "reported" and reported:
        return reported, "reported"
    occurred = _date_tier(path, table, "occurrence date", columns, OCCURRED_NAMES, OCCURRED_WORDS)
    occurred = occurred or _date_tier(path, table, "date", columns, GENERIC_DATE_NAMES, frozenset())
    if occurred:
        return occurred, "occurred"
    wanted = "occurrence date" if reported else "date"
    raise InputError(path, f"no {wanted} column found (columns: {', '.join(columns)}); pass --date-col")


def _date_tier(
    path: Path, table: pd.DataFrame, role: str, columns: list[str], names: Sequence[str], words: frozenset[str]
) -> str | None:
    """A column with one of `names` (earlier names first), else the one column whose name holds
    one of `words` and a date word and whose values hold years. Two of the latter are ambiguous."""
    by_name = {normalized_name(c): c for c in columns}
    for name in names:
        if name in by_name:
            return by_name[name]
    tokened = [
        c
        for c in columns
        if _tokens(c) & words and _tokens(c) & DATE_WORDS and _mostly(_sample(table[c]), _YEAR.search, empty=False)
    ]
    if len(tokened) > 1:
        raise InputError(path, f"several {role} columns ({', '.join(tokened)}); pass --date-col")
    return tokened[0] if tokened else None


def detect_offense_column(path: Path, table: pd.DataFrame) -> str:
    """The offense column of `table`: the first of `OFFENSE_NAMES` (compared as `normalized_name`),
    else the one column whose name holds one of `OFFENSE_WORDS`. The build and `crimetiles
    offenses` both read the column this returns."""
    columns = _text_columns(table)
    by_name = {normalized_name(c): c for c in columns}
    for name in OFFENSE_NAMES:
        if name in by_name:
            return by_name[name]
    tokened = [c for c in columns if _tokens(c) & OFFENSE_WORDS]
    if len(tokened) == 1:
        return tokened[0]
    if tokened:
        raise InputError(path, f"several offense columns ({', '.join(tokened)}); pass --offense-col")
    raise InputError(
        path,
        f"no offense column found (looked for {', '.join(OFFENSE_NAMES)}, or one name holding "
        f"{', '.join(sorted(OFFENSE_WORDS))}); columns: {', '.join(columns)}; pass --offense-col",
    )


def _detect_id(table: pd.DataFrame) -> str | None:
    by_name = {normalized_name(c): str(c) for c in table.columns}
    return next((by_name[name] for name in ID_NAMES if name in by_name), None)


def _text_columns(table: pd.DataFrame) -> list[str]:
    geometry = table.geometry.name if isinstance(table, gpd.GeoDataFrame) else None
    return [str(c) for c in table.columns if c != geometry]


def _tokens(name: str) -> set[str]:
    return set(normalized_name(name).split("_"))


def _sample(values: pd.Series) -> list[str]:
    """Up to SAMPLE_SIZE values that hold something (not empty, not a no-value word)."""
    text = values.head(SAMPLE_SIZE * 5).astype(str).str.strip()
    return text[~text.str.lower().isin(NO_VALUE_WORDS)].head(SAMPLE_SIZE).tolist()


def _mostly(sample: list[str], test: Callable[[str], object], empty: bool = True) -> bool:
    """At least half of `sample` passes `test`; an empty sample counts as `empty`."""
    if not sample:
        return empty
    return sum(bool(test(value)) for value in sample) * 2 >= len(sample)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
