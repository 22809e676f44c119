"""Counts, areas and densities per polygon and year, with how sure each density is and which
counts are withheld: pure functions on arrays and frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from scipy.special import gammaincinv

from crimetiles.artifact.fields import (
    AREA,
    ID,
    NAME,
    count_field,
    density_field,
    high_field,
    low_field,
    suppressed_field,
    unstable_field,
)

SQ_M_PER_SQ_MILE = 1609.344**2
FIRST_YEAR = 1900
"""No incident is dated earlier (earlier dates are typos, see `ingest.parse_dates`)."""
YEAR_SLOTS = 1024
DENSE_PAIRS = 1 << 20
"""Most (unit, year) pairs `UnitYearCounts.of` counts in a table rather than by sorting."""
AREA_DECIMALS = 6
DENSITY_DECIMALS = 3
INTERVAL_LEVEL = 0.95
INTERVAL_DIGITS = 4
"""Significant digits of an interval's bounds, rounded outward (the published interval holds the exact one)."""
DEFAULT_UNSTABLE_BELOW = 20
"""Counts below this make a density `unstable` (WISQARS marks rates from 20 or fewer events, NCHS
calls fewer than 20 unreliable: the interval is then wider than about 90 % of the rate)."""
DEFAULT_HEX_SUPPRESS_BELOW = 3
"""The hex grids' privacy floor: a cell of 1 or 2 incidents can point at one address; 3 is also the
smallest floor under which "fewer than K, and not 0" does not name the count (with 2 it is 1)."""
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
        """One incident per (unit, year) pair given. Polygon positions are counted in a table of
        every (unit, year) (`np.bincount`), in one pass; H3 cells, too many for a table, by sorting."""
        unit, year = np.asarray(unit, np.int64), np.asarray(year, np.int64)
        if len(unit) and unit.min() >= 0:
            first, span = int(year.min()), int(year.max() - year.min()) + 1
            if (int(unit.max()) + 1) * span <= DENSE_PAIRS:
                counts = np.bincount(unit * span + (year - first))
                pair = np.flatnonzero(counts)
                return cls(pair // span, pair % span + first, counts[pair].astype(np.int64))
        return cls.total([cls(unit, year, np.ones(len(unit), np.int64))])

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


@dataclass(frozen=True)
class Disclosure:
    """What a layer's numbers say about their reliability and which counts they withhold.

    A count of an area and year is withheld when it is above 0 and below `suppress_below` (0 is
    published: it names nobody); its density and interval with it. A total that holds a withheld
    count is withheld when subtracting the published counts from it could recover one (see
    `sum_reveals`); an area's all-years values are withheld whenever one of its years is.
    """

    unstable_below: int = DEFAULT_UNSTABLE_BELOW
    suppress_below: int = 0

    def __post_init__(self) -> None:
        if self.suppress_below == 2:
            raise ValueError("a floor of 2 withholds only counts of 1, which 'fewer than 2, not 0' names; use 0 or 3 and up")

    def withheld(self, counts: np.ndarray) -> np.ndarray:
        """Whether each count is withheld."""
        return (counts > 0) & (counts < self.suppress_below)

    def sum_reveals(self, counts: np.ndarray, withheld: np.ndarray) -> np.ndarray:
        """For each column of `counts` (areas x years), with the counts `withheld` there: whether the
        column's total minus its published counts pins a withheld count down (`groups_reveal` of one
        group, every area)."""
        everyone = np.zeros(len(counts), dtype=np.int64)
        return self.groups_reveal(counts, withheld, counts.sum(axis=0, keepdims=True), everyone)[0]

    def groups_reveal(self, counts: np.ndarray, withheld: np.ndarray, totals: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Groups of areas whose totals a reader knows (`totals`, groups x years: a larger area's
        count, or the study area's; `group` gives each area's row there, -1 for none): for each group
        and year, whether its total minus its published counts, the sum of its withheld counts, pins
        one of them down. It does when one count is withheld, or when every withheld count is below
        the floor (`withheld(counts)`: 1 to the floor - 1) and the sum is their least or their most.
        A count withheld for another reason (a complement, `nesting`) may be anything from 0:
        beside one, a count below the floor is pinned only when the sum is at most their number
        (each of them 1, the complements 0). The sum is the reader's: where larger areas do not
        hold their parts' incidents exactly (H3 cells), it is not the true one."""
        primary = self.withheld(counts)
        inside = group >= 0
        published_sum, number, others = (np.zeros(totals.shape, dtype=np.int64) for _ in range(3))
        np.add.at(published_sum, group[inside], np.where(withheld, 0, counts)[inside])
        np.add.at(number, group[inside], withheld[inside].astype(np.int64))
        np.add.at(others, group[inside], (withheld & ~primary)[inside].astype(np.int64))
        hidden_sum = totals - published_sum
        below_floor = number - others
        at_an_end = (hidden_sum == number) | (hidden_sum == number * (self.suppress_below - 1))
        alone_or_at_an_end = (number == 1) | ((number > 1) & at_an_end)
        return np.where(others == 0, alone_or_at_an_end, (below_floor > 0) & (hidden_sum <= below_floor))


def poisson_interval(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood) 95 % interval of the mean of a Poisson count: chi-square quantiles,
    `chi2.ppf(0.025, 2k) / 2` (0 for k = 0) and `chi2.ppf(0.975, 2k + 2) / 2`, computed as the
    inverse regularised gamma function that scipy's `chi2.ppf` itself calls (the same doubles;
    `scipy.stats` takes half a second to import in every build worker)."""
    count = np.asarray(count, dtype=np.float64)
    tail = (1 - INTERVAL_LEVEL) / 2
    low = np.where(count > 0, gammaincinv(np.maximum(count, 1), tail), 0.0)
    return low, gammaincinv(count + 1, 1 - tail)


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
    disclosure: Disclosure = Disclosure(),
    withheld: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """The density layer: `id, name, area_sqmi`, then for all years and for each year the count,
    density, its 95 % interval and the `unstable` and `suppressed` flags (`artifact.fields`).

    The all-years density is the average per year: total / `average_years` / area, where
    `average_years` defaults to the number of `years` (the build passes the span of years covered,
    or the length of `--years`); its interval is the total's divided the same way. `area` is
    `geodesic_area_sqmi` of the polygons, computed here unless given (a build computes it on its
    workers). Withheld values are missing (counts are nullable integers): those of `withheld`
    (areas x years) if given, else those `disclosure` withholds.
    """
    area = geodesic_area_sqmi(polygons.geometry.to_numpy()) if area is None else area
    columns: dict[str, np.ndarray] = {
        ID: polygons[ID].to_numpy(),
        NAME: polygons[NAME].to_numpy(),
        AREA: np.round(area, AREA_DECIMALS),
    }
    withheld = disclosure.withheld(counts) if withheld is None else withheld
    divisor = area * max(average_years or len(years), 1)
    columns |= _year_columns(None, counts.sum(axis=1), divisor, withheld.any(axis=1), disclosure)
    for i, year in enumerate(years):
        columns |= _year_columns(year, counts[:, i], area, withheld[:, i], disclosure)
    return gpd.GeoDataFrame(columns, geometry=polygons.geometry.to_numpy(), crs=polygons.crs)


def _year_columns(
    year: int | None, count: np.ndarray, divisor: np.ndarray, withheld: np.ndarray, disclosure: Disclosure
) -> dict[str, object]:
    """The columns of one year (None: all years): `count` / `divisor` (square miles, times the
    years averaged over) with its interval, missing where `withheld`."""
    low, high = density_interval(count, divisor)
    return {
        count_field(year): _nullable(count, withheld),
        density_field(year): np.where(withheld, np.nan, density_of(count, divisor)),
        low_field(year): np.where(withheld, np.nan, low),
        high_field(year): np.where(withheld, np.nan, high),
        unstable_field(year): withheld | (count < disclosure.unstable_below),
        suppressed_field(year): withheld,
    }


def density_interval(count: np.ndarray, divisor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % interval of the density `count` / `divisor` (`poisson_interval` of the count,
    divided), each bound rounded outward to INTERVAL_DIGITS significant digits."""
    low, high = poisson_interval(count)
    return _rounded_outward(_per(low, divisor), np.floor), _rounded_outward(_per(high, divisor), np.ceil)


def _nullable(count: np.ndarray, withheld: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """`count` as nullable integers, missing where `withheld`."""
    values = pd.array(count, dtype="Int64")
    values[withheld] = pd.NA
    return values


def _per(value: np.ndarray, divisor: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(divisor > 0, value / divisor, 0.0)


def density_of(count: np.ndarray, divisor: np.ndarray) -> np.ndarray:
    """`count` / `divisor` (square miles, times any years averaged over), rounded to DENSITY_DECIMALS; 0 for no area."""
    return np.round(_per(count, divisor), DENSITY_DECIMALS)


def _rounded_outward(values: np.ndarray, direction: np.ufunc) -> np.ndarray:
    """`values` to INTERVAL_DIGITS significant digits, rounded by `direction` (np.floor for a lower
    bound, np.ceil for an upper one); 0 stays 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
        scale = 10.0 ** (INTERVAL_DIGITS - 1 - magnitude)
        return np.where(values > 0, direction(values * scale) / scale, 0.0)


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
