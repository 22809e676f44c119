"""`crimetiles build` options that take a list, a span, a path or a URL, typed as people type them
(spaces after commas or around the dash, a trailing slash, a link copied without its scheme),
checked in what the build writes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crimetiles.cli import main
from tests.precompute.conftest import BLOCKGROUPS

LAYOUTS = Path(__file__).resolve().parent.parent / "fixtures" / "layouts"
INCIDENTS = LAYOUTS / "stray_year.csv"
"""20 simple assaults a year 2018-2023 in one block group, and one in 1920."""


def _build(out: str, *options: str) -> tuple[int, str]:
    command = ["build", str(INCIDENTS), "-b", f"blockgroups={BLOCKGROUPS}", "--archive-maxzoom", "-1", "-q", "-o", out]
    result = CliRunner().invoke(main, [*command, *options])
    return result.exit_code, result.stderr


def _manifest(build: Path) -> dict:
    return json.loads((build / "manifest.json").read_text(encoding="utf-8"))


def test_a_list_with_spaces_after_commas_into_a_folder_typed_with_a_trailing_slash(tmp_path):
    out = tmp_path / "build"
    assert _build(f"{out}/", "--hex-res", "7, 8") == (0, "")
    first = _manifest(out)
    assert list(first["layers"]) == ["blockgroups", "hex7", "hex8"]
    assert sorted(path.name for path in (out / "layers").iterdir()) == [
        *(f"{layer}.{suffix}" for layer in ("blockgroups", "hex7", "hex8") for suffix in ("arrows", "parquet"))
    ]
    assert _build(f"{out}/", "--hex-res", " ") == (0, "")  # a blank list: no hex grid
    second = _manifest(out)
    assert second["build_id"] != first["build_id"]
    assert list(second["layers"]) == ["blockgroups"]
    assert sorted(path.name for path in (out / "layers").iterdir()) == ["blockgroups.arrows", "blockgroups.parquet"]


def test_a_span_of_years_with_spaces_around_the_dash(build_cli):
    build = build_cli(INCIDENTS, "--years", "2019 - 2021")
    assert build.exit_code == 0, build.stderr
    assert _manifest(build.out)["years"] == [2019, 2020, 2021]
    assert build.report["inputs"][0]["rejected_by_reason"] == {"year outside --years": 61}


def test_name_and_path_options_with_a_home_directory_no_shell_expanded(tmp_path):
    """`-b wards=~/wards.geojson` as zsh and sh pass it, `--source police='~/exports/*.csv'` quoted."""
    home = tmp_path / "home"
    (home / "exports").mkdir(parents=True)
    (home / "wards.geojson").write_bytes(BLOCKGROUPS.read_bytes())
    (home / "exports" / "2018.csv").write_bytes(INCIDENTS.read_bytes())
    out = tmp_path / "build"
    command = [
        "build",
        "--source",
        "police=~/exports/*.csv",
        "-b",
        "wards=~/wards.geojson",
        "--hex-res",
        "",
        "-q",
        "-o",
        str(out),
    ]
    result = CliRunner(env={"HOME": str(home)}).invoke(main, [*command, "--archive-maxzoom", "-1"])
    assert result.exit_code == 0, result.output
    assert list(_manifest(out)["layers"]) == ["wards"]
    (source,) = json.loads((out / "report.json").read_text(encoding="utf-8"))["sources"]
    assert (source["name"], source["rows_read"]) == ("police", 121)


def test_a_quoted_incident_pattern_with_a_home_directory(tmp_path):
    """`crimetiles build '~/exports/*.csv'`: quoted for the build to expand, so no shell expands `~`."""
    home = tmp_path / "home"
    (home / "exports").mkdir(parents=True)
    (home / "exports" / "2018.csv").write_bytes(INCIDENTS.read_bytes())
    out = tmp_path / "build"
    command = ["build", "~/exports/*.csv", "-b", f"wards={BLOCKGROUPS}", "--hex-res", "", "-q", "-o", str(out)]
    result = CliRunner(env={"HOME": str(home)}).invoke(main, [*command, "--archive-maxzoom", "-1"])
    assert result.exit_code == 0, result.output
    (source,) = json.loads((out / "report.json").read_text(encoding="utf-8"))["sources"]
    assert (source["name"], source["files"], source["rows_read"]) == ("2018", [str(home / "exports" / "2018.csv")], 121)


def test_an_attribution_link_is_kept_as_typed_and_one_without_scheme_is_refused(tmp_path):
    link = "https://www.minneapolismn.gov/"
    assert _build(str(tmp_path / "build"), "--attribution", "City", "--attribution-url", link) == (0, "")
    assert _manifest(tmp_path / "build")["provenance"]["attribution_url"] == link
    code, stderr = _build(str(tmp_path / "other"), "--attribution", "City", "--attribution-url", "www.minneapolismn.gov")
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--attribution-url': 'www.minneapolismn.gov': expected an absolute http(s) URL, "
        "starting with https://"
    )
    assert not (tmp_path / "other").exists()


def test_a_static_export_refuses_a_basemap_typed_without_scheme(tmp_path):
    """The pages could not load it: the map would not draw at all."""
    template = "tile.openstreetmap.org/{z}/{x}/{y}.png"
    result = CliRunner().invoke(main, ["export-static", str(tmp_path), str(tmp_path / "site"), "--basemap-url", template])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: Invalid value for '--basemap-url': '{template}': expected an absolute http(s) URL, starting with https://"
    )
    assert not (tmp_path / "site").exists()
