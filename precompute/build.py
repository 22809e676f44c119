"""`crimetiles build`: incidents + boundaries -> density layers, tile archives and a manifest."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
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
from crimetiles.artifact.fields import feature_field_types, feature_fields
from crimetiles.artifact.manifest import (
    SCHEMA_VERSION,
    Bounds,
    BuildManifest,
    ClassBreaks,
    DensityLayer,
    InputFile,
    TileArchive,
    Tileset,
    ZoomBand,
)
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.precompute.artifact import (
    atomic_build_dir,
    file_sha256,
    tile_archive_path,
    write_layer,
    write_manifest,
    write_report,
)
from crimetiles.precompute.classify import VIOLENT, ClassifierChoice, choose_classifier
from crimetiles.precompute.coordinates import swapped_error
from crimetiles.precompute.density import assign_points, count_matrix, density_frame, quantile_breaks
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.hexgrid import cell_polygons, cells_covering, point_cells, zoom_bands
from crimetiles.precompute.ingest import (
    BoundaryLayer,
    IncidentColumns,
    Incidents,
    Reason,
    classify_incidents,
    parse_incidents,
    read_boundaries,
    reject_repeated_ids,
)
from crimetiles.precompute.report import build_report
from crimetiles.precompute.tiles import mbtiles_metadata, tileset_tiles, write_mbtiles

DEFAULT_ATTRIBUTION = (
    "Violent incidents reported by police; boundaries: "
    '<a href="https://github.com/DataWorks-NC/durham-quality-of-life-data">Durham Neighborhood Compass</a>'
)


# A year holding less than this share of the rows, more than a year away from the well-populated
# years, is probably a typo (1920 for 2020) that would stretch the all-years average.
STRAY_YEAR_SHARE = 0.01
# Almost no point inside the boundaries (under this share) but most would be once swapped.
SWAP_INSIDE_SHARE = 0.1

LAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
HEX_LAYER_NAME = re.compile(r"hex\d+")


@dataclass(frozen=True)
class BoundarySpec:
    """`--boundaries NAME=PATH` with its id and name fields.

    NAME becomes a file name and a URL part: letters, digits, `_` and `-`, not `hex<N>` (hex grid
    layers use those names).
    """

    name: str
    path: Path
    id_field: str = "id"
    name_field: str | None = None

    def __post_init__(self) -> None:
        if not LAYER_NAME.fullmatch(self.name) or HEX_LAYER_NAME.fullmatch(self.name) or self.name == "hex":
            raise InputError(self.path, f"layer name {self.name!r} must be letters, digits, _ or - (and not hex or hex<N>)")


@dataclass(frozen=True)
class BuildOptions:
    incidents: tuple[Path, ...]
    boundaries: tuple[BoundarySpec, ...]
    out: Path
    columns: IncidentColumns = field(default_factory=IncidentColumns)
    classification: str | Path | None = None
    """`ucr`, `nibrs`, `text` or a rules file; None: the built-in set that classifies the most rows."""
    hex_resolutions: tuple[int, ...] = (6, 7, 8, 9)
    years: range | None = None
    maxzoom: int = 14
    archive_maxzoom: int = 14
    classes: int = 5
    attribution: str = DEFAULT_ATTRIBUTION
    progress: bool = True


@dataclass(frozen=True)
class BuildResult:
    manifest: BuildManifest
    report: dict[str, Any]


Say = Callable[[str], None]


def run_build(options: BuildOptions, say: Say = lambda message: None) -> BuildResult:
    """Run the whole build into `options.out`, atomically. Raises `InputError` on unusable input."""
    built_at = datetime.now(UTC)
    _check_unique_names(options.boundaries)
    layers = [read_boundaries(spec.name, spec.path, spec.id_field, spec.name_field) for spec in options.boundaries]
    sources = read_sources(options, built_at, say)
    choice = choose_classification(sources, options.classification)
    say(choice.summary())
    classifier = choice.classifier
    for source in sources:
        classify_incidents(source, classifier)
    reject_repeated_ids(sources)
    for warning in (w for layer in layers for w in layer.warnings):
        say(f"warning: {warning}")
    assignments = locate(sources, layers)
    rows = pd.concat([source.rows for source in sources], ignore_index=True)
    if rows.empty:
        raise InputError(", ".join(map(str, options.incidents)), f"no usable incident rows ({_rejection_summary(sources)})")
    years = sorted(int(y) for y in rows["year"].unique())
    average_years = len(options.years) if options.years else years[-1] - years[0] + 1
    violent = (rows["category"] == VIOLENT).to_numpy()
    say(
        f"{int(violent.sum())} violent incidents in {len(years)} year(s): {', '.join(map(str, years))}; "
        f"all-years densities average over {average_years} year(s)"
    )
    warnings = [w for layer in layers for w in layer.warnings]
    if options.years is None:
        warnings += stray_year_warnings(rows["year"].value_counts())
    frames = density_frames(layers, assignments, rows, violent, years, options.hex_resolutions, average_years)
    report = build_report(sources, rows, classifier, years, layers, assignments, violent, warnings, average_years)
    report["classification"] = choice.as_report()
    inputs = _input_files(options, Path(classifier.source))
    manifest = _manifest(options, layers, frames, years, built_at, inputs)
    with atomic_build_dir(options.out) as staging:
        for name, frame in frames.items():
            write_layer(staging, name, frame)
        manifest = _with_archives(manifest, frames, staging, options)
        write_report(staging, report, pd.concat([source.rejects for source in sources], ignore_index=True))
        write_manifest(staging, manifest)
    return BuildResult(manifest=manifest, report=report)


def read_sources(options: BuildOptions, built_at: datetime, say: Say) -> list[Incidents]:
    """Parse every incident file (not yet classified) and say which columns each is read with."""
    say(f"reading {len(options.incidents)} incident file(s)")
    sources = [parse_incidents(path, options.columns, options.years, built_at) for path in options.incidents]
    for source in sources:
        say(f"{source.source}: {source.columns.describe()}")
    return sources


def choose_classification(sources: Sequence[Incidents], spec: str | Path | None) -> ClassifierChoice:
    """One rule set for the offense values of every input file (see `choose_classifier`)."""
    offenses = pd.concat([source.rows["offense"] for source in sources], ignore_index=True)
    column_names = {source.columns.offense for source in sources}
    offenses.name = column_names.pop() if len(column_names) == 1 else None
    return choose_classifier(offenses, spec, ", ".join(source.source for source in sources))


def stray_year_warnings(year_counts: pd.Series) -> list[str]:
    """A warning per year holding under STRAY_YEAR_SHARE of the rows and more than a year away
    from every year holding more: it counts in the all-years average's span of years."""
    total = int(year_counts.sum())
    common = np.array([int(y) for y, n in year_counts.items() if n >= STRAY_YEAR_SHARE * total])
    if not common.size:
        return []
    first, last = int(common.min()), int(common.max())
    span_first, span_last = int(min(year_counts.index)), int(max(year_counts.index))
    return [
        f"year {year} has only {count} of {total} rows, far from the other years: the all-years average counts every "
        f"year from {span_first} to {span_last}; pass --years {first}-{last} to leave it out"
        for year, count in sorted(year_counts.items())
        if count < STRAY_YEAR_SHARE * total and np.abs(common - int(year)).min() > 1
    ]


def density_frames(
    layers: Sequence[BoundaryLayer],
    assignments: dict[str, np.ndarray],
    rows: pd.DataFrame,
    violent: np.ndarray,
    years: Sequence[int],
    hex_resolutions: Sequence[int],
    average_years: int,
) -> dict[str, gpd.GeoDataFrame]:
    """Every density layer: one per boundary layer, then `hex<r>` per H3 resolution; the all-years
    density is the average over `average_years` years."""
    frames: dict[str, gpd.GeoDataFrame] = {}
    point_years = rows["year"].to_numpy()[violent]
    for layer in layers:
        counts = count_matrix(assignments[layer.name][violent], point_years, len(layer.frame), years)
        frames[layer.name] = density_frame(layer.frame, counts, years, average_years)
    study_area = _study_area(layers, rows)
    for resolution in hex_resolutions:
        frames[f"hex{resolution}"] = hex_density(study_area, rows[violent], years, resolution, average_years)
    return frames


def _check_unique_names(boundaries: Sequence[BoundarySpec]) -> None:
    names = [spec.name for spec in boundaries]
    if len(set(names)) != len(names):
        raise InputError(", ".join(str(spec.path) for spec in boundaries), f"boundary layer names repeat: {', '.join(names)}")


def _rejection_summary(sources: Sequence[Incidents]) -> str:
    reasons = pd.concat([source.rejects["reason"] for source in sources]).value_counts()
    read = sum(source.rows_read for source in sources)
    return (
        f"{read} read, all rejected: " + ", ".join(f"{reason} {count}" for reason, count in reasons.items())
        if read
        else "no rows"
    )


def locate(sources: Sequence[Incidents], layers: Sequence[BoundaryLayer]) -> dict[str, np.ndarray]:
    """Polygon position per incident row and layer (-1: in no polygon of that layer).

    Rows in no polygon of any layer are rejected as outside all boundaries; a file with almost
    every row outside that would be inside with latitude and longitude swapped is an error.
    Returns the assignments of the remaining rows, concatenated in source order.
    """
    per_source: list[dict[str, np.ndarray]] = []
    for source in sources:
        lon, lat = source.rows["lon"].to_numpy(), source.rows["lat"].to_numpy()
        found = {layer.name: assign_points(layer.frame.geometry.to_numpy(), lon, lat) for layer in layers}
        outside = np.all([a < 0 for a in found.values()], axis=0) if layers else np.zeros(len(lon), dtype=bool)
        _check_not_swapped(source, layers, outside)
        source.reject(
            outside, Reason.OUTSIDE, source.rows["lat"].round(6).astype(str) + ", " + source.rows["lon"].round(6).astype(str)
        )
        per_source.append({name: a[~outside] for name, a in found.items()})
    return {layer.name: np.concatenate([found[layer.name] for found in per_source]) for layer in layers}


def _check_not_swapped(source: Incidents, layers: Sequence[BoundaryLayer], outside: np.ndarray) -> None:
    total, inside = len(outside), int((~outside).sum())
    if not layers or inside >= SWAP_INSIDE_SHARE * total:
        return
    lon, lat = source.rows["lon"].to_numpy(), source.rows["lat"].to_numpy()
    swapped_inside = int(
        np.any([assign_points(layer.frame.geometry.to_numpy(), lat, lon) >= 0 for layer in layers], axis=0).sum()
    )
    if swapped_inside * 2 > total:
        raise swapped_error(Path(source.source), inside, swapped_inside, total, source.columns.coordinates)


def hex_density(
    study_area: shapely.Geometry, violent_rows: pd.DataFrame, years: Sequence[int], resolution: int, average_years: int
) -> gpd.GeoDataFrame:
    """The density layer of H3 cells at `resolution` covering the study area."""
    lon, lat = violent_rows["lon"].to_numpy(), violent_rows["lat"].to_numpy()
    cells = cells_covering(study_area, lon, lat, resolution)
    position = {cell: i for i, cell in enumerate(cells)}
    assignment = np.array([position[cell] for cell in point_cells(lon, lat, resolution)], dtype=np.int64)
    counts = count_matrix(assignment, violent_rows["year"].to_numpy(), len(cells), years)
    return density_frame(cell_polygons(cells), counts, years, average_years)


def _study_area(layers: Sequence[BoundaryLayer], rows: pd.DataFrame) -> shapely.Geometry:
    """Union of the boundary layers; without any, the convex hull of the incidents."""
    if layers:
        return shapely.union_all(np.concatenate([layer.frame.geometry.to_numpy() for layer in layers]))
    return shapely.convex_hull(shapely.multipoints(np.column_stack([rows["lon"], rows["lat"]])))


def _manifest(
    options: BuildOptions,
    layers: Sequence[BoundaryLayer],
    frames: dict[str, gpd.GeoDataFrame],
    years: Sequence[int],
    built_at: datetime,
    inputs: tuple[InputFile, ...],
) -> BuildManifest:
    sources = {layer.name: Path(layer.path).name for layer in layers}
    density_layers = {
        name: DensityLayer(
            name=name,
            title=_title(name),
            kind="boundary" if name in sources else "hex",
            path=f"layers/{name}.parquet",
            feature_count=len(frame),
            bounds=_bounds(frame),
            class_breaks=_breaks([frame], years, options.classes),
            h3_resolution=None if name in sources else int(name.removeprefix("hex")),
            source=sources.get(name),
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
        )
        for layer in layers
    }
    if options.hex_resolutions:
        bands = tuple(
            ZoomBand(f"hex{b.resolution}", b.minzoom, b.maxzoom) for b in zoom_bands(options.hex_resolutions, options.maxzoom)
        )
        breaks = _breaks([frames[band.layer] for band in bands], years, options.classes)
        tilesets["hex"] = Tileset("hex", "Hex grid (H3, resolution follows zoom)", 0, options.maxzoom, bands, breaks, None)
    bounds = _union_bounds([layer.bounds for layer in density_layers.values()])
    return BuildManifest(
        schema_version=SCHEMA_VERSION,
        build_id=_build_id(built_at, inputs, options),
        built_at=built_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        generator=f"crimetiles {__version__}",
        years=tuple(years),
        bounds=bounds,
        center=(round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6), 10),
        attribution=options.attribution,
        fields=feature_fields(years),
        layers=density_layers,
        tilesets=tilesets,
        inputs=inputs,
    )


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


def _input_files(options: BuildOptions, classification: Path) -> tuple[InputFile, ...]:
    files = [InputFile("incidents", str(path), file_sha256(path)) for path in options.incidents]
    files += [InputFile("boundaries", str(spec.path), file_sha256(spec.path), spec.name) for spec in options.boundaries]
    files.append(InputFile("classification", str(classification), file_sha256(classification)))
    return tuple(files)


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
