"""Errors raised while reading or writing a build directory."""

from __future__ import annotations


class BuildError(Exception):
    """A build directory is missing, incomplete or of an unsupported schema version."""
