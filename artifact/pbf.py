"""The protobuf wire format of a one-layer polygon Mapbox Vector Tile 2.1 (`vector_tile.proto`).

Written by hand because building the same message through protobuf objects, with
mapbox-vector-tile's per-coordinate checks, was most of the cost of a tile. Fields are written in
field number order, as protobuf serialisers write them; a tile holds what `mapbox_vector_tile.encode`
writes for the same features, the same geometry commands and properties, with its value list
sorted (the tests compare the two).

Pure: integers in, bytes out. A typical tile holds a few features and a few dozen points, so the
geometry is written in plain Python over lists: a NumPy call costs more than a short loop. The
tags are numbered with NumPy for the whole tile: a low zoom's tile holds thousands of features.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: a server encoding on demand reads properties with pyarrow, never pandas
    import pandas as pd

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
"""Geometry command ids (spec 4.3.3)."""
POLYGON_FEATURE_TYPE = b"\x18\x03"
"""`Feature.type` (field 3, varint) = `GeomType.POLYGON` (3)."""
LAYER_EXTENT_TAG, LAYER_VERSION_TAG = b"\x28", b"\x78"
"""`Layer.extent` (field 5) and `Layer.version` (field 15), varints."""
LAYER_VERSION = 2
_INT64 = range(-(2**63), 2**63)


def varint(value: int) -> bytes:
    """One base-128 varint; a negative number as its 64-bit two's complement, as protobuf's int64."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_VARINTS = tuple(varint(value) for value in range(1 << 14))
"""Varints of one and two bytes, looked up: geometry deltas and tag indices are nearly all below 2**14."""


def packed(values: Sequence[int]) -> bytes:
    """The varints of `values` (non-negative) end to end: the body of a packed repeated field."""
    largest = max(values, default=0)
    if largest < 0x80:
        return bytes(values)
    if largest < len(_SMALL_VARINTS):
        return b"".join(map(_SMALL_VARINTS.__getitem__, values))
    return b"".join(map(varint, values))


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    size = len(payload)
    return _SMALL_VARINTS[number << 3 | 2] + (_SMALL_VARINTS[size] if size < len(_SMALL_VARINTS) else varint(size)) + payload


def value_message(value: str | bool | int | float) -> bytes:
    """A `Tile.Value`: strings as `string_value`, booleans as `bool_value`, integers as `int_value`
    (int64), other numbers as `double_value`, as mapbox-vector-tile stores Python values."""
    if isinstance(value, str):
        return field(1, value.encode())
    if isinstance(value, bool):
        return b"\x38" + bytes([value])
    if isinstance(value, int):
        if value not in _INT64:
            raise ValueError(f"property value {value} does not fit a 64-bit integer")
        return b"\x20" + varint(value)
    return b"\x19" + struct.pack("<d", value)


CodedColumn = tuple[np.ndarray, list[Any]]
"""A column of feature properties as the code of each row's value (-1: missing) and the values the
codes index (a missing value among them, None or NaN, is left out of features too)."""


@dataclass(frozen=True)
class TileTags:
    """The properties of one tile's features: each feature's packed tags, and the layer's `keys` and
    `values` fields the tags index."""

    packed: list[bytes]
    keys: bytes
    values: bytes


@dataclass(frozen=True)
class PropertyTable:
    """Every feature's properties, encoded once per layer: a feature's properties are the same in
    every tile it touches, so a tile only numbers the keys and values its features use.

    A tile lists the keys its features use in column order, and values sorted (strings, then
    numbers, then booleans, each in ascending order): neighbours in the list share bytes, which gzip finds
    (2 % smaller tiles than in order of first use on the Durham demo). Each value keeps its own
    type: a count of 0 is an integer and a density of 0.0 a double, in every tile. Values are
    numbered once per layer, in that sort order. Missing values (None, NaN) and values of other
    types than string, boolean and number are left out of the feature.
    """

    keys: tuple[bytes, ...]
    """The `keys` field of each column."""
    values: tuple[bytes, ...]
    """The `values` field of each value number."""
    numbers: np.ndarray
    """The number of each feature's value in each column (rows: features), -1 when left out."""

    @classmethod
    def of(cls, properties: pd.DataFrame) -> PropertyTable:
        """The table of `properties`: one row per feature, one column per property (string names)."""
        names = [name for name in properties.columns if isinstance(name, str)]
        return cls.of_coded(names, [[_coded(properties[name]) for name in names]], rows=len(properties))

    @classmethod
    def of_coded(cls, names: Sequence[str], parts: Sequence[Sequence[CodedColumn]], rows: int = 0) -> PropertyTable:
        """The table of columns `names` whose rows come in `parts` (each part's rows after those of
        the part before; each part holds one `CodedColumn` per name, all as long); with no column,
        `rows` rows of no property."""
        seen: dict[tuple[type, Any], int] = {}
        blocks = [np.column_stack([_numbered(seen, distinct)[codes] for codes, distinct in part]) for part in parts if part]
        numbers = np.concatenate(blocks) if blocks else np.empty((rows, len(names)), dtype=np.int32)
        return cls._renumbered(list(names), seen, numbers)

    @classmethod
    def _renumbered(cls, names: list[str], seen: dict[tuple[type, Any], int], numbers: np.ndarray) -> PropertyTable:
        """The table of columns `names` whose values, numbered in order of first sight (`seen`,
        `numbers`), are numbered again in their sort order."""
        ordered = sorted(seen, key=_sort_key)
        places = np.empty(len(ordered) + 1, dtype=np.int32)
        places[[seen[value] for value in ordered]] = np.arange(len(ordered))
        places[-1] = -1  # left out stays left out
        renumbered = places[numbers]
        values = tuple(field(4, value_message(value)) for _, value in ordered)
        return cls(tuple(field(3, name.encode()) for name in names), values, renumbered)

    def tile_tags(self, features: np.ndarray) -> TileTags:
        """The tags of `features` (indices into the layer, in tile order): per feature, the index
        of each key it has a value of and of that value, in column order. Built for the whole tile
        at once: a low zoom's tile holds thousands of features and tens of thousands of values."""
        block = self.numbers[features]
        drawn = block >= 0
        columns = np.flatnonzero(drawn.any(axis=0))
        used = np.unique(block[drawn])
        rows, cells = np.nonzero(drawn)
        tags = np.empty(2 * len(cells), dtype=np.int64)
        tags[0::2] = np.searchsorted(columns, cells)
        tags[1::2] = np.searchsorted(used, block[rows, cells])
        body, lengths = varints(tags)
        ends = np.concatenate([[0], np.cumsum(lengths)])[2 * np.cumsum(drawn.sum(axis=1))].tolist()
        packed_tags = [body[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
        return TileTags(
            packed_tags, b"".join(self.keys[j] for j in columns.tolist()), b"".join(self.values[n] for n in used.tolist())
        )


def varints(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The base-128 varints of non-negative integers `values` end to end, and the bytes of each."""
    numbers = values.astype(np.uint64)
    lengths = np.ones(len(numbers), dtype=np.int64)
    for shift in range(7, int(numbers.max(initial=0)).bit_length(), 7):
        lengths += numbers >= np.uint64(1 << shift)
    starts = np.cumsum(lengths) - lengths
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    for byte in range(int(lengths.max(initial=0))):
        has = lengths > byte
        low = (numbers[has] >> np.uint64(7 * byte)) & np.uint64(0x7F)
        out[starts[has] + byte] = low | np.where(lengths[has] > byte + 1, 0x80, 0).astype(np.uint64)
    return out.tobytes(), lengths


def _coded(column: pd.Series) -> CodedColumn:
    """A pandas column as a `CodedColumn`."""
    import pandas as pd  # here, not at the top: a server encoding on demand codes its columns without pandas

    if column.dtype == object:  # mixed types: 1, 1.0 and True must stay apart (numbered value by value)
        return np.arange(len(column)), column.tolist()
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    return codes, distinct.tolist()


def _numbered(seen: dict[tuple[type, Any], int], distinct: list[Any]) -> np.ndarray:
    """The numbers of the `distinct` values of a column (`_number`), then -1: indexed by a value's
    code, with -1 for a missing one."""
    return np.array([_number(seen, value) for value in distinct] + [-1], dtype=np.int32)


def _number(seen: dict[tuple[type, Any], int], value: Any) -> int:
    """The number of `value` among the values `seen` (added if new); -1 for a missing value (None,
    NaN) or a type a tile cannot hold."""
    if not isinstance(value, str | bool | int | float) or value != value:
        return -1
    return seen.setdefault((type(value), value), len(seen))


def _sort_key(typed: tuple[type, Any]) -> tuple[int, Any, bool]:
    """Strings, then numbers, then booleans; an integer before a double of the same value."""
    kind, value = typed
    return (0 if kind is str else 2 if kind is bool else 1, value, kind is float)


def polygon_geometries(coords: list[list[int]], ring_lengths: Sequence[int], ring_features: Sequence[int]) -> list[bytes]:
    """The packed geometry of each feature of the tile, from its rings.

    `coords` are [x, y] integer tile coordinates of closed rings (last point = first) of valid,
    oriented polygons, `ring_lengths` the number of coordinates of each ring and `ring_features`
    the feature of each ring, features numbered 0, 1, ... in order. Per ring: MoveTo its first
    point, LineTo the others but the closing point and repeated points, ClosePath; each position a
    zigzag-encoded delta from the previous point of the same feature (from 0,0 for its first):
    spec 4.3.
    """
    geometries = []
    commands: list[int] = []
    cursor_x = cursor_y = 0
    start = 0
    previous = None
    for length, feature in zip(ring_lengths, ring_features, strict=True):
        if feature != previous and commands:
            geometries.append(packed(commands))
            commands, cursor_x, cursor_y = [], 0, 0
        previous = feature
        ring = coords[start : start + length - 1]
        start += length
        x, y = ring[0]
        dx, dy = x - cursor_x, y - cursor_y
        # Deltas zigzag-encoded, (d << 1) ^ (d >> 63): 0, -1, 1, -2 ... as 0, 1, 2, 3 ... (spec 4.3.2)
        commands += (1 << 3 | MOVE_TO, (dx << 1) ^ (dx >> 63), (dy << 1) ^ (dy >> 63), 0)
        line_to = len(commands) - 1
        for next_x, next_y in ring[1:]:
            if next_x != x or next_y != y:
                dx, dy = next_x - x, next_y - y
                commands += ((dx << 1) ^ (dx >> 63), (dy << 1) ^ (dy >> 63))
                x, y = next_x, next_y
        commands[line_to] = (len(commands) - line_to - 1) // 2 << 3 | LINE_TO
        commands.append(1 << 3 | CLOSE_PATH)
        cursor_x, cursor_y = x, y
    if commands:
        geometries.append(packed(commands))
    return geometries


def polygon_layer_tile(name: str, extent: int, tags: TileTags, geometries: Sequence[bytes]) -> bytes:
    """A tile holding one layer `name` of polygon features, the i-th with the i-th tags and geometry."""
    features = b"".join(
        field(2, (field(2, feature_tags) if feature_tags else b"") + POLYGON_FEATURE_TYPE + field(4, geometry))
        for feature_tags, geometry in zip(tags.packed, geometries, strict=True)
    )
    layer = (
        field(1, name.encode())
        + features
        + tags.keys
        + tags.values
        + LAYER_EXTENT_TAG
        + varint(extent)
        + LAYER_VERSION_TAG
        + varint(LAYER_VERSION)
    )
    return field(3, layer)
