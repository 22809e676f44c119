"""Each setting is declared once, on its dataclass field: the commands' flags, their help and
defaults, the README's Configuration table and the defaults its text states all say the same."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.options import setting_default
from crimetiles.precompute.build import BoundarySpec, BuildOptions, ProvenanceOptions
from crimetiles.precompute.detect import IncidentColumns
from crimetiles.server.config import ServerConfig, default_text, env_name, setting_help

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BUILD_SETTINGS = {
    field.name: field
    for owner in (BuildOptions, IncidentColumns, BoundarySpec, ProvenanceOptions)
    for field in fields(owner)
    if "help" in field.metadata
}
"""Every build setting the command offers: the fields that carry their help."""
SERVER_FLAGS = [field.name for field in fields(ServerConfig) if field.name != "build_dir"]


def _params(command: str) -> dict[str, click.Parameter]:
    return {param.name: param for param in main.commands[command].params if param.name}


def _flag(command: str, setting: str) -> str:
    return next(opt for opt in _params(command)[setting].opts if opt.startswith("--"))


def _command_default(command: str, setting: str) -> object:
    """The value the command passes on when the flag is not given."""
    param = _params(command)[setting]
    with click.Context(main.commands[command]) as ctx:
        return param.type_cast_value(ctx, param.get_default(ctx))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unwrapped(text: str) -> str:
    """`text` without its white space: help as the terminal shows it, wrapped at any space or hyphen."""
    return "".join(text.split())


@pytest.mark.parametrize("setting", sorted(BUILD_SETTINGS))
def test_every_build_setting_is_a_flag_with_the_fields_help_and_default(setting):
    field = BUILD_SETTINGS[setting]
    assert _params("build")[setting].help == field.metadata["help"]
    assert _command_default("build", setting) == setting_default(field)
    assert _unwrapped(field.metadata["help"]) in _unwrapped(CliRunner().invoke(main, ["build", "--help"]).output)


def test_the_build_command_has_no_setting_flag_of_its_own():
    """Its flags are the settings', but for the boundary layers (a `BoundarySpec` each) and --quiet."""
    own = set(_params("build")) - set(BUILD_SETTINGS)
    assert own == {"incidents", "boundaries", "quiet"}


@pytest.mark.parametrize("setting", SERVER_FLAGS)
def test_every_server_setting_is_a_serve_flag_whose_help_gives_its_default_and_env_var(setting):
    field = next(field for field in fields(ServerConfig) if field.name == setting)
    assert _flag("serve", setting) == "--" + setting.replace("_", "-")
    assert _params("serve")[setting].help == setting_help(setting)
    shown = _unwrapped(CliRunner().invoke(main, ["serve", "--help"]).output)
    assert _unwrapped(f"{field.metadata['help']} Default: {default_text(setting)} (env {env_name(setting)}).") in shown
    assert _command_default("serve", setting) is None  # unset: the env var, then the config's default decide


def test_server_defaults_read_as_people_write_them():
    assert [default_text(name) for name in ("cache_bytes", "ready_tile_bytes", "reload_interval", "port")] == [
        "64 MiB",
        "16 MiB",
        "2",
        "8000",
    ]
    assert default_text("public_url") == "the request's own"


@pytest.mark.parametrize("setting", ["host", "port"])
def test_demo_offers_the_same_server_flags(setting):
    assert _params("demo")[setting].help == _params("serve")[setting].help
    assert _command_default("demo", setting) is None


def test_the_build_directory_default_is_where_serve_looks():
    assert _command_default("build", "out") == ServerConfig().build_dir == Path("crimetiles-build")
    argument = _params("serve")["build_dir"]
    assert argument.envvar == env_name("build_dir") == "CRIMETILES_BUILD_DIR"
    shown = _unwrapped(CliRunner().invoke(main, ["serve", "--help"]).output)
    assert _unwrapped("BUILD_DIR: Build directory written by `crimetiles build`. Default: crimetiles-build") in shown


def _configuration_rows() -> dict[str, str]:
    """The README's Configuration table: env var -> default cell."""
    section = README.split("\n### Configuration\n", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        match = re.fullmatch(r"`(CRIMETILES_[A-Z_]+)`", cells[1]) if len(cells) == 4 else None
        if match:
            rows[match.group(1)] = cells[3].replace("`", "")
    return rows


def test_the_readme_configuration_table_lists_every_server_setting():
    assert sorted(_configuration_rows()) == sorted(env_name(field.name) for field in fields(ServerConfig))


@pytest.mark.parametrize("setting", [field.name for field in fields(ServerConfig)])
def test_the_readme_configuration_table_gives_the_configs_default(setting):
    cell = _configuration_rows()[env_name(setting)]
    assert re.match(rf"{re.escape(default_text(setting))}(?:$|[ ,(])", cell), f"{cell!r} vs {default_text(setting)!r}"


README_BUILD_DEFAULTS = re.compile(
    r"`(--[a-z-]+)`(?: rows)? \(default (`[^`]+`|\d[\d,]*\d|[^),;]+)"
    r"|`(--[a-z-]+)`, default ([^),;]+)"
    r"|`(--[a-z-]+)` \((\S+) by default\)"
)
"""The defaults the README's text states for build flags: "`--id-field` (default `id`)",
"`--workers`, default one per core", "`--archive-maxzoom` (14 by default)"."""


def readme_build_defaults() -> list[tuple[str, str]]:
    found = []
    for match in README_BUILD_DEFAULTS.finditer(_one_line(README)):
        flag, stated = [group for group in match.groups() if group is not None]
        found.append((flag, stated))
    return found


def test_the_readme_states_build_defaults():
    assert {flag for flag, _ in readme_build_defaults()} >= {"--id-field", "--chunk-rows", "--workers", "--archive-maxzoom"}


@pytest.mark.parametrize(("flag", "stated"), readme_build_defaults())
def test_every_build_default_the_readme_states_is_the_commands(flag, stated):
    """A stated number or value is the flag's default; for a setting whose default is None, the
    words are those its help gives after "Default:"."""
    (setting,) = [name for name, param in _params("build").items() if flag in param.opts]
    default = _command_default("build", setting)
    if default is None:
        assert f"Default: {stated}" in _params("build")[setting].help
    else:
        assert stated.strip("`").replace(",", "") == str(default)


def test_the_dockerfile_sets_only_settings_it_changes():
    """Its `ENV` names real settings and restates no default (a copy that would outlive a change)."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    environment = dict(re.findall(r"(CRIMETILES_[A-Z_]+)=(\S+)", dockerfile))
    assert "CRIMETILES_BUILD_DIR" in environment
    config = ServerConfig.from_env(environment)
    changed = [env_name(field.name) for field in fields(ServerConfig) if getattr(config, field.name) != field.default]
    assert sorted(changed) == sorted(environment)


def test_the_dockerfile_is_what_the_readme_says():
    """README: "multi-stage, slim, non-root, the Durham demo built at image build time, a
    `HEALTHCHECK` on `/healthz`" (no Docker here to build it: its steps are what a test can read;
    CI runs its `CMD`, tests/server/test_production.py)."""
    assert "(multi-stage, slim, non-root, the Durham demo built at image build time, a `HEALTHCHECK` on `/healthz`)" in " ".join(
        README.split()
    )
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) == 2 and all(stage.startswith("python:3.11-slim") for stage in stages)
    build, runtime = stages
    assert "crimetiles synth --out /app/demo/incidents" in build and "crimetiles build /app/demo/incidents" in build
    assert "COPY --from=build --chown=crimetiles /app /app" in runtime and "COPY . " not in runtime
    assert re.search(r"^USER (\w+)$", runtime, re.MULTILINE).group(1) not in ("root", "0")
    assert re.search(r"HEALTHCHECK .*\n.*'http://127\.0\.0\.1:8000/healthz'", runtime)
