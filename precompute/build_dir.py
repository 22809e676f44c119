"""Writing the build directory (the contract with the server, see docs/artifact.md), atomically.

`--out DIR` becomes a symbolic link to a versioned sibling directory, replaced by one rename(2) of
a new link over it: whatever moment a build is killed at, `DIR` names a complete build (the old or
the new one). Names beside `DIR` are in `crimetiles.artifact.layout`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from crimetiles.artifact.checksum import file_sha256 as file_sha256  # the build's inputs' checksums
from crimetiles.artifact.content_coding import ENCODINGS, compress, encoded_path
from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.layer_rows import COVERING, LayerGeometry
from crimetiles.artifact.layout import ASIDE, KINDS, LINK, STAGING, VERSION, lock_path, served_build, sibling, siblings
from crimetiles.artifact.manifest import MANIFEST_NAME, REJECTS_NAME, REPORT_NAME, BuildManifest, LayerBatch, LayerStream
from crimetiles.artifact.reader import open_build
from crimetiles.precompute.interrupt import raise_if_interrupted

if TYPE_CHECKING:
    import pyarrow as pa

LAYERS_DIR = "layers"
REJECT_COLUMNS = ("source", "row", "reason", "detail", "incident_id")
TILES_DIR = "tiles"
SUMMARIES_DIR = "summaries"
STREAM_COMPRESSION = "lz4"
"""How a layer's Arrow stream compresses its buffers (Arrow IPC's own, LZ4 frames, which nanoarrow
reads): 2.5 times smaller than raw for 250,000 Voronoi cells, about a tenth of a millisecond to
decode a batch; ZSTD was a quarter smaller again but six times slower to decode."""
LAYER_ROW_GROUP_ROWS = 1000
"""Polygons per row group of a density layer: a server encoding a tile on demand reads the row
groups whose bounding box meets it, so a small group is little read for a tile (a group's columns
are a few hundred kB at most) and a layer of 250,000 polygons still has only 250 groups to pick from."""
HILBERT_LEVEL = 16
"""Cells per side of the Hilbert curve layers are sorted along, as a power of two: 65,536 cells
across the layer's extent, finer than any layer's polygons."""


class DiskFull(BuildError):
    """The file system ran out of space (or quota) while a build file was written."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no space left on {_mount_point(path)} while writing {path}")
        self.path = path


@contextlib.contextmanager
def atomic_build_dir(out: Path) -> Iterator[Path]:
    """A fresh staging directory next to `out`, swapped in as `out`'s build only if the block completes.

    On any exception, Ctrl-C included, the staging directory is removed and `out` is untouched; a
    full disk raises `DiskFull` naming the file as it would have been in `out`. Builds of the same
    `out` take turns on a lock file, so the staging directories found at the start are all stale
    (left by killed builds) and removed. After the swap the previous build is kept, older ones removed.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(lock_path(out)):
        _check_replaceable(out)
        _remove(siblings(out, STAGING, LINK))
        with writing(out):
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{STAGING}-", dir=out.parent))
        try:
            with _rebased_disk_full(staging, out), writing(out):
                staging.chmod(0o755)
                (staging / LAYERS_DIR).mkdir()
                (staging / TILES_DIR).mkdir()
                yield staging
                _sync_tree(staging)
                raise_if_interrupted()
                kept = _swap_in(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove([path for path in siblings(out, *KINDS) if path.parent.resolve() / path.name not in kept])


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report a full disk while writing `path` as `DiskFull(path)`, one line instead of a traceback."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if _is_disk_full(exc):
            raise DiskFull(path) from None
        raise


def _is_disk_full(exc: OSError | sqlite3.OperationalError) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return exc.sqlite_errorcode == sqlite3.SQLITE_FULL
    # pyarrow raises OSError with the C library's message and no errno
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or os.strerror(errno.ENOSPC) in str(exc)


@contextlib.contextmanager
def _rebased_disk_full(staging: Path, out: Path) -> Iterator[None]:
    """Name a file of the staging directory as it would have been in `out` (the staging is removed)."""
    try:
        yield
    except DiskFull as full:
        if full.path.is_relative_to(staging):
            raise DiskFull(out / full.path.relative_to(staging)) from None
        raise


def _mount_point(path: Path) -> Path:
    return next(parent for parent in (path, *path.parents) if os.path.ismount(parent))


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an flock(2) on `path` (created if need be); the kernel releases it if the process dies."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _check_replaceable(out: Path) -> None:
    """Refuse to replace anything but a build, a link to one, a dangling link or an empty directory."""
    if not os.path.lexists(out) or (out.is_symlink() and not out.exists()):
        return
    if out.is_dir() and ((out / MANIFEST_NAME).is_file() or not any(out.iterdir())):
        return
    raise FileExistsError(f"{out} exists and is not a crimetiles build directory; refusing to replace it")


def _swap_in(staging: Path, out: Path) -> set[Path]:
    """Rename the complete build in `staging` to its versioned directory and point `out` at it.

    Returns the directories to keep (resolved): the new build and the one served before.
    """
    build = open_build(staging)
    missing = build.missing_files()
    if missing:
        raise BuildError(f"{staging}: the build is incomplete (missing {', '.join(missing)}); not swapped in")
    _check_replaceable(out)
    served = _served_root(out)
    version = sibling(out, VERSION, build.manifest.build_id)
    os.rename(staging, version)
    link = sibling(out, LINK, secrets.token_hex(4))
    os.symlink(version.name, link)
    previous = _move_real_directory_aside(out) or served
    os.replace(link, out)
    _sync_directory(out.parent)
    return {version.resolve()} | ({previous} if previous else set())


def _served_root(out: Path) -> Path | None:
    """The directory a server serves for `out` now (the link's target, or a build left behind)."""
    try:
        return served_build(out).root
    except BuildError:
        return None


def _move_real_directory_aside(out: Path) -> Path | None:
    """A build written in place by an older crimetiles (a real directory) moves to `.NAME.old-*/NAME`
    just before the link is renamed over `out`: between these two renames, once per output, `out`
    is missing (a server then serves the newest complete build beside it, `layout.served_build`)."""
    if out.is_symlink() or not out.is_dir():
        return None
    if not any(out.iterdir()):
        out.rmdir()
        return None
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.{ASIDE}-", dir=out.parent))
    os.rename(out, aside / out.name)
    return aside.resolve()


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _sync_tree(root: Path) -> None:
    """fsync every file and directory of `root`, so that after a power cut too the build the
    link points at is complete (the kernel keeps unsynced writes across a killed process anyway)."""
    for directory, _, files in os.walk(root):
        for name in files:
            with writing(Path(directory) / name), open(Path(directory) / name, "rb") as handle:
                os.fsync(handle.fileno())
        _sync_directory(Path(directory))


def _sync_directory(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def spatial_order(frame: gpd.GeoDataFrame) -> np.ndarray:
    """The order of `frame`'s rows along a Hilbert curve through their bounding boxes' centres
    (ties in their order): neighbours on the map are neighbours in the file, so each row group of
    the layer (`write_layer`) covers a compact area."""
    if frame.empty:
        return np.arange(0)
    distances = frame.geometry.hilbert_distance(total_bounds=frame.total_bounds, level=HILBERT_LEVEL)
    return distances.to_numpy().argsort(kind="stable")


def write_layer(build_dir: Path, name: str, frame: gpd.GeoDataFrame) -> tuple[str, LayerStream]:
    """Write a density layer as GeoParquet 1.1 with its `bbox` covering column, in row groups of
    `LAYER_ROW_GROUP_ROWS` (rows in `frame`'s order: see `spatially_sorted`), then the same table
    as an Arrow stream (`write_layer_stream`); returns the Parquet file's path relative to the
    build directory, and the stream."""
    relative = f"{LAYERS_DIR}/{name}.parquet"
    with writing(build_dir / relative):
        frame.to_parquet(build_dir / relative, index=False, write_covering_bbox=True, row_group_size=LAYER_ROW_GROUP_ROWS)
    return relative, write_layer_stream(build_dir, name, relative)


def write_layer_stream(build_dir: Path, name: str, parquet: str) -> LayerStream:
    """Write the GeoParquet layer at `parquet` (relative to `build_dir`) again as an Arrow IPC
    stream, its schema then a record batch per row group (buffers compressed with
    `STREAM_COMPRESSION`), each batch's place and `bbox` bounds kept for the manifest: a server
    reads the layer a batch at a time with nanoarrow, which costs a worker about 3 MB where
    pyarrow costs 30 (docs/artifact.md, "What a server reads")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(build_dir / parquet)
    schema = source.schema_arrow
    covering = LayerGeometry.of_schema(schema.metadata, parquet).covering
    relative = f"{LAYERS_DIR}/{name}.arrows"
    options = pa.ipc.IpcWriteOptions(compression=STREAM_COMPRESSION)
    schema_length = schema.serialize().size  # what the writer puts first, with the first batch
    batches: list[LayerBatch] = []
    with writing(build_dir / relative), (build_dir / relative).open("wb") as sink:
        with pa.ipc.new_stream(sink, schema, options=options) as writer:
            for group in range(source.num_row_groups):
                for batch in source.read_row_group(group).combine_chunks().to_batches():
                    offset = sink.tell() if batches else schema_length
                    writer.write_batch(batch)
                    batches.append(LayerBatch(offset, sink.tell() - offset, _batch_bounds(batch, covering)))
    return LayerStream(relative, schema_length, tuple(batches))


def _batch_bounds(batch: pa.RecordBatch, covering: str) -> tuple[float, float, float, float] | None:
    """The bounds of a record batch's rows (degrees) from their `covering` column (the `bbox` of
    each geometry); None if no row has one."""
    box = batch.column(covering)
    west, south, east, north = (box.field(name).to_numpy(zero_copy_only=False).astype(float) for name in COVERING)
    if np.isnan(west).all():
        return None
    return float(np.nanmin(west)), float(np.nanmin(south)), float(np.nanmax(east)), float(np.nanmax(north))


def summary_path(name: str) -> str:
    """Where the summary of density layer `name` goes, relative to the build directory (and the URL
    path the server serves it at, so that a static copy of the build answers the same URL)."""
    return f"{SUMMARIES_DIR}/{name}.json"


def write_summary(build_dir: Path, summary: dict[str, Any]) -> str:
    """Write a layer summary (`precompute.summary.layer_summary`) as compact JSON, and beside it
    that JSON in each content coding the server sends (`.br`, `.gz`), so that no worker compresses
    it (about 7 s for a 60 MB national summary); returns its path relative to the build directory."""
    relative = summary_path(summary["layer"])
    body = json.dumps(summary, separators=(",", ":"), allow_nan=False).encode("utf-8")
    copies = {relative: body} | {encoded_path(relative, coding): compress(body, coding) for coding in ENCODINGS}
    for path, data in copies.items():
        with writing(build_dir / path):
            (build_dir / path).parent.mkdir(exist_ok=True)
            (build_dir / path).write_bytes(data)
    return relative


def tile_archive_path(name: str) -> str:
    return f"{TILES_DIR}/{name}.mbtiles"


def write_report(build_dir: Path, report: dict[str, Any]) -> None:
    with writing(build_dir / REPORT_NAME):
        (build_dir / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def rejects_writer(build_dir: Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function appending rejected rows to rejects.csv as a build finds them (the header is
    written first, so a build with no reject has it alone)."""
    path = build_dir / REJECTS_NAME
    with writing(path), path.open("w", encoding="utf-8", newline="") as file:
        pd.DataFrame(columns=list(REJECT_COLUMNS)).to_csv(file, index=False)

        def append(rejects: pd.DataFrame) -> None:
            rejects[list(REJECT_COLUMNS)].to_csv(file, index=False, header=False)

        yield append


def write_manifest(build_dir: Path, manifest: BuildManifest) -> None:
    with writing(build_dir / MANIFEST_NAME):
        (build_dir / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
