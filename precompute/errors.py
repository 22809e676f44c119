"""Errors of the precompute pipeline. The CLI prints them as one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

from crimetiles.artifact.errors import CrimetilesError


class InputError(CrimetilesError):
    """An input file cannot be used at all (missing, malformed, missing a column, no CRS...)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        """Rebuilt from path and reason, so that an error raised in a worker process reaches the build whole."""
        return (InputError, (self.path, self.reason))
