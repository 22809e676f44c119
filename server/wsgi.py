"""WSGI entry point for granian or gunicorn: `granian --interface wsgi crimetiles.server.wsgi:app`,
configured by CRIMETILES_* env vars.

It also sets up `/metrics` for several worker processes: unless `PROMETHEUS_MULTIPROC_DIR` is
set, every worker of one server writes its metrics under the same new directory, named after the
server's main process (the workers' parent), so that a scrape answered by any worker reports them
all. `prometheus_client` reads the variable when it is imported: hence the import below it.
"""

from __future__ import annotations

import os

from crimetiles.server.config import MULTIPROCESS_DIR_ENV, ServerConfig, shared_metrics_dir


def _share_metrics_between_workers() -> None:
    if not os.environ.get(MULTIPROCESS_DIR_ENV):
        directory = shared_metrics_dir(os.getppid())
        directory.mkdir(mode=0o700, exist_ok=True)
        os.environ[MULTIPROCESS_DIR_ENV] = str(directory)


_share_metrics_between_workers()
from crimetiles.server.app import create_app  # noqa: E402  (after the variable is set: see above)

app = create_app(ServerConfig.from_env())
