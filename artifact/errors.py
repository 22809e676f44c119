"""The domain errors of crimetiles: what went wrong, in the domain's words, with no HTTP in them.

Every error a user can cause or meet derives from `CrimetilesError`; the command line prints
them as one line and the server maps each class to a status code in one table (`server/errors.py`).
"""

from __future__ import annotations


class CrimetilesError(Exception):
    """Base of every crimetiles domain error."""


class BuildError(CrimetilesError):
    """A build directory is missing, incomplete or of an unsupported schema version."""


class InvalidYear(CrimetilesError):
    """A year asked for is not one of the build's years (nor `all`)."""
