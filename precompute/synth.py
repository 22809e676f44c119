"""Synthetic Durham incidents for the demo: synthetic locations and dates, real published totals.

For every block group and year the number of violent incidents equals the Neighborhood Compass's
published count (`violent_counts_blockgroup.csv`) exactly. Points are clustered around a few
hotspots inside their block group, in the part of it that no other block group overlaps, so that
the build assigns each to its own block group. Non-violent incidents (property, drugs, other) are
added so that classification matters. The output follows the Durham Police open-data export.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

DURHAM_DATA_DIR = Path(__file__).parent / "data" / "durham"
DURHAM_BLOCKGROUPS = DURHAM_DATA_DIR / "blockgroups.geojson"
DURHAM_COUNTS = DURHAM_DATA_DIR / "violent_counts_blockgroup.csv"
DEFAULT_SEED = 2016

COLUMNS = [
    "inci_id",
    "date_rept",
    "date_occu",
    "date_fnd",
    "hour_rept",
    "hour_occu",
    "hour_fnd",
    "dow1",
    "dow2",
    "yearstamp",
    "monthstamp",
    "ucr_code",
    "ucr_type_o",
    "chrgdesc",
    "reportedas",
    "csstatus",
    "csstatusdt",
    "big_zone",
    "dist",
    "addtime",
    "reviewdate",
    "strdate",
    "geo_point_2d",
]


@dataclass(frozen=True)
class Offense:
    ucr_code: str
    chrgdesc: str
    part: str
    weight: float


VIOLENT_OFFENSES = (
    Offense("0810", "ASSAULT - SIMPLE", "Part II", 0.50),
    Offense("0820", "ASSAULT ON FEMALE", "Part II", 0.06),
    Offense("0410", "ASSAULT - AGGRAVATED - FIREARM", "Part I", 0.10),
    Offense("0420", "ASSAULT - AGGRAVATED - KNIFE/CUTTING", "Part I", 0.06),
    Offense("0440", "ASSAULT - AGGRAVATED - HANDS/FISTS", "Part I", 0.05),
    Offense("0310", "ROBBERY - INDIVIDUAL", "Part I", 0.10),
    Offense("0320", "ROBBERY - BUSINESS", "Part I", 0.04),
    Offense("1710", "SEX OFFENSE - FONDLING", "Part II", 0.03),
    Offense("0210", "RAPE - FORCIBLE", "Part I", 0.025),
    Offense("2010", "CHILD ABUSE", "Part II", 0.015),
    Offense("2610", "KIDNAPPING", "Part II", 0.01),
    Offense("0110", "HOMICIDE - MURDER", "Part I", 0.005),
)
NON_VIOLENT_OFFENSES = (
    Offense("0610", "LARCENY - FROM MOTOR VEHICLE", "Part I", 0.14),
    Offense("0620", "LARCENY - SHOPLIFTING", "Part I", 0.12),
    Offense("0690", "LARCENY - ALL OTHER", "Part I", 0.12),
    Offense("0510", "BURGLARY - FORCIBLE ENTRY", "Part I", 0.10),
    Offense("0520", "BURGLARY - NON-FORCIBLE ENTRY", "Part I", 0.04),
    Offense("0710", "MOTOR VEHICLE THEFT", "Part I", 0.05),
    Offense("1410", "VANDALISM - DAMAGE TO PROPERTY", "Part II", 0.12),
    Offense("1810", "DRUGS - POSSESSION", "Part II", 0.10),
    Offense("1820", "DRUGS - SALE/MANUFACTURE", "Part II", 0.03),
    Offense("1010", "FRAUD - FALSE PRETENSE", "Part II", 0.05),
    Offense("0910", "FORGERY AND COUNTERFEITING", "Part II", 0.01),
    Offense("1510", "WEAPONS - CARRYING CONCEALED", "Part II", 0.02),
    Offense("2410", "DISORDERLY CONDUCT", "Part II", 0.02),
    Offense("2620", "TRESPASS", "Part II", 0.06),
    Offense("2690", "ALL OTHER OFFENSES", "Part II", 0.02),
)
HOUR_WEIGHTS = np.array([5, 4, 4, 3, 2, 2, 2, 3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 7, 7, 8, 8, 8, 7, 6], dtype=float)
WEEKDAYS = np.array(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])
STATUSES = np.array(["Cleared by Arrest", "Inactive", "Open", "Exceptionally Cleared"])
ZONES = np.array(["D1", "D2", "D3", "D4", "D5"])
EXCLUSIVE_MARGIN_DEG = 1e-5
"""Points keep this far (about 1 m) from any other block group, so edges are never ambiguous."""


def load_published_counts(path: Path = DURHAM_COUNTS) -> pd.DataFrame:
    """Published violent counts, wide: index `id` (GEOID text), one int column per year
    (`2012`...). An empty cell means no data and is taken as 0."""
    table = pd.read_csv(path, dtype={"id": str}).set_index("id")
    table.columns = [int(column.removeprefix("y_")) for column in table.columns]
    return table.fillna(0).astype(int)


def exclusive_regions(blockgroups: gpd.GeoDataFrame) -> list[shapely.Geometry]:
    """Each block group minus every other one (overlaps of the simplified geometry removed),
    shrunk by a small margin when that leaves something."""
    geometries = blockgroups.geometry.to_numpy()
    tree = shapely.STRtree(geometries)
    regions = []
    for i, geometry in enumerate(geometries):
        others = [j for j in tree.query(geometry) if j != i]
        own = geometry.difference(shapely.union_all(geometries[others])) if others else geometry
        shrunk = own.buffer(-EXCLUSIVE_MARGIN_DEG)
        regions.append(shrunk if not shrunk.is_empty else own)
    return regions


def points_in(region: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` lon/lat points inside `region`: 75% around 1-4 hotspots, 25% spread evenly."""
    shapely.prepare(region)
    west, south, east, north = region.bounds
    spread = 0.18 * max(east - west, north - south)
    hotspots = _uniform_in(region, 1 + rng.poisson(1.5), rng)
    found: list[np.ndarray] = []
    needed = count
    while needed > 0:
        batch = max(4 * needed, 64)
        centres = hotspots[rng.integers(0, len(hotspots), batch)]
        clustered = centres + rng.normal(0.0, spread, (batch, 2))
        uniform = np.column_stack([rng.uniform(west, east, batch), rng.uniform(south, north, batch)])
        candidates = np.where((rng.random(batch) < 0.75)[:, None], clustered, uniform)
        inside = candidates[shapely.contains_xy(region, candidates[:, 0], candidates[:, 1])]
        found.append(inside[:needed])
        needed -= len(found[-1])
    return np.concatenate(found) if found else np.empty((0, 2))


def _uniform_in(region: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    west, south, east, north = region.bounds
    found = np.empty((0, 2))
    while len(found) < count:
        candidates = np.column_stack([rng.uniform(west, east, 256), rng.uniform(south, north, 256)])
        found = np.concatenate([found, candidates[shapely.contains_xy(region, candidates[:, 0], candidates[:, 1])]])
    return found[:count]


def report_dates(year: int, count: int, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Report dates within `year`, a little more frequent in summer (peak mid-July)."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    weights = 1.0 + 0.2 * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 196) / 365.25)
    return days[rng.choice(len(days), size=count, p=weights / weights.sum())]


def _offenses(table: tuple[Offense, ...], count: int, rng: np.random.Generator) -> list[Offense]:
    weights = np.array([offense.weight for offense in table])
    return [table[i] for i in rng.choice(len(table), size=count, p=weights / weights.sum())]


def generate_incidents(
    blockgroups: gpd.GeoDataFrame,
    published_counts: pd.DataFrame,
    seed: int = DEFAULT_SEED,
    non_violent_ratio: float = 1.8,
) -> pd.DataFrame:
    """Incidents in the Durham export layout (`COLUMNS`), sorted by report date.

    `published_counts` is `load_published_counts()`'s table; every block group it lists must
    be in `blockgroups` (column `id`, EPSG:4326).
    """
    rng = np.random.default_rng(seed)
    by_id = blockgroups.set_index("id")
    regions = dict(zip(by_id.index, exclusive_regions(by_id.reset_index()), strict=True))
    years = list(published_counts.columns)
    weights = published_counts.sum(axis=1).to_numpy() + 2.0
    non_violent = {
        year: rng.multinomial(round(non_violent_ratio * published_counts[year].sum()), weights / weights.sum()) for year in years
    }
    parts = []
    for position, (geoid, violent_counts) in enumerate(published_counts.iterrows()):
        for year in years:
            violent_n, other_n = int(violent_counts[year]), int(non_violent[year][position])
            offenses = _offenses(VIOLENT_OFFENSES, violent_n, rng) + _offenses(NON_VIOLENT_OFFENSES, other_n, rng)
            if offenses:
                parts.append(_incident_rows(regions[geoid], year, offenses, rng))
    frame = pd.concat(parts, ignore_index=True).sort_values(["date_rept", "hour_rept"], kind="stable", ignore_index=True)
    frame["inci_id"] = [f"{10_000_000 + i:08d}" for i in range(len(frame))]
    return frame[COLUMNS]


def _incident_rows(region: shapely.Geometry, year: int, offenses: list[Offense], rng: np.random.Generator) -> pd.DataFrame:
    count = len(offenses)
    points = points_in(region, count, rng)
    reported = report_dates(year, count, rng)
    occurred = reported - pd.to_timedelta(np.minimum(rng.geometric(0.6, count) - 1, 30), unit="D")
    hour_occu = rng.choice(24, size=count, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    hour_rept = (hour_occu + rng.integers(0, 3, count)) % 24
    status = STATUSES[rng.choice(len(STATUSES), size=count, p=[0.3, 0.35, 0.3, 0.05])]
    return pd.DataFrame(
        {
            "inci_id": "",
            "date_rept": reported.strftime("%Y-%m-%d"),
            "date_occu": occurred.strftime("%Y-%m-%d"),
            "date_fnd": occurred.strftime("%Y-%m-%d"),
            "hour_rept": [f"{h:02d}00" for h in hour_rept],
            "hour_occu": [f"{h:02d}00" for h in hour_occu],
            "hour_fnd": [f"{h:02d}00" for h in hour_occu],
            "dow1": WEEKDAYS[occurred.day_of_week],
            "dow2": WEEKDAYS[reported.day_of_week],
            "yearstamp": reported.year,
            "monthstamp": reported.month,
            "ucr_code": [o.ucr_code for o in offenses],
            "ucr_type_o": [o.part for o in offenses],
            "chrgdesc": [o.chrgdesc for o in offenses],
            "reportedas": [o.chrgdesc for o in offenses],
            "csstatus": status,
            "csstatusdt": reported.strftime("%Y-%m-%d"),
            "big_zone": ZONES[rng.integers(0, len(ZONES), count)],
            "dist": rng.integers(211, 535, count),
            "addtime": reported.strftime("%Y-%m-%dT%H:%M:%S"),
            "reviewdate": "",
            "strdate": reported.strftime("%m/%d/%Y"),
            "geo_point_2d": [f"{lat:.7f}, {lon:.7f}" for lon, lat in points],
        }
    )


def generate_durham_incidents(
    blockgroups_path: Path = DURHAM_BLOCKGROUPS,
    counts_path: Path = DURHAM_COUNTS,
    seed: int = DEFAULT_SEED,
    non_violent_ratio: float = 1.8,
) -> pd.DataFrame:
    """`generate_incidents` on the bundled Durham block groups and published counts."""
    return generate_incidents(gpd.read_file(blockgroups_path), load_published_counts(counts_path), seed, non_violent_ratio)


def write_incidents_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the CSV atomically: a temporary file in the same directory, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            frame.to_csv(stream, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
