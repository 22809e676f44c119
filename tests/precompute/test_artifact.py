"""The build directory is replaced atomically: a failure at any point leaves the previous build."""

from __future__ import annotations

import pytest

from crimetiles.precompute.artifact import atomic_build_dir


def _listing(parent):
    return sorted(p.name for p in parent.iterdir())


def test_complete_build_replaces_previous(tmp_path):
    out = tmp_path / "build"
    for content in ("first", "second"):
        with atomic_build_dir(out) as staging:
            (staging / "manifest.json").write_text(content)
    assert (out / "manifest.json").read_text() == "second"
    assert _listing(tmp_path) == ["build"]


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError, MemoryError])
def test_interrupted_build_leaves_previous_intact(tmp_path, interruption):
    out = tmp_path / "build"
    with atomic_build_dir(out) as staging:
        (staging / "manifest.json").write_text("good")
    with pytest.raises(interruption):
        with atomic_build_dir(out) as staging:
            (staging / "manifest.json").write_text("half")
            raise interruption()
    assert (out / "manifest.json").read_text() == "good"
    assert _listing(tmp_path) == ["build"]


def test_interrupted_first_build_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_build_dir(tmp_path / "build"):
            raise KeyboardInterrupt
    assert _listing(tmp_path) == []


def test_refuses_to_replace_a_directory_that_is_not_a_build(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a crimetiles build"):
        with atomic_build_dir(out) as staging:
            (staging / "manifest.json").write_text("{}")
    assert (out / "thesis.txt").read_text() == "years of work"
    assert _listing(tmp_path) == ["precious"]
