"""The input report: every row accounted for (read = used + rejected), categories, unknown offenses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crimetiles.precompute.chunks import IncidentFile
from crimetiles.precompute.classify import Classifier
from crimetiles.precompute.ingest import BoundaryLayer
from crimetiles.precompute.reasons import Reason
from crimetiles.precompute.tally import SourceTally, Tally


def build_report(
    tally: Tally,
    files: Sequence[IncidentFile],
    classifier: Classifier,
    years: Sequence[int],
    layers: Sequence[BoundaryLayer],
    warnings: Sequence[str],
    average_years: int,
) -> dict[str, Any]:
    """The `report.json` content (see docs/artifact.md). `average_years`: the number of years the
    all-years densities average over."""
    categories: dict[str, dict[str, int]] = {}
    for rule in classifier.rules:
        categories.setdefault(rule.category, {}).setdefault(rule.offense, 0)
    for (category, offense), count in sorted(tally.categories.items()):
        categories[category][offense] = int(count)
    unknown: dict[str, int] = {}
    for source in tally.sources.values():
        for value, count in source.unknown_offenses.items():
            unknown[value] = unknown.get(value, 0) + int(count)
    return {
        "inputs": [input_summary(file, tally.sources[file.source]) for file in files],
        "categories": categories,
        "unknown_offenses": dict(sorted(unknown.items(), key=lambda item: (-item[1], item[0]))),
        "violent_by_year": {str(year): int(tally.violent_years.get(year, 0)) for year in years},
        "average_years": average_years,
        "layers": {
            layer.name: {
                "violent_assigned": int(tally.layer_counts[layer.name].count.sum()),
                "violent_outside": int(tally.layer_outside[layer.name]),
            }
            for layer in layers
        },
        "warnings": list(warnings),
    }


def most_rejected_first(rejected: Mapping[str, int]) -> list[tuple[str, int]]:
    """(reason, rows) by rows, most first; ties in the order of `Reason` (the order rows are checked in)."""
    order = list(Reason)
    return sorted(((r, n) for r, n in rejected.items() if n), key=lambda item: (-item[1], order.index(Reason(item[0]))))


def input_summary(file: IncidentFile, source: SourceTally) -> dict[str, Any]:
    """One input's rows; rejections by reason (see `most_rejected_first`)."""
    by_reason = most_rejected_first(source.rejected)
    return {
        "path": file.source,
        "rows_read": source.rows_read,
        "rows_used": source.rows_used,
        "rows_rejected": source.rows_rejected,
        "rejected_by_reason": {str(reason): int(count) for reason, count in by_reason},
        "columns": file.columns.as_report(),
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short console summary of the report."""
    lines = []
    for summary in report["inputs"]:
        lines.append(
            f"{summary['path']}: {summary['rows_read']} rows read = {summary['rows_used']} used"
            f" + {summary['rows_rejected']} rejected"
        )
        lines += [f"  rejected, {reason}: {count}" for reason, count in summary["rejected_by_reason"].items()]
    for category, offenses in report["categories"].items():
        total = sum(offenses.values())
        detail = ", ".join(f"{offense} {count}" for offense, count in offenses.items() if count)
        lines.append(f"{category}: {total}" + (f" ({detail})" if detail else ""))
    if report["unknown_offenses"]:
        shown = ", ".join(f"{value or '(empty)'} x{count}" for value, count in list(report["unknown_offenses"].items())[:10])
        lines.append(f"unknown offense values: {shown}")
    for name, layer in report["layers"].items():
        if layer["violent_outside"]:
            lines.append(f"{name}: {layer['violent_outside']} violent incidents fall in none of its polygons")
    lines += [f"warning: {warning}" for warning in report["warnings"]]
    return lines
