"""ETWFE Poisson on separated cohorts and near-singular sandwiches (the level fit behind the scale rule)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.errors import ClusterPolicyWarning
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.counts import _fix_vcov
from clusterpolicy.estimate.sensitivity import pretrend_test


def test_fix_vcov_symmetrises_and_clips_negative_eigenvalues() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    psd = a @ a.T
    np.testing.assert_allclose(_fix_vcov(psd), psd, rtol=1e-12)
    # a rank-deficient matrix with rounding noise: asymmetric and a tiny negative eigenvalue
    b = rng.normal(size=(4, 2))
    noisy = b @ b.T + np.diag([-1e-12, 0, 0, 0]) + np.triu(np.full((4, 4), 1e-9), 1)
    assert np.linalg.eigvalsh((noisy + noisy.T) / 2).min() < 0
    fixed = _fix_vcov(noisy)
    np.testing.assert_array_equal(fixed, fixed.T)
    assert np.linalg.eigvalsh(fixed).min() >= -1e-12
    assert np.abs(fixed - noisy).max() < 1e-8


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    years = range(2015, 2021)
    for u in range(12):
        cohort = 0 if u < 6 else (2017 if u < 10 else 2019)
        for yr in years:
            mu = 8.0 if cohort != 2019 else 0.0
            y = rng.poisson(mu)
            if cohort == 2019:  # a separated cohort: zero counts except in two interaction cells
                y = 2 if yr in (2015, 2020) else 0
            rows.append({"unit": f"u{u}", "year": yr, "cohort": cohort, "y": float(y)})
    return pd.DataFrame(rows)


def test_separated_cohort_is_dropped_with_a_reason_and_the_pretrend_test_is_computable() -> None:
    df = _panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        res = estimate(df, unit="unit", time="year", cohort="cohort", outcome="y", estimator="etwfe",
                       control="never")
    assert any("2019" in w and "separation" in w for w in res.warnings)
    assert set(res.group_time["group"]) == {2017}
    assert np.isfinite(res.event_study["se"]).all() and (res.event_study["se"] > 0).all()
    v = res.event_study_vcov.to_numpy()
    np.testing.assert_array_equal(v, v.T)
    test = pretrend_test(res, window=(5, 5))
    assert test.df >= 1 and 0 <= test.p_value <= 1


def test_all_cohorts_separated_is_an_error() -> None:
    df = _panel()
    df = df[df["cohort"] != 2017]
    from clusterpolicy.errors import EstimationError

    with pytest.raises(EstimationError, match="separated"):
        estimate(df, unit="unit", time="year", cohort="cohort", outcome="y", estimator="etwfe", control="never")
