"""The `crimetiles` command: synth, build, offenses, export, export-static, inspect, serve, demo."""

from __future__ import annotations

import functools
import gzip
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, get_args

import click

from crimetiles import __version__
from crimetiles.artifact.errors import CrimetilesError
from crimetiles.options import ParsedText, setting_option, settings_of
from crimetiles.precompute.build import BoundarySpec, BuildOptions, ProvenanceOptions, run_build
from crimetiles.precompute.chunks import IncidentSource
from crimetiles.precompute.classify import BUILTIN_RULE_SETS
from crimetiles.precompute.detect import OFFENSE_NAMES, OFFENSE_WORDS, DateKind, IncidentColumns
from crimetiles.precompute.engine import EngineName
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.interrupt import recording_interrupts
from crimetiles.precompute.report import summary_lines
from crimetiles.precompute.synth import DURHAM_DATA_DIR, SHERIFF_EXPORT
from crimetiles.serve import serve, server_option

DURHAM_DIR = DURHAM_DATA_DIR
DURHAM_BOUNDARIES = (
    f"blockgroups={DURHAM_DIR / 'blockgroups.geojson'}",
    f"tracts={DURHAM_DIR / 'tracts.geojson'}",
    f"neighborhoods={DURHAM_DIR / 'neighborhoods.geojson'}",
)
DEMO_DIR = Path("demo")
DEMO_INCIDENTS = DEMO_DIR / "incidents"
DURHAM_DEMO_PROVENANCE = ProvenanceOptions(
    title="Durham violent incidents (demo)",
    attribution="Durham Neighborhood Compass (DataWorks NC)",
    attribution_url="https://github.com/DataWorks-NC/durham-quality-of-life-data",
    about=DURHAM_DIR / "demo_about.md",
    caveat="Demo: synthetic locations, real published totals.",
)
"""What the demo build says about itself (the only build that says "synthetic")."""


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
      crimetiles synth --out demo/incidents
      crimetiles build demo/incidents --out demo/build
      crimetiles serve demo/build
    or all three at once: crimetiles demo
    """


def _either(names: Sequence[str]) -> str:
    """`a, b or c`."""
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _name_and_path(text: str, param_hint: str, example: str) -> tuple[str, Path]:
    """`NAME=PATH` of a repeatable option; a `~` starting PATH is the home directory, as no shell
    expands it there (`-b wards=~/wards.shp` in zsh or sh, `--source police='~/exports/*.csv'` quoted)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise click.BadParameter(f"{text!r}: expected NAME=PATH, e.g. {example}", param_hint=param_hint)
    return name, Path(path).expanduser()


def _parse_source(text: str) -> IncidentSource:
    name, path = _name_and_path(text, "--source", "police='police/*.csv'")
    return IncidentSource(name, (path,))


def _parse_years(text: str) -> range | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    try:
        return range(int(first), int(last or first) + 1)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected YEAR or FIRST-LAST, e.g. 2012-2016", param_hint="--years") from None


def _rules_path(spec: str) -> Path:
    """`--classification`: a built-in set's file, or the given rules file (which must exist)."""
    path = BUILTIN_RULE_SETS.get(spec, Path(spec))
    if not path.is_file():
        raise click.BadParameter(
            f"{spec!r}: not a built-in rule set ({', '.join(BUILTIN_RULE_SETS)}) nor a file", param_hint="--classification"
        )
    return path


def _check_crs(text: str) -> str:
    import pyproj

    try:
        pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        raise click.BadParameter(f"{text!r}: not a CRS pyproj knows; expected e.g. EPSG:2264", param_hint="--crs") from None
    return text


def _check_floor(_: click.Context, param: click.Parameter, value: int) -> int:
    """A floor of 2 would withhold only counts of 1, which 'fewer than 2' (zeros being published) names."""
    if value == 2:
        raise click.BadParameter("2 would withhold only counts of 1, which 'fewer than 2, not 0' names; give 0 or 3 and up")
    return value


def _check_link(ctx: click.Context, param: click.Parameter, text: str | None) -> str | None:
    """A URL other pages follow (a link, a basemap): absolute, or it would be read relative to them."""
    from crimetiles.server.config import is_absolute_http_url

    if not text:
        return None
    if not is_absolute_http_url(text):
        raise click.BadParameter(f"{text!r}: expected an absolute http(s) URL, starting with https://", param=param)
    return text


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
@click.argument("incidents", nargs=-1, type=click.Path(path_type=Path))
@setting_option(BuildOptions, "sources", "--source", multiple=True, metavar="NAME=PATH", type=ParsedText("source", _parse_source))
@setting_option(BuildOptions, "out", "--out", "-o", type=click.Path(file_okay=False, path_type=Path))
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
@setting_option(BoundarySpec, "id_field", "--id-field")
@setting_option(BoundarySpec, "name_field", "--name-field")
@setting_option(IncidentColumns, "lat", "--lat-col")
@setting_option(IncidentColumns, "lon", "--lon-col")
@setting_option(IncidentColumns, "point", "--point-col")
@setting_option(IncidentColumns, "crs", "--crs", metavar="EPSG:NNNN", type=ParsedText("crs", _check_crs))
@setting_option(IncidentColumns, "swap_lat_lon", "--swap-lat-lon", is_flag=True)
@setting_option(IncidentColumns, "date", "--date-col")
@setting_option(IncidentColumns, "date_kind", "--date", type=click.Choice(get_args(DateKind)))
@setting_option(IncidentColumns, "offense", "--offense-col")
@setting_option(IncidentColumns, "incident_id", "--id-col")
@setting_option(
    BuildOptions, "classification", "--classification", metavar="ucr|nibrs|text|PATH", type=ParsedText("rules", _rules_path)
)
@setting_option(BuildOptions, "hex_resolutions", "--hex-res", type=ParsedText("resolutions", _parse_resolutions))
@setting_option(BuildOptions, "years", "--years", metavar="FIRST-LAST", type=ParsedText("years", _parse_years))
@setting_option(BuildOptions, "maxzoom", "--maxzoom", type=click.IntRange(0, 22))
@setting_option(BuildOptions, "archive_maxzoom", "--archive-maxzoom", type=click.IntRange(-1, 22))
@setting_option(BuildOptions, "classes", "--classes", type=click.IntRange(2, 9))
@setting_option(BuildOptions, "engine", "--engine", type=click.Choice(get_args(EngineName)))
@setting_option(BuildOptions, "scheduler", "--scheduler", metavar="ADDRESS")
@setting_option(BuildOptions, "workers", "--workers", type=click.IntRange(1, None))
@setting_option(BuildOptions, "chunk_rows", "--chunk-rows", type=click.IntRange(1000, None))
@setting_option(ProvenanceOptions, "title", "--title")
@setting_option(ProvenanceOptions, "attribution", "--attribution", metavar="TEXT")
@setting_option(ProvenanceOptions, "attribution_url", "--attribution-url", metavar="URL", callback=_check_link)
@setting_option(
    ProvenanceOptions, "about", "--about", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE.md"
)
@setting_option(ProvenanceOptions, "caveat", "--caveat")
@setting_option(BuildOptions, "unstable_below", "--unstable-below", type=click.IntRange(0, None))
@setting_option(BuildOptions, "suppress_below", "--suppress-below", type=click.IntRange(0, None), callback=_check_floor)
@setting_option(BuildOptions, "hex_suppress_below", "--hex-suppress-below", type=click.IntRange(0, None), callback=_check_floor)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary.")
@clear_errors
def build(
    incidents: tuple[Path, ...],
    boundaries: tuple[str, ...],
    id_field: str,
    name_field: str | None,
    quiet: bool,
    **settings: Any,
) -> None:
    """Count violent INCIDENTS per polygon, hex cell and year into a build directory
    (density layers, tile archives, manifest, reject report; see docs/artifact.md).

    INCIDENTS: one or more CSV, GeoJSON, GeoPackage, Shapefile or (Geo)Parquet files, folders of
    them or quoted glob patterns ('parts/*.parquet'). The columns holding the coordinates, date,
    offense and id are detected from their usual names (said on the console and in report.json)
    unless given. Incidents are read in chunks: memory does not grow with their number.

    Each file is a source (an agency's export, named after the file): incident ids are unique
    within a source, never across sources. --source NAME=PATH makes one source of several files
    (and may stand alone or beside INCIDENTS); a file may belong to one source only.

    \b
    Examples:
      crimetiles build incidents.csv -b wards=wards.shp --id-field WARD --out crimetiles-build
      crimetiles build police.csv sheriff.csv          # two agencies, ids numbered apart
      crimetiles build --source police='police/*.csv' --source sheriff=sheriff.csv
      crimetiles build --source all='parts/*.parquet' --engine dask --scheduler tcp://10.0.0.5:8786
      crimetiles build incidents.csv -b wards=wards.shp --title 'Violent incidents, Minneapolis' \\
        --attribution 'Minneapolis Police Department' --attribution-url https://www.minneapolismn.gov/ --about about.md
    """
    if not incidents and not settings["sources"]:
        raise click.UsageError("no incidents: give INCIDENTS files or --source NAME=PATH")
    specs = [
        BoundarySpec(*_name_and_path(text, "--boundaries", "tracts=tracts.geojson"), id_field, name_field) for text in boundaries
    ]
    options = BuildOptions(
        incidents=incidents,
        boundaries=tuple(specs),
        columns=settings_of(IncidentColumns, settings),
        provenance=settings_of(ProvenanceOptions, settings),
        progress=not quiet,
        **settings,
    )
    say = (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))
    started = time.perf_counter()
    with recording_interrupts():
        result = run_build(options, say)
    for line in summary_lines(result.report):
        say(line)
    say(f"wrote {options.out} (build {result.manifest.build_id}) in {time.perf_counter() - started:.1f} s")


@main.command()
@click.argument("incidents", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--offense-col",
    default=None,
    help="Incident column holding the offense, in every file. Default: per file, the one build reads, the first "
    f"column named (in any case, spaces read as _) {_either(OFFENSE_NAMES)}; else the one column whose name "
    f"holds {_either(sorted(OFFENSE_WORDS))}.",
)
@click.option(
    "--template",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="OUT.csv",
    help="Also write a classification file to edit: one rule per distinct value, the best built-in set's guess "
    "filled in, values it does not know marked unclassified. Use it with build --classification OUT.csv. "
    "Default: write none.",
)
@clear_errors
def offenses(incidents: tuple[Path, ...], offense_col: str | None, template: Path | None) -> None:
    """List the distinct offense values of INCIDENTS, most frequent first, with their row counts and
    the category each built-in rule set (ucr, nibrs, text) gives them ("-": no rule matches).

    INCIDENTS are the incident files the build reads: files, folders (their incident files) or
    quoted glob patterns ('exports/*.csv'); the values of all of them are counted together.
    The table goes to standard output; which column was read in each file and how many rows each
    rule set classifies go to standard error.

    \b
    Example:
      crimetiles offenses incidents.csv --template my_offenses.csv
      crimetiles offenses exports/ 'sheriff/*.csv'
      crimetiles build incidents.csv --classification my_offenses.csv
    """
    import pandas as pd

    from crimetiles.precompute.chunks import expand_inputs
    from crimetiles.precompute.classify import offense_table, rate_classifiers, template_text

    columns = [_offense_column(path, offense_col) for path in expand_inputs(incidents)]
    values = pd.concat([column for column, _ in columns], ignore_index=True)
    choice = rate_classifiers(values)
    click.echo(choice.summary(), err=True)
    click.echo(_text_table(offense_table(values)), nl=False)
    if template is not None:
        described = "; ".join(where for _, where in columns)
        template.write_text(template_text(values, choice, described), encoding="utf-8")
        click.echo(f"wrote {template}: edit its unclassified lines, then build with --classification {template}", err=True)


def _offense_column(path: Path, offense_col: str | None) -> tuple[Any, str]:
    """The offense column of the incident file `path` (`offense_col`, else detected) and where it
    comes from ("file, column name"); says which column was read."""
    from crimetiles.precompute.detect import detect_offense_column
    from crimetiles.precompute.ingest import ROWS_BEYOND_HEADER, read_table

    table = read_table(path)
    column = offense_col or detect_offense_column(path, table)
    if column not in table.columns:
        raise InputError(path, f"no column {column!r} (columns: {', '.join(map(str, table.columns))})")
    left_out = table.attrs.get(ROWS_BEYOND_HEADER, 0)
    beyond = f" ({left_out} with more fields than the header left out: the build rejects them)" if left_out else ""
    click.echo(f"{path}: offense column {column}, {len(table)} rows{beyond}", err=True)
    return table[column], f"{path.name}, column {column}"


def _text_table(frame: Any) -> str:
    """A data frame as left-aligned text columns ("-" for an empty cell), header first."""
    columns = [[str(name)] + [str(cell) or "-" for cell in frame[name]] for name in frame.columns]
    widths = [max(map(len, cells)) for cells in columns]
    return "".join(
        "  ".join(cells[row].ljust(width) for cells, width in zip(columns, widths, strict=True)).rstrip() + "\n"
        for row in range(len(frame) + 1)
    )


@main.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_INCIDENTS,
    help="Folder to write the two exports into: durham_police.csv (Durham Police open-data layout) and "
    "durham_sheriff.csv (a county sheriff's layout, its own incident numbers).",
)
@click.option("--seed", default=2016, help="Random seed; the same seed gives the same files byte for byte.")
@click.option("--non-violent-ratio", default=1.8, type=click.FloatRange(0), help="Non-violent incidents per violent one.")
@clear_errors
def synth(out: Path, seed: int, non_violent_ratio: float) -> None:
    """Write synthetic Durham incidents of two agencies, the city police and the county sheriff,
    whose per-block-group yearly violent counts together equal the Neighborhood Compass's
    published counts (2012-2016) exactly. Build the folder: each file is a source.

    The locations and dates are synthetic (points inside their block group, clustered); the totals
    are real. Each agency numbers its own incidents, so the same ids occur in both files.
    Non-violent incidents are added so that classification matters.
    """
    from crimetiles.precompute.synth import DURHAM_BLOCKGROUPS, DURHAM_COUNTS, generate_durham_exports, write_exports

    if out.suffix.lower() in (".csv", ".txt"):
        raise click.BadParameter(f"{out}: a folder, not a file: the demo is two files, written into it", param_hint="--out")
    exports = generate_durham_exports(DURHAM_BLOCKGROUPS, DURHAM_COUNTS, seed=seed, non_violent_ratio=non_violent_ratio)
    for path, frame in zip(write_exports(exports, out), exports.values(), strict=True):
        click.echo(f"wrote {len(frame)} synthetic incidents to {path}", err=True)


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
    text = export_text(opened.layer_frame(layer), layer, years, fmt, parse_year(year, years), opened.manifest.provenance)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@main.command("export-static")
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--basemap-url",
    default=None,
    callback=_check_link,
    help="Optional basemap for the pages: a MapLibre style URL or XYZ raster template (as for serve). Default: none.",
)
@click.option(
    "--png-tiles",
    is_flag=True,
    default=False,
    help="Also write each tileset's PNG tiles (256 px, all years) of the archive's zooms, and their TileJSON, "
    "for raster clients (Leaflet, GIS). Default: off.",
)
@clear_errors
def export_static(build_dir: Path, out: Path, basemap_url: str | None, png_tiles: bool) -> None:
    """Write BUILD_DIR's map as the folder OUT (new or empty), for any static host, object store
    or CDN that answers HTTP Range requests, with no Python server: the map and embed pages,
    styles and TileJSON reading the build's PMTiles archives, and the downloads. Every URL is
    relative, so OUT works under any path. See the README, "Static hosting".

    \b
    Example:
      crimetiles export-static demo/build site    # then publish site/ as is
    """
    from crimetiles.server.static_site import export_static_site

    written = export_static_site(build_dir, out, basemap_url, png_tiles)
    click.echo(f"wrote {_files_text(out, written)} to {out}", err=True)
    if png_tiles:
        click.echo(f"of which PNG tiles: {_files_text(out, [path for path in written if path.endswith('.png')])}", err=True)


def _files_text(out: Path, paths: list[str]) -> str:
    size = sum((out / path).stat().st_size for path in paths)
    return f"{len(paths)} files ({size / 1e6:.1f} MB)"


@main.command()
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("tile", metavar="Z/X/Y")
@click.option("--tileset", "-t", default="blockgroups", help="Tileset to decode.")
@clear_errors
def inspect(build_dir: Path, tile: str, tileset: str) -> None:
    """Print a decoded tile of BUILD_DIR as JSON (like tippecanoe-decode), through the server's own
    tile path: from the archive if it holds the tile, else encoded exactly as the server would.
    An empty tile prints `{}` (the server's 204); a tile outside the tile grid is an error (its 404)."""
    import mapbox_vector_tile

    from crimetiles.artifact.reader import open_build
    from crimetiles.server.params import TileRequest
    from crimetiles.server.tiles import load_tile_service

    parts = tile.split("/")
    if len(parts) != 3:
        raise click.BadParameter(f"{tile!r}: expected Z/X/Y, e.g. 12/1143/1606", param_hint="TILE")
    request = TileRequest.parse(tileset, parts[0], parts[1], f"{parts[2]}.mvt")
    service = load_tile_service(open_build(build_dir), cache_bytes=0)
    data = service.tile(request.tileset, request.z, request.x, request.y)
    decoded = mapbox_vector_tile.decode(gzip.decompress(data)) if data else {}
    click.echo(json.dumps(decoded, indent=1, default=str))


@main.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DIR,
    help="Where to write the demo incidents (incidents/, two files) and build (build/).",
)
@server_option("host")
@server_option("port")
@click.option("--rebuild", is_flag=True, help="Regenerate the incidents and rebuild even if a demo build exists.")
@click.pass_context
def demo(ctx: click.Context, demo_dir: Path, host: str | None, port: int | None, rebuild: bool) -> None:
    """Synthesize the Durham incidents, build them and serve the map: the whole demo in one command."""
    incidents, build_dir = demo_dir / DEMO_INCIDENTS.name, demo_dir / "build"
    if rebuild or not (incidents / f"{SHERIFF_EXPORT}.csv").is_file():
        ctx.invoke(synth, out=incidents)
    if rebuild or not (build_dir / "manifest.json").is_file():
        ctx.invoke(build, incidents=(incidents,), out=build_dir, **asdict(DURHAM_DEMO_PROVENANCE))
    ctx.invoke(serve, build_dir=build_dir, host=host, port=port)


main.add_command(serve)

if __name__ == "__main__":
    main()
