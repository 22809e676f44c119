"""The page's pure compass helpers (static/compass/data.js), unit-tested with node's test runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).with_name("compass_data.test.mjs")


def test_compass_data_helpers_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("node not found and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("node not found (it comes with npm)")
    result = subprocess.run([node, "--test", str(TESTS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 9" in result.stdout
