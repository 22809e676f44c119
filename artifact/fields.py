"""The per-feature fields of every density layer, tile and export, with their meaning."""

from __future__ import annotations

from collections.abc import Iterable

ID = "id"
NAME = "name"
AREA = "area_sqmi"
COUNT = "violent_count"
DENSITY = "violent_per_sqmi"
LOW = "violent_per_sqmi_low"
HIGH = "violent_per_sqmi_high"
UNSTABLE = "unstable"
SUPPRESSED = "suppressed"
ALL_YEARS = "all"
"""The `year` value of the all-years row in long exports."""
STRING = "String"
NUMBER = "Number"
BOOLEAN = "Boolean"
"""Field types as the MBTiles 1.3 spec names them (`vector_layers[].fields` values)."""


def year_field(base: str, year: int | None = None) -> str:
    """A per-year field's name: `base` for all years together, `base_2016` for one year."""
    return base if year is None else f"{base}_{year}"


def count_field(year: int | None = None) -> str:
    """`violent_count` for all years together, `violent_count_2016` for one year."""
    return year_field(COUNT, year)


def density_field(year: int | None = None) -> str:
    """`violent_per_sqmi` (all years, average per year), `violent_per_sqmi_2016` for one year."""
    return year_field(DENSITY, year)


def low_field(year: int | None = None) -> str:
    """`violent_per_sqmi_low`, `violent_per_sqmi_low_2016`: the 95 % interval's lower bound."""
    return year_field(LOW, year)


def high_field(year: int | None = None) -> str:
    """`violent_per_sqmi_high`, `violent_per_sqmi_high_2016`: the 95 % interval's upper bound."""
    return year_field(HIGH, year)


def unstable_field(year: int | None = None) -> str:
    """`unstable`, `unstable_2016`: the count is below the build's `--unstable-below`."""
    return year_field(UNSTABLE, year)


def suppressed_field(year: int | None = None) -> str:
    """`suppressed`, `suppressed_2016`: the count, density and interval are withheld."""
    return year_field(SUPPRESSED, year)


YEAR_FIELDS = (COUNT, DENSITY, LOW, HIGH, UNSTABLE, SUPPRESSED)
"""The fields given for all years and for each year, in their column order."""
FLAGS = (UNSTABLE, SUPPRESSED)


def _year_descriptions(year: int | None) -> dict[str, str]:
    when = "all years together (total)" if year is None else f"in {year}"
    rate = "per year, averaged over all years" if year is None else f"in {year}"
    return {
        count_field(year): f"Violent incidents reported by police, {when}; missing when withheld",
        density_field(year): f"Violent crimes per square mile {rate}; missing when withheld",
        low_field(year): f"Lower bound of the exact (Garwood) 95 % Poisson interval of {density_field(year)}",
        high_field(year): f"Upper bound of the exact (Garwood) 95 % Poisson interval of {density_field(year)}",
        unstable_field(year): f"True when {count_field(year)} is below the build's unstable threshold, or withheld",
        suppressed_field(year): f"True when {count_field(year)} and its density are withheld (fewer than the build's floor)",
    }


def feature_fields(years: Iterable[int]) -> dict[str, str]:
    """Field name -> description, in the column order of density layers and tiles."""
    fields = {
        ID: "Feature id (GEOID, neighborhood id or H3 cell index)",
        NAME: "Display name (the id when the source has no name)",
        AREA: "Total geodesic area of the polygon, square miles",
    }
    for year in [None, *years]:
        fields |= _year_descriptions(year)
    return fields


def feature_field_types(years: Iterable[int]) -> dict[str, str]:
    """Field name -> MBTiles 1.3 type (`String`, `Number` or `Boolean`), in the order of
    `feature_fields`. Counts and densities alike are `Number`: the spec has no integer type
    (tilestats tell them apart)."""
    return {name: _field_type(name) for name in feature_fields(years)}


def _field_type(name: str) -> str:
    if name in (ID, NAME):
        return STRING
    return BOOLEAN if any(name == flag or name.startswith(f"{flag}_") for flag in FLAGS) else NUMBER
