"""Tests of the hand-checked policy files (calendar, programme facts, literature) and their validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from clusterpolicy.data.policy import (
    interreg_exposure,
    load_literature,
    load_policy_calendar,
    load_programmes,
    treatment_cohorts,
)
from clusterpolicy.errors import DataValidationError, UserInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def calendar() -> pd.DataFrame:
    return load_policy_calendar(ROOT)


def _row(cal: pd.DataFrame, nuts2: str, primary: int = 1) -> pd.Series:
    rows = cal[(cal["nuts2"] == nuts2) & (cal["primary"] == primary)]
    assert len(rows) == 1, nuts2
    return rows.iloc[0]


def test_calendar_records_the_dossier_dates(calendar) -> None:
    pie = _row(calendar, "ITC1")
    assert (pie["onset_year"], pie["legal_act_year"]) == (2009, 2008)
    assert "25-8735" in pie["legal_act"]
    lom = _row(calendar, "ITC4")
    assert (lom["onset_year"], lom["legal_act_year"]) == (2014, 2012)
    assert "5981" in lom["legal_act"] and "2239" in lom["legal_act"]
    ven = _row(calendar, "ITH3")
    assert (ven["onset_year"], ven["legal_act_year"]) == (2016, 2014) and "583" in ven["legal_act"]
    fvg = _row(calendar, "ITH4")
    assert (fvg["onset_year"], fvg["first_funding_year"]) == (2015, 2016)
    assert _row(calendar, "ITH5")["onset_year"] == 2017
    assert _row(calendar, "ITH2")["confidence"] == "low"
    assert pd.isna(_row(calendar, "ITH1")["onset_year"])  # no start date found: left empty, not guessed
    assert (calendar["source"].str.len() > 0).all()


def test_common_shock_row(calendar) -> None:
    shock = calendar[calendar["common_shock"] == 1]
    assert list(shock["nuts2"]) == ["IT"]
    assert shock.iloc[0]["onset_year"] == 2012 and shock.iloc[0]["role"] == "common_shock"


def test_interreg_exposure(calendar) -> None:
    exp = interreg_exposure(calendar=calendar)
    clusterix = exp[exp["programme"] == "clusterix2"]
    assert set(clusterix["nuts2"]) >= {"ITH1", "AT12", "HU22", "SE22", "CZ08", "DK03", "FRK1", "RO21"}
    assert (clusterix["start"] == 2016).all() and (clusterix["end"] == 2021).all()
    alp = exp[exp["programme"] == "s3_4alpclusters"]
    assert {"ITC4", "ITH3", "ITH2", "ITC1"} <= set(alp["nuts2"])
    assert (alp["start"] == 2016).all() and (alp["end"] == 2019).all()
    assert list(exp.loc[exp["programme"] == "inkrease", "nuts2"]) == ["ITH5"]
    partners = calendar[calendar["role"] == "interreg_partner"]
    assert (partners["code_uncertain"] == 1).all() and (partners["country"] != "IT").all()


def test_treatment_cohorts_under_each_coding(calendar) -> None:
    onset = treatment_cohorts("onset", calendar=calendar)
    assert onset == {"ITC1": 2009, "ITC4": 2014, "ITF1": 2011, "ITH2": 2013, "ITH3": 2016, "ITH4": 2015,
                     "ITH5": 2017, "ITI1": 2011, "ITI2": 2011}
    legal = treatment_cohorts("legal_act", calendar=calendar)
    assert legal["ITC4"] == 2012 and legal["ITC1"] == 2008 and legal["ITH3"] == 2014
    funding = treatment_cohorts("first_funding", calendar=calendar)
    assert funding["ITH4"] == 2016 and funding["ITI1"] == 2011
    assert set(funding) == set(onset)  # empty first-funding years fall back to onset
    assert treatment_cohorts("first_funding", calendar=calendar, fill_missing="drop") == {"ITH4": 2016,
                                                                                          "ITI1": 2011}
    assert "IT" not in onset and "ITH1" not in onset  # common shock excluded; unknown onset absent


def test_treatment_cohorts_options(calendar) -> None:
    earliest = treatment_cohorts(calendar=calendar, primary_only=False)
    assert earliest["ITH5"] == 2002 and earliest["ITH3"] == 2003
    assert treatment_cohorts(calendar=calendar, min_confidence="high") == {"ITH4": 2015, "ITH5": 2017}
    with pytest.raises(UserInputError, match="coding='start' is not allowed; use one of onset, legal_act"):
        treatment_cohorts("start", calendar=calendar)  # type: ignore[arg-type]


def test_treatment_cohorts_reads_from_project_root() -> None:
    assert treatment_cohorts(root=ROOT)["ITC4"] == 2014


def test_programmes_keep_conflicting_values_with_sources() -> None:
    prog = load_programmes(ROOT)
    events = prog[(prog["programme"] == "ClusteriX 2.0") & prog["fact"].str.startswith("learning_events")]
    planned = events[events["fact"] == "learning_events_planned"].set_index("value")["source"]
    assert set(planned.index) == {"81", "32"}
    assert "kohesio" in planned["81"] and "westpannon" in planned["32"]
    assert events.loc[events["fact"] == "learning_events_held", "value"].tolist() == ["117"]
    alp = prog[prog["programme"] == "S3-4AlpClusters"].set_index("fact")
    assert alp.loc["total_budget", "value"] == "2521964" and alp.loc["erdf_budget", "value"] == "1929500"
    assert alp.loc["lombardy_budget", "verified"] == "no"
    assert {"ClusteriX 2.0", "S3-4AlpClusters", "INKREASE", "Emilia-Romagna Clust-ER",
            "Lombardy technology clusters (CTL)", "Piedmont innovation poles",
            "Veneto Interreg portfolio"} <= set(prog["programme"])


def test_literature_table() -> None:
    lit = load_literature(ROOT)
    assert len(lit) >= 35
    falck = lit[lit["study"].str.startswith("Falck, Heblich") & (lit["year"] == 2010)].iloc[0]
    assert falck["venue"].startswith("Regional Science and Urban Economics")  # not Research Policy (dossier 0.1)
    assert set(lit["collaboration_outcome"]) == {"yes", "no"}
    assert lit["source_url"].str.startswith("http").all()


# ---------------------------------------------------------------------------------------------------------------
# validation of hand edits


@pytest.fixture()
def policy_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data" / "policy", tmp_path / "data" / "policy")
    return tmp_path


def _edit(root: Path, name: str, row: int, column: str, value: str) -> None:
    path = root / "data" / "policy" / name
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row, column] = value
    df.to_csv(path, index=False, lineterminator="\n")


def test_bad_year_is_reported_with_file_column_row_and_fix(policy_copy: Path) -> None:
    _edit(policy_copy, "policy_calendar.csv", 1, "onset_year", "20l4")
    with pytest.raises(DataValidationError,
                       match=r"policy_calendar.csv, column onset_year: row\(s\) 2 are not four-digit years "
                             r"\('20l4'\); write a year") as err:
        load_policy_calendar(policy_copy)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("role", "cluster", r"column role: row\(s\) 1 hold values outside the allowed set \('cluster'\)"),
        ("confidence", "HIGH", r"column confidence: .*use one of low, medium, high"),
        ("nuts2", "itc1", r"column nuts2: row\(s\) 1 are not NUTS codes"),
        ("clusterix2_start", "2016", r"column clusterix2_end: row\(s\) 1 give only one of"),
        ("common_shock", "1", r"column common_shock: row\(s\) 1 disagree with role"),
    ],
)
def test_calendar_rules(policy_copy: Path, column: str, value: str, message: str) -> None:
    _edit(policy_copy, "policy_calendar.csv", 0, column, value)
    with pytest.raises(DataValidationError, match=message):
        load_policy_calendar(policy_copy)


def test_two_primary_policies_for_one_region(policy_copy: Path) -> None:
    cal = pd.read_csv(policy_copy / "data/policy/policy_calendar.csv", dtype=str, keep_default_na=False)
    row = int(cal.index[(cal["nuts2"] == "ITH5") & (cal["primary"] == "0")][0])
    _edit(policy_copy, "policy_calendar.csv", row, "primary", "1")
    with pytest.raises(DataValidationError, match="more than one primary regional policy for the same region"):
        load_policy_calendar(policy_copy)


def test_missing_column_and_missing_file(policy_copy: Path) -> None:
    path = policy_copy / "data/policy/literature.csv"
    pd.read_csv(path, dtype=str).drop(columns=["source_url"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"literature.csv lacks column\(s\) source_url"):
        load_literature(policy_copy)
    (policy_copy / "data/policy/programmes.csv").unlink()
    with pytest.raises(UserInputError, match="programmes.csv is missing; restore it from git"):
        load_programmes(policy_copy)


def test_literature_and_programme_rules(policy_copy: Path) -> None:
    _edit(policy_copy, "literature.csv", 3, "collaboration_outcome", "maybe")
    with pytest.raises(DataValidationError, match=r"literature.csv, column collaboration_outcome: row\(s\) 4"):
        load_literature(policy_copy)
    _edit(policy_copy, "programmes.csv", 0, "source", "")
    with pytest.raises(DataValidationError, match=r"programmes.csv, column source: row\(s\) 1 are empty"):
        load_programmes(policy_copy)
