"""Lighthouse's accessibility category scores 100 on the map page and the embed, on a desktop and
on a phone (its mobile form factor), against the live server, in Debian's Chromium."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.browser
LIGHTHOUSE = os.environ.get("CRIMETILES_LIGHTHOUSE", "")
"""The `lighthouse` command (npm lighthouse@12; .ci/run installs it beside the other node tools)."""


@pytest.fixture(scope="module")
def lighthouse() -> str:
    if not (LIGHTHOUSE and Path(LIGHTHOUSE).is_file()):
        if os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            pytest.fail("CRIMETILES_LIGHTHOUSE is not set to the lighthouse command and CRIMETILES_REQUIRE_TOOLS=1")
        pytest.skip("CRIMETILES_LIGHTHOUSE not set (npm install lighthouse@12.2.3; see .ci/run)")
    return LIGHTHOUSE


def accessibility_report(lighthouse: str, url: str, form_factor: str, out: Path) -> dict:
    """Lighthouse's JSON report of `url`'s accessibility category (`form_factor`: desktop or mobile)."""
    screen = ["--preset=desktop"] if form_factor == "desktop" else ["--form-factor=mobile"]
    subprocess.run(
        [
            lighthouse,
            url,
            "--only-categories=accessibility",
            *screen,
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
        ],
        check=True,
        timeout=180,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    return json.loads(out.read_text(encoding="utf-8"))


def failing_audits(report: dict) -> list[str]:
    """The accessibility audits that count towards the score and did not pass, with what they flag."""
    audits = report["audits"]
    failing = []
    for ref in report["categories"]["accessibility"]["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
            items = audit.get("details", {}).get("items", [])
            nodes = [item.get("node", {}).get("selector", "") for item in items][:5]
            failing.append(f"{ref['id']}: {audit['title']} {nodes}")
    return failing


@pytest.mark.parametrize(
    ("path", "form_factor"),
    [
        ("/?layer=blockgroups&year=2016&selected=370630010011", "desktop"),
        ("/?layer=blockgroups&year=2016&selected=370630010011", "mobile"),
        ("/embed?layer=tracts&year=2014", "desktop"),
        ("/embed?layer=tracts&year=2014", "mobile"),
    ],
)
def test_lighthouse_accessibility_scores_100(lighthouse, live_url, path, form_factor, tmp_path):
    report = accessibility_report(lighthouse, f"{live_url}{path}", form_factor, tmp_path / "report.json")
    assert report["configSettings"]["formFactor"] == form_factor
    category = report["categories"]["accessibility"]
    audited = [ref for ref in category["auditRefs"] if report["audits"][ref["id"]]["score"] is not None]
    assert len(audited) > 15  # the page was audited, not an error page
    score = category["score"]
    assert score == 1.0, failing_audits(report)
