"""The build directory is replaced atomically: a failure at any point leaves the previous build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import BuildManifest, ClassBreaks, DensityLayer, read_manifest
from crimetiles.precompute.build_dir import atomic_build_dir, write_manifest


def _listing(parent):
    return sorted(p.name for p in parent.iterdir())


def _write_build(staging, build_id, layers=None):
    """A build whose manifest names `layers` (none: then the manifest is all it needs)."""
    write_manifest(
        staging,
        BuildManifest(1, build_id, "2016-01-01T00:00:00Z", "test", (2016,), BOUNDS, (0.5, 0.5, 10), "", {}, layers or {}, {}),
    )


BOUNDS = (0.0, 0.0, 1.0, 1.0)
TRACTS = DensityLayer("tracts", "Tracts", "boundary", "layers/tracts.parquet", 1, BOUNDS, ClassBreaks("quantile", (1.0,)))


def test_complete_build_replaces_previous_through_one_link(tmp_path):
    out = tmp_path / "build"
    for build_id in ("first", "second"):
        with atomic_build_dir(out) as staging:
            _write_build(staging, build_id)
    assert read_manifest(out).build_id == "second"
    assert os.readlink(out) == ".build.v-second"
    assert _listing(tmp_path) == [".build.lock", ".build.v-first", ".build.v-second", "build"]


def test_only_the_current_and_the_previous_build_are_kept(tmp_path):
    out = tmp_path / "build"
    for build_id in ("b1", "b2", "b3", "b4"):
        with atomic_build_dir(out) as staging:
            _write_build(staging, build_id)
    assert _listing(tmp_path) == [".build.lock", ".build.v-b3", ".build.v-b4", "build"]


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError, MemoryError])
def test_interrupted_build_leaves_previous_intact(tmp_path, interruption):
    out = tmp_path / "build"
    with atomic_build_dir(out) as staging:
        _write_build(staging, "good")
    with pytest.raises(interruption):
        with atomic_build_dir(out) as staging:
            _write_build(staging, "half")
            raise interruption()
    assert read_manifest(out).build_id == "good"
    assert _listing(tmp_path) == [".build.lock", ".build.v-good", "build"]


def test_interrupted_first_build_leaves_nothing_but_its_lock(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_build_dir(tmp_path / "build"):
            raise KeyboardInterrupt
    assert _listing(tmp_path) == [".build.lock"]


def test_a_build_missing_a_file_its_manifest_names_is_not_swapped_in(tmp_path):
    out = tmp_path / "build"
    with atomic_build_dir(out) as staging:
        _write_build(staging, "good")
    with pytest.raises(BuildError, match=r"the build is incomplete \(missing layers/tracts.parquet\); not swapped in"):
        with atomic_build_dir(out) as staging:
            _write_build(staging, "bad", {"tracts": TRACTS})
    assert read_manifest(out).build_id == "good"
    assert _listing(tmp_path) == [".build.lock", ".build.v-good", "build"]


def test_refuses_to_replace_a_directory_that_is_not_a_build(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a crimetiles build"):
        with atomic_build_dir(out) as staging:
            _write_build(staging, "new")
    assert (out / "thesis.txt").read_text() == "years of work"
    assert _listing(tmp_path) == [".precious.lock", "precious"]


def test_refuses_to_replace_a_file(tmp_path):
    """docs/artifact.md: a `DIR` that is "a file, or a link to" one is never replaced."""
    (tmp_path / "notes.txt").write_text("years of work")
    (tmp_path / "linked").symlink_to("notes.txt")
    for out in (tmp_path / "notes.txt", tmp_path / "linked"):
        with pytest.raises(FileExistsError, match="not a crimetiles build"):
            with atomic_build_dir(out) as staging:
                _write_build(staging, "new")
    assert (tmp_path / "notes.txt").read_text() == "years of work" and os.readlink(tmp_path / "linked") == "notes.txt"
    assert _listing(tmp_path) == [".linked.lock", ".notes.txt.lock", "linked", "notes.txt"]


def test_refuses_to_replace_a_link_to_a_directory_that_is_not_a_build(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.txt").write_text("years of work")
    (tmp_path / "build").symlink_to("thesis")
    with pytest.raises(FileExistsError, match="not a crimetiles build"):
        with atomic_build_dir(tmp_path / "build") as staging:
            _write_build(staging, "new")
    assert os.readlink(tmp_path / "build") == "thesis"
    assert _listing(tmp_path) == [".build.lock", "build", "thesis"]


def test_empty_directory_and_dangling_link_are_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "dangling").symlink_to("gone")
    for name in ("empty", "dangling"):
        with atomic_build_dir(tmp_path / name) as staging:
            _write_build(staging, name)
        assert read_manifest(tmp_path / name).build_id == name


README = Path(__file__).resolve().parents[2] / "README.md"
SPEC = Path(__file__).resolve().parents[2] / "docs" / "artifact.md"
FILE_KINDS = {
    "manifest.json": ("`manifest.json`", "manifest.json"),
    "layers/*.parquet": ("a GeoParquet file", "layers/<layer>.parquet"),
    "layers/*.arrows": ("the same table as an Arrow stream", "layers/<layer>.arrows"),
    "summaries/*.json": ("a summary", "summaries/<layer>.json"),
    "summaries/*.json.br": ("its brotli and gzip copies", "summaries/<layer>.json.br"),
    "summaries/*.json.gz": ("its brotli and gzip copies", ".gz: gzip"),
    "tiles/*.mbtiles": ("an MBTiles archive", "tiles/<tileset>.mbtiles"),
    "tiles/*.pmtiles": ("the same tiles as a PMTiles archive", "tiles/<tileset>.pmtiles"),
    "report.json": ("`report.json`", "report.json"),
    "rejects.csv": ("`rejects.csv`", "rejects.csv"),
}
"""Every kind of file a build holds, with how the README's "The directory holds..." and the tree of
docs/artifact.md name it."""


def _kind(path: Path) -> str:
    folder = path.parent.name
    return path.name if folder.startswith(".") or folder == "build" else f"{folder}/*{''.join(path.suffixes)}"


def test_the_readme_and_the_spec_name_every_kind_of_file_a_build_holds(durham_build):
    kinds = {_kind(path) for path in durham_build.resolve().rglob("*") if path.is_file()}
    assert kinds == set(FILE_KINDS)
    prose = " ".join(README.read_text(encoding="utf-8").split())
    holds = prose[prose.index("The directory holds") :].split("The full specification")[0]
    tree = SPEC.read_text(encoding="utf-8").split("```")[1]
    for kind, (in_readme, in_spec) in FILE_KINDS.items():
        assert in_readme in holds, kind
        assert in_spec in tree, kind
