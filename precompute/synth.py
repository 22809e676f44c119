"""Synthetic Durham incidents for the demo: synthetic locations and dates, real published totals.

For every block group and year the number of violent incidents (by the year of `date_rept`)
equals the Neighborhood Compass's published count (`violent_counts_blockgroup.csv`) exactly.
Points cluster around a few hotspots per block group (fixed across years) over a uniform
background, inside the part of the block group that no other block group covers, shrunk by about
1 m, so that any point-in-polygon assignment puts each in its own block group. Non-violent
incidents (property, drugs, other) are added so that classification matters. Rows follow the
Durham Police open-data export (`COLUMNS`). Everything is drawn from one seeded generator: the
same seed gives the same CSV byte for byte.

The demo is two agencies' exports (`split_agencies`): the city police (`COLUMNS`) and a county
sheriff (`SHERIFF_COLUMNS`, another layout) share every block group's incidents, each numbering
its own (so the same ids occur in both): only together do they give the published counts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from crimetiles.precompute.errors import InputError

DURHAM_DATA_DIR = Path(__file__).parent / "data" / "durham"
DURHAM_BLOCKGROUPS = DURHAM_DATA_DIR / "blockgroups.geojson"
DURHAM_COUNTS = DURHAM_DATA_DIR / "violent_counts_blockgroup.csv"
DEFAULT_SEED = 2016
DEFAULT_NON_VIOLENT_RATIO = 1.8

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


POLICE_EXPORT = "durham_police"
SHERIFF_EXPORT = "durham_sheriff"
"""The demo's two sources, as file stems: `crimetiles synth` writes `<name>.csv` for each."""
SHERIFF_COLUMNS = [
    "Case Number",
    "Agency",
    "Report Date",
    "Occurred Date",
    "UCR Code",
    "Offense Description",
    "Disposition",
    "Latitude",
    "Longitude",
]
SHERIFF_AGENCY = "DURHAM COUNTY SHERIFF"
SHERIFF_SHARE = (0.05, 0.6)
"""The sheriff's share of incidents at the centre of the county's incidents and at the farthest
one, growing linearly with distance in between: the sheriff patrols mostly outside the city."""
SPLIT_STREAM = 1
"""The split draws from its own generator (seeded with the seed and this), so the police-layout
incidents `generate_incidents` gives do not depend on it."""


@dataclass(frozen=True)
class Offense:
    """One charge of the export: 4-digit UCR code, charge text, UCR part, relative frequency."""

    ucr_code: str
    chrgdesc: str
    part: str
    weight: float


VIOLENT_OFFENSES = (
    Offense("0810", "ASSAULT - SIMPLE", "Part II", 0.48),
    Offense("0820", "ASSAULT ON FEMALE", "Part II", 0.07),
    Offense("0410", "ASSAULT - AGGRAVATED - FIREARM", "Part I", 0.10),
    Offense("0420", "ASSAULT - AGGRAVATED - KNIFE/CUTTING", "Part I", 0.06),
    Offense("0440", "ASSAULT - AGGRAVATED - HANDS/FISTS", "Part I", 0.05),
    Offense("0310", "ROBBERY - INDIVIDUAL", "Part I", 0.10),
    Offense("0320", "ROBBERY - BUSINESS", "Part I", 0.04),
    Offense("1710", "SEX OFFENSE - FONDLING", "Part II", 0.03),
    Offense("0210", "RAPE - FORCIBLE", "Part I", 0.025),
    Offense("2010", "CHILD ABUSE", "Part II", 0.015),
    Offense("2610", "KIDNAPPING", "Part II", 0.01),
    Offense("0110", "HOMICIDE - MURDER", "Part I", 0.008),
)
NON_VIOLENT_OFFENSES = (
    Offense("0610", "LARCENY - FROM MOTOR VEHICLE", "Part I", 0.14),
    Offense("0620", "LARCENY - SHOPLIFTING", "Part I", 0.12),
    Offense("0690", "LARCENY - ALL OTHER", "Part I", 0.12),
    Offense("0510", "BURGLARY - FORCIBLE ENTRY", "Part I", 0.10),
    Offense("0520", "BURGLARY - NON-FORCIBLE ENTRY", "Part I", 0.04),
    Offense("0710", "MOTOR VEHICLE THEFT", "Part I", 0.05),
    Offense("1410", "VANDALISM - DAMAGE TO PROPERTY", "Part II", 0.12),
    Offense("1010", "FRAUD - FALSE PRETENSE", "Part II", 0.05),
    Offense("0910", "FORGERY AND COUNTERFEITING", "Part II", 0.01),
    Offense("1210", "STOLEN PROPERTY - POSSESSION", "Part II", 0.01),
    Offense("1310", "ARSON", "Part I", 0.005),
    Offense("1810", "DRUGS - POSSESSION", "Part II", 0.10),
    Offense("1820", "DRUGS - SALE/MANUFACTURE", "Part II", 0.03),
    Offense("1510", "WEAPONS - CARRYING CONCEALED", "Part II", 0.02),
    Offense("2110", "DRIVING WHILE IMPAIRED", "Part II", 0.03),
    Offense("2410", "DISORDERLY CONDUCT", "Part II", 0.02),
    Offense("2620", "TRESPASS", "Part II", 0.06),
    Offense("2690", "ALL OTHER OFFENSES", "Part II", 0.02),
)

OCCURRENCE_HOUR_WEIGHTS = np.array([6, 5, 4, 3, 2, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9, 9, 9, 8, 7], dtype=float)
"""Relative frequency of the hour of occurrence, 0-23: low in the early morning, peak 19-21 h."""
LATE_REPORT_HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2, 2, 1], dtype=float)
"""Relative frequency of the report hour when the report comes a day or more after the offense."""
WEEKDAY_WEIGHTS = np.array([1.0, 0.97, 0.97, 0.98, 1.06, 1.1, 1.04])
"""Relative frequency of the report day, Monday to Sunday: a little more at weekends."""
SUMMER_AMPLITUDE = 0.2
"""Seasonality: day weight 1 + 0.2 cos(...), peak mid-July (day 196), trough mid-January."""
WEEKDAYS = np.array(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])
STATUSES = np.array(["Cleared by Arrest", "Inactive", "Open", "Exceptionally Cleared"])
STATUS_WEIGHTS = np.array([0.3, 0.35, 0.3, 0.05])
POLICE_DISTRICTS = 5
"""Durham Police districts D1-D5; a block group's district is its sector around the study area's centre."""
OCCURRENCE_LAG_P = 0.6
"""Days from offense to report are geometric: 60 % reported the same day, 24 % the next..."""
MAX_OCCURRENCE_LAG_DAYS = 7

EXCLUSIVE_MARGIN_DEG = 1e-5
"""Points keep this far (degrees, about 1 m) from any other block group, so edges are never ambiguous."""
COORDINATE_DECIMALS = 7
"""Decimals of `geo_point_2d` (about 1 cm); points are tested for containment after rounding."""
HOTSPOT_SHARE = 0.8
"""Share of incidents around a hotspot; the rest are spread evenly over the block group."""
MEAN_EXTRA_HOTSPOTS = 1.5
MAX_HOTSPOTS = 5
HOTSPOT_SPREAD = (0.02, 0.1)
"""Range of a hotspot's Gaussian standard deviation, as a fraction of its block group's extent."""
MAX_SAMPLING_ROUNDS = 10_000


def load_published_counts(path: Path | str = DURHAM_COUNTS) -> pd.DataFrame:
    """Published violent incident counts, wide: index `id` (GEOID text), one int64 column per year
    (`2012`, ... from `y_2012`, ...), values >= 0.

    An empty cell (no published figure) is taken as 0 incidents. Raises `InputError` for a missing
    file, a missing `id` or `y_<year>` column, or a value that is not a non-negative integer.
    """
    try:
        table = pd.read_csv(path, dtype={"id": str})
    except FileNotFoundError:
        raise InputError(path, "published counts file not found") from None
    year_columns = [column for column in table.columns if column.startswith("y_") and column[2:].isdigit()]
    if "id" not in table.columns or not year_columns:
        raise InputError(path, "published counts need an `id` column and `y_<year>` columns")
    counts = table.set_index("id")[year_columns].apply(pd.to_numeric, errors="coerce").fillna(0)
    if (counts < 0).any().any() or (counts % 1 != 0).any().any():
        raise InputError(path, "published counts must be non-negative integers")
    counts.columns = [int(column[2:]) for column in year_columns]
    return counts.astype("int64")


def exclusive_regions(geometries: np.ndarray) -> np.ndarray:
    """Each polygon minus every other one, shrunk by `EXCLUSIVE_MARGIN_DEG` when that leaves
    something (else unshrunk): where a point belongs to that polygon and to no other."""
    tree = shapely.STRtree(geometries)
    regions = np.empty(len(geometries), dtype=object)
    for i, geometry in enumerate(geometries):
        others = geometries[[j for j in tree.query(geometry) if j != i]]
        own = geometry.difference(shapely.union_all(others)) if len(others) else geometry
        shrunk = own.buffer(-EXCLUSIVE_MARGIN_DEG)
        regions[i] = shrunk if shrunk.area > 0 else own
    shapely.prepare(regions)
    return regions


def sample_inside(regions: np.ndarray, owner: np.ndarray, propose: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Rejection sampling: lon/lat points (n x 2, rounded to `COORDINATE_DECIMALS`), point `i`
    strictly inside `regions[owner[i]]`. `propose(rows)` gives candidates for the rows still
    unplaced; all rows are tested at once per round."""
    points = np.empty((len(owner), 2))
    pending = np.arange(len(owner))
    for _ in range(MAX_SAMPLING_ROUNDS):
        if len(pending) == 0:
            return points
        candidates = np.round(propose(pending), COORDINATE_DECIMALS)
        inside = shapely.contains_xy(regions[owner[pending]], candidates[:, 0], candidates[:, 1])
        points[pending[inside]] = candidates[inside]
        pending = pending[~inside]
    raise InputError("block groups", f"could not place points inside block group #{owner[pending[0]]}")


def uniform_points(regions: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points spread evenly over their region (lon/lat, n x 2)."""
    bounds = shapely.bounds(regions)

    def propose(rows: np.ndarray) -> np.ndarray:
        west, south, east, north = bounds[owner[rows]].T
        return np.column_stack([rng.uniform(west, east), rng.uniform(south, north)])

    return sample_inside(regions, owner, propose)


@dataclass(frozen=True)
class Hotspots:
    """Hotspot centres of all regions, grouped by region: `owner[h]` is hotspot `h`'s region,
    `centre` lon/lat, `spread` its Gaussian standard deviation (degrees), `cumulative` the
    region index plus the running share of its region's incidents (last of each region = index + 1)."""

    owner: np.ndarray
    centre: np.ndarray
    spread: np.ndarray
    cumulative: np.ndarray

    def pick(self, region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One hotspot index per entry of `region`, drawn by the hotspots' shares."""
        return np.searchsorted(self.cumulative, region + rng.random(len(region)), side="right")


def draw_hotspots(regions: np.ndarray, used: np.ndarray, rng: np.random.Generator) -> Hotspots:
    """1-`MAX_HOTSPOTS` hotspots (on average 2.5) in each region of `used` (sorted indices), with
    random shares and spreads; the same hotspots serve every year."""
    per_region = 1 + np.minimum(rng.poisson(MEAN_EXTRA_HOTSPOTS, len(used)), MAX_HOTSPOTS - 1)
    owner = np.repeat(used, per_region)
    centre = uniform_points(regions, owner, rng)
    west, south, east, north = shapely.bounds(regions[owner]).T
    spread = np.maximum(east - west, north - south) * rng.uniform(*HOTSPOT_SPREAD, len(owner))
    share = rng.gamma(1.0, size=len(owner))
    starts = np.concatenate([[0], np.cumsum(per_region)[:-1]])
    running = np.cumsum(share) - np.repeat(np.cumsum(share)[starts] - share[starts], per_region)
    totals = np.repeat(np.add.reduceat(share, starts), per_region)
    within = running / totals
    within[np.cumsum(per_region) - 1] = 1.0
    return Hotspots(owner, centre, spread, owner + within)


def clustered_points(regions: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points in their region (lon/lat, n x 2): `HOTSPOT_SHARE` around hotspots (Gaussian,
    truncated to the region), the rest spread evenly."""
    if len(owner) == 0:
        return np.empty((0, 2))
    hotspots = draw_hotspots(regions, np.unique(owner), rng)
    around_hotspot = rng.random(len(owner)) < HOTSPOT_SHARE
    points = np.empty((len(owner), 2))
    points[~around_hotspot] = uniform_points(regions, owner[~around_hotspot], rng)
    chosen = hotspots.pick(owner[around_hotspot], rng)
    centre, spread = hotspots.centre[chosen], hotspots.spread[chosen]

    def propose(rows: np.ndarray) -> np.ndarray:
        return centre[rows] + rng.normal(0.0, 1.0, (len(rows), 2)) * spread[rows, None]

    points[around_hotspot] = sample_inside(regions, owner[around_hotspot], propose)
    return points


def report_dates(years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One report date (`datetime64[D]`) per entry of `years`, within that year, more frequent in
    summer and at weekends."""
    dates = np.empty(len(years), dtype="datetime64[D]")
    for year in np.unique(years):
        days = np.arange(f"{year}-01-01", f"{year + 1}-01-01", dtype="datetime64[D]")
        day_of_year = np.arange(len(days))
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
        weights = (1.0 + SUMMER_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - 195) / 365.25)) * WEEKDAY_WEIGHTS[weekday]
        rows = np.flatnonzero(years == year)
        dates[rows] = days[rng.choice(len(days), size=len(rows), p=weights / weights.sum())]
    return dates


def draw_offenses(table: tuple[Offense, ...], count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` indices into `table`, drawn by the offenses' weights."""
    weights = np.array([offense.weight for offense in table])
    return rng.choice(len(table), size=count, p=weights / weights.sum())


def incident_rows(
    published: np.ndarray, has_area: np.ndarray, non_violent_ratio: float, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Per incident: region index, year column index, violent or not.

    `published` is regions x years violent counts. Non-violent incidents number
    `non_violent_ratio` times the violent ones each year, spread over the regions with an area
    (`has_area`) in proportion to their violent total plus a quarter of the mean (so quiet block
    groups get some too).
    """
    regions, years = np.indices(published.shape)
    violent_owner, violent_year = np.repeat(regions.ravel(), published.ravel()), np.repeat(years.ravel(), published.ravel())
    weights = (published.sum(axis=1) + 0.25 * max(published.sum(axis=1).mean(), 1.0)) * has_area
    other = np.column_stack(
        [
            rng.multinomial(round(non_violent_ratio * published[:, year].sum()), weights / weights.sum())
            for year in range(published.shape[1])
        ]
    )
    other_owner, other_year = np.repeat(regions.ravel(), other.ravel()), np.repeat(years.ravel(), other.ravel())
    violent = np.concatenate([np.ones(len(violent_owner), bool), np.zeros(len(other_owner), bool)])
    return np.concatenate([violent_owner, other_owner]), np.concatenate([violent_year, other_year]), violent


def police_districts(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plausible `big_zone` ("D1"-"D5", sectors around the study area's centre) and `dist` (a
    3-digit beat, zone digit first, numbered outwards) per block group."""
    centroids = shapely.get_coordinates(shapely.centroid(geometries))
    offset = centroids - centroids.mean(axis=0)
    zone = 1 + (
        np.floor((np.arctan2(offset[:, 1], offset[:, 0]) + np.pi) / (2 * np.pi) * POLICE_DISTRICTS).astype(int) % POLICE_DISTRICTS
    )
    distance = np.hypot(offset[:, 0], offset[:, 1])
    rank = np.empty(len(zone), dtype=int)
    for z in np.unique(zone):
        members = np.flatnonzero(zone == z)
        rank[members[np.argsort(distance[members], kind="stable")]] = np.arange(len(members))
    return np.char.add("D", zone.astype(str)), 100 * zone + 11 + rank % 89


def _iso(dates: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(dates, unit="D")


def generate_incidents(
    blockgroups: gpd.GeoDataFrame,
    published_counts: pd.DataFrame,
    seed: int = DEFAULT_SEED,
    non_violent_ratio: float = DEFAULT_NON_VIOLENT_RATIO,
) -> pd.DataFrame:
    """Incidents in the Durham export layout (`COLUMNS`, all text but the int hours, year and
    month), sorted by report date and hour.

    `blockgroups` has an `id` column and polygons (lon/lat; reprojected to EPSG:4326 if it has
    another CRS). `published_counts` is `load_published_counts()`'s wide table; each of its ids
    must be in `blockgroups`. For each block group and year, exactly that many violent incidents
    lie inside it (and in no other block group) with `date_rept` in that year. Raises `InputError`
    if a block group with a positive count is missing or has no area of its own.
    """
    if blockgroups.crs is not None and not blockgroups.crs.equals("EPSG:4326"):
        blockgroups = blockgroups.to_crs("EPSG:4326")
    ids = blockgroups["id"].astype(str).to_numpy()
    missing = published_counts.index.difference(pd.Index(ids))
    if len(missing):
        raise InputError("block groups", f"{len(missing)} published block group(s) missing, e.g. {missing[0]}")
    geometries = shapely.make_valid(blockgroups.geometry.to_numpy())
    published = published_counts.reindex(ids, fill_value=0).to_numpy(dtype="int64")
    regions = exclusive_regions(geometries)
    has_area = shapely.area(regions) > 0
    empty = np.flatnonzero(~has_area & (published.sum(axis=1) > 0))
    if len(empty):
        raise InputError("block groups", f"block group {ids[empty[0]]} has published incidents but no area of its own")

    rng = np.random.default_rng(seed)
    owner, year_index, violent = incident_rows(published, has_area, non_violent_ratio, rng)
    years = np.asarray(published_counts.columns, dtype=int)[year_index]
    offense = np.where(
        violent,
        draw_offenses(VIOLENT_OFFENSES, len(owner), rng),
        len(VIOLENT_OFFENSES) + draw_offenses(NON_VIOLENT_OFFENSES, len(owner), rng),
    )
    points = clustered_points(regions, owner, rng)
    frame = _export_columns(owner, years, offense, points, police_districts(geometries), rng)
    frame = frame.sort_values("addtime", kind="stable", ignore_index=True)
    frame["inci_id"] = _incident_ids(frame["yearstamp"].to_numpy())
    return frame[COLUMNS]


def _incident_ids(years: np.ndarray) -> np.ndarray:
    """8-digit ids: 2-digit report year, then a 6-digit running number within that year."""
    number = np.arange(len(years)) - np.searchsorted(years, years) + 1
    return np.array([f"{year % 100:02d}{n:06d}" for year, n in zip(years, number, strict=True)], dtype=object)


def _export_columns(
    owner: np.ndarray,
    years: np.ndarray,
    offense: np.ndarray,
    points: np.ndarray,
    districts: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    count = len(owner)
    offenses = VIOLENT_OFFENSES + NON_VIOLENT_OFFENSES
    reported = report_dates(years, rng)
    lag = np.minimum(rng.geometric(OCCURRENCE_LAG_P, count) - 1, MAX_OCCURRENCE_LAG_DAYS)
    occurred = reported - lag
    hour_occu = rng.choice(24, size=count, p=OCCURRENCE_HOUR_WEIGHTS / OCCURRENCE_HOUR_WEIGHTS.sum())
    late_hour = rng.choice(24, size=count, p=LATE_REPORT_HOUR_WEIGHTS / LATE_REPORT_HOUR_WEIGHTS.sum())
    hour_rept = np.where(lag == 0, np.minimum(hour_occu + rng.geometric(0.5, count) - 1, 23), late_hour)
    minute = rng.integers(0, 60, count)
    status_date = reported + np.minimum(rng.exponential(20.0, count).astype(int), 180)
    big_zone, dist = districts
    return pd.DataFrame(
        {
            "inci_id": "",
            "date_rept": _iso(reported),
            "date_occu": _iso(occurred),
            "date_fnd": _iso(occurred),
            "hour_rept": hour_rept,
            "hour_occu": hour_occu,
            "hour_fnd": hour_occu,
            "dow1": WEEKDAYS[(occurred.astype("int64") + 3) % 7],
            "dow2": WEEKDAYS[(reported.astype("int64") + 3) % 7],
            "yearstamp": years,
            "monthstamp": reported.astype("datetime64[M]").astype(int) % 12 + 1,
            "ucr_code": np.array([o.ucr_code for o in offenses])[offense],
            "ucr_type_o": np.array([o.part for o in offenses])[offense],
            "chrgdesc": np.array([o.chrgdesc for o in offenses])[offense],
            "reportedas": np.array([o.chrgdesc for o in offenses])[offense],
            "csstatus": STATUSES[rng.choice(len(STATUSES), size=count, p=STATUS_WEIGHTS)],
            "csstatusdt": _iso(status_date),
            "big_zone": big_zone[owner],
            "dist": dist[owner],
            "addtime": [f"{d}T{h:02d}:{m:02d}:00" for d, h, m in zip(_iso(reported), hour_rept, minute, strict=True)],
            "reviewdate": "",
            "strdate": [f"{d[5:7]}/{d[8:10]}/{d[:4]}" for d in _iso(reported)],
            "geo_point_2d": [f"{lat:.{COORDINATE_DECIMALS}f}, {lon:.{COORDINATE_DECIMALS}f}" for lon, lat in points],
        }
    )


def generate_durham_incidents(
    blockgroups_path: Path = DURHAM_BLOCKGROUPS,
    counts_path: Path = DURHAM_COUNTS,
    seed: int = DEFAULT_SEED,
    non_violent_ratio: float = DEFAULT_NON_VIOLENT_RATIO,
) -> pd.DataFrame:
    """`generate_incidents` on the bundled Durham block groups and published counts."""
    return generate_incidents(gpd.read_file(blockgroups_path), load_published_counts(counts_path), seed, non_violent_ratio)


def split_agencies(frame: pd.DataFrame, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """`generate_incidents`' `frame` as two exports, by file stem: the police's (`COLUMNS`) and
    the sheriff's (`SHERIFF_COLUMNS`). Each incident goes to the sheriff with a probability growing
    with its distance from the centre of all incidents (`SHERIFF_SHARE`), so a block group's
    incidents are split but their total is unchanged. Each agency numbers its incidents as
    `generate_incidents` does (report year, then a running number): the same ids occur in both."""
    rng = np.random.default_rng([seed, SPLIT_STREAM])
    lat, lon = _lat_lon(frame)
    distance = np.hypot(lon - lon.mean(), lat - lat.mean())
    low, high = SHERIFF_SHARE
    to_sheriff = rng.random(len(frame)) < low + (high - low) * distance / max(distance.max(), np.finfo(float).tiny)
    police, sheriff = (_renumbered(frame[rows]) for rows in (~to_sheriff, to_sheriff))
    return {POLICE_EXPORT: police, SHERIFF_EXPORT: sheriff_layout(sheriff)}


def sheriff_layout(frame: pd.DataFrame) -> pd.DataFrame:
    """Incidents of `COLUMNS` in the sheriff's export layout (`SHERIFF_COLUMNS`): US dates with the
    report time, separate latitude and longitude columns."""
    lat, lon = _lat_lon(frame)
    occurred = frame["date_occu"].str
    return pd.DataFrame(
        {
            "Case Number": frame["inci_id"],
            "Agency": SHERIFF_AGENCY,
            "Report Date": frame["strdate"] + " " + frame["addtime"].str[11:16],
            "Occurred Date": occurred[5:7] + "/" + occurred[8:10] + "/" + occurred[:4],
            "UCR Code": frame["ucr_code"],
            "Offense Description": frame["chrgdesc"],
            "Disposition": frame["csstatus"],
            "Latitude": [f"{value:.{COORDINATE_DECIMALS}f}" for value in lat],
            "Longitude": [f"{value:.{COORDINATE_DECIMALS}f}" for value in lon],
        },
        columns=SHERIFF_COLUMNS,
    )


def _lat_lon(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of `geo_point_2d` ("lat, lon")."""
    pairs = frame["geo_point_2d"].str.split(", ", expand=True).to_numpy(dtype=float).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    return frame.assign(inci_id=_incident_ids(frame["yearstamp"].to_numpy()))


def generate_durham_exports(
    blockgroups_path: Path = DURHAM_BLOCKGROUPS,
    counts_path: Path = DURHAM_COUNTS,
    seed: int = DEFAULT_SEED,
    non_violent_ratio: float = DEFAULT_NON_VIOLENT_RATIO,
) -> dict[str, pd.DataFrame]:
    """The demo's two exports (`split_agencies` of `generate_durham_incidents`), by file stem."""
    return split_agencies(generate_durham_incidents(blockgroups_path, counts_path, seed, non_violent_ratio), seed)


def write_exports(exports: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write each export as `folder/<name>.csv` (`write_incidents_csv`); returns the paths."""
    paths = [folder / f"{name}.csv" for name in exports]
    for path, frame in zip(paths, exports.values(), strict=True):
        write_incidents_csv(frame, path)
    return paths


def write_incidents_csv(frame: pd.DataFrame, path: Path | str) -> None:
    """Write the CSV (UTF-8, `\\n` line ends) atomically: a temporary file in the same directory
    (created with the usual umask permissions), then a rename, so a crash leaves the previous
    file or none, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            frame.to_csv(stream, index=False, lineterminator="\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
