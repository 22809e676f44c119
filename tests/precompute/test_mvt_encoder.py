"""The hand-written MVT writer (`artifact/pbf.py`) against the spec's own examples, against
mapbox-vector-tile's encoder (the one it replaced: the same features in the same order, with the
same geometry commands and the same properties, random and Durham layers alike; the layer's value
list is sorted, and a value keeps its type where mapbox-vector-tile wrote a double 0.0 as the
integer 0 met before it) and against GDAL's MVT reader."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapbox_vector_tile.Mapbox import vector_tile_pb2

from crimetiles.artifact.mvt import TILE_BUFFER, TILE_EXTENT, layer_tiler, tiles_covering
from crimetiles.artifact.pbf import (
    PropertyTable,
    field,
    packed,
    polygon_geometries,
    polygon_layer_tile,
    value_message,
    varint,
    varints,
)
from crimetiles.artifact.reader import open_build
from tests.precompute.reference_mvt import ReferenceTiler
from tests.system_python import run_json, system_python_with

# -- the wire format, byte by byte -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),  # protobuf's encoding guide
        (16384, b"\x80\x80\x01"),
        (2**32 - 1, b"\xff\xff\xff\xff\x0f"),
        (-1, b"\xff" * 9 + b"\x01"),  # int64: ten bytes of two's complement
    ],
)
def test_varint(value, expected):
    assert varint(value) == expected


@given(st.lists(st.integers(0, 2**32 - 1)))
def test_packed_is_the_varints_end_to_end(values):
    assert packed(values) == b"".join(varint(value) for value in values)


def test_field_prefixes_tag_and_length():
    assert field(3, b"abc") == b"\x1a\x03abc"
    assert field(1, b"x" * 300) == b"\x0a\xac\x02" + b"x" * 300


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("a", "string_value", b"\x0a\x01a"),
        ("é", "string_value", b"\x0a\x02\xc3\xa9"),
        (True, "bool_value", b"\x38\x01"),
        (False, "bool_value", b"\x38\x00"),
        (3, "int_value", b"\x20\x03"),
        (-2, "int_value", b"\x20\xfe" + b"\xff" * 8 + b"\x01"),
        (1.5, "double_value", b"\x19\x00\x00\x00\x00\x00\x00\xf8\x3f"),
        (2**63 - 1, "int_value", b"\x20" + b"\xff" * 8 + b"\x7f"),  # the int64 range, both ends
        (-(2**63), "int_value", b"\x20" + b"\x80" * 9 + b"\x01"),
    ],
)
def test_value_message(value, kind, expected):
    assert value_message(value) == expected
    parsed = vector_tile_pb2.tile.value.FromString(expected)
    assert parsed.HasField(kind) and getattr(parsed, kind) == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_integer_beyond_int64_is_refused(value):
    with pytest.raises(ValueError, match="64-bit"):
        value_message(value)


def test_packed_across_the_one_two_and_three_byte_boundaries():
    assert packed([1, 127]) == b"\x01\x7f"
    assert packed([1, 128]) == b"\x01\x80\x01"
    assert packed([16383, 16384]) == b"\xff\x7f\x80\x80\x01"


@pytest.mark.parametrize(("size", "length"), [(16383, b"\xff\x7f"), (16384, b"\x80\x80\x01"), (16385, b"\x81\x80\x01")])
def test_field_length_across_the_two_and_three_byte_boundary(size, length):
    text = "x" * size
    assert field(1, text.encode()) == b"\x0a" + length + text.encode()
    assert vector_tile_pb2.tile.value.FromString(field(1, text.encode())).string_value == text


def _closed(*points: tuple[int, int]) -> list[list[int]]:
    return [list(point) for point in (*points, points[0])]


SPEC_MULTIPOLYGON = [
    _closed((0, 0), (10, 0), (10, 10), (0, 10)),
    _closed((11, 11), (20, 11), (20, 20), (11, 20)),
    _closed((13, 13), (13, 17), (17, 17), (17, 13)),
]
SPEC_MULTIPOLYGON_COMMANDS = (
    [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]  # the first polygon
    + [9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15]  # the second's exterior
    + [9, 4, 13, 26, 0, 8, 8, 0, 0, 7, 15]  # its hole
)


def test_spec_polygon_example():
    """Spec 4.3.5.3: a triangle with points (3,6), (8,12), (20,34)."""
    (geometry,) = polygon_geometries(_closed((3, 6), (8, 12), (20, 34)), [4], [0])
    assert geometry == bytes([9, 6, 12, 18, 10, 12, 24, 44, 15])


def test_spec_multipolygon_example():
    """Spec 4.3.5.4: two polygons, the second with a hole, in one feature: the cursor carries over
    from ring to ring."""
    (geometry,) = polygon_geometries([point for ring in SPEC_MULTIPOLYGON for point in ring], [5, 5, 5], [0, 0, 0])
    assert list(geometry) == SPEC_MULTIPOLYGON_COMMANDS


def test_each_feature_starts_from_the_origin():
    square = SPEC_MULTIPOLYGON[0]
    first, second = polygon_geometries(square + square, [5, 5], [0, 1])
    assert list(first) == list(second) == [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]


def test_repeated_points_and_the_closing_point_are_not_written():
    ring = [[0, 0], [0, 0], [10, 0], [10, 10], [10, 10], [0, 10], [0, 0]]
    assert list(polygon_geometries(ring, [7], [0])[0]) == [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]


def test_large_deltas_take_several_bytes():
    (geometry,) = polygon_geometries(_closed((4000, 0), (4000, 4000), (0, 4000)), [4], [0])
    assert geometry == packed([9, 8000, 0, 18, 0, 8000, 7999, 0, 15])
    assert geometry[1:3] == b"\xc0\x3e"  # 8000 = 0b1111101_000000


def test_features_and_points_above_256_compare_by_value():
    """The tiler passes NumPy's `tolist()`: equal numbers above CPython's small-int cache are distinct
    objects, so rings of one feature and repeated points are found by value."""
    rings = [point for ring in SPEC_MULTIPOLYGON for point in ring]
    (geometry,) = polygon_geometries(rings, [5, 5, 5], np.full(3, 300).tolist())
    assert list(geometry) == SPEC_MULTIPOLYGON_COMMANDS
    repeated = np.array([[300, 300], [300, 300], [310, 300], [310, 310], [300, 310], [300, 300]]).tolist()
    assert list(polygon_geometries(repeated, [6], [0])[0]) == [9, 0xD8, 0x04, 0xD8, 0x04, 26, 20, 0, 0, 20, 19, 0, 15]


def test_rings_and_their_features_must_pair_up():
    with pytest.raises(ValueError, match="shorter"):
        polygon_geometries(SPEC_MULTIPOLYGON[0] * 2, [5, 5], [0])


def test_property_table_lists_keys_in_column_order_and_values_sorted():
    table = PropertyTable.of(pd.DataFrame({"a": ["x", "y", "x"], "b": [1, 2, 1], "c": [1.0, 2.5, None]}))
    tags = table.tile_tags([2, 1])  # feature 2 first: a=x b=1 (c missing), then a=y b=2 c=2.5
    assert tags.keys == field(3, b"a") + field(3, b"b") + field(3, b"c")
    assert tags.values == b"".join(field(4, value_message(v)) for v in ("x", "y", 1, 2, 2.5))
    assert tags.packed == [bytes([0, 0, 1, 2]), bytes([0, 1, 1, 3, 2, 4])]


def test_values_are_sorted_strings_then_numbers_then_booleans():
    mixed = pd.Series(["b", 2.5, False, -1, "a", True, 10, "B"], dtype=object)
    table = PropertyTable.of(pd.DataFrame({"v": mixed}))
    tags = table.tile_tags(list(range(len(mixed))))
    assert tags.values == b"".join(field(4, value_message(v)) for v in ("B", "a", "b", -1, 2.5, 10, False, True))
    assert tags.packed == [bytes([0, index]) for index in (2, 4, 6, 3, 1, 7, 5, 0)]


def test_every_value_keeps_its_type():
    """1 and 1.0 and True are three values (mapbox-vector-tile wrote 1.0 as 1 after a 1 in the same
    tile); NaN and None are left out."""
    table = PropertyTable.of(pd.DataFrame({"n": [1, 7], "x": [1.0, math.nan], "m": pd.Series([True, 1.0], dtype=object)}))
    tags = table.tile_tags([0, 1])
    assert tags.values == b"".join(field(4, value_message(v)) for v in (1, 1.0, 7, True))
    assert tags.packed == [bytes([0, 0, 1, 1, 2, 3]), bytes([0, 2, 2, 1])]


def test_missing_values_and_other_types_in_a_mixed_column_are_left_out():
    mixed = pd.Series([None, "a", math.nan, True, ("a",)], dtype=object)
    tags = PropertyTable.of(pd.DataFrame({"m": mixed})).tile_tags(list(range(5)))
    assert (tags.keys, tags.values) == (b"\x1a\x01m", b"\x22\x03\x0a\x01a" + b"\x22\x02\x38\x01")
    assert tags.packed == [b"", bytes([0, 0]), b"", bytes([0, 1]), b""]


def test_a_column_without_any_value_writes_no_tags():
    tags = PropertyTable.of(pd.DataFrame({"c": [math.nan, None]})).tile_tags([0, 1])
    assert (tags.packed, tags.keys, tags.values) == ([b"", b""], b"", b"")


@pytest.mark.parametrize("features", [128, 129])
def test_tag_indices_of_128_values_are_bytes_and_of_more_varints(features):
    """Up to 128 values a tag index is one byte; the 129th value's index, 128, takes two."""
    square = _closed((0, 0), (10, 0), (10, 10), (0, 10))
    tags = PropertyTable.of(pd.DataFrame({"n": range(features)})).tile_tags(list(range(features)))
    assert tags.packed[127] == b"\x00\x7f"
    assert tags.packed[128:] == [b"\x00\x80\x01"][: features - 128]
    data = polygon_layer_tile("layer", 4096, tags, polygon_geometries(square * features, [5] * features, range(features)))
    decoded = mapbox_vector_tile.decode(data)["layer"]["features"]
    assert [feature["properties"] for feature in decoded] == [{"n": n} for n in range(features)]


def test_a_tile_numbers_only_the_keys_and_values_its_features_use():
    tags = PropertyTable.of(pd.DataFrame({"a": [None, 1.5], "b": ["x", "y"]})).tile_tags([0])
    assert (tags.packed, tags.keys, tags.values) == ([b"\x00\x00"], field(3, b"b"), field(4, value_message("x")))


def test_tag_indices_past_two_bytes_take_three():
    """A low zoom's tile numbers tens of thousands of values: the 16,385th value's index takes three bytes."""
    tags = PropertyTable.of(pd.DataFrame({"n": range(16_385)})).tile_tags(np.arange(16_385))
    assert tags.packed[:2] == [b"\x00\x00", b"\x00\x01"]
    assert tags.packed[16_383:] == [b"\x00\xff\x7f", b"\x00\x80\x80\x01"]


def test_varints_of_an_array_are_each_ones_varint_end_to_end():
    values = [0, 1, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**28, 2**35 + 3, 2**63 - 1, 2**64 - 1]
    body, lengths = varints(np.array(values, dtype=np.uint64))
    assert body == b"".join(map(varint, values))
    assert lengths.tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 9, 10]


def test_tags_and_geometries_must_pair_up():
    tags = PropertyTable.of(pd.DataFrame({"a": ["x", "y"]})).tile_tags([0, 1])
    (geometry,) = polygon_geometries(SPEC_MULTIPOLYGON[0], [5], [0])
    with pytest.raises(ValueError, match="shorter"):
        polygon_layer_tile("layer", 4096, tags, [geometry])


def test_property_tables_and_tile_tags_are_frozen():
    table = PropertyTable.of(pd.DataFrame({"a": ["x"]}))
    tags = table.tile_tags([0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.keys = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        tags.keys = b""


# -- random layers: the same features as mapbox-vector-tile writes -----------------------------


def _star(center: tuple[float, float], radius: float, angles: list[float], spikes: list[float]) -> shapely.Polygon:
    """A star-shaped (so simple) polygon around `center`."""
    points = [
        (center[0] + radius * spike * math.cos(angle), center[1] + radius * spike * math.sin(angle))
        for angle, spike in zip(sorted(angles), spikes, strict=False)
    ]
    return shapely.Polygon(points)


fraction = st.floats(-0.5, 1.5)
sizes = st.floats(-4.5, 0.3).map(lambda exponent: 10**exponent)  # from a twentieth of a tile unit to two tiles


@st.composite
def shapes(draw) -> shapely.Geometry:
    """Polygons in tile fractions (0-1 across the tile, y down): stars, boxes with holes, and pairs
    of boxes a fraction of a tile unit apart (snapping makes them touch or overlap)."""
    center = (draw(fraction), draw(fraction))
    size = draw(sizes)
    kind = draw(st.sampled_from(["star", "holed box", "close pair"]))
    if kind == "star":
        count = draw(st.integers(3, 12))
        angles = draw(st.lists(st.floats(0, 2 * math.pi), min_size=count, max_size=count, unique=True))
        spikes = draw(st.lists(st.floats(0.2, 1), min_size=count, max_size=count))
        star = _star(center, size, angles, spikes)
        return star if star.is_valid and star.area > 0 else shapely.box(*center, center[0] + size, center[1] + size)
    if kind == "holed box":
        inner = draw(st.floats(0.1, 0.8))
        outer = shapely.box(center[0] - size, center[1] - size, center[0] + size, center[1] + size)
        return outer.difference(
            shapely.box(center[0] - inner * size, center[1] - inner * size, center[0] + inner * size, center[1] + inner * size)
        )
    gap = draw(st.floats(0, 2)) / TILE_EXTENT
    left = shapely.box(center[0] - size, center[1], center[0], center[1] + size)
    right = shapely.box(center[0] + gap, center[1], center[0] + gap + size, center[1] + size)
    return shapely.MultiPolygon([left, right]) if gap > 0 else shapely.union(left, right)


tiles = st.builds(
    lambda z, fx, fy: mercantile.Tile(int(fx * (2**z)), int(fy * (2**z)), z),
    st.integers(0, 18),
    st.floats(0, 1, exclude_max=True),
    st.floats(0, 1, exclude_max=True),
)
numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: x + 0.0)  # no -0.0: equal to 0.0, written either way
mixed = st.sampled_from([1, 1.0, True, False, 0, "1", None, 2.5, -3])


@st.composite
def layers(draw) -> tuple[mercantile.Tile, gpd.GeoDataFrame, int]:
    """A tile, a layer of polygons around it (EPSG:3857) with properties of every kind, and a
    simplification max zoom around the tile's zoom."""
    tile = draw(tiles)
    west, south, east, north = mercantile.xy_bounds(tile)
    polygons = draw(st.lists(shapes(), min_size=1, max_size=6))
    in_metres = [shapely.transform(p, lambda uv: uv * [east - west, south - north] + [west, north]) for p in polygons]
    in_metres = [p if p.is_valid else p.envelope for p in in_metres]  # points that rounding to metres merged
    n = len(polygons)
    properties = {
        "id": draw(st.lists(st.text(max_size=5), min_size=n, max_size=n)),
        "count": draw(st.lists(st.integers(-(2**40), 2**40) | st.integers(0, 3), min_size=n, max_size=n)),
        "density": draw(st.lists(numbers | st.sampled_from([0.0, 1.0, 3.0]), min_size=n, max_size=n)),
        "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "mixed": pd.Series(draw(st.lists(mixed, min_size=n, max_size=n)), dtype=object),
    }
    frame = gpd.GeoDataFrame(properties, geometry=in_metres, crs="EPSG:3857")
    return tile, frame, draw(st.integers(max(0, tile.z - 1), tile.z + 1))


def _typed(value: vector_tile_pb2.tile.value) -> tuple[str, object]:
    ((kind, content),) = value.ListFields()
    return kind.name, content


def _readable(value: vector_tile_pb2.tile.value) -> tuple[str, object]:
    """What a reader of the property sees: a string, a number or a boolean, and its value."""
    kind, content = _typed(value)
    return {"string_value": "string", "bool_value": "boolean"}.get(kind, "number"), content


def same_features(ours: bytes | None, reference: bytes | None) -> None:
    """The same layer, keys and features, features in the same order, with the same geometry
    commands and the same properties (numbers as numbers); our value list sorted, each value once."""
    assert (ours is None) == (reference is None)
    if ours is None:
        return
    (a,), (b,) = vector_tile_pb2.tile.FromString(ours).layers, vector_tile_pb2.tile.FromString(reference).layers
    assert (a.name, a.extent, a.version, sorted(a.keys)) == (b.name, b.extent, b.version, sorted(b.keys))
    assert [(f.type, list(f.geometry), f.HasField("id")) for f in a.features] == [
        (f.type, list(f.geometry), f.HasField("id")) for f in b.features
    ]
    for ours_feature, reference_feature in zip(a.features, b.features, strict=True):
        assert [
            (a.keys[k], _readable(a.values[v])) for k, v in zip(ours_feature.tags[0::2], ours_feature.tags[1::2], strict=True)
        ] == [
            (b.keys[k], _readable(b.values[v]))
            for k, v in zip(reference_feature.tags[0::2], reference_feature.tags[1::2], strict=True)
        ]
    values = [_typed(value) for value in a.values]
    assert len(set(values)) == len(values)
    assert sorted(values, key=lambda typed: (typed[0] == "bool_value", typed[0] != "string_value", typed[1])) == values


def _same_as_reference(tile: mercantile.Tile, frame: gpd.GeoDataFrame, simplify_maxzoom: int) -> bytes | None:
    data = layer_tiler("layer", frame, simplify_maxzoom).encode(tile)
    same_features(data, ReferenceTiler("layer", frame, simplify_maxzoom).encode(tile))
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers())
def test_random_layers_encode_to_the_features_mapbox_vector_tile_writes(layer):
    data = _same_as_reference(*layer)
    if data is not None:
        check_spec(data)


def test_an_invalid_input_polygon_is_repaired_as_mapbox_vector_tile_does():
    tile = mercantile.Tile(0, 0, 0)
    bowtie = shapely.Polygon([(0.2, 0.2), (0.8, 0.8), (0.8, 0.2), (0.2, 0.8)])
    west, south, east, north = mercantile.xy_bounds(tile)
    frame = gpd.GeoDataFrame(
        {"id": ["bowtie"]},
        geometry=[shapely.transform(bowtie, lambda uv: uv * [east - west, south - north] + [west, north])],
        crs=3857,
    )
    data = _same_as_reference(tile, frame, 5)
    (feature,) = mapbox_vector_tile.decode(data)["layer"]["features"]
    assert feature["geometry"]["type"] == "MultiPolygon"  # two triangles meeting at the crossing


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _shoelace(ring: list[tuple[int, int]]) -> int:
    """Twice the signed area in tile coordinates (y down): positive for an exterior ring (spec 4.3.4.4)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))


def check_spec(data: bytes) -> None:
    """What spec 4.3 asks of polygon features, read with protobuf (not our writer): MoveTo, LineTo
    and ClosePath per ring, at least three distinct consecutive points and a non-zero area per
    ring, an exterior (positive area) first, coordinates within the buffer, tags pointing into the
    layer's tables, no key or value written twice."""
    (layer,) = vector_tile_pb2.tile.FromString(data).layers
    assert (layer.version, layer.extent) == (2, TILE_EXTENT)
    assert len(set(layer.keys)) == len(layer.keys)
    assert len({value.SerializeToString() for value in layer.values}) == len(layer.values)
    for feature in layer.features:
        assert feature.type == vector_tile_pb2.tile.Polygon
        assert len(feature.tags) % 2 == 0
        assert all(key < len(layer.keys) for key in feature.tags[0::2])
        assert all(value < len(layer.values) for value in feature.tags[1::2])
        rings, commands, x, y = [], list(feature.geometry), 0, 0
        while commands:
            move, dx, dy, line, *commands = commands
            assert move == 9 and line & 7 == 2
            x, y = x + _unzigzag(dx), y + _unzigzag(dy)
            ring = [(x, y)]
            for _ in range(line >> 3):
                dx, dy, *commands = commands
                assert (dx, dy) != (0, 0)
                x, y = x + _unzigzag(dx), y + _unzigzag(dy)
                ring.append((x, y))
            close, *commands = commands
            assert close == 15
            rings.append(ring)
        assert rings and _shoelace(rings[0]) > 0
        for ring in rings:
            assert len(set(ring)) >= 3 and _shoelace(ring) != 0
            assert all(-TILE_BUFFER <= c <= TILE_EXTENT + TILE_BUFFER for point in ring for c in point)


# -- Durham: every tile of every tileset -------------------------------------------------------


def _kinds_by_key(data: bytes) -> set[tuple[str, str]]:
    (layer,) = vector_tile_pb2.tile.FromString(data).layers
    return {
        (layer.keys[k].split("_2")[0], _typed(layer.values[v])[0])
        for feature in layer.features
        for k, v in zip(feature.tags[0::2], feature.tags[1::2], strict=True)
    }


EXPECTED_KINDS = {
    ("id", "string_value"),
    ("name", "string_value"),
    ("area_sqmi", "double_value"),
    ("violent_count", "int_value"),
    ("violent_per_sqmi", "double_value"),
    ("violent_per_sqmi_low", "double_value"),
    ("violent_per_sqmi_high", "double_value"),
    ("unstable", "bool_value"),
    ("suppressed", "bool_value"),
}
"""Each Durham property's type in every tile (years stripped: `violent_count_2014` is a count)."""


@pytest.mark.slow
def test_every_durham_tile_has_the_features_mapbox_vector_tile_writes(durham_build):
    """...and counts are integers, densities doubles, in every tile."""
    build = open_build(durham_build)
    manifest = build.manifest
    compared = written = 0
    for name, tileset in manifest.tilesets.items():
        for band in tileset.bands:
            frame = build.layer_frame(band.layer)
            ours, reference = layer_tiler(name, frame, tileset.maxzoom), ReferenceTiler(name, frame, tileset.maxzoom)
            for tile in tiles_covering(manifest.bounds, range(band.minzoom, min(band.maxzoom, 14) + 1)):
                data = ours.encode(tile)
                same_features(data, reference.encode(tile))
                compared, written = compared + 1, written + (data is not None)
                if data is not None:
                    assert _kinds_by_key(data) <= EXPECTED_KINDS, (name, tile)
    assert compared > 3000 and written > 1300


# -- GDAL reads what we write ------------------------------------------------------------------

READ_TILE_WITH_OGR = """
import json, sys
from osgeo import gdal
gdal.UseExceptions()
dataset = gdal.OpenEx(sys.argv[1], gdal.OF_VECTOR, open_options=["CLIP=NO"])  # kept: its layer needs it
read = [
    {"id": f.GetField("id"), "count": f.GetField("count"), "wkt": f.GetGeometryRef().ExportToWkt()} for f in dataset.GetLayer(0)
]
print(json.dumps(read))
"""


def test_gdal_reads_holes_as_holes_and_parts_as_parts(tmp_path):
    """GDAL's MVT driver rebuilds polygons from ring orientation: a hole wound as its exterior would
    read as a polygon of its own. Read back in Web Mercator, each feature is the input clipped to the
    buffered tile, within the snapping error (half a tile unit along the outline)."""
    python = system_python_with("osgeo.ogr", "python3-gdal")
    tile = mercantile.Tile(1150, 1608, 12)
    west, south, east, north = mercantile.xy_bounds(tile)
    unit = (east - west) / TILE_EXTENT
    holed = shapely.box(east - 1000, south + 500, east + 1000, south + 2500).difference(
        shapely.box(east - 500, south + 1000, east - 100, south + 2000)
    )
    pair = shapely.MultiPolygon(
        [
            shapely.box(west + 100, north - 900, west + 700, north - 100),
            shapely.box(west + 800, north - 900, west + 1500, north - 300),
        ]
    )
    crossing = shapely.Polygon([(west - 3000, south - 3000), (east + 3000, south - 3000), (west + 4000, north + 3000)])
    frame = gpd.GeoDataFrame(
        {"id": ["holed", "pair", "crossing"], "count": [3, 0, 12]}, geometry=[holed, pair, crossing], crs=3857
    )
    path = tmp_path / "12" / "1150" / "1608.mvt"  # GDAL georeferences z/x/y paths
    path.parent.mkdir(parents=True)
    path.write_bytes(layer_tiler("squares", frame, 14).encode(tile))
    read = {feature["id"]: feature for feature in run_json([python, "-c", READ_TILE_WITH_OGR, str(path)])}
    assert {key: feature["count"] for key, feature in read.items()} == {"holed": 3, "pair": 0, "crossing": 12}
    window = shapely.box(west - 64 * unit, south - 64 * unit, east + 64 * unit, north + 64 * unit)
    for key, source in zip(frame["id"], frame.geometry, strict=True):
        seen, expected = shapely.from_wkt(read[key]["wkt"]), shapely.intersection(source, window)
        assert _polygons_and_holes(seen) == _polygons_and_holes(expected), key
        assert shapely.symmetric_difference(seen, expected).area <= expected.length * unit / 2, key


def _polygons_and_holes(shape: shapely.Geometry) -> tuple[int, int]:
    parts = shapely.get_parts(shape)  # GDAL reads every feature as a MultiPolygon
    return len(parts), int(shapely.get_num_interior_rings(parts).sum())
