"""What docs/artifact.md says of the manifest's identity keys, its inputs and the layers' id and
name types, checked on the Durham build (its incidents given as a folder of two files)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from crimetiles import __version__
from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import MANIFEST_NAME, read_manifest
from tests.precompute.conftest import BLOCKGROUPS

SPEC = (Path(__file__).resolve().parents[2] / "docs" / "artifact.md").read_text(encoding="utf-8")
BUILD_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")
"""UTC time to the microsecond, then 8 hex digits of the inputs' and options' hash."""


def test_the_build_id_time_and_generator_are_as_the_spec_gives_them(durham_build):
    manifest = read_manifest(durham_build)
    example = re.search(r"`build_id` \| str \|[^|]*e\.g\. `([^`]+)`", SPEC).group(1)
    assert BUILD_ID.fullmatch(example) and BUILD_ID.fullmatch(manifest.build_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest.built_at)
    assert manifest.build_id.startswith(re.sub(r"[-:]", "", manifest.built_at).removesuffix("Z"))
    assert manifest.generator == f"crimetiles {__version__}"


def test_inputs_are_the_files_as_given_with_a_name_for_boundaries_only(build_cli, durham_incidents, tmp_path, monkeypatch):
    """ "the inputs' paths ... are as they were given to the build": a relative path stays relative."""
    police = (durham_incidents / "durham_police.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "police.csv").write_text("".join(police[:300]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    build = build_cli("police.csv")
    assert build.exit_code == 0, build.stderr
    manifest = read_manifest(build.out)
    assert [(entry.role, entry.path) for entry in manifest.inputs if entry.role != "classification"] == [
        ("incidents", "police.csv"),
        ("boundaries", str(BLOCKGROUPS)),
    ]
    assert [(entry.role, entry.name) for entry in manifest.inputs] == [
        ("incidents", None),
        ("boundaries", "blockgroups"),
        ("classification", None),
    ]
    assert [source.files for source in manifest.provenance.sources] == [("police.csv",)]


@pytest.mark.parametrize("column", ["id", "name"])
def test_ids_and_names_are_arrow_large_strings_in_the_parquet_file_and_the_stream(durham_build, column):
    for layer in ("tracts", "hex8"):
        assert pq.read_schema(durham_build / "layers" / f"{layer}.parquet").field(column).type == pa.large_string()
        with (durham_build / "layers" / f"{layer}.arrows").open("rb") as stream:
            assert ipc.open_stream(stream).schema.field(column).type == pa.large_string()


def test_readers_refuse_another_schema_version(durham_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    raw = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8"))
    raw["schema_version"] = 2
    (copy / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(BuildError, match="manifest schema_version 2 is not supported"):
        read_manifest(copy)
