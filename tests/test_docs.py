"""Documentation is tested: the README's commands are the ones CI and users run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
import pytest
import requests
from shapely.geometry import box

from crimetiles.cli import main
from crimetiles.precompute.synth import DURHAM_DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick_start)


def test_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "crimetiles demo" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _quick_start_commands()[1] in ci_lines


def test_readme_names_every_subcommand():
    for name in main.commands:
        assert f"crimetiles {name}" in README, f"README does not show `crimetiles {name}`"


def test_artifact_spec_names_every_manifest_key():
    from crimetiles.artifact.manifest import BuildManifest

    spec = (ROOT / "docs" / "artifact.md").read_text(encoding="utf-8")
    for key in BuildManifest.__dataclass_fields__:
        assert f"`{key}`" in spec, f"docs/artifact.md does not document manifest key {key}"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_option_of_every_subcommand_is_explained_with_its_default_in_help(command):
    """README: "Every subcommand explains every option and its default with `--help`" (a flag's
    default is off; any other option's help says its default, as `[default: ...]` or in words)."""
    assert "Every subcommand explains every option and its default with `--help`." in README
    subcommand = main.commands[command]
    context = click.Context(subcommand, info_name=command, **main.context_settings)
    for param in subcommand.params:
        if isinstance(param, click.Option) and param.name != "help":
            explained = param.get_help_record(context)[1]
            assert param.help, f"{command} --{param.name} has no help"
            assert param.is_flag or param.required or "default" in explained.lower(), f"{command} --{param.name}: {explained}"


# --- Every command block of the README runs ------------------------------------------------------

NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest": (
        "runs this test suite itself; CI runs exactly this line (test_ci_runs_exactly_the_readme_test_command)"
    ),
    "python3 -m pip wheel --no-deps --wheel-dir dist .": (
        "the wheel recipe installs into /opt/crimetiles and serves from /srv/maps, paths of a machine;"
        " tests/e2e/test_wheel.py runs its steps in temporary directories"
    ),
    "python3 -m venv /opt/crimetiles && /opt/crimetiles/bin/pip install dist/crimetiles-*.whl": "as above (the wheel recipe)",
    "cd /srv/maps && /opt/crimetiles/bin/crimetiles demo": "as above (the wheel recipe)",
    "pip install '.[dask]'": ("would reinstall this checkout into the test's own venv; the test extra has dask[distributed]"),
    "crimetiles build '/shared/exports/*.parquet' --engine dask --scheduler tcp://10.0.0.5:8786": (
        "needs a real Dask scheduler at that address; the line before runs the same build on a local Dask cluster"
    ),
}
"""README commands the test does not run, each with the reason. Any other command runs."""
README_PORT = re.compile(r"\b8000\b")
"""The port the README's commands serve on; each run serves on a free port instead."""
COMMAND_TIMEOUT_S = 900
COPY_IGNORED = shutil.ignore_patterns(
    ".venv", ".git", "test-artifacts", "__pycache__", "*.egg-info", "demo", "build", "dist", "node_modules"
)
"""Not copied into a command's workspace: environments, caches and what earlier runs left (no tracked
file or folder has these names)."""


@dataclass(frozen=True)
class CommandBlock:
    line: int
    """Where the block starts in README.md (1-based)."""
    commands: tuple[str, ...]
    """Its commands: continuation lines joined, comments and blank lines kept out."""


def readme_command_blocks() -> list[CommandBlock]:
    """Every ```sh block of the README."""
    blocks = []
    for match in re.finditer(r"^```sh\n(.*?)\n```", README, flags=re.S | re.M):
        logical = re.sub(r"\\\n\s*", "", match.group(1))
        commands = tuple(line.split("  #", 1)[0].strip() for line in logical.splitlines())
        blocks.append(CommandBlock(README[: match.start()].count("\n") + 1, tuple(c for c in commands if c)))
    return blocks


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_incidents(path: Path, rows: int, years: range) -> pd.DataFrame:
    """Incidents inside Durham's block groups in a layout of another city's portal: latitude,
    longitude, a report date (`reported`), an offense description; UTF-8 with a BOM, CRLF."""
    blockgroups = gpd.read_file(DURHAM_DATA_DIR / "blockgroups.geojson")
    points = blockgroups.geometry.representative_point()
    offenses = ("SIMPLE ASSAULT", "ROBBERY", "AGGRAVATED ASSAULT", "LARCENY - FROM AUTO", "BURGLARY", "VANDALISM")
    frame = pd.DataFrame(
        {
            "case_number": [f"C{i:05d}" for i in range(rows)],
            "reported": [f"{years[i % len(years)]}-{1 + i % 12:02d}-{1 + i % 28:02d} 14:30" for i in range(rows)],
            "latitude": [round(points.iloc[i % len(points)].y, 6) for i in range(rows)],
            "longitude": [round(points.iloc[i % len(points)].x, 6) for i in range(rows)],
            "offense": [offenses[i % len(offenses)] for i in range(rows)],
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return frame


def _write_boundaries(path: Path, columns: int) -> None:
    """`columns` rectangles side by side over Durham County, with `ID` and `NAME` fields."""
    west, south, east, north = gpd.read_file(DURHAM_DATA_DIR / "tracts.geojson").total_bounds
    step = (east - west) / columns
    cells = [box(west + i * step, south, west + (i + 1) * step, north) for i in range(columns)]
    names = [f"{path.stem.title()} {i + 1}" for i in range(columns)]
    gpd.GeoDataFrame({"ID": [str(i + 1) for i in range(columns)], "NAME": names}, geometry=cells, crs="EPSG:4326").to_file(path)


@pytest.fixture(scope="module")
def readme_inputs(tmp_path_factory: pytest.TempPathFactory, durham_build: Path) -> Path:
    """The files the README's commands name, small: incidents.csv, my_offenses.csv, wards.shp,
    beats.gpkg, exports/ (Parquet by year and a CSV), two agencies' exports numbered alike
    (police.csv and sheriff.csv; police/ by year) and demo/build (the Durham test build)."""
    inputs = tmp_path_factory.mktemp("readme-inputs")
    _write_incidents(inputs / "incidents.csv", 300, range(2019, 2024))
    _write_incidents(inputs / "police.csv", 200, range(2019, 2024))
    _write_incidents(inputs / "sheriff.csv", 100, range(2019, 2024))
    (inputs / "police").mkdir()
    for year in (2022, 2023):
        frame = _write_incidents(inputs / "police" / f"{year}.csv", 120, range(year, year + 1))
        frame.assign(case_number=frame["case_number"] + f"-{year}").to_csv(inputs / "police" / f"{year}.csv", index=False)
    (inputs / "my_offenses.csv").write_text(
        "pattern,category,offense\r\n# our own call first\r\nVANDALISM,property,vandalism\r\n@text\r\n", encoding="utf-8"
    )
    _write_boundaries(inputs / "wards.shp", 2)
    _write_boundaries(inputs / "beats.gpkg", 3)
    exports = inputs / "exports"
    exports.mkdir()
    for year in (2019, 2020):
        frame = _write_incidents(exports / f"{year}.csv", 120, range(year, year + 1))
        frame["case_number"] = frame["case_number"] + f"-{year}"
        frame.to_parquet(exports / f"{year}.parquet")
        (exports / f"{year}.csv").unlink()
    _write_incidents(exports / "2021-export.csv", 120, range(2021, 2022))
    shutil.copytree(durham_build, inputs / "demo" / "build", symlinks=False)
    return inputs


def _run(command: str, cwd: Path, env: dict[str, str], port: int, log: Path) -> None:
    """Run `command` with bash in `cwd`, its output to `log`. A command that ends is checked for
    exit status 0; one that serves HTTP on `port` instead is probed, then stopped."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=cwd, env=env, start_new_session=True, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            try:
                status = process.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                if _answers(f"{base}/healthz"):
                    _probe_server(base)
                    return
                continue
            assert status == 0, f"`{command}` exited {status}:\n{log.read_text(errors='replace')[-3000:]}"
            return
        pytest.fail(f"`{command}` neither ended nor served {base} within {COMMAND_TIMEOUT_S} s")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(url: str) -> bool:
    """Whether `url` answers 200 (a server still loading its build may accept and not answer yet)."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def _probe_server(base: str) -> None:
    """The map page, the catalog and a tile of a server a README command started."""
    health = requests.get(f"{base}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["build_id"]
    page = requests.get(f"{base}/", timeout=10)
    assert page.status_code == 200 and "Violent crimes per square mile" in page.text
    tilesets = [tileset["name"] for tileset in requests.get(f"{base}/tiles", timeout=10).json()["tilesets"]]
    assert tilesets
    assert requests.get(f"{base}/tiles/{tilesets[0]}/10/287/402.mvt", timeout=30).status_code in (200, 204)


@pytest.mark.slow
@pytest.mark.parametrize("block", readme_command_blocks(), ids=lambda block: f"README-line-{block.line}")
def test_readme_command_block_runs(block: CommandBlock, readme_inputs: Path, tmp_path: Path):
    """Each command of the block, in order, in a copy of the repository holding the inputs the
    README names, with this venv's scripts first on PATH."""
    workspace = tmp_path / "clone"
    shutil.copytree(ROOT, workspace, ignore=COPY_IGNORED)
    shutil.copytree(readme_inputs, workspace, dirs_exist_ok=True)
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CRIMETILES_")}
    env |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "CRIMETILES_PORT": str(port)}
    for command in block.commands:
        if command not in NOT_RUN:
            _run(README_PORT.sub(str(port), command), workspace, env, port, tmp_path / "output.txt")


def test_every_command_the_test_does_not_run_is_in_the_readme():
    commands = {command for block in readme_command_blocks() for command in block.commands}
    assert set(NOT_RUN) <= commands, set(NOT_RUN) - commands


# --- Every endpoint, setting and flag the README lists is exercised by a test -------------------

TESTS = ROOT / "tests"
PARAMETER = re.compile(r"\\\{[a-z_]+\\\}")


def _test_sources() -> str:
    """Every test module but this one (which only reads the README)."""
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(TESTS.rglob("*.py")) if path.name != "test_docs.py")


def _table_rows(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under `heading`, header and rule left out."""
    section = README.split(heading, 1)[1].split("\n#", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def readme_endpoints() -> list[str]:
    """Every path of the README's endpoint table, `(or .pbf)` and `/ .geojson` spelled out."""
    paths: list[str] = []
    for row in _table_rows("### Endpoints"):
        for token in re.findall(r"`([^`]+)`", row[0]):
            token = token.removeprefix("GET ")
            if token.startswith("."):
                paths.append(re.sub(r"\.[a-z]+$", token, paths[-1]))
            elif token.startswith("/"):
                paths.extend(part.strip() for part in token.split(","))
    return paths


def _url_pattern(path: str) -> re.Pattern[str]:
    """A URL of `path` as tests write it: `{tileset}` any segment, ending the string or its query."""
    return re.compile(r"""["'}]""" + PARAMETER.sub(r"[^/\"'?{}]+", re.escape(path)) + r"""["'?#]""")


def test_readme_endpoint_table_is_read():
    assert readme_endpoints() == [
        "/tiles/{tileset}/{z}/{x}/{y}.mvt",
        "/tiles/{tileset}/{z}/{x}/{y}.pbf",
        "/tiles/{tileset}/{z}/{x}/{y}.png",
        "/tiles/{tileset}/{z}/{x}/{y}@2x.png",
        "/map.png",
        "/wmts/1.0.0/WMTSCapabilities.xml",
        "/tiles/{tileset}.json",
        "/tiles/{tileset}/raster.json",
        "/tiles",
        "/styles/{tileset}.json",
        "/downloads/{layer}.csv",
        "/downloads/{layer}.geojson",
        "/summaries/{layer}.json",
        "/healthz",
        "/metrics",
        "/",
        "/embed",
        "/qgis/{tileset}.qlr",
    ]


def test_every_readme_endpoint_is_in_the_openapi_document(durham_build):
    """The README says the endpoints are "also described in OpenAPI"."""
    from crimetiles.artifact.manifest import read_manifest
    from crimetiles.server.openapi import openapi_document

    documented = set(openapi_document("http://maps.test", read_manifest(durham_build))["paths"])
    renamed = {
        "/downloads/{layer}.csv": "/downloads/{layer}.{format}",
        "/downloads/{layer}.geojson": "/downloads/{layer}.{format}",
    }
    assert {renamed.get(path, path) for path in readme_endpoints()} <= documented


@pytest.mark.parametrize("path", readme_endpoints())
def test_every_readme_endpoint_is_requested_by_a_test(path):
    assert _url_pattern(path).search(_test_sources()), f"no test requests {path}"


def readme_settings() -> list[str]:
    """The environment variables of the README's configuration table."""
    return [name for row in _table_rows("### Configuration") for name in re.findall(r"`(CRIMETILES_[A-Z_]+)`", row[1])]


@pytest.mark.parametrize("name", readme_settings())
def test_every_readme_setting_is_set_by_a_test(name):
    assert re.search(rf"""["']{name}["']""", _test_sources()), f"no test sets {name}"


def _command_flags() -> set[str]:
    """Every option of every crimetiles command, as typed (`--hex-res`)."""
    return {
        opt
        for command in main.commands.values()
        for param in command.params
        for opt in [*param.opts, *param.secondary_opts]
        if opt.startswith("--")
    }


def readme_flags() -> list[str]:
    """The crimetiles flags the README names (in its text, tables and commands)."""
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", README)) & _command_flags())


@pytest.mark.parametrize("flag", readme_flags())
def test_every_readme_flag_is_exercised(flag):
    """In a command a test runs: a README command (run above) or a test's own."""
    run = [command for block in readme_command_blocks() for command in block.commands if command not in NOT_RUN]
    used = re.compile(rf"""(?<![\w-]){re.escape(flag)}(?![\w-])""")
    assert any(used.search(command) for command in run) or used.search(_test_sources()), f"no test passes {flag}"
