"""Writing the build directory (the contract with the server, see docs/artifact.md), atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from crimetiles.artifact.manifest import MANIFEST_NAME, REJECTS_NAME, REPORT_NAME, BuildManifest

LAYERS_DIR = "layers"
TILES_DIR = "tiles"


@contextlib.contextmanager
def atomic_build_dir(out: Path) -> Iterator[Path]:
    """A fresh staging directory next to `out`, moved into place only if the block completes.

    On any exception, Ctrl-C included, the staging directory is removed and `out` is untouched.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    staging.chmod(0o755)
    try:
        (staging / LAYERS_DIR).mkdir()
        (staging / TILES_DIR).mkdir()
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _replace_dir(staging, out)


def _replace_dir(staging: Path, out: Path) -> None:
    """Swap `staging` into `out`. The previous build is renamed aside first (both renames are
    atomic on one file system), then deleted."""
    previous = None
    if out.exists():
        if not (out / MANIFEST_NAME).is_file() and any(out.iterdir()):
            shutil.rmtree(staging, ignore_errors=True)
            raise FileExistsError(f"{out} exists and is not a crimetiles build directory; refusing to replace it")
        previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, previous / out.name)
    os.replace(staging, out)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def write_layer(build_dir: Path, name: str, frame: gpd.GeoDataFrame) -> str:
    """Write a density layer as GeoParquet; returns its path relative to the build directory."""
    relative = f"{LAYERS_DIR}/{name}.parquet"
    frame.to_parquet(build_dir / relative, index=False)
    return relative


def tile_archive_path(name: str) -> str:
    return f"{TILES_DIR}/{name}.mbtiles"


def write_report(build_dir: Path, report: dict[str, Any], rejects: pd.DataFrame) -> None:
    (build_dir / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    rejects.to_csv(build_dir / REJECTS_NAME, index=False)


def write_manifest(build_dir: Path, manifest: BuildManifest) -> None:
    (build_dir / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
