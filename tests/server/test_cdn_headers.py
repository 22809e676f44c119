"""The README's CDN table against the headers the server sends: for each kind of response, the
request headers it varies on and how long it may be kept, with `*` or a list of CORS origins, with
or without a public URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
CDN = README.split("### Many processes, many machines, a CDN", 1)[1].split("\n#", 1)[0]
ORIGIN = "https://maps.example.org"
ORIGIN_RULE = (
    "With a list of CORS origins (`CRIMETILES_CORS_ORIGINS` other than `*`) every row but the static files "
    "also varies by `Origin`"
)
PUBLIC_URL_RULE = "none of the last five with `CRIMETILES_PUBLIC_URL` set"
SAMPLES = {
    "tiles": ["/tiles/tracts/12/1150/1608.mvt", "/tiles/tracts/13/2300/3216.mvt", "/tiles/tracts/3/0/0.mvt"],
    "layer summaries": ["/summaries/tracts.json"],
    "downloads": ["/downloads/tracts.csv", "/downloads/hex8.geojson?year=2014"],
    "TileJSON, styles and the catalog": ["/tiles/tracts.json", "/styles/hex.json", "/tiles"],
    "static files": ["static/app.js?v=", "static/crimetiles.css?v="],
}
"""Responses of each row of the table: archive, on-demand and empty (204) tiles...; a static file
by the start of its versioned URL, as the map page links it."""
KEPT = {"`max-age`": "public, max-age=3600", "a year (`immutable`)": "public, max-age=31536000, immutable"}
CONFIGS = {
    "defaults": {},
    "origin list": {"cors_origins": f"https://other.example.org, {ORIGIN}"},
    "public URL": {"public_url": "https://tiles.example.org/crime/"},
    "origin list and public URL": {"cors_origins": ORIGIN, "public_url": "https://tiles.example.org/crime/"},
}


def _cdn_table() -> dict[str, tuple[str, str]]:
    """Row label (the words before any parenthesis) -> (`Vary` cell, kept cell)."""
    lines = [line for line in CDN.splitlines() if line.startswith("|")][2:]
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
    return {label.split(" (", 1)[0].split(" under ", 1)[0]: (vary, kept) for label, vary, kept in rows}


def _stated_vary(cell: str, config: ServerConfig, label: str) -> set[str]:
    names, _, note = cell.partition(" (")
    listed = re.findall(r"`([^`]+)`", names)
    vary = set(listed[:-5] if config.public_url and PUBLIC_URL_RULE in note else listed)
    if "*" not in config.allowed_origins() and label != "static files":
        vary.add("Origin")
    return vary


def _urls(client, label: str) -> list[str]:
    if label != "static files":
        return SAMPLES[label]
    page = client.get("/").get_data(as_text=True)
    return ["/" + re.search(re.escape(start) + r"[0-9a-f]+", page).group(0) for start in SAMPLES[label]]


@pytest.fixture(scope="module", params=CONFIGS)
def configured(request, durham_build: Path) -> tuple[ServerConfig, Flask]:
    config = ServerConfig(build_dir=durham_build, reload_interval=0, **CONFIGS[request.param])
    return config, create_app(config)


def test_the_table_has_a_row_per_kind_of_cached_response_and_states_the_origin_rule():
    assert set(_cdn_table()) == set(SAMPLES)
    assert ORIGIN_RULE in " ".join(CDN.split())


@pytest.mark.parametrize("label", SAMPLES)
def test_each_response_varies_on_what_the_readme_says(configured, label):
    config, app = configured
    client = app.test_client()
    vary_cell, kept = _cdn_table()[label]
    for url in _urls(client, label):
        for headers in ({"Origin": ORIGIN, "Accept-Encoding": "gzip"}, {}):
            response = client.get(url, headers=headers)
            assert response.status_code in (200, 204), url
            assert set(response.vary) == _stated_vary(vary_cell, config, label), (url, headers)
            assert response.headers["Cache-Control"] == KEPT[kept.split(" (`CRIMETILES")[0]], url


def test_pages_carry_no_cache_control(client):
    assert "Pages (`/`, `/embed`) carry no `Cache-Control`" in CDN
    for url in ("/", "/embed"):
        response = client.get(url)
        assert response.status_code == 200 and "Cache-Control" not in response.headers
