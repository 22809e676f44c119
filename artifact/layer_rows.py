"""A density layer read a row group at a time (`LayerRows`): what a server needs of a layer for a
tile or a download, without holding the layer. Imported when a server first needs a layer: it
brings numpy and pyarrow, never pandas."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.reader import LayerFile

if TYPE_CHECKING:
    import pyarrow as pa

LayerBounds = tuple[float, float, float, float]
"""west, south, east, north in the layer's coordinates (degrees for EPSG:4326)."""
COVERING = ("xmin", "ymin", "xmax", "ymax")
"""The fields of a GeoParquet 1.1 `bbox` covering, in `LayerBounds` order."""
EVERYWHERE = (-math.inf, -math.inf, math.inf, math.inf)


class LayerRows:
    """A density layer read a row group at a time, never whole: the groups a box meets (from the
    row-group statistics of its GeoParquet 1.1 `bbox` covering column), or every group in turn.

    A layer written without the covering column (builds made before it) has every group meet every
    box: still right, only slower. Reads are serialised (one file position is shared).
    """

    def __init__(self, layer: LayerFile) -> None:
        self.path = layer.path
        self._lock = threading.Lock()
        try:
            self._parquet = pq.ParquetFile(layer.file)
            geo = json.loads(self._parquet.metadata.metadata[b"geo"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BuildError(f"{layer.path}: cannot read density layer ({exc})") from None
        column = geo["columns"][geo["primary_column"]]
        self.geometry: str = geo["primary_column"]
        self.crs: dict[str, Any] | None = column.get("crs")
        self.bounds: LayerBounds = tuple(column.get("bbox", EVERYWHERE))[:4]
        covering = column.get("covering", {}).get("bbox")
        self.covering: str | None = covering["xmin"][0] if covering else None
        self.properties: tuple[str, ...] = tuple(
            name for name in self._parquet.schema_arrow.names if name not in (self.geometry, self.covering)
        )
        self.group_bounds = self._group_bounds()

    @property
    def groups(self) -> int:
        return self._parquet.metadata.num_row_groups

    def _group_bounds(self) -> np.ndarray:
        """Each row group's bounds (rows: groups, columns: `LayerBounds`), from its statistics."""
        bounds = np.tile(np.array(EVERYWHERE), (self.groups, 1))
        if self.covering is None:
            return bounds
        metadata = self._parquet.metadata
        paths = [f"{self.covering}.{name}" for name in COVERING]
        for group in range(self.groups):
            columns = {metadata.row_group(group).column(i).path_in_schema: i for i in range(metadata.num_columns)}
            for j, path in enumerate(paths):
                statistics = metadata.row_group(group).column(columns[path]).statistics
                if statistics is not None and statistics.has_min_max:
                    bounds[group, j] = statistics.min if j < 2 else statistics.max
        return bounds

    def groups_meeting(self, box: LayerBounds) -> np.ndarray:
        """The row groups (ascending) whose rows' bounding boxes may meet `box` (edges included)."""
        west, south, east, north = box
        b = self.group_bounds
        return np.flatnonzero((b[:, 0] <= east) & (b[:, 2] >= west) & (b[:, 1] <= north) & (b[:, 3] >= south))

    def read_group(self, group: int, columns: Sequence[str] | None = None) -> pa.Table:
        """Row group `group` (of `groups`), the `columns` named (None: every column but the covering)."""
        wanted = list(columns) if columns is not None else [*self.properties, self.geometry]
        with self._lock:
            try:
                return self._parquet.read_row_group(group, columns=wanted, use_threads=False)
            except (OSError, ValueError) as exc:
                raise BuildError(f"{self.path}: cannot read density layer ({exc})") from None

    def tables(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """The layer group by group, in file order: the `columns` named, or every property then
        the geometry (WKB, EPSG:4326 as in every density layer), last (None)."""
        for group in range(self.groups):
            yield self.read_group(group, columns)
