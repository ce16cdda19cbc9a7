"""Tests of the analysis panels of Italian regions (``clusterpolicy.study.panel``) on the committed real data and
the audited calendar: every region has a role and a reason, unknown regions are never controls, the treated set
and windows follow the treatment definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA, load_cluster_policies
from clusterpolicy.data.loaders import load_h2020_italy, load_rd_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.study.panel import analysis_panel, macro_group
from clusterpolicy.study.treatments import cohort_table


@pytest.fixture(scope="module")
def inputs() -> dict[str, pd.DataFrame]:
    return {"rd": load_rd_panel(), "h2020": load_h2020_italy(), "calendar": load_cluster_policies()}


@pytest.mark.parametrize("definition", ["T1", "T2", "T1_high_medium"])
def test_every_region_has_a_role_and_unknown_is_never_a_control(inputs, definition) -> None:
    p = analysis_panel("rd_personnel_bes_fte", definition=definition, first_year=2007, last_year=2019, **inputs)
    table = p.sample_table()
    assert sorted(table["nuts2"]) == sorted(ITALIAN_NUTS2)  # all 21, none left out by omission
    assert table["why"].str.len().gt(0).all()
    status = cohort_table(definition, calendar=inputs["calendar"]).set_index("nuts2")["status"]
    controls = set(p.data.loc[p.data["cohort"] == 0, "nuts2"])
    assert not any(status[c] == "unknown" for c in controls)
    for code in status.index[status == "unknown"]:
        assert p.role(code) == "dropped"


def test_t1_panel_follows_the_definition(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_fte", definition="T1", first_year=2007, last_year=2019, **inputs)
    table = cohort_table("T1", calendar=inputs["calendar"])
    treated = table[table["status"] == "treated"].set_index("nuts2")["cohort"].astype(int).to_dict()
    assert p.cohorts == {k: v for k, v in treated.items() if 2007 < v <= 2019}
    assert p.years == list(range(2007, 2020))
    np.testing.assert_allclose(p.data["y"], np.log(p.data["raw"]), rtol=0, atol=1e-12)
    assert set(p.data["macro_area"]) <= set(MACRO_AREA.values())


def test_onsets_make_a_single_region_design(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_fte", definition="T1", onsets={"ITC4": 2012}, first_year=2007,
                       last_year=2019, **inputs)
    assert p.cohorts == {"ITC4": 2012}
    # other regions treated inside the window are not clean controls in a single-region design
    assert "not a clean control" in p.dropped["ITC1"]


def test_centre_north_drops_the_mezzogiorno(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_fte", definition="T1", controls="centre_north", first_year=2007,
                       last_year=2019, **inputs)
    assert all(macro_group(c) == "centre_north" for c in p.data["nuts2"].unique())
    assert all("Mezzogiorno" in p.dropped[c] for c in ("ITF2", "ITF3"))


def test_windows_drop_regions_without_pre_period_and_recode_late_ones(inputs) -> None:
    p = analysis_panel("coparticipation_projects_intraregional", transform="level", definition="T2",
                       first_year=2015, last_year=2018, **inputs)
    assert all("no pre-period" in p.dropped[c] for c in ("ITC4", "ITH4", "ITI1"))
    assert p.data.loc[p.data["nuts2"] == "ITI3", "cohort"].eq(0).all()  # Marche 2019: after the window
    assert any("after the window" in n for n in p.notes)
    assert any("lower bounds" in n for n in p.notes)


def test_per_capita_h2020_uses_2020_population_carried_forward(inputs) -> None:
    p = analysis_panel("coparticipation_projects_intraregional", transform="per_capita", definition="T2",
                       first_year=2015, last_year=2020, **inputs)
    assert p.data["population"].notna().all()
    pop = p.data.pivot(index="year", columns="nuts2", values="population")
    pd.testing.assert_series_equal(pop.loc[2020], pop.loc[2019], check_names=False)
    np.testing.assert_allclose(p.data["y"], p.data["raw"] / p.data["population"] * 1e6, rtol=1e-12)


def test_contrast_is_a_log_ratio(inputs) -> None:
    p = analysis_panel("rd_personnel_bes_minus_hes", transform="log", definition="T1", first_year=2007,
                       last_year=2019, **inputs)
    rd = inputs["rd"].set_index(["nuts2", "year"])
    row = p.data.iloc[0]
    expected = np.log(rd.loc[(row["nuts2"], row["year"]), "rd_personnel_bes_fte"]
                      / rd.loc[(row["nuts2"], row["year"]), "rd_personnel_hes_fte"])
    assert row["y"] == pytest.approx(expected, rel=1e-12)


def test_inputs_are_not_mutated(inputs) -> None:
    before = {k: v.copy() for k, v in inputs.items()}
    analysis_panel("rd_personnel_bes_fte", transform="per_capita", first_year=2011, last_year=2019, **inputs)
    for k in inputs:
        pd.testing.assert_frame_equal(inputs[k], before[k])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"transform": "sqrt"}, "transform='sqrt' is not allowed"),
    ({"definition": "T9"}, "T9"),
    ({"controls": "south"}, "controls='south' is not allowed"),
    ({"treated": ["ITZZ"]}, "are not treated regions"),
    ({"first_year": 2019, "last_year": 2010}, "swap them"),
    ({"transform": "per_capita", "first_year": 2007}, "needs population"),
])
def test_bad_choices_raise_one_line_errors(inputs, kwargs, match) -> None:
    with pytest.raises(UserInputError, match=match) as info:
        analysis_panel("rd_personnel_bes_fte", **{"first_year": 2007, "last_year": 2019, **kwargs}, **inputs)
    assert "\n" not in str(info.value)
