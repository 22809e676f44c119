"""Incident coordinates: parsed from columns, a combined point column or a geometry, checked, and
reprojected to longitude/latitude (EPSG:4326).

Every row gets a location or a reason why not (missing, placeholder, unparseable, out of range).
A whole file whose coordinates are out of range the same way (swapped, or projected coordinates
read as degrees) is an error that says so: silently dropping or repairing it would hide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from crimetiles.precompute.arrays import string_buffers, stripped_text
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.reasons import Reason

WGS84 = "EPSG:4326"
CoordinateKind = Literal["lat/lon columns", "point column", "geometry"]
# Values standing for "no location" in exports (compared in lower case, stripped).
NO_VALUE_WORDS = frozenset({"", "nan", "nat", "none", "null", "na", "n/a", "-", "redacted", "withheld", "unknown"})
# Numbers geocoders and exports put where they have no location.
PLACEHOLDER_VALUES = (0.0, -1.0)
COORDINATE_REASONS = (
    Reason.MISSING_COORDINATES,
    Reason.PLACEHOLDER_COORDINATES,
    Reason.COORDINATES,
    Reason.COORDINATES_OUT_OF_RANGE,
)
"""Why a row's coordinates are unusable, in the order a build checks them."""
PROBLEMS = ("", *COORDINATE_REASONS)
SWAP_FLAG = "--swap-lat-lon"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DECIMAL = r"[-+]?\d*\.\d+"
# Points written x (longitude) first: WKT `POINT (lon lat)` and GeoJSON-like `{"coordinates": [lon, lat]}`.
# The other point layout, "lat, lon" or "(lat, lon)", puts latitude first.
XY_POINT_FORMATS = (
    re.compile(rf"^\s*(?:SRID=\d+;\s*)?POINT\s*(?:Z|M|ZM)?\s*\(\s*({_NUMBER})\s+({_NUMBER})(?:\s+{_NUMBER})*\s*\)\s*$", re.I),
    re.compile(rf"""^\s*\{{.*['"]coordinates['"]\s*:\s*\[\s*({_NUMBER})\s*,\s*({_NUMBER})""", re.I),
)
# "1,234" is a number, not a point: a "lat, lon" point column needs decimals.
_LAT_LON_PAIR = re.compile(rf"^\s*\(?\s*{_DECIMAL}\s*,\s*{_DECIMAL}\s*\)?\s*$")


def looks_like_point(text: str) -> bool:
    """Whether one value is written as a point, to recognise point columns."""
    return bool(_LAT_LON_PAIR.match(text) or any(pattern.match(text) for pattern in XY_POINT_FORMATS))


@dataclass(frozen=True)
class CoordinateSource:
    """Where a row's location comes from: two columns, one combined column, or the geometry."""

    kind: CoordinateKind
    lat: str | None = None
    lon: str | None = None
    point: str | None = None

    def describe(self) -> str:
        if self.kind == "lat/lon columns":
            return f"{self.lat}, {self.lon}"
        return self.point if self.kind == "point column" and self.point else "the point geometry"


@dataclass(frozen=True)
class Coordinates:
    """Longitude and latitude per row, NaN where `problem` holds the reject reason ("" if none; a
    categorical of PROBLEMS), and the coordinates as read (the reject detail)."""

    lon: np.ndarray
    lat: np.ndarray
    problem: pd.Series
    text: pd.Series


def read_coordinates(
    path: Path, table: pd.DataFrame, source: CoordinateSource, crs: str | None = None, swap: bool = False
) -> Coordinates:
    """The location of every row of `table`. `crs` is the CRS of the coordinates (None: degrees,
    or a geometry's declared CRS); `swap` exchanges x and y. Raises `InputError` when most rows
    are out of range."""
    x, y, missing, text = _raw_xy(path, table, source, crs)
    if swap:
        x, y = y, x
    problem = np.zeros(len(table), dtype=np.int8)  # positions in PROBLEMS
    problem[missing] = PROBLEMS.index(Reason.MISSING_COORDINATES)
    numeric = ~missing & np.isfinite(x) & np.isfinite(y)
    problem[~missing & ~numeric] = PROBLEMS.index(Reason.COORDINATES)
    placeholder = numeric & (np.isin(x, PLACEHOLDER_VALUES) | np.isin(y, PLACEHOLDER_VALUES))
    problem[placeholder] = PROBLEMS.index(Reason.PLACEHOLDER_COORDINATES)
    usable = numeric & ~placeholder
    if crs is not None and source.kind != "geometry":
        check_not_degrees(path, x[usable], y[usable], crs)
        x, y = _to_wgs84(x, y, crs)
    else:
        check_degrees(path, x[usable], y[usable], source)
    out_of_range = usable & ~in_degree_range(x, y)
    problem[out_of_range] = PROBLEMS.index(Reason.COORDINATES_OUT_OF_RANGE)
    bad = ~usable | out_of_range
    problems = pd.Categorical.from_codes(problem, categories=[str(reason) for reason in PROBLEMS])
    return Coordinates(np.where(bad, np.nan, x), np.where(bad, np.nan, y), pd.Series(problems, index=table.index), text)


def in_degree_range(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (np.abs(lon) <= 180) & (np.abs(lat) <= 90)


def check_degrees(path: Path, lon: np.ndarray, lat: np.ndarray, source: CoordinateSource) -> None:
    """Stop when most coordinates are outside longitude/latitude ranges: swapped if exchanging
    them fixes most, else projected coordinates (feet or metres) read as degrees."""
    outside = ~in_degree_range(lon, lat)
    if outside.sum() * 2 <= len(lon):
        return
    if in_degree_range(lat, lon)[outside].sum() * 2 > outside.sum():
        raise InputError(
            path,
            f"latitude and longitude look swapped: {int(outside.sum())} of {len(lon)} points are out of range as given "
            f"and in range exchanged; pass {SWAP_FLAG}" + _column_hint(source),
        )
    raise InputError(
        path,
        f"{int(outside.sum())} of {len(lon)} points are outside longitude/latitude ranges (x {np.nanmin(lon):.0f} to "
        f"{np.nanmax(lon):.0f}, y {np.nanmin(lat):.0f} to {np.nanmax(lat):.0f}): these look like projected "
        "coordinates (feet or metres); give the CRS with --crs EPSG:NNNN (e.g. EPSG:2264, North Carolina State Plane feet)",
    )


def check_not_degrees(path: Path, x: np.ndarray, y: np.ndarray, crs: str) -> None:
    """Stop when `crs` is projected (feet or metres) but most coordinates are within longitude and
    latitude ranges: degrees given a projected --crs would land every point far from where it is."""
    projected = pyproj.CRS.from_user_input(crs)
    if not projected.is_projected or in_degree_range(x, y).sum() * 2 <= len(x):
        return
    unit = projected.axis_info[0].unit_name
    raise InputError(
        path,
        f"{int(in_degree_range(x, y).sum())} of {len(x)} points are within longitude/latitude ranges (x {np.nanmin(x):.4f} "
        f"to {np.nanmax(x):.4f}, y {np.nanmin(y):.4f} to {np.nanmax(y):.4f}), but --crs {crs} is projected (in {unit}): "
        "these look like degrees; leave out --crs",
    )


def swapped_error(path: Path, inside: int, swapped_inside: int, total: int, source: CoordinateSource) -> InputError:
    """The error for coordinates that fall in the boundaries only once latitude and longitude
    are exchanged."""
    return InputError(
        path,
        f"latitude and longitude look swapped: {inside} of {total} points fall inside the boundaries, "
        f"{swapped_inside} would with latitude and longitude exchanged; pass {SWAP_FLAG}" + _column_hint(source),
    )


def _column_hint(source: CoordinateSource) -> str:
    if source.kind != "lat/lon columns":
        return ""
    return f" (or --lat-col {source.lon!r} --lon-col {source.lat!r})"


def _raw_xy(
    path: Path, table: pd.DataFrame, source: CoordinateSource, crs: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """x, y (NaN where not numbers), the rows with no value at all, and the text for rejects.csv."""
    if source.kind == "geometry":
        return _geometry_xy(path, table, crs)
    if source.kind == "point column":
        text = stripped_text(table[source.point])
        x, y = _point_xy(text)
        # No word for "none" holds a comma or reads as a point: only a value that reads as no point can be one.
        unparsed = np.isnan(x) | np.isnan(y)
        values = text[unparsed]
        missing = np.zeros(len(text), dtype=bool)
        missing[unparsed] = _no_value(values) | values.str.fullmatch(r"(?i)POINT\s*EMPTY").to_numpy()
        return x, y, missing, text
    lat_text, lon_text = stripped_text(table[source.lat]), stripped_text(table[source.lon])
    x, y = _numbers(pa.array(lon_text)), _numbers(pa.array(lat_text))
    return x, y, _no_value(lat_text) | _no_value(lon_text), lat_text + ", " + lon_text


def _no_value(text: pd.Series) -> np.ndarray:
    return text.str.lower().isin(NO_VALUE_WORDS).to_numpy()


def _numbers(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each value as `pd.to_numeric(errors="coerce")` reads it, NaN where it is no number. Plain
    decimals (nearly every value) are read by Arrow, which rounds them as pandas does (both to the
    nearest double), at a fraction of the cost; any other value (blank, padded, "inf"...) by pandas.
    Arrow's cast reads only plain decimals and spellings of infinity and NaN, so a column it reads
    whole (blanks aside) needs no check of each value: only its values that are not finite are
    read again, by pandas."""
    try:
        numbers = pc.cast(pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text), pa.float64())
    except pa.ArrowInvalid:
        return _plain_numbers(text)
    values = numbers.to_numpy(zero_copy_only=False).copy()
    return _pandas_numbers(text, values, ~np.isfinite(values))


def _plain_numbers(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`_numbers` of a column with other values than numbers: the plain decimals told by a pattern."""
    plain = pc.fill_null(pc.match_substring_regex(text, rf"^{_NUMBER}$"), False)
    numbers = pc.cast(pc.if_else(plain, text, "nan"), pa.float64()).to_numpy(zero_copy_only=False).copy()
    return _pandas_numbers(text, numbers, ~plain.to_numpy(zero_copy_only=False))


def _pandas_numbers(text: pa.Array | pa.ChunkedArray, numbers: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`numbers`, with the values where `others` read by pandas."""
    rows = np.flatnonzero(others)
    numbers[rows] = pd.to_numeric(text.take(rows).to_pandas(), errors="coerce")
    return numbers


def lat_lon_halves(text: pd.Series) -> pa.LargeStringArray:
    """Each value's text before its first comma and after it ("" after a value without one),
    one after the other (lat, lon, lat, lon...), once parentheses and spaces are trimmed from both
    ends and spaces from each part: "lat, lon" and "(lat, lon)" split. The values are cut where
    they lie, by new offsets into a copy of their bytes (the comma made a space, then trimmed):
    Arrow's `split_pattern` builds a list per row, at twice the cost of all the rest."""
    trimmed = pc.utf8_trim(pa.array(text, type=pa.large_string()), "() ")
    whole = pc.fill_null(trimmed.combine_chunks() if isinstance(trimmed, pa.ChunkedArray) else trimmed, "")
    offsets, data = string_buffers(whole)
    comma = pc.fill_null(pc.find_substring(whole, ","), -1).to_numpy()
    start, end = offsets[:-1], offsets[1:]
    cut = np.where(comma >= 0, start + comma, end)
    data = data[: offsets[-1]].copy()
    data[cut[comma >= 0]] = ord(" ")
    halves = np.empty(2 * len(whole) + 1, dtype=np.int64)
    halves[0:-1:2], halves[1::2], halves[-1] = start, cut, offsets[-1]
    split = pa.LargeStringArray.from_buffers(2 * len(whole), pa.py_buffer(halves), pa.py_buffer(data))
    return pc.utf8_trim(split, " ")


def _point_xy(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """x, y of each combined point value, however it is written (see XY_POINT_FORMATS). The common
    "lat, lon" and "(lat, lon)" are split rather than matched: a regular expression per row costs
    seconds on a city's history."""
    numbers = _numbers(lat_lon_halves(text))
    y, x = numbers[0::2].copy(), numbers[1::2].copy()
    # A tagged value never reads as "lat, lon": only the rows that did not can be tagged.
    unparsed = np.flatnonzero(np.isnan(y))
    tagged = np.zeros(len(text), dtype=bool)
    tagged[unparsed] = text.iloc[unparsed].str.match(r"(?i)\s*(?:POINT|SRID|\{)").to_numpy()
    x[tagged], y[tagged] = np.nan, np.nan
    for pattern in XY_POINT_FORMATS:
        if tagged.any():
            found = text[tagged].str.extract(pattern)
            x[tagged] = np.where(np.isnan(x[tagged]), pd.to_numeric(found[0], errors="coerce"), x[tagged])
            y[tagged] = np.where(np.isnan(y[tagged]), pd.to_numeric(found[1], errors="coerce"), y[tagged])
    return x, y


def _geometry_xy(path: Path, table: gpd.GeoDataFrame, crs: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """The geometry in EPSG:4326; `crs`, when given, overrides the CRS the file declares."""
    if table.crs is None and crs is None:
        raise InputError(path, "point geometry has no CRS; declare one (e.g. a .prj file) or pass --crs")
    geometry = table.geometry.set_crs(crs, allow_override=True) if crs else table.geometry
    geometry = geometry.to_crs(WGS84)
    kinds = set(geometry[geometry.notna() & ~geometry.is_empty].geom_type)
    if kinds - {"Point"}:
        raise InputError(path, f"incident geometries must be points, found {', '.join(sorted(kinds))}")
    points = geometry.to_numpy()
    missing = shapely.is_missing(points) | shapely.is_empty(points)
    x = np.where(missing, np.nan, shapely.get_x(points))
    y = np.where(missing, np.nan, shapely.get_y(points))
    text = pd.Series(np.where(missing, "empty geometry", shapely.to_wkt(points, rounding_precision=6)), index=table.index)
    return x, y, missing, text


def _to_wgs84(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Reproject x/y in `crs` to longitude/latitude; points the projection cannot map become inf."""
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    lon, lat = transformer.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
