"""The per-feature fields of every density layer, tile and export, with their meaning."""

from __future__ import annotations

from collections.abc import Iterable

ID = "id"
NAME = "name"
AREA = "area_sqmi"
COUNT = "violent_count"
DENSITY = "violent_per_sqmi"
ALL_YEARS = "all"
"""The `year` value of the all-years row in long exports."""
STRING = "String"
NUMBER = "Number"
"""Field types as the MBTiles 1.3 spec names them (`vector_layers[].fields` values)."""


def count_field(year: int | None = None) -> str:
    """`violent_count` for all years together, `violent_count_2016` for one year."""
    return COUNT if year is None else f"{COUNT}_{year}"


def density_field(year: int | None = None) -> str:
    """`violent_per_sqmi` (all years, average per year), `violent_per_sqmi_2016` for one year."""
    return DENSITY if year is None else f"{DENSITY}_{year}"


def feature_fields(years: Iterable[int]) -> dict[str, str]:
    """Field name -> description, in the column order of density layers and tiles."""
    fields = {
        ID: "Feature id (GEOID, neighborhood id or H3 cell index)",
        NAME: "Display name (the id when the source has no name)",
        AREA: "Total geodesic area of the polygon, square miles",
        COUNT: "Violent incidents reported by police, all years together (total)",
        DENSITY: "Violent crimes per square mile per year, averaged over all years",
    }
    for year in years:
        fields[count_field(year)] = f"Violent incidents reported by police in {year}"
        fields[density_field(year)] = f"Violent crimes per square mile in {year}"
    return fields


def feature_field_types(years: Iterable[int]) -> dict[str, str]:
    """Field name -> MBTiles 1.3 type (`String` or `Number`), in the order of `feature_fields`.
    Counts and densities alike are `Number`: the spec has no integer type (tilestats tell them apart)."""
    return {name: STRING if name in (ID, NAME) else NUMBER for name in feature_fields(years)}
