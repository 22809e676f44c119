"""docs/artifact.md: a layer's rows are sorted along a Hilbert curve (level 16 over the layer's
bounds) through the centres of their bounding boxes. geopandas' `hilbert_distance` is that curve."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from crimetiles.artifact.reader import open_build
from crimetiles.precompute.build_dir import spatial_order

SPEC = " ".join((Path(__file__).resolve().parents[2] / "docs" / "artifact.md").read_text(encoding="utf-8").split())
LEVEL = int(re.search(r"Rows are sorted along a Hilbert curve \(level (\d+) over the layer's bounds\)", SPEC).group(1))


def _distances(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Signed: geopandas gives unsigned integers, whose differences never fall below 0."""
    return frame.geometry.hilbert_distance(total_bounds=frame.total_bounds, level=LEVEL).to_numpy().astype(np.int64)


def test_polygons_a_coarser_curve_would_tie_are_ordered_by_the_specs_level():
    """Two corners set a one-degree extent; eight tiny squares lie 2**-15 degrees apart, in one cell
    of any curve of level 14 or coarser, given in the reverse of their order at the stated level."""
    step = 2.0**-15
    tiny = [shapely.box(0.3 + i * step, 0.3, 0.3 + i * step + step / 4, 0.3 + step / 4) for i in range(8)]
    frame = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.box(0.99, 0.99, 1, 1), *tiny], crs=4326)
    frame = frame.iloc[np.r_[0, 1, 2 + np.argsort(-_distances(frame)[2:], kind="stable")]]
    ordered = _distances(frame.iloc[spatial_order(frame)])
    assert len(np.unique(ordered)) == len(frame)
    assert (np.diff(ordered) > 0).all()


def test_every_layer_of_a_build_follows_the_curve(durham_build):
    for layer in open_build(durham_build).manifest.layers:
        distances = _distances(gpd.read_parquet(durham_build / "layers" / f"{layer}.parquet"))
        assert (np.diff(distances) >= 0).all(), layer
        assert len(np.unique(distances)) > len(distances) * 0.9, layer  # the curve, not a few cells of it
