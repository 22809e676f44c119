"""How `crimetiles build` scales: wall time, peak memory and rows per second per stage, 10^4 to 10^8 incidents.

Usage:
  python benchmarks/scale.py incidents [--sizes 1e4,1e5,1e6,1e7] [--engine local|dask] [--keep DIR]
  python benchmarks/scale.py boundaries [--polygons 250000] [--incidents 1000000] [--zoom 14]

`incidents` generates Durham-schema incidents as Parquet partitions of a million rows (vectorised:
the demo's incident locations jittered by about 100 m, so a few fall outside the county; offenses
drawn from the demo's; dates over 2012-2016; 0.1 % repeated ids, half of them in another
partition), then times `crimetiles build FOLDER` (the bundled Durham boundaries, H3 6-9, tile
archives z0-14) in a subprocess, sampling the resident memory of it and its worker processes.
Stages come from the build's console lines: planning and the first pass (offense and id columns),
the counting pass, then densities, layers, tile archives and report.

`boundaries` is section 3 of the scale issue: see `boundaries_main`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PART_ROWS = 1_000_000
JITTER_DEG = 0.001
REPEATED_ID_SHARE = 0.001
YEARS = (2012, 2016)
CRIMETILES = [sys.executable, "-m", "crimetiles"]
STAGE_MARKS = (
    ("classification:", "plan + first pass"),
    (" violent incidents in ", "counting pass"),
    ("wrote ", "densities, tiles, report"),
)


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


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants together, sampled every 50 ms."""

    pid: int
    peak_bytes: int = 0
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
            self.peak_bytes = max(self.peak_bytes, sum(_rss(pid) for pid in _tree(self.pid)))


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
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class BuildRun:
    seconds: float
    peak_bytes: int
    stages: dict[str, float]
    output: str


def timed_build(arguments: list[str]) -> BuildRun:
    """Run `crimetiles build ARGUMENTS`, timing the stages by the console lines they end with."""
    started = time.perf_counter()
    process = subprocess.Popen([*CRIMETILES, "build", *arguments], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    marks: dict[str, float] = {}
    lines: list[str] = []
    with TreeMemory(process.pid) as memory:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            for text, stage in STAGE_MARKS:
                if text in line and stage not in marks:
                    marks[stage] = time.perf_counter() - started
        process.wait()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit("".join(lines[-20:]))
    stages, previous = {}, 0.0
    for _, stage in STAGE_MARKS:
        stages[stage] = marks.get(stage, seconds) - previous
        previous = marks.get(stage, seconds)
    return BuildRun(seconds, memory.peak_bytes, stages, "".join(lines))


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
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, load average {load:.1f}"


def incidents_main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(
        "| incidents | engine | wall time | peak RSS (all processes) | plan + first pass | counting pass | densities, tiles, report |"  # noqa: E501
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = []
    with tempfile.TemporaryDirectory(dir=args.keep) as scratch:
        for size in (int(float(s)) for s in args.sizes.split(",")):
            folder = Path(scratch) / f"incidents-{size}"
            generated = write_incidents(folder, size)
            extra = ["--engine", args.engine, *(["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else [])]
            run = timed_build([str(folder), "--out", str(Path(scratch) / f"build-{size}"), *extra])
            rates = {stage: size / seconds for stage, seconds in run.stages.items()}
            cells = " | ".join(f"{run.stages[stage]:.1f} s ({rates[stage]:,.0f}/s)" for _, stage in STAGE_MARKS)
            print(f"| {size:,} | {args.engine} | {run.seconds:.1f} s | {run.peak_bytes / 2**30:.2f} GiB | {cells} |", flush=True)
            results.append(
                {
                    "incidents": size,
                    "generate_s": generated,
                    "seconds": run.seconds,
                    "peak_bytes": run.peak_bytes,
                    "stages": run.stages,
                }
            )
            report = json.loads((Path(scratch) / f"build-{size}" / "report.json").read_text())
            (summary,) = [
                {"read": sum(i["rows_read"] for i in report["inputs"]), "used": sum(i["rows_used"] for i in report["inputs"])}
            ]
            assert summary["read"] == size, summary
            _remove_tree(folder)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    incidents = commands.add_parser("incidents", help="the 10^4..10^8 curve")
    incidents.add_argument("--sizes", default="1e4,1e5,1e6,1e7", help="incident counts, comma-separated (default 1e4..1e7)")
    incidents.add_argument("--engine", choices=["local", "dask"], default="local", help="build engine (default local)")
    incidents.add_argument("--chunk-rows", type=int, default=0, help="--chunk-rows for the build (default: the build's)")
    incidents.add_argument("--keep", default=None, help="scratch folder for inputs and builds (default: the system's)")
    incidents.add_argument("--json", default=None, help="also write the figures to this JSON file")
    incidents.set_defaults(run=incidents_main)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
