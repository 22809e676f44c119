"""`crimetiles export-static`: what the folder holds, file by file (the browser test in
tests/e2e/test_static_site.py serves it with nginx)."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from crimetiles.artifact.errors import BuildError
from crimetiles.server.static_site import export_static_site

STATIC = Path(__file__).resolve().parents[2] / "static"
README = (STATIC.parent / "README.md").read_text(encoding="utf-8")
TILESETS = ("blockgroups", "tracts", "neighborhoods", "hex")
LAYERS = ("blockgroups", "tracts", "neighborhoods", "hex6", "hex7", "hex8", "hex9")
YEARS = ("2012", "2013", "2014", "2015", "2016")


def _sha16(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _attribute(page: str, name: str) -> str:
    return html.unescape(re.search(rf'{name}="([^"]*)"', page).group(1))


def test_the_site_holds_pages_documents_archives_downloads_and_static_files(durham_site):
    files = {path.relative_to(durham_site).as_posix() for path in durham_site.rglob("*") if path.is_file()}
    static = {
        f"static/{path.relative_to(STATIC).as_posix()}"
        for path in STATIC.rglob("*")
        if path.suffix in (".js", ".css", ".svg", ".txt")
    }
    downloads = {
        f"downloads/{layer}{suffix}.{fmt}"
        for layer in LAYERS
        for fmt in ("csv", "geojson")
        for suffix in ("", "-all", *(f"-{y}" for y in YEARS))
    }
    documents = {f"{kind}/{name}.json" for kind in ("styles", "tiles") for name in TILESETS}
    archives = {f"tiles/{name}.pmtiles" for name in TILESETS}
    summaries = {f"summaries/{layer}.json{suffix}" for layer in LAYERS for suffix in ("", ".br", ".gz")}
    assert files == {"index.html", "embed.html", "catalog.json"} | documents | archives | downloads | summaries | static
    stated = re.search(r"the folder holds (\d+) files \(`tests/server/test_static_site\.py` counts", _prose(README))
    assert int(stated.group(1)) == len(files)  # the demo build has the test build's layers and years
    assert "static/vendor/pmtiles/pmtiles.js" in static and "static/vendor/pmtiles/LICENSE.txt" in static
    for path in static:
        assert (durham_site / path).read_bytes() == (STATIC / path.removeprefix("static/")).read_bytes(), path


def _prose(text: str) -> str:
    return " ".join(text.split())


def _megabytes(site: Path, folder: str) -> float:
    return sum(path.stat().st_size for path in (site / folder).rglob("*") if path.is_file()) / 1e6


def test_the_readme_weighs_the_downloads_summaries_and_page_files(durham_site):
    """The README's "62 MB of downloads (every layer, format and year), 3.4 MB of summaries, 1.7 MB
    of page files": what a host must hold besides the archives (which grow with the archive's zooms)."""
    stated = re.search(
        r"weighs them\): ([\d.]+) MB of downloads \(every layer, format and year\), "
        r"([\d.]+) MB of summaries \(their compressed copies included\), ([\d.]+) MB of page files",
        _prose(README),
    )
    downloads, summaries, page_files = stated.groups()
    assert downloads == f"{_megabytes(durham_site, 'downloads'):.0f}"
    assert summaries == f"{_megabytes(durham_site, 'summaries'):.1f}"
    assert page_files == f"{_megabytes(durham_site, 'static'):.1f}"


def test_summaries_are_the_builds_at_the_url_the_page_fetches(durham_site, durham_build):
    """static/compass/summaries.js fetches `summaries/<layer>.json` for the search, charts, table
    and report, as the server's route answers it."""
    manifest = json.loads((durham_build / "manifest.json").read_text())
    assert sorted(manifest["summaries"]) == sorted(LAYERS)
    for layer, path in manifest["summaries"].items():
        for suffix in ("", ".br", ".gz"):  # the build's compressed copies too, for hosts that send them
            assert (durham_site / f"{path}{suffix}").read_bytes() == (durham_build / f"{path}{suffix}").read_bytes(), layer


def test_archives_are_the_builds_and_styles_read_them_through_the_pmtiles_protocol(durham_site, durham_build):
    for name in TILESETS:
        archive = durham_build / "tiles" / f"{name}.pmtiles"
        assert (durham_site / "tiles" / f"{name}.pmtiles").read_bytes() == archive.read_bytes()
        url = f"pmtiles://tiles/{name}.pmtiles?v={_sha16(archive)}"
        style = json.loads((durham_site / "styles" / f"{name}.json").read_text())
        assert style["sources"] == {name: {"type": "vector", "url": url, "attribution": style["sources"][name]["attribution"]}}
        assert "Durham Neighborhood Compass" in style["sources"][name]["attribution"]
        tilejson = json.loads((durham_site / "tiles" / f"{name}.json").read_text())
        assert tilejson["tiles"] == [f"{url}/{{z}}/{{x}}/{{y}}"]
        assert (tilejson["minzoom"], tilejson["maxzoom"]) == (0, 12)  # the archive's zooms: the map overzooms above
        assert tilejson["crimetiles"]["years"] == [2012, 2013, 2014, 2015, 2016] and tilejson["center"]
    in_readme = (
        "style, whose source is `pmtiles://tiles/<tileset>.pmtiles?v=<hash>`, and TileJSON, whose tiles are that URL "
        "followed by `/{z}/{x}/{y}`"
    )
    assert in_readme in _prose(README)
    hex_bands = json.loads((durham_site / "tiles" / "hex.json").read_text())["crimetiles"]["bands"]
    assert hex_bands == [  # what the archive holds (zooms 0-12): hex8 is drawn, overzoomed, at 13 and above
        {"layer": "hex6", "minzoom": 0, "maxzoom": 9},
        {"layer": "hex7", "minzoom": 10, "maxzoom": 11},
        {"layer": "hex8", "minzoom": 12, "maxzoom": 12},
    ]


def test_catalog_is_relative(durham_site):
    catalog = json.loads((durham_site / "catalog.json").read_text())
    assert catalog["years"] == [2012, 2013, 2014, 2015, 2016]
    assert catalog["tilesets"][1] == {
        "name": "tracts",
        "title": "Census tracts",
        "tilejson": "tiles/tracts.json",
        "style": "styles/tracts.json",
        "pmtiles": "tiles/tracts.pmtiles",
    }
    assert [entry["layer"] for entry in catalog["downloads"]] == list(LAYERS)
    assert catalog["downloads"][0]["csv"] == "downloads/blockgroups.csv"


def test_pages_load_pmtiles_carry_their_policy_and_name_the_sites_files(durham_site):
    for name, page_kind in (("index.html", "full"), ("embed.html", "embed")):
        page = (durham_site / name).read_text()
        assert _attribute(page, "data-page") == page_kind
        assert _attribute(page, "data-catalog") == "catalog.json"
        assert _attribute(page, "data-embed") == "embed.html" and _attribute(page, "data-home") == "index.html"
        assert _attribute(page, "data-download") == "downloads/{layer}-{year}.{format}"
        policy = dict(
            part.strip().split(" ", 1) for part in _attribute(page, 'http-equiv="Content-Security-Policy" content').split(";")
        )
        assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'" and "frame-ancestors" not in policy
        scripts = re.findall(r'<script[^>]* src="([^"]+)"', page)
        pmtiles = "static/vendor/pmtiles/pmtiles.js"
        assert f"{pmtiles}?v={_sha16(STATIC / 'vendor/pmtiles/pmtiles.js')}" in scripts
        assert scripts.index(next(s for s in scripts if s.startswith(pmtiles))) < scripts.index(
            next(s for s in scripts if "app.js" in s)
        )
        preloads = re.findall(r'rel="preload" as="fetch" crossorigin href="([^"]+)"', page)
        assert preloads == ["catalog.json", *(f"styles/{n}.json" for n in TILESETS), *(f"tiles/{n}.json" for n in TILESETS)]
        assert "http://" not in page.split("<body")[0] and "https://" not in page.split("<body")[0]
    assert 'href="tiles"' not in (durham_site / "index.html").read_text()  # the server's catalog route
    assert "qgis-link" not in (durham_site / "index.html").read_text()


def test_served_pages_do_not_load_pmtiles(client):
    page = client.get("/").get_data(as_text=True)
    assert "pmtiles" not in page and "http-equiv" not in page
    assert (
        _attribute(page, "data-catalog") == "tiles"
        and _attribute(page, "data-download") == "downloads/{layer}.{format}?year={year}"
    )


def test_downloads_hold_each_year_and_every_year(durham_site, durham_build):
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    one_year = pd.read_csv(durham_site / "downloads" / "tracts-2014.csv", dtype={"id": str, "year": str})
    assert len(one_year) == 60 and set(one_year["year"]) == {"2014"}
    assert one_year.set_index("id")["violent_count"].to_dict() == tracts["violent_count_2014"].to_dict()
    every_year = pd.read_csv(durham_site / "downloads" / "tracts.csv", dtype={"id": str, "year": str})
    assert len(every_year) == 60 * 6 and set(every_year["year"]) == {*YEARS, "all"}
    average = pd.read_csv(durham_site / "downloads" / "tracts-all.csv", dtype={"id": str, "year": str}).set_index("id")
    assert average["violent_per_sqmi"].to_dict() == tracts["violent_per_sqmi"].to_dict()
    features = json.loads((durham_site / "downloads" / "hex8-2016.geojson").read_text())["features"]
    assert {feature["properties"]["year"] for feature in features} == {"2016"}
    assert len(features) == len(gpd.read_parquet(durham_build / "layers" / "hex8.parquet"))


def test_basemap_origin_is_allowed_by_the_pages_policy(durham_build, tmp_path):
    export_static_site(durham_build, tmp_path / "site", basemap_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    page = (tmp_path / "site" / "index.html").read_text()
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in _attribute(
        page, 'http-equiv="Content-Security-Policy" content'
    )
    assert _attribute(page, "data-basemap") == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def test_refuses_a_folder_that_is_not_empty_and_leaves_nothing_behind(durham_build, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "crimetiles", "export-static", str(durham_build), str(out)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {out} exists and is not an empty directory; give a new or empty folder"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"] and [p.name for p in out.iterdir()] == ["notes.txt"]


def test_an_empty_folder_is_filled(durham_build, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    written = export_static_site(durham_build, out)
    assert "index.html" in written and (out / "index.html").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]


def test_a_build_without_pmtiles_is_refused_in_one_line(durham_build, tmp_path):
    build = tmp_path / "old-build"
    shutil.copytree(durham_build.resolve(), build)
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["tilesets"]["hex"]["archive"]["pmtiles"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BuildError, match=r"tileset 'hex' has no PMTiles archive; rebuild it"):
        export_static_site(build, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_a_build_without_layer_summaries_is_refused_in_one_line(durham_build, tmp_path):
    """A build made before summaries existed: its exported page could not search, chart, rank or report."""
    build = tmp_path / "old-build"
    shutil.copytree(durham_build.resolve(), build)
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["summaries"]["hex7"], manifest["summaries"]["tracts"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    result = subprocess.run(
        [sys.executable, "-m", "crimetiles", "export-static", str(build), str(tmp_path / "site")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {build}: density layer(s) tracts, hex7 have no summary (the page's search, charts, table and report "
        "read them); rebuild it with this crimetiles\n"
    )
    assert not (tmp_path / "site").exists()
