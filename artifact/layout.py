"""Where a build lives on disk: the output path, the versioned directory it links to, and what an
interrupted build or swap can leave beside it (docs/artifact.md, "Atomicity").

`crimetiles build --out DIR` makes `DIR` a symbolic link to a sibling `.DIR.v-<build_id>`. Beside
them, only these names are ours (`precompute` creates and removes them, `server` may serve one):

- `.DIR.tmp-*`: a staging directory (a build being written, or left by a killed one);
- `.DIR.link-*`: the new link, for the instant before it is renamed over `DIR`;
- `.DIR.old-*/DIR`: a build that was a real directory at `DIR`, moved aside;
- `.DIR.lock`: the lock file that makes builds of `DIR` take turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import MANIFEST_NAME, BuildManifest, read_manifest
from crimetiles.artifact.reader import open_build

DEFAULT_BUILD_DIR = Path("crimetiles-build")
"""Where `crimetiles build` writes and `crimetiles serve` reads when given no directory (not
`build/`, which setuptools uses in a source tree)."""
STAGING = "tmp"
VERSION = "v"
LINK = "link"
ASIDE = "old"
KINDS = (STAGING, VERSION, LINK, ASIDE)


def sibling(out: Path, kind: str, suffix: str) -> Path:
    """`.NAME.<kind>-<suffix>` next to `out`; `suffix` is letters, digits, `_` and `-`."""
    return out.parent / f".{out.name}.{kind}-{suffix}"


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def siblings(out: Path, *kinds: str) -> list[Path]:
    """Our entries of these kinds next to `out`, by name. The suffix has no dot, so the entries of
    another output (say `DIR.v-2` beside `DIR`) never match."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:{'|'.join(kinds)})-[A-Za-z0-9_-]+")
    try:
        return sorted(entry for entry in out.parent.iterdir() if pattern.fullmatch(entry.name))
    except FileNotFoundError:
        return []


@dataclass(frozen=True)
class ServedBuild:
    """The directory to read for `out`'s build."""

    root: Path
    """A versioned directory (`out` resolved), `out` itself if it is a real directory, or a
    complete build left behind."""
    manifest: BuildManifest
    recovered: bool
    """True if `out` holds no build and `root` is the newest complete one left beside it."""


def served_build(out: Path) -> ServedBuild:
    """What a server should serve for `out`: its build, else the newest complete build an
    interrupted build or swap left beside it. Raises `BuildError` if there is neither."""
    root = Path(out).resolve()
    leftovers = [] if (root / MANIFEST_NAME).exists() else complete_leftovers(Path(out).absolute())
    if not leftovers:
        return ServedBuild(root, read_manifest(root), recovered=False)
    manifest, root = max(leftovers, key=lambda found: (found[0].built_at, found[0].build_id))
    return ServedBuild(root, manifest, recovered=True)


def complete_leftovers(out: Path) -> list[tuple[BuildManifest, Path]]:
    """Versioned and moved-aside builds of `out` whose manifest reads and names no missing file."""
    candidates = siblings(out, VERSION) + [aside / out.name for aside in siblings(out, ASIDE)]
    complete = []
    for root in candidates:
        try:
            build = open_build(root)
        except (BuildError, OSError):
            continue
        if not build.missing_files():
            complete.append((build.manifest, build.root))
    return complete
