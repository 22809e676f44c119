"""Read and validate incidents and boundaries; every rejected row is kept with its reason.

Incidents: CSV (UTF-8 with or without BOM, else Windows-1252; `,` `;` tab or `|` separated),
GeoJSON, GeoPackage, Shapefile (any OGR format) or (Geo)Parquet, told apart by their suffix
(`file_kind`). Which columns hold what is detected (`detect.py`) unless given. A build reads them
in chunks (`chunks.py`) and, for each, `parse_table` (coordinates, dates, ids, the offense text)
then `classify_rows`; duplicate ids are decided over every chunk (`tally.DuplicateIds`).
Boundaries: any OGR polygon layer with a declared CRS, reprojected to EPSG:4326.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from crimetiles.precompute.arrays import stripped_text, text_codes
from crimetiles.precompute.classify import Classifier
from crimetiles.precompute.coordinates import (
    COORDINATE_REASONS,
    WGS84,
    Coordinates,
    in_degree_range,
    read_coordinates,
)
from crimetiles.precompute.detect import IncidentColumns, ResolvedColumns, normalized_name
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.interrupt import raise_if_interrupted
from crimetiles.precompute.reasons import Reason

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".geoparquet")
OGR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".sqlite")
INCIDENT_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + OGR_SUFFIXES
"""The suffixes a folder given as input is searched for (any other file is read with OGR if named)."""
CSV_ENCODINGS = ("utf-8-sig", "cp1252")
CSV_DELIMITERS = (",", ";", "\t", "|")
DECODE_BLOCK_BYTES = 1 << 24
# Tried in order on dates that are not ISO 8601, before pandas' slow per-value guessing.
DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
EARLIEST_DATE = pd.Timestamp("1900-01-01")
# Export dates are local times: a date up to a day after the build (UTC) is not in the future yet.
FUTURE_SLACK = pd.Timedelta(days=1)
BEYOND_HEADER = "(beyond the header)"
"""The column a CSV is read with after its header's last one (see `csv_with_one_more_field`):
the first value of a row with more fields than the header, empty for the others."""
ROWS_BEYOND_HEADER = "rows_beyond_header"
"""`read_table`'s count of the rows it left out for having more fields than the header."""

FileKind = Literal["csv", "parquet", "ogr"]
T = TypeVar("T")


@dataclass
class Incidents:
    """The incident rows of one input, and the rejected ones with their reasons.

    After `parse_table`, `rows` has columns `row` (1-based data row), `incident_id`, `lon`,
    `lat`, `year` and `offense` (the offense value as read); `classify_rows` adds `category`
    and `offense_name` (the rule's name, e.g. "simple assault"). `rejects` has
    `source,row,reason,detail,incident_id`.
    """

    source: str
    rows_read: int
    rows: pd.DataFrame
    rejects: pd.DataFrame
    columns: ResolvedColumns
    unknown_offenses: dict[str, int] = field(default_factory=dict)

    def reject(self, mask: np.ndarray, reason: Reason, detail: pd.Series | str = "") -> None:
        """Move the rows where `mask` is true from `rows` to `rejects`, with `reason`."""
        if not mask.any():
            return
        dropped = self.rows[mask]
        details = detail[mask] if isinstance(detail, pd.Series) else detail
        self.rejects = pd.concat(
            [self.rejects, reject_rows(self.source, dropped["row"], reason, details, dropped["incident_id"])],
            ignore_index=True,
        )
        self.rows = self.rows[~mask].reset_index(drop=True)


def reject_rows(source: str, rows: pd.Series | np.ndarray, reason: str, detail: pd.Series | str, ids: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": source,
            "row": np.asarray(rows),
            "reason": reason,
            "detail": detail.to_numpy() if isinstance(detail, pd.Series) else detail,
            "incident_id": ids.to_numpy(),
        }
    )


def file_kind(path: Path) -> FileKind:
    """How an incident file is read, by its suffix in any case: CSV, (Geo)Parquet, else OGR."""
    suffix = path.suffix.lower()
    return "csv" if suffix in CSV_SUFFIXES else "parquet" if suffix in PARQUET_SUFFIXES else "ogr"


def read_table(path: Path) -> pd.DataFrame:
    """Any supported incident file, whole, as a frame of text columns, plus `geometry` if it has one.
    A CSV's rows with more fields than its header (a build rejects them) are left out, and their
    number is `table.attrs[ROWS_BEYOND_HEADER]`."""
    kind = file_kind(existing_file(path))
    if kind == "csv":
        table = _aligned_rows(path, reading_errors(path, lambda: _read_whole_csv(path)))
    elif kind == "parquet":
        table = reading_errors(path, lambda: _read_parquet(path))
    else:
        table = reading_errors(path, lambda: pyogrio.read_dataframe(path))
    check_has_rows(path, table)
    return table


def _read_whole_csv(path: Path) -> pd.DataFrame:
    encoding, delimiter = csv_dialect(path)
    with closing(csv_with_one_more_field(path, delimiter)) as text:  # with usecols pandas reads longer rows
        return read_csv(text, encoding, delimiter, usecols=lambda _: True)


def _aligned_rows(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    kept = aligned(table).drop(columns=BEYOND_HEADER)
    kept.attrs[ROWS_BEYOND_HEADER] = len(table) - len(kept)
    return kept


def read_csv(path: Path | BinaryIO, encoding: str, delimiter: str, **options: Any) -> pd.DataFrame:
    """A CSV file (or, with `chunksize`, a reader of its chunks) as text columns, empty cells as ""."""
    return pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, encoding=encoding, **options)


def reading_errors(path: Path, read: Callable[[], T]) -> T:
    """`read()`, any error reading an incident file as a one-line `InputError` naming `path`;
    Ctrl-C raised again if the reader swallowed it (see `interrupt.py`)."""
    try:
        result = read()
    except pd.errors.EmptyDataError:
        raise InputError(path, "empty file") from None
    except pd.errors.ParserError as exc:
        raise_if_interrupted()
        raise InputError(path, f"malformed CSV ({str(exc).strip()})") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise_if_interrupted()
        raise InputError(path, f"cannot read ({str(exc).strip()})") from None
    raise_if_interrupted()
    return result


def existing_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(path, "file not found")
    return path


def check_has_rows(path: Path, table: pd.DataFrame) -> None:
    if table.empty:
        raise InputError(path, "no data rows (only a header)")


def csv_dialect(path: Path) -> tuple[str, str]:
    """The encoding, UTF-8 (a BOM is skipped), else Windows-1252 (Excel's "ANSI", a superset of
    Latin-1), and the separator, the one the header line uses most. The whole file is decoded
    once, block by block, so that a chunked read cannot meet a bad byte half-way."""
    for encoding in CSV_ENCODINGS:
        if _decodes(path, encoding):
            with path.open(encoding=encoding, newline="") as file:
                return encoding, _csv_delimiter(file.readline())
    raise InputError(path, "neither UTF-8 nor Windows-1252 text; save it as UTF-8")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(DECODE_BLOCK_BYTES), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_delimiter(header: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = [unquoted.count(delimiter) for delimiter in CSV_DELIMITERS]
    return CSV_DELIMITERS[int(np.argmax(counts))]


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError:
        return pd.read_parquet(path)


def parse_table(
    table: pd.DataFrame,
    columns: ResolvedColumns,
    wanted: IncidentColumns,
    source: str,
    first_row: int = 1,
    years: range | None = None,
    now: datetime | None = None,
    year_reason: Reason = Reason.YEAR,
) -> Incidents:
    """Parse rows of `source` (all of it or one chunk, whose first row is data row `first_row`)
    read with `columns`, and reject, in order, rows with a value beyond the header (the others are
    then misaligned: a separator inside an unquoted value), without usable coordinates (missing,
    placeholder, unparseable, out of range), without a usable date, dated after `now` (the build
    time, default: the current time) or outside `years` (as `year_reason`)."""
    path = Path(source)
    coordinates = read_coordinates(path, table, columns.coordinates, wanted.crs, wanted.swap_lat_lon)
    date_text = stripped_text(table[columns.date])
    dates = parse_dates(date_text)
    year = dates.dt.year.to_numpy()
    numbers = np.arange(first_row, first_row + len(table))
    ids = incident_ids(table, columns.incident_id)
    rejects = reject_rows(source, pd.Series([], dtype="int64"), "", "", pd.Series([], dtype=str))
    rejected = np.zeros(len(table), dtype=bool)
    for reason, mask, detail in _row_checks(table, coordinates, date_text, dates, years, now, year_reason):
        hit = mask & ~rejected
        if hit.any():
            part = reject_rows(source, numbers[hit], reason, detail(hit), ids[hit])
            rejects = pd.concat([rejects, part], ignore_index=True)
            rejected |= hit
    kept = ~rejected
    rows = pd.DataFrame(
        {
            "row": numbers[kept],
            "incident_id": ids[kept].array,
            "lon": coordinates.lon[kept],
            "lat": coordinates.lat[kept],
            "year": year[kept].astype(np.int64),
            "offense": stripped_text(table[columns.offense])[kept].array,
        }
    )
    return Incidents(source=source, rows_read=len(table), rows=rows, rejects=rejects, columns=columns)


RowCheck = tuple[Reason, np.ndarray, Callable[[np.ndarray], pd.Series]]


def _row_checks(
    table: pd.DataFrame,
    coordinates: Coordinates,
    date_text: pd.Series,
    dates: pd.Series,
    years: range | None,
    now: datetime | None,
    year_reason: Reason,
) -> list[RowCheck]:
    """`parse_table`'s checks in order: the reason, the rows failing it, and their details (made
    only for the rows a check rejects: a chunk's million rows rarely hold any)."""
    checks: list[RowCheck] = []
    beyond = beyond_header(table)
    if beyond is not None:
        checks.append((Reason.FIELDS, (beyond != "").to_numpy(), lambda hit: beyond[hit]))
    checks += [
        (reason, (coordinates.problem == reason).to_numpy(), lambda hit: coordinates.text[hit]) for reason in COORDINATE_REASONS
    ]
    year = dates.dt.year
    checks.append((Reason.DATE, year.isna().to_numpy(), lambda hit: date_text[hit]))
    checks.append((Reason.FUTURE_DATE, (dates > latest_date(now)).to_numpy(), lambda hit: date_text[hit]))
    if years is not None:
        checks.append((year_reason, ~year.isin(years).to_numpy(), lambda hit: year[hit].astype("Int64").astype(str)))
    return checks


def beyond_header(table: pd.DataFrame) -> pd.Series | None:
    """Per row, the first value after the header's last field ("" for none); None for a table read
    without that extra field (any table but a CSV's: no other has values beyond a header)."""
    if BEYOND_HEADER not in table.columns:
        return None
    return table[BEYOND_HEADER].fillna("").astype(str).str.strip()


def aligned(table: pd.DataFrame) -> pd.DataFrame:
    """`table` without its rows that hold a value beyond the header (misaligned: a separator inside
    an unquoted value)."""
    beyond = beyond_header(table)
    return table if beyond is None else table[(beyond == "").to_numpy()]


class _OneMoreField(io.RawIOBase):
    """The bytes of a CSV file, its header line (the first line that is not blank, up to its end
    outside quotes) ending with one more field, `BEYOND_HEADER`; an empty file stays empty."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self._file = path.open("rb")
        blank = b""
        while (line := self._file.readline()) and not line.strip():
            blank += line
        while line.count(b'"') % 2 and (more := self._file.readline()):
            line += more
        header = line.rstrip(b"\r\n")
        extra = (delimiter + BEYOND_HEADER).encode("ascii") if header else b""
        self._head = blank + header + extra + line[len(header) :]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._head:
            return self._file.readinto(buffer)
        size = min(len(buffer), len(self._head))
        buffer[:size] = self._head[:size]
        self._head = self._head[size:]
        return size

    def close(self) -> None:
        self._file.close()
        super().close()


def csv_with_one_more_field(path: Path, delimiter: str) -> io.BufferedReader:
    """The CSV at `path` to read with pandas, its header given one more column, `BEYOND_HEADER`: a
    row with more fields than the header has its first extra value there (pandas would drop it, or,
    on the first row, take the first column for an index and shift every row); other rows leave it
    empty."""
    return io.BufferedReader(_OneMoreField(path, delimiter))


def latest_date(now: datetime | None) -> pd.Timestamp:
    """The latest date that is not in the future at `now` (default: the current time)."""
    return pd.Timestamp(now or datetime.now(UTC)).tz_convert(None) + FUTURE_SLACK


def usable_year_rows(date_text: pd.Series, now: datetime) -> dict[int, int]:
    """Rows per year (ascending) of the dates of `date_text` that `parse_table` keeps (parseable,
    not after `now`), counted over the distinct dates."""
    codes, dates = _distinct_parsed_dates(date_text)
    rows = np.bincount(codes[codes >= 0], minlength=len(dates))
    usable = (dates <= latest_date(now)).to_numpy()
    years, position = np.unique(dates[usable].dt.year.to_numpy(dtype=np.int64), return_inverse=True)
    totals = np.zeros(len(years), dtype=np.int64)
    np.add.at(totals, position, rows[usable])
    return {int(year): int(total) for year, total in zip(years, totals, strict=True)}


def incident_ids(table: pd.DataFrame, column: str | None) -> pd.Series:
    """The incident id of every row as text ("" when the file has no id column): the one
    spelling that duplicate detection compares, in every pass over a file."""
    if not column:
        return pd.Series("", index=table.index, dtype=str)
    return stripped_text(table[column])


def classify_rows(incidents: Incidents, classifier: Classifier) -> None:
    """Give each row its category and offense name; reject the rows no rule knows."""
    classes = classifier.classify(incidents.rows["offense"])
    incidents.rows = incidents.rows.assign(category=classes["category"].array, offense_name=classes["offense"].array)
    rows = incidents.rows
    unknown = rows["category"].isna().to_numpy()
    unknown_values = rows.loc[unknown, "offense"].value_counts()
    incidents.unknown_offenses = {str(k): int(v) for k, v in unknown_values.items() if v}  # a categorical counts them all
    incidents.reject(unknown, Reason.OFFENSE, rows["offense"])


def parse_dates(text: pd.Series) -> pd.Series:
    """Local dates and times, NaT where unparseable: ISO 8601 (a UTC offset is dropped: the year
    is the one the export shows), then the US layouts of police portals (03/01/2014, with or
    without a time), then whatever pandas can guess. Dates before 1900 are typos (05/05/1019),
    NaT like the unparseable. Each distinct text is parsed once: a day's incidents share a date."""
    codes, dates = _distinct_parsed_dates(text)
    return pd.Series(dates.array.take(codes, allow_fill=True), index=text.index)


def _distinct_parsed_dates(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each value's position among the distinct stripped texts (a missing one is ""), and their dates."""
    codes, distinct = text_codes(stripped_text(text))
    return codes, _distinct_dates(pd.Series(distinct))


def _distinct_dates(text: pd.Series) -> pd.Series:
    """`parse_dates` of stripped texts."""
    timed = text.str.contains(":", regex=False).to_numpy()  # only a time carries an offset to drop
    text[timed] = text[timed].str.replace(r"(?<=\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)$", "", regex=True)
    dates = pd.Series(pd.to_datetime(text, format="ISO8601", errors="coerce"), index=text.index)
    for date_format in (*DATE_FORMATS, "mixed"):
        retry = dates.isna() & (text != "")
        if not retry.any():
            break
        dates[retry] = pd.to_datetime(text[retry], format=date_format, errors="coerce")
    return dates.mask(dates < EARLIEST_DATE)


@dataclass(frozen=True)
class BoundaryLayer:
    """A named polygon layer in EPSG:4326 with `id` and `name` columns, in file order."""

    name: str
    path: str
    frame: gpd.GeoDataFrame
    warnings: tuple[str, ...]


def read_boundaries(name: str, path: Path, id_field: str = "id", name_field: str | None = None) -> BoundaryLayer:
    """Read a polygon layer into EPSG:4326. `id_field` and `name_field` match a field ignoring
    case and punctuation, as incident columns do (`boundary_field`). Features that cannot be mapped
    (no geometry, no id, zero area) are dropped and invalid polygons repaired with make_valid, each
    with a warning; a file with nothing usable left, or wrong as a whole, is an `InputError` naming it."""
    frame = _read_boundary_file(path)
    id_field = _given_field(path, frame, id_field, "id", "--id-field")
    if name_field:
        name_field = _given_field(path, frame, name_field, "name", "--name-field")
    else:
        found = (boundary_field(path, frame, default, "--name-field") for default in ("label", "name"))
        name_field = next((field for field in found if field), id_field)
    drops = _Drops(path, len(frame))
    frame = drops.drop(frame, (frame.geometry.isna() | frame.geometry.is_empty).to_numpy(), "with no geometry")
    no_id = frame[id_field].isna() | (frame[id_field].astype(str).str.strip() == "")
    frame = drops.drop(frame, no_id.to_numpy(), f"with no {id_field!r}", "; pass --id-field")
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon", "GeometryCollection"}:
        raise InputError(path, f"boundaries must be polygons, found {', '.join(sorted(kinds))}")
    _check_degrees(path, frame)
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].to_numpy())
    frame = frame.set_geometry(frame.geometry.apply(_polygonal_part)).to_crs(WGS84)
    zero_area = shapely.area(frame.geometry.to_numpy()) == 0
    frame = drops.drop(frame, zero_area, "with zero area")
    repaired = int(invalid.loc[frame.index].sum())
    if repaired:
        drops.warnings.append(f"{path}: {repaired} invalid geometries repaired with make_valid")
    ids = frame[id_field].astype(str)
    if ids.duplicated().any():
        raise InputError(path, f"duplicate ids in field {id_field!r}: {', '.join(ids[ids.duplicated()].unique()[:5])}")
    layer = gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "name": frame[name_field].fillna(ids).astype(str).to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs=WGS84,
    )
    return BoundaryLayer(name=name, path=str(path), frame=layer, warnings=tuple(drops.warnings))


def _read_boundary_file(path: Path) -> gpd.GeoDataFrame:
    """Any OGR polygon layer, or GeoParquet (read with geopandas: national layers come as such)."""
    try:
        if file_kind(Path(path)) == "parquet":
            frame = gpd.read_parquet(path)
        else:
            frame = pyogrio.read_dataframe(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise InputError(path, f"cannot read boundaries ({str(exc).strip()})") from None
    if frame.crs is None:
        raise InputError(path, "boundary file has no CRS; declare one (e.g. a .prj file or GeoJSON)")
    if frame.empty:
        raise InputError(path, "boundary file has no features")
    return frame


def boundary_field(path: Path, frame: gpd.GeoDataFrame, wanted: str, flag: str) -> str | None:
    """The field of `frame` named `wanted`, else the one field whose name is `wanted` ignoring case
    and punctuation (`NAME`, `Ward No` for `ward_no`); None if there is none. Several such fields
    are an `InputError` naming them."""
    fields = [str(column) for column in frame.columns if column != frame.geometry.name]
    if wanted in fields:
        return wanted
    matches = [field for field in fields if normalized_name(field) == normalized_name(wanted)]
    if len(matches) > 1:
        raise InputError(path, f"several fields match {wanted!r} ({', '.join(matches)}); pass {flag} with one of them exactly")
    return matches[0] if matches else None


def _given_field(path: Path, frame: gpd.GeoDataFrame, wanted: str, role: str, flag: str) -> str:
    field = boundary_field(path, frame, wanted, flag)
    if field is None:
        fields = ", ".join(str(column) for column in frame.columns if column != frame.geometry.name)
        raise InputError(path, f"no {role} field {wanted!r} (fields: {fields}); pass {flag}")
    return field


def _check_degrees(path: Path, frame: gpd.GeoDataFrame) -> None:
    """Projected coordinates in a file that declares longitude/latitude (GeoJSON always does)
    would put every incident outside: say what is wrong instead."""
    west, south, east, north = frame.total_bounds
    if frame.crs.is_geographic and not in_degree_range(np.array([west, east]), np.array([south, north])).all():
        raise InputError(
            path,
            f"coordinates run from x {west:.0f} to {east:.0f}, y {south:.0f} to {north:.0f}, far outside longitude/latitude, "
            f"but the file declares {frame.crs.to_string()} (degrees): they look projected (feet or metres); declare "
            f"their CRS, e.g. ogr2ogr -a_srs EPSG:2264 fixed.gpkg {Path(path).name}",
        )


class _Drops:
    """Unusable boundary features, dropped with a warning each kind; none left is an error."""

    def __init__(self, path: Path, total: int) -> None:
        self.path = path
        self.total = total
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def drop(self, frame: gpd.GeoDataFrame, mask: np.ndarray, what: str, hint: str = "") -> gpd.GeoDataFrame:
        """`frame` without the `mask` rows (named by their 1-based position in the file)."""
        if not mask.any():
            return frame
        positions = [str(i + 1) for i in frame.index[mask]]
        shown = ", ".join(positions[:5]) + (", ..." if len(positions) > 5 else "")
        note = f"{len(positions)} feature(s) {what}"
        self.notes.append(note)
        kept = frame[~mask]
        if kept.empty:
            raise InputError(self.path, f"no usable polygon among {self.total} feature(s): {'; '.join(self.notes)}{hint}")
        self.warnings.append(f"{self.path}: {note} dropped (feature {shown})")
        return kept


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a repaired geometry (make_valid may add stray lines or points, or turn a
    zero-area polygon into a line): an empty polygon if there are none."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()
