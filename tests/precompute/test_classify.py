"""Offense classification: the three built-in rule sets on real-world values, the choice of a set
per export, the judgement calls and their overrides, `crimetiles offenses` and its template."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from crimetiles.cli import main
from crimetiles.precompute.classify import (
    BUILTIN_RULE_SETS,
    MIN_MATCH_RATE,
    VIOLENT,
    ClassifierChoice,
    OffenseTally,
    best_rule_set,
    builtin_classifier,
    choose_classifier,
    exact_pattern,
    load_classifier,
    offense_counts,
    rate_classifiers,
    template_text,
)
from crimetiles.precompute.detect import OFFENSE_NAMES, detect_offense_column
from crimetiles.precompute.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "tests" / "fixtures" / "exports"
EXPECTED = json.loads((EXPORTS / "expected.json").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
CRIMETILES = [sys.executable, "-m", "crimetiles"]


def read_export(name: str) -> pd.DataFrame:
    """A fixture export as text columns (`;` or `,` sniffed, BOM dropped)."""
    return pd.read_csv(EXPORTS / name, sep=None, engine="python", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def category_and_offense(rule_set: str, value: str) -> tuple[str, str] | None:
    rule = builtin_classifier(rule_set).rule_for(value)
    return (rule.category, rule.offense) if rule else None


# --- ucr -----------------------------------------------------------------------------------------

UCR_VALUES = [
    ("0110", "violent", "homicide"),
    ("0210", "violent", "rape"),
    ("0310", "violent", "robbery"),
    ("0440", "violent", "aggravated assault"),
    ("0810", "violent", "simple assault"),
    ("810", "violent", "simple assault"),
    (" 0820 ", "violent", "simple assault"),
    ("1710", "violent", "sex offense"),
    ("2010", "violent", "child abuse"),
    ("2610", "violent", "kidnapping"),
    ("0510", "property", "burglary"),
    ("0690", "property", "larceny"),
    ("0710", "property", "motor vehicle theft"),
    ("1410", "property", "vandalism"),
    ("1810", "drugs", "drug offense"),
    ("2020", "other", "offense against family (non-violent)"),
    ("2620", "other", "all other offenses"),
]


@pytest.mark.parametrize(("value", "category", "offense"), UCR_VALUES)
def test_ucr_rules_classify_durham_codes(value, category, offense):
    assert category_and_offense("ucr", value) == (category, offense)


@pytest.mark.parametrize("value", ["9999", "13B", "ASSAULT", "08100", ""])
def test_ucr_rules_know_no_other_values(value):
    assert category_and_offense("ucr", value) is None


# --- nibrs ---------------------------------------------------------------------------------------

NIBRS_CODES = {
    "violent": "09A 100 11A 11B 11C 11D 120 13A 13B 13C 36A 36B",
    "property": "200 210 220 23A 23B 23C 23D 23E 23F 23G 23H 240 250 26A 26B 26C 26D 26E 26F 26G 26H 270 280 290 510 90A",
    "drugs": "35A 35B",
    "other": "09B 64A 64B 370 39A 39B 39C 39D 40A 40B 40C 520 521 522 526 720 30A 30B 30C 30D 49A 49B 49C 58A 58B "
    "61A 61B 620 101 103 360 90B 90C 90D 90E 90F 90G 90H 90J 90K 90L 90M 90Z",
    "not a crime": "09C 90I",
}


@pytest.mark.parametrize(
    ("code", "category"), [(code, category) for category, codes in NIBRS_CODES.items() for code in codes.split()]
)
def test_every_nibrs_code_has_its_category(code, category):
    rule = builtin_classifier("nibrs").rule_for(code)
    assert rule is not None and rule.category == category


NIBRS_VARIANTS = [
    ("13b", "violent", "simple assault"),
    (" 13B ", "violent", "simple assault"),
    ("9A", "violent", "homicide"),
    ("09a", "violent", "homicide"),
    ("13B - Simple Assault", "violent", "simple assault"),
    ("13A Aggravated assault", "violent", "aggravated assault"),
    ("120: Robbery", "violent", "robbery"),
    ("23F/Theft From Motor Vehicle", "property", "theft from motor vehicle"),
    ("9C", "not a crime", "justifiable homicide"),
]


@pytest.mark.parametrize(("value", "category", "offense"), NIBRS_VARIANTS)
def test_nibrs_codes_as_exports_write_them(value, category, offense):
    assert category_and_offense("nibrs", value) == (category, offense)


@pytest.mark.parametrize("value", ["120.10", "1200", "13", "13 B", "999", "0810", "SIMPLE ASSAULT"])
def test_nibrs_rules_know_no_other_values(value):
    assert category_and_offense("nibrs", value) is None


# --- text ----------------------------------------------------------------------------------------

TEXT_VALUES = [  # (where the wording comes from, value, category, offense)
    ("Durham", "SIMPLE ASSAULT (PHYSICAL ASSAULT NOT AGGRAVATED)", "violent", "simple assault"),
    ("Durham", "ASSAULT - SIMPLE", "violent", "simple assault"),
    ("Durham", "AGGRAVATED ASSAULT", "violent", "aggravated assault"),
    ("Durham", "ROBBERY - INDIVIDUAL", "violent", "robbery"),
    ("Durham", "ROBBERY - BUSINESS", "violent", "robbery"),
    ("Durham", "LARCENY - FROM MOTOR VEHICLE", "property", "theft from motor vehicle"),
    ("Durham", "TOWED/ABANDONED VEHICLE", "not a crime", "towed or abandoned vehicle"),
    ("Durham", "ASSAULT ON FEMALE", "violent", "simple assault"),
    ("Durham", "HOMICIDE - MURDER", "violent", "homicide"),
    ("Durham", "CHILD ABUSE", "violent", "child abuse"),
    ("North Carolina", "AWDW WITH INTENT TO KILL INFLICTING SERIOUS INJURY", "violent", "aggravated assault"),
    ("North Carolina", "COMMUNICATING THREATS", "violent", "intimidation"),
    ("North Carolina", "INDECENT LIBERTIES WITH A CHILD", "violent", "sex offense"),
    ("North Carolina", "BREAKING AND/OR ENTERING", "property", "burglary"),
    ("Raleigh", "Assault/Simple", "violent", "simple assault"),
    ("Raleigh", "Assault/Aggravated", "violent", "aggravated assault"),
    ("Raleigh", "Robbery/Individual", "violent", "robbery"),
    ("Raleigh", "Larceny/From Motor Vehicle", "property", "theft from motor vehicle"),
    ("Raleigh", "Juvenile/Runaway", "not a crime", "runaway"),
    ("Raleigh", "Miscellaneous/All Other Offenses", "other", "all other offenses"),
    ("Raleigh", "Miscellaneous/Missing Person", "not a crime", "missing person"),
    ("Raleigh", "Misc/Deceased Person", "not a crime", "death investigation"),
    ("Raleigh", "Juvenile/Child Abuse or Neglect", "violent", "child abuse"),
    ("Seattle", "Simple Assault", "violent", "simple assault"),
    ("Seattle", "Intimidation", "violent", "intimidation"),
    ("Seattle", "Murder & Nonnegligent Manslaughter", "violent", "homicide"),
    ("Seattle", "Negligent Manslaughter", "other", "negligent manslaughter"),
    ("Seattle", "Justifiable Homicide", "not a crime", "justifiable homicide"),
    ("Seattle", "Fondling", "violent", "fondling"),
    ("Seattle", "Sexual Assault With An Object", "violent", "sexual assault with an object"),
    ("Seattle", "Statutory Rape", "violent", "statutory rape"),
    ("Seattle", "Kidnapping/Abduction", "violent", "kidnapping"),
    ("Seattle", "Human Trafficking, Commercial Sex Acts", "other", "human trafficking"),
    ("Seattle", "Family Offenses, Nonviolent", "other", "family offense (non-violent)"),
    ("Seattle", "Operating/Promoting/Assisting Gambling", "other", "gambling"),
    ("Seattle", "ASSAULT OFFENSES", "violent", "assault"),
    ("Chicago", "BATTERY", "violent", "battery"),
    ("Chicago", "ASSAULT", "violent", "assault"),
    ("Chicago", "CRIM SEXUAL ASSAULT", "violent", "rape"),
    ("Chicago", "CRIMINAL SEXUAL ASSAULT", "violent", "rape"),
    ("Chicago", "OFFENSE INVOLVING CHILDREN", "violent", "child abuse"),
    ("Chicago", "STALKING", "violent", "intimidation"),
    ("Chicago", "DECEPTIVE PRACTICE", "property", "fraud"),
    ("Chicago", "NON - CRIMINAL", "not a crime", "non-criminal"),
    ("Chicago", "PUBLIC INDECENCY", "other", "indecent exposure or lewd conduct"),
    ("Chicago", "NARCOTICS", "drugs", "drug offense"),
    ("NYC", "FELONY ASSAULT", "violent", "aggravated assault"),
    ("NYC", "ASSAULT 3 & RELATED OFFENSES", "violent", "simple assault"),
    ("NYC", "MURDER & NON-NEGL. MANSLAUGHTE", "violent", "homicide"),
    ("NYC", "HOMICIDE-NEGLIGENT,UNCLASSIFIE", "other", "negligent manslaughter"),
    ("NYC", "SEX CRIMES", "violent", "sex offense"),
    ("NYC", "KIDNAPPING & RELATED OFFENSES", "violent", "kidnapping"),
    ("NYC", "HARRASSMENT 2", "other", "harassment"),
    ("NYC", "GRAND LARCENY OF MOTOR VEHICLE", "property", "motor vehicle theft"),
    ("NYC", "OFFENSES RELATED TO CHILDREN", "other", "family offense (non-violent)"),
    ("Los Angeles", "BATTERY - SIMPLE ASSAULT", "violent", "simple assault"),
    ("Los Angeles", "ASSAULT WITH DEADLY WEAPON, AGGRAVATED ASSAULT", "violent", "aggravated assault"),
    ("Los Angeles", "INTIMATE PARTNER - SIMPLE ASSAULT", "violent", "simple assault"),
    ("Los Angeles", "CHILD ABUSE (PHYSICAL) - SIMPLE ASSAULT", "violent", "child abuse"),
    ("Los Angeles", "VEHICLE - STOLEN", "property", "motor vehicle theft"),
    ("Los Angeles", "THEFT PLAIN - PETTY ($950 & UNDER)", "property", "larceny"),
    ("Los Angeles", "BURGLARY FROM VEHICLE", "property", "theft from motor vehicle"),
    ("Los Angeles", "THEFT-GRAND ($950.01 & OVER)EXCPT,GUNS,FOWL,LIVESTK,PROD", "property", "larceny"),
    ("Los Angeles", "MANSLAUGHTER, NEGLIGENT", "other", "negligent manslaughter"),
    ("Los Angeles", "SEX OFFENDER REGISTRANT OUT OF COMPLIANCE", "other", "sex offender registration"),
    ("Los Angeles", "CHILD NEGLECT (SEE 300 W.I.C.)", "other", "family offense (non-violent)"),
    ("Los Angeles", "SHOTS FIRED AT INHABITED DWELLING", "other", "weapons"),
    ("Tucson", "SEX OFFENSES/EXPOSURE", "other", "indecent exposure or lewd conduct"),
    ("Tucson", "FALSE ALARM/BUSINESS-HOLD UP", "not a crime", "alarm"),
    ("Tucson", "FIRE/RESIDENTIAL STRUCTURE (FIRE NOT ARSON)", "not a crime", "fire (not arson)"),
    ("Tucson", "TRAFFIC ACCIDENT/INJURY/HIT-AND-RUN/PEDESTRIAN", "other", "hit and run"),
    ("Louisville", "UNSUBSTANTIATED RAPE", "not a crime", "unfounded or report only"),
    ("Louisville", "SHOOTING INVESTIGATION - LMPD INVOLVED", "not a crime", "police-involved incident"),
    ("Memphis", "Theft & Recovery/Passenger Vehicle", "property", "motor vehicle theft"),
    ("any", "ATTEMPTED MURDER", "violent", "aggravated assault"),
    ("any", "DEATH INVESTIGATION", "not a crime", "death investigation"),
    ("any", "FOUND PROPERTY", "not a crime", "lost or found property"),
    ("any", "CALL FOR SERVICE", "not a crime", "call for service"),
    ("any", "  simple   assault ", "violent", "simple assault"),
]


def test_text_table_spans_many_values_and_cities():
    assert len(TEXT_VALUES) >= 40
    assert len({city for city, *_ in TEXT_VALUES}) >= 5


@pytest.mark.parametrize(("city", "value", "category", "offense"), TEXT_VALUES)
def test_text_rules_classify_real_world_wordings(city, value, category, offense):
    assert category_and_offense("text", value) == (category, offense), city


@pytest.mark.parametrize("value", ["RED TAG ISSUED", "CODE 4", "0810", "13B", "UNKNOWN"])
def test_text_rules_know_no_other_values(value):
    assert category_and_offense("text", value) is None


@pytest.mark.parametrize(
    ("rule_set", "value"),
    [
        ("nibrs", "09C"),
        ("nibrs", "9c - Justifiable Homicide"),
        ("text", "Justifiable Homicide"),
        ("text", "JUSTIFIABLE HOMICIDE - POLICE"),
        ("text", "HOMICIDE - JUSTIFIABLE"),
    ],
)
def test_justifiable_homicide_is_never_violent(rule_set, value):
    assert category_and_offense(rule_set, value) == ("not a crime", "justifiable homicide")


# --- rule files, includes and overrides ------------------------------------------------------------


def write_rules(tmp_path: Path, text: str, name: str = "rules.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_custom_line_before_at_nibrs_makes_intimidation_not_violent(tmp_path):
    path = write_rules(tmp_path, "pattern,category,offense\n13C([ :/-].*)?,other,intimidation\n@nibrs\n")
    classifier = load_classifier(path)
    assert classifier.rule_for("13C").category == "other"
    assert classifier.rule_for("13B").category == VIOLENT
    assert len(classifier.rules) == 1 + len(builtin_classifier("nibrs").rules)


def test_a_custom_line_before_at_nibrs_makes_negligent_manslaughter_violent(tmp_path):
    path = write_rules(tmp_path, "pattern,category,offense\n0?9B([ :/-].*)?,violent,negligent manslaughter\n@nibrs\n")
    classifier = load_classifier(path)
    assert (classifier.rule_for("09B").category, builtin_classifier("nibrs").rule_for("09B").category) == (VIOLENT, "other")
    assert classifier.rule_for("23H").category == "property"


def test_a_custom_line_before_at_text_overrides_threats(tmp_path):
    path = write_rules(tmp_path, "pattern,category,offense\n.*THREAT.*,other,threats\n@text\n")
    classifier = load_classifier(path)
    assert classifier.rule_for("Communicating Threats").category == "other"
    assert classifier.rule_for("Assault/Simple").category == VIOLENT


def test_readme_example_custom_file_flips_intimidation(tmp_path):
    (example,) = re.findall(r"```csv\n(.+?)```", README, flags=re.S)
    classifier = load_classifier(write_rules(tmp_path, example))
    assert classifier.rule_for("13C - Intimidation").category == "other"
    assert classifier.rule_for("13A").category == VIOLENT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pattern,category,offense\n# only a comment\n@felony\n", "line 3: unknown rule set '@felony' (built-in sets: @ucr"),
        ("pattern,category,offense\n(unclosed,violent,x\n", "line 2: bad pattern '(unclosed'"),
        ("pattern,category\n1,violent\n", "lacks column(s) offense"),
        ("pattern,category,offense\n13B,violent\n", "line 2: expected pattern,category,offense"),
        ("pattern,category,offense\n13B,property,larceny\n", "has no rule with category 'violent'"),
        ("pattern,category,offense\n520,weapons,weapon law violation\n", "has no rule with category 'violent'"),
        ("# nothing\n\n", "classification file is empty"),
    ],
)
def test_bad_rules_files_are_one_line_errors(tmp_path, text, message):
    path = write_rules(tmp_path, text)
    with pytest.raises(InputError) as error:
        load_classifier(path)
    assert message in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_rules_file_with_bom_crlf_hash_in_a_pattern_and_extra_columns(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_bytes(b"\xef\xbb\xbfpattern,category,offense,note\r\n# comment\r\nCASE \\#5,violent,case five,seen once\r\n")
    assert load_classifier(path).rule_for("case #5").offense == "case five"


def test_a_rule_line_with_a_trailing_comma_keeps_its_three_fields(tmp_path):
    """A spreadsheet saves a rules file with an empty last column on some lines: more fields
    than the header is not an error (fewer is)."""
    path = write_rules(tmp_path, "pattern,category,offense\n13B,violent,simple assault,\n23H,property,larceny,,\n")
    rules = load_classifier(path).rules
    assert [(rule.category, rule.offense) for rule in rules] == [("violent", "simple assault"), ("property", "larceny")]


def test_unreadable_rules_files_are_one_line_errors(tmp_path):
    def error(path: Path) -> str:
        with pytest.raises(InputError) as raised:
            load_classifier(path)
        return str(raised.value)

    assert error(tmp_path / "missing.csv") == f"{tmp_path / 'missing.csv'}: classification file not found"
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("pattern,category,offense\nAGRESI\u00d3N,violent,assault\n".encode("latin-1"))
    assert error(latin1).startswith(f"{latin1}: malformed classification CSV ('utf-8' codec can't decode byte 0xd3")
    assert error(tmp_path) == f"{tmp_path}: cannot read classification file (Is a directory)"


def test_rule_records_cannot_be_changed_by_their_users():
    """A built-in set is read once per process and shared by every caller: none may change it
    under the others."""
    nibrs = builtin_classifier("nibrs")
    assert builtin_classifier("nibrs") is nibrs
    with pytest.raises(dataclasses.FrozenInstanceError):
        nibrs.rules[0].category = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        nibrs.source = "mine.csv"
    tally = OffenseTally.of(pd.Series(["13B"], name="offense"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tally.column = "ucr_code"


# --- choosing a rule set -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_choice_picks_the_right_set_on_each_fixture(name):
    expected = EXPECTED[name]
    offenses = read_export(name)[expected["offense_column"]]
    choice = choose_classifier(offenses, None, [name])
    assert choice.name == expected["rule_set"]
    assert choice.match_rate == expected["matched_rows"] / expected["rows"]
    assert choice.rows == expected["rows"]
    assert list(choice.rates) == ["ucr", "nibrs", "text"]
    assert max(choice.rates.values()) == choice.rates[expected["rule_set"]]
    categories = choice.classifier.classify(offenses)["category"].value_counts().to_dict()
    assert categories == expected["categories"]
    assert categories[VIOLENT] == expected["violent"]


def test_durham_charge_descriptions_give_the_same_categories_as_the_codes():
    export = read_export("ucr_codes.csv")
    choice = choose_classifier(export["CHRGDESC"], None, ["ucr_codes.csv"])
    assert choice.name == "text"
    assert (
        choice.classifier.classify(export["CHRGDESC"])["category"].value_counts().to_dict()
        == (EXPECTED["ucr_codes.csv"]["categories"])
    )


def test_the_choice_as_report_and_console_line():
    choice = choose_classifier(read_export("offense_text.csv")["crime_description"], None, ["offense_text.csv"])
    assert choice.as_report() == {
        "rule_set": "text",
        "rows": 450,
        "match_rate": 0.9889,
        "match_rates": {"ucr": 0.0, "nibrs": 0.0, "text": 0.9889},
    }
    assert choice.summary() == "classification: text, 98.9% of 450 rows matched (ucr 0.0%, nibrs 0.0%, text 98.9%)"


def test_a_named_or_given_set_is_the_only_candidate(tmp_path):
    offenses = pd.Series(["13B", "13B", "13B", "23H", "FOO"])
    assert choose_classifier(offenses, "nibrs").rates == {"nibrs": 0.8}
    assert choose_classifier(offenses, BUILTIN_RULE_SETS["nibrs"]).name == "nibrs"
    custom = write_rules(tmp_path, "pattern,category,offense\nFOO,violent,foo\n@nibrs\n")
    choice = choose_classifier(offenses, custom)
    assert (choice.name, choice.match_rate) == (str(custom), 1.0)
    assert choose_classifier(offenses, str(custom)).name == str(custom)  # as the command line passes it


def test_a_missing_rules_path_is_not_taken_for_a_built_in_set():
    """Whatever the path, only a built-in set's own file stands for it; this one sorts after
    any checkout's data folder ("~" comes after every letter)."""
    with pytest.raises(InputError, match=r"^/~missing/my_offenses\.csv: classification file not found$"):
        choose_classifier(pd.Series(["13B"]), "/~missing/my_offenses.csv")


def test_ties_go_to_ucr_then_nibrs_then_text():
    assert best_rule_set({"ucr": 0.5, "nibrs": 0.5, "text": 0.2}) == "ucr"
    assert best_rule_set({"ucr": 0.1, "nibrs": 0.9, "text": 0.9}) == "nibrs"
    assert best_rule_set({"ucr": 0.0, "nibrs": 0.0, "text": 0.0}) == "ucr"


def test_an_empty_column_is_not_judged():
    choice = choose_classifier(pd.Series([], dtype=str), None, ["empty.csv"])
    assert (choice.name, choice.rows, choice.match_rate) == ("ucr", 0, 0.0)


def test_below_the_minimum_match_rate_the_error_names_the_values_and_the_fix():
    values = ["13B"] * 50 + ["FOO BAR"] * 30 + ["QUUX"] * 15 + [""] * 5
    offenses = pd.Series(values, name="nibrs code")
    with pytest.raises(InputError) as error:
        choose_classifier(offenses, None, ["exports/my incidents.csv"])
    message = str(error.value)
    assert MIN_MATCH_RATE == 0.8
    assert message.startswith("exports/my incidents.csv: only 50.0% of 100 rows have an offense value the nibrs classification")
    assert "below the 80% a meaningful map needs (tried: ucr 0.0%, nibrs 50.0%, text 0.0%)" in message
    assert "most frequent unmatched: 'FOO BAR' x30, 'QUUX' x15, (empty) x5;" in message
    assert "`crimetiles offenses 'exports/my incidents.csv' --offense-col 'nibrs code' --template my_offenses.csv`" in message
    assert message.endswith("then build with --classification my_offenses.csv")
    assert "\n" not in message


def test_the_error_lists_the_five_most_frequent_unmatched_values_empty_ones_included():
    values = [""] * 20 + ["TRAFFIC STOP"] * 6 + ["ALARM"] * 5 + ["WELFARE CHECK"] * 3 + ["NOISE"] * 2 + ["PARKING"]
    with pytest.raises(InputError) as error:
        choose_classifier(pd.Series(values, name="nature"), "ucr", ["calls.csv"])
    message = str(error.value)
    assert message.startswith("calls.csv: only 0.0% of 37 rows have an offense value the ucr classification knows")
    shown = "most frequent unmatched: (empty) x20, 'TRAFFIC STOP' x6, 'ALARM' x5, 'WELFARE CHECK' x3, 'NOISE' x2; write"
    assert shown in message


def test_a_given_set_below_the_minimum_is_refused_too():
    with pytest.raises(InputError, match=r"only 0\.0% of 2 rows have an offense value the ucr classification knows"):
        choose_classifier(pd.Series(["13B", "13A"]), "ucr", ["nibrs.csv"])


# --- crimetiles offenses -------------------------------------------------------------------------


def run_offenses(*args: str) -> Result:
    """`crimetiles offenses ARGS` in this process (one test runs it as a real subprocess)."""
    return CliRunner().invoke(main, ["offenses", *args])


def test_offenses_lists_values_counts_and_categories(tmp_path):
    result = subprocess.run(
        [*CRIMETILES, "offenses", str(EXPORTS / "offense_text.csv")], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["value", "rows", "ucr", "nibrs", "text"]
    export = read_export("offense_text.csv")
    counts = export["crime_description"][export["crime_description"] != ""].value_counts()
    rows = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line)[1:] for line in lines[1:]}
    assert rows["SIMPLE ASSAULT (PHYSICAL ASSAULT NOT AGGRAVATED)"] == [
        str(counts["SIMPLE ASSAULT (PHYSICAL ASSAULT NOT AGGRAVATED)"]),
        "-",
        "-",
        "violent: simple assault",
    ]
    assert rows["RED TAG ISSUED"] == ["2", "-", "-", "-"]
    assert rows["TOWED/ABANDONED VEHICLE"][-1] == "not a crime: towed or abandoned vehicle"
    assert len(rows) == counts.size
    assert sum(int(cells[0]) for cells in rows.values()) == EXPECTED["offense_text.csv"]["rows"] - 2
    assert f"offense column crime_description, {EXPECTED['offense_text.csv']['rows']} rows" in result.stderr
    assert "classification: text, 98.9% of 450 rows matched (ucr 0.0%, nibrs 0.0%, text 98.9%)" in result.stderr


def test_offenses_reads_an_excel_style_export_and_finds_its_upper_case_column(tmp_path):
    result = run_offenses(str(EXPORTS / "ucr_codes.csv"))
    assert result.exit_code == 0, result.output
    assert "offense column UCR_CODE, 400 rows" in result.stderr
    assert re.search(r"^810\s+3\s+violent: simple assault\s+-\s+-$", result.stdout, flags=re.M)


@pytest.mark.parametrize("name", ["offense_text.csv", "ucr_codes.csv"])
def test_template_round_trip_classifies_every_value_of_the_file(tmp_path, name):
    expected = EXPECTED[name]
    template = tmp_path / "my_offenses.csv"
    result = run_offenses(str(EXPORTS / name), "--template", str(template))
    assert result.exit_code == 0, result.output
    assert f"wrote {template}" in result.stderr
    offenses = read_export(name)[expected["offense_column"]]
    choice = choose_classifier(offenses, template, [name])
    assert choice.match_rate == (expected["rows"] - expected["empty_offense"]) / expected["rows"]
    classified = choice.classifier.classify(offenses)
    assert classified["category"].isna().sum() == expected["empty_offense"]
    guessed = builtin_classifier(expected["rule_set"]).classify(offenses)
    known = guessed["category"].notna()
    assert classified[known].astype(object).equals(guessed[known].astype(object))
    unknown = offenses[~known & (offenses != "")]
    assert set(classified.loc[unknown.index, "category"]) == {"unclassified"}
    assert sum(expected["unknown_values"].values()) == len(unknown)
    lines = [line for line in template.read_text(encoding="utf-8").splitlines() if not line.startswith(("#", "@"))]
    rules = list(csv.DictReader(lines))
    assert sum(int(rule["rows"]) for rule in rules) == expected["rows"] - expected["empty_offense"]
    assert template.read_text(encoding="utf-8").endswith(f"@{expected['rule_set']}\n")


def test_a_filled_in_template_counts_the_values_as_chosen(tmp_path):
    template = tmp_path / "my_offenses.csv"
    assert run_offenses(str(EXPORTS / "offense_text.csv"), "--template", str(template)).exit_code == 0
    edited = template.read_text(encoding="utf-8").replace("RED TAG ISSUED,unclassified,", "RED TAG ISSUED,violent,")
    template.write_text(edited, encoding="utf-8")
    offenses = read_export("offense_text.csv")["crime_description"]
    violent = (load_classifier(template).classify(offenses)["category"] == VIOLENT).sum()
    assert violent == EXPECTED["offense_text.csv"]["violent"] + EXPECTED["offense_text.csv"]["unknown_values"]["RED TAG ISSUED"]


def test_offenses_without_a_known_column_lists_the_columns(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("id,nature,lat,lon\n1,NOISE,36.0,-78.9\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["offenses", str(path)])
    assert result.exit_code == 1
    assert "no offense column found (looked for ucr_code, nibrs_code, nibrs_offense_code, offense_code" in result.stderr
    assert "or one name holding charge, chrgdesc, crime, crm, nibrs, offence, offense, ofns, ucr)" in result.stderr
    assert "columns: id, nature, lat, lon; pass --offense-col" in result.stderr
    assert "Traceback" not in result.stderr
    assert CliRunner().invoke(main, ["offenses", str(path), "--offense-col", "nature"]).exit_code == 0


def test_offense_column_names_are_matched_without_case_or_punctuation():
    def column(path: str, names: list[str]) -> str:
        return detect_offense_column(Path(path), pd.DataFrame({name: ["x"] for name in names}))

    assert column("la.csv", ["DR_NO", "Crm Cd", "Crm Cd Desc", "LAT"]) == "Crm Cd Desc"
    assert column("durham.csv", ["chrgdesc", "UCR_CODE"]) == "UCR_CODE"
    assert column("chicago.csv", ["ID", "Description", "Primary Type"]) == "Primary Type"


def test_offenses_reads_the_column_the_build_reads(tmp_path):
    """A file with both a UCR code and an offense text: `crimetiles offenses` lists the codes,
    the column `crimetiles build` classifies (ucr_code comes before offense)."""
    path = tmp_path / "both.csv"
    path.write_text(
        "inci_id;date_rept;geo_point_2d;offense;ucr_code\r\n"
        "1;2016-03-01;35.99, -78.90;SIMPLE ASSAULT;810\r\n"
        "2;2016-03-02;35.99, -78.90;ROBBERY;300\r\n",
        encoding="utf-8",
    )
    result = run_offenses(str(path))
    assert result.exit_code == 0, result.output
    assert "offense column ucr_code, 2 rows" in result.stderr
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == {"810", "300"}
    build = subprocess.run(
        [*CRIMETILES, "build", str(path), "--out", str(tmp_path / "build"), "--hex-res", "6"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    report = json.loads((tmp_path / "build" / "report.json").read_text(encoding="utf-8"))
    assert report["inputs"][0]["columns"]["offense"] == "ucr_code"


def test_exact_patterns_of_values_that_look_like_comments_or_includes_load(tmp_path):
    values = ["#2 ASSAULT", "@nibrs", "A,B (C)"]
    rows = "".join(f'"{exact_pattern(value)}",violent,{index}\n' for index, value in enumerate(values))
    classifier = load_classifier(write_rules(tmp_path, "pattern,category,offense\n" + rows))
    assert [classifier.rule_for(value).offense for value in values] == ["0", "1", "2"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_an_exact_pattern_matches_its_value_and_nothing_longer(value):
    pattern = re.compile(exact_pattern(value), re.IGNORECASE)
    assert pattern.fullmatch(value)
    assert not pattern.fullmatch(value + "x")


# --- build -------------------------------------------------------------------------------------------


def test_build_takes_a_built_in_set_by_name(tmp_path):
    square = tmp_path / "square.geojson"
    gpd.GeoDataFrame({"id": ["sq"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326").to_file(square)
    incidents = tmp_path / "nibrs.csv"
    incidents.write_text("id,date,code,lat,lon\n1,2020-01-02,13B,0.5,0.5\n2,2020-01-03,23H,0.5,0.5\n3,2020-01-04,09C,0.5,0.5\n")
    args = ["build", str(incidents), "-b", f"square={square}", "--hex-res", "", "--archive-maxzoom", "-1", "-q"]
    args += ["--id-col", "id", "--date-col", "date", "--offense-col", "code", "--lat-col", "lat", "--lon-col", "lon"]
    result = CliRunner().invoke(main, [*args, "--classification", "nibrs", "--out", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    categories = json.loads((tmp_path / "build" / "report.json").read_text())["categories"]
    assert categories["violent"]["simple assault"] == 1
    assert categories["property"]["larceny"] == 1
    assert categories["not a crime"]["justifiable homicide"] == 1
    refused = CliRunner().invoke(main, [*args, "--classification", "felony", "--out", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "'felony': not a built-in rule set (ucr, nibrs, text) nor a file" in refused.output


# --- fixtures and docs -------------------------------------------------------------------------------


def test_fixtures_are_the_generators_output(tmp_path):
    subprocess.run([sys.executable, str(EXPORTS / "make_exports.py"), str(tmp_path)], check=True)
    for name in ["ucr_codes.csv", "nibrs_codes.csv", "offense_text.csv", "expected.json"]:
        assert (tmp_path / name).read_bytes() == (EXPORTS / name).read_bytes(), name


def test_fixtures_look_like_real_exports():
    ucr = (EXPORTS / "ucr_codes.csv").read_bytes()
    assert ucr.startswith(b"\xef\xbb\xbfINCI_ID,DATE_REPT,UCR_CODE,") and ucr.count(b"\r\n") == 401
    assert (EXPORTS / "nibrs_codes.csv").read_text().startswith("case_number;report_date;nibrs_code;lat;lon\n")
    text = read_export("offense_text.csv")
    assert (text.loc[[10, 11], ["latitude", "longitude"]] == "0").all().all()
    assert text.loc[30, "reported_date"].startswith("1920-") and text.loc[40, "reported_date"].startswith("2099-")
    assert float(text.loc[50, "latitude"]) < -78 and float(text.loc[50, "longitude"]) > 35


def test_fixture_readme_states_the_expected_counts():
    readme = (EXPORTS / "README.md").read_text(encoding="utf-8")
    for name, expected in EXPECTED.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}`"))
        stated = f"{expected['rows']} rows, rule set `{expected['rule_set']}`, {expected['matched_rows']} rows matched, "
        assert stated + f"{expected['violent']} violent" in row


def test_readme_documents_the_offenses_command():
    section = README.split("### Offense classification", 1)[1].split("\n### ", 1)[0]
    for option in main.commands["offenses"].params:
        if option.name != "incidents":
            assert f"--{option.name.replace('_', '-')}" in section, option.name
    assert "crimetiles offenses incidents.csv --template my_offenses.csv" in section
    for name in OFFENSE_NAMES:
        assert f"`{name}`" in section, name
    for name in BUILTIN_RULE_SETS:
        assert f"`@{name}`" in section and f"offenses_{name}.csv" in README
    assert "--classification\n  ucr|nibrs|text|PATH" in README


def test_rate_classifiers_never_raises():
    choice = rate_classifiers(pd.Series(["NOTHING KNOWN"] * 3))
    assert (choice.name, choice.match_rate) == ("ucr", 0.0)


def test_a_single_candidate_console_line_lists_no_other_rates():
    choice = choose_classifier(pd.Series(["13B", "13B", "23H", "120", "9999"]), "nibrs")
    assert choice.summary() == "classification: nibrs, 80.0% of 5 rows matched"
    two = ClassifierChoice(choice.classifier, "nibrs", 0.8, {"nibrs": 0.8, "mine.csv": 0.5}, 5)
    assert two.summary() == "classification: nibrs, 80.0% of 5 rows matched (nibrs 80.0%, mine.csv 50.0%)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.name = "nibrs"  # a record handed from the build to its report: never changed on the way


def test_tallies_of_two_files_add_up_and_keep_a_shared_column_name():
    first = OffenseTally.of(pd.Series(["13B", "Robbery", None, "13B"], name="offense"))
    second = OffenseTally.of(pd.Series(["ROBBERY", "  robbery ", "23H"], name="offense"))
    both = first.plus(second)
    assert both.column == "offense" and both.rows == 7
    assert both.counts().to_dict() == {"ROBBERY": 3, "13B": 2, "23H": 1}  # one row of ""; case merged
    other = OffenseTally.of(pd.Series(["13B"], name="ucr_code"))
    assert first.plus(other).column is None and first.plus(other).counts().to_dict() == {"13B": 3, "Robbery": 1}
    assert other.plus(first).column is None
    assert OffenseTally(pd.Series({"13B": 0, "23H": 2}, dtype="int64")).counts().to_dict() == {"23H": 2}


def test_template_counts_the_rows_without_an_offense_value():
    offenses = pd.Series(["13B", "13B", "23H", None, "", "  "], name="ucr_code")
    text = template_text(offenses, rate_classifiers(offenses, "ucr"), "test.csv column ucr_code")
    assert "\n# 3 rows have no offense value; the build rejects them as unknown offenses.\n" in text
    assert template_text(offenses[:3], rate_classifiers(offenses[:3], "ucr"), "x").count("no offense value") == 0


def test_tallies_of_two_files_read_from_disk_keep_their_shared_column_name(tmp_path):
    """Each file's header is read into its own string: the same name from two files is kept."""
    for name, rows in [("2019.csv", "1,13B\n"), ("2020.csv", "2,23H\n")]:
        (tmp_path / name).write_text("id,nibrs_code\n" + rows, encoding="utf-8")
    tallies = [OffenseTally.of(pd.read_csv(tmp_path / name, dtype=str)["nibrs_code"]) for name in ["2019.csv", "2020.csv"]]
    assert tallies[0].plus(tallies[1]).column == "nibrs_code"


def test_offense_counts_are_most_frequent_first_ties_alphabetical_spelled_as_most_rows_spell_them():
    values = ["23H", "13B", "Robbery", "9999", "robbery ", "Robbery", "23H", "ROBBERY", "13B", "Robbery"]
    counts = offense_counts(pd.Series(values))
    assert list(counts.items()) == [("Robbery", 5), ("13B", 2), ("23H", 2), ("9999", 1)]
