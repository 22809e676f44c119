"""`crimetiles build --engine dask` where Dask is not installed (the `[dask]` extra left out): one
line naming the extra to install, not a traceback. The test extra installs Dask, so the command runs
in a Python whose import system refuses `dask` and `distributed`, as if they were absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crimetiles.precompute.synth import POLICE_EXPORT

WITHOUT_DASK = """
import importlib.abc
import sys


class WithoutDask(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, WithoutDask())
from crimetiles.cli import main

main(prog_name="crimetiles")
"""


def test_engine_dask_without_the_extra_says_which_extra_to_install(durham_incidents: Path, tmp_path: Path):
    incidents = tmp_path / "incidents.csv"
    police = (durham_incidents / f"{POLICE_EXPORT}.csv").read_text(encoding="utf-8")
    incidents.write_text("".join(police.splitlines(keepends=True)[:200]), encoding="utf-8")
    out = tmp_path / "build"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DASK, "build", str(incidents), "--engine", "dask", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "Error: --engine dask needs Dask, which is not installed (No module named 'distributed'): install crimetiles "
        "with its dask extra (pip install '.[dask]' in a clone, or 'crimetiles-0.1.0-py3-none-any.whl[dask]')"
    ]
    assert not out.exists()
