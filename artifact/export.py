"""Density layers as downloads: the long CSV table and GeoJSON. Pure functions on frames.

`year` selects what to export everywhere here: None = every year, an int = that year,
`"all"` = only the all-years values (average per year). A GeoJSON download carries the build's
provenance in a foreign member, `metadata` (title, attribution, caveat, sources, years, units); a
CSV download is the bare table, for any program to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def long_table(frame: gpd.GeoDataFrame, layer: str, years: Sequence[int], year: YearSelection = None) -> pd.DataFrame:
    """One row per feature and year plus a `year == "all"` row (average per year); `LONG_COLUMNS`."""
    # Imported here and in `geojson_text`, not at the top: a server imports this module for
    # `parse_year`, and pandas and geopandas (about 140 MB resident) only for a download.
    import pandas as pd

    selected: list[int | None] = [*years, None] if year is None else [None if year == ALL_YEARS else year]
    parts = []
    for y in selected:
        source = _columns_for(y)
        parts.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    ID: frame[ID].to_numpy(),
                    NAME: frame[NAME].to_numpy(),
                    "year": ALL_YEARS if y is None else str(y),
                    AREA: frame[AREA].to_numpy(),
                    **{column: frame[field].array for column, field in source.items()},
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[LONG_COLUMNS]


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


def geojson_text(frame: gpd.GeoDataFrame, year: YearSelection = None, metadata: dict[str, Any] | None = None) -> str:
    """The layer as a GeoJSON FeatureCollection (EPSG:4326), with `metadata` as a foreign member.

    Every year: all fields (one column per year). One year or `"all"`: the properties are
    `id, name, year, area_sqmi`, then the count, density, interval and flags without the year
    (`fields.YEAR_FIELDS`). A withheld value is `null`.
    """
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
    collection = frame.to_crs(4326).to_geo_dict(drop_id=True)
    if metadata is not None:
        collection = {"type": collection["type"], "metadata": metadata, "features": collection["features"]}
    return json.dumps(collection, separators=(",", ":"))


def export_text(
    frame: gpd.GeoDataFrame,
    layer: str,
    years: Sequence[int],
    fmt: str,
    year: YearSelection = None,
    provenance: Provenance | None = None,
) -> str:
    """Density layer `layer` as download text: `fmt` is `csv` (long table) or `geojson` (with the
    build's `provenance` as its `metadata`, if given)."""
    if fmt not in FORMATS:
        raise BuildError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return long_table(frame, layer, years, year).to_csv(index=False)
    return geojson_text(frame, year, download_metadata(provenance, years) if provenance else None)
