"""The architecture holds in the imports: precompute and server meet only in artifact and the command."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOT_PACKAGE = "crimetiles"
"""`crimetiles/__init__.py` holds only the version; the command lives in `crimetiles.cli`."""
ALLOWED = {
    "artifact": {ROOT_PACKAGE, "crimetiles.artifact"},
    "precompute": {ROOT_PACKAGE, "crimetiles.artifact", "crimetiles.precompute"},
    "server": {ROOT_PACKAGE, "crimetiles.artifact", "crimetiles.server"},
}


def _crimetiles_imports(path: Path) -> set[str]:
    """`crimetiles.<part>` for every import of our package in `path`, top-level or nested."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        parts |= {".".join(name.split(".")[:2]) for name in names if name.split(".")[0] == "crimetiles"}
    return parts


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_part_imports_only_what_the_design_allows(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        forbidden = _crimetiles_imports(path) - ALLOWED[folder]
        assert not forbidden, f"{path.relative_to(ROOT)} imports {', '.join(sorted(forbidden))}"


def test_the_checker_sees_nested_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from crimetiles.server.app import create_app\n    import crimetiles.precompute.build\n")
    assert _crimetiles_imports(module) == {"crimetiles.server", "crimetiles.precompute"}
