"""Prepared refits (:class:`BoundEstimate.refitter`) give the numbers of the full :func:`estimate` on a SIMULATED
panel, balanced and unbalanced, for new cohorts (randomisation inference: twfe, cs, imputation) and new outcomes
(power simulations: twfe)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import ClusterPolicyWarning, EstimationError
from clusterpolicy.estimate.api import BoundEstimate, estimate
from clusterpolicy.estimate.inference import randomization_inference, with_randomization
from clusterpolicy.estimate.power import simulate_power

ROLES = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}
#: Balanced panels: the fixed effects are swept out exactly, so a refit and the full fit agree to rounding.
RTOL = 1e-12
#: Unbalanced panels: the fixed effects are swept out by alternating projections run to a tolerance. The full fit
#: demeans the outcome and the treatment together, a refit one of them alone, so the two stop after different
#: sweeps and agree only to that convergence: differences of up to about 1e-12 of the SE were seen across machines
#: and BLAS thread settings (1e-10 leaves room; a real error is of the order of the estimate).
RTOL_ITERATIVE = 1e-10


def _balanced() -> pd.DataFrame:
    return simulate_region_panel(seed=3).data


def _unbalanced() -> pd.DataFrame:
    """Rows dropped at random, a few missing outcomes and shuffled row order: prepare_panel's sorting, dropping
    and iterative (not one-sweep) demeaning are all exercised."""
    df = _balanced()
    rng = np.random.default_rng(5)
    df = df.drop(index=rng.choice(df.index, size=60, replace=False))
    df.loc[rng.choice(df.index, size=5, replace=False), "y"] = np.nan
    return df.sample(frac=1.0, random_state=2).reset_index(drop=True)


def _permuted(df: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    first = df.groupby("region")["cohort"].first()
    perm = dict(zip(first.index, first.to_numpy()[rng.permutation(first.size)], strict=True))
    return df["region"].map(perm)


def _close(a: float, b: float, rtol: float = RTOL, scale: float = 0.0) -> bool:
    """``a`` equals ``b`` to ``rtol`` relative to the larger of them (or ``scale``, for values that may be near 0)."""
    return bool(abs(a - b) <= rtol * max(abs(a), abs(b), scale))


def _same_result(fast, full, rtol: float = RTOL) -> None:
    for name in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        a, b = getattr(fast, name), getattr(full, name)
        # interval ends can sit near zero: their error is measured against the SE that sets them
        assert _close(a, b, rtol, scale=full.se if name.startswith("ci_") else 0.0), (name, a, b)
    assert fast.n_obs == full.n_obs and fast.n_units == full.n_units
    assert fast.inference == full.inference
    assert fast.details["df_k"] == full.details["df_k"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        yield


@pytest.mark.parametrize("make", [_balanced, _unbalanced], ids=["balanced", "unbalanced"])
@pytest.mark.parametrize("cluster", [None, "block"])
def test_twfe_refit_with_cohorts_equals_estimate(make, cluster):
    df = make()
    df = df.assign(block=df["region"].str[-1].astype(int) % 4)  # clusters of several units
    kwargs = dict(estimator="twfe", single_treated_rule=False, **ROLES, **({"cluster": cluster} if cluster else {}))
    refit = BoundEstimate(**kwargs).refitter(df)
    assert refit is not None
    rng = np.random.default_rng(11)
    for _ in range(8):
        cohorts = _permuted(df, rng)
        _same_result(refit.with_cohorts(cohorts.to_numpy()), estimate(df.assign(cohort=cohorts), **kwargs),
                     RTOL if make is _balanced else RTOL_ITERATIVE)


@pytest.mark.parametrize("make", [_balanced, _unbalanced], ids=["balanced", "unbalanced"])
def test_twfe_refit_with_outcome_equals_estimate(make):
    df = make().dropna(subset=["y"])
    kwargs = dict(estimator="twfe", single_treated_rule=False, **ROLES)
    refit = BoundEstimate(**kwargs).refitter(df)
    assert refit is not None
    rng = np.random.default_rng(12)
    for _ in range(8):
        y = df["y"].to_numpy() + rng.normal(scale=0.3, size=len(df))
        _same_result(refit.with_outcome(y), estimate(df.assign(y=y), **kwargs),
                     RTOL if make is _balanced else RTOL_ITERATIVE)
    # a missing value changes the sample: the refit declines and the caller fits in full
    assert refit.with_outcome(np.where(np.arange(len(df)) == 3, np.nan, df["y"].to_numpy())) is None


def test_refit_with_outcome_declines_when_first_fit_dropped_rows():
    df = _unbalanced()
    refit = BoundEstimate(estimator="twfe", single_treated_rule=False, **ROLES).refitter(df)
    assert refit is not None
    assert refit.with_outcome(np.zeros(len(df))) is None


@pytest.mark.parametrize("make", [_balanced, _unbalanced], ids=["balanced", "unbalanced"])
@pytest.mark.parametrize("options", [dict(estimator="cs"), dict(estimator="cs", control="notyet", method="reg"),
                                     dict(estimator="cs", covariates=["x"]), dict(estimator="imputation")],
                         ids=["cs", "cs-notyet-reg", "cs-covariates", "imputation"])
def test_panel_refit_with_cohorts_equals_estimate(make, options):
    """cs and imputation: the panel is prepared once and only its timing columns change; the full result, and
    the estimate alone, are those of estimate() on the permuted frame (the same code, so exactly)."""
    df = make()
    if "covariates" in options:  # the actual assignment must be estimable for the refitter to be built
        df = _balanced()
    kwargs = dict(single_treated_rule=False, **ROLES, **options)
    refit = BoundEstimate(**kwargs).refitter(df)
    assert refit is not None
    rng = np.random.default_rng(13)
    n_failed = 0
    for _ in range(6):
        cohorts = _permuted(df, rng)
        try:
            full = estimate(df.assign(cohort=cohorts), **kwargs)
        except EstimationError:  # an assignment the estimator cannot estimate fails the same way when refitted
            n_failed += 1
            for estimate_only in (False, True):
                with pytest.raises(EstimationError):
                    refit.with_cohorts(cohorts.to_numpy(), estimate_only=estimate_only)
            continue
        fast = refit.with_cohorts(cohorts.to_numpy())
        assert fast.estimate == full.estimate and fast.se == full.se and fast.p_value == full.p_value
        pd.testing.assert_frame_equal(fast.event_study, full.event_study)
        assert refit.with_cohorts(cohorts.to_numpy(), estimate_only=True) == full.estimate
    assert n_failed < 6


def test_refitter_only_where_it_applies():
    df = _balanced()
    assert BoundEstimate(estimator="sa", **ROLES).refitter(df) is None
    assert BoundEstimate(estimator="cs", **ROLES).refitter(df).with_outcome(df["y"].to_numpy()) is None
    assert BoundEstimate(estimator="twfe", covariates=["x"], **ROLES).refitter(df) is None
    assert BoundEstimate(estimator="twfe", ssc="linearmodels", **ROLES).refitter(df) is None
    one = df.assign(cohort=np.where(df["region"] == "R01", 2009, 0))
    # one treated unit: the full estimate replaces the interval by placebo inference, so no fast path
    assert BoundEstimate(estimator="twfe", **ROLES).refitter(one) is None
    assert BoundEstimate(estimator="twfe", single_treated_rule=False, **ROLES).refitter(one) is not None


def test_refit_no_treatment_variation_raises():
    df = _balanced()
    refit = BoundEstimate(estimator="twfe", **ROLES).refitter(df)
    with pytest.raises(EstimationError):
        refit.with_cohorts(np.zeros(len(df)))


@pytest.mark.parametrize("statistic", ["estimate", "t"])
def test_randomization_inference_same_with_bound_estimator(statistic):
    df = _unbalanced()

    def fit(frame):
        return estimate(frame, estimator="twfe", **ROLES)

    kw = dict(unit="region", cohort="cohort", statistic=statistic, n_permutations=25, seed=4)
    slow = randomization_inference(df, fit, **kw)
    fast = randomization_inference(df, BoundEstimate(estimator="twfe", **ROLES), **kw)
    assert fast.p_value == slow.p_value and fast.n_permutations == slow.n_permutations
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=RTOL_ITERATIVE, atol=0)
    assert _close(fast.observed, slow.observed, RTOL_ITERATIVE)


@pytest.mark.parametrize("estimator", ["cs", "imputation"])
@pytest.mark.parametrize("statistic", ["estimate", "t"])
def test_randomization_inference_same_with_panel_refits(estimator, statistic):
    df = _unbalanced().assign(area=lambda d: d["region"].str[-1].astype(int) % 2)

    def fit(frame):
        return estimate(frame, estimator=estimator, single_treated_rule=False, **ROLES)

    kw = dict(unit="region", cohort="cohort", strata="area", statistic=statistic, n_permutations=20, seed=4)
    slow = randomization_inference(df, fit, **kw)
    fast = randomization_inference(df, BoundEstimate(estimator=estimator, single_treated_rule=False, **ROLES), **kw)
    assert fast.p_value == slow.p_value and fast.n_failed == slow.n_failed
    np.testing.assert_array_equal(fast.distribution, slow.distribution)
    assert fast.p_value == slow.p_value and fast.n_permutations == slow.n_permutations
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=RTOL, atol=0)
    assert _close(fast.observed, slow.observed)


def test_with_randomization_twfe_uses_the_same_statistic():
    df = _balanced()
    res = estimate(df, estimator="twfe", **ROLES)
    out = with_randomization(res, df, unit="region", time="year", cohort="cohort", n_permutations=20, seed=1,
                             estimator="twfe", outcome="y")
    slow = randomization_inference(
        df, lambda f: estimate(f, estimator="twfe", single_treated_rule=False, **ROLES), unit="region",
        cohort="cohort", n_permutations=20, seed=1)
    assert out.randomization["p_value"] == slow.p_value
    assert _close(out.randomization["mean"], float(slow.distribution.mean()))


def test_simulate_power_same_with_and_without_refits():
    df = _balanced()
    kw = dict(unit="region", time="year", cohort="cohort", outcome="y", deltas=(0.0, 0.1), n_sims=12, seed=9)
    fast = simulate_power(df, **kw).table  # the default fit is a BoundEstimate

    def slow_fit(frame):
        return estimate(frame, estimator="twfe", single_treated_rule=False, **ROLES)

    slow = simulate_power(df, fit=slow_fit, **kw).table
    assert fast["power"].tolist() == slow["power"].tolist()
    np.testing.assert_allclose(fast.to_numpy(dtype=float), slow.to_numpy(dtype=float), rtol=RTOL, atol=1e-15)
