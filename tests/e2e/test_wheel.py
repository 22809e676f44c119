"""The built wheel, installed in a fresh venv outside the source tree, serves the whole page.

What a user of `pip install crimetiles-*.whl` gets: the wheel is built from a copy of this
repository, installed (with its dependencies) into a new venv in a temporary directory, and its own
`crimetiles` command, run from another directory with a clean environment, makes a small Durham
build from the data the wheel ships and serves it. Chromium then loads `/` and `/embed` from it.
Its `crimetiles build` is also watched from outside: the processes its workers run in.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.e2e.conftest import RENDERED_IDS, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "demo", "test-artifacts", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules"
)
STARTED = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A venv with the wheel installed, a working directory outside the repository, and a clean
    environment whose PATH starts with the venv (no PYTHONPATH, nothing of the test runner's)."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = scratch / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)  # a clean tree: no stale setuptools build/ to leak into the wheel
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "--wheel-dir", str(scratch / "wheels"), str(source)], scratch, dict(os.environ))
    [wheel] = (scratch / "wheels").glob("crimetiles-*.whl")
    assert f"dist/{wheel.name}" in README  # "in a clone: dist/crimetiles-0.1.0-py3-none-any.whl"
    venv = scratch / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], scratch, {})
    _run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-compile", str(wheel)], scratch, dict(os.environ))
    elsewhere = scratch / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(elsewhere), "LANG": "C.UTF-8"}
    return venv, elsewhere, env


@pytest.fixture(scope="module")
def installed_server(installed: tuple[Path, Path, dict[str, str]]) -> Iterator[str]:
    """The installed `crimetiles serve` on a small build made by the installed `crimetiles`
    (bundled Durham boundaries, 2015-2016, no hexes, tiles on demand); yields its base URL."""
    venv, cwd, env = installed
    _run(["crimetiles", "synth", "--out", "incidents"], cwd, env)
    build = ["crimetiles", "build", "incidents", "--out", "build", "--quiet", "--years", "2015-2016", "--hex-res", ""]
    _run([*build, "--archive-maxzoom", "-1"], cwd, env)
    server = subprocess.Popen(
        ["crimetiles", "serve", "build", "--port", "0", "--reload-interval", "0"],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    base: list[str] = []
    started = threading.Event()

    def read_log() -> None:  # keeps draining the log so the server never blocks on a full pipe
        for line in server.stderr:
            if not started.is_set() and (match := STARTED.search(line)):
                base.append(match.group(1))
                started.set()
        started.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        assert started.wait(timeout=60) and base, "the installed `crimetiles serve` did not start"
        yield base[0]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed):
    venv, cwd, env = installed
    where = _run(["python", "-c", "import crimetiles, crimetiles.static; print(crimetiles.__file__)"], cwd, env).strip()
    assert Path(where).is_relative_to(venv), where
    assert not Path(where).is_relative_to(REPO)


PAGE_MODULES = ("area_labels", "labels", "map_style", "url_state", "years")
"""What app.js imports, on every page."""
COMPASS_MODULES = ("compass", "data", "stats", "selection", "summaries", "panels", "widgets", "search")
"""What `/` imports once its first view is drawn (the charts, table and report: only when shown)."""


@pytest.mark.parametrize("path", ["/", "/embed?layer=tracts"])
def test_the_installed_server_serves_the_whole_page(page, installed_server, path):
    statuses: dict[str, int] = {}
    page.on("response", lambda response: statuses.setdefault(response.url.split("?")[0], response.status))
    assert page.goto(installed_server + path).status == 200
    wait_idle(page)
    if path == "/":
        page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    assert len(set(page.evaluate(RENDERED_IDS))) > 20
    assert page.errors == []
    static = {url.removeprefix(installed_server): status for url, status in statuses.items() if "/static/" in url}
    assert static == {
        "/static/app.js": 200,
        "/static/crimetiles.css": 200,
        "/static/favicon.svg": 200,
        "/static/first_view.js": 200,
        "/static/vendor/maplibre-gl/maplibre-gl.css": 200,
        "/static/vendor/maplibre-gl/maplibre-gl-csp.js": 200,
        "/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js": 200,
        **{f"/static/{name}.js": 200 for name in PAGE_MODULES},
        **({f"/static/compass/{name}.js": 200 for name in COMPASS_MODULES} if path == "/" else {}),
    }
    assert all(status < 400 for status in statuses.values()), statuses


def test_the_installed_server_draws_the_change_between_two_years(installed_server):
    """The change view (`/map.png?change=`, whose exact test imports scipy when first asked) from
    the wheel: a picture of its own, where a missing module would answer 500."""
    plain = requests.get(installed_server + "/map.png?layer=tracts&year=2016", timeout=60)
    change = requests.get(installed_server + "/map.png?layer=tracts&change=2015-2016", timeout=60)
    assert (plain.status_code, change.status_code) == (200, 200)
    assert change.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(change.content)).size == Image.open(io.BytesIO(plain.content)).size
    assert change.content != plain.content


FORK_SERVER = "multiprocessing.forkserver"
"""In the command line of the fork server the build's workers are forked from."""
PIPELINE_LIBRARY = "libarrow"
"""A library the fork server maps once it has imported the pipeline (pyarrow)."""


def test_the_installed_build_forks_its_workers_from_a_server_that_imported_the_pipeline(installed):
    """The README's account of `crimetiles build`, from the wheel: its workers are forked from one
    server process, a child of the build, that has imported the pipeline; once the build ends,
    none of them is left. (A name the server cannot import is skipped by Python without a word:
    only its memory says the pipeline is there.)"""
    venv, cwd, env = installed
    _run(["crimetiles", "synth", "--out", "forked/incidents"], cwd, env)
    build = subprocess.Popen(
        ["crimetiles", "build", "forked/incidents", "--out", "forked/build", "--quiet", "--workers", "2"],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: dict[int, _Process] = {}
    while build.poll() is None:
        for process in _descendants(build.pid):
            if process.imported_pipeline or process.pid not in seen:  # the last look, until the import
                seen[process.pid] = process
        time.sleep(0.01)
    assert build.returncode == 0, build.stderr.read() if build.stderr else ""
    servers = [process for process in seen.values() if FORK_SERVER in process.command and process.parent == build.pid]
    assert len(servers) == 1, seen
    (server,) = servers
    assert server.imported_pipeline
    workers = [process for process in seen.values() if process.parent == server.pid]
    assert len(workers) >= 2
    assert all(FORK_SERVER in process.command for process in workers)  # forked, not started afresh
    assert [process for process in (server, *workers) if _alive(process.pid)] == []  # the resource tracker may linger


@dataclass(frozen=True)
class _Process:
    pid: int
    parent: int
    command: str
    imported_pipeline: bool


def _descendants(root: int) -> list[_Process]:
    """The processes now running below `root`: their parent, command line and whether they have
    the pipeline's library mapped."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, pending = [], [(child, root) for child in children.get(root, [])]
    while pending:
        pid, parent = pending.pop()
        pending += [(child, pid) for child in children.get(pid, [])]
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            mapped = PIPELINE_LIBRARY in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found.append(_Process(pid, parent, command, mapped))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
