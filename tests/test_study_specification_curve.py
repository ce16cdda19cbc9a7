"""Tests of the specification curve's study module: shares from one function, pruning of choices that do not change
the sample, the definition for low-confidence onsets, the per-cent conversion and determinism."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.errors import UserInputError
from clusterpolicy.study import specification_curve as sc
from clusterpolicy.study.italy import PRIMARY_OUTCOME, to_percent

# ------------------------------------------------------------------------------------------------------ shares


def _table() -> pd.DataFrame:
    """Six specifications, one not estimable; breakdown values at and around the thresholds."""
    return pd.DataFrame({
        "status": ["ok", "ok", "ok", "ok", "ok", "not estimable: x"],
        "estimate": [-2.0, -1.0, 0.5, 3.0, -0.2, np.nan],
        "p_value": [0.01, 0.20, 0.04, 0.50, 0.90, np.nan],
        "ri_p_value": [0.03, 0.40, np.nan, 0.01, 0.70, np.nan],
        "breakdown_mbar": [2.0, 0.0, 1.0, np.inf, np.nan, np.nan],
        "percent": [-50.0, -10.0, 5.0, 40.0, -1.0, np.nan],
    })


def test_shares_on_a_hand_made_table():
    s = sc.shares(_table())
    assert (s["n_specs"], s["n_estimated"], s["n_not_estimable"], s["n_with_ri"]) == (6, 5, 1, 4)
    assert s["share_negative"] == pytest.approx(3 / 5) and s["share_positive"] == pytest.approx(2 / 5)
    assert s["share_significant"] == pytest.approx(2 / 5)
    assert s["share_negative_significant"] == pytest.approx(1 / 5)
    assert s["share_positive_significant"] == pytest.approx(1 / 5)
    # a missing randomisation p-value (one treated region) is not a rejection
    assert s["share_ri_significant"] == pytest.approx(2 / 5)
    # breakdown 1 means the set at Mbar = 1 already includes zero: above 0 yes, above 1 no; infinite counts
    assert s["share_breakdown_above0"] == pytest.approx(3 / 5)
    assert s["share_breakdown_above1"] == pytest.approx(2 / 5)
    assert (s["median_percent"], s["min_percent"], s["max_percent"]) == (-1.0, -50.0, 40.0)


def test_shares_of_an_empty_curve_are_none():
    s = sc.shares(_table().iloc[5:])
    assert s["n_estimated"] == 0 and s["share_negative"] is None and s["median_percent"] is None


def test_summarise_uses_shares_for_every_published_share():
    curve = _table().assign(spec_id=range(6), outcome=[PRIMARY_OUTCOME] * 3 + ["rd_personnel_bes_fte"] * 3,
                            estimator="cs")
    design = sc.CurveSpecs(specs=[], n_combinations=10, n_indefensible=4, n_duplicates=0, missing_definitions=(),
                           n_missing_definition=0, dropped_levels=(), dropped_dimensions=())
    v = sc.summarise(curve, design)
    overall, primary = sc.shares(curve), sc.shares(curve[curve["outcome"] == PRIMARY_OUTCOME])
    assert v.share_breakdown_above1 == overall["share_breakdown_above1"]
    assert v.primary_share_ri_significant == primary["share_ri_significant"]
    assert v.missing_definitions == "none" and v.n_indefensible == 4
    # the published table is sorted by the per-cent effect, missing last
    assert list(v.table["percent"].iloc[:5]) == sorted(curve["percent"].dropna())
    by = v.by_choice.set_index(["choice", "option"])
    assert by.loc[("outcome", PRIMARY_OUTCOME), "n_estimated"] == 3

# ------------------------------------------------------------------------------------ definitions and pruning


def test_definition_name_resolves_low_confidence():
    assert sc.definition_name({"definition": "T1", "low_confidence": "in"}) == "T1"
    assert sc.definition_name({"definition": "T2", "low_confidence": "out"}) == "T2_high_medium"
    with pytest.raises(UserInputError, match="low_confidence"):
        sc.definition_name({"definition": "T1", "low_confidence": "maybe"})


CHOICES = {"outcome": [PRIMARY_OUTCOME], "definition": ["T1", "T2"], "low_confidence": ["in", "out"],
           "controls": ["all"], "transform": ["level"], "window": ["2015-2020", "2015-2019"],
           "estimator": ["etwfe"]}


def test_missing_definition_is_skipped_and_counted():
    design = sc.build_curve_specs(CHOICES, signature=lambda s: (sc.definition_name(s), s["window"]),
                                  definitions={"T1": 0, "T2": 0, "T1_high_medium": 0})
    assert design.missing_definitions == ("T2_high_medium",)
    assert design.n_missing_definition == 2  # one per window
    assert len(design.specs) == 6 and design.n_duplicates == 0
    assert design.dropped_levels == () and design.dropped_dimensions == ()
    assert design.n_combinations == 8


def test_options_that_repeat_the_sample_are_dropped_and_named():
    """Low-confidence onsets out changes no sample (same signature as in): the option is dropped, and the choice
    with it; the windows differ, so both stay."""
    design = sc.build_curve_specs(CHOICES, signature=lambda s: (s["definition"], s["window"]),
                                  definitions={"T1": 0, "T2": 0, "T1_high_medium": 0, "T2_high_medium": 0})
    assert design.n_duplicates == 4 and len(design.specs) == 4
    assert design.dropped_levels == ("low_confidence=out",)
    assert design.dropped_dimensions == ("low_confidence",)
    assert "low_confidence" not in design.dimensions and "window" in design.dimensions
    assert all(s["low_confidence"] == "in" for s in design.specs)


def test_a_specification_without_a_panel_is_kept():
    design = sc.build_curve_specs(CHOICES, signature=lambda s: None,
                                  definitions={"T1": 0, "T2": 0, "T1_high_medium": 0, "T2_high_medium": 0})
    assert len(design.specs) == 8 and design.n_duplicates == 0


def test_indefensible_combinations_are_left_out():
    assert sc.indefensible_reason({"outcome": PRIMARY_OUTCOME, "transform": "log", "window": "2015-2020",
                                   "estimator": "cs"}) is not None
    assert sc.indefensible_reason({"outcome": PRIMARY_OUTCOME, "transform": "level", "window": "2015-2020",
                                   "estimator": "etwfe"}) is None
    assert sc.indefensible_reason({"outcome": "rd_personnel_bes_fte", "transform": "log", "window": "2015-2020",
                                   "estimator": "cs"}) is not None

# ------------------------------------------------------------------------------------------- per-cent scale


def _panel(transform: str) -> SimpleNamespace:
    """One treated region (cohort 2019) whose comparison regions gained about twice its level: the case that
    gave an impossible -206 per cent against the pre-period level."""
    data = pd.DataFrame({"nuts2": ["T"] * 3 + ["C"] * 3, "year": [2017, 2018, 2019] * 2,
                         "cohort": [2019] * 3 + [0] * 3, "y": [6.5, 7.18, 7.24, 39.0, 44.45, 66.21]})
    return SimpleNamespace(transform=transform, data=data)


def test_level_effects_are_relative_to_the_counterfactual_mean():
    b = (7.24 - 7.18) - (66.21 - 44.45)  # the DiD of the panel above
    main = SimpleNamespace(estimator="cs", estimate=b, details={})
    pct = to_percent([b], _panel("per_capita"), main)[0]
    assert pct == pytest.approx(100 * b / (7.24 - b))
    assert -100 <= pct < 0  # against the pre-period level (7.18) it would be below -100


@pytest.mark.parametrize("seed", range(5))
def test_a_count_cannot_fall_by_more_than_100_per_cent(seed):
    rng = np.random.default_rng(seed)
    panel = _panel("level")
    panel.data["y"] = rng.poisson(3, size=len(panel.data)).astype(float)
    for b in rng.normal(0, 20, size=20):
        main = SimpleNamespace(estimator="imputation", estimate=float(b), details={})
        pct = to_percent([float(b)], panel, main)[0]
        assert pct is None or pct >= -100 - 1e-9


def test_log_and_etwfe_conversions():
    log = to_percent([math.log(1.5)], _panel("log"), SimpleNamespace(estimator="cs", estimate=0.4, details={}))
    assert log[0] == pytest.approx(50.0)
    etwfe = SimpleNamespace(estimator="etwfe", estimate=-2.0, counterfactual_mean=8.0, details={})
    assert to_percent([-2.0, None], _panel("level"), etwfe) == [pytest.approx(-25.0), None]

# ----------------------------------------------------------------------------------- on the study's data


@pytest.fixture(scope="module")
def small_curve():
    """The curve's own specs for the primary outcome's Centre-North per-capita cell (seconds, not the whole
    curve)."""
    choices = {**sc.CHOICES, "outcome": ["coparticipation_projects_org2017"], "controls": ["centre_north"],
               "transform": ["per_capita"], "window": ["2015-2019"], "estimator": ["cs"]}
    return sc.build_curve_specs(choices)


def test_estimate_spec_is_deterministic_and_in_range(small_curve):
    spec = small_curve.specs[0]
    a, b = sc.estimate_spec(spec), sc.estimate_spec(spec)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])), k
    assert a["status"] == "ok"
    assert a["percent"] >= -100  # a count per inhabitant cannot fall by more than all of it
    assert a["definition_name"] == sc.definition_name(spec)


def test_build_curve_specs_is_deterministic(small_curve):
    choices = {**sc.CHOICES, "outcome": ["coparticipation_projects_org2017"], "controls": ["centre_north"],
               "transform": ["per_capita"], "window": ["2015-2019"], "estimator": ["cs"]}
    assert sc.build_curve_specs(choices) == small_curve
