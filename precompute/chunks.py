"""Incident inputs as chunks of rows, so that no step of a build holds a whole input.

An input is a file, a folder (its incident files, by name) or a glob pattern. Every file belongs
to one source (an agency's export: `incident_sources`), within which incident ids are unique.
Columns are detected once per file, on its first rows (all that detection looks at). Parquet is split by row
groups and each chunk is read where it is processed (a worker process or a Dask worker), so only
its name crosses to the worker; CSV is read in chunks by the build process (pandas' reader, the
one a whole-file read uses); other OGR formats (GeoJSON, GeoPackage, Shapefile...) are read whole
by the build process and then split, so for very large inputs use CSV or Parquet.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from geopandas.io.arrow import _arrow_to_geopandas, _validate_and_decode_metadata

from crimetiles.precompute.detect import SAMPLE_SIZE, IncidentColumns, ResolvedColumns, resolve_columns
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.ingest import (
    BEYOND_HEADER,
    INCIDENT_SUFFIXES,
    FileKind,
    check_has_rows,
    csv_dialect,
    csv_with_one_more_field,
    existing_file,
    file_kind,
    read_csv,
    read_table,
    reading_errors,
)

DEFAULT_CHUNK_ROWS = 500_000
HEAD_ROWS = SAMPLE_SIZE * 5
"""Rows read to detect a file's columns: every value detection samples."""
GLOB_CHARACTERS = frozenset("*?[")


def expand_inputs(paths: Sequence[Path]) -> tuple[Path, ...]:
    """The incident files of `paths`, in order: a file as given, a folder as its incident files
    (by name, not recursive), a glob pattern (`data/*.parquet`) as the files it matches, by name;
    a `~` starting a path is the home directory (no shell expands it in a quoted pattern)."""
    files: list[Path] = []
    for path in (given.expanduser() for given in paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in INCIDENT_SUFFIXES)
            if not found:
                raise InputError(path, f"folder holds no incident file ({', '.join(INCIDENT_SUFFIXES)})")
            files += found
        elif not path.exists() and GLOB_CHARACTERS & set(str(path)):
            found = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
            if not found:
                raise InputError(path, "no file matches this pattern")
            files += found
        else:
            files.append(path)
    return tuple(files)


@dataclass(frozen=True)
class IncidentSource:
    """One agency's incidents: its files (or, as given by `--source NAME=PATH`, files, folders and
    glob patterns). Incident ids are unique within a source, never across sources."""

    name: str
    paths: tuple[Path, ...]


def incident_sources(incidents: Sequence[Path], grouped: Sequence[IncidentSource]) -> tuple[IncidentSource, ...]:
    """Every source, files expanded: each file of `incidents` its own source, named after the file
    (its stem; its path where that name is taken), then each of `grouped` (paths of one name
    joined). Raises `InputError` for a file given twice."""
    joined: dict[str, list[Path]] = {}
    for source in grouped:
        joined.setdefault(source.name, []).extend(expand_inputs(source.paths))
    files = expand_inputs(incidents)
    stems = Counter(path.stem for path in files)
    named = [IncidentSource(_file_source_name(path, stems, joined), (path,)) for path in files]
    sources = (*named, *(IncidentSource(name, tuple(paths)) for name, paths in joined.items()))
    _check_each_file_once(sources)
    return sources


SourceFiles = tuple[tuple[str, tuple[str, ...]], ...]
"""Each source's name and its files (paths as given), in input order: plain data for a report or manifest."""


def source_files(files: Sequence[IncidentFile]) -> SourceFiles:
    """The sources of `files` (planned files, in input order), each with its files."""
    grouped: dict[str, list[str]] = {}
    for file in files:
        grouped.setdefault(file.agency, []).append(file.source)
    return tuple((name, tuple(paths)) for name, paths in grouped.items())


def _file_source_name(path: Path, stems: Counter[str], taken: Mapping[str, object]) -> str:
    return path.stem if stems[path.stem] == 1 and path.stem not in taken else str(path)


def _check_each_file_once(sources: Sequence[IncidentSource]) -> None:
    seen: dict[Path, str] = {}
    for source in sources:
        for path in source.paths:
            key = path.resolve()
            if key in seen:
                where = f"source {seen[key]}" if seen[key] == source.name else f"sources {seen[key]} and {source.name}"
                raise InputError(path, f"given twice (in {where}): each file belongs to one source")
            seen[key] = source.name


@dataclass(frozen=True)
class IncidentFile:
    """One incident file and how to read it: `columns` as detected or given; for CSV its
    encoding and separator."""

    path: Path
    kind: FileKind
    columns: ResolvedColumns
    encoding: str = ""
    delimiter: str = ""
    agency: str = ""
    """The name of the source (agency) this file belongs to: its ids are one numbering with that
    source's other files."""

    @property
    def source(self) -> str:
        return str(self.path)

    def needed_columns(self) -> list[str]:
        """The columns a build reads (a geometry comes with its table, see `chunk_table`)."""
        coordinates = self.columns.coordinates
        wanted = [coordinates.lat, coordinates.lon, coordinates.point, self.columns.date, self.columns.offense]
        return list(dict.fromkeys(c for c in [*wanted, self.columns.incident_id] if c))

    def scanned_columns(self, dated: bool = False) -> list[str]:
        """The columns of the first pass: offense, incident id if there is one, and the date if
        `dated` (when the study years are chosen from the data)."""
        wanted = (self.columns.offense, self.columns.incident_id, self.columns.date if dated else None)
        return list(dict.fromkeys(c for c in wanted if c))


@dataclass(frozen=True, eq=False)
class Chunk:
    """Rows `first_row` (1-based data row) to `first_row + rows - 1` of `source`: Parquet row
    groups to read, or a table already read."""

    source: str
    index: int
    first_row: int
    rows: int
    row_groups: tuple[int, ...] = ()
    table: pd.DataFrame | None = None


def plan_file(path: Path, wanted: IncidentColumns, agency: str = "") -> IncidentFile:
    """Detect the columns of one incident file of source `agency` from its first rows."""
    kind = file_kind(path)
    if kind == "csv":
        encoding, delimiter = csv_dialect(existing_file(path))
        with closing(csv_with_one_more_field(path, delimiter)) as text:  # with usecols pandas reads longer rows
            head = reading_errors(path, lambda: read_csv(text, encoding, delimiter, usecols=lambda _: True, nrows=HEAD_ROWS))
        check_has_rows(path, head)
        columns = resolve_columns(path, head.drop(columns=BEYOND_HEADER), wanted)
        return IncidentFile(path, kind, columns, encoding, delimiter, agency)
    if kind == "parquet":
        head = _parquet_head(path)
    else:
        head = read_table(path).head(HEAD_ROWS)
    return IncidentFile(path, kind, resolve_columns(path, head, wanted), agency=agency)


def chunks(file: IncidentFile, chunk_rows: int, columns: Sequence[str]) -> Iterator[Chunk]:
    """The chunks of `file`, about `chunk_rows` rows each, carrying `columns` when the build
    process reads them (CSV, OGR); a Parquet chunk is whole row groups (at least one)."""
    if file.kind == "parquet":
        yield from _parquet_chunks(file, chunk_rows)
    elif file.kind == "csv":
        with closing(csv_with_one_more_field(file.path, file.delimiter)) as text:
            usecols = [*columns, BEYOND_HEADER]
            reader = reading_errors(
                file.path, lambda: read_csv(text, file.encoding, file.delimiter, usecols=usecols, chunksize=chunk_rows)
            )
            yield from _table_chunks(file, _csv_tables(file.path, reader))
    else:
        table = read_table(file.path)
        yield from _table_chunks(file, (table.iloc[i : i + chunk_rows] for i in range(0, len(table), chunk_rows)))


def chunk_table(file: IncidentFile, chunk: Chunk, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of `chunk`: read now for Parquet (`columns` and any geometry), else as carried. A
    Parquet offense or date column stored as a dictionary is read as one, a categorical."""
    if chunk.table is None:
        parquet = pq.ParquetFile(file.path)
        wanted = [column for column in (file.columns.offense, file.columns.date) if column in columns]
        dictionaries = _dictionary_columns(parquet.metadata, chunk.row_groups, wanted)
        if dictionaries:  # its footer, read once
            parquet = pq.ParquetFile(file.path, metadata=parquet.metadata, read_dictionary=dictionaries)
        groups = parquet.read_row_groups(list(chunk.row_groups), columns=_with_geometry(parquet.schema_arrow, columns))
        return _parquet_frame(file.path, groups).reset_index(drop=True)
    return chunk.table.reset_index(drop=True)


PLAIN_TEXT_BYTES = 4
"""The least a plain Parquet string costs, its length: a text column under this per value is
stored as dictionary indices (a writer falls back to plain values when the dictionary grows)."""


def _dictionary_columns(metadata: pq.FileMetaData, row_groups: Sequence[int], columns: Sequence[str]) -> list[str]:
    """The text columns of `columns` stored as a dictionary in each of `row_groups`. Read as one,
    they take a fifth of the time, and later steps handle their few distinct values, not every row;
    read so, a column stored as plain values would be hashed into a dictionary, at thrice the time."""
    positions = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    return [
        column
        for column in columns
        if column in positions
        and all(_stored_as_dictionary(metadata.row_group(group).column(positions[column])) for group in row_groups)
    ]


def _stored_as_dictionary(chunk: pq.ColumnChunkMetaData) -> bool:
    values = max(chunk.num_values, 1)
    return (
        chunk.physical_type == "BYTE_ARRAY"
        and chunk.has_dictionary_page
        and chunk.total_uncompressed_size < PLAIN_TEXT_BYTES * values
    )


def _table_chunks(file: IncidentFile, tables: Iterator[pd.DataFrame]) -> Iterator[Chunk]:
    first_row = 1
    for index, table in enumerate(tables):
        yield Chunk(file.source, index, first_row, len(table), table=table)
        first_row += len(table)


def _csv_tables(path: Path, reader: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    while True:
        table = reading_errors(path, lambda: next(reader, None))
        if table is None:
            return
        yield table


def _parquet_file(path: Path) -> pq.ParquetFile:
    return reading_errors(path, lambda: pq.ParquetFile(existing_file(path)))


def _parquet_head(path: Path) -> pd.DataFrame:
    parquet = _parquet_file(path)
    if parquet.metadata.num_rows == 0:
        raise InputError(path, "no data rows (only a header)")
    batch = next(parquet.iter_batches(batch_size=HEAD_ROWS))
    return _parquet_frame(path, pa.Table.from_batches([batch]))


def _parquet_chunks(file: IncidentFile, chunk_rows: int) -> Iterator[Chunk]:
    metadata = _parquet_file(file.path).metadata
    groups: list[int] = []
    index, first_row, rows = 0, 1, 0
    for group in range(metadata.num_row_groups):
        groups.append(group)
        rows += metadata.row_group(group).num_rows
        if rows >= chunk_rows or group == metadata.num_row_groups - 1:
            yield Chunk(file.source, index, first_row, rows, row_groups=tuple(groups))
            index, first_row, rows, groups = index + 1, first_row + rows, 0, []


def _geo_metadata(schema: pa.Schema) -> dict[str, Any] | None:
    metadata = schema.metadata or {}
    return _validate_and_decode_metadata(metadata) if b"geo" in metadata else None


def _with_geometry(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    geo = _geo_metadata(schema)
    return list(dict.fromkeys([*columns, geo["primary_column"]])) if geo else list(columns)


def _parquet_frame(path: Path, table: pa.Table) -> pd.DataFrame:
    """A Parquet table as `read_table` gives it: a GeoDataFrame when it is GeoParquet."""
    geo = _geo_metadata(table.schema)
    if geo and geo["primary_column"] in table.column_names:
        return _arrow_to_geopandas(table, geo)
    return table.to_pandas()
