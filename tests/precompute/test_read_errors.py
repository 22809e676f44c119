"""One reader of incident files: `crimetiles build` (chunk by chunk) and `crimetiles offenses`
(the whole file) tell its format by its suffix in any case, and refuse a broken file with the
same one-line error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crimetiles.cli import main

HEADER = "inci_id,date_rept,ucr_code,geo_point_2d\n"
BROKEN = {
    "unclosed-quote.csv": (HEADER + '1,2014-03-01,0810,"0.5, 0.5\n', "malformed CSV (Error tokenizing"),
    "header-only.csv": (HEADER, "no data rows (only a header)"),
    "unterminated.geojson": ('{"type": "FeatureCollection", "features": [', "cannot read (Failed to read GeoJSON data"),
    "EXPORT.TXT": (HEADER + '1,2014-03-01,0810,"0.5, 0.5\n', "malformed CSV (Error tokenizing"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_build_and_offenses_refuse_a_broken_file_alike(build_cli, tmp_path, name):
    text, reason = BROKEN[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    built = build_cli(path).error
    listed = CliRunner().invoke(main, ["offenses", str(path)])
    assert listed.exit_code == 1
    assert built == listed.stderr.strip().splitlines()[-1]
    assert built.startswith(f"Error: {path}: {reason}")


def test_a_broken_parquet_file_is_one_clear_error(build_cli, tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not a parquet file")
    assert build_cli(path).error.startswith(f"Error: {path}: cannot read (")
