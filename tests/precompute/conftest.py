"""`crimetiles build` run as a user runs it (click's runner, the real command), for input tests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.precompute.synth import DURHAM_DATA_DIR

BLOCKGROUPS = DURHAM_DATA_DIR / "blockgroups.geojson"


@dataclass(frozen=True)
class CliBuild:
    """What a `crimetiles build` run printed and wrote."""

    exit_code: int
    stderr: str
    out: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "report.json").read_text(encoding="utf-8"))

    @property
    def rejects(self) -> pd.DataFrame:
        return pd.read_csv(self.out / "rejects.csv", dtype=str, keep_default_na=False)

    @property
    def error(self) -> str:
        """The one line of a failed build (and a check that there is exactly one, no traceback)."""
        lines = self.stderr.strip().splitlines()
        assert self.exit_code == 1, self.stderr
        assert "Traceback" not in self.stderr
        assert lines[-1].startswith("Error: "), self.stderr
        assert not any(line.startswith("Error") for line in lines[:-1])
        return lines[-1]


BuildCli = Callable[..., CliBuild]


@pytest.fixture
def build_cli(tmp_path: Path) -> BuildCli:
    """Run `crimetiles build ARGS` into a fresh directory, without hex grid or tile archive; with
    the bundled Durham block groups as the only boundaries unless ARGS give `-b`."""
    counter = itertools.count()

    def run(*args: str | Path) -> CliBuild:
        out = tmp_path / f"build{next(counter)}"
        words = [str(arg) for arg in args]
        boundaries = [] if "-b" in words else ["-b", f"blockgroups={BLOCKGROUPS}"]
        command = ["build", *words, *boundaries, "-o", str(out), "--hex-res", "", "--archive-maxzoom", "-1"]
        result = CliRunner().invoke(main, command)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliBuild(result.exit_code, result.stderr, out)

    return run
