"""The demo build of two sources (police and sheriff) reproduces the Durham Neighborhood
Compass's published table (2012-2016)."""

from __future__ import annotations

import json

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from crimetiles.cli import main
from crimetiles.precompute.classify import VIOLENT, load_classifier
from crimetiles.precompute.synth import DURHAM_DATA_DIR as DURHAM_DIR

YEARS = [2012, 2013, 2014, 2015, 2016]


def _published(name: str) -> pd.DataFrame:
    return pd.read_csv(DURHAM_DIR / name, dtype={"id": str}).set_index("id")


@pytest.fixture(scope="module")
def blockgroups(durham_build) -> pd.DataFrame:
    return gpd.read_parquet(durham_build / "layers" / "blockgroups.parquet").set_index("id")


def test_every_block_group_count_equals_published(blockgroups):
    published = _published("violent_counts_blockgroup.csv").fillna(0).astype(int)
    assert sorted(blockgroups.index) == sorted(published.index)
    for year in YEARS:
        ours = blockgroups[f"violent_count_{year}"]
        assert (ours == published[f"y_{year}"].reindex(ours.index)).all(), year


def test_densities_within_4_percent_of_published(blockgroups):
    counts = _published("violent_counts_blockgroup.csv").fillna(0)
    areas = _published("area_sqmi_blockgroup.csv")
    ratios = []
    for year in YEARS:
        published_density = (counts[f"y_{year}"] / areas[f"y_{year}"]).reindex(blockgroups.index)
        ours = blockgroups[f"violent_per_sqmi_{year}"]
        nonzero = published_density > 0
        ratios.append((ours[nonzero] / published_density[nonzero]).to_numpy())
        assert (ours[~nonzero] == 0).all()
    ratios = np.concatenate(ratios)
    median = float(np.median(ratios))
    print(f"density ratio ours/published: median {median:.5f}, min {ratios.min():.4f}, max {ratios.max():.4f}")
    assert np.all(np.abs(ratios - 1) < 0.04)
    assert median == pytest.approx(1.0, abs=0.001)


def test_all_years_density_is_average_per_year(blockgroups):
    row = blockgroups.iloc[0]
    total = sum(row[f"violent_count_{y}"] for y in YEARS)
    assert row["violent_count"] == total
    assert row["violent_per_sqmi"] == pytest.approx(total / len(YEARS) / row["area_sqmi"], abs=1e-3)


def test_report_accounts_for_every_row_of_both_sources(durham_build):
    report = json.loads((durham_build / "report.json").read_text())
    assert [source["name"] for source in report["sources"]] == ["durham_police", "durham_sheriff"]
    for summary in [*report["inputs"], *report["sources"]]:
        assert summary["rows_read"] == summary["rows_used"] + summary["rows_rejected"] > 0
        assert "duplicate incident id" not in summary["rejected_by_reason"]
    assert not [warning for warning in report["warnings"] if "source" in warning]
    published_totals = _published("violent_counts_blockgroup.csv").fillna(0).sum()
    assert report["violent_by_year"] == {str(y): int(published_totals[f"y_{y}"]) for y in YEARS}
    non_violent = sum(sum(offenses.values()) for category, offenses in report["categories"].items() if category != "violent")
    assert non_violent > sum(report["violent_by_year"].values())


def test_manifest_describes_layers_and_tilesets(durham_build):
    manifest = json.loads((durham_build / "manifest.json").read_text())
    assert manifest["years"] == YEARS
    assert set(manifest["layers"]) == {"blockgroups", "tracts", "neighborhoods", "hex6", "hex7", "hex8", "hex9"}
    assert {name: spec["feature_count"] for name, spec in manifest["layers"].items() if spec["kind"] == "boundary"} == {
        "blockgroups": 153,
        "tracts": 60,
        "neighborhoods": 237,
    }
    hex_bands = [(b["layer"], b["minzoom"], b["maxzoom"]) for b in manifest["tilesets"]["hex"]["bands"]]
    assert hex_bands == [("hex6", 0, 9), ("hex7", 10, 11), ("hex8", 12, 13), ("hex9", 14, 14)]
    for spec in manifest["layers"].values():
        breaks = spec["class_breaks"]["values"]
        assert breaks == sorted(breaks) and len(breaks) >= 3 and breaks[0] > 0
    west, south, east, north = manifest["bounds"]
    assert -79.2 < west < east < -78.5 and 35.6 < south < north < 36.4  # the county plus its edge hex cells


@pytest.mark.parametrize("resolution", [6, 7, 8, 9])
def test_hex_grid_counts_every_violent_incident_once(durham_build, resolution):
    """Every incident in one cell: the published counts and the withheld ones (1 or 2 each under
    the hex grids' floor of 3, or more for a complement: `precompute/nesting.py`) add up to the year's total,
    which the summary publishes."""
    hexes = gpd.read_parquet(durham_build / "layers" / f"hex{resolution}.parquet")
    published_totals = _published("violent_counts_blockgroup.csv").fillna(0).sum()
    totals = [int(published_totals[f"y_{y}"]) for y in YEARS]
    summary = json.loads((durham_build / "summaries" / f"hex{resolution}.json").read_text(encoding="utf-8"))
    assert summary["study_area"]["violent_count"] == totals
    for year, total in zip(YEARS, totals, strict=True):
        withheld = int(hexes[f"suppressed_{year}"].sum())
        assert withheld == int(hexes[f"violent_count_{year}"].isna().sum())
        assert withheld <= total - int(hexes[f"violent_count_{year}"].sum())
    assert hexes["id"].is_unique and (hexes["area_sqmi"] > 0).all()
    county = gpd.read_file(DURHAM_DIR / "blockgroups.geojson").union_all()
    assert hexes.union_all().covers(county.buffer(-1e-6))


def test_the_map_shows_both_sources_incidents(durham_build, durham_incidents):
    """Every block group of the archived zoom-9 tiles, decoded with `crimetiles inspect`, has the
    published counts, which the police export alone falls short of."""
    runner = CliRunner()
    features = {}
    for tile in mercantile.tiles(*gpd.read_file(DURHAM_DIR / "blockgroups.geojson").total_bounds, zooms=9):
        result = runner.invoke(main, ["inspect", str(durham_build), f"9/{tile.x}/{tile.y}", "-t", "blockgroups"])
        assert result.exit_code == 0, result.output
        features |= {f["properties"]["id"]: f["properties"] for f in json.loads(result.stdout)["blockgroups"]["features"]}
    published = _published("violent_counts_blockgroup.csv").fillna(0).astype(int)
    assert sorted(features) == sorted(published.index)
    for year in YEARS:
        assert {geoid: p[f"violent_count_{year}"] for geoid, p in features.items()} == published[f"y_{year}"].to_dict()
    police = pd.read_csv(durham_incidents / "durham_police.csv", dtype=str)
    police_violent = (load_classifier().classify(police["ucr_code"])["category"] == VIOLENT).sum()
    assert police_violent < published.to_numpy().sum()
