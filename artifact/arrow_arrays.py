"""Arrow arrays read through their buffers, into NumPy or Python values, with nanoarrow (about
3 MB in a worker, where pyarrow takes about 30): any array that exports the Arrow C data interface
(`__arrow_c_array__`) is read alike, a record batch a server read from a layer's Arrow stream
(`layer_rows`) or a pyarrow array a build made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import nanoarrow as na
import numpy as np

if TYPE_CHECKING:
    from nanoarrow.c_array import CArrayView

NUMBER_TYPES = {
    "double": "f8",
    "float": "f4",
    **{f"int{bits}": f"i{bits // 8}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"u{bits // 8}" for bits in (8, 16, 32, 64)},
}
"""nanoarrow's storage type names of the numeric types -> their NumPy dtypes."""
OFFSET_TYPES = {"string": np.int32, "binary": np.int32, "large_string": np.int64, "large_binary": np.int64}
"""The variable-length types -> the integer type of their offsets."""
STRING_TYPES = ("string", "large_string")


class ArrowArray(Protocol):
    """An array that exports the Arrow C data interface: pyarrow's, nanoarrow's."""

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any: ...


def view(array: ArrowArray) -> CArrayView:
    """`array`'s buffers and type (an extension type such as GeoArrow WKB: its storage's)."""
    return na.c_array(array).view()


def kind(array: ArrowArray) -> str:
    """The storage type of `array` as nanoarrow names it: `double`, `int64`, `bool`, `large_string`..."""
    return view(array).storage_type


def numbers(array: ArrowArray) -> np.ndarray:
    """A numeric array's values (nulls' slots hold any number)."""
    return _numbers(view(array))


def booleans(array: ArrowArray) -> np.ndarray:
    """A boolean array's values (nulls' slots hold any value)."""
    return _booleans(view(array))


def valid(array: ArrowArray) -> np.ndarray:
    """Which values of `array` are not null."""
    return _valid(view(array))


def binaries(array: ArrowArray, rows: np.ndarray) -> list[bytes]:
    """The values of `rows` of a binary or string array, as bytes (a null's: empty)."""
    return _binaries(view(array), rows)


def values(array: ArrowArray, rows: np.ndarray) -> list[Any]:
    """The values of `rows` of a string, number or boolean array as Python values (None for a null)."""
    found = view(array)
    storage = found.storage_type
    if storage == "bool":
        picked = _booleans(found)[rows].tolist()
    elif storage in STRING_TYPES:
        picked = [value.decode() for value in _binaries(found, rows)]
    elif storage in NUMBER_TYPES:
        picked = _numbers(found)[rows].tolist()
    else:  # no density layer column is of another type
        raise TypeError(f"a density layer has no column of type {storage}")
    present = _valid(found)[rows].tolist()
    return [value if keep else None for value, keep in zip(picked, present, strict=True)]


def _numbers(found: CArrayView) -> np.ndarray:
    dtype = np.dtype(NUMBER_TYPES[found.storage_type])
    return np.frombuffer(found.buffer(1), dtype=dtype, count=found.offset + found.length)[found.offset :]


def _booleans(found: CArrayView) -> np.ndarray:
    return _bits(found.buffer(1), found)


def _valid(found: CArrayView) -> np.ndarray:
    return np.ones(found.length, dtype=bool) if found.null_count == 0 else _bits(found.buffer(0), found)


def _bits(bitmap: Any, found: CArrayView) -> np.ndarray:
    """`found`'s bits of an Arrow bitmap (least significant bit first, from the array's offset)."""
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[found.offset : found.offset + found.length].astype(bool)


def _binaries(found: CArrayView, rows: np.ndarray) -> list[bytes]:
    width = OFFSET_TYPES[found.storage_type]
    offsets = np.frombuffer(found.buffer(1), dtype=width, count=found.offset + found.length + 1)[found.offset :]
    memory = memoryview(found.buffer(2))
    starts, ends = offsets[rows].tolist(), offsets[rows + 1].tolist()
    return [bytes(memory[start:end]) for start, end in zip(starts, ends, strict=True)]
