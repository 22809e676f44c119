"""`python -m crimetiles` and the `crimetiles` command.

The command's modules are imported when it runs, not when this module is: a build's worker
processes start by importing the main module, and then import only what their tasks need (the
whole command, its server included, cost each worker a sixth of a second more). A command that
counts on workers starts their fork server first, which imports the pipeline meanwhile."""

import os
import sys

WORKER_COMMANDS = ("build", "demo")
"""The commands that count incidents on worker processes."""


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in WORKER_COMMANDS:
        from crimetiles.precompute.engine import start_worker_server

        start_worker_server()
    from crimetiles.cli import main as command

    try:
        command()
    except SystemExit as done:
        if name == "build" and done.code in (0, None):
            leave_now()
        raise


def leave_now() -> None:
    """End the process at once, as mypy does after its work: a build that succeeded has written,
    closed and renamed everything, and stopped its workers; tearing down pandas, Arrow and GEOS
    would take another sixth of a second."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
