"""crimetiles: violent crimes per square mile as vector tiles.

The distribution installs one import package, `crimetiles`, whose parts live in the repository's
top-level folders (the `package-dir` table of pyproject.toml): `crimetiles.artifact` (artifact/,
the build-directory contract), `crimetiles.precompute` (precompute/, the offline build),
`crimetiles.server` (server/, the tile server), `crimetiles.static` (static/, the page). This
folder is installed as `crimetiles` itself and holds the command on top of both sides:
`crimetiles.cli` is `crimetiles/cli.py`, and `crimetiles.serve` is `crimetiles/serve.py` (the
`serve` command).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crimetiles")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
