"""Density layers as downloads: the long CSV table and GeoJSON. Pure functions on frames."""
from __future__ import annotations

import json
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from artifact.fields import ALL_YEARS, AREA, COUNT, DENSITY, ID, NAME, count_field, density_field

LONG_COLUMNS = ["layer", ID, NAME, "year", COUNT, AREA, DENSITY]


def long_table(frame: gpd.GeoDataFrame, layer: str, years: Sequence[int], year: int | None = None) -> pd.DataFrame:
    """One row per feature and year, plus a `year == "all"` row (average per year).

    With `year`, only that year's rows; the columns are `LONG_COLUMNS` either way.
    """
    selected: list[int | None] = [year] if year is not None else [*years, None]
    parts = [
        pd.DataFrame(
            {
                "layer": layer,
                ID: frame[ID].to_numpy(),
                NAME: frame[NAME].to_numpy(),
                "year": str(y) if y is not None else ALL_YEARS,
                COUNT: frame[count_field(y)].to_numpy(),
                AREA: frame[AREA].to_numpy(),
                DENSITY: frame[density_field(y)].to_numpy(),
            }
        )
        for y in selected
    ]
    return pd.concat(parts, ignore_index=True)[LONG_COLUMNS]


def geojson_text(frame: gpd.GeoDataFrame, year: int | None = None) -> str:
    """The layer as a GeoJSON FeatureCollection (EPSG:4326).

    Without `year` every field is kept (wide: one column per year); with `year` the properties are
    `id, name, year, area_sqmi, violent_count, violent_per_sqmi` for that year.
    """
    if year is not None:
        frame = gpd.GeoDataFrame(
            {
                ID: frame[ID],
                NAME: frame[NAME],
                "year": year,
                AREA: frame[AREA],
                COUNT: frame[count_field(year)],
                DENSITY: frame[density_field(year)],
            },
            geometry=frame.geometry,
            crs=frame.crs,
        )
    return json.dumps(json.loads(frame.to_crs(4326).to_json(drop_id=True)), separators=(",", ":"))
