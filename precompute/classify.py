"""Offense value -> category ("violent", "property"...), from rule sets shipped as data.

A rules file is a CSV with columns `pattern,category,offense` (other columns are ignored).
`pattern` is a regular expression that must match the whole offense value, case-insensitively,
with any run of spaces read as one space; the first matching rule wins; lines starting with `#`
are comments; a line `@ucr`, `@nibrs` or `@text` appends that built-in rule set, so a custom file
can override a few rules and keep the rest. The three built-in sets (`data/offenses_*.csv`:
UCR summary codes, NIBRS codes, offense text) follow the Durham Neighborhood Compass definition of
violent crime. `choose_classifier` picks the set that classifies the most rows of an offense
column and refuses one that classifies too few for the map to mean anything.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crimetiles.precompute.arrays import text_codes
from crimetiles.precompute.errors import InputError

VIOLENT = "violent"
UNCLASSIFIED = "unclassified"
DATA_DIR = Path(__file__).parent / "data"
BUILTIN_RULE_SETS: dict[str, Path] = {name: DATA_DIR / f"offenses_{name}.csv" for name in ("ucr", "nibrs", "text")}
DEFAULT_RULES_PATH = BUILTIN_RULE_SETS["ucr"]
RULE_COLUMNS = ("pattern", "category", "offense")
INCLUDE_MARK = "@"
MIN_MATCH_RATE = 0.8
TOP_UNMATCHED = 5


def normalize_offense(value: str) -> str:
    """An offense value as rules see it: no leading, trailing or repeated whitespace."""
    return " ".join(value.split())


def offense_text(values: pd.Series) -> pd.Series:
    """Offense values as normalized text; a missing value is ""."""
    return values.fillna("").astype(str).map(normalize_offense)


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
        text = normalize_offense(value)
        return next((rule for rule in self.rules if rule.pattern.fullmatch(text)), None)

    def classify(self, values: pd.Series) -> pd.DataFrame:
        """`category` and `offense` per value (None where no rule matches), index kept. Rules
        are matched once per distinct value: a chunk of a million rows holds a few dozen."""
        codes, distinct = text_codes(values)
        rules = [self.rule_for(value) for value in distinct]
        return pd.DataFrame(
            {
                "category": _per_row([rule.category if rule else None for rule in rules], codes),
                "offense": _per_row([rule.offense if rule else None for rule in rules], codes),
            },
            index=values.index,
        )

    def matched_rows(self, counts: pd.Series) -> int:
        """Rows whose value a rule matches, from `offense_counts` (value -> rows)."""
        return int(sum(rows for value, rows in counts.items() if self.rule_for(value) is not None))


def _per_row(names: list[str | None], codes: np.ndarray) -> pd.Categorical:
    """`names[code]` for each of `codes`, as a categorical (missing where the name is None): a
    chunk's million rows share a dozen names, which later steps count by code."""
    name_codes, distinct = pd.factorize(pd.Series(names, dtype=object))
    return pd.Categorical.from_codes(name_codes[codes], categories=distinct.astype(str))


def load_classifier(path: Path | str = DEFAULT_RULES_PATH) -> Classifier:
    """Read a rules file; raises `InputError` naming the file and the problem."""
    rules: list[OffenseRule] = []
    for line, row in _rule_rows(path):
        if row["pattern"].startswith(INCLUDE_MARK):
            rules += _included_rules(path, line, row["pattern"])
        else:
            rules.append(_rule(path, line, row))
    if not any(rule.category == VIOLENT for rule in rules):
        raise InputError(path, f"classification file has no rule with category {VIOLENT!r}")
    return Classifier(tuple(rules), str(path))


@functools.cache
def builtin_classifier(name: str) -> Classifier:
    """A built-in rule set by name (`ucr`, `nibrs`, `text`), read once per process."""
    return load_classifier(BUILTIN_RULE_SETS[name])


def _rule_rows(path: Path | str) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every rule line, after the header."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "classification file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"malformed classification CSV ({exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read classification file ({exc.strerror})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if _is_rule_line(line)]
    if not lines:
        raise InputError(path, "classification file is empty")
    header = [name.strip() for name in next(csv.reader([lines[0][1]]))]
    missing = [column for column in RULE_COLUMNS if column not in header]
    if missing:
        raise InputError(path, f"classification file lacks column(s) {', '.join(missing)}")
    rows = []
    for number, line in lines[1:]:
        fields = [field.strip() for field in next(csv.reader([line]))]
        row = dict(zip(header, fields, strict=False))
        if not row.get("pattern", "").startswith(INCLUDE_MARK) and len(fields) < len(header):
            raise InputError(path, f"line {number}: expected {','.join(header)}, got {line.strip()!r}")
        rows.append((number, row))
    return rows


def _is_rule_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _included_rules(path: Path | str, line: int, mark: str) -> list[OffenseRule]:
    name = mark[len(INCLUDE_MARK) :].strip()
    if name not in BUILTIN_RULE_SETS:
        known = ", ".join(INCLUDE_MARK + known for known in BUILTIN_RULE_SETS)
        raise InputError(path, f"line {line}: unknown rule set {mark!r} (built-in sets: {known})")
    return list(builtin_classifier(name).rules)


def _rule(path: Path | str, line: int, row: dict[str, str]) -> OffenseRule:
    pattern = row["pattern"]
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(path, f"line {line}: bad pattern {pattern!r} ({exc})") from None
    return OffenseRule(compiled, row["category"], row["offense"])


@dataclass(frozen=True)
class OffenseTally:
    """Rows per offense value of an offense column (normalized, "" for an empty or missing
    value), in no particular order: what choosing a rule set needs, summed chunk by chunk and
    file by file without keeping the rows. `column` names the column when all files agree."""

    rows_by_value: pd.Series
    column: str | None = None

    @classmethod
    def of(cls, values: pd.Series) -> OffenseTally:
        """The tally of one column's values (each distinct raw value normalized once)."""
        codes, distinct = text_codes(values)
        raw = np.bincount(codes, minlength=len(distinct))
        seen = raw > 0
        normalized = offense_text(pd.Series(distinct[seen], dtype=object)).to_numpy()
        rows = pd.Series(raw[seen], dtype="int64").groupby(normalized).sum()
        return cls(rows, values.name if isinstance(values.name, str) else None)

    @property
    def rows(self) -> int:
        return int(self.rows_by_value.sum())

    def plus(self, other: OffenseTally) -> OffenseTally:
        """Both tallies added up; the column name only if both name the same one."""
        rows = self.rows_by_value.add(other.rows_by_value, fill_value=0).astype("int64")
        return OffenseTally(rows, self.column if self.column == other.column else None)

    def counts(self) -> pd.Series:
        """See `offense_counts`."""
        spellings = self.rows_by_value[(self.rows_by_value.index != "") & (self.rows_by_value > 0)]
        return _merged_spellings(spellings)


def offense_counts(values: pd.Series) -> pd.Series:
    """Rows per distinct non-empty offense value, most frequent first (ties alphabetical).
    Values that differ only in case are one value (rules ignore case), spelled as most rows
    spell it."""
    return OffenseTally.of(values).counts()


def _merged_spellings(spellings: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"value": spellings.index, "rows": spellings.to_numpy()})
    frame = frame.sort_values(["rows", "value"], ascending=[False, True], kind="stable")
    frame["key"] = frame["value"].str.casefold()
    merged = frame.groupby("key", sort=False).agg(value=("value", "first"), rows=("rows", "sum"))
    merged = merged.sort_values(["rows", "value"], ascending=[False, True], kind="stable")
    return pd.Series(merged["rows"].to_numpy(), index=pd.Index(merged["value"].to_numpy(), name="value"), name="rows")


@dataclass(frozen=True)
class ClassifierChoice:
    """The rule set used for an offense column, and how well each candidate matched it.

    `match_rate` is the share of ROWS (empty offense values included) whose value a rule of the
    chosen set matches; `rates` has the match rate of every candidate tried, in trial order.
    """

    classifier: Classifier
    name: str
    match_rate: float
    rates: dict[str, float]
    rows: int = 0

    def as_report(self) -> dict[str, Any]:
        """What goes into report.json["classification"] (see docs/artifact.md)."""
        return {
            "rule_set": self.name,
            "rows": self.rows,
            "match_rate": round(self.match_rate, 4),
            "match_rates": {name: round(rate, 4) for name, rate in self.rates.items()},
        }

    def summary(self) -> str:
        """One console line: which set, how many rows it classifies, and the others' rates."""
        line = f"classification: {self.name}, {self.match_rate:.1%} of {self.rows} rows matched"
        if len(self.rates) > 1:
            line += " (" + ", ".join(f"{name} {rate:.1%}" for name, rate in self.rates.items()) + ")"
        return line


def rate_classifiers(offenses: pd.Series | OffenseTally, spec: str | Path | None = None) -> ClassifierChoice:
    """The candidate rule sets of `spec` (see `choose_classifier`) rated on `offenses`: the best
    one (ties go to the earlier of ucr, nibrs, text), whatever its match rate."""
    tally = _tally(offenses)
    counts = tally.counts()
    rows = tally.rows
    candidates = _candidates(spec)
    rates = {name: classifier.matched_rows(counts) / rows if rows else 0.0 for name, classifier in candidates.items()}
    name = best_rule_set(rates)
    return ClassifierChoice(candidates[name], name, rates[name], rates, rows)


def choose_classifier(
    offenses: pd.Series | OffenseTally, spec: str | Path | None, sources: Sequence[str] = ()
) -> ClassifierChoice:
    """The rule set to classify `offenses` (an offense column, or the tally of every input's) with.

    `spec` None tries the built-in sets and keeps the one that classifies the most rows;
    `"ucr"`, `"nibrs"` or `"text"` is that built-in set; anything else is a rules file path.
    Raises `InputError` naming the input files `sources` when the set classifies fewer than
    `MIN_MATCH_RATE` of the rows: the message names the most frequent unmatched values and the
    `crimetiles offenses` command, for all the files, that writes a classification for them. A
    column with no rows is not judged.
    """
    tally = _tally(offenses)
    choice = rate_classifiers(tally, spec)
    if choice.rows and choice.match_rate < MIN_MATCH_RATE:
        raise InputError(", ".join(sources) or "offense column", _poor_match_reason(choice, tally, sources))
    return choice


def _tally(offenses: pd.Series | OffenseTally) -> OffenseTally:
    return offenses if isinstance(offenses, OffenseTally) else OffenseTally.of(offenses)


def best_rule_set(rates: dict[str, float]) -> str:
    """The name with the highest rate; on a tie the one tried first."""
    return max(rates, key=lambda name: rates[name])


def _candidates(spec: str | Path | None) -> dict[str, Classifier]:
    if spec is None:
        return {name: builtin_classifier(name) for name in BUILTIN_RULE_SETS}
    name = _builtin_name(spec)
    if name is not None:
        return {name: builtin_classifier(name)}
    return {str(spec): load_classifier(spec)}


def _builtin_name(spec: str | Path) -> str | None:
    """`spec` as a built-in set's name, whether given by name or by its file's path."""
    if isinstance(spec, str) and spec in BUILTIN_RULE_SETS:
        return spec
    resolved = Path(spec).resolve()
    return next((name for name, path in BUILTIN_RULE_SETS.items() if path.resolve() == resolved), None)


def unmatched_counts(offenses: pd.Series | OffenseTally, classifier: Classifier) -> list[tuple[str, int]]:
    """(value, rows) of the values no rule matches, most frequent first; empty values as ""."""
    tally = _tally(offenses)
    counts = tally.counts()
    unmatched = [(value, int(rows)) for value, rows in counts.items() if classifier.rule_for(value) is None]
    empty = int(tally.rows - counts.sum())
    if empty:
        unmatched.append(("", empty))
    return sorted(unmatched, key=lambda item: -item[1])


def _poor_match_reason(choice: ClassifierChoice, tally: OffenseTally, sources: Sequence[str]) -> str:
    shown = ", ".join(
        f"{value!r} x{rows}" if value else f"(empty) x{rows}"
        for value, rows in unmatched_counts(tally, choice.classifier)[:TOP_UNMATCHED]
    )
    tried = ", ".join(f"{name} {rate:.1%}" for name, rate in choice.rates.items())
    column = f" --offense-col {shlex.quote(tally.column)}" if tally.column else ""
    command = f"crimetiles offenses {shlex.join(sources) if sources else 'FILE'}{column} --template my_offenses.csv"
    return (
        f"only {choice.match_rate:.1%} of {choice.rows} rows have an offense value the {choice.name} "
        f"classification knows, below the {MIN_MATCH_RATE:.0%} a meaningful map needs (tried: {tried}); "
        f"most frequent unmatched: {shown}; write your own classification with `{command}`, "
        "fill in its unclassified lines, then build with --classification my_offenses.csv"
    )


def offense_table(offenses: pd.Series) -> pd.DataFrame:
    """One row per distinct non-empty offense value, most frequent first: `value`, `rows`, and
    per built-in rule set the "category: offense" it gives the value ("" where none matches)."""
    counts = offense_counts(offenses)
    table = pd.DataFrame({"value": counts.index, "rows": counts.to_numpy()})
    for name in BUILTIN_RULE_SETS:
        classifier = builtin_classifier(name)
        table[name] = [_label(classifier.rule_for(value)) for value in counts.index]
    return table


def _label(rule: OffenseRule | None) -> str:
    return f"{rule.category}: {rule.offense}" if rule else ""


def template_text(offenses: pd.Series, choice: ClassifierChoice, described: str) -> str:
    """An editable rules file (CSV text) with one exact-value rule per distinct offense value,
    category and offense guessed by `choice`'s rule set; values it does not know get category
    `unclassified`. It ends with `@<set>` so that values missing from the list still get the
    built-in rules. `described` says where the values come from (file and column)."""
    counts = offense_counts(offenses)
    rules = {value: choice.classifier.rule_for(value) for value in counts.index}
    empty = int(len(offenses) - counts.sum())
    out = io.StringIO()
    out.write(
        f"# Offense classification for {described}.\n"
        "# One rule per distinct value, its pattern the exact value (case and repeated spaces ignored).\n"
        "# Categories: violent (counted on the map), property, drugs, other, not a crime.\n"
        f"# Guesses from the built-in {choice.name} rules, which know {choice.match_rate:.1%} of the rows.\n"
        f"# Fill in every line marked {UNCLASSIFIED} (those rows count as not violent until you do),\n"
        "# change any category you disagree with, then build with --classification THIS_FILE.\n"
    )
    if empty:
        out.write(f"# {empty} rows have no offense value; the build rejects them as unknown offenses.\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["pattern", "category", "offense", "rows"])
    unknown = [value for value, rule in rules.items() if rule is None]
    if unknown:
        out.write(f"# No built-in rule matched these values: replace {UNCLASSIFIED} with a category.\n")
        writer.writerows([exact_pattern(value), UNCLASSIFIED, value, counts[value]] for value in unknown)
    known = [(value, rule) for value, rule in rules.items() if rule is not None]
    if known:
        out.write(f"# Guessed by the built-in {choice.name} rules:\n")
        writer.writerows([exact_pattern(value), rule.category, rule.offense, counts[value]] for value, rule in known)
    out.write(f"# Values not listed above get the built-in {choice.name} rules:\n{INCLUDE_MARK}{choice.name}\n")
    return out.getvalue()


def exact_pattern(value: str) -> str:
    """A pattern that matches exactly `value`: only the characters special to a regular expression
    are escaped, and `#` and `@` so that the line cannot read as a comment or an include
    ("LARCENY - FROM VEHICLE" stays readable)."""
    return _SPECIAL.sub(r"\\\g<0>", value)


_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()#@]")
