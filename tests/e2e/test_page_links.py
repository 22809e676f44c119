"""The links and snippets the map page hands out, read in a real browser: built from the
configured public URL (not the browser's address) and following the year switch."""

from __future__ import annotations

import pytest
import requests

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.conftest import serve_in_thread
from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.browser
PUBLIC_URL = "https://example.org/maps/crime/"
"""A public URL with a path, as behind a proxy that mounts the app under /maps/crime/."""


def test_public_url_with_a_path_builds_the_embed_snippet_and_tilejson_link(page, durham_build):
    app = create_app(ServerConfig(build_dir=durham_build, reload_interval=0, public_url=PUBLIC_URL))
    server = serve_in_thread(app)
    base = next(server)
    try:
        page.goto(f"{base}/?layer=tracts&year=2015#11/35.99/-78.9")
        wait_idle(page)
        page.click("#about-button")
        assert page.locator("#tilejson-url").inner_text() == "https://example.org/maps/crime/tiles/tracts.json"
        snippets = page.locator("#about").text_content()
        assert "style: 'https://example.org/maps/crime/styles/tracts.json'" in snippets
        assert "127.0.0.1" not in snippets
        page.click("#about-close")
        page.click("#embed-button")
        snippet = page.locator("#embed-code").input_value()
        assert snippet.startswith('<iframe src="https://example.org/maps/crime/embed?layer=tracts&year=2015#11/35.99/-78.9"')
        assert page.errors == []
    finally:
        next(server, None)


def test_qgis_link_carries_the_selected_year_and_follows_the_switches(page, live_url):
    page.goto(f"{live_url}/?layer=blockgroups")
    wait_idle(page)
    link = page.locator(".qgis-link").first
    assert link.get_attribute("href") == "qgis/blockgroups.qlr?year=all"
    page.select_option("#year-select", "2014")
    wait_idle(page)
    assert link.get_attribute("href") == "qgis/blockgroups.qlr?year=2014"
    page.select_option("#layer-select", "tracts")
    wait_idle(page)
    assert [a.get_attribute("href") for a in page.locator(".qgis-link").all()] == ["qgis/tracts.qlr?year=2014"] * 2
    layer = requests.get(link.evaluate("(a) => a.href"), timeout=30)
    assert layer.status_code == 200
    assert "violent_per_sqmi_2014" in layer.text and "violent_per_sqmi_2015" not in layer.text
    assert layer.headers["Content-Disposition"] == 'attachment; filename="crimetiles-tracts-2014.qlr"'
