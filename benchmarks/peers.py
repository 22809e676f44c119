"""crimetiles against the tools users would pick instead, on the Durham demo, in interleaved rounds.

Usage: python benchmarks/peers.py [--only cached,cold,build] [--rounds 3] [--duration 10] [--json OUT] [--smoke]

Sets everything up in a scratch directory (the Durham demo built with this venv's `crimetiles`),
checks that every contender serves the same tile contents, then runs rounds in which every
contender of a section runs once, the order rotated each round:

  cached  wrk on the 346 z8-14 block-group archive tiles: nginx static files (the physical limit),
          TileServer GL Light on the MBTiles, crimetiles with its production command; requests/s,
          latency p50/p99, server CPU per request (main process and every worker).
  cold    each tile made once: crimetiles in-process (encode + gzip) and over HTTP (no archive;
          every worker loads its density layers before the timing, a one-time load printed on
          its own), PostGIS ST_AsMVT(ST_AsMVTGeom(...)) + gzip in a throwaway cluster; p50 and
          mean per tile, server CPU per tile (main process and every worker).
  build   per tileset, crimetiles' archive writing against tippecanoe with matched settings; wall
          time and tile bytes.

Prints medians with [min-max] and per-round ratios; see benchmarks/README.md. Leaves nothing running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import mercantile
from peerlib import building, encoding, postgis, serving, tools
from peerlib.contents import compare_tiles
from peerlib.demo import SERVED_TILESET, SERVED_ZOOMS, Demo, build_demo, read_archive
from peerlib.load import LoadSettings, run_wrk
from peerlib.procs import start_ticks
from peerlib.report import Results, Spread

from crimetiles import __version__

WARM_UP_TILE = mercantile.Tile(35, 50, 7)
"""An on-demand tile outside the timed zooms, asked of each cold server's workers before the timing
so that they load their density layers (as a server that has been up a while has): Durham's at
zoom 7, where its areas are more than pixel dust (at zoom 0 the county is under a pixel, a 204)."""
SECTIONS = ("cached", "cold", "build")
TITLES = {
    "cached": "cached tiles (wrk, Accept-Encoding: gzip)",
    "cold": "cold tiles (each made once, ms per tile)",
    "build": "tile builds z0-14 (wall time, gzip tile bytes)",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run (default: cached,cold,build)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; 1 with --smoke)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 10; 1 with --smoke)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument(
        "--crimetiles-cmd",
        default=None,
        help="command serving crimetiles, with {host} and {port}, e.g. "
        "'gunicorn --workers 2 --threads 4 --bind {host}:{port} crimetiles.server.wsgi:app' "
        "(default: the Dockerfile's CMD, granian, without access logging)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=CMD",
        help="another command serving crimetiles (with {host} and {port}), timed in the cached section as "
        "'crimetiles (LABEL)' beside the main one, e.g. 'threads4=granian ... --blocking-threads 4 ...' (repeatable)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write every figure to this JSON file")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="scratch directory, kept afterwards (default: a temporary one, removed)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one short round on a block-groups-only build, with the contenders already installed (installs nothing)",
    )
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(args.sections) - set(SECTIONS):
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))} (choose from {', '.join(SECTIONS)})")
    for variant in args.variant:
        label, equals, command = variant.partition("=")
        if not (label and equals and "{port}" in command):
            parser.error(f"--variant: expected LABEL=CMD with {{port}} in CMD, got {variant!r}")
    args.rounds = args.rounds or (1 if args.smoke else 3)
    args.duration = args.duration or (1 if args.smoke else 10)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that every `finally` stops its servers
    command = serving.command_template(args.crimetiles_cmd) if args.crimetiles_cmd else serving.production_command()
    with _scratch(args.workdir) as scratch:
        run = Run(args, scratch, command)
        run.header()
        demo = build_demo(scratch, block_groups_only=args.smoke)
        run.say(f"Durham demo built in {scratch}")
        for section in args.sections:
            {"cached": run.cached, "cold": run.cold, "build": run.builds}[section](demo)
        return run.finish()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


@contextlib.contextmanager
def _scratch(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="crimetiles-peers-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Run:
    """One benchmark run: its settings, the tools found, the results and the processes it started."""

    def __init__(self, args: argparse.Namespace, scratch: Path, command: list[str]) -> None:
        self.args = args
        self.scratch = scratch
        self.command = command
        self.skips = tools.Skips()
        self.results = Results()
        self.started: list[dict[str, Any]] = []
        self.versions: dict[str, str] = {"crimetiles": f"{__version__} ({_git_commit()})"}
        self.machine = _machine()
        self.load = LoadSettings(args.threads, args.connections, args.duration)
        self.clock = time.monotonic()
        self.layer_loads: list[float] = []
        """Seconds of the first on-demand tile of each fresh crimetiles HTTP server: the density layers' load."""

    def say(self, message: str) -> None:
        """A progress line, with the seconds since the run started."""
        print(f"[{time.monotonic() - self.clock:6.1f} s] {message}", flush=True)

    def header(self) -> None:
        machine = self.machine
        print(
            f"{machine['date']}: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
            f"Python {machine['python']}, load average {machine['load_average_start']}",
            flush=True,
        )
        print(f"crimetiles command: {' '.join(self.command)}", flush=True)
        print(f"rounds: {self.args.rounds}, sections: {', '.join(self.args.sections)}", flush=True)

    def tool(self, name: str, find: Callable[[], Path]) -> Path | None:
        """A peer tool, or None after recording why it is skipped."""
        try:
            return find()
        except tools.MissingTool as error:
            self.skips.skip(name, error)
            return None

    def server(self, start: Callable[[], serving.TileServer]) -> serving.TileServer:
        served = start()
        self.started.append({"name": served.name, "pid": served.server.pid, "start_ticks": start_ticks(served.server.pid)})
        return served

    # cached tiles -------------------------------------------------------------------------------

    def cached(self, demo: Demo) -> None:
        tiles = read_archive(demo.archive(SERVED_TILESET), SERVED_ZOOMS)
        order = sorted(tiles, key=lambda t: (t.z, t.x, t.y))
        wrk = self.tool("wrk", tools.wrk)
        if wrk is None:
            return
        case = f"{SERVED_TILESET} z{SERVED_ZOOMS.start}-{SERVED_ZOOMS.stop - 1} ({len(tiles)} archive tiles), {self._load_text()}"
        with contextlib.ExitStack() as stack:
            servers = self._cached_servers(demo, tiles, stack)
            for served in servers:
                self._check_http("cached", served, tiles, order)
            self._fail_on_mismatch()
            for round_index in range(self.args.rounds):
                for served in _rotated(servers, round_index):
                    self.results.add("cached", case, served.name, round_index, self._wrk_round(served, order))
                    self.say(f"round {round_index + 1}: cached {served.name}")

    def _cached_servers(
        self, demo: Demo, tiles: dict[mercantile.Tile, bytes], stack: contextlib.ExitStack
    ) -> list[serving.TileServer]:
        servers = []
        nginx = self.tool("nginx", tools.nginx)
        if nginx is not None:
            self.versions["nginx"] = _version_output([str(nginx), "-v"])
            prefix = self.scratch / "nginx"
            servers.append(self.server(lambda: serving.start_nginx(nginx, tiles, SERVED_TILESET, prefix, _cores())))
            stack.callback(servers[-1].server.stop)
        tileserver = self.tool("tileserver-gl", lambda: tools.tileserver(install=not self.args.smoke))
        if tileserver is not None:
            self.versions["tileserver-gl"] = tools.TILESERVER_PACKAGE
            archive, log = demo.archive(SERVED_TILESET), self.scratch / "tileserver.log"
            servers.append(self.server(lambda: serving.start_tileserver(tileserver, archive, SERVED_TILESET, log)))
            stack.callback(servers[-1].server.stop)
        commands = {"crimetiles": self.command} | {
            f"crimetiles ({label})": serving.command_template(command)
            for label, _, command in (variant.partition("=") for variant in self.args.variant)
        }
        for index, (name, command) in enumerate(commands.items()):
            log = self.scratch / f"crimetiles-{index}.log"
            servers.append(
                self.server(lambda: serving.start_crimetiles(command, demo.archived, SERVED_TILESET, log, name))  # noqa: B023  called at once
            )
            stack.callback(servers[-1].server.stop)
        return servers

    def _wrk_round(self, served: serving.TileServer, order: list[mercantile.Tile]) -> dict[str, float]:
        paths = [served.path(tile) for tile in order]
        cpu_before = served.server.cpu_seconds()
        result = run_wrk(served.base_url, paths, self.load, self.scratch / "cycle.lua")
        cpu_used = served.server.cpu_seconds() - cpu_before
        return {
            "requests_per_s": result.requests_per_s,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "cpu_us_per_request": cpu_used / max(result.requests, 1) * 1e6,
            "requests": result.requests,
            "non_2xx": result.non_2xx,
            "socket_errors": result.socket_errors,
        }

    def _load_text(self) -> str:
        return f"wrk {self.load.threads} threads x {self.load.connections} connections, {self.load.duration_s} s"

    def _check_http(self, section: str, served: serving.TileServer, reference: dict, order: list[mercantile.Tile]) -> None:
        get, close = encoding.over_http(served.port, served.path)
        try:
            fetched = {tile: get(tile) for tile in order}
        finally:
            close()
        gzipped = sum(1 for body in fetched.values() if body[:2] == b"\x1f\x8b")
        self._record_check(section, compare_tiles(served.name, reference, fetched), gzip_responses=gzipped)

    def _record_check(self, section: str, check: Any, **extra: Any) -> None:
        self.results.add_check(section, check, **extra)
        verdict = "same contents" if check.passed else f"{len(check.mismatches)} tiles DIFFER"
        self.say(
            f"check {section} {check.contender}: {verdict} ({check.tiles_compared} tiles, {check.tiles_identical} identical, "
            f"{check.subpixel_differences} sub-pixel features only one side has)"
        )

    def _fail_on_mismatch(self) -> None:
        failed = [check for check in self.results.checks if not check["passed"]]
        if failed:
            lines = [f"{check['contender']}: {line}" for check in failed for line in check["mismatches"][:10]]
            raise SystemExit("contenders do not serve the same tiles; not timing them:\n" + "\n".join(lines))

    # cold tiles ---------------------------------------------------------------------------------

    def cold(self, demo: Demo) -> None:
        reference = read_archive(demo.archive(SERVED_TILESET), SERVED_ZOOMS)
        order = sorted(reference, key=lambda t: (t.z, t.x, t.y))
        frame = gpd.read_parquet(demo.layer(SERVED_TILESET))
        case = f"{SERVED_TILESET} z{SERVED_ZOOMS.start}-{SERVED_ZOOMS.stop - 1} ({len(order)} tiles)"
        with contextlib.ExitStack() as stack:
            contenders: dict[str, Callable[[], tuple[encoding.ColdRun, float | None]]] = {
                "crimetiles in-process": lambda: (encoding.crimetiles_in_process(frame, SERVED_TILESET, order), None),
                "crimetiles HTTP": lambda: self._cold_http(demo, order),
            }
            database = self._postgis(frame, stack)
            if database is not None:
                contenders["postgis"] = lambda: (encoding.each_once(order, encoding.compressed(database.tile)), None)
            for name, make_all in contenders.items():  # the check pass also warms PostgreSQL's caches
                self._record_check("cold", compare_tiles(name, reference, make_all()[0].tiles))
            self._fail_on_mismatch()
            for round_index in range(self.args.rounds):
                for name in _rotated(list(contenders), round_index):
                    timed, cpu_us = contenders[name]()
                    figures = timed.summary() | ({"cpu_us_per_tile": cpu_us} if cpu_us is not None else {})
                    self.results.add("cold", case, name, round_index, figures)
                    self.say(f"round {round_index + 1}: cold {name}")

    def _cold_http(self, demo: Demo, order: list[mercantile.Tile]) -> tuple[encoding.ColdRun, float]:
        """A fresh crimetiles server on the build without archive, each tile requested once, after
        every worker has loaded its density layers (the one-time load is timed on its own)."""
        log = self.scratch / "crimetiles-cold.log"
        served = self.server(
            lambda: serving.start_crimetiles(self.command, demo.unarchived, SERVED_TILESET, log, "crimetiles HTTP")
        )
        get, close = encoding.over_http(served.port, served.path)
        try:
            self.layer_loads.append(serving.load_layers_in_every_worker(served, WARM_UP_TILE))
            cpu_before = served.server.cpu_seconds()
            timed = encoding.each_once(order, get)
            cpu_us = (served.server.cpu_seconds() - cpu_before) / len(order) * 1e6
        finally:
            close()
            served.server.stop()
        return timed, cpu_us

    def _postgis(self, frame: gpd.GeoDataFrame, stack: contextlib.ExitStack) -> postgis.PostgisTiles | None:
        bin_dir = self.tool("postgis", tools.postgres_bin)
        if bin_dir is None:
            return None
        try:
            import psycopg  # noqa: F401
        except ImportError:
            self.skips.skip("postgis", tools.MissingTool("no psycopg (pip install -e '.[bench]')"))
            return None
        cluster = stack.enter_context(postgis.throwaway_cluster(bin_dir))
        self.started.append(
            {"name": "postgres", "pid": cluster.pid, "start_ticks": start_ticks(cluster.pid), "directory": str(cluster.directory)}
        )
        database = postgis.PostgisTiles(cluster.conninfo, SERVED_TILESET, frame)
        stack.callback(database.close)
        self.versions["postgis"] = database.version()
        return database

    # tile builds --------------------------------------------------------------------------------

    def builds(self, demo: Demo) -> None:
        tippecanoe = self.tool("tippecanoe", tools.tippecanoe)
        names = list(json.loads((demo.archived / "manifest.json").read_text())["tilesets"])
        work = self.scratch / "builds"
        work.mkdir(exist_ok=True)
        contenders: dict[str, Callable[[str], building.BuildRun]] = {
            "crimetiles": lambda name: building.crimetiles_archive(demo.archived, name, work / f"{name}.crimetiles.mbtiles"),
        }
        if tippecanoe is not None:
            self.versions["tippecanoe"] = _version_output([str(tippecanoe), "--version"])
            inputs = {name: building.tippecanoe_input(demo.archived, name, work / f"{name}.geojson") for name in names}
            contenders["tippecanoe"] = lambda name: building.tippecanoe_archive(
                tippecanoe, inputs[name], name, work / f"{name}.tippecanoe.mbtiles"
            )
        for name in names:
            reference = read_archive(demo.archive(name))
            for contender, build in contenders.items():
                check = compare_tiles(f"{contender} {name}", reference, read_archive(build(name).archive))
                self._record_check("build", check)
        self._fail_on_mismatch()
        for round_index in range(self.args.rounds):
            for name in names:
                for contender in _rotated(list(contenders), round_index):
                    self.results.add("build", name, contender, round_index, contenders[contender](name).summary())
            self.say(f"round {round_index + 1}: builds")

    # end ----------------------------------------------------------------------------------------

    def finish(self) -> int:
        self.machine["load_average_end"] = _load_average()
        for line in self.results.lines(TITLES):
            print(line)
        if self.layer_loads:
            print(
                f"crimetiles HTTP: density layers loaded in {Spread.of(self.layer_loads)} s (first on-demand tile of a fresh "
                f"server, median [min-max] over {len(self.layer_loads)} servers; before the timed cold tiles, not in them)"
            )
        for name, reason in self.skips.reasons.items():
            print(f"skipped {name}: {reason}")
        if self.args.json:
            document = {
                "machine": self.machine,
                "settings": {
                    "rounds": self.args.rounds,
                    "sections": self.args.sections,
                    "wrk": vars(self.load),
                    "crimetiles_command": self.command,
                    "tippecanoe_settings": building.TIPPECANOE_SETTINGS,
                    "smoke": self.args.smoke,
                },
                "versions": self.versions,
                "skipped": self.skips.reasons,
                "processes": self.started,
                "layer_load_s": self.layer_loads,
                **self.results.to_json(),
            }
            self.args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return 0


def _rotated(items: list, round_index: int) -> list:
    """`items` starting at position `round_index` (mod its length): each contender goes first in turn."""
    shift = round_index % len(items)
    return items[shift:] + items[:shift]


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpu": cpu,
        "cores": _cores(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_start": _load_average(),
    }


def _git_commit() -> str:
    result = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parent), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return result.stdout.strip() or "not a git checkout"


def _version_output(command: list[str]) -> str:
    """The first line a `--version`-like command prints, on stdout or stderr."""
    result = subprocess.run(command, capture_output=True, text=True)
    text = (result.stdout + result.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


if __name__ == "__main__":
    sys.exit(main())
