"""The input report: every row accounted for (read = used + rejected) per input file and per
source (agency), categories, unknown offenses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

from crimetiles.precompute.chunks import IncidentFile, source_files
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
        "sources": [source_summary(name, paths, [tally.sources[path] for path in paths]) for name, paths in source_files(files)],
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


def source_summary(name: str, paths: Sequence[str], tallies: Sequence[SourceTally]) -> dict[str, Any]:
    """One source's rows, over its files; rejections by reason (see `most_rejected_first`)."""
    total = reduce(SourceTally.plus, tallies, SourceTally())
    return {
        "name": name,
        "files": list(paths),
        "rows_read": total.rows_read,
        "rows_used": total.rows_used,
        "rows_rejected": total.rows_rejected,
        "rejected_by_reason": {str(reason): int(count) for reason, count in most_rejected_first(total.rejected)},
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short console summary of the report: rows per input file, then per source when the
    sources are not simply the files (a source of several files)."""
    lines = []
    for summary in report["inputs"]:
        lines += _rows_lines(summary["path"], summary)
    sources = report["sources"]
    if any(len(source["files"]) > 1 for source in sources):
        for source in sources:
            lines += _rows_lines(f"source {source['name']} ({len(source['files'])} file(s))", source)
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


def _rows_lines(what: str, summary: dict[str, Any]) -> list[str]:
    read = f"{what}: {summary['rows_read']} rows read = {summary['rows_used']} used + {summary['rows_rejected']} rejected"
    return [read, *(f"  rejected, {reason}: {count}" for reason, count in summary["rejected_by_reason"].items())]
