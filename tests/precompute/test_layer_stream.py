"""The density layers' Arrow streams (`layers/<layer>.arrows`, docs/artifact.md "What a server
reads"): the GeoParquet file's table again, a record batch per row group, each where the manifest
says, read back by pyarrow and by the server's reader (`LayerRows`, nanoarrow) alike."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from crimetiles.artifact.arrow_arrays import binaries, values
from crimetiles.artifact.layer_rows import COVERING, LayerRows
from crimetiles.artifact.reader import open_build

LAYERS = ("tracts", "neighborhoods", "blockgroups", "hex6", "hex9")


@pytest.fixture(scope="module")
def build(durham_build):
    return open_build(durham_build)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layers_stream_is_its_parquet_table_a_batch_per_row_group(build, layer):
    spec = build.manifest.layers[layer]
    parquet = pq.ParquetFile(build.root / spec.path)
    stream = pyarrow.ipc.open_stream((build.root / spec.stream.path).read_bytes())
    batches = list(stream)
    assert stream.schema.equals(parquet.schema_arrow, check_metadata=True)
    assert [batch.num_rows for batch in batches] == [
        parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)
    ]
    assert pa.Table.from_batches(batches).equals(parquet.read())


@pytest.mark.parametrize("layer", LAYERS)
def test_the_manifest_says_where_each_batch_lies_and_what_its_rows_cover(build, layer):
    spec = build.manifest.layers[layer]
    data = (build.root / spec.stream.path).read_bytes()
    schema = data[: spec.stream.schema_length]
    table = pq.read_table(build.root / spec.path)
    first = 0
    for batch in spec.stream.batches:
        (read,) = pyarrow.ipc.open_stream(schema + data[batch.offset : batch.offset + batch.length])
        expected = table.slice(first, read.num_rows)
        assert pa.Table.from_batches([read]).equals(expected)
        box = expected.column("bbox").combine_chunks()
        mins = [pc.min(box.field(name)).as_py() for name in COVERING[:2]]
        maxes = [pc.max(box.field(name)).as_py() for name in COVERING[2:]]
        assert batch.bounds == (*mins, *maxes)
        first += read.num_rows
    assert first == table.num_rows == spec.feature_count
    assert spec.stream.batches[-1].offset + spec.stream.batches[-1].length == len(data) - 8  # then the end marker


def test_the_servers_reader_gives_every_value_and_geometry_of_the_layer(build):
    """Each batch as `LayerRows` reads it (nanoarrow), every property and the geometry's WKB, is
    the Parquet file's: strings, integers with nulls (withheld counts), floats with NaN, booleans."""
    rows = LayerRows(build.open_layer("hex9"))
    table = pq.read_table(build.root / build.manifest.layers["hex9"].path)
    assert rows.properties == tuple(name for name in table.column_names if name not in ("geometry", "bbox"))
    assert table.column("violent_count_2014").null_count > 0  # withheld counts: nulls to read
    read = {name: [] for name in [*rows.properties, rows.geometry]}
    for batch in rows.tables():
        every = np.arange(batch.num_rows)
        for name in rows.properties:
            read[name] += values(batch.column(name), every)
        read[rows.geometry] += binaries(batch.column(rows.geometry), every)
    for name in rows.properties:
        expected = table.column(name).to_pylist()
        assert [None if v != v else v for v in read[name]] == [None if v != v else v for v in expected], name  # NaN as None
    assert read[rows.geometry] == table.column("geometry").to_pylist()


def test_threads_read_batches_at_once(build):
    """Reads are positioned (pread): no file position is shared, so no thread reads another's bytes."""
    rows = LayerRows(build.open_layer("hex9"))
    groups = list(range(rows.groups)) * 8

    def first_geometries(group: int) -> list[bytes]:
        return binaries(rows.read_group(group).column(rows.geometry), np.arange(3))

    alone = [first_geometries(group) for group in groups]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(first_geometries, groups))
    assert rows.groups > 1
    assert together == alone


def test_a_box_meets_only_the_batches_whose_rows_it_may_meet(build):
    rows = LayerRows(build.open_layer("hex9"))
    west, south, east, north = rows.group_bounds[0]
    assert 0 in rows.groups_meeting((west, south, east, north))
    assert 0 not in rows.groups_meeting((east + 1, north + 1, east + 2, north + 2))
    assert rows.groups_meeting((-180.0, -90.0, 180.0, 90.0)).tolist() == list(range(rows.groups))


LZ4_FRAME_MAGIC = (0x184D2204).to_bytes(4, "little")
ZSTD_FRAME_MAGIC = (0xFD2FB528).to_bytes(4, "little")


def test_the_batches_are_compressed(build):
    """LZ4, the IPC format's own buffer compression: the hex9 grid's batches, mostly zeros, take
    about a third of their raw size (raw, the stream was 3.2 times the Parquet file)."""
    spec = build.manifest.layers["hex9"]
    stream = (build.root / spec.stream.path).read_bytes()
    raw = sum(batch.serialize().size for batch in pyarrow.ipc.open_stream(stream))
    assert sum(batch.length for batch in spec.stream.batches) < raw / 2
    # each compressed buffer is an LZ4 frame (docs/artifact.md: "LZ4"), none a ZSTD one
    assert LZ4_FRAME_MAGIC in stream and ZSTD_FRAME_MAGIC not in stream
