"""How `crimetiles build` scales: wall time, peak memory and rows per second per stage, 10^4 to 10^8 incidents.

Usage:
  python benchmarks/scale.py incidents [--sizes 1e4,1e5,1e6,1e7] [--engine local|dask] [--keep DIR]
  python benchmarks/scale.py boundaries [--polygons 250000] [--incidents 1000000] [--zoom 9] [--archive-zooms 12,14]
  python benchmarks/scale.py lowzoom [--polygons 50000] [--archive-zooms 12,14]

`incidents` generates Durham-schema incidents as Parquet partitions of a million rows (vectorised:
the demo's incident locations jittered by about 100 m, so a few fall outside the county; offenses
drawn from the demo's; dates over 2012-2016; 0.1 % repeated ids, half of them in another
partition), then times `crimetiles build FOLDER` (the bundled Durham boundaries, H3 6-9, tile
archives z0-14) in a subprocess, sampling the resident memory of it and its worker processes.
Stages come from the build's console lines: planning and the first pass (offense and id columns),
the counting pass, then densities, layers, tile archives and report.

`boundaries` is section 3 of the scale issue: see `boundaries_main`; `lowzoom` sets its archives
against tippecanoe's, with and without tiny-polygon reduction: see `lowzoom_main`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from peerlib.demo import CRIMETILES

from crimetiles.precompute.synth import DURHAM_DATA_DIR

DURHAM_LAYERS = ("blockgroups", "tracts", "neighborhoods")

PART_ROWS = 1_000_000
JITTER_DEG = 0.001
REPEATED_ID_SHARE = 0.001
YEARS = (2012, 2016)
STAGE_MARKS = (
    ("classification:", "plan + first pass"),
    (" violent incidents in ", "counting pass"),
    (" density layer(s) written", "densities"),
    ("wrote ", "tiles, report"),
)
NC_OUTLINE = (
    (-84.32, 34.99), (-84.29, 35.22), (-84.04, 35.40), (-83.65, 35.57), (-83.10, 35.76), (-82.74, 36.03),
    (-82.03, 36.12), (-81.68, 36.59), (-75.87, 36.55), (-75.46, 35.60), (-75.53, 35.22), (-76.53, 34.59),
    (-77.43, 34.48), (-77.93, 33.93), (-78.54, 33.85), (-79.67, 34.80), (-80.80, 34.82), (-80.93, 35.10),
    (-82.29, 35.20), (-83.11, 35.00),
)  # fmt: skip
"""A rough outline of North Carolina (lon, lat): the study area of the boundary benchmark."""
COLD_ZOOMS = range(10, 17)


@dataclass(frozen=True)
class Template:
    """Locations and offenses to draw from (the Durham demo's)."""

    lon: np.ndarray
    lat: np.ndarray
    ucr_code: np.ndarray
    chrgdesc: np.ndarray

    @classmethod
    def durham(cls) -> Template:
        from crimetiles.precompute.synth import generate_durham_incidents

        demo = generate_durham_incidents()
        lat, lon = (np.array(part, dtype=float) for part in zip(*demo["geo_point_2d"].str.split(", "), strict=True))
        return cls(lon, lat, demo["ucr_code"].to_numpy(dtype=str), demo["chrgdesc"].to_numpy(dtype=str))


def incident_part(template: Template, first_id: int, rows: int, rng: np.random.Generator) -> pa.Table:
    """`rows` Durham-schema incidents with ids from `first_id` (some repeating an earlier one)."""
    pick = rng.integers(0, len(template.lon), rows)
    lon = np.round(template.lon[pick] + rng.normal(0, JITTER_DEG, rows), 7)
    lat = np.round(template.lat[pick] + rng.normal(0, JITTER_DEG, rows), 7)
    days = rng.integers(np.datetime64(f"{YEARS[0]}-01-01").astype(int), np.datetime64(f"{YEARS[1]}-12-31").astype(int) + 1, rows)
    number = np.arange(first_id, first_id + rows)
    repeat = rng.random(rows) < REPEATED_ID_SHARE
    number[repeat] = np.maximum(number[repeat] - rng.integers(1, 2 * PART_ROWS, int(repeat.sum())), 0)
    date = pa.array(days.astype("datetime64[D]")).cast(pa.string())
    point = pc.binary_join_element_wise(pa.array(lat).cast(pa.string()), pa.array(lon).cast(pa.string()), ", ")
    offense = rng.integers(0, len(template.ucr_code), rows)
    return pa.table(
        {
            "inci_id": pc.utf8_lpad(pa.array(number).cast(pa.string()), 10, "0"),
            "date_rept": date,
            "date_occu": date,
            "ucr_code": pa.array(template.ucr_code[offense]),
            "chrgdesc": pa.array(template.chrgdesc[offense]),
            "csstatus": pa.array(np.where(rng.random(rows) < 0.5, "Open", "Inactive")),
            "big_zone": pa.array(np.char.add("D", rng.integers(1, 6, rows).astype(str))),
            "geo_point_2d": point,
        }
    )


def write_incidents(folder: Path, rows: int, seed: int = 13) -> float:
    """Parquet partitions of at most PART_ROWS rows; returns the seconds it took."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    template, rng = Template.durham(), np.random.default_rng(seed)
    for part, first in enumerate(range(0, rows, PART_ROWS)):
        table = incident_part(template, first, min(PART_ROWS, rows - first), rng)
        pq.write_table(table, folder / f"part-{part:05d}.parquet", row_group_size=250_000)
    return time.perf_counter() - started


def reuse_or_write_incidents(folder: Path, rows: int) -> float:
    """`write_incidents` unless `folder` holds a whole earlier run's (the marker beside it, outside
    the folder the build reads): 0 s then."""
    marker = folder.parent / f"{folder.name}.complete"
    if marker.exists() and marker.read_text() == str(rows):
        return 0.0
    _remove_tree(folder)
    seconds = write_incidents(folder, rows)
    marker.write_text(str(rows))
    return seconds


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants together, sampled every 50 ms:
    the sum of their RSS, and, with `pss`, of their PSS (each page shared by N processes, as forked
    helpers share their parent's, counted 1/N times in each: the memory the tree takes from the
    machine). Reading PSS walks every mapping of each process: for a build's three processes it
    took about 15 ms a sample, 30 % of one of the two cores the build runs on, so a build timed
    with it took a quarter longer; RSS alone costs 2 ms a sample."""

    pid: int
    pss: bool = True
    peak_bytes: int = 0
    peak_pss_bytes: int = 0
    stage_peak_bytes: int = 0
    """The peak since the last `next_stage`."""
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> TreeMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            tree = _tree(self.pid)
            now = sum(_rss(pid) for pid in tree)
            self.peak_bytes, self.stage_peak_bytes = max(self.peak_bytes, now), max(self.stage_peak_bytes, now)
            if self.pss:
                self.peak_pss_bytes = max(self.peak_pss_bytes, sum(_pss(pid) for pid in tree))

    def next_stage(self) -> int:
        """The peak of the stage that just ended; starts the next one."""
        peak, self.stage_peak_bytes = self.stage_peak_bytes, 0
        return peak


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def _tree(pid: int) -> list[int]:
    children, found, queue = _children(), [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue += children.get(current, [])
    return found


def _rss(pid: int) -> int:
    return _proc_kib(f"/proc/{pid}/status", "VmRSS:")


def _pss(pid: int) -> int:
    return _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def _proc_kib(path: str, key: str) -> int:
    """The value of line `key` (in kB) of a /proc file, in bytes; 0 once the process has gone."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class BuildRun:
    seconds: float
    cpu_seconds: float
    """User + system CPU time of the build and every worker process it waited for."""
    peak_bytes: int
    stages: dict[str, float]
    stage_peak_bytes: dict[str, int]
    """Peak resident memory (all processes) during each stage."""
    load: tuple[float, float]
    """The machine's 1-minute load average at the start and at the end."""
    output: str


def timed_build(arguments: list[str]) -> BuildRun:
    """Run `crimetiles build ARGUMENTS`, timing the stages by the console lines they end with."""
    load_before, cpu_before = os.getloadavg()[0], _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen([*CRIMETILES, "build", *arguments], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    marks: dict[str, float] = {}
    stage_peaks: dict[str, int] = {}
    lines: list[str] = []
    with TreeMemory(process.pid, pss=False) as memory:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            for text, stage in STAGE_MARKS:
                if text in line and stage not in marks:
                    marks[stage] = time.perf_counter() - started
                    stage_peaks[stage] = memory.next_stage()
        process.wait()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit("".join(lines[-20:]))
    stages, previous = {}, 0.0
    for _, stage in STAGE_MARKS:
        stages[stage] = marks.get(stage, seconds) - previous
        previous = marks.get(stage, seconds)
    cpu = _children_cpu() - cpu_before
    return BuildRun(seconds, cpu, memory.peak_bytes, stages, stage_peaks, (load_before, os.getloadavg()[0]), "".join(lines))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    machine = f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, load average {load:.1f}"
    return machine + ("" if _bytecode_cached() else "; crimetiles' bytecode not cached (each process compiles it)")


def _bytecode_cached() -> bool:
    """Whether crimetiles' modules have compiled bytecode a `crimetiles` process can load, as `pip
    install` leaves it. Without (an environment that sets PYTHONDONTWRITEBYTECODE, say), each of a
    build's processes compiles them at start, about 0.06 s: `python -m compileall` fixes that."""
    spec = importlib.util.find_spec("crimetiles.precompute.tally")
    if spec is None or spec.origin is None:
        return False
    source, cached = Path(spec.origin), Path(importlib.util.cache_from_source(spec.origin))
    return cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


def violent_codes() -> set[str]:
    """The template's offense codes that crimetiles' offense rules call violent: the list a user
    writing the count by hand would filter on (not timed)."""
    from crimetiles.precompute.classify import rate_classifiers

    codes = pd.Series(np.unique(Template.durham().ucr_code))
    classes = rate_classifiers(codes).classifier.classify(codes)
    return set(codes[(classes["category"] == "violent").to_numpy()])


SAME_JOB_AS_JOIN = ("--hex-res", "", "--archive-maxzoom", "-1")
"""Build options leaving what `geopandas_count` does: the three layers' counts per year, no H3 grid, no tiles."""


def geopandas_count(folder: Path, codes: set[str]) -> tuple[float, dict[str, pd.Series]]:
    """What a user would write instead: the same Parquet read whole with pandas, violent rows kept,
    points made and joined to each Durham layer (`sjoin`, within), counted per area and year with
    `groupby`: the build's counts, without its H3 grids, checks, rejects, tiles or report. Returns
    its seconds and each layer's counts (area id, year)."""
    started = time.perf_counter()
    incidents = pd.read_parquet(folder, columns=["date_rept", "ucr_code", "geo_point_2d"])
    incidents = incidents[incidents["ucr_code"].isin(codes)]
    lat_lon = incidents["geo_point_2d"].str.split(", ", expand=True).astype(float)
    points = gpd.GeoDataFrame(
        {"year": pd.to_datetime(incidents["date_rept"]).dt.year.to_numpy()},
        geometry=gpd.points_from_xy(lat_lon[1], lat_lon[0]),
        crs="EPSG:4326",
    )
    counts = {}
    for name in DURHAM_LAYERS:
        layer = gpd.read_file(DURHAM_DATA_DIR / f"{name}.geojson")[["id", "geometry"]]
        counts[name] = gpd.sjoin(points, layer, predicate="within").groupby(["id", "year"]).size()
    return time.perf_counter() - started, counts


def incidents_main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    stages = " | ".join(stage for _, stage in STAGE_MARKS)
    print(f"| incidents | engine | wall time | CPU time | load before/after | peak RSS (all processes) | {stages} |")
    print("| --- " * (6 + len(STAGE_MARKS)) + "|")
    results = []
    with tempfile.TemporaryDirectory(dir=args.keep) as scratch:
        for size in (int(float(s)) for s in args.sizes.split(",")):
            folder = Path(args.inputs or scratch) / f"incidents-{size}"
            generated = reuse_or_write_incidents(folder, size)
            extra = ["--engine", args.engine, *(["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else [])]
            run = timed_build([str(folder), "--out", str(Path(scratch) / f"build-{size}"), *extra])
            rates = {stage: size / seconds for stage, seconds in run.stages.items()}
            cells = " | ".join(f"{run.stages[stage]:.1f} s ({rates[stage]:,.0f}/s)" for _, stage in STAGE_MARKS)
            load = f"{run.load[0]:.1f} / {run.load[1]:.1f}"
            print(
                f"| {size:,} | {args.engine} | {run.seconds:.1f} s | {run.cpu_seconds:.0f} s | {load} | "
                f"{run.peak_bytes / 2**30:.2f} GiB | {cells} |",
                flush=True,
            )
            result = {"incidents": size, "generate_s": generated, "seconds": run.seconds, "peak_bytes": run.peak_bytes}
            if size <= args.geopandas_up_to:
                result |= _against_geopandas(folder, Path(scratch) / f"build-{size}", run.seconds)
            results.append(result | {"stages": run.stages})
            report = json.loads((Path(scratch) / f"build-{size}" / "report.json").read_text())
            (summary,) = [
                {"read": sum(i["rows_read"] for i in report["inputs"]), "used": sum(i["rows_used"] for i in report["inputs"])}
            ]
            assert summary["read"] == size, summary
            if not args.inputs:
                _remove_tree(folder)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def _against_geopandas(folder: Path, build: Path, our_seconds: float) -> dict[str, float]:
    """`geopandas_count` on the same input, its time beside the whole build's and beside a build of
    the same job (the three layers only: no H3 grids, no tiles), and how far its counts per area and
    year are from the build's (the build counts an id repeated within a file once), printed and
    returned."""
    same_job = timed_build([str(folder), "--out", str(build.with_name(build.name + "-layers-only")), *SAME_JOB_AS_JOIN])
    seconds, counts = geopandas_count(folder, violent_codes())
    apart = total = 0
    for name, theirs in counts.items():
        layer = gpd.read_parquet(build / "layers" / f"{name}.parquet").set_index("id")
        for (area, year), count in theirs.items():
            apart += abs(count - layer.at[area, f"violent_count_{year}"])
            total += count
    share = apart / max(total, 1)
    print(
        f"  geopandas read + sjoin + groupby of the 3 layers per year: {seconds:.1f} s, the whole build "
        f"{seconds / our_seconds:.2f}x as fast; the build of the same job ({shlex.join(SAME_JOB_AS_JOIN)}) "
        f"{same_job.seconds:.1f} s, CPU {same_job.cpu_seconds:.0f} s, {seconds / same_job.seconds:.2f}x as fast; "
        f"{share:.3%} of the counted incidents counted differently",
        flush=True,
    )
    return {"geopandas_s": seconds, "same_job_s": same_job.seconds, "geopandas_share_apart": share}


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def points_in(area: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` points (n x 2) spread evenly over `area`."""
    shapely.prepare(area)
    west, south, east, north = area.bounds
    found = np.empty((0, 2))
    while len(found) < count:
        batch = rng.uniform((west, south), (east, north), (2 * count, 2))
        found = np.concatenate([found, batch[shapely.contains_xy(area, batch[:, 0], batch[:, 1])]])
    return found[:count]


def voronoi_layer(path: Path, polygons: int, rng: np.random.Generator) -> float:
    """A tessellation of North Carolina into `polygons` Voronoi cells of random points, as
    GeoParquet with `id` and `name`; returns the seconds it took."""
    import geopandas as gpd

    started = time.perf_counter()
    state = shapely.Polygon(NC_OUTLINE)
    seeds = points_in(state, polygons, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(*state.bounds)))
    clipped = shapely.intersection(cells, state)
    clipped = clipped[~shapely.is_empty(clipped)]
    ids = [f"V{i:06d}" for i in range(len(clipped))]
    gpd.GeoDataFrame({"id": ids, "name": ids}, geometry=clipped, crs="EPSG:4326").to_parquet(path)
    return time.perf_counter() - started


@dataclass(frozen=True)
class TileSample:
    layer_load_s: float
    """Seconds the fresh service took to load its density layers, once, before any tile is timed
    (what a server worker pays on its first on-demand tile)."""
    zooms: dict[int, dict]
    """Per zoom: tiles touching the state, and the sampled tiles' encode times (ms) and sizes (bytes)."""


def tile_sample(build_dir: Path, tileset: str, zooms: range, per_zoom: dict[int, int], rng: np.random.Generator) -> TileSample:
    """Per zoom: how many tiles touch the state, and the encode time (ms) and size (bytes) of a
    random sample of them, each asked once of a fresh tile service (nothing archived: every
    tile encoded on demand, as a cold server does). The service loads its density layers before
    the first tile is timed, as a warmed-up server has: that one-time load is timed on its own."""
    import mercantile

    from crimetiles.artifact.reader import open_build
    from crimetiles.server.tiles import load_tile_service

    service = load_tile_service(open_build(build_dir), 64 << 20)
    started = time.perf_counter()
    service.layers.get()
    layer_load_s = time.perf_counter() - started
    state = shapely.Polygon(NC_OUTLINE)
    shapely.prepare(state)
    found: dict[int, dict] = {}
    for zoom in zooms:
        tiles = [t for t in mercantile.tiles(*state.bounds, zoom) if state.intersects(shapely.box(*mercantile.bounds(t)))]
        picked = [tiles[i] for i in rng.permutation(len(tiles))[: per_zoom.get(zoom, 0)]]
        ms, sizes = [], []
        for tile in picked:
            started = time.perf_counter()
            data = service.tile(tileset, tile.z, tile.x, tile.y)
            ms.append((time.perf_counter() - started) * 1000)
            sizes.append(len(data or b""))
        found[zoom] = {"tiles": len(tiles), "ms": ms, "bytes": sizes}
    return TileSample(layer_load_s, found)


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    cpu_seconds: float
    """User + system CPU time of the process and of every child it waited for."""
    peak_bytes: int
    """Peak resident memory of the process and its children together (the sum of their RSS)."""
    peak_pss_bytes: int
    """The same as PSS: pages shared with forked children counted once (`TreeMemory`)."""
    load: tuple[float, float]
    finished: bool
    """False when it was stopped at its time limit."""
    stdout: str


def timed_process(command: list[str], timeout: float | None = None) -> ProcessRun:
    """Run `command` in its own process group, sampling the memory of it and its children; the
    group is killed after `timeout` seconds."""
    load_before, cpu_before, started = os.getloadavg()[0], _children_cpu(), time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    with TreeMemory(process.pid) as memory:
        try:
            stdout, finished = process.communicate(timeout=timeout)[0], True
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, finished = process.communicate()[0], False
    if finished and process.returncode:
        raise SystemExit(f"{command[0]} failed with status {process.returncode}")
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    return ProcessRun(seconds, cpu, memory.peak_bytes, memory.peak_pss_bytes, (load_before, os.getloadavg()[0]), finished, stdout)


def tippecanoe_run(build_dir: Path, scratch: Path, maxzoom: int, tiny_polygon_reduction: bool = False) -> tuple[ProcessRun, int]:
    """tippecanoe on the build's `nc` tileset (its density layer, every property included, as
    GeoJSON written once beforehand, untimed), zooms 0..`maxzoom`, with the peer benchmark's
    settings or with its default tiny-polygon reduction as well (polygons under a pixel gathered
    into squares of their summed area): the run and the archive's bytes."""
    from peerlib.building import TIPPECANOE_SETTINGS, tippecanoe_input

    geojson = scratch / "layer.geojson"
    if not geojson.exists():
        tippecanoe_input(build_dir, "nc", geojson)
    out = scratch / "tippecanoe.mbtiles"
    dropped = {"--no-tiny-polygon-reduction"} if tiny_polygon_reduction else set()
    settings = [s if s != "-z14" else f"-z{maxzoom}" for s in TIPPECANOE_SETTINGS if s not in dropped]
    tippecanoe = Path(sys.executable).parent / "tippecanoe"
    run = timed_process([str(tippecanoe), "--output", str(out), "--force", "--quiet", "--layer", "nc", *settings, str(geojson)])
    return run, out.stat().st_size


def archive_run(build_dir: Path, maxzoom: int, out: Path, timeout: float) -> ProcessRun:
    """`archive` in a subprocess (zooms 0..`maxzoom` of the build's `nc` tileset, MBTiles and its
    PMTiles copy), so that its memory, the helpers' included, is sampled alone."""
    command = [sys.executable, __file__, "archive", str(build_dir), "--tileset", "nc", "--maxzoom", str(maxzoom)]
    return timed_process([*command, "--out", str(out)], timeout)


def archive_main(args: argparse.Namespace) -> None:
    """One tileset's MBTiles archive of zooms 0..`--maxzoom` from an existing build, written as
    `crimetiles build` writes it, then its PMTiles copy beside it (`.pmtiles`); prints the
    encode-and-write seconds, the PMTiles copy's seconds and the tile count as JSON."""
    import sqlite3

    from peerlib.building import crimetiles_archive

    from crimetiles.precompute.pmtiles_archive import write_pmtiles

    out = Path(args.out)
    run = crimetiles_archive(Path(args.build), args.tileset, out, range(0, args.maxzoom + 1))
    started = time.perf_counter()
    write_pmtiles(out, out.with_suffix(".pmtiles"), "")
    pmtiles_seconds = time.perf_counter() - started
    with sqlite3.connect(run.archive) as db:
        (tiles,) = db.execute("SELECT count(*) FROM tiles").fetchone()
    print(json.dumps({"seconds": run.seconds, "pmtiles_seconds": pmtiles_seconds, "tiles": tiles}))


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def _peaks(run: ProcessRun) -> str:
    return f"{_gib(run.peak_bytes)} ({_gib(run.peak_pss_bytes)})"


def _load(load: tuple[float, float]) -> str:
    return f"load {load[0]:.1f} / {load[1]:.1f}"


def nc_build(scratch: Path, polygons: int, incidents: int, zoom: int, rng: np.random.Generator) -> tuple[Path, BuildRun]:
    """The Voronoi layer of `polygons` cells over North Carolina and a build of `incidents`
    incidents spread over the state with it as tileset `nc` (no hexes), archived to `zoom` (-1:
    none), in `scratch`: the build's path and the timed build."""
    layer = scratch / "voronoi.parquet"
    made = voronoi_layer(layer, polygons, rng)
    size = layer.stat().st_size / 2**20
    print(f"layer: {polygons:,} Voronoi cells over North Carolina in {made:.1f} s, {size:.1f} MiB GeoParquet", flush=True)
    places = points_in(shapely.Polygon(NC_OUTLINE), 50_000, rng)
    template = Template.durham()
    template = Template(places[:, 0], places[:, 1], template.ucr_code, template.chrgdesc)
    folder = scratch / "incidents"
    folder.mkdir()
    for part, first in enumerate(range(0, incidents, PART_ROWS)):
        table = incident_part(template, first, min(PART_ROWS, incidents - first), rng)
        pq.write_table(table, folder / f"part-{part:05d}.parquet", row_group_size=250_000)
    out = scratch / "build"
    run = timed_build([str(folder), "-b", f"nc={layer}", "--hex-res", "", "--out", str(out), "--archive-maxzoom", str(zoom)])
    return out, run


def boundaries_main(args: argparse.Namespace) -> None:
    """Section 3: a national-size boundary layer. Builds the Voronoi layer with `--incidents`
    incidents spread over the state, archived to `--zoom` (the time and peak memory of each stage,
    the archive's included); samples tiles above it encoded on demand (cold) to time zooms 10-16,
    after the service has loaded its density layers (that one-time load is printed on its own);
    runs tippecanoe z0-14 on the same polygons with the peer benchmark's settings; then archives
    zooms 0-N for each N of `--archive-zooms` from the build, each in its own process, stopped after
    `--archive-timeout` seconds (a run that does not finish is extrapolated from the last that
    did and the cold samples of the zooms it lacks, on as many cores)."""
    rng = np.random.default_rng(7)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.keep) as scratch_name:
        scratch = Path(scratch_name)
        out, run = nc_build(scratch, args.polygons, args.incidents, args.zoom, rng)
        print(
            f"build ({args.incidents:,} incidents, archive z0-{args.zoom}): {run.seconds:.1f} s, CPU {run.cpu_seconds:.0f} s, "
            f"{_load(run.load)}, peak RSS {_gib(run.peak_bytes)}"
        )
        for stage, seconds in run.stages.items():
            print(f"  {stage}: {seconds:.1f} s, peak RSS {_gib(run.stage_peak_bytes.get(stage, 0))}")
        if args.zoom >= 0:
            archive = json.loads((out / "manifest.json").read_text())["tilesets"]["nc"]["archive"]
            sizes = ", ".join(f"{(out / archive[key]).stat().st_size / 2**20:.1f} MiB {key}" for key in ("path", "pmtiles"))
            print(f"  archive z0-{args.zoom}: {archive['tile_count']:,} tiles, {sizes}", flush=True)
        per_zoom = {z: args.low_zoom_tiles for z in range(0, 10)} | {z: args.tiles_per_zoom for z in COLD_ZOOMS}
        sample = tile_sample(out, "nc", range(args.zoom + 1, 17), per_zoom, rng)
        print(f"density layers loaded in {sample.layer_load_s:.1f} s (once per server worker; not in the encode times below)")
        print("| zoom | tiles touching the state | sampled | encode p50 | encode p99 | mean size | estimated zoom total |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        estimates: dict[int, float] = {}
        for zoom, found in sample.zooms.items():
            ms, sizes = np.array(found["ms"]), np.array(found["bytes"])
            estimates[zoom] = found["tiles"] * ms.mean() / 1000
            print(
                f"| {zoom} | {found['tiles']:,} | {len(ms)} | {np.percentile(ms, 50):.1f} ms | {np.percentile(ms, 99):.1f} ms | "
                f"{sizes.mean() / 1024:.1f} KiB | {estimates[zoom]:.0f} s, {found['tiles'] * sizes.mean() / 2**20:.1f} MiB |"
            )
        if args.tippecanoe:
            tippecanoe, size = tippecanoe_run(out, scratch, 14)
            print(
                f"tippecanoe z0-14 (peer settings): {tippecanoe.seconds:.1f} s, CPU {tippecanoe.cpu_seconds:.0f} s, "
                f"{size / 2**20:.1f} MiB, "
                f"peak RSS {_gib(tippecanoe.peak_bytes)}, {_load(tippecanoe.load)}",
                flush=True,
            )
        cores, measured = len(os.sched_getaffinity(0)), (args.zoom, run.stages["tiles, report"])
        for top in (int(z) for z in args.archive_zooms.split(",") if z):
            path = scratch / f"nc-z{top}.mbtiles"
            archived = archive_run(out, top, path, args.archive_timeout)
            if not archived.finished:
                guess = measured[1] + sum(estimates.get(z, 0.0) for z in range(measured[0] + 1, top + 1)) / cores
                print(
                    f"archive z0-{top}: stopped after {archived.seconds:.0f} s (--archive-timeout), peak RSS so far "
                    f"{_gib(archived.peak_bytes)}, {_load(archived.load)}; extrapolated from z0-{measured[0]} and the "
                    f"samples above on {cores} cores: {guess / 60:.1f} min"
                )
                continue
            figures = json.loads(archived.stdout)
            measured = (top, figures["seconds"])
            print(
                f"archive z0-{top}: {figures['seconds']:.1f} s, PMTiles copy {figures['pmtiles_seconds']:.1f} s "
                f"({archived.seconds:.1f} s with reading the layer, CPU {archived.cpu_seconds:.0f} s), "
                f"{figures['tiles']:,} tiles, {path.stat().st_size / 2**20:.1f} MiB, peak RSS {_gib(archived.peak_bytes)} "
                f"(build process and helpers), {_load(archived.load)}",
                flush=True,
            )
            path.unlink()
            path.with_suffix(".pmtiles").unlink()


def lowzoom_main(args: argparse.Namespace) -> None:
    """Issue 26, item 2: what archiving a national-size layer costs against tippecanoe, zooms 0-N
    for each N of `--archive-zooms`: crimetiles' archive (MBTiles and its PMTiles copy, in a
    process of its own, as `boundaries` runs it), tippecanoe with the peer settings (tiny polygons
    kept) and tippecanoe with its default tiny-polygon reduction. Prints the CPU and wall seconds,
    the MBTiles file's bytes, the tiles' own bytes and the peak resident memory of each."""
    rng = np.random.default_rng(7)
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.keep) as scratch_name:
        scratch = Path(scratch_name)
        out, _ = nc_build(scratch, args.polygons, args.incidents, -1, rng)
        print("| archive | CPU | wall time | MBTiles | tile bytes | peak RSS (PSS) | load start / end |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for top in (int(z) for z in args.archive_zooms.split(",") if z):
            path = scratch / f"nc-z{top}.mbtiles"
            _print_archive_row(
                f"crimetiles z0-{top} (MBTiles + PMTiles)", archive_run(out, top, path, args.archive_timeout), path
            )
            path.with_suffix(".pmtiles").unlink(missing_ok=True)
            for reduction, label in ((False, "peer settings"), (True, "tiny-polygon reduction")):
                tippecanoe, _ = tippecanoe_run(out, scratch, top, reduction)
                _print_archive_row(f"tippecanoe z0-{top}, {label}", tippecanoe, scratch / "tippecanoe.mbtiles")


def _print_archive_row(label: str, run: ProcessRun, mbtiles: Path) -> None:
    """One line of `lowzoom_main`'s table; removes the archive after reading it."""
    from peerlib.demo import read_archive

    load = f"{run.load[0]:.1f} / {run.load[1]:.1f}"
    if not run.finished:
        print(f"| {label} | stopped after {run.seconds:.0f} s | | | | {_peaks(run)} | {load} |")
        return
    tile_bytes = sum(map(len, read_archive(mbtiles).values()))
    print(
        f"| {label} | {run.cpu_seconds:.1f} s | {run.seconds:.1f} s | {mbtiles.stat().st_size / 2**20:.1f} MiB | "
        f"{tile_bytes / 2**20:.1f} MiB | {_peaks(run)} | {load} |",
        flush=True,
    )
    mbtiles.unlink()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    incidents = commands.add_parser("incidents", help="the 10^4..10^8 curve")
    incidents.add_argument("--sizes", default="1e4,1e5,1e6,1e7", help="incident counts, comma-separated (default 1e4..1e7)")
    incidents.add_argument("--engine", choices=["local", "dask"], default="local", help="build engine (default local)")
    incidents.add_argument("--chunk-rows", type=int, default=0, help="--chunk-rows for the build (default: the build's)")
    incidents.add_argument("--keep", default=None, help="scratch folder for inputs and builds (default: the system's)")
    incidents.add_argument(
        "--inputs",
        default=None,
        help="keep the generated incidents in this folder and reuse them in later runs (default: generate each run)",
    )
    incidents.add_argument(
        "--geopandas-up-to",
        type=float,
        default=1e7,
        help="also time a geopandas sjoin + groupby of the same input up to this size (default 1e7: it holds every point)",
    )
    incidents.add_argument("--json", default=None, help="also write the figures to this JSON file")
    incidents.set_defaults(run=incidents_main)
    boundaries = commands.add_parser("boundaries", help="a 250,000-polygon boundary layer (Voronoi over North Carolina)")
    boundaries.add_argument("--polygons", type=int, default=250_000, help="Voronoi cells (default 250000)")
    boundaries.add_argument("--incidents", type=int, default=1_000_000, help="incidents over the state (default 1000000)")
    boundaries.add_argument("--zoom", type=int, default=9, help="archive max zoom of the build, -1 for none (default 9)")
    boundaries.add_argument(
        "--tiles-per-zoom", type=int, default=200, help="cold tiles timed per zoom 10-16, after the layer load (default 200)"
    )
    boundaries.add_argument("--low-zoom-tiles", type=int, default=3, help="tiles timed per zoom 0-9 above --zoom (default 3)")
    boundaries.add_argument("--no-tippecanoe", dest="tippecanoe", action="store_false", help="skip the tippecanoe run")
    boundaries.add_argument("--archive-zooms", default="12,14", help="archives z0-N timed after the build (default 12,14)")
    boundaries.add_argument("--archive-timeout", type=float, default=900, help="seconds before one is stopped (default 900)")
    boundaries.add_argument("--keep", default=None, help="scratch folder (default: the system's)")
    boundaries.set_defaults(run=boundaries_main)
    lowzoom = commands.add_parser("lowzoom", help="archives z0-N of a Voronoi layer against tippecanoe, reduction on and off")
    lowzoom.add_argument("--polygons", type=int, default=50_000, help="Voronoi cells (default 50000)")
    lowzoom.add_argument("--incidents", type=int, default=10_000, help="incidents over the state (default 10000)")
    lowzoom.add_argument("--archive-zooms", default="12,14", help="archives z0-N to time (default 12,14)")
    lowzoom.add_argument("--archive-timeout", type=float, default=1800, help="seconds before ours is stopped (default 1800)")
    lowzoom.add_argument("--keep", default=None, help="scratch folder (default: the system's)")
    lowzoom.set_defaults(run=lowzoom_main)
    archive = commands.add_parser("archive", help="one tileset's archive z0-N from a build (what boundaries times)")
    archive.add_argument("build", help="build directory")
    archive.add_argument("--tileset", required=True)
    archive.add_argument("--maxzoom", type=int, required=True)
    archive.add_argument("--out", required=True, help="MBTiles file to write")
    archive.set_defaults(run=archive_main)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
