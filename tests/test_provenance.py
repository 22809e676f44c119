"""Provenance is data: a build of another city's data says its own title, attribution and text
everywhere it is shown (pages, TileJSON, styles, QGIS layers, downloads, static exports), never
Durham's; the Durham demo keeps its own; a build given none says neutral, true things."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from crimetiles.artifact.manifest import DEFAULT_TITLE, MANIFEST_NAME, Provenance, read_manifest
from crimetiles.cli import main
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.conftest import serve_in_thread
from tests.minneapolis import ATTRIBUTION, ATTRIBUTION_URL, CAVEAT, TITLE, build_minneapolis, build_with_provenance
from tests.server.served import serving

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

DEMO_ONLY = re.compile(r"durham|synthetic", re.IGNORECASE)
"""What only the Durham demo may say."""
DOCUMENTS = (
    "/",
    "/embed",
    "/tiles",
    "/tiles/wards.json",
    "/tiles/hex.json",
    "/styles/wards.json",
    "/styles/hex.json",
    "/qgis/wards.qlr",
    "/qgis/hex.qlr?year=2021",
    "/downloads/wards.csv",
    "/downloads/wards.geojson",
    "/downloads/hex7.geojson?year=all",
    "/summaries/wards.json",
    "/summaries/hex7.json",
    "/openapi.json",
)
"""Every kind of document the server serves about a build."""
CREDITED = ("/", "/embed", "/tiles/wards.json", "/styles/wards.json", "/qgis/wards.qlr", "/downloads/wards.geojson")
"""The documents that show the build's title and attribution (the CSV table and the summaries
are bare data for programs)."""


@pytest.fixture(scope="module")
def minneapolis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_with_provenance(tmp_path_factory.mktemp("minneapolis"))


@pytest.fixture(scope="module")
def minneapolis_app(minneapolis: Path) -> Flask:
    return create_app(ServerConfig(build_dir=minneapolis, reload_interval=0))


@pytest.fixture(scope="module")
def minneapolis_url(minneapolis_app: Flask) -> Iterator[str]:
    yield from serve_in_thread(minneapolis_app)


def credits(text: str) -> bool:
    """Whether `text` (HTML, XML or JSON, escaped or not) names the title and the attribution."""
    plain = html.unescape(text)
    return TITLE in plain and ATTRIBUTION in plain


@pytest.mark.parametrize("path", DOCUMENTS)
def test_no_served_document_of_another_city_says_durham_or_synthetic(minneapolis_app: Flask, path: str):
    response = minneapolis_app.test_client().get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert not DEMO_ONLY.findall(text)
    if path in CREDITED:
        assert credits(text)


def test_the_builds_own_files_say_nothing_of_durham(minneapolis: Path):
    """The manifest, report.json and rejects.csv: what the report and every reader start from."""
    for name in (MANIFEST_NAME, "report.json", "rejects.csv"):
        assert not DEMO_ONLY.search((minneapolis / name).read_text(encoding="utf-8")), name
    assert credits((minneapolis / MANIFEST_NAME).read_text(encoding="utf-8"))


def test_the_page_shows_title_caveat_attribution_link_and_years(minneapolis_url: str):
    """On a real server: the header, the caveats next to the numbers (the metric's own, then the
    build's), the credit with its link, the sources and years in "About this data"."""
    page = requests.get(f"{minneapolis_url}/", timeout=10)
    text = page.text
    assert f'<h1 title="{TITLE}">{TITLE}</h1>' in text and f"<title>{TITLE} · Violent crimes per square mile</title>" in text
    legend = text.split('id="legend"', 1)[1].split("</section>", 1)[0]
    assert "where policing of violent incidents" in legend and CAVEAT in legend
    link = f'href="{html.escape(ATTRIBUTION_URL)}" target="_blank" rel="noopener">{html.escape(ATTRIBUTION)}</a>, 2019-2023.'
    assert link in legend
    about = text.split('id="about-data"', 1)[1].split("<h3>Use these tiles</h3>", 1)[0]
    assert "Years 2019-2023; sources:\n          mpls_incidents." in about
    embed = requests.get(f"{minneapolis_url}/embed", timeout=10).text
    assert CAVEAT in embed and link in embed


def test_the_metrics_text_is_markdown_shown_safely(minneapolis_app: Flask):
    """--about is rendered as Markdown; its raw HTML is shown as text and a `javascript:` link is
    not made a link, so the page's strict CSP (no inline script) holds."""
    response = minneapolis_app.test_client().get("/")
    text = response.get_data(as_text=True)
    about = text.split('<div class="about-text">', 1)[1].split("</div>", 1)[0]
    assert "<h3>Violent incidents</h3>" in about and "<h4>Why it matters</h4>" in about  # under the panel's <h2>
    assert "<em>reported</em>" in about and "<td>the incidents</td>" in about  # no style="text-align:left"
    assert "What it shows." not in text  # the page's own text gives way to the build's
    assert '<a href="https://opendata.minneapolismn.gov/">Minneapolis open data</a>' in about
    assert "&lt;script&gt;" in about and "<script" not in about
    assert "[a link that runs code](javascript:alert(1))" in about and 'href="javascript:' not in about
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_map_clients_get_the_linked_attribution(minneapolis_app: Flask):
    client = minneapolis_app.test_client()
    credit = f'<a href="{html.escape(ATTRIBUTION_URL)}">{html.escape(ATTRIBUTION)}</a>'
    tilejson = client.get("/tiles/wards.json").get_json()
    assert tilejson["attribution"] == credit
    assert tilejson["description"].startswith(f"{TITLE}: violent crimes per square mile") and tilejson["description"].endswith(
        CAVEAT
    )
    style = client.get("/styles/wards.json").get_json()
    assert style["sources"]["wards"]["attribution"] == credit and style["name"] == f"{TITLE}: Wards"
    qlr = client.get("/qgis/wards.qlr").get_data(as_text=True)
    assert f'<attribution href="{html.escape(ATTRIBUTION_URL)}">{html.escape(ATTRIBUTION)}</attribution>' in qlr
    assert f"<title>{TITLE}</title>" in qlr


def test_a_geojson_download_carries_the_provenance(minneapolis_app: Flask):
    document = minneapolis_app.test_client().get("/downloads/wards.geojson?year=2021").get_json()
    assert document["metadata"] == {
        "title": TITLE,
        "attribution": ATTRIBUTION,
        "attribution_url": ATTRIBUTION_URL,
        "caveat": CAVEAT,
        "sources": ["mpls_incidents"],
        "years": [2019, 2020, 2021, 2022, 2023],
        "units": "violent crimes per square mile (incidents reported by police)",
    }
    assert len(document["features"]) == 3
    table = minneapolis_app.test_client().get("/downloads/wards.csv?year=2021").get_data(as_text=True)
    assert table.splitlines()[0] == (
        "layer,id,name,year,violent_count,area_sqmi,violent_per_sqmi,violent_per_sqmi_low,violent_per_sqmi_high,unstable,suppressed"
    )


def test_the_static_export_says_the_builds_provenance(minneapolis: Path, tmp_path: Path):
    """Every page, document and download `export-static` writes (and the site's own scripts and
    styles) says nothing of Durham; the pages, styles, TileJSON and GeoJSON credit the build."""
    site = tmp_path / "site"
    result = CliRunner().invoke(main, ["export-static", str(minneapolis), str(site)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    texts = {
        path.relative_to(site).as_posix(): path.read_text(encoding="utf-8")
        for path in site.rglob("*")
        if path.suffix in {".html", ".json", ".csv", ".geojson", ".js", ".css"} and "vendor" not in path.parts
    }
    assert {"index.html", "embed.html", "styles/wards.json", "tiles/wards.json", "downloads/wards-2021.geojson"} <= set(texts)
    assert not {path: DEMO_ONLY.findall(text) for path, text in texts.items() if DEMO_ONLY.search(text)}
    credited = [path for path in texts if path.endswith((".html", ".geojson")) or path.startswith(("styles/", "tiles/"))]
    assert len(credited) > 10 and all(credits(texts[path]) for path in credited)


def test_the_demo_build_keeps_its_durham_text_and_says_synthetic(client):
    """The Durham demo fixture, built with the demo's provenance (as `crimetiles demo` builds)."""
    page = client.get("/").get_data(as_text=True)
    assert "Demo: synthetic locations, real published totals." in page
    assert "The incident locations and dates are <em>synthetic</em>" in page
    assert "Durham Police Department and Durham County Sheriff" in page and "Durham Beyond Policing" in page
    assert '<h1 title="Durham violent incidents (demo)">Durham violent incidents (demo)</h1>' in page
    assert "synthetic" in client.get("/embed").get_data(as_text=True)
    compass = (
        '<a href="https://github.com/DataWorks-NC/durham-quality-of-life-data">Durham Neighborhood Compass (DataWorks NC)</a>'
    )
    assert client.get("/tiles/tracts.json").get_json()["attribution"] == compass


@pytest.mark.slow
def test_crimetiles_demo_builds_with_the_demos_provenance(tmp_path: Path):
    """The real command: synthesizes, builds with the demo's title, text and caveat, and serves."""
    with serving(["crimetiles", "demo", "--dir", str(tmp_path), "--port", "8000"], tmp_path / "build") as (base, _):
        page = requests.get(f"{base}/", timeout=30).text
    assert '<h1 title="Durham violent incidents (demo)">Durham violent incidents (demo)</h1>' in page
    assert "Demo: synthetic locations, real published totals." in page and "Durham Beyond Policing" in page
    archives = [tileset.archive for tileset in read_manifest(tmp_path / "build").tilesets.values()]
    stated = re.search(r"\(zooms 0-14 by default, ([\d,]+) tiles for Durham,", " ".join(README.split()))
    assert {(archive.minzoom, archive.maxzoom) for archive in archives} == {(0, 14)}
    assert int(stated.group(1).replace(",", "")) == sum(archive.tile_count for archive in archives)


def test_a_build_given_no_provenance_says_neutral_true_things(tmp_path: Path):
    """No flags: the neutral title, the input file as a source named by its stem, its name in the attribution, the years
    found; nothing of Durham, no caveat, the page's own text about the metric."""
    build = build_minneapolis(tmp_path)
    provenance = read_manifest(build).provenance
    assert provenance.title == DEFAULT_TITLE == "Violent incidents reported by police"
    assert provenance.attribution == "Incidents: mpls_incidents.csv; boundaries: wards.geojson"
    assert provenance.attribution_url is None and provenance.about_markdown is None and provenance.caveat is None
    assert [(source.name, source.files) for source in provenance.sources] == [
        ("mpls_incidents", (str(tmp_path / "mpls_incidents.csv"),))
    ]
    client = create_app(ServerConfig(build_dir=build, reload_interval=0)).test_client()
    page = client.get("/").get_data(as_text=True)
    assert '<h1 title="Violent incidents reported by police">Violent incidents reported by police</h1>' in page
    assert 'Data: <span class="attribution">Incidents: mpls_incidents.csv; boundaries: wards.geojson</span>, 2019-2023.' in page
    assert "<strong>What it shows.</strong>" in page and not DEMO_ONLY.search(page)
    assert client.get("/tiles/wards.json").get_json()["attribution"] == "Incidents: mpls_incidents.csv; boundaries: wards.geojson"


def test_a_build_made_before_provenance_reads_with_its_attribution_as_text(minneapolis: Path, tmp_path: Path):
    raw = json.loads((minneapolis / MANIFEST_NAME).read_text(encoding="utf-8"))
    del raw["provenance"]
    raw["attribution"] = 'Violent incidents; boundaries: <a href="https://example.org/">Example &amp; Co</a>'
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    assert read_manifest(tmp_path).provenance == Provenance(attribution="Violent incidents; boundaries: Example & Co")


def test_an_unreadable_about_file_fails_before_counting(tmp_path: Path):
    about = tmp_path / "about.md"
    about.write_bytes(b"\xff\xfe not utf-8 \xc3")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "none.csv"), "--about", str(about), "-q"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {about}: cannot read the --about text")
