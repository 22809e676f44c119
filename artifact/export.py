"""Density layers as downloads: the long CSV table and GeoJSON. Pure functions on frames, written
a chunk of the layer at a time (`LayerChunks`) so that a server never holds a layer whole.

`year` selects what to export everywhere here: None = every year, an int = that year,
`"all"` = only the all-years values (average per year). A GeoJSON download carries the build's
provenance in a foreign member, `metadata` (title, attribution, caveat, sources, years, units); a
CSV download is the bare table, for any program to read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from crimetiles.artifact.errors import BuildError, InvalidYear
from crimetiles.artifact.fields import ALL_YEARS, AREA, COUNT, ID, NAME, YEAR_FIELDS, year_field
from crimetiles.artifact.manifest import Provenance

if TYPE_CHECKING:  # annotations only: the server imports this module for `parse_year` (see `long_table`)
    import geopandas as gpd
    import pandas as pd

LONG_COLUMNS = ["layer", ID, NAME, "year", COUNT, AREA, *YEAR_FIELDS[1:]]
"""A withheld count's row has empty count, density and interval, and `suppressed` true."""
YearSelection = int | Literal["all"] | None
FORMATS = ("csv", "geojson")
LayerChunks = Callable[[Sequence[str] | None], Iterable["pd.DataFrame"]]
"""A density layer's rows, chunk after chunk in file order, each time it is called: the columns
named, or every column with the geometry (a GeoDataFrame) for None."""


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


def _year_rows(frame: pd.DataFrame, layer: str, y: int | None) -> pd.DataFrame:
    """The long table's rows of one year (None: all years), `LONG_COLUMNS`."""
    import pandas as pd  # here, not at the top: see `long_table`

    source = _columns_for(y)
    rows = {
        "layer": layer,
        ID: frame[ID].to_numpy(),
        NAME: frame[NAME].to_numpy(),
        "year": ALL_YEARS if y is None else str(y),
        AREA: frame[AREA].to_numpy(),
        **{column: frame[field].array for column, field in source.items()},
    }
    return pd.DataFrame(rows, index=pd.RangeIndex(len(frame)))[LONG_COLUMNS]


def long_table(frame: gpd.GeoDataFrame, layer: str, years: Sequence[int], year: YearSelection = None) -> pd.DataFrame:
    """One row per feature and year plus a `year == "all"` row (average per year); `LONG_COLUMNS`."""
    # Imported here and in `geojson_text`, not at the top: a server imports this module for
    # `parse_year`, and pandas and geopandas (about 140 MB resident) only for a download.
    import pandas as pd

    parts = [_year_rows(frame, layer, y) for y in _selected_years(years, year)]
    return pd.concat(parts, ignore_index=True)[LONG_COLUMNS]


def _csv_chunks(chunks: LayerChunks, layer: str, years: Sequence[int], year: YearSelection) -> Iterator[str]:
    """The long table as CSV text, year after year and, within a year, chunk after chunk: the rows
    of `long_table`, in its order."""
    import pandas as pd  # here, not at the top: see `long_table`

    header = True
    for y in _selected_years(years, year):
        for chunk in chunks([ID, NAME, AREA, *_columns_for(y).values()]):
            yield _year_rows(chunk, layer, y).to_csv(index=False, header=header)
            header = False
    if header:  # a layer without rows
        yield pd.DataFrame(columns=LONG_COLUMNS).to_csv(index=False)


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


def _geojson_frame(frame: gpd.GeoDataFrame, year: YearSelection) -> gpd.GeoDataFrame:
    """The download's columns of `frame` for `year` (see `geojson_text`), in EPSG:4326."""
    import geopandas as gpd  # here, not at the top: see `long_table`

    if year is not None:
        source = _columns_for(None if year == ALL_YEARS else year)
        frame = gpd.GeoDataFrame(
            {
                ID: frame[ID],
                NAME: frame[NAME],
                "year": str(year),
                AREA: frame[AREA],
                **{column: frame[field] for column, field in source.items()},
            },
            geometry=frame.geometry,
            crs=frame.crs,
        )
    return frame.to_crs(4326)


def _geojson_chunks(chunks: LayerChunks, year: YearSelection, metadata: dict[str, Any] | None) -> Iterator[str]:
    """The FeatureCollection's text (see `geojson_text`), its features a chunk at a time."""
    head: dict[str, Any] = {"type": "FeatureCollection"} | ({"metadata": metadata} if metadata is not None else {})
    yield json.dumps(head, separators=(",", ":"))[:-1] + ',"features":['
    separator = ""
    for chunk in chunks(None):
        features = _geojson_frame(chunk, year).to_geo_dict(drop_id=True)["features"]
        if features:
            yield separator + json.dumps(features, separators=(",", ":"))[1:-1]
            separator = ","
    yield "]}"


def geojson_text(frame: gpd.GeoDataFrame, year: YearSelection = None, metadata: dict[str, Any] | None = None) -> str:
    """The layer as a GeoJSON FeatureCollection (EPSG:4326), with `metadata` as a foreign member.

    Every year: all fields (one column per year). One year or `"all"`: the properties are
    `id, name, year, area_sqmi`, then the count, density, interval and flags without the year
    (`fields.YEAR_FIELDS`). A withheld value is `null`.
    """
    return "".join(_geojson_chunks(whole(frame), year, metadata))


def whole(frame: pd.DataFrame) -> LayerChunks:
    """`frame` as one chunk."""
    return lambda columns: [frame if columns is None else frame[list(columns)]]


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
