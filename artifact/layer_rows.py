"""A density layer read a record batch at a time (`LayerRows`) from its Arrow stream: what a server
needs of a layer for a tile or a download, without holding the layer. Imported when a server first
needs a layer: it brings numpy and nanoarrow, never pyarrow nor pandas."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nanoarrow as na
import nanoarrow.ipc
import numpy as np

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.reader import STREAM_END, LayerFile

LayerBounds = tuple[float, float, float, float]
"""west, south, east, north in degrees (EPSG:4326, as every density layer)."""
COVERING = ("xmin", "ymin", "xmax", "ymax")
"""The fields of a GeoParquet 1.1 `bbox` covering, in `LayerBounds` order."""
EVERYWHERE = (-math.inf, -math.inf, math.inf, math.inf)
NOWHERE = (math.inf, math.inf, -math.inf, -math.inf)
"""The bounds of a batch without geometries: they meet no box."""


@dataclass(frozen=True)
class LayerGeometry:
    """What a density layer schema's GeoParquet metadata (`geo`) says of its geometry: the
    column, its `bbox` covering column, and the layer's bounds."""

    column: str
    covering: str
    bounds: LayerBounds

    @classmethod
    def of_schema(cls, metadata: Mapping[bytes, bytes] | None, path: object) -> LayerGeometry:
        """Raises `BuildError`, naming the layer's file `path`, when the metadata says none of it."""
        try:
            geo = json.loads((metadata or {})[b"geo"])
            column = geo["primary_column"]
            spec = geo["columns"][column]
            return cls(column, spec["covering"]["bbox"]["xmin"][0], tuple(spec.get("bbox", EVERYWHERE))[:4])
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"no GeoParquet 1.1 metadata with a bbox covering: {exc!r}"
            raise BuildError(f"{path}: cannot read density layer ({reason})") from None


@dataclass(frozen=True)
class Batch:
    """A record batch as read, its columns by name in the order asked: what `pa.RecordBatch`
    offers a download (`artifact/export.py`) and a tile of it."""

    column_names: list[str]
    columns: list[Any]
    """nanoarrow arrays (`CArray`)."""
    nbytes: int
    """What the batch's arrays hold (their buffers, decompressed), every column read."""

    @property
    def num_columns(self) -> int:
        return len(self.columns)

    @property
    def num_rows(self) -> int:
        return self.columns[0].length if self.columns else 0

    def column(self, name_or_index: str | int) -> Any:
        index = name_or_index if isinstance(name_or_index, int) else self.column_names.index(name_or_index)
        return self.columns[index]


class LayerRows:
    """A density layer read a record batch at a time from its Arrow stream, never whole: the
    batches a box meets (from the bounds the manifest keeps of each), or every batch in turn.
    Reads are positioned (`os.pread`): threads read at once without a lock."""

    def __init__(self, layer: LayerFile) -> None:
        self.path = layer.path
        self._file = layer.file  # held open: the layer stays readable after the build directory is deleted
        self._fd = layer.file.fileno()
        self._stream = stream = layer.stream
        self._schema_message = self._read(0, stream.schema_length)
        try:
            schema = self._open(self._schema_message + STREAM_END).get_schema()
        except RuntimeError as exc:  # nanoarrow's error on a damaged stream
            raise BuildError(f"{self.path}: cannot read density layer ({exc})") from None
        self._names = [schema.child(i).name for i in range(schema.n_children)]
        geometry = LayerGeometry.of_schema(dict(schema.metadata or {}), self.path)
        self.geometry, self.covering, self.bounds = geometry.column, geometry.covering, geometry.bounds
        self.properties: tuple[str, ...] = tuple(name for name in self._names if name not in (self.geometry, self.covering))
        self.group_bounds = np.array([batch.bounds or NOWHERE for batch in stream.batches], dtype=float).reshape(-1, 4)

    @property
    def groups(self) -> int:
        return len(self._stream.batches)

    def groups_meeting(self, box: LayerBounds) -> np.ndarray:
        """The batches (ascending) whose rows' bounding boxes may meet `box` (edges included)."""
        west, south, east, north = box
        b = self.group_bounds
        return np.flatnonzero((b[:, 0] <= east) & (b[:, 2] >= west) & (b[:, 1] <= north) & (b[:, 3] >= south))

    def read_group(self, group: int, columns: Sequence[str] | None = None) -> Batch:
        """Batch `group` (of `groups`), the `columns` named (None: every property, then the
        geometry: WKB, EPSG:4326)."""
        batch = self._stream.batches[group]
        message = self._read(batch.offset, batch.length)
        try:
            array = self._open(self._schema_message + message + STREAM_END).get_next()
        except RuntimeError as exc:  # nanoarrow's error on a damaged stream
            raise BuildError(f"{self.path}: cannot read density layer ({exc})") from None
        except StopIteration:  # a message that reads as the stream's end
            raise BuildError(f"{self.path}: cannot read density layer (no record batch at byte {batch.offset})") from None
        wanted = list(columns) if columns is not None else [*self.properties, self.geometry]
        return Batch(wanted, [array.child(self._names.index(name)) for name in wanted], _buffer_bytes(array.view()))

    def tables(self, columns: Sequence[str] | None = None) -> Iterator[Batch]:
        """The layer batch by batch, in file order (`columns` as `read_group` takes them)."""
        for group in range(self.groups):
            yield self.read_group(group, columns)

    def _read(self, offset: int, length: int) -> bytes:
        found = os.pread(self._fd, length, offset)
        if len(found) != length:
            raise BuildError(f"{self.path}: cannot read density layer (the file ends at byte {offset + len(found)})")
        return found

    @staticmethod
    def _open(message: bytes) -> Any:
        """An IPC stream held in `message`, opened for reading (a nanoarrow `CArrayStream`)."""
        return na.c_array_stream(nanoarrow.ipc.InputStream.from_readable(io.BytesIO(message)))


def _buffer_bytes(view: Any) -> int:
    """The bytes of every buffer of an array and its children (a nanoarrow `CArrayView`)."""
    return sum(buffer.size_bytes for buffer in view.buffers) + sum(_buffer_bytes(child) for child in view.children)
