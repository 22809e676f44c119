"""Every build writes each tileset's archive again as PMTiles, read back here with the `pmtiles`
package's reader: the same tiles, byte for byte, as the MBTiles archive."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from crimetiles.artifact.manifest import read_manifest
from crimetiles.artifact.reader import open_build, read_mbtiles
from crimetiles.precompute.pmtiles_archive import write_pmtiles

TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")


def _pmtiles(path: Path) -> tuple[dict, dict, dict]:
    """Header, metadata and every tile `{(z, x, y): bytes}` of a PMTiles file."""
    with open(path, "rb") as stream:
        source = MmapSource(stream)
        reader = Reader(source)
        return reader.header(), reader.metadata(), dict(all_tiles(source))


def _mbtiles_json(path: Path) -> dict:
    with contextlib.closing(sqlite3.connect(path)) as db:
        [(text,)] = db.execute("SELECT value FROM metadata WHERE name = 'json'")
    return json.loads(text)


def test_manifest_names_a_pmtiles_archive_per_tileset(durham_build):
    manifest = read_manifest(durham_build)
    assert {name: spec.archive.pmtiles for name, spec in manifest.tilesets.items()} == {
        name: f"tiles/{name}.pmtiles" for name in TILESETS
    }


@pytest.mark.parametrize("tileset", TILESETS)
def test_pmtiles_holds_the_same_tiles_as_the_mbtiles(durham_build, tileset):
    build = open_build(durham_build)
    archive = build.manifest.tilesets[tileset].archive
    header, metadata, tiles = _pmtiles(build.root / archive.pmtiles)
    mbtiles = read_mbtiles(build.root / archive.path)
    assert len(tiles) == archive.tile_count == len(mbtiles)
    assert tiles == mbtiles
    assert all(data[:2] == b"\x1f\x8b" for data in tiles.values())  # gzip, as stored
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert header["clustered"] is True
    # the fixture archives zooms 0-12, of which the pmtiles writer's header names those holding a
    # tile: 1-12 (at zoom 0 the county's polygons are pixel dust holding no pixel's centre)
    assert (header["min_zoom"], header["max_zoom"]) == (min(z for z, _, _ in tiles), 12) == (1, 12)
    west, south, east, north = build.manifest.bounds
    assert header["min_lon_e7"] == int(west * 1e7) and header["max_lat_e7"] == int(north * 1e7)
    assert header["min_lat_e7"] == int(south * 1e7) and header["max_lon_e7"] == int(east * 1e7)
    lon, lat, zoom = build.manifest.center
    assert (header["center_lon_e7"], header["center_lat_e7"], header["center_zoom"]) == (int(lon * 1e7), int(lat * 1e7), zoom)
    expected = _mbtiles_json(build.root / archive.path)
    assert metadata["vector_layers"] == expected["vector_layers"]
    assert metadata["vector_layers"][0]["id"] == tileset
    assert metadata["tilestats"] == expected["tilestats"]
    assert metadata["attribution"] == build.manifest.attribution
    assert metadata["name"] == tileset and metadata["format"] == "pbf"
    assert not set(metadata) & {"json", "minzoom", "maxzoom", "bounds", "center"}


def test_an_archive_of_no_tile_is_an_empty_pmtiles_archive(durham_build, tmp_path):
    """A county draws nothing at zoom 0 (its polygons are pixel dust holding no pixel's centre), so
    `--archive-maxzoom 0` archives no tile: the PMTiles file holds none, with the header and
    metadata of any other."""
    mbtiles = tmp_path / "empty.mbtiles"
    shutil.copy(durham_build / "tiles" / "tracts.mbtiles", mbtiles)
    with contextlib.closing(sqlite3.connect(mbtiles)) as db, db:
        db.execute("DELETE FROM tiles")
    assert write_pmtiles(mbtiles, tmp_path / "empty.pmtiles", "Somebody") == 0
    header, metadata, tiles = _pmtiles(tmp_path / "empty.pmtiles")
    assert tiles == {}
    assert (header["min_zoom"], header["max_zoom"], header["tile_type"]) == (0, 12, TileType.MVT)
    assert metadata["attribution"] == "Somebody" and metadata["vector_layers"][0]["id"] == "tracts"


def test_a_missing_pmtiles_file_makes_the_build_incomplete(durham_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build.resolve(), copy)
    (copy / "tiles" / "tracts.pmtiles").unlink()
    assert open_build(copy).missing_files() == ["tiles/tracts.pmtiles"]


def test_manifest_readers_ignore_keys_they_do_not_know_and_read_builds_without_pmtiles(durham_build, tmp_path):
    raw = json.loads((durham_build / "manifest.json").read_text(encoding="utf-8"))
    raw["tilesets"]["tracts"]["archive"]["from_a_newer_writer"] = 1
    raw["tilesets"]["tracts"]["bands"][0]["hint"] = "x"
    raw["layers"]["tracts"]["note"] = "x"
    del raw["tilesets"]["blockgroups"]["archive"]["pmtiles"]
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    manifest = read_manifest(tmp_path)
    assert manifest.tilesets["tracts"].archive.pmtiles == "tiles/tracts.pmtiles"
    assert manifest.tilesets["blockgroups"].archive.pmtiles is None
    assert manifest.layers["tracts"].feature_count == 60


def test_identical_tiles_are_stored_once(durham_build, tmp_path):
    """docs/artifact.md: "identical tiles stored once". The Durham archives repeat no tile, so this
    copy of one gives a tenth of its tiles one tile's bytes: each is still read back, stored once."""
    mbtiles = tmp_path / "repeated.mbtiles"
    shutil.copy(durham_build / "tiles" / "tracts.mbtiles", mbtiles)
    with contextlib.closing(sqlite3.connect(mbtiles)) as db, db:
        keys = db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles ORDER BY zoom_level DESC").fetchall()
        repeated = keys[::10]
        [(shared,)] = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", repeated[0]
        )
        db.executemany(
            "UPDATE tiles SET tile_data = ? WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            [(shared, *key) for key in repeated],
        )
    distinct = len(read_mbtiles(durham_build / "tiles" / "tracts.mbtiles")) - len(repeated) + 1
    assert write_pmtiles(mbtiles, tmp_path / "repeated.pmtiles", "Somebody") == len(keys)
    header, _, tiles = _pmtiles(tmp_path / "repeated.pmtiles")
    assert tiles == read_mbtiles(mbtiles)
    assert (header["addressed_tiles_count"], header["tile_contents_count"]) == (len(keys), distinct)
    assert header["tile_data_length"] == sum(map(len, set(tiles.values())))
