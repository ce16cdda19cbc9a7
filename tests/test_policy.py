"""Tests of the hand-checked policy files (calendar, programme facts, literature) and their validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from clusterpolicy.data.calendar import ITALIAN_NUTS2, load_cluster_policies
from clusterpolicy.data.policy import (
    INTERREG,
    fact,
    fact_values,
    interreg_exposure,
    load_literature,
    load_policy_calendar,
    load_programmes,
    short_region_name,
    source_label,
)
from clusterpolicy.errors import DataValidationError, UserInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def calendar() -> pd.DataFrame:
    return load_policy_calendar(ROOT)


def test_old_calendar_holds_no_italian_region(calendar) -> None:
    """Italian policies live in ONE file (cluster_policies.csv): the old calendar keeps only the national common
    shock and the non-Italian Interreg partners."""
    italian = calendar[calendar["country"] == "IT"]
    assert list(italian["nuts2"]) == ["IT"] and list(italian["role"]) == ["common_shock"]
    assert not set(calendar["nuts2"]) & set(ITALIAN_NUTS2)
    assert set(calendar["role"]) == {"common_shock", "interreg_partner"}
    assert (calendar["source"].str.len() > 0).all()
    assert calendar["line"].tolist() == list(range(2, len(calendar) + 2))


def test_common_shock_row(calendar) -> None:
    shock = calendar[calendar["common_shock"] == 1]
    assert list(shock["nuts2"]) == ["IT"]
    assert shock.iloc[0]["onset_year"] == 2012 and shock.iloc[0]["role"] == "common_shock"


def test_interreg_exposure(calendar) -> None:
    exp = interreg_exposure(calendar=calendar)
    assert exp.columns.tolist() == ["nuts2", "country", "programme", "start", "end"]
    assert set(exp["programme"]) == set(INTERREG)
    assert str(exp["start"].dtype) == "Int64" and str(exp["end"].dtype) == "Int64"
    clusterix = exp[exp["programme"] == "clusterix2"]
    assert set(clusterix["nuts2"]) >= {"ITH1", "AT12", "HU22", "SE22", "CZ08", "DK03", "FRK1", "RO21"}
    assert (clusterix["start"] == 2016).all() and (clusterix["end"] == 2021).all()
    alp = exp[exp["programme"] == "s3_4alpclusters"]
    assert {"ITC4", "ITH3", "ITH2", "ITC1"} <= set(alp["nuts2"])
    assert (alp["start"] == 2016).all() and (alp["end"] == 2019).all()
    assert list(exp.loc[exp["programme"] == "inkrease", "nuts2"]) == ["ITH5"]
    assert not exp.duplicated(["programme", "nuts2"]).any()
    partners = calendar[calendar["role"] == "interreg_partner"]
    assert (partners["code_uncertain"] == 1).all() and (partners["country"] != "IT").all()


def test_italian_interreg_partners_come_from_the_audited_calendar(calendar) -> None:
    audited = load_cluster_policies()
    exp = interreg_exposure(calendar=calendar, cluster_policies=audited)
    italian = exp[exp["country"] == "IT"].set_index(["programme", "nuts2"])
    rows = audited[audited["kind"] == "interreg"]
    assert len(italian) == len(rows)
    for rec in rows.to_dict("records"):
        assert any(italian.index.get_level_values(1) == rec["nuts2"])
    # an audited interreg row edited in memory moves the exposure: no second copy of Italian rows elsewhere
    edited = audited.copy()
    edited.loc[edited["policy_id"] == "ith1-clusterix2-2016", "end_year"] = 2020
    exp2 = interreg_exposure(calendar=calendar, cluster_policies=edited)
    assert int(exp2.set_index(["programme", "nuts2"]).loc[("clusterix2", "ITH1"), "end"]) == 2020


def test_interreg_row_without_programme_names_line_and_fix(calendar) -> None:
    audited = load_cluster_policies()
    bad = audited.copy()
    idx = bad.index[bad["policy_id"] == "ith5-inkrease-2016"][0]
    bad.loc[idx, "policy_id"] = "ith5-other-project-2016"
    line = int(bad.loc[idx, "line"])
    with pytest.raises(DataValidationError, match=rf"cluster_policies.csv, line {line}, column policy_id: interreg "
                                                  r"row 'ith5-other-project-2016' names no known programme"):
        interreg_exposure(calendar=calendar, cluster_policies=bad)


def test_accessors() -> None:
    assert short_region_name("Provincia Autonoma di Bolzano/Bozen") == "Bolzano"
    assert source_label("https://www.kohesio.eu/x ; dossier 3.1") == [("kohesio.eu", "https://www.kohesio.eu/x"),
                                                                        ("dossier 3.1", None)]
    progs = load_programmes(ROOT)
    assert fact(progs, "ClusteriX 2.0", "target_collaboration_increase") == "5"
    assert len(fact_values(progs, "ClusteriX 2.0", "learning_events_planned")) == 2


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


def test_bad_year_is_reported_with_file_line_column_and_fix(policy_copy: Path) -> None:
    _edit(policy_copy, "policy_calendar.csv", 1, "onset_year", "20l4")
    with pytest.raises(DataValidationError,
                       match=r"policy_calendar.csv, line 3, column onset_year: is not a four-digit year "
                             r"\('20l4'\); write a year") as err:
        load_policy_calendar(policy_copy)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("role", "cluster", r"line 3, column role: is not an allowed value \('cluster'\); use one of"),
        ("confidence", "HIGH", r"line 3, column confidence: .*use one of low, medium, high"),
        ("nuts2", "at12", r"line 3, column nuts2: is not a NUTS code"),
        ("clusterix2_start", "", r"line 3, column clusterix2_end: is given without clusterix2_start"),
        ("common_shock", "1", r"line 3, column common_shock: disagrees with role"),
        ("country", "IT", r"line 3, column country: differs from the first two letters of nuts2"),
    ],
)
def test_calendar_rules(policy_copy: Path, column: str, value: str, message: str) -> None:
    _edit(policy_copy, "policy_calendar.csv", 1, column, value)  # data row 1 = line 3 (AT12)
    with pytest.raises(DataValidationError, match=message):
        load_policy_calendar(policy_copy)


def test_italian_region_in_old_calendar_is_refused(policy_copy: Path) -> None:
    path = policy_copy / "data/policy/policy_calendar.csv"
    cal = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = cal.iloc[[1]].assign(nuts2="ITC4", country="IT", region="Lombardia")
    pd.concat([cal, row], ignore_index=True).to_csv(path, index=False, lineterminator="\n")
    line = len(cal) + 2
    with pytest.raises(DataValidationError, match=rf"policy_calendar.csv, line {line}, column country: is an "
                                                  r"Italian region in the old calendar .*cluster_policies.csv"):
        load_policy_calendar(policy_copy)


def test_line_numbers_count_multiline_cells(policy_copy: Path) -> None:
    """A quoted cell spanning two lines shifts the line of every later record (the shared CSV reader counts it)."""
    path = policy_copy / "data/policy/programmes.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[0, "note"] = "first line\nsecond line"
    df.loc[2, "verified"] = "maybe"
    df.to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(DataValidationError, match=r"programmes.csv, line 5, column verified: is not an allowed "
                                                  r"value \('maybe'\); use one of yes, no"):
        load_programmes(policy_copy)


def test_ragged_row_names_its_line(policy_copy: Path) -> None:
    path = policy_copy / "data/policy/literature.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + ",extra\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"literature.csv, line 4, column \(row\): has 13 cells but the "
                                                  r"header has 12; quote cells that contain commas"):
        load_literature(policy_copy)


def test_missing_column_and_missing_file(policy_copy: Path) -> None:
    path = policy_copy / "data/policy/literature.csv"
    pd.read_csv(path, dtype=str).drop(columns=["source_url"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"literature.csv, line 1, column source_url: missing from the "
                                                  r"header; restore the header from git"):
        load_literature(policy_copy)
    (policy_copy / "data/policy/programmes.csv").unlink()
    with pytest.raises(UserInputError, match="programmes.csv is missing; restore it from git"):
        load_programmes(policy_copy)


def test_literature_and_programme_rules(policy_copy: Path) -> None:
    _edit(policy_copy, "literature.csv", 3, "collaboration_outcome", "maybe")
    with pytest.raises(DataValidationError, match=r"literature.csv, line 5, column collaboration_outcome: is not "
                                                  r"an allowed value \('maybe'\); use one of yes, no"):
        load_literature(policy_copy)
    _edit(policy_copy, "literature.csv", 3, "collaboration_outcome", "yes")
    _edit(policy_copy, "literature.csv", 6, "year", "199")
    with pytest.raises(DataValidationError, match=r"literature.csv, line 8, column year: is not a four-digit year"):
        load_literature(policy_copy)
    _edit(policy_copy, "literature.csv", 6, "year", "2010")
    _edit(policy_copy, "literature.csv", 2, "source_url", "www.example.org")
    with pytest.raises(DataValidationError, match=r"literature.csv, line 4, column source_url: is not a URL"):
        load_literature(policy_copy)
    _edit(policy_copy, "programmes.csv", 0, "source", "")
    _edit(policy_copy, "programmes.csv", 4, "source", "")
    with pytest.raises(DataValidationError, match=r"programmes.csv, line 2, column source: is empty \(''\) "
                                                  r"\(also line\(s\) 6\); fill it in"):
        load_programmes(policy_copy)
