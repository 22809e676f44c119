"""Arrow arrays as text, a whole array at a time (NumPy strings): a download's CSV cells and
JSON values, written as pandas' `to_csv` and `json.dumps` of geopandas' features wrote them,
without pandas and without a Python object per number or flag (a layer of 250,000 polygons has
ten million of them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from crimetiles.artifact.arrow_arrays import STRING_TYPES, ArrowArray, binaries, booleans, kind, numbers, valid

TEXT = np.dtypes.StringDType()
"""NumPy's variable-width string type: the cells of a column, joined element-wise."""
CSV_SPECIAL = (",", '"', "\n")
"""What makes Python's csv writer (pandas' `to_csv`) quote a cell: the delimiter, the quote
character and the line terminator."""


def csv_quoted(value: str) -> str:
    """`value` as a CSV cell: in double quotes, its quotes doubled, if it holds a `CSV_SPECIAL`."""
    return '"' + value.replace('"', '""') + '"' if any(special in value for special in CSV_SPECIAL) else value


@dataclass(frozen=True)
class Notation:
    """How values are written: a missing value (null or NaN), true, false, and a string."""

    missing: str
    true: str
    false: str
    string: Callable[[str], str]


CSV = Notation(missing="", true="True", false="False", string=csv_quoted)
JSON = Notation(missing="null", true="true", false="false", string=json.dumps)


def column_text(array: ArrowArray, notation: Notation) -> np.ndarray:
    """Each value of a string, integer, float or boolean array as text (`TEXT`): numbers as
    Python's `repr` writes them (`2.0`, `1e-05`, `6`)."""
    storage = kind(array)
    missing = ~valid(array)
    if storage == "bool":
        text = np.where(booleans(array), notation.true, notation.false).astype(TEXT)
    elif storage in STRING_TYPES:
        strings = [notation.string(value.decode()) for value in binaries(array, np.arange(missing.size))]
        text = np.array(strings, dtype=TEXT)
    else:
        found = numbers(array)
        with np.printoptions(legacy=False):  # a library may set 1.13's, which casts floats to 12 digits (colour-science does)
            text = found.astype(TEXT)
        if found.dtype.kind == "f":
            missing |= np.isnan(found)
    return np.where(missing, notation.missing, text).astype(TEXT)


def constant_text(value: str, rows: int) -> np.ndarray:
    """`value` (already written) for each of `rows`."""
    return np.full(rows, value, dtype=TEXT)


def joined(pieces: Sequence[np.ndarray | str]) -> np.ndarray:
    """`pieces` (columns of text or constant strings) concatenated row by row."""
    result = pieces[0]
    for piece in pieces[1:]:
        result = np.strings.add(result, piece)
    return np.asarray(result, dtype=TEXT)


def geometry_json(array: ArrowArray) -> np.ndarray:
    """Each WKB value of a geometry array as GeoJSON geometry text (GEOS's writer, vectorised:
    coordinates are the same numbers as Python's `repr` of them, at times one digit longer), a
    missing geometry as `null`."""
    present = valid(array)
    wkb = np.empty(len(present), dtype=object)
    wkb[:] = binaries(array, np.arange(len(present)))
    wkb[~present] = None
    geometries = shapely.from_wkb(wkb)
    return np.where(shapely.is_missing(geometries), JSON.missing, shapely.to_geojson(geometries)).astype(TEXT)
