"""The audited cluster-policy calendar (data/policy/cluster_policies.csv) and the treatment definitions."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from clusterpolicy.data.calendar import COLUMNS, ITALIAN_NUTS2, KINDS, MACRO_AREA, load_cluster_policies
from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.study.treatments import (
    DEFINITIONS,
    STATUSES,
    TABLE_END,
    TABLE_START,
    check_definition,
    cohort_table,
    miur_district_year,
    render_table,
)

ROOT = Path(__file__).resolve().parents[1]
CALENDAR = ROOT / "data" / "policy" / "cluster_policies.csv"
CODEBOOK = ROOT / "data" / "policy" / "CALENDAR.md"
EUROSTAT = ROOT / "data" / "derived" / "eurostat_rd_nuts2.csv"


@pytest.fixture(scope="module")
def calendar() -> pd.DataFrame:
    return load_cluster_policies(CALENDAR)


@pytest.fixture(scope="module")
def tables(calendar) -> dict[str, pd.DataFrame]:
    return {name: cohort_table(name, calendar).set_index("nuts2") for name in DEFINITIONS}


# ------------------------------------------------------------------------------------------------ coverage


def test_every_italian_region_has_rows(calendar):
    assert len(ITALIAN_NUTS2) == 21
    assert set(calendar["nuts2"]) == set(ITALIAN_NUTS2)
    assert (calendar.groupby("nuts2").size() >= 1).all()


def test_eurostat_italian_nuts2_regions_are_in_the_calendar(calendar):
    eu = pd.read_csv(EUROSTAT, usecols=["nuts2", "country"], dtype=str)
    italian = set(eu.loc[(eu["country"] == "IT") & (eu["nuts2"].str.len() == 4), "nuts2"])
    assert italian, "no Italian NUTS2 rows in the Eurostat file"
    assert italian <= set(calendar["nuts2"])


def test_sources_and_macro_areas(calendar):
    sourced = calendar[calendar["kind"] != "none_found"]
    assert (sourced["source_url"].str.match(r"https?://")).all()
    absent = calendar[calendar["kind"] == "none_found"]
    assert (absent["checked"] != "").all() and (absent["searched_kinds"] != "").all()
    assert (calendar["macro_area"] == calendar["nuts2"].map(MACRO_AREA)).all()
    assert set(calendar["kind"]) <= set(KINDS)
    assert calendar["policy_id"].is_unique


def test_interreg_rows_have_end_years(calendar):
    interreg = calendar[calendar["kind"] == "interreg"].set_index("policy_id")
    assert interreg["end_year"].notna().all()
    assert interreg.loc["ith1-clusterix2-2016", ["start_year", "end_year"]].tolist() == [2016, 2021]
    assert interreg.loc["itc4-s3-4alpclusters-2016", ["start_year", "end_year"]].tolist() == [2016, 2019]


# ------------------------------------------------------------------------------------------------ validation


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    with CALENDAR.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _edited(tmp_path: Path, index: int, column: str, value: str) -> Path:
    header, rows = _rows()
    rows[index][column] = value
    return _write(tmp_path / "cluster_policies.csv", header, rows)


def _first_from(start: int, none_found: bool) -> int:
    _, rows = _rows()
    return next(i for i, r in enumerate(rows) if i >= start and (r["kind"] == "none_found") == none_found)


def _first(kind_is_none_found: bool) -> int:
    _, rows = _rows()
    return next(i for i, r in enumerate(rows) if (r["kind"] == "none_found") == kind_is_none_found)


@pytest.mark.parametrize(
    ("column", "value", "none_found_row"),
    [
        ("kind", "cluster", False),
        ("start_year", "20144", False),
        ("legal_act_year", "1985", False),
        ("confidence", "certain", False),
        ("selects_named_clusters", "maybe", False),
        ("source_url", "", False),
        ("nuts2", "ITX9", False),
        ("searched_kinds", "", True),
    ],
)
def test_malformed_cell_names_file_line_and_column(tmp_path, column, value, none_found_row):
    index = _first_from(5, none_found=False) if not none_found_row else _first(True)
    path = _edited(tmp_path, index, column, value)
    with pytest.raises(DataValidationError) as err:
        load_cluster_policies(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert f"line {index + 2}," in msg  # header is line 1, data row i (0-based) is line i + 2
    assert f"column {column}" in msg


def test_duplicate_policy_id(tmp_path):
    header, rows = _rows()
    rows[7]["policy_id"] = rows[3]["policy_id"]
    path = _write(tmp_path / "cluster_policies.csv", header, rows)
    with pytest.raises(DataValidationError, match=r"line 9, column policy_id: duplicates .* of line 5"):
        load_cluster_policies(path)


def test_line_numbers_count_multiline_cells(tmp_path):
    header, rows = _rows()
    rows[0]["note"] = "first line\nsecond line\nthird line"
    rows[2]["start_year"] = "20144"
    path = _write(tmp_path / "cluster_policies.csv", header, rows)
    # row 0 occupies lines 2-4, row 1 line 5, row 2 line 6
    with pytest.raises(DataValidationError, match=r"line 6, column start_year"):
        load_cluster_policies(path)


def test_missing_column(tmp_path):
    header, rows = _rows()
    header = [h for h in header if h != "confidence"]
    path = _write(tmp_path / "cluster_policies.csv", header, rows)
    with pytest.raises(DataValidationError) as err:
        load_cluster_policies(path)
    assert str(path) in str(err.value) and "line 1" in str(err.value) and "column confidence" in str(err.value)


def test_region_without_rows(tmp_path):
    header, rows = _rows()
    path = _write(tmp_path / "cluster_policies.csv", header, [r for r in rows if r["nuts2"] != "ITF2"])
    with pytest.raises(DataValidationError, match=r"column nuts2: no line has region\(s\) ITF2 Molise"):
        load_cluster_policies(path)


def test_header_matches_documented_columns():
    header, _ = _rows()
    assert tuple(header) == COLUMNS


# ------------------------------------------------------------------------------------------------ definitions


def test_every_definition_gives_21_rows_with_valid_statuses(tables):
    for name, t in tables.items():
        assert len(t) == 21 and set(t.index) == set(ITALIAN_NUTS2), name
        assert set(t["status"]) <= set(STATUSES), name
        treated = t["status"] == "treated"
        assert t.loc[treated, "cohort"].notna().all(), name
        assert t.loc[~treated, "cohort"].isna().all(), name
        assert (t["reason"].str.len() > 0).all(), name
        assert (t.loc[t["status"] != "unknown", "policy_id"] != "").all(), name


def test_t1_key_cohorts(tables):
    t1 = tables["T1"]
    assert t1.loc["ITC1", "cohort"] == 2009  # Piemonte poles (call 2008)
    assert t1.loc["ITH4", "cohort"] == 2015  # FVG LR 3/2015 art. 15
    assert t1.loc["ITC4", "cohort"] == 2014  # Lombardy CTL recognition + EUR 1 m 2014-15
    assert t1.loc["ITC3", "cohort"] == 2011 and t1.loc["ITI1", "cohort"] == 2011 and t1.loc["ITI2", "cohort"] == 2011
    # Emilia-Romagna: neither 2009 (Tecnopoli are not cluster organisations) nor 2017 (Clust-ER funding not
    # documented before the 2022 call): unknown under T1, 2017 under T2.
    assert t1.loc["ITH5", "status"] == "unknown"
    assert "ith5-clust-er-2017" in t1.loc["ITH5", "unresolved"]
    assert tables["T2"].loc["ITH5", "cohort"] == 2017


def test_t2_cohorts_are_s3_era(tables):
    t2 = tables["T2"]
    assert (t2.loc[t2["status"] == "treated", "cohort"] >= 2014).all()
    assert t2.loc["ITG1", "status"] == "never"  # no Sicilian cluster call before 2022


def test_controls_need_evidence(calendar, tables):
    absent = calendar[calendar["kind"] == "none_found"]
    for name, t in tables.items():
        for code in t.index[t["status"] == "never"]:
            assert code in set(absent["nuts2"]), f"{name}: {code} is a control without a none_found row"
    # Molise is a control only because a none_found row backs it, and not once low rows are dropped.
    assert tables["T1"].loc["ITF2", "status"] == "never"
    assert "itf2-none-regional" in tables["T1"].loc["ITF2", "policy_id"]
    assert tables["T1_high_medium"].loc["ITF2", "status"] == "unknown"
    without = calendar[calendar["policy_id"] != "itf2-none-regional"]
    assert cohort_table("T1", without).set_index("nuts2").loc["ITF2", "status"] == "unknown"


def test_t1_high_medium_falls_to_next_row(tables):
    # Calabria's 2011 onset is inferred (low): it falls to the 2018 poles.
    assert tables["T1"].loc["ITF6", "cohort"] == 2011
    assert tables["T1_high_medium"].loc["ITF6", "cohort"] == 2018
    hm = tables["T1_high_medium"]
    assert (hm["confidence"].where(hm["status"] != "unknown", "medium") != "low").all()


def test_miur_district_year_is_a_stratum(calendar, tables):
    m = miur_district_year(calendar).set_index("nuts2")
    assert len(m) == 21
    assert m.loc["ITH2", "miur_district_year"] == 2006 and m.loc["ITI4", "miur_district_year"] == 2004
    assert m.loc["ITI3", "miur_status"] == "none_found"
    # Trento has a 2006 district but no regional programme: it is not treated in 2006.
    assert tables["T1"].loc["ITH2", "status"] != "treated"


def test_check_definition():
    assert check_definition("T1").name == "T1"
    with pytest.raises(UserInputError) as err:
        check_definition("T3")
    assert "\n" not in str(err.value)
    for name in DEFINITIONS:
        assert name in str(err.value)
    with pytest.raises(UserInputError):
        cohort_table("t1")


def test_codebook_table_is_current(calendar):
    text = CODEBOOK.read_text(encoding="utf-8")
    block = TABLE_START + text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0] + TABLE_END
    assert block == render_table(calendar), (
        "CALENDAR.md is stale: run PYTHONPATH=src python -m clusterpolicy.study.treatments "
        "--write-table data/policy/CALENDAR.md"
    )
    for code in ITALIAN_NUTS2:
        assert re.search(rf"\| {code} \|", block)


# ------------------------------------------------------------------------------------------------ audit gaps


def test_open_items_cover_every_missing_or_inferred_fact(calendar):
    from clusterpolicy.data.calendar import needs_open_item
    from clusterpolicy.study.treatments import open_items

    flagged = calendar[calendar.apply(needs_open_item, axis=1)]
    assert len(flagged) >= 30
    assert (flagged["open_item"] != "").all()
    # the audit's open items are among them
    for pid in ("ith4-cbm-2005", "ith5-himech-2005", "itc3-siit-2005", "itc4-miur-dt-2004", "itf6-poli-2011",
                "itg2-poli-cluster-2011", "itf5-cluster-lucani-2015", "iti3-clusters-2013"):
        assert pid in set(flagged["policy_id"]), pid
    items = open_items(calendar)
    assert set(items["policy_id"]) == set(calendar.loc[calendar["open_item"] != "", "policy_id"])
    block = CODEBOOK.read_text(encoding="utf-8").split(TABLE_START, 1)[1]
    for row in items.itertuples():
        assert f"(`{row.policy_id}`): {row.open_item}" in block, row.policy_id
    # the effect column names the cohort cells that rest on a row
    calabria = items.set_index("policy_id").loc["itf6-poli-2011", "effect"]
    assert "T1 2011 (low)" in calabria


def test_note_saying_not_retrieved_requires_open_item(tmp_path):
    header, rows = _rows()
    i = next(k for k, r in enumerate(rows) if r["policy_id"] == "ith4-cbm-2005")
    rows[i]["open_item"] = ""
    path = _write(tmp_path / "cluster_policies.csv", header, rows)
    with pytest.raises(DataValidationError) as err:
        load_cluster_policies(path)
    msg = str(err.value)
    assert "\n" not in msg and f"line {i + 2}," in msg and "column open_item" in msg


def test_bolzano_has_a_search_row_and_a_dated_row(calendar, tables):
    bz = calendar[calendar["nuts2"] == "ITH1"]
    assert (bz["kind"] == "none_found").any()
    assert bz.loc[bz["kind"] != "interreg", "start_year"].notna().any()
    # the S3-era kinds were not searched, so Bolzano is never a control
    for name, t in tables.items():
        assert t.loc["ITH1", "status"] == "unknown", name


def test_2014_20_generation_is_recorded_for_early_pole_regions(calendar, tables):
    # Piemonte records its undated later generation; Umbria and Abruzzo were not searched for it, which is an open
    # item on their poles rows, never a none_found row (a review of notes is not evidence of absence)
    r = calendar[calendar["nuts2"] == "ITC1"]
    assert r["kind"].isin(["regional_clusters_2014_20", "s3_law_recognition"]).any()
    for code in ("ITI2", "ITF1"):
        r = calendar[calendar["nuts2"] == code]
        assert "2014-20 generation" in " ".join(r["open_item"].fillna("")), code
        assert not r.loc[r["kind"] == "none_found", "searched_kinds"].fillna("").str.contains("2014_20").any(), code
    # Piemonte's undated later generation leaves T2 unknown but cannot predate the 2009 T1 onset
    assert tables["T2"].loc["ITC1", "status"] == "unknown"
    assert tables["T1"].loc["ITC1", "cohort"] == 2009
    # unsearched is unknown: neither region is a T2 control
    for code in ("ITI2", "ITF1"):
        assert tables["T2"].loc[code, "status"] == "unknown"
        assert tables["T2_high_medium"].loc[code, "status"] == "unknown"


def test_undated_s3_row_blocks_only_later_onsets(calendar):
    # move Piemonte's 2009 poles to 2016: the undated 2014-20 row could now be earlier, so the onset is undatable
    moved = calendar.copy()
    moved.loc[moved["policy_id"] == "itc1-poli-2009", "start_year"] = 2016
    t1 = cohort_table("T1", moved).set_index("nuts2")
    assert t1.loc["ITC1", "status"] == "unknown"
    assert "itc1-poli-reorganised" in t1.loc["ITC1", "unresolved"]


def test_t2_high_medium(tables):
    hm = tables["T2_high_medium"]
    assert (hm["confidence"].where(hm["status"] != "unknown", "medium") != "low").all()
    assert hm.loc["ITH3", "cohort"] == 2017  # Veneto's inferred 2016 falls to the January-2017 act
    assert tables["T2"].loc["ITH3", "cohort"] == 2016
    assert (hm.loc[hm["status"] == "treated", "cohort"] >= 2014).all()
