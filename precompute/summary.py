"""What the map page's charts, table and search read about a density layer: one small JSON document
per layer (`summaries/<layer>.json`, see docs/artifact.md), so that the page never has to fetch every
tile to compare areas. Pure functions of a density layer's GeoDataFrame; the writer is in
`precompute/build_dir.py`.

Columnar and compact: one list per field, area `i` at position `i` of each, per-year values as one
list per area in the order of `years`. Densities are copied from the layer (rounded as the tiles
round them), so the page classifies an area exactly as the map colours it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np

from crimetiles.artifact.fields import AREA, COUNT, DENSITY, ID, NAME, count_field, density_field
from crimetiles.artifact.manifest import DensityLayer

UNITS = "violent crimes per square mile"
DENSITY_DECIMALS = 3
"""As the density layers round their densities (docs/artifact.md)."""
DEGREE_DECIMALS = 6
"""Bounding boxes to about 0.1 m, as the manifest's bounds."""


def layer_summary(frame: gpd.GeoDataFrame, layer: DensityLayer, years: Sequence[int], average_years: int) -> dict[str, Any]:
    """The summary document of one density layer: its areas' ids, names, areas (sq mi), violent
    counts and densities per year and for all years, bounding boxes, and the study area's totals
    (every area of the layer together: total count / total area)."""
    counts = np.column_stack([frame[count_field(year)].to_numpy() for year in years]).astype(np.int64)
    densities = np.column_stack([frame[density_field(year)].to_numpy() for year in years])
    total_area = float(frame[AREA].sum())
    yearly_counts = counts.sum(axis=0)
    total_count = int(frame[COUNT].sum())
    return {
        "layer": layer.name,
        "title": layer.title,
        "kind": layer.kind,
        "h3_resolution": layer.h3_resolution,
        "units": UNITS,
        "years": [int(year) for year in years],
        "average_years": average_years,
        "class_breaks": {"method": layer.class_breaks.method, "values": list(layer.class_breaks.values)},
        "study_area": {
            "areas": len(frame),
            "area_sqmi": round(total_area, 6),
            "violent_count": [int(count) for count in yearly_counts],
            "violent_per_sqmi": [per_sqmi(int(count), total_area) for count in yearly_counts],
            "violent_count_all": total_count,
            "violent_per_sqmi_all": per_sqmi(total_count, total_area * average_years),
        },
        "areas": {
            "id": [str(value) for value in frame[ID]],
            "name": [str(value) for value in frame[NAME]],
            "area_sqmi": [float(value) for value in frame[AREA]],
            "violent_count": counts.tolist(),
            "violent_per_sqmi": densities.tolist(),
            "violent_count_all": [int(value) for value in frame[COUNT]],
            "violent_per_sqmi_all": [float(value) for value in frame[DENSITY]],
            "bbox": np.round(frame.geometry.bounds.to_numpy(), DEGREE_DECIMALS).tolist(),
        },
    }


def per_sqmi(count: int, area_sqmi: float) -> float:
    """Violent crimes per square mile, rounded as the layers' densities; 0 for no area."""
    return round(count / area_sqmi, DENSITY_DECIMALS) if area_sqmi > 0 else 0.0
