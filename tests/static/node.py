"""Running the page's pure modules in node from a Python test: a script's JSON answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest


def node_answer(script: str, argument: Any) -> Any:
    """What the ES module `script` prints (JSON) given `argument` as JSON in `process.argv[1]`;
    the test is skipped without node, unless CRIMETILES_REQUIRE_TOOLS=1 (then it fails)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("node not found and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("node not found (it comes with npm)")
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(argument)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)
