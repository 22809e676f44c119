"""Offense value -> category ("violent", "property"...), from a rules file shipped as data.

The rules file is a CSV with columns `pattern,category,offense`: `pattern` is a regular
expression that must match the whole offense value, the first matching rule wins, lines starting
with `#` are comments. `precompute/data/offense_categories.csv` follows the Durham Neighborhood
Compass definition of violent crime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crimetiles.precompute.errors import InputError

VIOLENT = "violent"
DEFAULT_RULES_PATH = Path(__file__).parent / "data" / "offense_categories.csv"
RULE_COLUMNS = ("pattern", "category", "offense")


@dataclass(frozen=True)
class OffenseRule:
    pattern: re.Pattern[str]
    category: str
    offense: str


@dataclass(frozen=True)
class Classifier:
    rules: tuple[OffenseRule, ...]
    source: str

    def rule_for(self, value: str) -> OffenseRule | None:
        """The first rule whose pattern matches all of `value`, or None (an unknown offense)."""
        return next((rule for rule in self.rules if rule.pattern.fullmatch(value)), None)

    def classify(self, values: pd.Series) -> pd.DataFrame:
        """`category` and `offense` per value (None where no rule matches), index kept."""
        normalized = values.fillna("").astype(str).str.strip()
        lookup = {value: self.rule_for(value) for value in normalized.unique()}
        rules = normalized.map(lookup)
        return pd.DataFrame(
            {
                "category": rules.map(lambda rule: rule.category if rule else None),
                "offense": rules.map(lambda rule: rule.offense if rule else None),
            },
            index=values.index,
        )


def load_classifier(path: Path | str = DEFAULT_RULES_PATH) -> Classifier:
    """Read a rules file; raises `InputError` naming the file and the problem."""
    try:
        table = pd.read_csv(path, dtype=str, comment="#", keep_default_na=False, skip_blank_lines=True)
    except FileNotFoundError:
        raise InputError(path, "classification file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"malformed classification CSV ({exc})") from None
    missing = [column for column in RULE_COLUMNS if column not in table.columns]
    if missing:
        raise InputError(path, f"classification file lacks column(s) {', '.join(missing)}")
    if not (table["category"] == VIOLENT).any():
        raise InputError(path, f"classification file has no rule with category {VIOLENT!r}")
    return Classifier(
        tuple(_rule(path, line, row) for line, row in enumerate(table[list(RULE_COLUMNS)].itertuples(index=False))), str(path)
    )


def _rule(path: Path | str, line: int, row: tuple[str, ...]) -> OffenseRule:
    pattern, category, offense = (str(value).strip() for value in row[:3])
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InputError(path, f"rule {line + 1}: bad pattern {pattern!r} ({exc})") from None
    return OffenseRule(compiled, category, offense)
