"""The static export served by real nginx (the README's configuration) under /maps/crime/, with no
Python server, in a real Chromium: the choropleth comes from the PMTiles archives through HTTP
Range requests, the switches and downloads work, the search, selection, table and report work with
no failed request, no request leaves the prefix, and what the README says is not exported is
neither linked nor requested."""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import requests

from crimetiles.artifact.manifest import read_manifest
from tests.e2e.conftest import RENDERED_IDS, assert_draws_block_group, embedded_tracts_map, screenshot, wait_idle
from tests.e2e.nginx import ACCESS_LOG, README, readme_nginx_block, running_nginx

PREFIX = "/maps/crime/"
SITE_IN_README = "/srv/crime-map/site/"
BLOCKGROUP = "370630010011"
IMMUTABLE = "public, max-age=31536000, immutable"

AT_CENTRE = """() => {
  const {map, state, fillLayers} = window.crimetiles;
  const centre = map.project(map.getCenter());
  return map.queryRenderedFeatures(centre, {layers: fillLayers[state.layer]}).map((f) => [f.layer.id, f.properties.id]);
}"""


@pytest.fixture(scope="module")
def static_host(durham_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """nginx with the README's static-hosting blocks serving the exported site at PREFIX, and
    another site's pages from `prefix/news/` at /news/; yields the site's base URL and nginx's prefix."""
    http, location = readme_nginx_block("export-static").split("# in server { }:")
    assert SITE_IN_README in location
    prefix = tmp_path_factory.mktemp("nginx-static")
    (prefix / "news").mkdir()
    server = location.replace(SITE_IN_README, f"{durham_site}/") + f"location /news/ {{ alias {prefix / 'news'}/; }}\n"
    with running_nginx(prefix, server, http) as origin:
        yield origin + PREFIX, prefix


@pytest.fixture
def base(static_host: tuple[str, Path]) -> str:
    return static_host[0]


@pytest.fixture
def exchanges(page) -> list[tuple[str, dict[str, str], int]]:
    """Every request the page makes (URL, headers) with the status it got."""
    seen: list[tuple[str, dict[str, str], int]] = []
    page.on("requestfinished", lambda request: seen.append((request.url, request.headers, request.response().status)))
    page.on("requestfailed", lambda request: seen.append((request.url, request.headers, 0)))
    return seen


def _outside(exchanges: list, base: str) -> list[str]:
    return [url for url, _, _ in exchanges if not url.startswith(base) and not url.startswith(("data:", "blob:", "about:"))]


def _point(durham_build: Path, layer: str, feature_id: str):
    frame = gpd.read_parquet(durham_build / "layers" / f"{layer}.parquet").set_index("id")
    return frame, frame.geometry[feature_id].representative_point()


def _class_layer(durham_build: Path, tileset: str, density: float) -> str:
    """The style's fill layer that draws `density`: class 0 is exactly 0, class i >= 1 holds
    `[breaks[i-2], breaks[i-1])` (docs/artifact.md)."""
    breaks = read_manifest(durham_build).tilesets[tileset].class_breaks.values
    return f"{tileset}-class-{0 if density == 0 else 1 + bisect_right(breaks, density)}"


@pytest.mark.browser
def test_map_draws_the_choropleth_from_pmtiles_with_range_requests(page, exchanges, base, static_host, durham_build):
    assert_draws_block_group(page, base, durham_build, BLOCKGROUP)
    screenshot(page, "static-site-map")
    assert _outside(exchanges, base) == []
    archive = [(url, headers, status) for url, headers, status in exchanges if ".pmtiles" in url]
    assert archive, "no request for a PMTiles archive"
    assert {url.removeprefix(base).split("?")[0] for url, _, _ in archive} <= {
        f"tiles/{name}.pmtiles" for name in ("blockgroups", "tracts", "neighborhoods", "hex")
    }
    assert all(headers.get("range", "").startswith("bytes=") and status == 206 for _, headers, status in archive), archive
    first_ranges: dict[str, str] = {}
    for url, headers, _ in archive:
        first_ranges.setdefault(url.removeprefix(base).split("?")[0], headers["range"])
    # README: "first the first 16 kB of each of the four archives (its header and root directory)"
    assert first_ranges == {
        f"tiles/{name}.pmtiles": "bytes=0-16383" for name in ("blockgroups", "tracts", "neighborhoods", "hex")
    }
    assert not [url for url, _, _ in exchanges if re.search(r"/tiles/\w+/\d+/", url)]  # no tile server URL
    log = [
        line for line in (static_host[1] / ACCESS_LOG).read_text().splitlines() if line != 'GET / 404 "-"'
    ]  # but nginx's start-up probe
    ranged = [line for line in log if ".pmtiles?v=" in line]
    assert ranged and all(' 206 "bytes=' in line for line in ranged), ranged
    assert all(line.split()[1].startswith(PREFIX) for line in log), log


@pytest.mark.browser
def test_year_and_layer_switches_redraw_from_the_archives(page, base, durham_build):
    blockgroups, point = _point(durham_build, "blockgroups", BLOCKGROUP)
    values = blockgroups.loc[BLOCKGROUP]
    page.goto(f"{base}?layer=blockgroups&year=all#14/{point.y:.6f}/{point.x:.6f}")
    wait_idle(page)
    assert page.evaluate(AT_CENTRE) == [[_class_layer(durham_build, "blockgroups", values["violent_per_sqmi"]), BLOCKGROUP]]
    for year in ("2012", "2016"):
        page.select_option("#year-select", year)
        wait_idle(page)
        expected = _class_layer(durham_build, "blockgroups", values[f"violent_per_sqmi_{year}"])
        assert page.evaluate(AT_CENTRE) == [[expected, BLOCKGROUP]], year
    assert page.locator("#legend-subtitle").inner_text() == "incidents per sq mi · 2016"
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    tract = BLOCKGROUP[:11]  # a block group's GEOID starts with its tract's
    page.select_option("#layer-select", "tracts")
    wait_idle(page)
    assert page.evaluate(AT_CENTRE) == [[_class_layer(durham_build, "tracts", tracts.loc[tract, "violent_per_sqmi_2016"]), tract]]
    assert all(len(fid) == 11 for fid in page.evaluate(RENDERED_IDS))
    assert "layer=tracts&year=2016" in page.url
    assert page.errors == []


@pytest.mark.browser
def test_download_buttons_fetch_the_layer_and_year_shown(page, base, durham_build, tmp_path):
    page.goto(f"{base}?layer=tracts&year=2014#10/35.99/-78.9")
    wait_idle(page)
    assert page.eval_on_selector("#download-csv", "link => link.href") == f"{base}downloads/tracts-2014.csv"
    with page.expect_download() as started:
        page.click("#download-csv")
    download = started.value
    assert download.suggested_filename == "tracts-2014.csv"
    download.save_as(tmp_path / "tracts.csv")
    header, *rows = (tmp_path / "tracts.csv").read_text(encoding="utf-8").splitlines()
    assert header == (
        "layer,id,name,year,violent_count,area_sqmi,violent_per_sqmi,violent_per_sqmi_low,violent_per_sqmi_high,unstable,suppressed"
    )
    tracts = gpd.read_parquet(durham_build / "layers" / "tracts.parquet").set_index("id")
    assert len(rows) == len(tracts) == 60
    counts = {row.split(",")[1]: int(row.split(",")[4]) for row in rows if row.split(",")[3] == "2014"}
    assert counts == tracts["violent_count_2014"].to_dict()
    geojson_url = page.eval_on_selector("#download-geojson", "link => link.href")
    assert geojson_url == f"{base}downloads/tracts-2014.geojson"
    features = page.request.get(geojson_url).json()["features"]
    assert len(features) == 60 and {f["properties"]["year"] for f in features} == {"2014"}
    page.select_option("#year-select", "all")
    wait_idle(page)
    assert page.eval_on_selector("#download-csv", "link => link.href") == f"{base}downloads/tracts-all.csv"
    assert page.request.get(f"{base}downloads/tracts-all.csv").ok


@pytest.mark.browser
def test_embed_snippet_frames_the_static_embed_page(page, exchanges, base, static_host):
    page.goto(f"{base}?layer=tracts&year=2015#11/35.99/-78.9")
    wait_idle(page)
    page.click("#embed-button")
    snippet = page.locator("#embed-code").input_value()
    assert snippet.startswith(f'<iframe src="{base}embed.html?layer=tracts&year=2015#11/')
    framing = snippet.replace(f"{base}embed.html", f"{base}index.html")  # the full page may not be framed: blocked
    news = f"<!DOCTYPE html><title>a news site</title>{snippet}{framing.replace('<iframe ', '<iframe id=full ')}"
    (static_host[1] / "news" / "index.html").write_text(news, encoding="utf-8")
    news_site = base.replace("//127.0.0.1:", "//localhost:").removesuffix(PREFIX) + "/news/"  # another origin
    page.goto(news_site)
    page.frame_locator("iframe").first.locator("#legend-rows li").first.wait_for()
    inner = embedded_tracts_map(page, f"{base}embed.html")
    full_map = inner.eval_on_selector("#full-map-link", "link => link.href")
    assert full_map.startswith(f"{base}index.html?layer=tracts&year=2015#")
    assert requests.get(full_map, timeout=10).status_code == 200
    frames = [frame.url for frame in page.frames]
    assert "chrome-error://chromewebdata/" in frames and not [url for url in frames if "index.html" in url], frames
    screenshot(page, "static-site-embed")
    assert _outside(exchanges, base) == [news_site]
    assert page.errors == []


def _relative_links(html: str) -> list[str]:
    links = re.findall(r'(?:href|src|data-worker|data-catalog)="([^"#][^"]*)"', html)
    return [link for link in links if not link.startswith(("http:", "https:", "#"))]


def test_every_link_of_the_pages_and_the_catalog_answers(base):
    for page in ("", "embed.html"):
        links = _relative_links(requests.get(base + page, timeout=10).text)
        assert len(links) >= 6, links
        for link in links:
            assert requests.get(base + link, timeout=10).status_code == 200, link
    catalog = requests.get(base + "catalog.json", timeout=10).json()
    urls = [entry[key] for entry in catalog["tilesets"] for key in ("tilejson", "style", "pmtiles")]
    urls += [entry[key] for entry in catalog["downloads"] for key in ("csv", "geojson")]
    assert len(urls) == 4 * 3 + 7 * 2
    for url in urls:
        assert requests.head(base + url, timeout=10).status_code == 200, url


def test_cache_and_security_headers_from_the_readme_configuration(base):
    index = requests.get(base, timeout=10)
    assert index.headers["Cache-Control"] == "no-cache" and index.headers["ETag"]
    assert index.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert requests.get(base + "embed.html", timeout=10).headers["Content-Security-Policy"] == "frame-ancestors *"
    meta = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', index.text).group(1))
    assert "script-src 'self'" in meta and "frame-ancestors" not in meta
    static = re.findall(r'src="(static/[^"]+\?v=[0-9a-f]{16})"', index.text)
    assert len(static) == 3  # MapLibre, pmtiles, app.js
    for url in static:
        response = requests.get(base + url, headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert response.headers["Cache-Control"] == IMMUTABLE and response.headers["Content-Encoding"] == "gzip", url
        assert response.headers["Content-Type"] == "text/javascript"
    assert requests.get(base + "static/app.js", timeout=10).headers["Cache-Control"] == "no-cache"
    style = requests.get(base + "styles/tracts.json", timeout=10).json()
    archive = style["sources"]["tracts"]["url"].removeprefix("pmtiles://")
    assert re.fullmatch(r"tiles/tracts\.pmtiles\?v=[0-9a-f]{16}", archive)
    ranged = requests.get(base + archive, headers={"Range": "bytes=0-126", "Accept-Encoding": "gzip"}, timeout=10)
    assert ranged.status_code == 206 and len(ranged.content) == 127 and ranged.content[:7] == b"PMTiles"
    assert ranged.headers["Content-Range"].startswith("bytes 0-126/") and "Content-Encoding" not in ranged.headers
    assert ranged.headers["Cache-Control"] == IMMUTABLE
    assert requests.head(base + archive.split("?")[0], timeout=10).headers["Cache-Control"] == "no-cache"
    assert json.loads(requests.get(base + "tiles/tracts.json", timeout=10).text)["tiles"] == [
        f"pmtiles://{archive}/{{z}}/{{x}}/{{y}}"
    ]
    assert requests.get(base.removesuffix(PREFIX) + "/index.html", timeout=10).status_code == 404  # nothing outside the prefix


# --- The whole site: every control of the page works from the files, and the README's list of what
# is not exported is what the page neither links nor requests ----------------------------------

CELL_VALUES = "(cells) => cells.map((c) => +c.dataset.value)"
SELECTED_IS = "(ids) => JSON.stringify(window.crimetiles.compass.selection.ids) === JSON.stringify(ids)"
LOADED_TILE_ZOOMS = """() => {
  const zooms = [];
  window.crimetiles.map.on('sourcedata', (event) => { if (event.tile) zooms.push(event.tile.tileID.canonical.z); });
  window.loadedTileZooms = zooms;
}"""
JUMP = """([lon, lat, zoom]) => new Promise((resolve) => {
  const map = window.crimetiles.map;
  map.once('idle', resolve);
  map.jumpTo({center: [lon, lat], zoom});
})"""
DRAWN = """() => new Promise((resolve) => {
  const map = window.crimetiles.map;
  if (map.loaded()) resolve(); else map.once('idle', resolve);
})"""
"""Resolves once every tile in view is loaded: a view change then aborts no tile request (an
aborted request is a failed request)."""
LINKED = """() => [...document.querySelectorAll('[href], [src]')]
  .map((element) => element.getAttribute('href') || element.getAttribute('src'))"""
YEARS = (2012, 2013, 2014, 2015, 2016)
NEIGHBORHOOD = "Albright"


@pytest.fixture
def failures(page) -> list[str]:
    """Every request of the page that failed: an answer with status >= 400, or none at all."""
    failed: list[str] = []
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    page.on("requestfailed", lambda request: failed.append(f"{request.failure} {request.url}"))
    return failed


def readme_not_exported() -> list[str]:
    """The paths of the README's list of what the static export leaves out (each item's first
    `code`, then any comma-separated others before its colon)."""
    section = README.read_text(encoding="utf-8").split("\nNot exported", 1)[1].split("\n\n", 2)[1]
    items = [line.removeprefix("- ") for line in section.splitlines() if line.startswith("- ")]
    return [path for item in items for path in re.findall(r"`([^`]+)`", item.split(": ", 1)[0])]


def _path_pattern(path: str) -> re.Pattern[str]:
    """A README path as a pattern of site-relative URLs: `<name>` one segment, `{z}` a number."""
    pattern = re.sub(r"\\\{[a-z]\\\}", r"\\d+", re.sub(r"<[a-z]+>", "[^/]+", re.escape(path)))
    return re.compile(pattern)


def _requested_paths(exchanges: list, base: str) -> set[str]:
    return {url.removeprefix(base).split("?")[0] for url, _, _ in exchanges if url.startswith(base)}


def test_readme_lists_what_is_not_exported():
    assert readme_not_exported() == [
        "qgis/<tileset>.qlr",
        "tiles/<tileset>/{z}/{x}/{y}.mvt",
        "openapi.json",
        "tiles",
        "healthz",
        "metrics",
    ]


@pytest.mark.browser
def test_search_selection_trend_table_and_report_run_from_the_files_with_no_failed_request(
    page, exchanges, failures, base, durham_site, durham_build
):
    neighborhoods = gpd.read_parquet(durham_build / "layers" / "neighborhoods.parquet").set_index("id")
    page.goto(f"{base}?layer=blockgroups&year=2015")
    wait_idle(page)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    # search: part of a name, the result chosen from the list
    page.fill("#search-input", "lbrig")
    option = page.locator("#search-results [role=option]").first
    option.wait_for()
    assert option.inner_text().startswith(NEIGHBORHOOD)
    option.click()
    page.wait_for_function(SELECTED_IS, arg=[NEIGHBORHOOD])
    assert page.locator("#layer-select").input_value() == "neighborhoods"
    page.evaluate(DRAWN)
    # the selection's trend
    page.wait_for_selector(f"#trend-table tr[data-series=area][data-id='{NEIGHBORHOOD}']")
    trend = page.locator("#trend-table tr[data-series=selection] td").evaluate_all(CELL_VALUES)
    area = neighborhoods.loc[NEIGHBORHOOD]
    assert trend == pytest.approx([area[f"violent_count_{year}"] / area["area_sqmi"] for year in YEARS], rel=1e-12)
    # the table of every neighborhood, ranked, the selection checked
    page.click("#table-button")
    page.wait_for_selector("#area-table tbody tr")
    assert page.locator("#area-table tbody tr").count() == len(neighborhoods)
    top = neighborhoods["violent_per_sqmi_2015"].idxmax()
    assert top in page.locator("#area-table tbody tr").first.inner_text()
    assert page.locator("#area-table tbody tr input[type=checkbox]:checked").count() == 1
    # the report
    page.click("#report-button")
    page.wait_for_function("() => document.querySelector('#report img')?.naturalWidth > 100", timeout=30_000)
    assert f"Selected: {NEIGHBORHOOD}." in page.locator("#report").inner_text()
    page.wait_for_selector("#report-trend-table tr[data-series=selection]")
    screenshot(page, "static-site-report")
    page.click("#report-close")
    assert failures == []
    assert page.errors == []
    requested = _requested_paths(exchanges, base)
    assert {f"summaries/{layer}.json" for layer in ("neighborhoods", "blockgroups", "tracts")} <= requested
    files = {path.relative_to(durham_site).as_posix() for path in durham_site.rglob("*") if path.is_file()}
    assert requested - {""} <= files, requested - files


@pytest.mark.browser
def test_what_the_readme_says_is_not_exported_is_neither_linked_nor_requested(page, exchanges, failures, base, durham_build):
    """The page hides what needs the server (the .qlr links, the API links) and draws zooms above
    the archive's from its last zoom: no tile above it is requested, and nothing else fails."""
    neighborhoods = gpd.read_parquet(durham_build / "layers" / "neighborhoods.parquet").set_index("id")
    point = neighborhoods.geometry[NEIGHBORHOOD].representative_point()
    page.goto(f"{base}?layer=neighborhoods&year=2016#12/{point.y:.6f}/{point.x:.6f}")
    wait_idle(page)
    page.click("#about-button")
    page.evaluate(LOADED_TILE_ZOOMS)
    page.evaluate(JUMP, [point.x, point.y, 15.5])
    top = read_manifest(durham_build).tilesets["neighborhoods"].archive.maxzoom
    zooms = page.evaluate("() => window.loadedTileZooms")
    assert zooms and max(zooms) == top < 15, zooms  # the archive's last zoom, drawn overzoomed
    assert NEIGHBORHOOD in page.evaluate(RENDERED_IDS)
    linked = page.evaluate(LINKED)
    requested = _requested_paths(exchanges, base)
    for path in readme_not_exported():
        pattern = _path_pattern(path)
        assert not [link for link in linked if pattern.fullmatch(link.split("?")[0])], path
        assert not [url for url in requested if pattern.fullmatch(url)], path
    assert requests.get(base + "qgis/tracts.qlr", timeout=10).status_code == 404
    assert requests.get(base + f"tiles/tracts/{top}/1150/1608.mvt", timeout=10).status_code == 404
    assert page.locator(".qgis-link").count() == 0
    assert failures == []
    assert page.errors == []


def test_nginx_sends_the_summarys_gzip_copy_as_the_export_wrote_it(base, durham_site):
    """The README's `gzip_static on`: the export's `.json.gz` is sent as it is (level 9, no
    timestamp), not the summary compressed again by nginx on each request (level 1)."""
    answer = requests.get(base + "summaries/tracts.json", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert answer.raw.read() == (durham_site / "summaries" / "tracts.json.gz").read_bytes()
    plain = requests.get(base + "summaries/tracts.json", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers and plain.content == (durham_site / "summaries" / "tracts.json").read_bytes()
