"""Counts, areas and densities per polygon and year: pure functions on arrays and frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from crimetiles.artifact.fields import AREA, ID, NAME, count_field, density_field

SQ_M_PER_SQ_MILE = 1609.344**2
FIRST_YEAR = 1900
"""No incident is dated earlier (earlier dates are typos, see `ingest.parse_dates`)."""
YEAR_SLOTS = 1024
AREA_DECIMALS = 6
DENSITY_DECIMALS = 3
_WGS84_ELLIPSOID = Geod(ellps="WGS84")


@dataclass(frozen=True)
class UnitYearCounts:
    """Incidents per unit (a polygon position or an H3 cell integer) and year, listing only the
    pairs that have some: partial counts of chunks add up to the counts of the whole input."""

    unit: np.ndarray
    year: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, unit: np.ndarray, year: np.ndarray) -> UnitYearCounts:
        """One incident per (unit, year) pair given."""
        return cls.total([cls(np.asarray(unit, np.int64), np.asarray(year, np.int64), np.ones(len(unit), np.int64))])

    @classmethod
    def total(cls, parts: Sequence[UnitYearCounts]) -> UnitYearCounts:
        """All `parts` added up, pairs sorted by unit then year."""
        unit = np.concatenate([np.empty(0, np.int64), *(part.unit for part in parts)])
        year = np.concatenate([np.empty(0, np.int64), *(part.year for part in parts)])
        count = np.concatenate([np.empty(0, np.int64), *(part.count for part in parts)])
        units, unit_code = np.unique(unit, return_inverse=True)
        keys, pair = np.unique(unit_code * YEAR_SLOTS + (year - FIRST_YEAR), return_inverse=True)
        return cls(
            units[keys // YEAR_SLOTS],
            keys % YEAR_SLOTS + FIRST_YEAR,
            np.bincount(pair, weights=count, minlength=len(keys)).astype(np.int64),
        )

    def matrix(self, units: np.ndarray, years: Sequence[int]) -> np.ndarray:
        """Counts per unit of `units` (rows, in that order) and year of `years` (columns);
        every counted unit and year must be among them."""
        order = np.argsort(units, kind="stable")
        row = order[np.searchsorted(units, self.unit, sorter=order)]
        column = np.searchsorted(np.asarray(years), self.year)
        counts = np.zeros((len(units), len(years)), dtype=np.int64)
        np.add.at(counts, (row, column), self.count)
        return counts


def geodesic_area_sqmi(polygons: Sequence[shapely.Geometry] | np.ndarray) -> np.ndarray:
    """Area of each lon/lat polygon on the WGS84 ellipsoid, in square miles."""
    oriented = shapely.orient_polygons(np.asarray(polygons, dtype=object))
    square_metres = np.array([abs(_WGS84_ELLIPSOID.geometry_area_perimeter(geom)[0]) for geom in oriented])
    return square_metres / SQ_M_PER_SQ_MILE


def density_frame(
    polygons: gpd.GeoDataFrame,
    counts: np.ndarray,
    years: Sequence[int],
    average_years: int | None = None,
    area: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """The density layer: `id, name, area_sqmi, violent_count, violent_per_sqmi` then per year.

    The all-years density is the average per year: total / `average_years` / area, where
    `average_years` defaults to the number of `years` (the build passes the span of years covered,
    or the length of `--years`). `area` is `geodesic_area_sqmi` of the polygons, computed here
    unless given (a build computes it on its workers).
    """
    area = geodesic_area_sqmi(polygons.geometry.to_numpy()) if area is None else area
    columns: dict[str, np.ndarray] = {
        ID: polygons[ID].to_numpy(),
        NAME: polygons[NAME].to_numpy(),
        AREA: np.round(area, AREA_DECIMALS),
    }
    total = counts.sum(axis=1)
    columns[count_field()] = total
    columns[density_field()] = _density(total / max(average_years or len(years), 1), area)
    for i, year in enumerate(years):
        columns[count_field(year)] = counts[:, i]
        columns[density_field(year)] = _density(counts[:, i], area)
    return gpd.GeoDataFrame(columns, geometry=polygons.geometry.to_numpy(), crs=polygons.crs)


def _density(count: np.ndarray, area_sqmi: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area_sqmi > 0, count / area_sqmi, 0.0)
    return np.round(density, DENSITY_DECIMALS)


def quantile_breaks(frames: Sequence[pd.DataFrame], years: Sequence[int], classes: int = 5) -> tuple[float, ...]:
    """Lower bounds of classes 2..`classes`: quantiles of every positive density of `frames`,
    all features and years pooled (so a colour means the same in every year and, for the hex grid,
    at every resolution). Class 1 starts just above 0; 0 is a class of its own."""
    values = np.concatenate([frame[density_field(y)].to_numpy() for frame in frames for y in [*years, None]])
    positive = values[values > 0]
    if positive.size == 0:
        return ()
    quantiles = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:-1])
    return tuple(float(v) for v in np.unique(_round_significant(quantiles)))


def _round_significant(values: np.ndarray, digits: int = 2) -> np.ndarray:
    """Legend-friendly values: 2 significant digits (123.4 -> 120, 0.0345 -> 0.035)."""
    magnitude = np.floor(np.log10(np.abs(values)))
    scale = 10 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale
