"""Where a newcomer meets the layout: the README's file map and each folder's `__init__` name the
import package pyproject.toml's `package-dir` installs the folder as, and the file map lists every
subcommand of the command."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

import pytest

from crimetiles.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = README.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
PACKAGE_DIR: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
    "package-dir"
]


def test_package_dir_maps_the_top_level_folders():
    assert PACKAGE_DIR == {
        "crimetiles": "crimetiles",
        "crimetiles.artifact": "artifact",
        "crimetiles.precompute": "precompute",
        "crimetiles.server": "server",
        "crimetiles.static": "static",
    }


@pytest.mark.parametrize(("package", "folder"), PACKAGE_DIR.items())
def test_the_package_imported_is_the_folder(package, folder):
    assert Path(importlib.import_module(package).__file__).resolve() == ROOT / folder / "__init__.py"


@pytest.mark.parametrize(("package", "folder"), PACKAGE_DIR.items())
def test_each_folder_docstring_names_its_import_package(package, folder):
    """`precompute/__init__.py` says it is installed as `crimetiles.precompute`, and every
    "`crimetiles.x.y` is `x/y.py`" it gives is true."""
    docstring = ast.get_docstring(ast.parse((ROOT / folder / "__init__.py").read_text(encoding="utf-8"))) or ""
    text = " ".join(docstring.split())
    assert f"installed as `{package}`" in text
    assert "package-dir" in text
    examples = re.findall(r"`(crimetiles[\w.]*)` is `([\w/]+\.py)`", text)
    assert examples or folder == "static"
    for module, path in examples:
        assert Path(importlib.import_module(module).__file__).resolve() == ROOT / path


@pytest.mark.parametrize(("package", "folder"), PACKAGE_DIR.items())
def test_readme_file_map_names_the_import_package_of_each_folder(package, folder):
    bullets = [line for line in ARCHITECTURE.splitlines() if line.startswith(f"- `{folder}/")]
    assert len(bullets) == 1, folder
    assert f"imported as `{package}" in bullets[0]


def test_readme_import_example_leads_to_the_folder():
    example = re.search(r"`from (crimetiles[\w.]*) import (\w+)` reads `([\w/]+\.py)`", ARCHITECTURE)
    assert example, "the Architecture section shows no import and the file it reads"
    module, name, path = example.groups()
    assert getattr(importlib.import_module(module), name).__module__ == module
    assert Path(importlib.import_module(module).__file__).resolve() == ROOT / path
    assert "`package-dir`" in ARCHITECTURE


def test_readme_file_map_lists_every_subcommand():
    bullet = " ".join(ARCHITECTURE.split("- `crimetiles/cli.py`", 1)[1].split("\n- ", 1)[0].split())
    listed = re.search(r"the `crimetiles` command \(([^)]*)\)", bullet)
    assert listed, bullet
    assert sorted(name.strip() for name in listed.group(1).split(",")) == sorted(main.commands)
