"""`crimetiles offenses --help` lists the offense columns in the order the detection tries them
(the README's order), and the command reads the one listed first; the README lists the incident id
columns as the detection tries them too."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.precompute.detect import ID_NAMES, OFFENSE_NAMES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _help_listing() -> list[str]:
    """The column names `--offense-col`'s help gives, in its order."""
    text = " ".join(CliRunner().invoke(main, ["offenses", "--help"]).output.split())
    listing = text.split("spaces read as _) ", 1)[1].split(";", 1)[0]
    return re.split(r", | or ", listing)


def test_offenses_help_lists_the_columns_in_the_order_detection_tries_them():
    assert _help_listing() == list(OFFENSE_NAMES)


def test_readme_lists_the_offense_columns_in_the_same_order():
    section = " ".join(README.split("### Offense classification", 1)[1].split("\n### ", 1)[0].split())
    listing = section.split("the first one named ", 1)[1].split(" (in any case", 1)[0]
    assert re.findall(r"`([^`]+)`", listing) == list(OFFENSE_NAMES)


def test_the_readmes_column_detection_lists_the_offense_and_id_columns_as_detection_tries_them():
    """README, "Columns are detected": the offense and the incident id columns, all of them, in order."""
    prose = " ".join(README.split())
    offense = prose.split("offense (`--offense-col`): the first of ", 1)[1].split("; else", 1)[0]
    ids = prose.split("incident id (`--id-col`, `''` for none): the first of ", 1)[1].split("; without", 1)[0]
    assert re.findall(r"`([^`]+)`", offense) == list(OFFENSE_NAMES)
    assert re.findall(r"`([^`]+)`", ids) == list(ID_NAMES)


def test_offenses_reads_the_column_its_help_lists_first(tmp_path):
    """For each two columns listed one after the other, a file holding both (the later one
    leftmost): the command reads the one listed first."""
    listing = _help_listing()
    for first, later in zip(listing, listing[1:], strict=False):
        path = tmp_path / f"{first}.csv"
        path.write_text(f"{later},{first}\nLARCENY,0810\nLARCENY,0610\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["offenses", str(path)])
        assert result.exit_code == 0, result.output
        assert f"offense column {first}, 2 rows" in result.stderr, (first, later)
