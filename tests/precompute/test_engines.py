"""Chunked builds on either engine give the build a single pass over the whole input gives."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shapely.geometry import box

from crimetiles.precompute.build import BoundarySpec, BuildOptions, run_build
from crimetiles.precompute.chunks import IncidentSource, chunk_table, chunks, plan_file
from crimetiles.precompute.detect import IncidentColumns
from crimetiles.precompute.engine import LocalEngine, stop_worker_server
from crimetiles.precompute.synth import DURHAM_DATA_DIR
from tests.precompute.worker_probe import pipeline_imported, process_id

DURHAM_LAYERS = tuple(
    BoundarySpec(name, DURHAM_DATA_DIR / f"{name}.geojson") for name in ("blockgroups", "tracts", "neighborhoods")
)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A Dask cluster of 2 workers (threads, to start fast), reached by its address like a remote one."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def build(tmp_path: Path, name: str, incidents: tuple[Path, ...], **options: object) -> Path:
    out = tmp_path / name
    run_build(
        BuildOptions(incidents=incidents, boundaries=DURHAM_LAYERS, out=out, archive_maxzoom=-1, progress=False, **options)  # type: ignore[arg-type]
    )
    return out


def build_one_source(tmp_path: Path, name: str, files: tuple[Path, ...], **options: object) -> Path:
    """`build` of `files` as the one source of one agency."""
    return build(tmp_path, name, (), sources=(IncidentSource("police", files),), **options)


def assert_same_build(a: Path, b: Path) -> None:
    """Same report, same rejects.csv byte for byte, same density layers (their Arrow streams are
    the same tables again: tests/precompute/test_layer_stream.py)."""
    assert json.loads((a / "report.json").read_text()) == json.loads((b / "report.json").read_text())
    assert (a / "rejects.csv").read_bytes() == (b / "rejects.csv").read_bytes()
    assert sorted(p.name for p in (a / "layers").iterdir()) == sorted(p.name for p in (b / "layers").iterdir())
    for name in sorted(p.name for p in (a / "layers").glob("*.parquet")):
        left, right = gpd.read_parquet(a / "layers" / name), gpd.read_parquet(b / "layers" / name)
        pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
        assert left.geometry.geom_equals_exact(right.geometry, 0).all()


@pytest.fixture(scope="module")
def messy_inputs(tmp_path_factory: pytest.TempPathFactory, durham_incidents: Path) -> tuple[Path, Path]:
    """The demo police export split into an overlapping CSV and Parquet (rows 25001-30000 in
    both), with bad coordinates, dates and offenses, points moved out of the county and ids
    repeated in each: one agency's files (built with `build_one_source`)."""
    folder = tmp_path_factory.mktemp("messy")
    demo = pd.read_csv(durham_incidents / "durham_police.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(5)

    def mess(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        rows = rng.choice(len(frame), 60, replace=False)
        frame.loc[rows[:10], "geo_point_2d"] = ""
        frame.loc[rows[10:20], "geo_point_2d"] = "0, 0"
        frame.loc[rows[20:30], "date_rept"] = "not a date"
        frame.loc[rows[30:35], "date_rept"] = "2099-01-01"
        frame.loc[rows[35:45], "ucr_code"] = "9999"
        frame.loc[rows[45:60], "geo_point_2d"] = "36.5, -78.0"
        repeats = frame.sample(200, random_state=1)
        repeats.loc[repeats.index[:20], "ucr_code"] = "9999"
        return pd.concat([frame, repeats], ignore_index=True)

    csv, parquet = folder / "a.csv", folder / "b.parquet"
    mess(demo.iloc[:30000]).to_csv(csv, index=False)
    mess(demo.iloc[25000:]).to_parquet(parquet, index=False, row_group_size=4000)
    return csv, parquet


@pytest.mark.slow
def test_chunks_on_worker_processes_give_the_single_pass_build(tmp_path, messy_inputs):
    whole = build_one_source(tmp_path, "whole", messy_inputs, workers=1, chunk_rows=10**7)
    chunked = build_one_source(tmp_path, "chunked", messy_inputs, workers=2, chunk_rows=7000)
    assert_same_build(whole, chunked)
    report = json.loads((chunked / "report.json").read_text())
    for summary in report["inputs"]:
        assert summary["rows_read"] == summary["rows_used"] + summary["rows_rejected"]
    in_csv, in_parquet = (summary["rejected_by_reason"]["duplicate incident id"] for summary in report["inputs"])
    assert 0 < in_csv <= 180 and in_parquet > 4900  # 180 usable repeats at most; the 5000 overlapping rows
    rejects = pd.read_csv(chunked / "rejects.csv", dtype=str, keep_default_na=False)
    assert len(rejects) == sum(summary["rows_rejected"] for summary in report["inputs"])
    for _, rows in rejects.groupby("source", sort=False):
        assert rows["row"].astype(int).is_monotonic_increasing


@pytest.mark.slow
def test_dask_engine_gives_the_local_build_on_the_demo(tmp_path, durham_incidents, dask_scheduler):
    on_dask = build(tmp_path, "dask", (durham_incidents,), engine="dask", scheduler=dask_scheduler, chunk_rows=10000)
    local = build(tmp_path, "local", (durham_incidents,), workers=1)
    assert_same_build(local, on_dask)
    published = pd.read_csv(DURHAM_DATA_DIR / "violent_counts_blockgroup.csv", dtype={"id": str}).set_index("id").fillna(0)
    blockgroups = gpd.read_parquet(on_dask / "layers" / "blockgroups.parquet").set_index("id")
    for year in range(2012, 2017):
        assert (blockgroups[f"violent_count_{year}"] == published[f"y_{year}"].reindex(blockgroups.index)).all()


@pytest.mark.slow
def test_dask_engine_gives_the_local_build_on_messy_files(tmp_path, messy_inputs, dask_scheduler):
    on_dask = build_one_source(tmp_path, "dask", messy_inputs, engine="dask", scheduler=dask_scheduler, chunk_rows=7000)
    local = build_one_source(tmp_path, "local", messy_inputs, workers=2, chunk_rows=7000)
    assert_same_build(local, on_dask)


def _square_layer(path: Path) -> Path:
    gpd.GeoDataFrame({"id": ["sq"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326").to_file(path)
    return path


def square_build(tmp_path: Path, name: str, incidents: tuple[Path, ...], **options: object) -> dict:
    """Build `incidents` over the unit square alone (no hex grid, no archive) into `tmp_path/name`;
    returns the report."""
    square = tmp_path / "square.geojson"
    if not square.exists():
        _square_layer(square)
    layers = (BoundarySpec("square", square),)
    out = tmp_path / name
    return run_build(
        BuildOptions(
            incidents=incidents, boundaries=layers, out=out, hex_resolutions=(), archive_maxzoom=-1, progress=False, **options
        )  # type: ignore[arg-type]
    ).report


def test_repeated_ids_are_found_across_chunks_and_files(tmp_path):
    """Ids repeat 3000 rows apart (other chunks with --chunk-rows 1000) and across files; the
    first usable row of an id keeps it, even after a first occurrence with an unknown offense."""
    first = pd.DataFrame(
        {
            "inci_id": [f"A{i}" for i in range(4000)],
            "date_rept": "2015-06-01",
            "ucr_code": "0810",
            "geo_point_2d": "0.5, 0.5",
        }
    )
    first.loc[3000:3009, "inci_id"] = [f"A{i}" for i in range(10)]  # repeats of rows 1-10
    first.loc[100, "ucr_code"] = "9999"  # A100: unknown offense, so row 3101's A100 is no duplicate
    first.loc[3100, "inci_id"] = "A100"
    second = pd.DataFrame(
        {"inci_id": ["A5", "B1", "A3999", "B1", ""], "date_rept": "2016-01-01", "ucr_code": "0810", "geo_point_2d": "0.5, 0.5"}
    )
    first.to_csv(tmp_path / "first.csv", index=False)
    second.to_parquet(tmp_path / "second.parquet", index=False)
    out = tmp_path / "build"
    one_source = (IncidentSource("police", (tmp_path / "first.csv", tmp_path / "second.parquet")),)
    report = square_build(tmp_path, "build", (), sources=one_source, chunk_rows=1000, workers=1, years=range(2015, 2017))
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    duplicates = rejects[rejects["reason"] == "duplicate incident id"]
    first_csv, second_parquet = str(tmp_path / "first.csv"), str(tmp_path / "second.parquet")
    assert duplicates[["source", "row", "detail"]].values.tolist() == [
        *[[first_csv, str(3001 + i), f"A{i}"] for i in range(10)],
        [second_parquet, "1", f"also in {first_csv}"],
        [second_parquet, "3", f"also in {first_csv}"],
        [second_parquet, "4", "B1"],
    ]
    assert [(s["rows_read"], s["rows_used"], s["rows_rejected"]) for s in report["inputs"]] == [(4000, 3989, 11), (5, 2, 3)]
    layer = gpd.read_parquet(out / "layers" / "square.parquet")
    assert layer[["violent_count_2015", "violent_count_2016"]].iloc[0].tolist() == [3989, 2]


def test_a_folder_and_a_glob_read_every_file_by_name(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    for part, year in enumerate((2014, 2015, 2016)):
        pd.DataFrame(
            {
                "inci_id": [f"{year}-{i}" for i in range(3)],
                "date_rept": f"{year}-02-01",
                "ucr_code": "0810",
                "geo_point_2d": "0.5, 0.5",
            }
        ).to_parquet(parts / f"part-{part}.parquet", index=False)
    (parts / "notes.md").write_text("not incidents")
    for name, given in (("folder", parts), ("glob", parts / "part-[12].parquet")):
        report = square_build(tmp_path, name, (given,))
        expected = (
            ["part-0.parquet", "part-1.parquet", "part-2.parquet"] if name == "folder" else ["part-1.parquet", "part-2.parquet"]
        )
        assert [Path(summary["path"]).name for summary in report["inputs"]] == expected
        assert sum(report["violent_by_year"].values()) == 3 * len(expected)


def test_windows_1252_text_after_the_first_chunk_is_read_as_such(tmp_path):
    """The encoding is decided on the whole file: a byte that is not UTF-8 in row 1500 makes the
    file Windows-1252 even though the first chunk (1000 rows) is plain ASCII."""
    rows = ["inci_id;date_rept;ucr_code;geo_point_2d"]
    rows += [f"{i};2015-06-01;0810;0.5, 0.5" for i in range(1, 2001)]
    rows[1500] = "1500;2015-06-01;VOL À MAIN ARMÉE;0.5, 0.5"
    path = tmp_path / "latin.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    out = tmp_path / "build"
    report = square_build(tmp_path, "build", (path,), chunk_rows=1000, workers=1)
    assert report["unknown_offenses"] == {"VOL À MAIN ARMÉE": 1}
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert rejects[["row", "reason", "detail"]].values.tolist() == [["1500", "unknown offense", "VOL À MAIN ARMÉE"]]
    assert report["violent_by_year"] == {"2015": 1999}


@pytest.mark.slow
def test_the_build_command_counts_on_a_cluster_given_by_its_address(tmp_path, durham_incidents, dask_scheduler):
    """`crimetiles build ... --engine dask --scheduler ADDRESS`, as the README runs a real cluster."""
    from click.testing import CliRunner

    from crimetiles.cli import main

    out = tmp_path / "build"
    arguments = ["build", str(durham_incidents), "--engine", "dask", "--scheduler", dask_scheduler, "--out", str(out)]
    result = CliRunner().invoke(main, [*arguments, "--hex-res", "6", "--archive-maxzoom", "0"])
    assert result.exit_code == 0, result.output
    published = pd.read_csv(DURHAM_DATA_DIR / "violent_counts_blockgroup.csv", dtype={"id": str}).set_index("id").fillna(0)
    blockgroups = gpd.read_parquet(out / "layers" / "blockgroups.parquet").set_index("id")
    for year in range(2012, 2017):
        assert (blockgroups[f"violent_count_{year}"] == published[f"y_{year}"].reindex(blockgroups.index)).all()


def test_the_workers_stop_once_the_densities_are_computed(tmp_path: Path, durham_incidents: Path):
    """Each counting worker holds every boundary layer (a locator of 250,000 polygons is most of a
    GiB): they stop before the tile archives, which fork a helper per further core of their own."""
    workers_at: dict[str, int] = {}

    def say(message: str) -> None:
        for stage in ("violent incidents in", "density layer(s) written"):
            if stage in message:
                workers_at[stage] = len(multiprocessing.active_children())

    options = BuildOptions(
        incidents=(durham_incidents,),
        boundaries=DURHAM_LAYERS[2:],
        out=tmp_path / "build",
        hex_resolutions=(),
        archive_maxzoom=8,
        progress=False,
        workers=2,
        chunk_rows=10_000,
    )
    run_build(options, say)
    assert workers_at["violent incidents in"] >= 1
    assert workers_at["density layer(s) written"] == 0


@pytest.fixture
def probes_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers import a task's module by name: this repository's root on the path of the fork
    server they are forked from (stopped first, so that the next one starts with that path)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    stop_worker_server()


def test_workers_start_with_the_pipeline_imported(probes_importable: None):
    """Workers are forked from a server that imported the pipeline once: no worker imports it
    again (half a second each, a tenth of a ten-million-row build)."""
    engine = LocalEngine(2)
    try:
        assert list(engine.map(pipeline_imported, None, range(4))) == [True] * 4
    finally:
        engine.close()


def test_a_closed_engine_leaves_no_process_behind(probes_importable: None):
    """Closing the engine stops its workers and the server they were forked from, and waits for
    them: nothing outlives a build, and the workers' CPU time counts among this process's
    children's, where a benchmark reads it."""
    cpu_before, children_before = _children_cpu(), _living_children()  # other tests' browser drivers, say
    engine = LocalEngine(2)
    workers = set(engine.map(process_id, None, range(4)))
    engine.close()
    assert workers and os.getpid() not in workers
    assert _living_children() - children_before == set()
    assert _children_cpu() > cpu_before


def _living_children() -> set[tuple[int, str]]:
    """The ids and command lines of this process's child processes still running (not zombies),
    but multiprocessing's resource tracker, which it keeps for the life of the process."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and "resource_tracker" not in command:
            children.add((int(stat.parent.name), command))
    return children


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.slow
def test_offense_and_date_columns_stored_as_dictionaries_give_the_build_of_plain_ones(tmp_path, messy_inputs):
    """A Parquet text column stored as a dictionary (what writers do with offense codes and dates)
    is read as one, and its distinct values are stripped and parsed once: the same build as the
    same rows stored as plain values, padded spaces, missing values, unknown offenses and all."""
    frame = pd.read_parquet(messy_inputs[1])
    rng = np.random.default_rng(7)
    rows = rng.choice(len(frame), 400, replace=False)
    frame.loc[rows[:100], "ucr_code"] = " " + frame.loc[rows[:100], "ucr_code"] + "  "
    frame.loc[rows[100:150], "ucr_code"] = None
    frame.loc[rows[150:250], "date_rept"] = frame.loc[rows[150:250], "date_rept"] + " "
    frame.loc[rows[250:300], "date_rept"] = None
    frame.loc[rows[300:340], "ucr_code"] = " 9999 "
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path = tmp_path / "police.parquet"
    builds = {}
    for stored in ("plain", "dictionary"):
        pq.write_table(table, path, row_group_size=4000, use_dictionary=stored == "dictionary")
        file = plan_file(path, IncidentColumns(), "police")
        (chunk,) = itertools.islice(chunks(file, 4000, file.needed_columns()), 1)
        read = chunk_table(file, chunk, file.needed_columns())
        assert isinstance(read["ucr_code"].dtype, pd.CategoricalDtype) == (stored == "dictionary")
        assert isinstance(read["date_rept"].dtype, pd.CategoricalDtype) == (stored == "dictionary")
        assert not isinstance(read["inci_id"].dtype, pd.CategoricalDtype)
        builds[stored] = build_one_source(tmp_path, stored, (path,), workers=2, chunk_rows=7000)
    assert_same_build(builds["plain"], builds["dictionary"])
    report = json.loads((builds["dictionary"] / "report.json").read_text())
    assert report["inputs"][0]["rejected_by_reason"]["unknown offense"] >= 50


@pytest.mark.parametrize(("command", "starts"), [("build", True), ("demo", True), ("serve", False), ("export", False)])
def test_the_counting_commands_start_the_worker_server_first(command: str, starts: bool):
    """`crimetiles build` and `demo` start the fork server before they import their own modules
    (here with --help, which stops there); the other commands start none."""
    probe = (
        "import os, sys\n"
        "from multiprocessing import forkserver\n"
        "def report(code=0):\n"
        "    print(forkserver._forkserver._forkserver_pid is not None, flush=True)\n"
        "    exit_now(code)\n"
        "exit_now, os._exit = os._exit, report  # a build that succeeds leaves through os._exit\n"
        f"sys.argv = ['crimetiles', {command!r}, '--help']\n"
        "import crimetiles.__main__\n"
        "try:\n"
        "    crimetiles.__main__.main()\n"
        "except SystemExit:\n"
        "    report()\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.splitlines()[-1] == str(starts)
