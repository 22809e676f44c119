"""`crimetiles export-static --png-tiles`: the site holds each tileset's PNG tiles of the archive's
zooms at the server's paths, the very bytes the server answers, with their TileJSON listed in the
catalog, and the command prints their count and size; without the flag there are none."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from pathlib import Path

import mercantile
import pytest
from click.testing import CliRunner
from PIL import Image

from crimetiles.cli import main

TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")
PNG_TILE = re.compile(r"tiles/(\w+)/(\d+)/(\d+)/(\d+)\.png")


@pytest.fixture(scope="module")
def png_export(durham_build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    site = tmp_path_factory.mktemp("png-site") / "site"
    result = CliRunner().invoke(main, ["export-static", str(durham_build), str(site), "--png-tiles"])
    assert result.exit_code == 0, result.output
    return site, result.stderr


def png_tiles(site: Path) -> dict[str, set[mercantile.Tile]]:
    found: dict[str, set[mercantile.Tile]] = {}
    for path in site.rglob("*.png"):
        name, z, x, y = PNG_TILE.fullmatch(str(path.relative_to(site))).groups()
        found.setdefault(name, set()).add(mercantile.Tile(int(x), int(y), int(z)))
    return found


def test_the_command_prints_the_png_tiles_count_and_size(png_export):
    site, printed = png_export
    files = list(site.rglob("*.png"))
    size = sum(path.stat().st_size for path in files)
    assert len(files) > 100
    assert f"of which PNG tiles: {len(files)} files ({size / 1e6:.1f} MB)\n" in printed


def test_every_tile_with_areas_of_the_archive_zooms_is_the_servers_png(png_export, durham_build, client):
    site, _ = png_export
    manifest = json.loads((durham_build / "manifest.json").read_text())
    found = png_tiles(site)
    assert set(found) == set(TILESETS)
    for name in TILESETS:
        archive = manifest["tilesets"][name]["archive"]
        with contextlib.closing(sqlite3.connect(durham_build / archive["path"])) as db:
            stored = {zoom for (zoom,) in db.execute("SELECT DISTINCT zoom_level FROM tiles")}
        assert {tile.z for tile in found[name]} == stored
        assert stored >= set(range(3, archive["maxzoom"] + 1))  # below, the county is a few pixels of dust, or none
    top = manifest["tilesets"]["tracts"]["archive"]["maxzoom"]
    with_areas = {
        tile
        for tile in mercantile.tiles(*manifest["bounds"], zooms=top)
        if client.get(f"/tiles/tracts/{tile.z}/{tile.x}/{tile.y}.mvt").status_code == 200
    }
    assert {tile for tile in found["tracts"] if tile.z == top} == with_areas
    for tile in sorted(found["tracts"])[:: max(1, len(found["tracts"]) // 8)]:
        body = (site / f"tiles/tracts/{tile.z}/{tile.x}/{tile.y}.png").read_bytes()
        assert body == client.get(f"/tiles/tracts/{tile.z}/{tile.x}/{tile.y}.png").data
        image = Image.open(io.BytesIO(body)).convert("RGBA")
        assert image.size == (256, 256) and image.getextrema()[3][1] > 0  # drawn, not blank


def test_the_raster_tilejson_names_the_sites_tiles_and_the_catalog_lists_it(png_export, durham_build):
    site, _ = png_export
    listing = json.loads((site / "catalog.json").read_text())
    assert "wmts" not in listing
    for entry in listing["tilesets"]:
        assert entry["raster_tilejson"] == f"tiles/{entry['name']}/raster.json"
        document = json.loads((site / entry["raster_tilejson"]).read_text())
        assert document["format"] == "png" and document["tileSize"] == 256
        assert document["tiles"] == [f"tiles/{entry['name']}/{{z}}/{{x}}/{{y}}.png"]
        archive = json.loads((durham_build / "manifest.json").read_text())["tilesets"][entry["name"]]["archive"]
        assert (document["minzoom"], document["maxzoom"]) == (archive["minzoom"], archive["maxzoom"])
        some = min(png_tiles(site)[entry["name"]])
        assert (site / document["tiles"][0].format(z=some.z, x=some.x, y=some.y)).is_file()


def test_without_the_flag_the_site_has_no_png_tiles(durham_site):
    assert not list((durham_site / "tiles").rglob("*.png"))
    assert not list((durham_site / "tiles").rglob("raster.json"))
    assert all("raster_tilejson" not in entry for entry in json.loads((durham_site / "catalog.json").read_text())["tilesets"])
