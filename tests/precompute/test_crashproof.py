"""A crash never leaves the server without a build: real SIGKILLs of real `crimetiles build`
processes, at random moments and at each system call of the swap; a full disk is one line; the
server recovers a complete build that an interrupted swap left beside the output path."""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mapbox_vector_tile
import pytest
import requests
from click.testing import CliRunner

from crimetiles.artifact.reader import open_build
from crimetiles.cli import main
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from crimetiles.server.context import live_build

CRIMETILES = [sys.executable, "-m", "crimetiles"]
SQUARES = {"north-end": (-78.92, 35.99), "east-end": (-78.89, 35.98)}
"""Two 0.02-degree squares in Durham, by their south-west corners (lon, lat)."""
TILE = "10/287/402"
"""The zoom-10 tile holding both squares."""
OFFENSES = (("0810", "ASSAULT - SIMPLE"), ("0310", "ROBBERY - INDIVIDUAL"), ("0600", "LARCENY - ALL OTHER"))


def square_ring(west: float, south: float, side: float = 0.02) -> list[list[float]]:
    east, north = west + side, south + side
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """300 incidents in the Durham export's columns, all inside the squares, and the squares."""
    folder = tmp_path_factory.mktemp("inputs")
    features = [
        {
            "type": "Feature",
            "properties": {"id": name, "name": name.replace("-", " ").title()},
            "geometry": {"type": "Polygon", "coordinates": [square_ring(west, south)]},
        }
        for name, (west, south) in SQUARES.items()
    ]
    boundaries = folder / "squares.geojson"
    boundaries.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    rng = random.Random(2016)
    lines = ["inci_id,date_rept,ucr_code,chrgdesc,latitude,longitude"]
    for number in range(300):
        west, south = SQUARES["north-end" if number % 2 else "east-end"]
        code, text = rng.choice(OFFENSES)
        lat, lon = south + rng.uniform(0.001, 0.019), west + rng.uniform(0.001, 0.019)
        date = f"{2014 + number % 3}-0{1 + number % 9}-1{number % 10}"
        lines.append(f"{14000000 + number},{date},{code},{text},{lat:.6f},{lon:.6f}")
    incidents = folder / "incidents.csv"
    incidents.write_text("\r\n".join(lines) + "\r\n")
    return incidents, boundaries


def build_args(inputs: tuple[Path, Path], out: Path, *options: str) -> list[str]:
    """`crimetiles build` of the squares into `out`: two density layers (squares and hex8)."""
    incidents, boundaries = inputs
    columns = ["--lat-col", "latitude", "--lon-col", "longitude", "--date-col", "date_rept", "--offense-col", "ucr_code"]
    return ["build", str(incidents), "-b", f"squares={boundaries}", *columns, "--hex-res", "8", "-o", str(out), "-q", *options]


def build_command(inputs: tuple[Path, Path], out: Path, *options: str) -> list[str]:
    return [*CRIMETILES, *build_args(inputs, out, *options)]


def build(inputs: tuple[Path, Path], out: Path, *options: str) -> str:
    """Run a build to completion (in this process: faster); returns the build id now at `out`."""
    result = CliRunner().invoke(main, build_args(inputs, out, "--archive-maxzoom", "10", *options))
    assert result.exit_code == 0, result.output
    return complete_build_id(out)


def complete_build_id(out: Path) -> str:
    """The id of the build at `out`, after checking that every file its manifest names exists."""
    root = open_build(out).root
    manifest = json.loads((root / "manifest.json").read_text())
    named = [layer["path"] for layer in manifest["layers"].values()]
    named += [tileset["archive"]["path"] for tileset in manifest["tilesets"].values() if tileset["archive"]]
    assert "layers/squares.parquet" in named and "tiles/squares.mbtiles" in named
    assert all((root / path).is_file() for path in named)
    return manifest["build_id"]


APP_CREATION = threading.Lock()
"""CPython 3.11 can fail to compile werkzeug's URL builders (`ast.parse`) in two threads at once
("SystemError: AST constructor recursion depth mismatch"): the parallel kill lanes create apps one
at a time. A server creates its app once per process, so this concerns the test only."""


def served_build_id(build_dir: Path) -> str:
    """Start the app on `build_dir` as gunicorn does and fetch a tile; returns the build served."""
    with APP_CREATION:
        app = create_app(ServerConfig(build_dir=build_dir, reload_interval=0))
    response = app.test_client().get(f"/tiles/squares/{TILE}.mvt")
    assert response.status_code == 200
    features = mapbox_vector_tile.decode(response.data)["squares"]["features"]
    assert sorted(feature["properties"]["id"] for feature in features) == ["east-end", "north-end"]
    return live_build(app).service.build_id


def ours(out: Path) -> list[str]:
    """The output path and every entry the builds of it made beside it, by name."""
    names = (entry.name for entry in out.parent.iterdir())
    return sorted(name for name in names if name == out.name or name.startswith(f".{out.name}."))


def staging_dirs(out: Path) -> list[str]:
    return [name for name in ours(out) if name.startswith(f".{out.name}.tmp-")]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def kill_after_staging_appears(command: list[str], out: Path, delay: float) -> int:
    """Start a build, SIGKILL it `delay` seconds after its staging directory appears; its exit code."""
    process = subprocess.Popen(command)
    wait_for(lambda: bool(staging_dirs(out)) or process.poll() is not None)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait()


def seconds_of_writing(command: list[str], out: Path) -> float:
    """Run a first build of `out`: seconds from its staging directory's appearance to its exit."""
    process = subprocess.Popen(command)
    wait_for(lambda: bool(staging_dirs(out)) or process.poll() is not None)
    appeared = time.monotonic()
    assert process.wait() == 0
    return time.monotonic() - appeared


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_a_complete_servable_build(inputs, tmp_path):
    lanes, kills_per_lane = 2, 10
    rng = random.Random(20250101)
    fractions = [[rng.uniform(0, 1) for _ in range(kills_per_lane)] for _ in range(lanes)]

    def kill_repeatedly(lane: int) -> tuple[Path, list[str], list[str]]:
        """Kill builds of one output at the drawn fractions of the time its first build took from
        the appearance of its staging directory to its exit (writing, swap, removal of old builds)."""
        out = tmp_path / f"lane{lane}" / "build"
        out.parent.mkdir()
        command = build_command(inputs, out, "--archive-maxzoom", "12")
        window = seconds_of_writing(command, out)
        history, outcomes = [complete_build_id(out)], []
        for fraction in fractions[lane]:
            code = kill_after_staging_appears(command, out, fraction * window)
            now = complete_build_id(out)
            assert code in (0, -signal.SIGKILL)
            assert now not in history if code == 0 else (now == history[-1] or now not in history)
            assert served_build_id(out) == now
            assert len(staging_dirs(out)) <= 1, "stale staging directories of earlier builds were not removed"
            outcomes.append("finished" if code == 0 else "killed, old build" if now == history[-1] else "killed, new build")
            history.append(now)
        return out, history, outcomes

    with ThreadPoolExecutor(lanes) as pool:
        results = list(pool.map(kill_repeatedly, range(lanes)))
    outcomes = [outcome for _, _, lane_outcomes in results for outcome in lane_outcomes]
    assert outcomes.count("killed, old build") >= len(outcomes) // 4, outcomes
    for out, history, _ in results:
        final = build(inputs, out)
        assert ours(out) == sorted(["build", ".build.lock", f".build.v-{history[-1]}", f".build.v-{final}"])


def strace_or_skip() -> str:
    strace = shutil.which("strace")
    if strace is None:
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("strace not found and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("strace not found (apt-get install strace)")
    probe = subprocess.run([strace, "-qq", "-o", os.devnull, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here (ptrace not permitted?): {probe.stderr.strip()}")
    return strace


def kill_at_syscall(strace: str, command: list[str], syscall: str, occurrence: int) -> int:
    """Run `command` and SIGKILL it on entering its `occurrence`-th `syscall`, before that call runs."""
    names = {"rename": "?rename,?renameat,?renameat2", "symlink": "?symlink,?symlinkat", "unlinkat": "unlinkat"}[syscall]
    inject = f"inject={names}:signal=KILL:when={occurrence}"
    return subprocess.run([strace, "-f", "-qq", "-o", os.devnull, "-e", inject, *command]).returncode


# The system calls of a rebuild of a linked output: rename the staging directory to its version,
# create the new link, rename it over the output, then (unlinkat) remove the build before the previous.
LINKED_KILLS = [("rename", 1, "old"), ("symlink", 1, "old"), ("rename", 2, "old"), ("unlinkat", 1, "new")]
# The first rebuild of an output that is a real directory (older crimetiles): the same, with the
# real directory moved aside (rename 2) just before the link takes its name (rename 3).
MIGRATION_KILLS = [("rename", 1, "old"), ("symlink", 1, "old"), ("rename", 2, "old"), ("rename", 3, "recovered")]


def copy_output(source: Path, destination: Path) -> Path:
    shutil.copytree(source.parent, destination, symlinks=True)
    return destination / source.name


@pytest.mark.slow
def test_sigkill_at_each_system_call_of_the_swap(inputs, tmp_path):
    strace = strace_or_skip()
    linked = tmp_path / "linked" / "build"
    first = build(inputs, linked)
    old = build(inputs, linked)
    legacy = tmp_path / "legacy" / "build"
    shutil.copytree(open_build(linked).root, legacy)  # what older crimetiles wrote: a real directory
    cases = [(linked, *case) for case in LINKED_KILLS] + [(legacy, *case) for case in MIGRATION_KILLS]

    def kill_once(index: int) -> tuple[Path, str, str]:
        source, syscall, occurrence, expected = cases[index]
        out = copy_output(source, tmp_path / f"case{index}")
        code = kill_at_syscall(strace, build_command(inputs, out, "--archive-maxzoom", "10"), syscall, occurrence)
        assert code == -signal.SIGKILL, (syscall, occurrence)
        return out, expected, served_build_id(out)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(kill_once, range(len(cases))))
    for (out, expected, served), (_, syscall, occurrence, _) in zip(results, cases, strict=True):
        if expected == "old":
            assert complete_build_id(out) == served == old, (syscall, occurrence)
            continue
        assert served not in (first, old) and (out.parent / f".build.v-{served}").is_dir(), (syscall, occurrence)
        if expected == "new":
            assert complete_build_id(out) == served, (syscall, occurrence)
        else:
            assert not os.path.lexists(out), (syscall, occurrence)
    out, _, recovered = results[-1]  # killed with no build at the output path
    final = build(inputs, out)
    assert os.readlink(out) == f".build.v-{final}"
    assert ours(out) == sorted(["build", ".build.lock", f".build.v-{final}", f".build.v-{recovered}"])


def test_a_real_directory_is_migrated_to_a_link_and_kept_once_as_the_previous_build(inputs, tmp_path):
    source = tmp_path / "source" / "build"
    build(inputs, source)
    out = tmp_path / "site" / "build"
    shutil.copytree(open_build(source).root, out)
    old = complete_build_id(out)
    first = build(inputs, out)
    (aside,) = [name for name in ours(out) if name.startswith(".build.old-")]
    assert ours(out) == sorted(["build", ".build.lock", f".build.v-{first}", aside])
    assert complete_build_id(out.parent / aside / "build") == old
    second = build(inputs, out)
    assert ours(out) == sorted(["build", ".build.lock", f".build.v-{first}", f".build.v-{second}"])


@pytest.mark.parametrize("left", ["missing", "dangling link"])
def test_server_serves_the_newest_complete_build_left_behind_and_switches_to_the_next(inputs, tmp_path, caplog, left):
    """docs/artifact.md, "Recovery": `DIR` holds no build, missing or a link to nothing."""
    out = tmp_path / "build"
    older, newer = build(inputs, out), build(inputs, out)
    newest = build(inputs, tmp_path / "elsewhere" / "build")
    incomplete = shutil.copytree(open_build(tmp_path / "elsewhere" / "build").root, tmp_path / f".build.v-{newest}")
    (incomplete / "tiles" / "hex.mbtiles").unlink()  # the newest left behind is not complete
    out.unlink()  # no build at the output path, complete ones beside it
    if left == "dangling link":
        out.symlink_to(".build.v-gone")
    named = ["build"] if left == "dangling link" else []
    assert ours(out) == sorted([*named, ".build.lock", f".build.v-{older}", f".build.v-{newer}", f".build.v-{newest}"])
    with caplog.at_level(logging.WARNING, logger="crimetiles.server"):
        app = create_app(ServerConfig(build_dir=out, reload_interval=0))
    live = live_build(app)
    assert live.service.build_id == newer
    assert [record.getMessage() for record in caplog.records] == [recovery_warning(out, newer, tmp_path / f".build.v-{newer}")]
    assert live.reload_if_changed() is False
    latest = build(inputs, out)
    assert live.reload_if_changed() is True and live.service.build_id == latest
    assert app.test_client().get(f"/tiles/squares/{TILE}.mvt").status_code == 200


def recovery_warning(out: Path, build_id: str, left_in: Path) -> str:
    return f"{out} holds no build (an interrupted build or swap?); serving build {build_id} left behind in {left_in}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_crimetiles_serve_starts_on_what_an_older_crimetiles_left_after_a_kill_mid_swap(inputs, tmp_path):
    out = tmp_path / "build"
    build(inputs, tmp_path / "source" / "build")
    aside = tmp_path / ".build.old-k9x2b4"
    aside.mkdir()
    shutil.copytree(open_build(tmp_path / "source" / "build").root, aside / "build")  # older swap: moved aside, not replaced
    left = complete_build_id(aside / "build")
    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "w") as stderr:
        server = subprocess.Popen([*CRIMETILES, "serve", str(out), "--port", str(port), "--reload-interval", "0"], stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base + "/healthz"))
        tile = requests.get(f"{base}/tiles/squares/{TILE}.mvt", timeout=10)
        assert tile.status_code == 200 and mapbox_vector_tile.decode(tile.content)["squares"]["features"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    lines = log.read_text().splitlines()
    assert lines[:2] == [recovery_warning(out, left, aside / "build"), f"serving build {left} on {base}/"]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


DEEP_ARCHIVE = ("--maxzoom", "18", "--archive-maxzoom", "18")
"""Tiles down to zoom 18: a few seconds of writing and a few hundred KiB."""


def waiting_for_a_lock(pid: int) -> bool:
    """Whether process `pid` is blocked on a file lock (`->` lines of /proc/locks are waiters)."""
    return any(line.split()[1] == "->" and line.split()[5] == str(pid) for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.slow
def test_a_build_waits_for_a_live_build_of_the_same_output_and_leaves_its_staging_alone(inputs, tmp_path):
    out = tmp_path / "build"
    build(inputs, out)
    slow = subprocess.Popen(build_command(inputs, out, *DEEP_ARCHIVE))
    wait_for(lambda: bool(staging_dirs(out)) or slow.poll() is not None)
    slow.send_signal(signal.SIGSTOP)  # paused mid-write, holding the lock, however fast it writes
    second = subprocess.Popen(build_command(inputs, out, "--archive-maxzoom", "10"))
    wait_for(lambda: waiting_for_a_lock(second.pid) or second.poll() is not None or slow.poll() is not None)
    assert slow.poll() is None and second.poll() is None, "the second build did not wait for the first"
    slow.send_signal(signal.SIGCONT)
    assert slow.wait() == 0 and second.wait() == 0
    versions = sorted(name for name in ours(out) if name.startswith(".build.v-"))
    assert len(versions) == 2 and os.readlink(out) == versions[-1]  # the second build's, swapped in last
    assert ours(out) == sorted(["build", ".build.lock", *versions])


@pytest.fixture
def small_file_system(tmp_path):
    """A 160 KiB tmpfs: a real device that fills up."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount_point)]
    mounted = subprocess.run(command, capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        gc.collect()  # an app the test made holds its archives open until its reference cycles are freed
        unmounted = subprocess.run(["umount", str(mount_point)], capture_output=True, text=True)
        assert unmounted.returncode == 0, unmounted.stderr


def test_full_disk_is_one_line_and_leaves_the_previous_build(inputs, small_file_system):
    out = small_file_system / "build"
    previous = build(inputs, out, "--hex-res", "")
    free_before = shutil.disk_usage(small_file_system).free
    failed = subprocess.run(build_command(inputs, out, "--hex-res", "", *DEEP_ARCHIVE), capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stderr == f"Error: no space left on {small_file_system} while writing {out}/tiles/squares.mbtiles\n"
    assert complete_build_id(out) == previous == served_build_id(out)
    assert ours(out) == sorted(["build", ".build.lock", f".build.v-{previous}"])
    assert shutil.disk_usage(small_file_system).free == free_before
