"""`crimetiles build`: incidents + boundaries -> density layers, tile archives and a manifest."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from crimetiles import __version__
from crimetiles.artifact.fields import feature_field_types, feature_fields, suppressed_field
from crimetiles.artifact.layout import DEFAULT_BUILD_DIR
from crimetiles.artifact.manifest import (
    DEFAULT_TITLE,
    SCHEMA_VERSION,
    Bounds,
    BuildManifest,
    ClassBreaks,
    DensityLayer,
    InputFile,
    LayerStream,
    Provenance,
    Source,
    TileArchive,
    Tileset,
    ZoomBand,
)
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.precompute.build_dir import (
    atomic_build_dir,
    file_sha256,
    rejects_writer,
    spatial_order,
    summary_path,
    tile_archive_path,
    write_layer,
    write_manifest,
    write_report,
    write_summary,
)
from crimetiles.precompute.chunks import (
    DEFAULT_CHUNK_ROWS,
    IncidentFile,
    IncidentSource,
    SourceFiles,
    chunks,
    incident_sources,
    plan_file,
    source_files,
)
from crimetiles.precompute.classify import ClassifierChoice, OffenseTally, choose_classifier
from crimetiles.precompute.coordinates import swapped_error
from crimetiles.precompute.density import (
    DEFAULT_HEX_SUPPRESS_BELOW,
    DEFAULT_UNSTABLE_BELOW,
    Disclosure,
    density_frame,
    geodesic_area_sqmi,
    quantile_breaks,
)
from crimetiles.precompute.engine import Engine, EngineName, keep_freed_memory, make_engine
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.hexgrid import (
    DEFAULT_RESOLUTIONS,
    cell_polygons,
    hex_counts,
    zoom_bands,
)
from crimetiles.precompute.ingest import BoundaryLayer, IncidentColumns, read_boundaries
from crimetiles.precompute.mbtiles_archive import mbtiles_metadata, tileset_tiles, write_mbtiles
from crimetiles.precompute.nesting import Nesting, boundary_nestings, withheld_with_complements
from crimetiles.precompute.pmtiles_archive import with_pmtiles
from crimetiles.precompute.reasons import Reason
from crimetiles.precompute.report import build_report, most_rejected_first
from crimetiles.precompute.summary import layer_summary
from crimetiles.precompute.tally import (
    SWAP_INSIDE_SHARE,
    CountContext,
    DuplicateIds,
    LayerGeometry,
    ScanContext,
    SourceTally,
    Tally,
    TwinSources,
    batch_areas,
    candidates_by_source,
    count_chunk,
    polygon_batches,
    scan_chunk,
    twin_sources,
)
from crimetiles.precompute.years import StudyYears, study_span

LAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
HEX_LAYER_NAME = re.compile(r"hex\d+")
HASHING_THREADS = 2
"""Input files hashed at once for the manifest (a 10-file input of 230 MB: 0.16 s alone)."""


@dataclass(frozen=True)
class BoundarySpec:
    """`--boundaries NAME=PATH` with its id and name fields.

    NAME becomes a file name and a URL part: letters, digits, `_` and `-`, not `hex<N>` (hex grid
    layers use those names).
    """

    name: str
    path: Path
    id_field: str = field(default="id", metadata={"help": "Boundary field holding the feature id."})
    name_field: str | None = field(
        default=None, metadata={"help": "Boundary field holding the display name. Default: `label`, else `name`, else the id."}
    )

    def __post_init__(self) -> None:
        if not LAYER_NAME.fullmatch(self.name) or HEX_LAYER_NAME.fullmatch(self.name) or self.name == "hex":
            raise InputError(self.path, f"layer name {self.name!r} must be letters, digits, _ or - (and not hex or hex<N>)")


@dataclass(frozen=True)
class ProvenanceOptions:
    """What the build says about itself (`crimetiles build --title`...); None: a neutral, true default.
    Each field's `help` metadata is what `crimetiles build --help` says of it."""

    title: str | None = field(
        default=None,
        metadata={
            "help": "The map's title: the page's header and tab, the report, TileJSON, styles, QGIS layers and GeoJSON "
            "downloads. Default: Violent incidents reported by police."
        },
    )
    attribution: str | None = field(
        default=None,
        metadata={
            "help": "Who the data comes from, as plain text, e.g. 'Minneapolis Police Department': shown by the page, "
            "the report, map clients (TileJSON, styles), QGIS layers and GeoJSON downloads. Default: the input files' names."
        },
    )
    attribution_url: str | None = field(
        default=None,
        metadata={"help": "A link for --attribution wherever it is shown: an absolute http(s) URL. Default: none."},
    )
    about: Path | None = field(
        default=None,
        metadata={
            "help": "The metric's text as Markdown (why it matters, about the data, further resources), shown in the "
            "page's 'About this data' and the report (raw HTML in it is shown as text); kept in the manifest. "
            "Default: the page's own neutral text."
        },
    )
    caveat: str | None = field(
        default=None,
        metadata={
            "help": "A short note shown under the legend, in the report, TileJSON and GeoJSON downloads, e.g. 'Figures "
            "for 2023 are preliminary.' Default: none."
        },
    )


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """Everything a build is asked. Each setting's `help` metadata is what `crimetiles build --help`
    says of it (the command's flags are made from these fields, `IncidentColumns`' and
    `ProvenanceOptions`')."""

    incidents: tuple[Path, ...]
    """Incident files, folders of them or glob patterns (see `chunks.expand_inputs`): each file its own source."""
    boundaries: tuple[BoundarySpec, ...]
    out: Path = field(
        default=DEFAULT_BUILD_DIR,
        metadata={"help": "Build directory to write. Replaced atomically: a failed build leaves the previous one intact."},
    )
    sources: tuple[IncidentSource, ...] = field(
        default=(),
        metadata={
            "help": "Files of one agency (a file, folder or quoted glob), whose incident ids are one numbering: a "
            "repeated id among them is a duplicate. Repeat for several agencies or files (one NAME gathers its PATHs). "
            "Default: each INCIDENTS file is its own source, named after the file."
        },
    )
    columns: IncidentColumns = field(default_factory=IncidentColumns)
    classification: str | Path | None = field(
        default=None,
        metadata={
            "help": "Offense rules: a built-in set (ucr: UCR summary codes, nibrs: NIBRS codes, text: offense "
            "descriptions) or a rules CSV (pattern,category,offense; `crimetiles offenses FILE --template OUT.csv` "
            "writes one to edit). Default: the built-in set that classifies the most rows."
        },
    )
    hex_resolutions: tuple[int, ...] = field(
        default=DEFAULT_RESOLUTIONS,
        metadata={
            "help": "H3 resolutions of the hex grid, comma-separated; '' for no hex grid. Resolution r is drawn at "
            "zooms 2r-4 and 2r-3."
        },
    )
    years: range | None = field(
        default=None,
        metadata={
            "help": "Keep only these years (others are rejected and reported). Default: the study years, chosen from "
            "the data (years holding at least 1 % of the rows, see README)."
        },
    )
    maxzoom: int = field(
        default=14,
        metadata={"help": "Data max zoom (TileJSON maxzoom): geometry is exact from here, clients overzoom beyond."},
    )
    archive_maxzoom: int = field(
        default=14,
        metadata={
            "help": "Pre-generate tiles from zoom 0 to this into MBTiles and PMTiles archives; -1 for none (the server "
            "encodes on demand)."
        },
    )
    classes: int = field(
        default=5, metadata={"help": "Legend classes above zero (quantiles over every feature and year of a layer)."}
    )
    provenance: ProvenanceOptions = field(default_factory=ProvenanceOptions)
    progress: bool = True
    """Progress bars on standard error (`crimetiles build --quiet`: none)."""
    engine: EngineName = field(
        default="local",
        metadata={
            "help": "What counts the incident chunks: local worker processes, or a Dask cluster (crimetiles's dask "
            "extra: pip install '.[dask]' in a clone; see --scheduler). Both give the same build."
        },
    )
    scheduler: str | None = field(
        default=None,
        metadata={
            "help": "With --engine dask: the address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786. "
            "Default: start a local cluster of --workers processes."
        },
    )
    workers: int | None = field(
        default=None,
        metadata={"help": "Worker processes of the local engine (or of a local Dask cluster). Default: one per core."},
    )
    chunk_rows: int = field(
        default=DEFAULT_CHUNK_ROWS,
        metadata={
            "help": "Incident rows per chunk: each worker holds a few chunks at a time, so memory does not grow with "
            "the input. A Parquet chunk is whole row groups."
        },
    )
    unstable_below: int = field(
        default=DEFAULT_UNSTABLE_BELOW,
        metadata={
            "help": "Mark a density 'unstable' (drawn paler) when its count is below this: its 95 % interval is wide. "
            f"Default: {DEFAULT_UNSTABLE_BELOW}."
        },
    )
    suppress_below: int = field(
        default=0,
        metadata={
            "help": "Boundary layers: withhold counts above 0 and below this, published as 'fewer than K' (0: withhold "
            "none; 2 is refused, see README 'How sure each number is'). Default: 0."
        },
    )
    hex_suppress_below: int = field(
        default=DEFAULT_HEX_SUPPRESS_BELOW,
        metadata={
            "help": "The hex grids' privacy floor: withhold counts above 0 and below this (0: withhold none). "
            f"Default: {DEFAULT_HEX_SUPPRESS_BELOW}."
        },
    )

    def disclosure(self, hex_grid: bool) -> Disclosure:
        """The reliability threshold and floor of a boundary layer or (`hex_grid`) a hex grid layer."""
        return Disclosure(self.unstable_below, self.hex_suppress_below if hex_grid else self.suppress_below)


@dataclass(frozen=True)
class BuildResult:
    manifest: BuildManifest
    report: dict[str, Any]


Say = Callable[[str], None]


def run_build(options: BuildOptions, say: Say = lambda message: None) -> BuildResult:
    """Run the whole build into `options.out`, atomically. Raises `InputError` on unusable input.

    The incidents are read twice, chunk by chunk, so memory does not grow with them: a first pass
    over the offense and id columns, and the dates unless `--years` is given (`scan_inputs`), then
    the counting pass (`count_inputs`)."""
    built_at = datetime.now(UTC)
    keep_freed_memory()
    _check_unique_names(options.boundaries)
    read_about(options.provenance.about)
    layers = [read_boundaries(spec.name, spec.path, spec.id_field, spec.name_field) for spec in options.boundaries]
    files = plan_inputs(options, say)
    engine = make_engine(options.engine, options.scheduler, options.workers)
    try:
        say(f"counting with the {engine.describe()}, {options.chunk_rows} rows per chunk")
        scan = scan_inputs(engine, files, options, built_at)
        choice = choose_classifier(scan.offenses, options.classification, [file.source for file in files])
        say(choice.summary())
        study = _study_years(options, scan, say)
        for warning in (w for layer in layers for w in layer.warnings):
            say(f"warning: {warning}")
        context = CountContext(
            files={file.source: file for file in files},
            wanted=options.columns,
            classifier=choice.classifier,
            layers=tuple(LayerGeometry(layer.name, layer.frame.geometry.to_numpy()) for layer in layers),
            hex_resolutions=tuple(options.hex_resolutions),
            candidate_hashes=scan.candidate_hashes,
            now=built_at,
            years=study,
        )
        with atomic_build_dir(options.out) as staging:
            with rejects_writer(staging) as write_rejects:
                tally = count_inputs(engine, files, context, write_rejects, options.chunk_rows, options.progress)
            return _write_build(engine, staging, options, layers, files, tally, choice, study, built_at, say, scan.twins)
    finally:
        engine.close()


def plan_inputs(options: BuildOptions, say: Say) -> list[IncidentFile]:
    """Every incident file with its source and columns (detected or given); says which columns each is read with."""
    sources = incident_sources(options.incidents, options.sources)
    paths = [(path, source.name) for source in sources for path in source.paths]
    say(f"reading {len(paths)} incident file(s) from {len(sources)} source(s)")
    files = [plan_file(path, options.columns, name) for path, name in paths]
    for file in files:
        say(f"{file.source}: {file.columns.describe()}")
    return files


@dataclass(frozen=True)
class Scan:
    """The first pass: the offense values of every file, the id hashes seen more than once per
    source, the sources that look like one export given twice and (without `--years`) the rows
    per year of a usable date."""

    offenses: OffenseTally
    candidate_hashes: dict[str, np.ndarray]
    twins: list[TwinSources]
    year_rows: dict[int, int]


def scan_inputs(engine: Engine, files: Sequence[IncidentFile], options: BuildOptions, built_at: datetime) -> Scan:
    """Read the offense and id columns of every file, and the dates unless `options.years` is
    given (see `tally.scan_chunk`)."""
    dated = options.years is None
    context = ScanContext({file.source: file for file in files}, built_at if dated else None)
    stream = (chunk for file in files for chunk in chunks(file, options.chunk_rows, file.scanned_columns(dated)))
    scans = list(engine.map(scan_chunk, context, stream))
    offenses = OffenseTally(pd.Series(dtype="int64"), files[0].columns.offense)
    year_rows: Counter[int] = Counter()
    for scan in scans:
        offenses = offenses.plus(scan.offenses)
        year_rows.update(scan.year_rows)
    agency = {file.source: file.agency for file in files}
    return Scan(offenses, candidates_by_source(scans, agency), twin_sources(scans, agency), dict(year_rows))


def twin_warning(twin: TwinSources) -> str:
    """The warning for a source that mostly repeats another: probably one export given twice."""
    return (
        f"source {twin.copy}: {100 * twin.share:.0f} % of its incidents have the id and offense of an incident of "
        f"source {twin.original}; is one export given twice, under two names? (files of one agency: --source NAME=PATH)"
    )


def _study_years(options: BuildOptions, scan: Scan, say: Say) -> StudyYears:
    """`--years`, else the years chosen from the data (`years.study_span`), said on the console."""
    if options.years is not None:
        return StudyYears(options.years, from_data=False)
    study = StudyYears(study_span(scan.year_rows), from_data=True)
    if study.span:
        say(study.chosen_line())
    return study


def count_inputs(
    engine: Engine,
    files: Sequence[IncidentFile],
    context: CountContext,
    write_rejects: Callable[[pd.DataFrame], None],
    chunk_rows: int,
    progress: bool,
) -> Tally:
    """The counting pass: every chunk counted by the engine, its possible duplicates decided here
    in input order, its rejected rows written as they come. Raises `InputError` for a file whose
    coordinates look swapped."""
    duplicates = DuplicateIds()
    total = Tally()
    stream = (chunk for file in files for chunk in chunks(file, chunk_rows, file.needed_columns()))
    with tqdm(desc="incidents", unit=" rows", disable=not progress, leave=False) as bar:
        for result in engine.map(count_chunk, context, stream):
            tally, rejects = duplicates.settle(context, result)
            write_rejects(rejects)
            total = total.plus(tally)
            bar.update(tally.sources[result.source].rows_read)
    for file in files:
        _check_not_swapped(file, total.sources[file.source], bool(context.layers))
    return total


def _write_build(
    engine: Engine,
    staging: Path,
    options: BuildOptions,
    layers: Sequence[BoundaryLayer],
    files: Sequence[IncidentFile],
    tally: Tally,
    choice: ClassifierChoice,
    study: StudyYears,
    built_at: datetime,
    say: Say,
    twins: Sequence[TwinSources],
) -> BuildResult:
    """Densities, report, layers, tile archives and manifest from the counts, into `staging`."""
    if not tally.rows_used:
        summary = _rejection_summary(tally) + _crs_hint(options.columns.crs, tally)
        raise InputError(", ".join(file.source for file in files), f"no usable incident rows ({summary})")
    years = sorted(tally.years)
    average_years = len(study.span)
    say(
        f"{sum(tally.violent_years.values())} violent incidents in {len(years)} year(s): {', '.join(map(str, years))}; "
        f"all-years densities average over {average_years} year(s)"
    )
    warnings = [w for layer in layers for w in layer.warnings] + [twin_warning(twin) for twin in twins]
    warnings += study.rejected_warning(tally.outside_study_years)
    frames, counts = density_frames(engine, layers, tally, years, options, average_years)
    frames, counts = spatially_sorted(frames, counts)
    engine.release()  # its workers hold every boundary layer; the tile archives need that memory
    report = build_report(tally, files, choice.classifier, years, layers, warnings, average_years)
    report["classification"] = choice.as_report()
    inputs = _input_files(files, options, Path(choice.classifier.source))
    layer_files = {name: write_layer(staging, name, frame) for name, frame in frames.items()}
    provenance = build_provenance(options.provenance, source_files(files), inputs)
    manifest = _manifest(options, layers, frames, layer_files, years, built_at, inputs, provenance)
    withheld_years = study_totals_withheld(options, counts, frames, years)
    for name, frame in frames.items():
        disclosure = options.disclosure(_is_hex(name))
        yearly = counts[name].sum(axis=0)
        write_summary(
            staging, layer_summary(frame, manifest.layers[name], years, average_years, yearly, withheld_years, disclosure)
        )
    manifest = replace(manifest, summaries={name: summary_path(name) for name in frames})
    engine.close()
    say(f"{len(frames)} density layer(s) written, {sum(map(len, frames.values()))} features")
    manifest = _with_archives(manifest, frames, staging, options)
    manifest = with_pmtiles(manifest, staging)
    write_report(staging, report)
    write_manifest(staging, manifest)
    return BuildResult(manifest=manifest, report=report)


def spatially_sorted(
    frames: dict[str, gpd.GeoDataFrame], counts: dict[str, np.ndarray]
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, np.ndarray]]:
    """Every layer's rows, and its counts' rows with them, in `spatial_order`: the order of the
    files, tiles and summaries alike."""
    orders = {name: spatial_order(frame) for name, frame in frames.items()}
    return (
        {name: frame.iloc[orders[name]].reset_index(drop=True) for name, frame in frames.items()},
        {name: layer_counts[orders[name]] for name, layer_counts in counts.items()},
    )


def density_frames(
    engine: Engine,
    layers: Sequence[BoundaryLayer],
    tally: Tally,
    years: Sequence[int],
    options: BuildOptions,
    average_years: int,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, np.ndarray]]:
    """Every density layer: one per boundary layer, then `hex<r>` per H3 resolution; the all-years
    density is the average over `average_years` years. Boundary areas are computed on `engine`.
    With each layer, its counts (areas x years) before any is withheld (`BuildOptions.disclosure`:
    the counts below a floor, and the complements that nested layers call for, `nesting`)."""
    polygons = {layer.name: layer.frame for layer in layers}
    counts = {layer.name: tally.layer_counts[layer.name].matrix(np.arange(len(layer.frame)), years) for layer in layers}
    areas = {layer.name: _geodesic_areas(engine, layer.frame) for layer in layers}
    nestings = boundary_nestings(polygons) if options.suppress_below else []
    if options.hex_resolutions:
        grid = hex_counts(_study_area(layers, tally.hull), tally.hex_counts, options.hex_resolutions, years)
        for resolution, cells in grid.cells.items():
            name = f"hex{resolution}"
            polygons[name], counts[name] = cell_polygons(cells), grid.counts[resolution]
            areas[name] = geodesic_area_sqmi(polygons[name].geometry.to_numpy())
        finest_first = sorted(grid.parents.items(), reverse=True)
        nestings = [*(Nesting(f"hex{fine}", f"hex{coarse}", rows) for fine, (coarse, rows) in finest_first), *nestings]
    disclosures = {name: options.disclosure(_is_hex(name)) for name in counts}
    withheld = withheld_with_complements(counts, nestings, disclosures)
    frames = {
        name: density_frame(polygons[name], counts[name], years, average_years, areas[name], disclosures[name], withheld[name])
        for name in counts
    }
    return frames, counts


def _geodesic_areas(engine: Engine, frame: gpd.GeoDataFrame) -> np.ndarray:
    """Each polygon's geodesic area (square miles), computed on `engine`'s workers."""
    batches = engine.map(batch_areas, None, polygon_batches(frame.geometry.to_numpy()))
    return np.concatenate([np.empty(0), *batches])


def study_totals_withheld(
    options: BuildOptions, counts: dict[str, np.ndarray], frames: dict[str, gpd.GeoDataFrame], years: Sequence[int]
) -> np.ndarray:
    """Per year: whether the study area's totals of that year are withheld, in every layer alike,
    because in some layer the sum of its withheld counts (that total minus the published counts)
    would pin one down (`Disclosure.sum_reveals`). Alike: layers may count the same incidents (the
    hex grids always do), and one layer's total would give the other's."""
    withheld = np.zeros(len(years), dtype=bool)
    for name, layer_counts in counts.items():
        layer_withheld = frames[name][[suppressed_field(year) for year in years]].to_numpy(dtype=bool)
        withheld |= options.disclosure(_is_hex(name)).sum_reveals(layer_counts, layer_withheld)
    return withheld


def _is_hex(name: str) -> bool:
    return HEX_LAYER_NAME.fullmatch(name) is not None


def _check_unique_names(boundaries: Sequence[BoundarySpec]) -> None:
    names = [spec.name for spec in boundaries]
    if len(set(names)) != len(names):
        raise InputError(", ".join(str(spec.path) for spec in boundaries), f"boundary layer names repeat: {', '.join(names)}")


def _rejection_summary(tally: Tally) -> str:
    reasons: Counter[str] = Counter()
    for source in tally.sources.values():
        reasons.update(source.rejected)
    read = sum(source.rows_read for source in tally.sources.values())
    ordered = most_rejected_first(reasons)
    return f"{read} read, all rejected: " + ", ".join(f"{reason} {count}" for reason, count in ordered) if read else "no rows"


def _crs_hint(crs: str | None, tally: Tally) -> str:
    """With `--crs` given and every row outside the boundaries: the CRS may be the wrong one (feet
    read as metres land far from any boundary)."""
    rejected = [source.rejected for source in tally.sources.values()]
    if crs is None or any(set(reasons) - {Reason.OUTSIDE} for reasons in rejected):
        return ""
    return f"; are the coordinates in {crs}? check --crs"


def _check_not_swapped(file: IncidentFile, source: SourceTally, has_layers: bool) -> None:
    """A file with almost every row outside the boundaries that would be inside with latitude
    and longitude swapped is an error."""
    if not has_layers or source.inside >= SWAP_INSIDE_SHARE * source.located:
        return
    if source.swapped_inside * 2 > source.located:
        raise swapped_error(file.path, source.inside, source.swapped_inside, source.located, file.columns.coordinates)


def _study_area(layers: Sequence[BoundaryLayer], hull: np.ndarray) -> shapely.Geometry:
    """Union of the boundary layers; without any, the convex hull of the incidents."""
    if layers:
        return shapely.union_all(np.concatenate([layer.frame.geometry.to_numpy() for layer in layers]))
    return shapely.convex_hull(shapely.multipoints(hull))


def _manifest(
    options: BuildOptions,
    layers: Sequence[BoundaryLayer],
    frames: dict[str, gpd.GeoDataFrame],
    layer_files: dict[str, tuple[str, LayerStream]],
    years: Sequence[int],
    built_at: datetime,
    inputs: tuple[InputFile, ...],
    provenance: Provenance,
) -> BuildManifest:
    sources = {layer.name: Path(layer.path).name for layer in layers}
    density_layers = {
        name: DensityLayer(
            name=name,
            title=_title(name),
            kind="boundary" if name in sources else "hex",
            path=layer_files[name][0],
            feature_count=len(frame),
            bounds=_bounds(frame),
            class_breaks=_breaks([frame], years, options.classes),
            h3_resolution=None if name in sources else int(name.removeprefix("hex")),
            source=sources.get(name),
            stream=layer_files[name][1],
        )
        for name, frame in frames.items()
    }
    tilesets = {
        layer.name: Tileset(
            layer.name,
            _title(layer.name),
            0,
            options.maxzoom,
            (ZoomBand(layer.name, 0, options.maxzoom),),
            density_layers[layer.name].class_breaks,
            None,
            options.unstable_below,
            options.suppress_below,
        )
        for layer in layers
    }
    if options.hex_resolutions:
        bands = tuple(
            ZoomBand(f"hex{b.resolution}", b.minzoom, b.maxzoom) for b in zoom_bands(options.hex_resolutions, options.maxzoom)
        )
        breaks = _breaks([frames[band.layer] for band in bands], years, options.classes)
        title = "Hex grid (H3, resolution follows zoom)"
        floors = (options.unstable_below, options.hex_suppress_below)
        tilesets["hex"] = Tileset("hex", title, 0, options.maxzoom, bands, breaks, None, *floors)
    bounds = _union_bounds([layer.bounds for layer in density_layers.values()])
    return BuildManifest(
        schema_version=SCHEMA_VERSION,
        build_id=_build_id(built_at, inputs, options),
        built_at=built_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        generator=f"crimetiles {__version__}",
        years=tuple(years),
        bounds=bounds,
        center=(round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6), 10),
        attribution=provenance.attribution_html(),
        fields=feature_fields(years),
        layers=density_layers,
        tilesets=tilesets,
        inputs=inputs,
        provenance=provenance,
    )


def build_provenance(options: ProvenanceOptions, incident_sources: SourceFiles, inputs: Sequence[InputFile]) -> Provenance:
    """The build's provenance: what `options` gives, else neutral defaults naming the input files
    (a source of several files by its name)."""
    sources = tuple(Source(name, files) for name, files in incident_sources)
    incidents = [Path(source.files[0]).name if len(source.files) == 1 else source.name for source in sources]
    boundaries = [Path(i.path).name for i in inputs if i.role == "boundaries"]
    default_attribution = f"Incidents: {', '.join(incidents)}" + (f"; boundaries: {', '.join(boundaries)}" if boundaries else "")
    return Provenance(
        title=options.title or DEFAULT_TITLE,
        attribution=options.attribution or default_attribution,
        attribution_url=options.attribution_url,
        about_markdown=read_about(options.about),
        caveat=options.caveat,
        sources=sources,
    )


def read_about(about: Path | None) -> str | None:
    """The metric's text of `--about`, which must be UTF-8 text; read before counting, to fail early."""
    if about is None:
        return None
    try:
        return about.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(about, f"cannot read the --about text ({exc})") from None


def _with_archives(
    manifest: BuildManifest, frames: dict[str, gpd.GeoDataFrame], staging: Path, options: BuildOptions
) -> BuildManifest:
    """Pre-generate zooms 0..archive_maxzoom of every tileset into MBTiles files."""
    if options.archive_maxzoom < 0:
        return manifest
    top = min(options.archive_maxzoom, options.maxzoom)
    field_types = feature_field_types(manifest.years)
    tilesets = {}
    for name, tileset in manifest.tilesets.items():
        bands = [band for band in tileset.bands if band.minzoom <= top]
        tilers = {band.layer: layer_tiler(name, frames[band.layer], options.maxzoom) for band in bands}
        path = tile_archive_path(name)
        zooms = range(tileset.minzoom, top + 1)
        with (
            tileset_tiles(tileset, tilers, manifest.bounds, zooms) as tiles,  # forks helpers before the bar's thread starts
            tqdm(desc=f"tiles {name} z0-{top}", unit=" tiles", disable=not options.progress, leave=False) as bar,
        ):
            layers = [frames[band.layer] for band in bands]  # the metadata is computed while the helpers encode
            metadata = mbtiles_metadata(tileset, manifest.bounds, manifest.center, zooms, field_types, layers)
            count = write_mbtiles(staging / path, metadata, tiles, on_tile=bar.update)
        tilesets[name] = replace(tileset, archive=TileArchive(path, tileset.minzoom, top, count))
    return replace(manifest, tilesets=tilesets)


def _breaks(frames: Sequence[gpd.GeoDataFrame], years: Sequence[int], classes: int) -> ClassBreaks:
    return ClassBreaks("quantile", quantile_breaks(frames, years, classes))


def _input_files(files: Sequence[IncidentFile], options: BuildOptions, classification: Path) -> tuple[InputFile, ...]:
    with ThreadPoolExecutor(HASHING_THREADS) as hashing:  # hashlib lets go of the GIL
        digests = list(hashing.map(file_sha256, [file.path for file in files]))
    inputs = [InputFile("incidents", file.source, digest) for file, digest in zip(files, digests, strict=True)]
    inputs += [InputFile("boundaries", str(spec.path), file_sha256(spec.path), spec.name) for spec in options.boundaries]
    inputs.append(InputFile("classification", str(classification), file_sha256(classification)))
    return tuple(inputs)


def _build_id(built_at: datetime, inputs: Sequence[InputFile], options: BuildOptions) -> str:
    digest = hashlib.sha256(repr((inputs, options)).encode()).hexdigest()[:8]
    return f"{built_at.strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


KNOWN_TITLES = {"blockgroups": "Block groups", "tracts": "Census tracts", "neighborhoods": "Neighborhoods"}


def _title(name: str) -> str:
    if name.startswith("hex") and name[3:].isdigit():
        return f"Hex grid (H3 resolution {name[3:]})"
    return KNOWN_TITLES.get(name, name.replace("_", " ").capitalize())


def _bounds(frame: gpd.GeoDataFrame) -> Bounds:
    west, south, east, north = frame.total_bounds
    return (round(float(west), 6), round(float(south), 6), round(float(east), 6), round(float(north), 6))


def _union_bounds(all_bounds: Sequence[Bounds]) -> Bounds:
    return (
        min(b[0] for b in all_bounds),
        min(b[1] for b in all_bounds),
        max(b[2] for b in all_bounds),
        max(b[3] for b in all_bounds),
    )
