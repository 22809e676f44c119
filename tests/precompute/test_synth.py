"""The synthetic Durham incidents: two agencies' exports, real published totals together,
synthetic but plausible rows."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from crimetiles.cli import main
from crimetiles.precompute.classify import VIOLENT, load_classifier
from crimetiles.precompute.errors import InputError
from crimetiles.precompute.synth import (
    COLUMNS,
    DURHAM_BLOCKGROUPS,
    NON_VIOLENT_OFFENSES,
    SHERIFF_COLUMNS,
    VIOLENT_OFFENSES,
    generate_durham_exports,
    generate_incidents,
    load_published_counts,
    write_exports,
    write_incidents_csv,
)

UTM_17N = "EPSG:32617"


@pytest.fixture(scope="module")
def incidents(durham_incidents: Path) -> pd.DataFrame:
    """The police export as the build reads it: every cell text."""
    return pd.read_csv(durham_incidents / "durham_police.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def sheriff(durham_incidents: Path) -> pd.DataFrame:
    """The sheriff's export as the build reads it: every cell text."""
    return pd.read_csv(durham_incidents / "durham_sheriff.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def both_agencies(incidents: pd.DataFrame, sheriff: pd.DataFrame) -> pd.DataFrame:
    """Every incident of both exports: `geo_point_2d`, `ucr_code`, `date_rept` (ISO) and `agency`."""
    reported = pd.to_datetime(sheriff["Report Date"], format="%m/%d/%Y %H:%M").dt.strftime("%Y-%m-%d")
    point = sheriff["Latitude"] + ", " + sheriff["Longitude"]
    theirs = pd.DataFrame({"geo_point_2d": point, "ucr_code": sheriff["UCR Code"], "date_rept": reported})
    ours = incidents[["geo_point_2d", "ucr_code", "date_rept"]]
    return pd.concat([ours.assign(agency="police"), theirs.assign(agency="sheriff")], ignore_index=True)


@pytest.fixture(scope="module")
def blockgroups() -> gpd.GeoDataFrame:
    return gpd.read_file(DURHAM_BLOCKGROUPS)


def parse_points(frame: pd.DataFrame, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    lat, lon = np.array([text.split(", ") for text in frame["geo_point_2d"]], dtype=float).reshape(-1, 2).T
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=crs)


@pytest.fixture(scope="module")
def located(both_agencies: pd.DataFrame) -> gpd.GeoDataFrame:
    points = parse_points(both_agencies)
    classified = load_classifier().classify(both_agencies["ucr_code"])
    points["category"] = classified["category"].to_numpy()
    points["offense"] = classified["offense"].to_numpy()
    return points


@pytest.fixture(scope="module")
def assigned(located: gpd.GeoDataFrame, blockgroups: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every incident joined to every block group it intersects (edges included)."""
    columns = ["date_rept", "category", "agency", "geometry"]
    return gpd.sjoin(located[columns], blockgroups[["id", "geometry"]], predicate="intersects")


def test_schema_is_the_durham_export(incidents: pd.DataFrame, located: gpd.GeoDataFrame, blockgroups: gpd.GeoDataFrame):
    assert list(incidents.columns) == COLUMNS
    assert incidents["inci_id"].is_unique
    assert incidents["inci_id"].str.fullmatch(r"\d{8,}").all()
    assert incidents["ucr_code"].str.fullmatch(r"\d{4}").all()
    assert set(incidents["ucr_type_o"]) == {"Part I", "Part II"}
    assert incidents["chrgdesc"].str.fullmatch(r"[A-Z][A-Z /,-]+").all()
    assert incidents["geo_point_2d"].str.fullmatch(r"-?\d+\.\d{6,}, -?\d+\.\d{6,}").all()
    west, south, east, north = blockgroups.total_bounds
    assert located.geometry.x.between(west, east).all() and located.geometry.y.between(south, north).all()


def test_the_sheriff_export_has_its_own_layout_and_numbering(incidents: pd.DataFrame, sheriff: pd.DataFrame):
    assert list(sheriff.columns) == SHERIFF_COLUMNS
    assert sheriff["Case Number"].is_unique and set(sheriff["Agency"]) == {"DURHAM COUNTY SHERIFF"}
    assert sheriff["Report Date"].str.fullmatch(r"\d\d/\d\d/20\d\d \d\d:\d\d").all()
    assert sheriff["Latitude"].str.fullmatch(r"3[56]\.\d{7}").all() and sheriff["Longitude"].str.fullmatch(r"-7[89]\.\d{7}").all()
    assert set(sheriff["Case Number"]) <= set(incidents["inci_id"])  # each agency numbers from 1 each year
    assert 0.1 < len(sheriff) / (len(sheriff) + len(incidents)) < 0.3


def test_block_groups_violent_incidents_are_split_between_the_agencies(assigned: gpd.GeoDataFrame):
    """The sheriff's share grows away from the county's centre; most block groups have both."""
    violent = assigned[assigned["category"] == VIOLENT]
    by_agency = violent.groupby(["id", "agency"]).size().unstack(fill_value=0)
    assert ((by_agency["police"] > 0) & (by_agency["sheriff"] > 0)).sum() > 100
    share = by_agency["sheriff"] / by_agency.sum(axis=1)
    assert share.max() > 0.4 and share.min() < 0.1
    centre = (assigned.geometry.x.mean(), assigned.geometry.y.mean())  # the synth's: of every incident
    away = np.hypot(violent.geometry.x - centre[0], violent.geometry.y - centre[1])
    distance = violent.assign(away=away).groupby("id")["away"].mean()
    assert spearmanr(distance[share.index], share).statistic > 0.6  # README: "growing away from the city centre"


def test_offense_tables_classify_as_intended():
    classifier = load_classifier()
    for offense in VIOLENT_OFFENSES:
        assert classifier.rule_for(offense.ucr_code).category == VIOLENT, offense
    for offense in NON_VIOLENT_OFFENSES:
        assert classifier.rule_for(offense.ucr_code).category != VIOLENT, offense


def test_non_violent_share_and_categories(located: gpd.GeoDataFrame):
    assert located["category"].notna().all()
    violent = (located["category"] == VIOLENT).sum()
    assert (len(located) - violent) / violent == pytest.approx(1.8, abs=0.01)
    assert set(located["category"]) == {"violent", "property", "drugs", "other"}


def test_violent_offense_mix_is_realistic(located: gpd.GeoDataFrame):
    mix = located.loc[located["category"] == VIOLENT, "offense"].value_counts()
    sex_offenses = mix["rape"] + mix["sex offense"]
    assert mix["simple assault"] > mix["aggravated assault"] > mix["robbery"] > sex_offenses > mix["homicide"] > 0
    assert mix["homicide"] / mix.sum() < 0.02


def test_violent_counts_per_block_group_and_year_equal_the_published_table(assigned: gpd.GeoDataFrame):
    """Both agencies together; the police alone have fewer."""
    violent = assigned[assigned["category"] == VIOLENT]
    assert (violent["agency"] == "police").sum() < len(violent)
    counted = violent.assign(year=violent["date_rept"].str[:4].astype(int)).groupby(["id", "year"]).size().unstack(fill_value=0)
    published = load_published_counts()
    pd.testing.assert_frame_equal(
        counted.reindex(index=published.index, columns=published.columns, fill_value=0), published, check_names=False
    )


def test_every_point_lies_in_exactly_one_block_group(located: gpd.GeoDataFrame, assigned: gpd.GeoDataFrame):
    assert assigned.index.is_unique and len(assigned) == len(located)


def test_points_are_clustered_not_uniform(located: gpd.GeoDataFrame, blockgroups: gpd.GeoDataFrame):
    """Clark-Evans ratio (mean nearest-neighbour distance over its value for a uniform pattern):
    about 1 for uniform points (a little above, edge effects), well below 1 when clustered."""
    projected = located.to_crs(UTM_17N)
    areas = blockgroups.to_crs(UTM_17N).set_index("id").area
    joined = gpd.sjoin(projected[["geometry"]], blockgroups.to_crs(UTM_17N)[["id", "geometry"]], predicate="within")
    ratios = []
    for geoid, group in joined.groupby("id"):
        if len(group) >= 100:
            points = shapely.points(np.unique(shapely.get_coordinates(group.geometry.to_numpy()), axis=0))
            _, distance = shapely.STRtree(points).query_nearest(points, exclusive=True, return_distance=True, all_matches=False)
            ratios.append(distance.mean() / (0.5 * np.sqrt(areas[geoid] / len(points))))
    assert len(ratios) > 100
    assert np.median(ratios) < 0.85


def test_dates_and_hours_are_consistent_and_plausible(incidents: pd.DataFrame):
    reported = pd.to_datetime(incidents["date_rept"], format="%Y-%m-%d")
    occurred = pd.to_datetime(incidents["date_occu"], format="%Y-%m-%d")
    assert set(reported.dt.year) == set(load_published_counts().columns)
    assert (incidents["yearstamp"].astype(int) == reported.dt.year).all()
    assert (incidents["monthstamp"].astype(int) == reported.dt.month).all()
    assert (incidents["date_fnd"] == incidents["date_occu"]).all()
    lag = (reported - occurred).dt.days
    assert lag.between(0, 7).all() and (lag == 0).mean() > 0.5
    assert (incidents["dow1"] == occurred.dt.day_name()).all() and (incidents["dow2"] == reported.dt.day_name()).all()
    assert (incidents["strdate"] == reported.dt.strftime("%m/%d/%Y")).all()
    hour_occu, hour_rept = incidents["hour_occu"].astype(int), incidents["hour_rept"].astype(int)
    assert hour_occu.between(0, 23).all() and hour_rept.between(0, 23).all()
    assert (hour_rept[lag == 0] >= hour_occu[lag == 0]).all()
    by_hour = hour_occu.value_counts().sort_index()
    assert by_hour.loc[18:22].mean() > 2 * by_hour.loc[3:7].mean()
    by_month = reported.dt.month.value_counts()
    assert by_month[[6, 7, 8]].sum() > 1.15 * by_month[[12, 1, 2]].sum()


def test_same_seed_same_bytes_other_seed_other_points(tmp_path: Path, durham_incidents: Path):
    again = write_exports(generate_durham_exports(seed=2016), tmp_path / "again")
    assert [path.name for path in again] == ["durham_police.csv", "durham_sheriff.csv"]
    assert [path.read_bytes() for path in again] == [(durham_incidents / path.name).read_bytes() for path in again]
    other = generate_durham_exports(seed=7)["durham_police"]
    original = pd.read_csv(durham_incidents / "durham_police.csv", dtype=str)
    assert len(set(other["geo_point_2d"]) & set(original["geo_point_2d"])) == 0


def squares(*corners: tuple[float, float, float]) -> gpd.GeoDataFrame:
    """Hand-made block groups: one square per (west, south, side), degrees, ids "a", "b"..."""
    boxes = [shapely.box(west, south, west + side, south + side) for west, south, side in corners]
    return gpd.GeoDataFrame({"id": list("abcdefgh"[: len(boxes)])}, geometry=boxes, crs="EPSG:4326")


OVERLAPPING = squares((0.0, 0.0, 0.01), (0.01, 0.0, 0.01), (0.005, 0.005, 0.01))
"""a and b share an edge; c overlaps both (a quarter of each)."""


@settings(max_examples=20, deadline=None)
@given(counts=st.lists(st.integers(0, 40), min_size=6, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_hand_made_overlapping_squares_get_exact_counts_outside_overlaps(counts: list[int], seed: int):
    published = pd.DataFrame(np.reshape(counts, (3, 2)), index=pd.Index(["a", "b", "c"], name="id"), columns=[2015, 2016])
    frame = generate_incidents(OVERLAPPING, published, seed=seed, non_violent_ratio=0.5)
    points = parse_points(frame)
    joined = gpd.sjoin(points, OVERLAPPING, predicate="intersects")
    assert joined.index.is_unique and len(joined) == len(frame)
    violent = joined[load_classifier().classify(joined["ucr_code"])["category"] == VIOLENT]
    counted = violent.groupby(["id", violent["date_rept"].str[:4].astype(int)]).size()
    for (geoid, year), expected in published.stack().items():
        assert counted.get((geoid, year), 0) == expected


def test_a_block_group_with_no_area_of_its_own_fails_only_if_it_has_incidents():
    covered = squares((0.0, 0.0, 0.01), (0.002, 0.002, 0.005))
    ids = pd.Index(["a", "b"], name="id")
    generate_incidents(covered, pd.DataFrame({2016: [5, 0]}, index=ids))
    with pytest.raises(InputError, match="block group b has published incidents but no area"):
        generate_incidents(covered, pd.DataFrame({2016: [5, 1]}, index=ids))


def test_a_published_block_group_missing_from_the_boundaries_fails():
    with pytest.raises(InputError, match="missing, e.g. z"):
        generate_incidents(squares((0.0, 0.0, 0.01)), pd.DataFrame({2016: [1, 1]}, index=pd.Index(["a", "z"], name="id")))


def test_published_counts_are_wide_and_empty_cells_are_zero(tmp_path: Path):
    path = tmp_path / "counts.csv"
    path.write_text("id,y_2015,y_2016\n012,3,\n013,,7\n")
    counts = load_published_counts(path)
    assert counts.index.tolist() == ["012", "013"] and counts.columns.tolist() == [2015, 2016]
    assert counts.to_numpy().tolist() == [[3, 0], [0, 7]] and (counts.dtypes == "int64").all()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id,y_2016\n012,-1\n", "non-negative integers"),
        ("id,y_2016\n012,2.5\n", "non-negative integers"),
        ("geoid,2016\n1,1\n", "need an `id`"),
    ],
)
def test_bad_published_counts_are_input_errors(tmp_path: Path, text: str, reason: str):
    path = tmp_path / "counts.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(reason)):
        load_published_counts(path)


def test_writing_is_atomic(tmp_path: Path):
    path = tmp_path / "incidents.csv"
    write_incidents_csv(pd.DataFrame({"inci_id": ["1"], "chrgdesc": ["ARSON"]}), path)
    before = path.read_bytes()
    unencodable = ["ARSON"] * 99_999 + ["\ud800"]  # a lone surrogate: UTF-8 fails on the last row
    unwritable = pd.DataFrame({"inci_id": [str(i) for i in range(100_000)], "chrgdesc": unencodable}, dtype=object)
    with pytest.raises(UnicodeEncodeError):
        write_incidents_csv(unwritable, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


def test_the_synth_command_writes_both_exports_into_its_folder(tmp_path: Path, durham_incidents: Path):
    out = tmp_path / "demo" / "incidents"
    result = CliRunner().invoke(main, ["synth", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["durham_police.csv", "durham_sheriff.csv"]
    for name in ("durham_police.csv", "durham_sheriff.csv"):
        assert (out / name).read_bytes() == (durham_incidents / name).read_bytes()
    rows = [len(pd.read_csv(out / name)) for name in ("durham_police.csv", "durham_sheriff.csv")]
    assert result.stderr.splitlines() == [
        f"wrote {rows[0]} synthetic incidents to {out / 'durham_police.csv'}",
        f"wrote {rows[1]} synthetic incidents to {out / 'durham_sheriff.csv'}",
    ]


def test_the_synth_command_refuses_a_file_name(tmp_path: Path):
    result = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "incidents.csv")])
    assert result.exit_code == 2
    assert f"Invalid value for --out: {tmp_path / 'incidents.csv'}: a folder, not a file" in result.stderr
    assert list(tmp_path.iterdir()) == []
