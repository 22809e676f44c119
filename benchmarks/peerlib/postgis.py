"""PostGIS as a tile encoder: a throwaway PostgreSQL cluster on loopback, one density layer loaded,
tiles made with `ST_AsMVT(ST_AsMVTGeom(...))` with the same simplification, buffer and extent as ours."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import mercantile
import pandas as pd
import pandas.api.types as ptypes
import shapely

from peerlib.demo import EXACT_ZOOM
from peerlib.procs import free_port

if TYPE_CHECKING:
    import psycopg

WEB_MERCATOR_WORLD_M = 2 * math.pi * 6378137.0
EXTENT = 4096
BUFFER = 64

TILE_QUERY = """
WITH envelope AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {margin}) AS padded
), drawn AS (
    SELECT CASE WHEN %(z)s < {exact_zoom} THEN ST_SimplifyPreserveTopology(t.geom, %(tolerance)s) ELSE t.geom END AS geom,
           {columns}
    FROM {table} t, envelope WHERE t.geom && envelope.padded
), features AS (
    SELECT ST_AsMVTGeom(drawn.geom, envelope.tile, {extent}, {buffer}, true) AS geom, {drawn_columns}
    FROM drawn, envelope WHERE ST_Intersects(drawn.geom, envelope.padded)
)
SELECT ST_AsMVT(features.*, '{layer}', {extent}, 'geom') FROM features
"""


def tile_unit_m(zoom: int) -> float:
    """One tile unit at `zoom` in Web Mercator metres: the simplification tolerance below EXACT_ZOOM."""
    return WEB_MERCATOR_WORLD_M / 2**zoom / EXTENT


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster: its directory (removed on exit), port and the postmaster's pid."""

    directory: Path
    port: int
    pid: int

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"


@contextlib.contextmanager
def throwaway_cluster(bin_dir: Path) -> Iterator[Cluster]:
    """initdb + pg_ctl start on loopback, as the `postgres` user when we are root (PostgreSQL refuses
    to run as root); stopped and deleted on exit, whatever happens."""
    directory = Path(tempfile.mkdtemp(prefix="crimetiles-bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = directory / "data", free_port()
    try:
        subprocess.run(
            [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Cluster(directory, port, pid)
    finally:
        if (data / "postmaster.pid").exists():
            stop = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(stop, capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


class PostgisTiles:
    """One density layer in a PostGIS table (EPSG:3857, GiST index) and its tile query."""

    def __init__(self, conninfo: str, layer: str, frame: gpd.GeoDataFrame) -> None:
        import psycopg  # the `bench` extra: only this contender needs it

        self.connection = psycopg.connect(conninfo, autocommit=True)
        self.connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        columns = [name for name in frame.columns if name != frame.geometry.name]
        _load(self.connection, layer, frame, columns)
        self.query = TILE_QUERY.format(
            margin=BUFFER / EXTENT,
            exact_zoom=EXACT_ZOOM,
            columns=_column_list(columns, "t."),
            drawn_columns=_column_list(columns, "drawn."),
            table=f'"{layer}"',
            extent=EXTENT,
            buffer=BUFFER,
            layer=layer,
        )

    def version(self) -> str:
        return self.connection.execute("SELECT postgis_full_version()").fetchone()[0]

    def tile(self, tile: mercantile.Tile) -> bytes:
        """The uncompressed MVT bytes of `tile` (b'' when no feature touches it)."""
        row = self.connection.execute(
            self.query, {"z": tile.z, "x": tile.x, "y": tile.y, "tolerance": tile_unit_m(tile.z)}
        ).fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""

    def close(self) -> None:
        self.connection.close()


def _column_list(columns: list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{name}"' for name in columns)


def _load(connection: psycopg.Connection, layer: str, frame: gpd.GeoDataFrame, columns: list[str]) -> None:
    """Create and fill the table: geometry as EWKB in EPSG:3857 (the same transform crimetiles applies),
    properties with their SQL types, through COPY."""
    definitions = ", ".join(f'"{name}" {_sql_type(frame[name])}' for name in columns)
    connection.execute(f'CREATE TABLE "{layer}" (geom geometry(Geometry, 3857), {definitions})')
    mercator = shapely.set_srid(frame.geometry.to_crs("EPSG:3857").to_numpy(), 3857)
    geometries = shapely.to_wkb(mercator, hex=True, include_srid=True)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{layer}" (geom, {_column_list(columns)}) FROM STDIN') as copy:
        for geometry, values in zip(geometries, frame[columns].itertuples(index=False), strict=True):
            copy.write_row([geometry, *values])
    connection.execute(f'CREATE INDEX ON "{layer}" USING gist (geom)')
    connection.execute(f'ANALYZE "{layer}"')


def _sql_type(column: pd.Series) -> str:
    if ptypes.is_bool_dtype(column):
        return "boolean"
    if ptypes.is_integer_dtype(column):
        return "bigint"
    if ptypes.is_float_dtype(column):
        return "double precision"
    return "text"
