"""The layer summaries the page's charts, table and search read (docs/artifact.md), checked against
the build's own GeoParquet layers and manifest."""

from __future__ import annotations

import gzip
import json
import shutil

import brotli
import geopandas as gpd
import pandas as pd
import pytest

from crimetiles.artifact.errors import BuildError
from crimetiles.artifact.manifest import read_manifest
from crimetiles.artifact.reader import open_build

DURHAM_YEARS = [2012, 2013, 2014, 2015, 2016]


def _published(column) -> list:
    """A layer column as a summary lists it: a withheld value is None."""
    return [None if value is pd.NA or value != value else value for value in column.astype(object)]


def _summary(build, layer: str) -> dict:
    return json.loads((build / "summaries" / f"{layer}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("layer", ["blockgroups", "tracts", "neighborhoods", "hex6", "hex9"])
def test_summary_holds_every_area_of_the_layer_as_in_its_geoparquet(durham_build, layer):
    frame = gpd.read_parquet(durham_build / "layers" / f"{layer}.parquet")
    summary = _summary(durham_build, layer)
    manifest = read_manifest(durham_build)
    assert manifest.summaries[layer] == f"summaries/{layer}.json"
    assert (summary["layer"], summary["years"], summary["average_years"]) == (layer, DURHAM_YEARS, 5)
    assert summary["class_breaks"]["values"] == list(manifest.layers[layer].class_breaks.values)
    areas = summary["areas"]
    assert areas["id"] == list(frame["id"]) and areas["name"] == list(frame["name"])
    assert areas["area_sqmi"] == list(frame["area_sqmi"])
    fields = ["violent_count", "violent_per_sqmi", "violent_per_sqmi_low", "violent_per_sqmi_high", "unstable", "suppressed"]
    for field in fields:
        for j, year in enumerate(DURHAM_YEARS):
            assert [row[j] for row in areas[field]] == _published(frame[f"{field}_{year}"]), (field, year)
        assert areas[f"{field}_all"] == _published(frame[field]), field
    for bbox, geometry in zip(areas["bbox"], frame.geometry, strict=True):
        west, south, east, north = geometry.bounds
        assert bbox == pytest.approx([west, south, east, north], abs=5e-7)  # rounded to 6 decimals


def test_study_area_is_total_count_over_total_area(durham_build):
    frame = gpd.read_parquet(durham_build / "layers" / "neighborhoods.parquet")
    study = _summary(durham_build, "neighborhoods")["study_area"]
    area = frame["area_sqmi"].sum()
    assert study["areas"] == 237
    assert study["area_sqmi"] == pytest.approx(area, abs=5e-7)
    counts = [int(frame[f"violent_count_{year}"].sum()) for year in DURHAM_YEARS]
    assert study["violent_count"] == counts
    # rounded to 3 decimals, as the layers' densities
    assert study["violent_per_sqmi"] == pytest.approx([count / area for count in counts], abs=5e-4)
    assert study["violent_count_all"] == sum(counts)
    assert study["violent_per_sqmi_all"] == pytest.approx(sum(counts) / 5 / area, abs=5e-4)


def test_the_build_writes_each_summary_brotli_and_gzip_compressed_beside_it(durham_build):
    """docs/artifact.md: `<layer>.json.br` and `<layer>.json.gz`, the same bytes, gzip with no
    timestamp (a rebuild of the same summary gives the same file)."""
    build = open_build(durham_build)
    assert sorted(build.manifest.summaries) == sorted(build.manifest.layers)
    for layer, path in build.manifest.summaries.items():
        stored = (durham_build / path).read_bytes()
        assert brotli.decompress(build.encoded_summary(layer, "br")) == stored, layer
        zipped = build.encoded_summary(layer, "gzip")
        assert gzip.decompress(zipped) == stored and zipped[4:8] == b"\0\0\0\0", layer
        assert zipped == (durham_build / f"{path}.gz").read_bytes()


def test_a_build_missing_a_summary_is_incomplete_and_an_older_manifest_has_none(durham_build, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(durham_build, copy)
    (copy / "summaries" / "tracts.json").unlink()
    assert open_build(copy).missing_files() == ["summaries/tracts.json"]
    with pytest.raises(BuildError, match="cannot read layer summary"):
        open_build(copy).summary("tracts")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["summaries"]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert open_build(copy).manifest.summaries == {}
    assert open_build(copy).missing_files() == []
