"""Tasks that report on the worker process running them; they import nothing themselves."""

from __future__ import annotations

import os
import sys


def pipeline_imported(_context: object, _item: object) -> bool:
    """Whether the worker had imported the pipeline's libraries before this task."""
    return "pandas" in sys.modules and "crimetiles.precompute.tally" in sys.modules


def process_id(_context: object, _item: object) -> int:
    return os.getpid()
