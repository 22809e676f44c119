"""What the map page's charts, table and search read about a density layer: one small JSON document
per layer (`summaries/<layer>.json`, see docs/artifact.md), so that the page never has to fetch every
tile to compare areas. Pure functions of a density layer's GeoDataFrame and its study-area
counts; the writer is in `precompute/build_dir.py`.

Columnar and compact: one list per field, area `i` at position `i` of each, per-year values as one
list per area in the order of `years`. Densities, intervals and flags are copied from the layer
(rounded as the tiles round them, withheld values null), so the page classifies an area exactly as
the map colours it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from crimetiles.artifact.fields import AREA, ID, NAME, YEAR_FIELDS, year_field
from crimetiles.artifact.manifest import DensityLayer
from crimetiles.precompute.density import INTERVAL_LEVEL, Disclosure, density_interval, density_of

UNITS = "violent crimes per square mile"
DEGREE_DECIMALS = 6
"""Bounding boxes to about 0.1 m, as the manifest's bounds."""


def layer_summary(
    frame: gpd.GeoDataFrame,
    layer: DensityLayer,
    years: Sequence[int],
    average_years: int,
    yearly_counts: np.ndarray,
    withheld_years: np.ndarray,
    disclosure: Disclosure,
) -> dict[str, Any]:
    """The summary document of one density layer: its areas' ids, names, areas (sq mi), violent
    counts, densities, intervals and flags per year and for all years, bounding boxes, and the
    study area's (every area of the layer together: `yearly_counts` / total area), withheld for the
    years of `withheld_years` (and all years if any) where a withheld count could be subtracted back."""
    total_area = float(frame[AREA].sum())
    withheld = np.append(np.asarray(withheld_years, dtype=bool), bool(np.any(withheld_years)))
    counts = np.append(yearly_counts, yearly_counts.sum()).astype(np.int64)
    divisors = np.append(np.full(len(years), total_area), total_area * average_years)
    low, high = density_interval(counts, divisors)
    study = {
        "violent_count": [None if hidden else int(count) for count, hidden in zip(counts, withheld, strict=True)],
        "violent_per_sqmi": _unless(density_of(counts, divisors), withheld),
        "violent_per_sqmi_low": _unless(low, withheld),
        "violent_per_sqmi_high": _unless(high, withheld),
        "unstable": [bool(hidden or count < disclosure.unstable_below) for count, hidden in zip(counts, withheld, strict=True)],
        "suppressed": [bool(hidden) for hidden in withheld],
    }
    return {
        "layer": layer.name,
        "title": layer.title,
        "kind": layer.kind,
        "h3_resolution": layer.h3_resolution,
        "units": UNITS,
        "years": [int(year) for year in years],
        "average_years": average_years,
        "interval": {"level": INTERVAL_LEVEL, "method": "exact Poisson (Garwood)"},
        "unstable_below": disclosure.unstable_below,
        "suppress_below": disclosure.suppress_below,
        "class_breaks": {"method": layer.class_breaks.method, "values": list(layer.class_breaks.values)},
        "study_area": {
            "areas": len(frame),
            "area_sqmi": round(total_area, 6),
            **{name: values[:-1] for name, values in study.items()},
            **{f"{name}_all": values[-1] for name, values in study.items()},
        },
        "areas": {
            "id": [str(value) for value in frame[ID]],
            "name": [str(value) for value in frame[NAME]],
            "area_sqmi": [float(value) for value in frame[AREA]],
            **{base: _per_year(frame, base, years) for base in YEAR_FIELDS},
            **{f"{base}_all": _plain(frame[base]) for base in YEAR_FIELDS},
            "bbox": np.round(frame.geometry.bounds.to_numpy(), DEGREE_DECIMALS).tolist(),
        },
    }


def _unless(values: np.ndarray, withheld: np.ndarray) -> list[float | None]:
    return [None if hidden else float(value) for value, hidden in zip(values, withheld, strict=True)]


def _plain(column: pd.Series) -> list[Any]:
    """A column's values as JSON values: integers, floats and booleans as such, a withheld value None."""
    return [None if pd.isna(value) else value for value in column.astype(object).tolist()]


def _per_year(frame: pd.DataFrame, base: str, years: Sequence[int]) -> list[list[Any]]:
    """Field `base` per area (rows) and year (columns, in the order of `years`)."""
    columns = [_plain(frame[year_field(base, year)]) for year in years]
    return [list(row) for row in zip(*columns, strict=True)] if columns else [[] for _ in range(len(frame))]
