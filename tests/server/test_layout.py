"""What the README's file map says of `server/`: the modules it names exist, and the tile answer
and the layer every response passes import no Flask."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _server_file_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n- `server/`, imported as `crimetiles.server`: ", 1)[1].split("\n- `", 1)[0]


def test_every_server_module_the_readme_names_exists():
    named = set(re.findall(r"`(\w+\.py)`", _server_file_map()))
    assert {"tile_answer.py", "fastpath.py", "every_response.py", "metrics.py", "errors.py"} <= named
    assert sorted(name for name in named if not (ROOT / "server" / name).is_file()) == []


@pytest.mark.parametrize("module", ["tile_answer", "every_response", "tiles", "errors"])
def test_the_tile_answer_and_its_layers_import_no_flask(module):
    source = (ROOT / "server" / f"{module}.py").read_text(encoding="utf-8")
    imports = re.findall(r"^\s*(?:from|import) (\S+)", source, flags=re.MULTILINE)
    assert imports and not [name for name in imports if name.split(".")[0] == "flask" or name.endswith("server.app")]


def test_only_the_context_module_knows_where_the_app_keeps_its_state():
    """Routes, pages, the command and the tests read the config, the live build, the metrics and
    the static files through `server/context.py`'s accessors, never by their keys."""
    keyed = re.compile(r"""\.extensions\[|\.config\[["']CRIMETILES""")
    sources = [path for folder in ("server", "crimetiles", "tests") for path in sorted((ROOT / folder).rglob("*.py"))]
    readers = [str(path.relative_to(ROOT)) for path in sources if keyed.search(path.read_text(encoding="utf-8"))]
    assert readers == ["server/context.py"]
