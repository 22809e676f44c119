"""Documentation is tested: the README's commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

import click

from crimetiles.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick_start)


def test_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "crimetiles demo" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _quick_start_commands()[1] in ci_lines


def test_readme_names_every_subcommand():
    for name in main.commands:
        assert f"crimetiles {name}" in README, f"README does not show `crimetiles {name}`"


def test_artifact_spec_names_every_manifest_key():
    from crimetiles.artifact.manifest import BuildManifest

    spec = (ROOT / "docs" / "artifact.md").read_text(encoding="utf-8")
    for key in BuildManifest.__dataclass_fields__:
        assert f"`{key}`" in spec, f"docs/artifact.md does not document manifest key {key}"


def test_every_build_option_has_a_default_in_help():
    for param in main.commands["build"].params:
        if isinstance(param, click.Option) and not param.is_flag and param.name != "help" and param.default is None:
            assert "Default" in (param.help or ""), f"--{param.name} does not say its default"
