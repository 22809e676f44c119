"""The input report: every row accounted for (read = used + rejected), categories, unknown offenses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crimetiles.precompute.classify import Classifier
from crimetiles.precompute.ingest import BoundaryLayer, Incidents


def build_report(
    sources: Sequence[Incidents],
    rows: pd.DataFrame,
    classifier: Classifier,
    years: Sequence[int],
    layers: Sequence[BoundaryLayer],
    assignments: dict[str, np.ndarray],
    violent: np.ndarray,
    warnings: Sequence[str],
    average_years: int,
) -> dict[str, Any]:
    """The `report.json` content (see docs/artifact.md). `average_years`: the number of years the
    all-years densities average over."""
    categories: dict[str, dict[str, int]] = {}
    for rule in classifier.rules:
        categories.setdefault(rule.category, {}).setdefault(rule.offense, 0)
    for (category, offense), count in rows.groupby(["category", "offense_name"]).size().items():
        categories[category][offense] = int(count)
    unknown: dict[str, int] = {}
    for source in sources:
        for value, count in source.unknown_offenses.items():
            unknown[value] = unknown.get(value, 0) + int(count)
    violent_years = rows.loc[violent, "year"].value_counts()
    return {
        "inputs": [input_summary(source) for source in sources],
        "categories": categories,
        "unknown_offenses": dict(sorted(unknown.items(), key=lambda item: (-item[1], item[0]))),
        "violent_by_year": {str(year): int(violent_years.get(year, 0)) for year in years},
        "average_years": average_years,
        "layers": {
            layer.name: {
                "violent_assigned": int((assignments[layer.name][violent] >= 0).sum()),
                "violent_outside": int((assignments[layer.name][violent] < 0).sum()),
            }
            for layer in layers
        },
        "warnings": list(warnings),
    }


def input_summary(source: Incidents) -> dict[str, Any]:
    by_reason = source.rejects["reason"].value_counts()
    return {
        "path": source.source,
        "rows_read": source.rows_read,
        "rows_used": len(source.rows),
        "rows_rejected": len(source.rejects),
        "rejected_by_reason": {str(reason): int(count) for reason, count in by_reason.items()},
        "columns": source.columns.as_report(),
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
