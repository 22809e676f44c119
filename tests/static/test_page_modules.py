"""The page's pure modules (static/*.js and static/compass/data.js: URL state, style, labels,
years, the compass's data), unit-tested with node's test runner: every `*.test.mjs` beside this file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = sorted(Path(__file__).parent.glob("*.test.mjs"))


def test_the_page_modules_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("node not found and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("node not found (it comes with npm)")
    written = sum(len(re.findall(r"^test\(", path.read_text(), re.MULTILINE)) for path in TESTS)
    result = subprocess.run([node, "--test", *map(str, TESTS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and f"# pass {written}\n" in result.stdout, result.stdout
    assert len(TESTS) == 8, TESTS
