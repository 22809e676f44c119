"""Study years follow the data: a 2018 export whose dates reach back to 1920 maps 2017-2018, not 99
years, and every row dated outside them is rejected, counted and named in one warning."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from crimetiles.precompute.years import StudyYears, describe_span, study_span
from crimetiles.server.app import create_app
from crimetiles.server.config import ServerConfig

POINT = "36.06801, -78.94134"
"""Inside block group 370630017074 (every row of the export, so its density is exact)."""
BLOCKGROUP = "370630017074"
STRAY_ROWS = {1920: 1, 1977: 1, 1992: 2, 2003: 1, 2016: 2}
"""Late reports of old incidents and typed years, each under 1 % of the rows."""
STUDY_ROWS = {2017: 12, 2018: 300}


@pytest.mark.parametrize(
    ("year_rows", "span"),
    [
        ({2017: 12, 2018: 300, 1920: 1, 1977: 1, 1992: 2, 2003: 1, 2016: 2}, range(2017, 2019)),
        ({2017: 1, 2018: 99}, range(2017, 2019)),  # exactly 1 % is a real share
        ({2017: 1, 2018: 100}, range(2018, 2019)),  # under 1 %, even next to the study years
        ({2018: 50, 2020: 50}, range(2018, 2021)),  # one gap year inside the span
        ({2014: 50, 2015: 2, 2016: 50, 2017: 50, 2019: 50}, range(2014, 2018)),  # a second gap: the span with more rows
        ({2016: 50, 2018: 50, 2020: 50}, range(2018, 2021)),  # as many rows on either side: the latest
        ({2003: 20, 2017: 500, 2018: 480}, range(2017, 2019)),  # a common year far away: the span with the most rows
        ({year: 1 for year in range(1900, 2100)}, range(1900, 2100)),  # no year holds 1 %: every year
        ({}, range(0)),
    ],
)
def test_study_span(year_rows, span):
    assert study_span(year_rows) == span


def test_describe_span():
    assert (describe_span(range(2017, 2019)), describe_span(range(2018, 2019))) == ("2017-2018", "2018")


def test_warning_names_rows_and_years_only_for_years_chosen_from_the_data():
    rejected = {year: 1 for year in range(1990, 2002)}
    assert StudyYears(range(2017, 2019), from_data=True).rejected_warning(rejected) == [
        "12 rows dated 1990, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999 and 2 more, outside the study "
        "years 2017-2018, rejected; pass --years to keep them"
    ]
    assert StudyYears(range(2017, 2019), from_data=False).rejected_warning(rejected) == []


def _export_2018(path):
    """A 2018 export as portals publish it: report dates with times, most in 2018, a few in 2017,
    and the stray old dates of `STRAY_ROWS` scattered among them."""
    dates = [f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:15:00" for i in range(STUDY_ROWS[2018])]
    dates[::25] = [f"2017-12-{20 + i % 10}T08:00:00" for i in range(STUDY_ROWS[2017])]
    dates += [f"2018-06-{10 + i}T09:00:00" for i in range(STUDY_ROWS[2017])]  # the 2018 rows replaced
    strays = [f"{year}-05-04T09:30:00" for year, rows in STRAY_ROWS.items() for _ in range(rows)]
    for i, stray in enumerate(strays):
        dates.insert(7 + 40 * i, stray)
    lines = ["inci_id,date_rept,ucr_code,geo_point_2d"]
    lines += [f'{100000 + i},{date},0810,"{POINT}"' for i, date in enumerate(dates)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [(i + 1, int(date[:4])) for i, date in enumerate(dates)]


@pytest.fixture
def export_2018(tmp_path):
    path = tmp_path / "export_2018.csv"
    return path, _export_2018(path)


def test_stray_old_dates_leave_the_study_years_to_the_data(build_cli, export_2018):
    path, rows = export_2018
    build = build_cli(path)
    assert build.exit_code == 0, build.stderr
    lines = build.stderr.splitlines()
    assert lines.count("study years 2017-2018 (from the data; --years to choose)") == 1
    manifest = json.loads((build.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["years"] == [2017, 2018]

    stray = [(row, year) for row, year in rows if year not in STUDY_ROWS]
    rejects = build.rejects
    assert rejects[["row", "reason", "detail"]].values.tolist() == [
        [str(row), "year outside the study years", str(year)] for row, year in stray
    ]
    (summary,) = build.report["inputs"]
    assert summary["rejected_by_reason"] == {"year outside the study years": sum(STRAY_ROWS.values())}
    assert summary["rows_read"] == len(rows) == summary["rows_used"] + summary["rows_rejected"]

    warning = "7 rows dated 1920, 1977, 1992, 2003, 2016, outside the study years 2017-2018, rejected; pass --years to keep them"
    assert build.report["warnings"] == [warning]
    assert [line for line in lines if line.startswith("warning:")] == [f"warning: {warning}"]

    assert build.report["average_years"] == 2
    layer = gpd.read_parquet(build.out / "layers" / "blockgroups.parquet").set_index("id").loc[BLOCKGROUP]
    total = sum(STUDY_ROWS.values())
    assert (layer["violent_count"], layer["violent_count_2017"], layer["violent_count_2018"]) == (total, 12, 300)
    assert layer["violent_per_sqmi"] == round(total / 2 / layer["area_sqmi"], 3)


def test_the_page_offers_the_study_years(build_cli, export_2018):
    """The page's year switch lists the catalog's years; its summaries average over the study years."""
    build = build_cli(export_2018[0])
    client = create_app(ServerConfig(build_dir=build.out, reload_interval=0)).test_client()
    assert client.get("/tiles").get_json()["years"] == [2017, 2018]
    summary = client.get("/summaries/blockgroups.json").get_json()
    assert (summary["years"], summary["average_years"]) == ([2017, 2018], 2)


def test_years_option_keeps_the_stray_years_out_with_its_own_reason(build_cli, export_2018):
    build = build_cli(export_2018[0], "--years", "2016-2018")
    (summary,) = build.report["inputs"]
    assert summary["rejected_by_reason"] == {"year outside --years": 5}
    assert (build.report["warnings"], build.report["average_years"]) == ([], 3)
    assert "study years" not in build.stderr
