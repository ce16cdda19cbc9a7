"""Tests of the specification grid and the staggered analysis (``clusterpolicy.estimate.grid``).

Tolerances: re-implementations of existing estimators (the CS event study with its covariance, the fast
Sun-Abraham fit) must reproduce the library's own numbers to 1e-8 (they are the same algebra); anything else is
exact.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.study.panel import analysis_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.grid import (
    ROLES,
    build_specs,
    estimate_spec,
    indefensible_reason,
    run_grid,
    staggered_analysis,
    summarise_curve,
    to_universal_base,
)
from clusterpolicy.report.analysis_figures import curve_title

RTOL = 1e-8  # same algebra, different code path

NOTEBOOK_CHOICES = {
    "outcome": ["rd_personnel_bes_fte", "researchers_bes_fte", "gerd_bes_mio_eur"],
    "transform": ["log", "per_capita", "level"], "coding": ["onset", "legal_act", "first_funding"],
    "control": ["notyet", "never"], "estimator": ["cs", "twfe", "imputation", "sa"],
    "window": ["2007-2019", "2011-2019"], "anticipation": [0, 1, 2],
}
SMALL_SPECS = [
    {"outcome": "rd_personnel_bes_fte", "transform": "log", "coding": c, "control": "notyet", "estimator": e,
     "window": "2007-2019", "anticipation": 0}
    for c in ("onset", "legal_act") for e in ("cs", "twfe")
]


@pytest.fixture(scope="module")
def panel():
    return analysis_panel("rd_personnel_bes_fte", first_year=2007, last_year=2019)


# ------------------------------------------------------------------------------------------------ build_specs
def test_build_specs_enumerates_in_key_order() -> None:
    specs = build_specs({"a": [1, 2], "b": ["x", "y", "z"]}, rule=None)
    assert len(specs) == 6
    assert specs[0] == {"a": 1, "b": "x"} and specs[1] == {"a": 1, "b": "y"} and specs[-1] == {"a": 2, "b": "z"}


def test_build_specs_filters_indefensible_combinations() -> None:
    specs = build_specs(NOTEBOOK_CHOICES)
    # personnel and researchers: log and level in 2007-2019, all three scales in 2011-2019 (5 each);
    # expenditure: three scales in 2011-2019 only (3) -> 13 outcome-scale-windows x 3 codings x 5 methods x 3
    assert len(specs) == 13 * 3 * 5 * 3 == 585
    assert not any(s["outcome"] == "gerd_bes_mio_eur" and s["window"] == "2007-2019" for s in specs)
    assert not any(s["transform"] == "per_capita" and s["window"] == "2007-2019" for s in specs)
    assert {(s["estimator"], s["control"]) for s in specs} == {
        ("cs", "notyet"), ("cs", "never"), ("twfe", "notyet"), ("imputation", "notyet"), ("sa", "never")}


@pytest.mark.parametrize(("spec", "reason"), [
    ({"outcome": "gerd_bes_mio_eur", "window": "2007-2019"}, "expenditure"),
    ({"transform": "per_capita", "first_year": 2009}, "population"),
    ({"outcome": "coparticipation_projects", "transform": "log"}, "cannot be logged"),
    ({"outcome": "coparticipation_projects", "transform": "level", "estimator": "cs"}, "Poisson"),
    ({"estimator": "poisson", "transform": "log"}, "levels"),
    ({"estimator": "sa", "control": "notyet"}, "fixed comparison group"),
    ({"estimator": "cs", "control": "never", "outcome": "rd_personnel_bes_fte", "window": "2007-2019"}, None),
])
def test_indefensible_reason(spec, reason) -> None:
    got = indefensible_reason(spec)
    assert (got is None) if reason is None else (reason in got)


@pytest.mark.parametrize(("choices", "match"), [
    ({}, "choices is empty"),
    ({"a": []}, "non-empty list"),
    ({"a": "xy"}, "non-empty list"),
    ({"a": [1, 1]}, "lists an option twice"),
])
def test_build_specs_rejects_bad_choices(choices, match) -> None:
    with pytest.raises(UserInputError, match=match):
        build_specs(choices)


# ------------------------------------------------------------------------------------------------ run_grid
def test_run_grid_serial_rows_follow_specs() -> None:
    frame = run_grid(SMALL_SPECS, estimate_spec)
    assert frame["spec_id"].tolist() == [0, 1, 2, 3]
    assert frame[["coding", "estimator"]].values.tolist() == [["onset", "cs"], ["onset", "twfe"],
                                                              ["legal_act", "cs"], ["legal_act", "twfe"]]
    assert (frame["status"] == "ok").all() and (frame["n_treated"] == 9).all()
    direct = estimate(analysis_panel("rd_personnel_bes_fte", first_year=2007, last_year=2019).data,
                      estimator="cs", control="notyet", **ROLES)
    assert frame.loc[0, "estimate"] == pytest.approx(direct.estimate, rel=RTOL)
    assert frame.loc[0, "percent"] == pytest.approx(100 * math.expm1(direct.estimate), rel=RTOL)


def test_run_grid_process_pool_is_deterministic() -> None:
    serial = run_grid(SMALL_SPECS, estimate_spec)
    pooled = run_grid(SMALL_SPECS, estimate_spec, executor="local", jobs=2)
    pd.testing.assert_frame_equal(serial, pooled)


@pytest.mark.slow
def test_run_grid_on_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("distributed")
    serial = run_grid(SMALL_SPECS, estimate_spec)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        on_dask = run_grid(SMALL_SPECS, estimate_spec, executor="dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial, on_dask)
    # Without a scheduler, run_grid starts (and closes) its own local cluster.
    own = run_grid(SMALL_SPECS[:2], estimate_spec, executor="dask", jobs=2)
    pd.testing.assert_frame_equal(serial.iloc[:2], own)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"executor": "spark"}, "executor='spark' is not valid"),
    ({"jobs": 0}, "jobs=0 must be a positive integer"),
    ({"scheduler": "tcp://127.0.0.1:1"}, "scheduler is only used with executor='dask'"),
])
def test_run_grid_rejects_bad_options(kwargs, match) -> None:
    with pytest.raises(UserInputError, match=match):
        run_grid([{"a": 1}], dict, **kwargs)


def test_run_grid_requires_mapping_rows() -> None:
    with pytest.raises(UserInputError, match="must return a mapping"):
        run_grid([{"a": 1}], lambda spec: 3.0)


def test_estimate_spec_reports_unidentified_specs_without_raising() -> None:
    row = estimate_spec({"outcome": "rd_personnel_bes_fte", "transform": "log", "window": "2018-2019",
                         "estimator": "cs", "control": "notyet", "coding": "onset", "anticipation": 0})
    assert row["status"].startswith("not estimable: no treated region is left")
    assert math.isnan(row["estimate"])


def test_summarise_curve_and_title() -> None:
    frame = pd.DataFrame({"estimate": [-2.0, -1.0, 0.5, 3.0, np.nan], "p_value": [0.01, 0.3, 0.02, 0.5, np.nan],
                          "percent": [-20.0, -10.0, 5.0, 30.0, np.nan],
                          "status": ["ok", "ok", "ok", "ok", "not estimable: x"]})
    s = summarise_curve(frame)
    assert (s["n_specs"], s["n_estimated"], s["n_not_estimable"]) == (5, 4, 1)
    assert (s["share_negative"], s["share_negative_significant"], s["share_positive_significant"]) == (0.5, 0.25, 0.25)
    assert s["median_percent"] == pytest.approx(-2.5)
    assert curve_title(s) == "The sign of the estimate depends on the specification"
    assert "significantly lower" in curve_title({**s, "share_negative_significant": 0.6})
    assert "mostly positive" in curve_title({**s, "share_positive": 0.9, "share_negative": 0.1})


# ------------------------------------------------------------------------------------------- event studies
def test_cs_event_study_carries_its_covariance(panel) -> None:
    res = estimate(panel.data, estimator="cs", control="notyet", **ROLES)
    vcov = res.event_study_vcov
    assert vcov is not None and list(vcov.index) == res.event_study["event_time"].tolist()
    np.testing.assert_allclose(np.sqrt(np.diag(vcov.to_numpy())), res.event_study["se"], rtol=RTOL)
    np.testing.assert_allclose(vcov.to_numpy(), vcov.to_numpy().T, rtol=0, atol=1e-15)


def test_to_universal_base_cumulates_pre_period_changes() -> None:
    es = pd.DataFrame({"event_time": [-3, -2, -1, 0, 1], "estimate": [0.1, 0.2, 0.3, 1.0, 2.0],
                       "se": [1.0] * 5})
    vcov = pd.DataFrame(np.eye(5), index=es["event_time"], columns=es["event_time"])
    uni, v = to_universal_base(es, vcov)
    assert uni["event_time"].tolist() == [-3, -2, 0, 1]
    np.testing.assert_allclose(uni["estimate"], [-(0.2 + 0.3), -0.3, 1.0, 2.0], rtol=0, atol=1e-15)
    # u_{-3} = -(v_{-2} + v_{-1}), u_{-2} = -v_{-1}: variances 2 and 1, covariance 1
    np.testing.assert_allclose(v.loc[[-3, -2], [-3, -2]].to_numpy(), [[2.0, 1.0], [1.0, 1.0]], rtol=0, atol=1e-15)


def test_staggered_analysis_single_region_gets_exact_placebo_inference() -> None:
    lom = analysis_panel("rd_personnel_bes_fte", treated=["ITC4"], first_year=2007, last_year=2019)
    res = staggered_analysis(lom, estimator="cs", control="never")
    ri = res.randomization
    assert ri is not None and ri.exact and ri.n_assignments == 12
    assert ri.p_value * 12 == pytest.approx(round(ri.p_value * 12), abs=1e-9)  # p is a multiple of 1/12
    assert ri.observed == pytest.approx(res.main.estimate, rel=RTOL)
    assert res.pretrend is not None and res.pretrend.df == 5
    assert res.sensitivity is not None and res.sensitivity.post_event_times == (0, 1, 2, 3, 4, 5)
    assert any("Only one treated region" in w for w in res.warnings)


def test_staggered_analysis_rejects_estimators_that_do_not_fit_the_outcome() -> None:
    counts = analysis_panel("coparticipation_projects", transform="level", first_year=2014, last_year=2021)
    with pytest.raises(UserInputError, match="not used for the count outcome"):
        staggered_analysis(counts, estimator="imputation")
