"""The README's server commands, run for real on a loopback port (helpers for the tests)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from crimetiles.server.config import shared_metrics_dir

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def readme_command(server: str) -> list[str]:
    """The README's command for `server` (granian or gunicorn) in its "Serving" section, without
    the environment variable in front: what a user copies."""
    serving = README.split("\n## Serving\n", 1)[1].split("\n### ", 1)[0]
    for block in serving.split("```sh\n")[1:]:
        words = shlex.split(block.split("\n```", 1)[0])
        if words[1] == server:
            return words[1:]
    raise AssertionError(f"README's Serving section shows no {server} command")


def dockerfile_command() -> list[str]:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return json.loads(dockerfile.split("\nCMD ", 1)[1].splitlines()[0])


def on_loopback(command: list[str], port: int) -> list[str]:
    """`command` bound to 127.0.0.1:`port` instead of 0.0.0.0:8000, its executable from this venv."""
    bound = [part.replace("0.0.0.0", "127.0.0.1").replace("8000", str(port)) for part in command]
    return [str(Path(sys.executable).parent / bound[0]), *bound[1:]]


@contextmanager
def serving(command: list[str], build_dir: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `command` on a free loopback port serving `build_dir` until `/healthz` answers; yields
    its base URL and process. Stopped with SIGTERM to its process group at the end."""
    port = free_port()
    env = {**os.environ, "CRIMETILES_BUILD_DIR": str(build_dir), **{f"CRIMETILES_{k.upper()}": v for k, v in settings.items()}}
    process = subprocess.Popen(
        on_loopback(command, port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base, metrics_dir = f"http://127.0.0.1:{port}", shared_metrics_dir(process.pid)  # named while it runs
    try:
        wait_until(lambda: _answers(base + "/healthz"), f"{command[0]} did not answer /healthz", timeout=90)
        yield base, process
    finally:
        _stop(process, metrics_dir)


def _stop(process: subprocess.Popen, metrics_dir: Path) -> None:
    """SIGTERM to the server's process group; SIGKILL if it has not stopped a minute later (a
    worker still booting on a loaded machine can hold up a graceful stop). Then its workers'
    metrics directory goes too."""
    with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    shutil.rmtree(metrics_dir, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or workers still booting
        return False


def wait_until(condition: Callable[[], bool], message: str, timeout: float = 60) -> None:
    """Poll `condition` (a callable returning bool) until it holds; fail with `message` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
