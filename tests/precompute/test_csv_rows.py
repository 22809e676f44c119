"""A CSV row with more fields than the header (a separator inside an unquoted value shifts its
values) is rejected with its own reason, counted, and does not shift the rows around it."""

from __future__ import annotations

import geopandas as gpd
import pytest
from click.testing import CliRunner

from crimetiles.cli import main

HEADER = "INCI_ID,DATE_REPT,UCR_CODE,CHRGDESC,LATITUDE,LONGITUDE"
LAT, LON = "36.06801", "-78.94134"
"""Inside block group 370630017074."""
ROWS = [
    "{id},2018-01-03,0810,ASSAULT, SIMPLE,{lat},{lon}",  # first of a chunk too: pandas would shift every row
    "{id},2018-01-04,0810,SIMPLE ASSAULT,{lat},{lon}",
    '{id},2018-02-11,0810,"ASSAULT, SIMPLE",{lat},{lon}',  # quoted: one field
    "{id},2018-02-20,0810,SIMPLE ASSAULT,{lat},{lon}",
    "{id},2018-03-02,0810,ASSAULT, SIMPLE, ON FEMALE,{lat},{lon}",  # two fields too many
    "{id},2018-04-19,0810,SIMPLE ASSAULT,{lat},{lon},",  # an empty trailing field: nothing lost
    "{id},2018-05-30,0810,SIMPLE ASSAULT,{lat},{lon}",
    "{id},2018-06-01,0810,SIMPLE ASSAULT,{lat},{lon}",
    "{id},2018-07-14,0810,ASSAULT,SIMPLE,{lat},{lon}",
    "{id},2018-08-08,0810,SIMPLE ASSAULT,{lat},{lon}",
]
SHIFTED = {0: LON, 4: LAT, 8: LON}
"""The rows of `ROWS` with more fields than the header, and their first value beyond it."""
REPEATS = 250
"""`ROWS` over and over: 2,500 rows, chunks of 1,000 start with a shifted row."""


def _export(path):
    lines = [HEADER]
    lines += [ROWS[n % len(ROWS)].format(id=18_000_000 + n, lat=LAT, lon=LON) for n in range(len(ROWS) * REPEATS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


@pytest.mark.parametrize("chunk_rows", ["1000", "500000"])
def test_rows_with_more_fields_than_the_header_are_rejected(build_cli, tmp_path, chunk_rows):
    path = tmp_path / "export.csv"
    _export(path)
    build = build_cli(path, "--chunk-rows", chunk_rows)
    assert build.exit_code == 0, build.stderr
    (summary,) = build.report["inputs"]
    used = (len(ROWS) - len(SHIFTED)) * REPEATS
    assert (summary["rows_read"], summary["rows_used"]) == (len(ROWS) * REPEATS, used)
    assert summary["rejected_by_reason"] == {"more fields than the header": len(SHIFTED) * REPEATS}
    assert build.rejects[["row", "reason", "detail", "incident_id"]].values.tolist() == [
        [str(n + 1), "more fields than the header", SHIFTED[n % len(ROWS)], str(18_000_000 + n)]
        for n in range(len(ROWS) * REPEATS)
        if n % len(ROWS) in SHIFTED
    ]
    assert build.report["classification"]["rows"] == used  # misaligned offense values choose no rule set
    assert f"rejected, more fields than the header: {len(SHIFTED) * REPEATS}" in build.stderr
    layer = gpd.read_parquet(build.out / "layers" / "blockgroups.parquet").set_index("id")
    assert layer.loc["370630017074", "violent_count"] == used


def test_offenses_reads_the_file_the_build_reads_and_says_what_it_left_out(tmp_path):
    """`crimetiles offenses` (which a build whose rules match too few rows tells you to run) lists
    the offenses of the rows a build would use: it leaves out, and counts, the misaligned ones."""
    path = tmp_path / "export.csv"
    _export(path)
    result = CliRunner().invoke(main, ["offenses", str(path)])
    assert result.exit_code == 0, result.stderr
    left_out = len(SHIFTED) * REPEATS
    used = len(ROWS) * REPEATS - left_out
    assert result.stderr.splitlines()[0] == (
        f"{path}: offense column UCR_CODE, {used} rows"
        f" ({left_out} with more fields than the header left out: the build rejects them)"
    )
    assert result.stdout.splitlines()[1].split()[:2] == ["0810", str(used)]
