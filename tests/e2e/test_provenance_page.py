"""Another city's build in a real browser: the page, its report and the map's attribution control
say the build's title, attribution and caveat, and nothing of Durham."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig
from tests.conftest import serve_in_thread
from tests.e2e.conftest import screenshot, wait_idle
from tests.minneapolis import ATTRIBUTION, CAVEAT, TITLE, build_with_provenance
from tests.test_provenance import DEMO_ONLY

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def minneapolis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    build = build_with_provenance(tmp_path_factory.mktemp("minneapolis-page"))
    yield from serve_in_thread(create_app(ServerConfig(build_dir=Path(build), reload_interval=0)))


def test_the_page_report_and_attribution_control_say_the_builds_provenance(page, minneapolis_url: str):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{minneapolis_url}/?layer=wards&selected=3")
    wait_idle(page)
    page.wait_for_function("() => document.body.dataset.compass === 'ready'", timeout=30_000)
    assert page.title() == f"{TITLE} · Violent crimes per square mile"
    assert page.locator("header h1").inner_text() == TITLE
    control = page.locator(".maplibregl-ctrl-attrib-inner")
    assert ATTRIBUTION in control.text_content()
    page.click("#report-button")
    report = page.locator("#report")
    report.locator("img").wait_for()
    assert report.locator("#report-title").inner_text() == TITLE
    text = report.inner_text()
    assert "where policing of violent incidents" in text and CAVEAT in text and ATTRIBUTION in text
    assert "Why it matters" in text and "Counts of reported incidents show where police respond." in text
    assert not DEMO_ONLY.search(page.content())
    assert page.errors == [] and not [line for line in console if "Content Security Policy" in line]
    screenshot(page, "provenance-report")
