"""Tests of the analysis panels of Italian regions (``clusterpolicy.study.panel``) on the committed real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.loaders import load_h2020_italy, load_rd_panel
from clusterpolicy.study.panel import analysis_panel, calendar_years, programme_facts, region_sets
from clusterpolicy.data.policy import load_policy_calendar, treatment_cohorts
from clusterpolicy.errors import UserInputError


@pytest.fixture(scope="module")
def inputs() -> dict[str, pd.DataFrame]:
    return {"rd": load_rd_panel(), "h2020": load_h2020_italy(), "calendar": load_policy_calendar()}


def test_default_panel_is_balanced_and_follows_the_calendar(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_fte", first_year=2007, last_year=2019, **inputs)
    assert "ITH1" not in set(p.data["nuts2"]) and "ITH1" in p.dropped
    assert p.years == list(range(2007, 2020))
    assert p.data.groupby("nuts2").size().eq(13).all()
    assert (p.n_treated, p.n_control, p.n_regions) == (9, 11, 20)
    assert p.cohorts == treatment_cohorts("onset", calendar=inputs["calendar"])
    assert p.data.set_index("nuts2")["cohort"].groupby(level=0).first().to_dict()["ITC4"] == 2014
    np.testing.assert_allclose(p.data["y"], np.log(p.data["raw"]), rtol=0, atol=1e-12)


def test_treated_subset_drops_the_other_treated_regions(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_fte", treated=["ITC4"], first_year=2007, last_year=2019, **inputs)
    assert p.cohorts == {"ITC4": 2014}
    assert p.n_regions == 12 and p.n_control == 11
    assert "not in this design's treated set" in p.dropped["ITH5"]
    roles = p.sample_table().set_index("nuts2")["role"]
    assert roles["ITC4"] == "treated from 2014" and roles["ITI4"] == "control"
    assert roles["ITH5"].startswith("dropped")


def test_coding_and_anticipation_move_the_cohort(inputs) -> None:
    legal = analysis_panel("rd_personnel_bes_fte", treated=["ITC4"], coding="legal_act", first_year=2007,
                           last_year=2019, **inputs)
    early = analysis_panel("rd_personnel_bes_fte", treated=["ITC4"], anticipation=2, first_year=2007,
                           last_year=2019, **inputs)
    assert legal.cohorts == {"ITC4": 2012} and early.cohorts == {"ITC4": 2012}
    assert early.calendar_cohorts == {"ITC4": 2014}
    table = early.cohort_table()
    assert table.loc[0, ["calendar year", "first treated", "pre years", "post years"]].tolist() == [2014, 2012, 5, 8]


def test_regions_without_pre_period_are_dropped_and_late_ones_recoded(inputs) -> None:
    p = analysis_panel("gerd_bes_mio_eur", first_year=2011, last_year=2015, **inputs)
    for code in ("ITC1", "ITF1", "ITI1", "ITI2"):  # cohorts 2009 and 2011: no year before adoption in 2011-2015
        assert "no pre-period" in p.dropped[code]
    assert set(p.cohorts) == {"ITC4", "ITH2", "ITH4"}
    late = p.data.loc[p.data["nuts2"].isin(["ITH3", "ITH5"]), "cohort"]
    assert (late == 0).all() and any("after the window" in n for n in p.notes)


def test_per_capita_matches_eurostats_own_per_inhabitant_series(inputs) -> None:
    p = analysis_panel("gerd_bes_mio_eur", transform="per_capita", first_year=2011, last_year=2019, **inputs)
    ref = inputs["rd"].set_index(["nuts2", "year"])["gerd_bes_eur_hab"]
    mine = p.data.set_index(["nuts2", "year"])["y"]
    both = pd.concat([mine, ref], axis=1, join="inner").dropna()
    assert len(both) > 100
    # population is derived from rounded EUR-per-inhabitant figures, so agreement is to rounding (about 1 %)
    np.testing.assert_allclose(both["y"], both["gerd_bes_eur_hab"], rtol=0.02)


def test_h2020_panel_keeps_cohorts_with_pre_periods_and_notes_coverage(inputs) -> None:
    p = analysis_panel("coparticipation_projects", transform="level", first_year=2014, last_year=2021, **inputs)
    assert p.cohorts == {"ITH3": 2016, "ITH4": 2015, "ITH5": 2017}
    assert p.is_count and any("lower bounds" in n for n in p.notes)


def test_inputs_are_not_mutated(inputs) -> None:
    before = inputs["rd"].copy()
    analysis_panel("rd_personnel_bes_fte", transform="per_capita", first_year=2011, last_year=2019, **inputs)
    pd.testing.assert_frame_equal(inputs["rd"], before)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"outcome": "rd_personnel_bes_fte", "transform": "per_capita", "first_year": 2007},
     r"per_capita.*population.*2007"),
    ({"outcome": "rd_personnel_bes_fte", "treated": ["ITZZ"]}, r"treated=\['ITZZ'\].*choose from"),
    ({"outcome": "coparticipation_projects_intraregional", "transform": "log"}, r"non-positive.*transform='level'"),
    ({"outcome": "rd_personnel_bes_fte", "transform": "sqrt"}, r"transform='sqrt' is not allowed"),
    ({"outcome": "patents"}, r"outcome='patents' is not allowed"),
    ({"outcome": "rd_personnel_bes_fte", "first_year": 2019, "last_year": 2007}, r"after last_year"),
    ({"outcome": "rd_personnel_bes_fte", "first_year": 2018, "last_year": 2019}, r"no treated region is left"),
    ({"outcome": "rd_personnel_bes_fte", "anticipation": -1}, r"anticipation=-1"),
])
def test_bad_choices_raise_one_line_errors(inputs, kwargs, match) -> None:
    outcome = kwargs.pop("outcome")
    with pytest.raises(UserInputError, match=match) as info:
        analysis_panel(outcome, **kwargs, **inputs)
    assert "\n" not in str(info.value)


def test_programme_facts_and_calendar_years() -> None:
    facts = programme_facts("ITC4")
    assert facts["clusters"] == "9" and facts["aggregations_mobilised"] == "144"
    assert programme_facts("ITH3")["districts_identified"] == "17"
    assert "regional_law" not in facts  # unverified (verified=no in programmes.csv): never returned
    assert calendar_years("ITC4") == {"onset": 2014, "legal_act": 2012, "first_funding": None}
    sets = region_sets()
    assert len(sets["treated"]) == 9 and len(sets["never_treated"]) == 11 and sets["excluded"] == ["ITH1"]
