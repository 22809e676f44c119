"""WSGI entry point for granian or gunicorn: `granian --interface wsgi crimetiles.server.wsgi:app`,
configured by CRIMETILES_* env vars.

It also sets up `/metrics` for several worker processes: unless `PROMETHEUS_MULTIPROC_DIR` is
set, every worker of one server writes its metrics under the same new directory, named after the
server's main process (the workers' parent), so that a scrape answered by any worker reports them
all. `prometheus_client` reads the variable when it is imported: hence the import below it.

A setting the server cannot start with (no build at `CRIMETILES_BUILD_DIR`, a malformed variable)
stops the server with one line on standard error and a non-zero status, not a traceback: the first
worker to fail prints it and exits with `APP_LOAD_ERROR`, the server's other workers exit quietly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from typing import NoReturn

from flask import Flask

from crimetiles.artifact.errors import BuildError
from crimetiles.server.config import (
    MULTIPROCESS_DIR_ENV,
    ConfigError,
    ServerConfig,
    build_dir_problem,
    shared_metrics_dir,
    stale_metrics_dirs,
    stop_marker,
)

APP_LOAD_ERROR = 4
"""The exit status of a worker whose app cannot load: gunicorn stops on it (its own code for that
case) where it restarts a worker that exits with 1; granian stops on any worker's exit. Only one
worker may use it: gunicorn 27 stopping on a second one while it stops prints a traceback."""

STALE_MARKER_SECONDS = 60.0


def _share_metrics_between_workers() -> None:
    """Point `prometheus_client` at this server's metrics directory, made by its first worker,
    which also removes those of servers that have stopped (nothing else would: the server's main
    process is granian's or gunicorn's, not ours)."""
    if not os.environ.get(MULTIPROCESS_DIR_ENV):
        directory = shared_metrics_dir(os.getppid())
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
            for stale in stale_metrics_dirs():
                shutil.rmtree(stale, ignore_errors=True)
        os.environ[MULTIPROCESS_DIR_ENV] = str(directory)


_share_metrics_between_workers()
from crimetiles.server.app import create_app  # noqa: E402  (after the variable is set: see above)


def _app_from_env() -> Flask:
    try:
        config = ServerConfig.from_env()
        return create_app(config)
    except ConfigError as exc:
        _stop(str(exc))
    except BuildError as exc:
        _stop(build_dir_problem(config.build_dir, exc))


def _stop(problem: str) -> NoReturn:
    if not _first_worker_to_stop():
        raise SystemExit(1)
    # One write(2) of the whole line: `print` writes the text and its newline apart, and the
    # server's own log (gunicorn's) may land between them on the shared stderr.
    sys.stderr.flush()
    os.write(sys.stderr.fileno(), f"crimetiles: {problem}\n".encode())
    raise SystemExit(APP_LOAD_ERROR)


def _first_worker_to_stop() -> bool:
    """True in one worker of this server only (the workers share their parent, the server); a
    marker older than `STALE_MARKER_SECONDS` was left by an earlier server of the same process id."""
    marker = stop_marker(os.getppid())
    with contextlib.suppress(FileNotFoundError):
        if time.time() - marker.stat().st_mtime > STALE_MARKER_SECONDS:
            marker.unlink()
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


app = _app_from_env()
