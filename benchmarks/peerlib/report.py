"""Results of interleaved rounds: medians with [min-max] per contender, and per-round ratios of
crimetiles to the physical limit (nginx) and to the best peer of that round."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

HIGHER_IS_BETTER = frozenset({"requests_per_s"})
LIMIT = "nginx"
"""Static files from nginx: the physical limit of serving these bytes, not a peer to beat."""

METRICS = {
    "cached": ("requests_per_s", "p50_ms", "p99_ms", "cpu_us_per_request"),
    "cold": ("p50_ms", "mean_ms", "cpu_us_per_tile"),
    "build": ("seconds", "tile_bytes"),
}


def is_ours(contender: str) -> bool:
    return contender.startswith("crimetiles")


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def __str__(self) -> str:
        if self.low == self.high:
            return number(self.median)
        return f"{number(self.median)} [{number(self.low)}-{number(self.high)}]"


def number(value: float) -> str:
    """Three significant figures, thousands separated: 61,316 / 433 / 1.49 / 0.06."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Results:
    """Every measurement of a run, with the checks and what was skipped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def add(self, section: str, case: str, contender: str, round_index: int, figures: dict[str, float]) -> None:
        self.records.append({"section": section, "case": case, "contender": contender, "round": round_index + 1, **figures})

    def add_check(self, section: str, check: Any, **extra: Any) -> None:
        self.checks.append({"section": section, **asdict(check), "passed": check.passed, **extra})

    def cases(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((r["section"], r["case"]) for r in self.records))

    def spreads(self, section: str, case: str) -> dict[str, dict[str, Spread]]:
        """contender -> metric -> spread over rounds."""
        table: dict[str, dict[str, Spread]] = {}
        for contender in self._contenders(section, case):
            rows = self._rows(section, case, contender)
            table[contender] = {
                metric: Spread.of([row[metric] for row in rows]) for metric in METRICS[section] if metric in rows[0]
            }
        return table

    def ratios(self, section: str, case: str) -> list[dict[str, Any]]:
        """Per-round ratios ours/reference for each of our contenders, metric and reference
        (`nginx`, and `best peer`: the best other contender of that round for that metric)."""
        found = []
        peers = [c for c in self._contenders(section, case) if not is_ours(c) and c != LIMIT]
        for ours in (c for c in self._contenders(section, case) if is_ours(c)):
            for metric in METRICS[section]:
                for reference, pick in ((LIMIT, [LIMIT]), ("best peer", peers)):
                    per_round = self._round_ratios(section, case, ours, metric, pick)
                    if per_round:
                        found.append(
                            {
                                "contender": ours,
                                "metric": metric,
                                "reference": reference,
                                "per_round": per_round,
                                "spread": Spread.of(per_round),
                            }
                        )
        return found

    def _round_ratios(self, section: str, case: str, ours: str, metric: str, references: Sequence[str]) -> list[float]:
        ratios = []
        for round_number in sorted({r["round"] for r in self.records if r["section"] == section}):
            row = self._row(section, case, ours, round_number)
            rows = [self._row(section, case, name, round_number) for name in references]
            candidates = [ref[metric] for ref in rows if ref and metric in ref]
            if row and metric in row and candidates:
                best = max(candidates) if metric in HIGHER_IS_BETTER else min(candidates)
                ratios.append(row[metric] / best)
        return ratios

    def _contenders(self, section: str, case: str) -> list[str]:
        return list(dict.fromkeys(r["contender"] for r in self.records if r["section"] == section and r["case"] == case))

    def _rows(self, section: str, case: str, contender: str) -> list[dict[str, Any]]:
        return [r for r in self.records if (r["section"], r["case"], r["contender"]) == (section, case, contender)]

    def _row(self, section: str, case: str, contender: str, round_number: int) -> dict[str, Any] | None:
        return next((r for r in self._rows(section, case, contender) if r["round"] == round_number), None)

    def lines(self, titles: dict[str, str]) -> Iterable[str]:
        """The printed report: one table per section and case, then the ratios."""
        for section, case in self.cases():
            yield ""
            yield f"== {titles[section]}: {case} =="
            table = self.spreads(section, case)
            metrics = [m for m in METRICS[section] if any(m in row for row in table.values())]
            yield _row_text("contender", metrics)
            for contender, spreads in table.items():
                yield _row_text(contender, [str(spreads[m]) if m in spreads else "-" for m in metrics])
            ratios: dict[str, dict[str, Spread]] = {}
            for ratio in self.ratios(section, case):
                ratios.setdefault(f"{ratio['contender']} / {ratio['reference']}", {})[ratio["metric"]] = ratio["spread"]
            for label, spreads in ratios.items():
                yield _row_text(label, [str(spreads[m]) if m in spreads else "-" for m in metrics])
        yield ""
        yield (
            "Figures: median [min-max] over rounds. Ratios: ours / reference in each round, then median [min-max]; "
            "the best peer is the best other contender of that round (nginx excluded) for that column. "
            f"Higher is better for {', '.join(sorted(HIGHER_IS_BETTER))}, lower for the rest."
        )

    def to_json(self) -> dict[str, Any]:
        summary = []
        for section, case in self.cases():
            for contender, spreads in self.spreads(section, case).items():
                for metric, spread in spreads.items():
                    summary.append({"section": section, "case": case, "contender": contender, "metric": metric, **asdict(spread)})
        ratios = [
            {"section": section, "case": case, **{k: v for k, v in r.items() if k != "spread"}, **asdict(r["spread"])}
            for section, case in self.cases()
            for r in self.ratios(section, case)
        ]
        return {"checks": self.checks, "runs": self.records, "summary": summary, "ratios": ratios}


def _row_text(first: str, cells: Sequence[str]) -> str:
    return f"  {first:<36}" + "".join(f"{cell:>26}" for cell in cells)
