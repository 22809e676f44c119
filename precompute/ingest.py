"""Read and validate incidents and boundaries; every rejected row is kept with its reason.

Incidents: CSV, GeoJSON, GeoPackage, Shapefile (any OGR format) or (Geo)Parquet. Coordinates come
from `--lat-col/--lon-col`, else a point geometry, else the Durham `geo_point_2d` ("lat, lon").
Boundaries: any OGR polygon layer with a declared CRS, reprojected to EPSG:4326.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from crimetiles.precompute.classify import Classifier
from crimetiles.precompute.errors import InputError

WGS84 = "EPSG:4326"
DURHAM_POINT_COLUMN = "geo_point_2d"


class Reason:
    """Why an incident row was rejected (the `reason` column of rejects.csv)."""

    COORDINATES = "unparseable coordinates"
    DATE = "missing or unparseable date"
    OFFENSE = "unknown offense"
    DUPLICATE = "duplicate incident id"
    OUTSIDE = "outside all boundaries"
    YEAR = "year outside --years"


@dataclass(frozen=True)
class IncidentColumns:
    """Which input columns hold what. `lat`/`lon` win over a geometry, which wins over `point`."""

    date: str = "date_rept"
    offense: str = "ucr_code"
    incident_id: str | None = "inci_id"
    lat: str | None = None
    lon: str | None = None
    point: str = DURHAM_POINT_COLUMN


@dataclass
class Incidents:
    """Validated incident rows of one input, and the rejected ones with their reasons.

    `rows` has columns `row` (1-based data row), `incident_id`, `lon`, `lat`, `year`,
    `category`, `offense`; `rejects` has `source,row,reason,detail,incident_id`.
    """

    source: str
    rows_read: int
    rows: pd.DataFrame
    rejects: pd.DataFrame
    unknown_offenses: dict[str, int] = field(default_factory=dict)

    def reject(self, mask: np.ndarray, reason: str, detail: pd.Series | str = "") -> None:
        """Move the rows where `mask` is true from `rows` to `rejects`, with `reason`."""
        if not mask.any():
            return
        dropped = self.rows[mask]
        details = detail[mask] if isinstance(detail, pd.Series) else detail
        self.rejects = pd.concat(
            [self.rejects, _reject_rows(self.source, dropped["row"], reason, details, dropped["incident_id"])],
            ignore_index=True,
        )
        self.rows = self.rows[~mask].reset_index(drop=True)


def _reject_rows(source: str, rows: pd.Series, reason: str, detail: pd.Series | str, ids: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": source,
            "row": rows.to_numpy(),
            "reason": reason,
            "detail": detail.to_numpy() if isinstance(detail, pd.Series) else detail,
            "incident_id": ids.to_numpy(),
        }
    )


def read_table(path: Path) -> pd.DataFrame:
    """Any supported incident file as a frame of text columns, plus `geometry` if it has one."""
    if not path.is_file():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".geoparquet"):
            return _read_parquet(path)
        return pyogrio.read_dataframe(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"malformed CSV ({str(exc).strip()})") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise InputError(path, f"cannot read ({str(exc).strip()})") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError:
        return pd.read_parquet(path)


def read_incidents(path: Path, columns: IncidentColumns, classifier: Classifier, years: range | None = None) -> Incidents:
    """Read, parse and classify one incident file. Rows failing a check are rejected, in order:
    coordinates, date, year filter, offense, duplicate id (the first occurrence is kept)."""
    table = read_table(path)
    _require_columns(path, table, columns)
    lon, lat, coordinate_text = _coordinates(path, table, columns)
    dates = parse_dates(table[columns.date])
    ids = table[columns.incident_id].astype(str).str.strip() if columns.incident_id else pd.Series("", index=table.index)
    classes = classifier.classify(table[columns.offense])
    incidents = Incidents(
        source=str(path),
        rows_read=len(table),
        rows=pd.DataFrame(
            {
                "row": np.arange(1, len(table) + 1),
                "incident_id": ids.to_numpy(),
                "lon": lon,
                "lat": lat,
                "year": dates.dt.year.to_numpy(),
                "category": classes["category"].to_numpy(),
                "offense": classes["offense"].to_numpy(),
                "_coordinates": coordinate_text.to_numpy(),
                "_date": table[columns.date].astype(str).to_numpy(),
                "_offense": table[columns.offense].astype(str).str.strip().to_numpy(),
            }
        ),
        rejects=_reject_rows(str(path), pd.Series([], dtype="int64"), "", "", pd.Series([], dtype=str)),
    )
    rows = incidents.rows
    incidents.reject(rows["lon"].isna().to_numpy(), Reason.COORDINATES, rows["_coordinates"])
    rows = incidents.rows
    incidents.reject(rows["year"].isna().to_numpy(), Reason.DATE, rows["_date"])
    if years is not None:
        rows = incidents.rows
        incidents.reject(~rows["year"].isin(years).to_numpy(), Reason.YEAR, rows["year"].astype("Int64").astype(str))
    rows = incidents.rows
    unknown = rows["category"].isna().to_numpy()
    incidents.unknown_offenses = rows.loc[unknown, "_offense"].value_counts().to_dict()
    incidents.reject(unknown, Reason.OFFENSE, rows["_offense"])
    if columns.incident_id:
        rows = incidents.rows
        incidents.reject(rows["incident_id"].duplicated().to_numpy(), Reason.DUPLICATE, rows["incident_id"])
    incidents.rows = incidents.rows.drop(columns=["_coordinates", "_date", "_offense"]).astype({"year": "int64"})
    return incidents


def reject_repeated_ids(sources: list[Incidents]) -> None:
    """Reject rows whose incident id an earlier file already used (overlapping exports): the
    first file that has an incident keeps it."""
    seen: dict[str, str] = {}
    for source in sources:
        ids = source.rows["incident_id"]
        owner = ids.map(lambda incident_id: seen.get(incident_id, ""))
        repeated = (ids != "") & (owner != "")
        source.reject(repeated.to_numpy(), Reason.DUPLICATE, "also in " + owner)
        seen.update(dict.fromkeys(source.rows.loc[source.rows["incident_id"] != "", "incident_id"], source.source))


def _require_columns(path: Path, table: pd.DataFrame, columns: IncidentColumns) -> None:
    wanted = [columns.date, columns.offense, columns.incident_id, columns.lat, columns.lon]
    missing = [name for name in wanted if name and name not in table.columns]
    if missing:
        available = ", ".join(c for c in table.columns if c != "geometry")
        raise InputError(path, f"missing column(s) {', '.join(missing)} (columns: {available})")
    if (columns.lat is None) != (columns.lon is None):
        raise InputError(path, "give both --lat-col and --lon-col, or neither")


def _coordinates(path: Path, table: pd.DataFrame, columns: IncidentColumns) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """lon, lat (NaN where unusable) and the original text, for the reject report."""
    if columns.lat and columns.lon:
        lat_text, lon_text = table[columns.lat].astype(str), table[columns.lon].astype(str)
        return *_valid_lonlat(_numbers(lon_text), _numbers(lat_text)), lat_text + ", " + lon_text
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table.columns:
        return _point_geometry(path, table)
    if columns.point in table.columns:
        text = table[columns.point].astype(str)
        parts = text.str.split(",", n=1, expand=True).reindex(columns=[0, 1])
        return *_valid_lonlat(_numbers(parts[1]), _numbers(parts[0])), text
    raise InputError(path, f"no coordinates: no point geometry, no {columns.point!r} column; pass --lat-col and --lon-col")


def _numbers(text: pd.Series) -> np.ndarray:
    """Text to floats, NaN where it is not a number."""
    return pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=float, copy=True)


def _valid_lonlat(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN where a coordinate is missing, out of range, or the (0, 0) of a failed geocode."""
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90) | ((lon == 0) & (lat == 0))
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


def _point_geometry(path: Path, table: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    if table.crs is None:
        raise InputError(path, "point geometry has no CRS; declare one (e.g. a .prj file) or use --lat-col/--lon-col")
    geometry = table.geometry.to_crs(WGS84)
    kinds = set(geometry[~geometry.is_empty & geometry.notna()].geom_type)
    if kinds - {"Point"}:
        raise InputError(path, f"incident geometries must be points, found {', '.join(sorted(kinds))}")
    points = geometry.to_numpy()
    usable = ~(shapely.is_missing(points) | shapely.is_empty(points))
    lon = np.where(usable, shapely.get_x(points), np.nan)
    lat = np.where(usable, shapely.get_y(points), np.nan)
    text = pd.Series(np.where(usable, shapely.to_wkt(points, rounding_precision=6), "empty geometry"))
    return *_valid_lonlat(lon, lat), text


def parse_dates(text: pd.Series) -> pd.Series:
    """ISO 8601 dates (with or without time) first; other common layouts (e.g. 03/01/2014) second."""
    text = text.astype(str).str.strip()
    dates = pd.to_datetime(text, format="ISO8601", errors="coerce")
    retry = dates.isna() & (text != "")
    if retry.any():
        dates[retry] = pd.to_datetime(text[retry], format="mixed", errors="coerce")
    return dates


@dataclass(frozen=True)
class BoundaryLayer:
    """A named polygon layer in EPSG:4326 with `id` and `name` columns, in file order."""

    name: str
    path: str
    frame: gpd.GeoDataFrame
    warnings: tuple[str, ...]


def read_boundaries(name: str, path: Path, id_field: str = "id", name_field: str | None = None) -> BoundaryLayer:
    """Read a polygon layer; repairs invalid geometries with make_valid and says so in `warnings`."""
    try:
        frame = pyogrio.read_dataframe(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise InputError(path, f"cannot read boundaries ({str(exc).strip()})") from None
    if frame.crs is None:
        raise InputError(path, "boundary file has no CRS; declare one (e.g. a .prj file or GeoJSON)")
    if id_field not in frame.columns:
        raise InputError(
            path, f"no id field {id_field!r} (fields: {', '.join(c for c in frame.columns if c != 'geometry')}); pass --id-field"
        )
    name_field = name_field or next((f for f in ("label", "name") if f in frame.columns), id_field)
    if name_field not in frame.columns:
        raise InputError(path, f"no name field {name_field!r}")
    warnings: list[str] = []
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].to_numpy())
        warnings.append(f"{path}: {int(invalid.sum())} invalid geometries repaired with make_valid")
    frame = frame.to_crs(WGS84)
    polygons = frame.geometry.apply(_polygonal_part)
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon", "GeometryCollection"}:
        raise InputError(path, f"boundaries must be polygons, found {', '.join(sorted(kinds))}")
    ids = frame[id_field].astype(str)
    if ids.duplicated().any():
        raise InputError(path, f"duplicate ids in field {id_field!r}: {', '.join(ids[ids.duplicated()].unique()[:5])}")
    layer = gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "name": frame[name_field].fillna(ids).astype(str).to_numpy()},
        geometry=polygons.to_numpy(),
        crs=WGS84,
    )
    return BoundaryLayer(name=name, path=str(path), frame=layer, warnings=tuple(warnings))


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a repaired geometry (make_valid may add stray lines or points)."""
    if geometry.geom_type != "GeometryCollection":
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)
