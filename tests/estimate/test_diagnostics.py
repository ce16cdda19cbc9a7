"""Goodman-Bacon decomposition and leave-one-out diagnostics, checked against our own TWFE on simulated panels.

All panels here are simulated (``clusterpolicy.data.synthetic.simulate_region_panel``); no R reference numbers are
used (R bacondecomp's example data ship only as ``.rda`` files, which are not stored as text).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate import estimate
from clusterpolicy.estimate._panel import prepare_panel
from clusterpolicy.estimate.diagnostics import (
    BACON_TYPES,
    EARLIER_VS_LATER,
    FORBIDDEN_TYPES,
    LATER_VS_ALWAYS,
    LATER_VS_EARLIER,
    TREATED_VS_UNTREATED,
    bacon_decomposition,
    leave_one_out,
)

KW = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}
# The decomposition is an algebraic identity; both sides are sums of a few thousand terms.
TOL_TWFE = 1e-10
TOL_WEIGHTS = 1e-12


def _twfe(df: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(df, estimator="twfe", **KW).estimate


def _with_always(seed: int) -> pd.DataFrame:
    df = simulate_region_panel(seed=seed).data
    never = sorted(df.loc[df["cohort"] == 0, "region"].unique())
    df.loc[df["region"].isin(never[:3]), "cohort"] = 2005  # treated from the first period
    df.loc[df["region"] == never[3], "cohort"] = 2001  # treated before the panel starts: also always treated
    return df


PANELS = {
    "never_treated": lambda: simulate_region_panel(seed=3).data,
    "never_treated_seed11": lambda: simulate_region_panel(seed=11, n_regions=25, heterogeneity=2.0).data,
    "no_never_treated": lambda: simulate_region_panel(seed=5, treated_share=1.0).data,
    "always_treated": lambda: _with_always(7),
    "always_no_never": lambda: _with_always(8).assign(
        cohort=lambda d: d["cohort"].where(d["cohort"] != 0, 2005)),
}


@pytest.mark.parametrize("name", sorted(PANELS))
def test_bacon_reproduces_twfe(name: str) -> None:
    df = PANELS[name]()
    res = bacon_decomposition(prepare_panel(df, **KW))
    table = res.table
    assert abs(res.twfe_estimate - _twfe(df)) < TOL_TWFE
    assert abs(table["weight"].sum() - 1) < TOL_WEIGHTS
    assert (table["weight"] >= 0).all()
    assert set(table["type"]) <= set(BACON_TYPES)
    assert abs(res.summary["weight"].sum() - 1) < TOL_WEIGHTS
    for rec in res.summary.to_dict("records"):
        part = table[table["type"] == rec["type"]]
        assert rec["estimate"] == pytest.approx((part["weight"] * part["estimate"]).sum() / part["weight"].sum())
    assert res.forbidden_weight == pytest.approx(table.loc[table["type"].isin(FORBIDDEN_TYPES), "weight"].sum())
    has_never = (df["cohort"] == 0).any()
    assert (TREATED_VS_UNTREATED in set(table["type"])) == has_never
    json.dumps(res.to_dict())


def test_bacon_always_treated_as_in_bacondecomp() -> None:
    df = _with_always(7)
    table = bacon_decomposition(prepare_panel(df, **KW)).table
    # always-treated units (cohort <= first period) form one group that is only ever a control
    assert 2005.0 not in set(table["treated"])
    always = table[table["control"].apply(lambda c: c == 2005.0)]
    assert len(always) == df.loc[df["cohort"] > 2005, "cohort"].nunique()
    assert (always["type"] == LATER_VS_ALWAYS).all()
    assert (always["n_control_units"] == 4).all()
    assert ((always["time_from"] == 2005) & (always["time_to"] == 2020)).all()


def test_bacon_two_by_two_is_did_of_means() -> None:
    df = simulate_region_panel(seed=4, cohorts=(2012,)).data
    res = bacon_decomposition(prepare_panel(df, **KW))
    assert len(res.table) == 1 and res.table.loc[0, "type"] == TREATED_VS_UNTREATED
    m = df.assign(post=df["year"] >= 2012, tr=df["cohort"] > 0).groupby(["tr", "post"])["y"].mean()
    did = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
    assert res.table.loc[0, "estimate"] == pytest.approx(did, abs=1e-12)
    assert res.table.loc[0, "weight"] == pytest.approx(1.0, abs=TOL_WEIGHTS)


def test_bacon_windows_and_labels() -> None:
    df = simulate_region_panel(seed=3).data
    table = bacon_decomposition(prepare_panel(df, **KW)).table
    early = table[(table["treated"] == 2009) & (table["control"].apply(lambda c: c == 2014.0))].iloc[0]
    late = table[(table["treated"] == 2014) & (table["control"].apply(lambda c: c == 2009.0))].iloc[0]
    assert early["type"] == EARLIER_VS_LATER and (early["time_from"], early["time_to"]) == (2005, 2013)
    assert late["type"] == LATER_VS_EARLIER and (late["time_from"], late["time_to"]) == (2009, 2020)


@pytest.mark.parametrize("mutate, exc, words", [
    (lambda d: d.drop(index=5), UserInputError, "balanced panel"),
    (lambda d: d.assign(y=d["y"].where(d.index != 7)), UserInputError, "balanced panel"),
    (lambda d: d.assign(cohort=0), EstimationError, "no observation is treated"),
])
def test_bacon_errors(mutate, exc, words) -> None:
    df = mutate(simulate_region_panel(seed=3).data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=words) as info:
            bacon_decomposition(prepare_panel(df, **KW))
    assert "\n" not in str(info.value)


def test_bacon_rejects_covariates() -> None:
    with pytest.raises(UserInputError, match="does not take covariates") as info:
        bacon_decomposition(prepare_panel(simulate_region_panel(seed=3).data, **KW, covariates=["x"]))
    assert "Fix:" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------------ leave one out
def _fit(frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(frame, estimator="twfe", **KW)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return simulate_region_panel(seed=9, n_regions=12).data


def test_leave_one_out_unit(small: pd.DataFrame) -> None:
    res = leave_one_out(small, _fit, unit="region")
    table = res.table
    assert list(table.columns) == ["left_out", "estimate", "se", "ci_low", "ci_high", "status"]
    assert sorted(table["left_out"]) == sorted(small["region"].unique())
    assert (table["status"] == "ok").all() and res.n_failed == 0
    direct = _fit(small[small["region"] != "R05"])
    row = table.set_index("left_out").loc["R05"]
    assert row["estimate"] == direct.estimate and row["se"] == direct.se and row["ci_low"] == direct.ci_low
    assert res.full_estimate == _fit(small).estimate
    assert res.min == table["estimate"].min() and res.max == table["estimate"].max()
    assert res.range == pytest.approx(res.max - res.min)
    assert table.set_index("left_out").loc[res.argmin, "estimate"] == res.min
    assert table.set_index("left_out").loc[res.argmax, "estimate"] == res.max
    json.dumps(res.to_dict())
    assert len(res.tidy()) == 12


def test_leave_one_out_cluster(small: pd.DataFrame) -> None:
    df = small.assign(macro=small["region"].str[1:].astype(int) % 4)
    res = leave_one_out(df, _fit, unit="region", cluster="macro")
    assert res.by == "cluster" and list(res.table["left_out"]) == [0, 1, 2, 3]
    direct = _fit(df[df["macro"] != 2])
    assert res.table.loc[2, "estimate"] == direct.estimate


def test_leave_one_out_not_estimable(small: pd.DataFrame) -> None:
    one = small.assign(cohort=np.where(small["region"] == "R01", 2012, 0))
    res = leave_one_out(one, _fit, unit="region")
    bad = res.table[res.table["status"] != "ok"]
    assert list(bad["left_out"]) == ["R01"]
    assert bad["status"].iloc[0].startswith("not estimable: no observation is treated")
    assert np.isnan(bad["estimate"].iloc[0]) and res.n_failed == 1
    assert "R01" not in (res.argmin, res.argmax)


def test_leave_one_out_errors(small: pd.DataFrame) -> None:
    with pytest.raises(UserInputError, match="not in the data"):
        leave_one_out(small, _fit, unit="nope")
    with pytest.raises(UserInputError, match="fit must be a function"):
        leave_one_out(small, None, unit="region")  # type: ignore[arg-type]
