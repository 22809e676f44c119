"""The synthetic Durham incidents: real published totals, synthetic but plausible rows."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from precompute.classify import VIOLENT, load_classifier
from precompute.synth import (
    COLUMNS,
    DURHAM_BLOCKGROUPS,
    generate_durham_incidents,
    load_published_counts,
    write_incidents_csv,
)


@pytest.fixture(scope="module")
def incidents(durham_incidents) -> pd.DataFrame:
    return pd.read_csv(durham_incidents, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def located(incidents) -> gpd.GeoDataFrame:
    lat, lon = zip(*(map(float, text.split(", ")) for text in incidents["geo_point_2d"]), strict=True)
    points = gpd.GeoDataFrame(incidents, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    points["category"] = load_classifier().classify(incidents["ucr_code"])["category"].to_numpy()
    return points


def test_schema_is_the_durham_export(incidents):
    assert list(incidents.columns) == COLUMNS
    assert incidents["inci_id"].is_unique
    assert incidents["ucr_code"].str.fullmatch(r"\d{4}").all()
    assert incidents["geo_point_2d"].str.fullmatch(r"-?\d+\.\d{7}, -?\d+\.\d{7}").all()


def test_every_offense_is_classified_and_non_violent_share_is_realistic(located):
    assert located["category"].notna().all()
    violent = (located["category"] == VIOLENT).sum()
    assert 1.6 < (len(located) - violent) / violent < 2.0
    assert set(located["category"]) == {"violent", "property", "drugs", "other"}


def test_violent_points_fall_in_exactly_one_block_group_matching_published_counts(located):
    blockgroups = gpd.read_file(DURHAM_BLOCKGROUPS)
    violent = located[located["category"] == VIOLENT]
    pairs = gpd.sjoin(violent[["date_rept", "geometry"]], blockgroups, predicate="intersects")
    assert pairs.index.is_unique and len(pairs) == len(violent)
    pairs["year"] = pairs["date_rept"].str[:4].astype(int)
    counted = pairs.groupby(["id", "year"]).size().unstack(fill_value=0)
    published = load_published_counts()
    assert (counted.reindex(index=published.index, columns=published.columns, fill_value=0) == published).all().all()


def test_dates_are_plausible(incidents):
    reported = pd.to_datetime(incidents["date_rept"])
    occurred = pd.to_datetime(incidents["date_occu"])
    assert reported.dt.year.between(2012, 2016).all()
    assert ((reported - occurred).dt.days.between(0, 30)).all()
    by_month = reported.dt.month.value_counts()
    assert by_month[7] > by_month[1]  # summer peak


def test_same_seed_same_bytes_other_seed_other_points(tmp_path, durham_incidents):
    again = tmp_path / "again.csv"
    write_incidents_csv(generate_durham_incidents(seed=2016), again)
    assert again.read_bytes() == durham_incidents.read_bytes()
    other = generate_durham_incidents(seed=7)
    assert not np.array_equal(
        other["geo_point_2d"].to_numpy()[:100], pd.read_csv(durham_incidents, dtype=str)["geo_point_2d"].to_numpy()[:100]
    )
