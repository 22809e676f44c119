"""Density layers as downloads: the long CSV table and GeoJSON, written a chunk of the layer at a
time (`LayerChunks`, Arrow record batches) so that a server never holds a layer whole, each
chunk's text made a column at a time (`value_text`): no pandas, and no Python object per value
for numbers.

`year` selects what to export everywhere here: None = every year, an int = that year,
`"all"` = only the all-years values (average per year). A GeoJSON download carries the build's
provenance in a foreign member, `metadata` (title, attribution, caveat, sources, years, units); a
CSV download is the bare table, for any program to read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from crimetiles.artifact.errors import BuildError, InvalidYear
from crimetiles.artifact.fields import ALL_YEARS, AREA, COUNT, ID, NAME, YEAR_FIELDS, year_field
from crimetiles.artifact.manifest import Provenance

if TYPE_CHECKING:  # annotations only: a server imports this module for `parse_year` at start, and
    # numpy, nanoarrow and shapely (`value_text`) only for a download (geopandas and pyarrow only
    # for `whole`)
    import geopandas as gpd
    import numpy as np

    from crimetiles.artifact.value_text import Notation

LONG_COLUMNS = ["layer", ID, NAME, "year", COUNT, AREA, *YEAR_FIELDS[1:]]
"""A withheld count's row has empty count, density and interval, and `suppressed` true."""
YearSelection = int | Literal["all"] | None
FORMATS = ("csv", "geojson")


class Chunk(Protocol):
    """Rows of a density layer as Arrow arrays: a server's `layer_rows.Batch`, a `pa.RecordBatch`."""

    @property
    def num_rows(self) -> int: ...
    @property
    def num_columns(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    def column(self, name_or_index: str | int, /) -> Any: ...


LayerChunks = Callable[[Sequence[str] | None], Iterable[Chunk]]
"""A density layer's rows, chunk after chunk in file order, each time it is called: the columns
named, or for None every property column then the geometry (WKB, EPSG:4326), last."""


def parse_year(text: str | None, years: Sequence[int]) -> YearSelection:
    """`None`/`""` -> every year, `"all"` -> all-years values, `"2014"` -> 2014 if the build has it.

    Only the year exactly as the build writes it (ASCII digits, no sign, space or leading zero)
    is one: `"٢٠١٤"` or `"²"` raise `InvalidYear` like any other year the build lacks.
    """
    if not text:
        return None
    if text == ALL_YEARS:
        return ALL_YEARS
    by_text = {str(year): year for year in years}
    if text in by_text:
        return by_text[text]
    raise InvalidYear(f"year {text!r} is not in this build (years: {', '.join(by_text)}, or all)")


def _columns_for(year: int | None) -> dict[str, str]:
    """Long-table column -> density-layer column for one year (None: all years)."""
    return {base: year_field(base, year) for base in YEAR_FIELDS}


def _selected_years(years: Sequence[int], year: YearSelection) -> list[int | None]:
    """The years `year` selects, None standing for the all-years values."""
    return [*years, None] if year is None else [None if year == ALL_YEARS else year]


def _csv_chunks(chunks: LayerChunks, layer: str, years: Sequence[int], year: YearSelection) -> Iterator[str]:
    """The long table as CSV text (`LONG_COLUMNS`, one row per feature and selected year, the
    all-years row last), year after year and, within a year, chunk after chunk."""
    yield ",".join(LONG_COLUMNS) + "\n"
    for y in _selected_years(years, year):
        for table in chunks([ID, NAME, AREA, *_columns_for(y).values()]):
            yield _csv_rows(table, layer, y)


def _csv_rows(table: Chunk, layer: str, y: int | None) -> str:
    """The long table's rows of one chunk and year (None: all years), as CSV lines."""
    from crimetiles.artifact.value_text import CSV, constant_text, joined

    cells = {"layer": constant_text(CSV.string(layer), table.num_rows), **_year_cells(table, y, CSV)}
    pieces: list[Any] = []
    for column in LONG_COLUMNS:
        pieces += [",", cells[column]] if pieces else [cells[column]]
    return "".join(joined([*pieces, "\n"]).tolist())


def download_metadata(provenance: Provenance, years: Sequence[int]) -> dict[str, Any]:
    """What a download says about where its numbers come from (the GeoJSON `metadata` member)."""
    return {
        "title": provenance.title,
        "attribution": provenance.attribution,
        "attribution_url": provenance.attribution_url,
        "caveat": provenance.caveat,
        "sources": [source.name for source in provenance.sources],
        "years": list(years),
        "units": "violent crimes per square mile (incidents reported by police)",
    }


def _geojson_chunks(chunks: LayerChunks, year: YearSelection, metadata: dict[str, Any] | None) -> Iterator[str]:
    """The FeatureCollection's text (see `geojson_text`), its features a chunk at a time."""
    head: dict[str, Any] = {"type": "FeatureCollection"} | ({"metadata": metadata} if metadata is not None else {})
    yield json.dumps(head, separators=(",", ":"))[:-1] + ',"features":['
    separator = ""
    for table in chunks(None):
        if table.num_rows:
            yield separator + _features(table, year)
            separator = ","
    yield "]}"


def _features(table: Chunk, year: YearSelection) -> str:
    """A chunk's features, comma-separated, as geopandas' `to_geo_dict(drop_id=True)` gives them
    to `json.dumps` with compact separators."""
    from crimetiles.artifact.value_text import geometry_json, joined

    pieces: list[Any] = ['{"type":"Feature","properties":{']
    for name, text in _properties_json(table, year).items():
        pieces += [("," if len(pieces) > 1 else "") + json.dumps(name) + ":", text]
    pieces += ['},"geometry":', geometry_json(table.column(table.num_columns - 1)), "}"]
    return ",".join(joined(pieces).tolist())


def _properties_json(table: Chunk, year: YearSelection) -> dict[str, Any]:
    """Property name -> its values of the chunk as JSON text, for `year` (see `geojson_text`)."""
    from crimetiles.artifact.value_text import JSON, column_text

    if year is None:
        return {name: column_text(table.column(name), JSON) for name in table.column_names[:-1]}
    return _year_cells(table, None if year == ALL_YEARS else year, JSON)


def _year_cells(table: Chunk, y: int | None, notation: Notation) -> dict[str, np.ndarray]:
    """A chunk's id, name, year, area, then one year's (None: all years') count, density and
    interval, each a column of text as `notation` writes it: the CSV's rows and the GeoJSON's
    properties for one year alike."""
    from crimetiles.artifact.value_text import column_text, constant_text

    return {
        ID: column_text(table.column(ID), notation),
        NAME: column_text(table.column(NAME), notation),
        "year": constant_text(notation.string(ALL_YEARS if y is None else str(y)), table.num_rows),
        AREA: column_text(table.column(AREA), notation),
        **{column: column_text(table.column(field), notation) for column, field in _columns_for(y).items()},
    }


def geojson_text(frame: gpd.GeoDataFrame, year: YearSelection = None, metadata: dict[str, Any] | None = None) -> str:
    """The layer as a GeoJSON FeatureCollection (EPSG:4326), with `metadata` as a foreign member.

    Every year: all fields (one column per year). One year or `"all"`: the properties are
    `id, name, year, area_sqmi`, then the count, density, interval and flags without the year
    (`fields.YEAR_FIELDS`). A withheld value is `null`.
    """
    return "".join(_geojson_chunks(whole(frame), year, metadata))


def whole(frame: gpd.GeoDataFrame) -> LayerChunks:
    """`frame` as one chunk (a `pa.RecordBatch`), in EPSG:4326."""
    import pyarrow as pa  # here, not at the top: see `TYPE_CHECKING` above

    table = pa.table(frame.to_crs(4326).to_arrow(index=False, geometry_encoding="WKB")).combine_chunks()
    geometry = frame.geometry.name
    every = [*(name for name in table.column_names if name != geometry), geometry]
    return lambda columns: table.select(list(columns) if columns is not None else every).to_batches()


def export_chunks(
    chunks: LayerChunks,
    layer: str,
    years: Sequence[int],
    fmt: str,
    year: YearSelection = None,
    provenance: Provenance | None = None,
) -> Iterator[str]:
    """Density layer `layer` (its rows `chunks`) as download text, a piece at a time: `fmt` is
    `csv` (long table) or `geojson` (with the build's `provenance` as its `metadata`, if given)."""
    if fmt not in FORMATS:
        raise BuildError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return _csv_chunks(chunks, layer, years, year)
    return _geojson_chunks(chunks, year, download_metadata(provenance, years) if provenance else None)


def export_text(
    frame: gpd.GeoDataFrame,
    layer: str,
    years: Sequence[int],
    fmt: str,
    year: YearSelection = None,
    provenance: Provenance | None = None,
) -> str:
    """`export_chunks` of the whole `frame`, joined."""
    return "".join(export_chunks(whole(frame), layer, years, fmt, year, provenance))
