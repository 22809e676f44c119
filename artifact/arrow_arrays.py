"""Arrow arrays read through their buffers, into NumPy or Python values: pyarrow itself converts
to NumPy and selects rows through pandas (about 45 MB more in a worker that never needs it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa


def numbers(array: pa.Array) -> np.ndarray:
    """A numeric array's values (nulls' slots hold any number)."""
    kind = "f" if pa.types.is_floating(array.type) else "i" if pa.types.is_signed_integer(array.type) else "u"
    dtype = np.dtype(f"{kind}{array.type.bit_width // 8}")
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=array.offset + len(array))[array.offset :]


def booleans(array: pa.Array) -> np.ndarray:
    """A boolean array's values (nulls' slots hold any value)."""
    return _bits(array.buffers()[1], array)


def valid(array: pa.Array) -> np.ndarray:
    """Which values of `array` are not null."""
    bitmap = array.buffers()[0]
    return np.ones(len(array), dtype=bool) if bitmap is None else _bits(bitmap, array)


def _bits(bitmap: pa.Buffer, array: pa.Array) -> np.ndarray:
    """`array`'s bits of an Arrow bitmap (least significant bit first, from the array's offset)."""
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


def binaries(column: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> list[bytes]:
    """The values of `rows` of a binary or string column, as bytes (a null's: empty)."""
    array = _array(column)
    offsets_buffer, data = array.buffers()[1:3]
    width = np.int64 if pa.types.is_large_binary(array.type) or pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width, count=array.offset + len(array) + 1)[array.offset :]
    memory = memoryview(data) if data is not None else memoryview(b"")
    starts, ends = offsets[rows].tolist(), offsets[rows + 1].tolist()
    return [bytes(memory[start:end]) for start, end in zip(starts, ends, strict=True)]


def values(column: pa.ChunkedArray, rows: np.ndarray) -> list[Any]:
    """The values of `rows` of a column as `to_pylist` gives them (None for a null)."""
    array = _array(column)
    kind = array.type
    if pa.types.is_boolean(kind):
        found = booleans(array)[rows].tolist()
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        found = [value.decode() for value in binaries(array, rows)]
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        found = numbers(array)[rows].tolist()
    else:  # no density layer column is of another type
        every = array.to_pylist()
        return [every[row] for row in rows.tolist()]
    present = valid(array)[rows].tolist()
    return [value if keep else None for value, keep in zip(found, present, strict=True)]


def _array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """`column` as one array (its storage, for an extension type such as GeoArrow WKB)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return array.storage if isinstance(array, pa.ExtensionArray) else array
