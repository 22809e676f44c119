"""The `crimetiles` command: synth, build, export, inspect, serve, demo."""

from __future__ import annotations

import functools
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crimetiles import __version__
from crimetiles.artifact.errors import CrimetilesError
from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.classify import DEFAULT_RULES_PATH
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.hexgrid import DEFAULT_RESOLUTIONS
from crimetiles.precompute.ingest import IncidentColumns
from crimetiles.precompute.report import summary_lines
from crimetiles.precompute.synth import DURHAM_DATA_DIR
from crimetiles.server.cli import serve

DURHAM_DIR = DURHAM_DATA_DIR
DURHAM_BOUNDARIES = (
    f"blockgroups={DURHAM_DIR / 'blockgroups.geojson'}",
    f"tracts={DURHAM_DIR / 'tracts.geojson'}",
    f"neighborhoods={DURHAM_DIR / 'neighborhoods.geojson'}",
)
DEMO_DIR = Path("demo")


def clear_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors and our domain errors (bad build, unknown year...) into one-line CLI errors
    (exit code 1), never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (InputError, CrimetilesError, FileExistsError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="crimetiles")
def main() -> None:
    """Map where policing of violent crime happens: violent crimes per square mile, per
    neighborhood, tract, block group and hex cell, per year, served as vector tiles.

    \b
    Typical run on the bundled Durham data:
      crimetiles synth --out demo/incidents.csv
      crimetiles build demo/incidents.csv --out demo/build
      crimetiles serve demo/build
    or all three at once: crimetiles demo
    """


def _parse_boundary(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise click.BadParameter(f"{text!r}: expected NAME=PATH, e.g. tracts=tracts.geojson", param_hint="--boundaries")
    return name, Path(path)


def _parse_years(text: str | None) -> range | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    try:
        return range(int(first), int(last or first) + 1)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected YEAR or FIRST-LAST, e.g. 2012-2016", param_hint="--years") from None


def _parse_resolutions(text: str) -> tuple[int, ...]:
    try:
        resolutions = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected comma-separated H3 resolutions, e.g. 6,7,8,9", param_hint="--hex-res"
        ) from None
    if any(not 0 <= r <= 15 for r in resolutions):
        raise click.BadParameter("H3 resolutions run from 0 to 15", param_hint="--hex-res")
    return resolutions


@main.command()
@click.argument("incidents", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    help="Build directory to write. Replaced atomically: a failed build leaves the previous one intact.",
)
@click.option(
    "--boundaries",
    "-b",
    multiple=True,
    default=DURHAM_BOUNDARIES,
    metavar="NAME=PATH",
    help="A named polygon layer (any OGR format with a CRS). Repeat for several. "
    "Default: the bundled Durham block groups, tracts and neighborhoods.",
    show_default=False,
)
@click.option("--id-field", default="id", help="Boundary field holding the feature id.")
@click.option(
    "--name-field", default=None, help="Boundary field holding the display name. Default: `label`, else `name`, else the id."
)
@click.option(
    "--lat-col",
    default=None,
    help='Incident column with latitude (with --lon-col). Default: a point geometry, else `geo_point_2d` ("lat, lon").',
)
@click.option("--lon-col", default=None, help="Incident column with longitude (with --lat-col). Default: as for --lat-col.")
@click.option(
    "--date-col", default="date_rept", help="Incident column whose date decides the year (ISO 8601 or e.g. 03/01/2014)."
)
@click.option("--offense-col", default="ucr_code", help="Incident column matched against the classification patterns.")
@click.option(
    "--id-col", default="inci_id", help="Incident id column; repeated ids are rejected as duplicates. Pass '' for none."
)
@click.option(
    "--classification",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"Offense rules CSV (pattern,category,offense). Default: the bundled Compass definition ({DEFAULT_RULES_PATH.name}).",
)
@click.option(
    "--hex-res",
    default=",".join(map(str, DEFAULT_RESOLUTIONS)),
    help="H3 resolutions of the hex grid, comma-separated; '' for no hex grid. Resolution r is drawn at zooms 2r-4 and 2r-3.",
)
@click.option(
    "--years",
    default=None,
    metavar="FIRST-LAST",
    help="Keep only these years (others are rejected and reported). Default: every year in the data.",
)
@click.option(
    "--maxzoom",
    default=14,
    type=click.IntRange(0, 22),
    help="Data max zoom (TileJSON maxzoom): geometry is exact from here, clients overzoom beyond.",
)
@click.option(
    "--archive-maxzoom",
    default=14,
    type=click.IntRange(-1, 22),
    help="Pre-generate tiles from zoom 0 to this into MBTiles; -1 for none (the server encodes on demand).",
)
@click.option(
    "--classes",
    default=5,
    type=click.IntRange(2, 9),
    help="Legend classes above zero (quantiles over every feature and year of a layer).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary.")
@clear_errors
def build(
    incidents: tuple[Path, ...],
    out: Path,
    boundaries: tuple[str, ...],
    id_field: str,
    name_field: str | None,
    lat_col: str | None,
    lon_col: str | None,
    date_col: str,
    offense_col: str,
    id_col: str,
    classification: Path | None,
    hex_res: str,
    years: str | None,
    maxzoom: int,
    archive_maxzoom: int,
    classes: int,
    quiet: bool,
) -> None:
    """Count violent INCIDENTS per polygon, hex cell and year into a build directory
    (density layers, tile archives, manifest, reject report; see docs/artifact.md).

    INCIDENTS: one or more CSV, GeoJSON, GeoPackage, Shapefile or (Geo)Parquet files. Out of the box
    they are read as Durham Police open-data exports.

    \b
    Example:
      crimetiles build incidents.csv -b wards=wards.shp --id-field WARD --out build
    """
    specs = []
    for text in boundaries:
        name, path = _parse_boundary(text)
        specs.append(BoundarySpec(name, path, id_field, name_field))
    options = BuildOptions(
        incidents=incidents,
        boundaries=tuple(specs),
        out=out,
        columns=IncidentColumns(date=date_col, offense=offense_col, incident_id=id_col or None, lat=lat_col, lon=lon_col),
        classification=classification,
        hex_resolutions=_parse_resolutions(hex_res),
        years=_parse_years(years),
        maxzoom=maxzoom,
        archive_maxzoom=archive_maxzoom,
        classes=classes,
        progress=not quiet,
    )
    say = (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))
    started = time.perf_counter()
    result = run_build(options, say)
    for line in summary_lines(result.report):
        say(line)
    say(f"wrote {out} (build {result.manifest.build_id}) in {time.perf_counter() - started:.1f} s")


@main.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEMO_DIR / "incidents.csv",
    help="CSV file to write (Durham Police export layout).",
)
@click.option("--seed", default=2016, help="Random seed; the same seed gives the same file byte for byte.")
@click.option("--non-violent-ratio", default=1.8, type=click.FloatRange(0), help="Non-violent incidents per violent one.")
@clear_errors
def synth(out: Path, seed: int, non_violent_ratio: float) -> None:
    """Write synthetic Durham incidents whose per-block-group yearly violent counts equal the
    Neighborhood Compass's published counts (2012-2016) exactly.

    The locations and dates are synthetic (points inside their block group, clustered); the totals
    are real. Non-violent incidents are added so that classification matters.
    """
    from crimetiles.precompute.synth import DURHAM_BLOCKGROUPS, DURHAM_COUNTS, generate_durham_incidents, write_incidents_csv

    frame = generate_durham_incidents(DURHAM_BLOCKGROUPS, DURHAM_COUNTS, seed=seed, non_violent_ratio=non_violent_ratio)
    write_incidents_csv(frame, out)
    click.echo(f"wrote {len(frame)} synthetic incidents to {out}", err=True)


@main.command()
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--layer", "-l", required=True, help="Density layer name (see the manifest), e.g. blockgroups, hex8.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["csv", "geojson"]),
    default="csv",
    help="csv: long table layer,id,name,year,violent_count,area_sqmi,violent_per_sqmi (year `all` = average per year); "
    "geojson: polygons with every field.",
)
@click.option("--year", default=None, help="Only this year (or `all`). Default: every year.")
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write. Default: standard output."
)
@clear_errors
def export(build_dir: Path, layer: str, fmt: str, year: str | None, out: Path | None) -> None:
    """Write a density layer of BUILD_DIR for download or analysis."""
    from crimetiles.artifact.export import export_text, parse_year
    from crimetiles.artifact.reader import open_build

    opened = open_build(build_dir)
    years = opened.manifest.years
    text = export_text(opened.layer_frame(layer), layer, years, fmt, parse_year(year, years))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@main.command()
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("tile", metavar="Z/X/Y")
@click.option("--tileset", "-t", default="blockgroups", help="Tileset to decode.")
@clear_errors
def inspect(build_dir: Path, tile: str, tileset: str) -> None:
    """Print a decoded tile of BUILD_DIR as JSON (like tippecanoe-decode): from the archive if it
    holds the tile, else encoded on the fly exactly as the server would."""
    import mapbox_vector_tile
    import mercantile

    from crimetiles.artifact.mvt import layer_tiler
    from crimetiles.artifact.reader import open_build

    try:
        z, x, y = (int(part) for part in tile.split("/"))
    except ValueError:
        raise click.BadParameter(f"{tile!r}: expected Z/X/Y, e.g. 12/1143/1606", param_hint="TILE") from None
    opened = open_build(build_dir)
    if tileset not in opened.manifest.tilesets:
        raise click.BadParameter(f"{tileset!r}: tilesets are {', '.join(opened.manifest.tilesets)}", param_hint="--tileset")
    spec = opened.manifest.tilesets[tileset]
    stored = opened.archive_tiles(tileset).get((z, x, y))
    if stored is not None:
        data: bytes | None = gzip.decompress(stored)
    else:
        layer = spec.band_for_zoom(z).layer
        data = layer_tiler(tileset, opened.layer_frame(layer), spec.maxzoom).encode(mercantile.Tile(x, y, z))
    decoded = mapbox_vector_tile.decode(data) if data else {}
    click.echo(json.dumps(decoded, indent=1, default=str))


@main.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DIR,
    help="Where to write the demo incidents (incidents.csv) and build (build/).",
)
@click.option("--host", default="127.0.0.1", help="Interface to serve on.")
@click.option("--port", default=8000, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--rebuild", is_flag=True, help="Regenerate the incidents and rebuild even if a demo build exists.")
@click.pass_context
def demo(ctx: click.Context, demo_dir: Path, host: str, port: int, rebuild: bool) -> None:
    """Synthesize the Durham incidents, build them and serve the map: the whole demo in one command."""
    incidents, build_dir = demo_dir / "incidents.csv", demo_dir / "build"
    if rebuild or not incidents.is_file():
        ctx.invoke(synth, out=incidents)
    if rebuild or not (build_dir / "manifest.json").is_file():
        ctx.invoke(build, incidents=(incidents,), out=build_dir)
    serve.main([str(build_dir), "--host", host, "--port", str(port)], prog_name="crimetiles serve")


main.add_command(serve)

if __name__ == "__main__":
    main()
