"""Withheld counts leak nowhere: a real build (`crimetiles build --suppress-below 5`, the hex grids'
default floor of 3) searched whole, every archived tile, served tiles, every download, summary,
page and JSON answer of the server, and every file of its static export, for a count below its
floor or a density, interval or total that would give one back.

Six squares of 1 sq mi, 4 miles apart (each in its own hex cell), all of a square's incidents at
one point:

    square   s0  s1  s2  s3  s4  s5
    2015      1   5   0  20   7  10     boundaries withhold s0: one withheld count, so the
                                        year's study-area total would give it: withheld too
    2016      3   2   1   0   9   6     boundaries withhold s0, s1, s2 (6 between them, 1 to 4
                                        each: not pinned), hex cells s1, s2 (3 between them)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import mapbox_vector_tile
import mercantile
import pytest
from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.precompute.test_density import square_miles

SQ_KM_PER_SQ_MILE = 1.609344**2
COUNTS = {2015: [1, 5, 0, 20, 7, 10], 2016: [3, 2, 1, 0, 9, 6]}
SQUARES = [f"s{i}" for i in range(6)]
FLOOR = {"squares": 5, "hex7": 3, "hex8": 3, "hex": 3}
"""The floor of each density layer and tileset."""
FLAG_KEY = re.compile(r"suppressed(?:_(\d{4}))?$")
YEAR_KEY = re.compile(r"(violent_count|violent_per_sqmi|violent_per_sqmi_low|violent_per_sqmi_high)(?:_(\d{4}))?$")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of squares.geojson and incidents.csv (the table above)."""
    folder = tmp_path_factory.mktemp("withheld")
    squares = gpd.GeoDataFrame({"id": SQUARES}, geometry=[square_miles(4 * i, 0, 1) for i in range(6)], crs="EPSG:4326")
    squares.to_file(folder / "squares.geojson")
    rows = ["inci_id,date_rept,ucr_code,geo_point_2d"]
    for year, counts in COUNTS.items():
        for square, count in zip(squares.itertuples(), counts, strict=True):
            point = square.geometry.representative_point()
            rows += [f'{square.id}-{year}-{i},{year}-06-01,0810,"{point.y!r}, {point.x!r}"' for i in range(count)]
    (folder / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def run_build(inputs: Path, out: Path, *options: str) -> Path:
    command = ["build", str(inputs / "incidents.csv"), "-b", f"squares={inputs / 'squares.geojson'}", "-o", str(out), "-q"]
    result = CliRunner().invoke(main, [*command, *options])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def build(inputs: Path) -> Path:
    options = ["--suppress-below", "5", "--hex-res", "7,8", "--maxzoom", "12", "--archive-maxzoom", "12"]
    return run_build(inputs, inputs / "build", *options)


@pytest.fixture(scope="module")
def client(build: Path):
    return create_app(ServerConfig(build_dir=build, reload_interval=0)).test_client()


def assert_nothing_withheld_shows(properties: dict[str, Any], floor: int, what: str) -> None:
    """One feature's (or row's) properties: every count 0 or at least `floor`; where a count is
    withheld (missing), its density and interval are missing too, and its `suppressed` flag is set."""
    groups: dict[str | None, dict[str, Any]] = {}
    for key, value in properties.items():
        flag = FLAG_KEY.match(key)
        if flag:
            groups.setdefault(flag.group(1), {})
        match = YEAR_KEY.match(key)
        if match:
            groups.setdefault(match.group(2), {})[match.group(1)] = None if value in ("", None) else value
    year = properties.get("year")
    assert groups, what
    for suffix, values in groups.items():
        count = values.get("violent_count")
        flag = properties.get(f"suppressed_{suffix}" if suffix else "suppressed")
        if count is None:
            assert set(values.values()) <= {None}, (what, suffix, values)
            assert flag in (True, "True"), (what, suffix, year)
        else:
            assert int(count) == 0 or int(count) >= floor, (what, suffix, year, count)
            assert flag in (False, "False"), (what, suffix, year)


def tile_features(data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, layer in mapbox_vector_tile.decode(data).items():
        for feature in layer["features"]:
            yield name, feature["properties"]


def test_the_layers_withhold_counts_below_the_floors_and_the_totals_that_would_give_them(build):
    squares = gpd.read_parquet(build / "layers" / "squares.parquet").set_index("id").loc[SQUARES]  # the file's order is spatial
    assert squares["violent_count_2015"].astype(object).where(squares["violent_count_2015"].notna(), None).tolist() == [
        None, 5, 0, 20, 7, 10,
    ]  # fmt: skip
    assert squares["violent_count_2016"].isna().tolist() == [True, True, True, False, False, False]
    assert squares["violent_count"].isna().tolist() == [True, True, True, False, False, False]  # a year withheld
    assert squares["violent_count"].dropna().tolist() == [20, 16, 16]
    for layer in ("squares", "hex7", "hex8"):
        summary = json.loads((build / "summaries" / f"{layer}.json").read_text(encoding="utf-8"))
        study = summary["study_area"]
        assert study["violent_count"] == [None, 21], layer  # 2015's would give s0's 1 back
        assert study["suppressed"] == [True, False] and study["violent_per_sqmi"][0] is None, layer
        assert study["violent_count_all"] is None and study["violent_per_sqmi_all"] is None, layer
        assert summary["suppress_below"] == FLOOR[layer], layer
    hexes = gpd.read_parquet(build / "layers" / "hex8.parquet")
    assert sorted(hexes["violent_count_2016"].dropna().tolist()) == [0] * (len(hexes) - 5) + [3, 6, 9]  # 2 and 1 withheld


def test_no_archived_tile_holds_a_withheld_count(build):
    seen = 0
    for tileset in ("squares", "hex"):
        with sqlite3.connect(build / "tiles" / f"{tileset}.mbtiles") as db:
            tiles = db.execute("SELECT zoom_level, tile_data FROM tiles").fetchall()
            stats = json.loads(dict(db.execute("SELECT name, value FROM metadata").fetchall())["json"])["tilestats"]
        for zoom, data in tiles:
            for name, properties in tile_features(gzip.decompress(data)):
                assert name == tileset
                assert_nothing_withheld_shows(properties, FLOOR[tileset], f"{tileset} z{zoom}")
                seen += 1
        for attribute in stats["layers"][0]["attributes"]:
            if attribute["attribute"].startswith("violent_count"):
                assert all(value == 0 or value >= FLOOR[tileset] for value in attribute["values"]), attribute
    assert seen > 100


def test_no_served_tile_holds_a_withheld_count(build, client):
    squares = gpd.read_parquet(build / "layers" / "squares.parquet")
    for point in squares.geometry.representative_point():
        for zoom in (13, 14, 16):  # above the archive: encoded on demand
            tile = mercantile.tile(point.x, point.y, zoom)
            for tileset in ("squares", "hex"):
                response = client.get(f"/tiles/{tileset}/{tile.z}/{tile.x}/{tile.y}.mvt")
                assert response.status_code == 200
                for _, properties in tile_features(response.data):
                    assert_nothing_withheld_shows(properties, FLOOR[tileset], f"{tileset} {tile}")


def assert_csv_clean(text: str, floor: int, what: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, what
    for row in rows:
        assert_nothing_withheld_shows(row, floor, what)


def assert_geojson_clean(document: dict[str, Any], floor: int, what: str) -> None:
    assert document["features"], what
    for feature in document["features"]:
        assert_nothing_withheld_shows(feature["properties"], floor, what)


def test_no_download_holds_a_withheld_count(build, client):
    for layer in ("squares", "hex7", "hex8"):
        for year in ("", "2015", "2016", "all"):
            csv_text = client.get(f"/downloads/{layer}.csv?year={year}").get_data(as_text=True)
            assert_csv_clean(csv_text, FLOOR[layer], f"{layer}.csv {year}")
            assert_geojson_clean(client.get(f"/downloads/{layer}.geojson?year={year}").get_json(), FLOOR[layer], layer)


def counts_in(document: Any) -> Iterator[int]:
    """Every number under a key naming an area's count (`violent_count`, `violent_count_2015`,
    `violent_count_all`), at any depth of a JSON document, the study area's totals left out."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "study_area":
                continue
            if key.startswith("violent_count"):
                yield from (v for v in _flat(value) if isinstance(v, int | float) and not isinstance(v, bool))
            else:
                yield from counts_in(value)
    elif isinstance(document, list):
        for item in document:
            yield from counts_in(item)


def _flat(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def assert_summary_clean(summary: dict[str, Any], floor: int) -> None:
    areas = summary["areas"]
    assert all(count == 0 or count >= floor for count in counts_in(summary)), summary["layer"]
    for base in ("violent_per_sqmi", "violent_per_sqmi_low", "violent_per_sqmi_high"):
        for counts, values in zip(areas["violent_count"], areas[base], strict=True):
            assert [value is None for value in values] == [count is None for count in counts], (summary["layer"], base)
        assert [v is None for v in areas[f"{base}_all"]] == [c is None for c in areas["violent_count_all"]]
    for counts, total in zip(areas["violent_count"], areas["violent_count_all"], strict=True):
        assert total is None or None not in counts  # a total minus the published years gives a withheld year


def test_no_summary_page_or_json_answer_holds_a_withheld_count(build, client):
    for layer in ("squares", "hex7", "hex8"):
        assert_summary_clean(client.get(f"/summaries/{layer}.json").get_json(), FLOOR[layer])
    documents = ["/tiles", "/tiles/squares.json", "/tiles/hex.json", "/styles/squares.json", "/styles/hex.json"]
    for path in [*documents, "/openapi.json", "/healthz"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert all(count == 0 or count >= 3 for count in counts_in(response.get_json())), path
    for page in ("/", "/embed"):
        html = client.get(page).get_data(as_text=True)
        assert "violent_count" not in html, page
    assert client.get("/report.json").status_code == 404  # the builder's own totals are not served


def test_the_static_export_holds_no_withheld_count(build, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "crimetiles", "export-static", str(build), str(site)], check=True)
    assert not (site / "report.json").exists() and not (site / "layers").exists()
    downloads = sorted((site / "downloads").iterdir())
    assert len(downloads) == 3 * 2 * 4  # 3 layers, 2 formats, every year, 2015, 2016, all
    for path in downloads:
        layer = path.stem.split("-")[0]
        if path.suffix == ".csv":
            assert_csv_clean(path.read_text(encoding="utf-8"), FLOOR[layer], path.name)
        else:
            assert_geojson_clean(json.loads(path.read_text(encoding="utf-8")), FLOOR[layer], path.name)
    for layer in ("squares", "hex7", "hex8"):
        assert_summary_clean(json.loads((site / "summaries" / f"{layer}.json").read_text(encoding="utf-8")), FLOOR[layer])


def test_a_floor_of_2_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["build", str(tmp_path / "x.csv"), "-o", str(tmp_path / "out"), "--suppress-below", "2"])
    assert result.exit_code == 2
    assert "would withhold only counts of 1" in result.stderr


def test_the_hex_floor_and_the_unstable_threshold_are_options(inputs):
    """`--hex-suppress-below 0` publishes every hex count; `--unstable-below 3` marks counts of 0 to 2."""
    out = run_build(inputs, inputs / "options", "--hex-suppress-below", "0", "--unstable-below", "3", "--hex-res", "8")
    hexes = gpd.read_parquet(out / "layers" / "hex8.parquet")
    assert sorted(hexes["violent_count_2016"])[-5:] == [1, 2, 3, 6, 9] and not hexes["suppressed_2016"].any()
    squares = gpd.read_parquet(out / "layers" / "squares.parquet").set_index("id").loc[SQUARES]  # the file's order is spatial
    assert squares["violent_count_2016"].tolist() == COUNTS[2016]  # boundaries withhold nothing by default
    assert squares["unstable_2016"].tolist() == [False, True, True, True, False, False]  # 3, 2, 1, 0, 9, 6
    summary = json.loads((out / "summaries" / "hex8.json").read_text(encoding="utf-8"))
    assert summary["study_area"]["violent_count"] == [43, 21] and summary["unstable_below"] == 3
    assert round(h3.average_hexagon_area(9, "km^2") / SQ_KM_PER_SQ_MILE, 2) == 0.04  # README: a resolution-9 cell


def test_layers_share_the_decision_to_withhold_a_years_totals(inputs):
    """The boundaries withhold nothing, but the hex grid's one withheld count of 2015 (s0's 1)
    would come back from the squares' 2015 total, the same incidents: withheld there too."""
    out = run_build(inputs, inputs / "shared", "--hex-res", "8", "--archive-maxzoom", "-1")
    squares = json.loads((out / "summaries" / "squares.json").read_text(encoding="utf-8"))
    assert squares["suppress_below"] == 0 and squares["areas"]["violent_count"][0] == [1, 3]
    assert squares["study_area"]["violent_count"] == [None, 21]
