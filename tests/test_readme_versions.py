"""The versions and tools the README names are those the repository has: the vendored libraries'
versions (read from their own files) and what `.ci/run` installs for the tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
VENDOR = ROOT / "static" / "vendor"


def _stated(pattern: str) -> str:
    return re.search(pattern, README).group(1)


def test_the_vendored_libraries_are_the_versions_the_readme_gives():
    maplibre = re.search(r"maplibre-gl-js/blob/v([\d.]+)/", (VENDOR / "maplibre-gl" / "maplibre-gl-csp.js").read_text()[:400])
    uplot = re.search(r"uPlot \(v([\d.]+)\)", (VENDOR / "uplot" / "uPlot.iife.min.js").read_text()[:200])
    pmtiles = re.search(r"PMTiles for browsers ([\d.]+)", (VENDOR / "pmtiles" / "README.md").read_text())
    assert _stated(r"MapLibre GL JS map \(vendored ([\d.]+) CSP build") == maplibre.group(1)
    assert _stated(r"drawn by uPlot \(([\d.]+), vendored") == uplot.group(1)
    assert _stated(r"the vendored `pmtiles` library \(([\d.]+),") == pmtiles.group(1)


def _npm_packages(text: str) -> set[str]:
    """The packages of every `npm install` in `text` (a README command in backquotes, or a shell line)."""
    found = re.findall(r"npm install ((?:[@\w./-]+@[\w.]+ ?)+)", text.replace("\\\n", " "))
    return {package for packages in found for package in packages.split()}


def test_the_npm_packages_the_readme_names_are_those_ci_installs():
    install = re.search(r"npm install --silent --no-audit --no-fund --prefix \"\$validator_dir\" (.*?)>/dev/null", CI, re.DOTALL)
    in_ci = set(install.group(1).replace("\\\n", " ").split())
    in_readme = _npm_packages(README[: README.index("### Install from a wheel")])
    assert in_readme == in_ci


def test_the_readme_names_every_debian_package_ci_installs_for_the_tests():
    installed = re.search(r"apt-get install -y -qq (.*?) >/dev/null", CI).group(1).split()
    tools = README[README.index("The browser tests drive") : README.index("### Install from a wheel")]
    for package in installed:
        assert package in tools or package.removesuffix("-light") in tools, package
