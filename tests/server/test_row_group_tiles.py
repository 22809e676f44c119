"""Tiles encoded on demand from the row groups a tile meets are the archive's bytes, and the
layers' files are written for it: spatially sorted, in small row groups, with a bbox covering."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pyarrow.parquet as pq
import pytest

from crimetiles.artifact.export import export_chunks, export_text
from crimetiles.artifact.layer_rows import LayerRows
from crimetiles.artifact.mvt import layer_tiler
from crimetiles.artifact.reader import LayerFile, open_build
from crimetiles.precompute.build_dir import LAYER_ROW_GROUP_ROWS
from crimetiles.server.on_demand import RowGroupCache
from crimetiles.server.tiles import load_tile_service

SPEC = " ".join((Path(__file__).resolve().parents[2] / "docs" / "artifact.md").read_text(encoding="utf-8").split())
SAMPLED = 60
"""Tiles compared per tileset and zoom (a regular pick of the zoom's tiles over the build's extent)."""
DRAWN_TILES = {0: 0, 1: 4, 2: 3}
"""Tiles drawn at zooms 0-2, one per tileset at most: the county spans a few pixels there, its
polygons are pixel dust (`artifact/mvt.py`) and at zoom 0 none holds a pixel's centre, so the
archive holds no tile. Zoom 1's, whose buffer reaches past the world, is drawn for every tileset."""


@pytest.fixture(scope="module")
def service(durham_build):
    return load_tile_service(open_build(durham_build), cache_bytes=0)


def _sample(bounds: tuple[float, float, float, float], zoom: int) -> list[mercantile.Tile]:
    tiles = list(mercantile.tiles(*bounds, zooms=[zoom]))
    return tiles[:: max(1, len(tiles) // SAMPLED)]


@pytest.mark.parametrize("zoom", [0, 1, 2, 10, 11, 12])  # at 0-2 the buffer reaches past the world
def test_on_demand_tiles_are_the_archives_bytes(service, durham_build, zoom):
    build = open_build(durham_build)
    compared = 0
    for name, tileset in build.manifest.tilesets.items():
        archive = build.archive_lookup(name)
        tiler = service.layers.get().tilers[f"{tileset.band_for_zoom(zoom).layer}@{name}"]
        for tile in _sample(build.manifest.bounds, zoom):
            raw = tiler.encode(tile)
            stored = archive.get((tile.z, tile.x, tile.y))
            assert (gzip.compress(raw, compresslevel=6, mtime=0) if raw else None) == stored, (name, tile)
            compared += stored is not None
    assert compared == DRAWN_TILES[zoom] if zoom in DRAWN_TILES else compared >= 10


@pytest.mark.parametrize("zoom", [13, 14, 15, 16])
def test_on_demand_tiles_above_the_archive_are_the_whole_layers_tiles(service, durham_build, zoom):
    """Above the archive: the tiles of the whole-layer encoder the archive is built with."""
    build = open_build(durham_build)
    drawn = 0
    for name, tileset in build.manifest.tilesets.items():
        layer = tileset.band_for_zoom(zoom).layer
        whole = layer_tiler(name, build.layer_frame(layer), tileset.maxzoom)
        tiler = service.layers.get().tilers[f"{layer}@{name}"]
        for tile in _sample(build.manifest.bounds, zoom):
            expected = whole.encode(tile)
            assert tiler.encode(tile) == expected, (name, tile)
            drawn += expected is not None
    assert drawn > 50


def test_a_tile_reads_only_the_row_groups_it_meets(durham_build):
    """A z16 tile of the 8,398 hex9 cells decodes one or two of their row groups, not all nine."""
    service = load_tile_service(open_build(durham_build), cache_bytes=0)
    layers = service.layers.get()
    hex9 = gpd.read_parquet(durham_build / "layers" / "hex9.parquet")
    centre = hex9.geometry.iloc[len(hex9) // 2].centroid
    tile = mercantile.tile(centre.x, centre.y, 16)
    assert service.tile("hex", tile.z, tile.x, tile.y) is not None
    assert layers.rows["hex9"].groups == 9
    assert 0 < layers.cache.groups <= 2


def test_layers_are_written_sorted_in_small_row_groups_with_a_bbox_covering(durham_build):
    path = durham_build / "layers" / "hex9.parquet"
    parquet = pq.ParquetFile(path)
    geo = json.loads(parquet.metadata.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["columns"]["geometry"]["covering"] == {
        "bbox": {"xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"], "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]}
    }
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)]
    assert sizes == [LAYER_ROW_GROUP_ROWS] * 8 + [398]
    frame = gpd.read_parquet(path)
    assert "bbox" not in frame.columns  # geopandas reads the covering as the metadata it is
    widths = []
    for start in range(0, len(frame), LAYER_ROW_GROUP_ROWS):
        west, south, east, north = frame.iloc[start : start + LAYER_ROW_GROUP_ROWS].total_bounds
        widths.append((east - west) * (north - south))
    west, south, east, north = frame.total_bounds
    assert np.mean(widths) < (east - west) * (north - south) / 3  # each group a compact part of the layer


def test_a_worker_keeps_the_batches_it_read_last_up_to_the_stated_memory(durham_build, tmp_path):
    """docs/artifact.md: "a worker keeps 16 MiB of batches as read". Five copies of hex9 (3.5 MB of
    batches each) overflow it: the batches read last are kept, as many as the memory holds."""
    stated = int(re.search(r"a worker keeps (\d+) MiB of batches as read", SPEC).group(1)) * 2**20
    hex9 = open_build(durham_build).open_layer("hex9")
    files = []
    for number in range(5):
        path = tmp_path / f"hex9-{number}.arrows"
        shutil.copy(hex9.path, path)
        files.append(LayerFile(path, path.open("rb"), hex9.stream))
    copies = [LayerRows(file) for file in files]
    cache = RowGroupCache()  # as every worker makes it (`open_density_layers`)
    sizes = [cache.group(rows, group).nbytes for rows in copies for group in range(rows.groups)]
    assert sum(sizes) > stated
    assert stated - max(sizes) < cache.nbytes <= stated
    last_read_that_fit = next(count for count in range(len(sizes), 0, -1) if sum(sizes[-count:]) <= stated)
    assert cache.groups == last_read_that_fit
    for file in [hex9, *files]:
        file.close()


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
@pytest.mark.parametrize("year", [None, 2014, "all"])
def test_a_download_read_a_row_group_at_a_time_is_the_whole_layers(service, durham_build, fmt, year):
    build = open_build(durham_build)
    years, provenance = build.manifest.years, build.manifest.provenance
    whole = export_text(build.layer_frame("hex9"), "hex9", years, fmt, year, provenance)
    chunked = "".join(export_chunks(service.layers.get().rows["hex9"].tables, "hex9", years, fmt, year, provenance))
    assert chunked == whole
