"""The README's production command, run for real: granian serving tiles, the page and /metrics,
and switching its worker processes to a new build by file watch and by SIGHUP."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path

import mapbox_vector_tile
import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from crimetiles.server.config import METRICS_DIR_PREFIX, shared_metrics_dir
from tests.server.builds import build_tracts
from tests.server.served import dockerfile_command, free_port, on_loopback, readme_command, serving, wait_until

CONSECUTIVE = 20
"""Answers in a row from the new build before both workers count as swapped: the kernel spreads
connections over the 2 workers, so 20 from one worker alone happen once in a million."""


def test_the_dockerfile_runs_the_readme_production_command():
    assert [part for part in dockerfile_command() if part != "--access-log"] == readme_command("granian")
    assert readme_command("granian")[:3] == ["granian", "--interface", "wsgi"]


def test_the_readme_production_command_serves_tiles_the_page_and_metrics(durham_build):
    with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, _):
        tile = requests.get(base + "/tiles/tracts/12/1150/1608.mvt", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert tile.status_code == 200
        assert tile.headers["Content-Encoding"] == "gzip"
        assert mapbox_vector_tile.decode(tile.content)["tracts"]["features"]
        page = requests.get(base + "/", timeout=10)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "maplibre" in page.text.lower()
        metrics = requests.get(base + "/metrics", timeout=10)
        assert metrics.status_code == 200
        assert "\n# TYPE crimetiles_http_requests_total counter\n" in metrics.text


@pytest.mark.parametrize("server", ["granian", "gunicorn", "crimetiles serve"])
def test_every_answer_carries_one_date_of_the_current_second(durham_build, server):
    """The app sends no `Date` (werkzeug's development server would send a second one): the HTTP
    server adds it, to the fast path's tiles and the Flask routes' answers alike."""
    command = ["crimetiles", "serve", "--port", "8000"] if server == "crimetiles serve" else readme_command(server)
    with serving(command, durham_build, reload_interval="0") as (base, _):
        for path in ("/tiles/tracts/12/1150/1608.mvt", "/tiles/tracts/13/2300/3216.mvt", "/tiles/tracts.json", "/healthz"):
            before = int(time.time())
            response = requests.get(base + path, timeout=10)
            assert response.status_code == 200, path
            (date,) = response.raw.headers.getlist("Date")
            assert before <= parsedate_to_datetime(date).timestamp() <= time.time(), path


def test_a_server_removes_the_metrics_of_servers_that_stopped(durham_build):
    """Each server start has its metrics directory; its first worker removes those of servers no
    longer running (their process gone, or its id now another process's), and no other."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    temp = Path(tempfile.gettempdir())
    of_ended = temp / f"{METRICS_DIR_PREFIX}{int(ended.stdout)}-4242"
    of_reused_id = temp / f"{METRICS_DIR_PREFIX}{os.getpid()}-1"
    running = shared_metrics_dir(os.getpid())
    for directory in (of_ended, of_reused_id, running):
        directory.mkdir()
        (directory / "counter_1.db").write_bytes(b"")
    try:
        with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, _):
            assert requests.get(base + "/metrics", timeout=10).status_code == 200
            assert not of_ended.exists() and not of_reused_id.exists()
            assert (running / "counter_1.db").exists()
    finally:
        for directory in (of_ended, of_reused_id, running):
            shutil.rmtree(directory, ignore_errors=True)


def test_a_server_given_its_metrics_directory_removes_none(durham_build, tmp_path, monkeypatch):
    """With PROMETHEUS_MULTIPROC_DIR set, the server writes there and removes nothing of its own."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    of_ended = Path(tempfile.gettempdir()) / f"{METRICS_DIR_PREFIX}{int(ended.stdout)}-4242"
    chosen = tmp_path / f"{METRICS_DIR_PREFIX}{int(ended.stdout)}-4243"
    of_ended.mkdir()
    chosen.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(chosen))
    try:
        with serving(readme_command("granian"), durham_build, reload_interval="0") as (base, _):
            assert requests.get(base + "/tiles/tracts/12/1150/1608.mvt", timeout=10).status_code == 200
            assert requests.get(base + "/metrics", timeout=10).status_code == 200
            assert of_ended.exists()
            assert any(chosen.iterdir())
    finally:
        shutil.rmtree(of_ended, ignore_errors=True)


def _served_build_id(base: str) -> str:
    return requests.get(base + "/healthz", timeout=10).json()["build_id"]


RESPAWN_ERRORS = ("Connection refused", "Connection reset", "Connection aborted", "RemoteDisconnected")


def _every_worker_serves(base: str, build_id: str, sent: Counter[int] | None = None) -> bool:
    """`CONSECUTIVE` /healthz answers in a row name `build_id`; each answer is counted in `sent`.
    A refused connection (no worker listening: granian respawning its workers on SIGHUP, see
    README), or one reset or aborted before any answer (queued on a worker as it stopped), is an
    answer not yet given: the app never saw the request."""
    for _ in range(CONSECUTIVE):
        try:
            response = requests.get(base + "/healthz", timeout=10)
        except requests.ConnectionError as exc:
            if not any(reason in str(exc) for reason in RESPAWN_ERRORS):
                raise
            return False
        if sent is not None:
            sent[response.status_code] += 1
        if response.json()["build_id"] != build_id:
            return False
    return True


def _new_build(incidents: Path, build_dir: Path, classes: int) -> str:
    build_tracts(incidents, build_dir, classes=classes)
    return (build_dir / "manifest.json").resolve().parent.name.removeprefix(".build.v-")


def test_granian_workers_switch_builds_on_sighup_and_on_file_watch(durham_incidents, tmp_path):
    build_dir = tmp_path / "build"
    first = _new_build(durham_incidents, build_dir, classes=5)
    with serving(readme_command("granian"), build_dir, reload_interval="0") as (base, process):
        assert _every_worker_serves(base, first)
        second = _new_build(durham_incidents, build_dir, classes=4)
        assert _served_build_id(base) == first  # no file watch: nothing changes by itself
        before = _scrape(base)
        process.send_signal(signal.SIGHUP)
        polls: Counter[int] = Counter()
        wait_until(lambda: _every_worker_serves(base, second, polls), "granian's workers did not load the new build on SIGHUP")
        _count_delta(before, _scrape(base), polls)  # the replaced workers' counts are still in the sum
    with serving(readme_command("granian"), build_dir, reload_interval="0.2") as (base, _):
        assert _every_worker_serves(base, second)
        third = _new_build(durham_incidents, build_dir, classes=3)
        wait_until(lambda: _every_worker_serves(base, third), "granian's workers did not notice the new build")


def test_crimetiles_serve_checks_for_a_new_build_at_once_on_sighup(durham_incidents, tmp_path):
    """README: "SIGHUP makes `crimetiles serve` check at once" (no file watch here: only the signal)."""
    build_dir = tmp_path / "build"
    first = _new_build(durham_incidents, build_dir, classes=5)
    command = ["crimetiles", "serve", str(build_dir), "--host", "0.0.0.0", "--port", "8000"]
    with serving(command, build_dir, reload_interval="0") as (base, process):
        assert _served_build_id(base) == first
        second = _new_build(durham_incidents, build_dir, classes=4)
        assert _served_build_id(base) == first
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: _served_build_id(base) == second, "crimetiles serve did not load the new build on SIGHUP")


def _scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    text = requests.get(base + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _requests_by_status(samples: dict, status: int) -> float:
    return samples.get(("crimetiles_http_requests_total", (("status", str(status)),)), 0.0)


def _get_each(base: str, paths: list[str], **headers: str) -> Counter[int]:
    """GET each path on a new connection (spread over the workers); statuses answered."""
    return Counter(requests.get(base + path, headers=headers, timeout=10).status_code for path in paths)


def _count_delta(before: dict, after: dict, statuses: Counter[int]) -> None:
    """`after` counts exactly `statuses` more requests than `before`, plus the scrape that took `before`."""
    expected = statuses + Counter({200: 1})
    for status in (200, 204, 304, 404):
        assert _requests_by_status(after, status) - _requests_by_status(before, status) == expected[status], status


ARCHIVE_HITS = ("crimetiles_tile_archive_hits_total", ())


def test_metrics_add_up_every_worker_and_survive_a_hot_swap(durham_incidents, tmp_path):
    build_dir = tmp_path / "build"
    first = _new_build(durham_incidents, build_dir, classes=5)
    tile = "/tiles/tracts/10/287/402.mvt"
    with serving(readme_command("granian"), build_dir, reload_interval="0.2") as (base, process):
        before = _scrape(base)
        etag = requests.get(base + tile, timeout=10).headers["ETag"]
        sent = Counter({200: 1})
        sent += _get_each(base, [tile] * 30)
        sent += _get_each(base, [tile] * 20, **{"If-None-Match": etag})
        sent += _get_each(base, ["/tiles/tracts/5/99/0.mvt"] * 10)
        assert sent == Counter({200: 31, 304: 20, 404: 10})
        counted = _scrape(base)  # each worker writes every count as it counts it
        _count_delta(before, counted, sent)
        assert counted[ARCHIVE_HITS] - before.get(ARCHIVE_HITS, 0.0) == 51
        workers = {path.stem.split("_")[-1] for path in shared_metrics_dir(process.pid).glob("counter_*.db")}
        assert len(workers) == 2  # both workers answered some of them, and the scrape added both up

        second = _new_build(durham_incidents, build_dir, classes=3)
        polls: Counter[int] = Counter()
        wait_until(lambda: _every_worker_serves(base, second, polls), "granian's workers did not notice the new build")
        after_swap = _scrape(base)
        _count_delta(counted, after_swap, polls)
        assert after_swap[ARCHIVE_HITS] == counted[ARCHIVE_HITS]
        assert after_swap[("crimetiles_build_info", (("build_id", second),))] == 1.0
        assert after_swap[("crimetiles_build_info", (("build_id", first),))] == 0.0


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_stopped_server_leaves_every_tile_counted(durham_build, tmp_path, monkeypatch, server):
    """Workers write each count as they count it: a server stopped right after its last tiles has
    them all in its metrics files."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    with serving(readme_command(server), durham_build, reload_interval="0") as (base, process):
        sent = _get_each(base, ["/tiles/tracts/12/1150/1608.mvt"] * 25 + ["/tiles/tracts/13/2300/3216.mvt"] * 5)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }
    assert sent == Counter({200: 30})
    assert _requests_by_status(samples, 200) == 31  # and the readiness probe's /healthz
    assert samples[ARCHIVE_HITS] == 25
    assert samples[("crimetiles_tile_request_seconds_count", ())] == 30


def _in_new_pid_namespace(command: list[str]) -> list[str]:
    """`command` run as PID 1 of a new PID namespace, as a container runs it; skips the test where
    this machine cannot make one."""
    unshare = shutil.which("unshare")
    wrapper = [unshare, "--pid", "--fork", "--mount-proc"] if unshare else []
    if not wrapper or subprocess.run([*wrapper, "true"], capture_output=True).returncode:
        pytest.skip("no PID namespace here (unshare missing or not permitted)")
    return [*wrapper, str(Path(sys.executable).parent / command[0]), *command[1:]]


def test_a_server_started_again_as_the_same_pid_counts_afresh(durham_build, tmp_path, monkeypatch):
    """In a container the server is PID 1 at every start and a restart keeps /tmp: a new start must
    not add the counts of the one before (`shared_metrics_dir`)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    command = _in_new_pid_namespace(readme_command("granian"))
    tile = "/tiles/tracts/10/287/402.mvt"
    with serving(command, durham_build, reload_interval="0") as (base, _):
        assert _get_each(base, [tile] * 5) == Counter({200: 5})
        assert _scrape(base)[ARCHIVE_HITS] == 5
    with serving(command, durham_build, reload_interval="0") as (base, _):
        assert _scrape(base).get(ARCHIVE_HITS, 0.0) == 0
        assert _get_each(base, [tile] * 2) == Counter({200: 2})
        assert _scrape(base)[ARCHIVE_HITS] == 2


DOCKER_STOP_SECONDS = 10
"""How long `docker stop` waits after its SIGTERM before it kills the container."""


def test_the_production_command_stops_when_told_to_while_its_workers_start(durham_build):
    """`docker stop` just after `docker run`: SIGTERM to granian while its workers still import the
    app. A worker that misses it would hold the stop forever without `--workers-kill-timeout`
    (granian waits for it); with it, the server is gone within that timeout, before Docker's own
    10 s (README)."""
    for delay in (0.1, 0.2, 0.3):
        env = {**os.environ, "CRIMETILES_BUILD_DIR": str(durham_build)}
        command = on_loopback(readme_command("granian"), free_port())
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)  # to granian alone, as Docker does
        try:
            process.wait(timeout=DOCKER_STOP_SECONDS)  # TimeoutExpired: the stop hangs, or Docker would kill it
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
