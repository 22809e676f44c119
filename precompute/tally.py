"""What a chunk of incident rows adds to a build: one function for every engine.

A build reads its inputs twice. The first pass (`scan_chunk`) reads only the offense and id
columns (and the date, when the study years are chosen from the data: `years.study_span`): the
offense values choose the classification, and the ids that occur more than once
within a source (an agency's files; compared by a 64-bit hash, so a collision only adds a
candidate) are the only ones a duplicate can have. Ids repeat across sources by right (each
agency numbers its own), but a source whose incidents mostly repeat another's, id and offense
alike, is likely one export given twice (`twin_sources`). The second pass (`count_chunk`)
parses, classifies and locates a chunk and returns its partial counts, which add up
(`Tally.plus`), its rejected rows, and the rows whose id is a candidate: the build process
decides those in input order (`DuplicateIds`), exactly, and settles them with the same `settle`
the chunk's other rows went through.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from crimetiles.precompute.arrays import distinct, stripped_text
from crimetiles.precompute.chunks import Chunk, IncidentFile, chunk_table
from crimetiles.precompute.classify import VIOLENT, Classifier, OffenseTally
from crimetiles.precompute.density import UnitYearCounts, geodesic_area_sqmi
from crimetiles.precompute.detect import IncidentColumns
from crimetiles.precompute.hexgrid import point_cells
from crimetiles.precompute.ingest import (
    aligned,
    classify_rows,
    incident_ids,
    parse_table,
    reject_rows,
    usable_year_rows,
)
from crimetiles.precompute.locator import LayerLocators
from crimetiles.precompute.reasons import Reason
from crimetiles.precompute.text_hash import few_text_hashes, pair_hashes, text_hashes
from crimetiles.precompute.years import StudyYears

SWAP_INSIDE_SHARE = 0.1
"""Almost no point inside the boundaries (under this share) but most would be once swapped."""
HASH_BUCKETS = 16
LEADING_BITS = 20
LAYER_PREFIX = "@"
HEX_PREFIX = "#"


def id_hashes(ids: pd.Series) -> np.ndarray:
    """A 64-bit hash per incident id (text)."""
    return text_hashes(pa.array(ids, type=pa.large_string(), from_pandas=True))


@dataclass(frozen=True)
class ScanContext:
    files: Mapping[str, IncidentFile]
    dated_at: datetime | None = None
    """The build time when the first pass also counts rows per year (to choose the study years)."""

    @property
    def several_sources(self) -> bool:
        """Whether the files come from more than one source: only then can one be another's twin."""
        return len({file.agency for file in self.files.values()}) > 1


@dataclass(frozen=True)
class ChunkScan:
    """The first pass over a chunk: its offense values and the hashes of its non-empty ids
    (distinct, sorted), and those that repeat within the chunk; its rows per usable year."""

    source: str
    rows: int
    offenses: OffenseTally
    id_hashes: np.ndarray
    repeated: np.ndarray
    incident_hashes: np.ndarray
    """Hashes of id and offense together of the rows with an id (distinct, sorted): all of them in a
    chunk of up to EXACT_TWIN_ROWS rows, else those under TWIN_SAMPLE_BELOW (`sampled`); none when
    the build has a single source (`ScanContext.several_sources`)."""
    sampled: bool
    year_rows: Mapping[int, int] = field(default_factory=dict)


def scan_chunk(context: ScanContext, chunk: Chunk) -> ChunkScan:
    file = context.files[chunk.source]
    read = chunk_table(file, chunk, file.scanned_columns(dated=context.dated_at is not None))
    # Misaligned rows (rejected later) choose nothing.
    table = aligned(read)
    offense = stripped_text(table[file.columns.offense])
    offenses = OffenseTally.of(offense.rename(file.columns.offense))
    ids = incident_ids(table, file.columns.incident_id)
    with_id = (ids != "").to_numpy()
    row_hashes = id_hashes(ids[with_id])
    hashes, counts = np.unique(row_hashes, return_counts=True)
    sampled = len(table) > EXACT_TWIN_ROWS
    incidents = np.empty(0, np.uint64)
    if context.several_sources:
        incidents = distinct(_below(pair_hashes(row_hashes, few_text_hashes(offense[with_id])), sampled))
    years = {} if context.dated_at is None else usable_year_rows(table[file.columns.date], context.dated_at)
    return ChunkScan(chunk.source, len(read), offenses, hashes, hashes[counts > 1], incidents, sampled, years)


def repeated_hashes(scans: Sequence[ChunkScan]) -> np.ndarray:
    """The id hashes found more than once over all `scans` (sorted). Sorted runs are cut into
    HASH_BUCKETS ranges of values and each range is merged alone, so that besides the runs only
    a fraction of them is held at once (a hundred million ids hold 800 MB of hashes)."""
    edges = np.arange(1, HASH_BUCKETS, dtype=np.uint64) * np.uint64(2**64 // HASH_BUCKETS)
    cuts = [np.concatenate([[0], np.searchsorted(scan.id_hashes, edges), [len(scan.id_hashes)]]) for scan in scans]
    repeated = [np.concatenate([np.empty(0, np.uint64), *(scan.repeated for scan in scans)])]
    for bucket in range(HASH_BUCKETS):
        every = np.sort(
            np.concatenate(
                [np.empty(0, np.uint64), *(s.id_hashes[c[bucket] : c[bucket + 1]] for s, c in zip(scans, cuts, strict=True))]
            )
        )
        repeated.append(every[1:][every[1:] == every[:-1]])
    return distinct(np.concatenate(repeated))


def candidates_by_source(scans: Sequence[ChunkScan], agency: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Per source (`agency[file]`), the id hashes found more than once among its files' scans."""
    return {name: repeated_hashes(group) for name, group in _by_source(scans, agency).items()}


TWIN_SHARE = 0.5
"""A source with more than this share of its incidents (id and offense alike) in one other source
is probably that source's export given a second time, under another name."""
EXACT_TWIN_ROWS = 20_000
TWIN_SAMPLE_BELOW = np.uint64(2**64 // 32)
"""Larger chunks keep only the incident hashes under this: 1 in 32, the same incidents in every
source (the hash decides), so holding them costs little beside the id hashes and the share is
estimated on that sample (3 million pairs in 100 million rows)."""


@dataclass(frozen=True)
class TwinSources:
    """`share` (0-1) of the incidents of source `copy` (distinct id and offense pairs) are in `original`."""

    copy: str
    original: str
    share: float


def twin_sources(scans: Sequence[ChunkScan], agency: Mapping[str, str]) -> list[TwinSources]:
    """Each pair of sources where more than TWIN_SHARE of one's incidents are also in the other (the
    one with the larger share named `copy`; the later one when equal), in source order."""
    sampled = any(scan.sampled for scan in scans)
    incidents = {
        name: _below(distinct(np.concatenate([np.empty(0, np.uint64), *(scan.incident_hashes for scan in group)])), sampled)
        for name, group in _by_source(scans, agency).items()
    }
    twins = []
    names = list(incidents)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = int(np.isin(incidents[first], incidents[second], assume_unique=True).sum())
            share = {name: shared / max(len(incidents[name]), 1) for name in (first, second)}
            copy, original = (first, second) if share[first] > share[second] else (second, first)
            if share[copy] > TWIN_SHARE:
                twins.append(TwinSources(copy, original, share[copy]))
    return twins


def _below(hashes: np.ndarray, sampled: bool) -> np.ndarray:
    """`hashes`, only those of the 1-in-32 sample if `sampled` (see TWIN_SAMPLE_BELOW)."""
    return hashes[hashes < TWIN_SAMPLE_BELOW] if sampled else hashes


def _by_source(scans: Sequence[ChunkScan], agency: Mapping[str, str]) -> dict[str, list[ChunkScan]]:
    groups: dict[str, list[ChunkScan]] = {}
    for scan in scans:
        groups.setdefault(agency[scan.source], []).append(scan)
    return groups


@dataclass(frozen=True)
class LayerGeometry:
    """A boundary layer's polygons (EPSG:4326), in layer order."""

    name: str
    polygons: np.ndarray


_LOCATORS_BUILT = threading.Lock()
_LOCATORS = "_locators_by_thread"


def _copies(polygons: np.ndarray) -> np.ndarray:
    """New geometry objects equal to `polygons`, sharing no GEOS state with them."""
    return shapely.from_wkb(shapely.to_wkb(polygons))


@dataclass(frozen=True)
class CountContext:
    """Everything a chunk's counting needs, sent once to each worker."""

    files: Mapping[str, IncidentFile]
    wanted: IncidentColumns
    classifier: Classifier
    layers: tuple[LayerGeometry, ...]
    hex_resolutions: tuple[int, ...]
    candidate_hashes: Mapping[str, np.ndarray]
    """Per source (agency), the id hashes that may repeat (see `candidates_by_source`)."""
    now: datetime
    years: StudyYears | None = None

    @property
    def locators(self) -> LayerLocators:
        """This thread's locators of the layers, built on its first use (never sent). Threads that
        share a context (a Dask worker's) each build their own, on their own copies of the
        polygons: GEOS's point tests on one prepared polygon from two threads at once corrupt
        memory."""
        built = self.__dict__.setdefault(_LOCATORS, {})
        thread = threading.get_ident()
        with _LOCATORS_BUILT:
            if thread not in built:
                polygons = {layer.name: _copies(layer.polygons) if built else layer.polygons for layer in self.layers}
                built[thread] = LayerLocators.build(polygons)
        return built[thread]

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != _LOCATORS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclass(frozen=True)
class SourceTally:
    """One input file's rows: read, used, rejected by reason; unknown offense values; and for
    the swapped-coordinates check, rows located, inside a boundary, and inside once swapped
    (counted only in chunks with under SWAP_INSIDE_SHARE inside, the only ones that can matter)."""

    rows_read: int = 0
    rows_used: int = 0
    rejected: Mapping[str, int] = field(default_factory=dict)
    unknown_offenses: Mapping[str, int] = field(default_factory=dict)
    located: int = 0
    inside: int = 0
    swapped_inside: int = 0

    def plus(self, other: SourceTally) -> SourceTally:
        return SourceTally(
            self.rows_read + other.rows_read,
            self.rows_used + other.rows_used,
            _add(self.rejected, other.rejected),
            _add(self.unknown_offenses, other.unknown_offenses),
            self.located + other.located,
            self.inside + other.inside,
            self.swapped_inside + other.swapped_inside,
        )

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class Tally:
    """Counts of used rows that add up chunk by chunk: per input, per category and offense, per
    year (all and violent), and violent incidents per boundary polygon or H3 cell and year."""

    sources: Mapping[str, SourceTally] = field(default_factory=dict)
    categories: Mapping[tuple[str, str], int] = field(default_factory=dict)
    years: Mapping[int, int] = field(default_factory=dict)
    violent_years: Mapping[int, int] = field(default_factory=dict)
    layer_counts: Mapping[str, UnitYearCounts] = field(default_factory=dict)
    layer_outside: Mapping[str, int] = field(default_factory=dict)
    hex_counts: Mapping[int, UnitYearCounts] = field(default_factory=dict)
    hull: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    """Vertices of the convex hull of the used rows' points (lon, lat); kept only without boundaries."""
    outside_study_years: Mapping[int, int] = field(default_factory=dict)
    """Rows rejected as dated outside the study years chosen from the data, per year."""

    def plus(self, other: Tally) -> Tally:
        return Tally(
            _merge(self.sources, other.sources, SourceTally.plus),
            _add(self.categories, other.categories),
            _add(self.years, other.years),
            _add(self.violent_years, other.violent_years),
            _merge(self.layer_counts, other.layer_counts, lambda a, b: UnitYearCounts.total([a, b])),
            _add(self.layer_outside, other.layer_outside),
            _merge(self.hex_counts, other.hex_counts, lambda a, b: UnitYearCounts.total([a, b])),
            hull_vertices(np.concatenate([self.hull, other.hull])),
            _add(self.outside_study_years, other.outside_study_years),
        )

    @property
    def rows_used(self) -> int:
        return sum(source.rows_used for source in self.sources.values())


def _add(a: Mapping[Any, int], b: Mapping[Any, int]) -> dict[Any, int]:
    """Counts by key added up (a key counted zero times is kept)."""
    return {key: a.get(key, 0) + b.get(key, 0) for key in dict.fromkeys([*a, *b])}


def _merge(a: Mapping[Any, Any], b: Mapping[Any, Any], add: Any) -> dict[Any, Any]:
    return {key: add(a[key], b[key]) if key in a and key in b else a.get(key, b.get(key)) for key in [*a, *b]}


def hull_vertices(points: np.ndarray) -> np.ndarray:
    """The vertices of the convex hull of `points` (n x 2), which stand for all of them."""
    if len(points) < 3:
        return points
    return shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(points)))


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """A chunk's partial counts, its rejected rows (in row order) and its located rows whose id
    may be a duplicate, left for the build process to decide."""

    source: str
    tally: Tally
    rejects: pd.DataFrame
    pending: pd.DataFrame


def count_chunk(context: CountContext, chunk: Chunk) -> ChunkResult:
    """Parse, classify and locate one chunk, and count the rows whose id cannot be a duplicate."""
    file = context.files[chunk.source]
    table = chunk_table(file, chunk, file.needed_columns())
    years, year_reason = (context.years.span, context.years.reason) if context.years else (None, Reason.YEAR)
    incidents = parse_table(table, file.columns, context.wanted, chunk.source, chunk.first_row, years, context.now, year_reason)
    classify_rows(incidents, context.classifier)
    located = locate(context, incidents.rows)
    pending = _may_repeat(context.candidate_hashes[file.agency], located["incident_id"])
    distinct = ~pending
    tally, outside = settle(context, chunk.source, located, distinct)
    read = Tally({chunk.source: SourceTally(rows_read=len(table), unknown_offenses=incidents.unknown_offenses)})
    read = read.plus(Tally(outside_study_years=_outside_study_years(incidents.rejects)))
    inside = tally.sources[chunk.source].inside
    swapped = Tally({chunk.source: SourceTally(swapped_inside=swapped_inside(context, located, distinct, inside))})
    rejects = pd.concat([incidents.rejects, outside], ignore_index=True).sort_values("row", kind="stable", ignore_index=True)
    return ChunkResult(
        chunk.source, tally.plus(read).plus(swapped).plus(_rejected(chunk.source, incidents.rejects)), rejects, located[pending]
    )


def _may_repeat(candidates: np.ndarray, ids: pd.Series) -> np.ndarray:
    """Whether each of `ids` may repeat: its hash is one of `candidates` (a source whose ids are
    all distinct has none, and its ids need no hashing here)."""
    if not len(candidates):
        return np.zeros(len(ids), dtype=bool)
    hashes = id_hashes(ids)
    # Most ids repeat nothing: a table of the candidates' leading bits rules them out at one
    # lookup each, and only the few left are searched for (a search per id cost three times more).
    leading = np.zeros(1 << LEADING_BITS, dtype=bool)
    leading[candidates >> np.uint64(64 - LEADING_BITS)] = True
    maybe = np.flatnonzero(leading[hashes >> np.uint64(64 - LEADING_BITS)])
    found = np.zeros(len(ids), dtype=bool)
    at = np.minimum(np.searchsorted(candidates, hashes[maybe]), len(candidates) - 1)
    found[maybe] = candidates[at] == hashes[maybe]
    return found & (ids != "").to_numpy()


def locate(context: CountContext, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with the polygon position in each layer (`@name`, -1 for none) and, for violent
    rows, the H3 cell at each resolution (`#r`, 0 for others)."""
    lon, lat = rows["lon"].to_numpy(), rows["lat"].to_numpy()
    violent = (rows["category"] == VIOLENT).to_numpy()
    columns: dict[str, np.ndarray] = {}
    for name, assigned in context.locators.assign(lon, lat).items():
        columns[LAYER_PREFIX + name] = assigned
    for resolution, violent_cells in point_cells(lon[violent], lat[violent], context.hex_resolutions).items():
        cells = np.zeros(len(rows), dtype=np.int64)
        cells[violent] = violent_cells
        columns[f"{HEX_PREFIX}{resolution}"] = cells
    return rows.assign(**columns)


def settle(context: CountContext, source: str, located: pd.DataFrame, settled: np.ndarray) -> tuple[Tally, pd.DataFrame]:
    """The rows of `located` that are no duplicate (where `settled`): reject those in no polygon of
    any layer, count the others. Returns the counts and the rejected rows. The rows are chosen by
    masks, not copies: a chunk's million rows hold a few text columns."""
    layers = [LAYER_PREFIX + layer.name for layer in context.layers]
    outside = (settled & np.all(located[layers].to_numpy() < 0, axis=1)) if layers else np.zeros(len(located), dtype=bool)
    dropped = located[outside]
    detail = dropped["lat"].round(6).astype(str) + ", " + dropped["lon"].round(6).astype(str)
    rejects = reject_rows(source, dropped["row"], Reason.OUTSIDE, detail, dropped["incident_id"])
    kept = settled & ~outside
    tally = count_rows(context, source, located, kept)
    checked = Tally({source: SourceTally(located=int(settled.sum()), inside=int(kept.sum()))})
    return tally.plus(checked).plus(_rejected(source, rejects)), rejects


def count_rows(context: CountContext, source: str, located: pd.DataFrame, kept: np.ndarray) -> Tally:
    """The counts of the used rows, those of `located` where `kept`."""
    violent = np.flatnonzero(kept & (located["category"] == VIOLENT).to_numpy())  # positions: taken from each column
    years = located["year"].to_numpy()
    violent_years = years.take(violent)
    layer_counts, layer_outside = {}, {}
    for layer in context.layers:
        assigned = located[LAYER_PREFIX + layer.name].to_numpy().take(violent)
        inside = assigned >= 0
        layer_counts[layer.name] = UnitYearCounts.of(assigned[inside], violent_years[inside])
        layer_outside[layer.name] = len(assigned) - int(inside.sum())
    hex_counts = {
        r: UnitYearCounts.of(located[f"{HEX_PREFIX}{r}"].to_numpy().take(violent), violent_years) for r in context.hex_resolutions
    }
    return Tally(
        {source: SourceTally(rows_used=int(kept.sum()))},
        _category_counts(located, kept),
        _counts(years[kept]),
        _counts(violent_years),
        layer_counts,
        layer_outside,
        hex_counts,
        hull_vertices(located[["lon", "lat"]].to_numpy()[kept]) if not context.layers else np.empty((0, 2)),
    )


def _category_counts(located: pd.DataFrame, kept: np.ndarray) -> dict[tuple[str, str], int]:
    """Rows per (category, offense name) among those of `located` where `kept`, counted on codes."""
    category, categories = _codes(located["category"])
    offense, offenses = _codes(located["offense_name"])
    counted = kept & (category >= 0) & (offense >= 0)  # as groupby, which leaves out missing keys
    pairs = np.bincount((category * len(offenses) + offense)[counted], minlength=len(categories) * len(offenses))
    return {(str(categories[i // len(offenses)]), str(offenses[i % len(offenses)])): int(n) for i, n in enumerate(pairs) if n}


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """`pd.factorize(values)`, read off a categorical's own codes (as `classify` gives them)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories
    codes, distinct = pd.factorize(values)
    return codes, pd.Index(distinct)


def swapped_inside(context: CountContext, located: pd.DataFrame, among: np.ndarray, inside: int) -> int:
    """Rows of `located` where `among` that would be inside a boundary with latitude and longitude
    exchanged, counted only when under SWAP_INSIDE_SHARE of them (`inside`, as `settle` counts
    them) is inside as given."""
    if not context.layers or inside >= SWAP_INSIDE_SHARE * among.sum():
        return 0
    lon, lat = located["lon"].to_numpy()[among], located["lat"].to_numpy()[among]
    swapped = [assigned >= 0 for assigned in context.locators.assign(lat, lon).values()]
    return int(np.any(swapped, axis=0).sum())


def _rejected(source: str, rejects: pd.DataFrame) -> Tally:
    return Tally({source: SourceTally(rejected={str(k): int(v) for k, v in rejects["reason"].value_counts().items()})})


def _outside_study_years(rejects: pd.DataFrame) -> dict[int, int]:
    """Rows per year among `rejects` dated outside the study years (the detail is the year)."""
    return _counts(rejects.loc[rejects["reason"] == Reason.STUDY_YEAR, "detail"].astype(np.int64).to_numpy())


def _counts(values: np.ndarray) -> dict[int, int]:
    distinct, counts = np.unique(values, return_counts=True)
    return {int(v): int(n) for v, n in zip(distinct, counts, strict=True)}


AREA_BATCH = 10_000
"""Polygons per task when a build computes geodesic areas on its engine."""


def polygon_batches(polygons: np.ndarray) -> list[np.ndarray]:
    return [polygons[i : i + AREA_BATCH] for i in range(0, len(polygons), AREA_BATCH)]


def batch_areas(_: object, polygons: np.ndarray) -> np.ndarray:
    """`geodesic_area_sqmi` as an engine task (one pyproj call per polygon: worth both cores)."""
    return geodesic_area_sqmi(polygons)


class DuplicateIds:
    """Which candidate rows repeat an id used before in their source, in input order: within the
    same file the detail is the id, from an earlier file of the source `also in <file>` (the first
    file keeps the incident). The same id in two sources is two incidents."""

    def __init__(self) -> None:
        self.first_source: dict[tuple[str, str], str] = {}
        self.source = ""
        self.in_source: set[str] = set()

    def settle(self, context: CountContext, result: ChunkResult) -> tuple[Tally, pd.DataFrame]:
        """Counts and rejected rows of `result`'s pending rows: duplicates, then `settle`."""
        if result.source != self.source:
            self.source, self.in_source = result.source, set()
        pending = result.pending
        agency = context.files[result.source].agency
        repeated = np.zeros(len(pending), dtype=bool)
        details = []
        for i, incident_id in enumerate(pending["incident_id"].tolist()):
            if incident_id in self.in_source:
                repeated[i] = True
                details.append(incident_id)
            elif (agency, incident_id) in self.first_source:
                repeated[i] = True
                details.append(f"also in {self.first_source[agency, incident_id]}")
            else:
                self.first_source[agency, incident_id] = result.source
            self.in_source.add(incident_id)
        dropped = pending[repeated]
        duplicates = reject_rows(
            result.source,
            dropped["row"],
            Reason.DUPLICATE,
            pd.Series(details, index=dropped.index, dtype=object),
            dropped["incident_id"],
        )
        tally, outside = settle(context, result.source, pending, ~repeated)
        rejects = pd.concat([result.rejects, duplicates, outside], ignore_index=True).sort_values(
            "row", kind="stable", ignore_index=True
        )
        return result.tally.plus(tally).plus(_rejected(result.source, duplicates)), rejects
