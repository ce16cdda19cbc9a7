"""ETWFE Poisson refits with new cohorts (randomisation inference's path): the estimate-only IRLS of
:func:`clusterpolicy.estimate.counts.etwfe_estimate` must give the estimate of the full pyfixest fit, and fail where
it fails."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import ClusterPolicyWarning, EstimationError
from clusterpolicy.estimate.api import BoundEstimate, estimate
from clusterpolicy.estimate.inference import randomization_inference

ROLES = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "collaborations"}
#: Two IRLS runs of the same model from the same start with the same stopping rule; they differ only in the
#: linear solver's rounding (pyfixest's scipy solve of the same normal equations).
RTOL = 1e-9


def _counts() -> pd.DataFrame:
    return simulate_region_panel(seed=3).data


def _permuted(df: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    first = df.groupby("region")["cohort"].first()
    perm = dict(zip(first.index, first.to_numpy()[rng.permutation(first.size)], strict=True))
    return df["region"].map(perm)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        yield


@pytest.mark.parametrize("control", ["notyet", "never"])
def test_etwfe_refit_estimate_equals_full_fit(control):
    df = _counts()
    kwargs = dict(estimator="etwfe", control=control, single_treated_rule=False, **ROLES)
    refit = BoundEstimate(**kwargs).refitter(df)
    assert refit is not None
    rng = np.random.default_rng(7)
    for _ in range(5):
        cohorts = _permuted(df, rng)
        full = estimate(df.assign(cohort=cohorts), **kwargs)
        fast = refit.with_cohorts(cohorts.to_numpy(), estimate_only=True)
        assert isinstance(fast, float)
        assert abs(fast - full.estimate) <= RTOL * max(1.0, abs(full.estimate)), (fast, full.estimate)
        # without estimate_only the refit is the full estimator (same code, so exactly)
        assert refit.with_cohorts(cohorts.to_numpy()).estimate == full.estimate


def test_etwfe_refit_fails_where_the_full_fit_fails():
    """A cohort treated from the first year has no untreated cell: its cohort dummy is collinear with its cell
    dummies, and both paths raise EstimationError."""
    df = _counts()
    kwargs = dict(estimator="etwfe", single_treated_rule=False, **ROLES)
    refit = BoundEstimate(**kwargs).refitter(df)
    assert refit is not None
    only_treated = np.where(df["cohort"] > 0, df["year"].min(), 0)
    with pytest.raises(EstimationError):
        estimate(df.assign(cohort=only_treated), **kwargs)
    with pytest.raises(EstimationError):
        refit.with_cohorts(only_treated, estimate_only=True)


def test_randomization_inference_same_with_etwfe_refits():
    df = _counts().assign(area=lambda d: d["region"].str[-1].astype(int) % 2)
    kwargs = dict(estimator="etwfe", single_treated_rule=False, **ROLES)

    def fit(frame):
        return estimate(frame, **kwargs)

    kw = dict(unit="region", cohort="cohort", strata="area", n_permutations=12, seed=4)
    slow = randomization_inference(df, fit, **kw)
    fast = randomization_inference(df, BoundEstimate(**kwargs), **kw)
    assert fast.p_value == slow.p_value and fast.n_failed == slow.n_failed
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=RTOL, atol=0)
