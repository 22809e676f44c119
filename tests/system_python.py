"""Debian's own Python, for the clients whose bindings only it has (QGIS's `qgis.core`, GDAL's
`osgeo`): tests run them in a subprocess and read what they print as JSON."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"


def system_python_with(module: str, debian_package: str) -> str:
    """`/usr/bin/python3` if it imports `module`; else skip, or fail when CI requires the tools."""
    found = subprocess.run([SYSTEM_PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0
    if not found:
        reason = f"{module} not importable by {SYSTEM_PYTHON} (apt-get install {debian_package})"
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return SYSTEM_PYTHON


def run_json(args: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run `args`, fail with its stderr if it fails, return the JSON of its last output line."""
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
