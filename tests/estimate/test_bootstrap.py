"""Tests of the clustered multiplier bootstrap (``clusterpolicy.estimate.bootstrap``) and its use by the estimators.

Tolerances: with 4,999 draws the IQR-based bootstrap SE has a Monte Carlo relative error of about 2 %; 10 % is
five of those. The sup-t critical value of k independent columns is the 95 % point of the max of k |N(0,1)|,
about 2.80 for k = 10 (checked to 0.15)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.bootstrap import BootstrapSpec, draw_weights, multiplier_bootstrap


@pytest.mark.parametrize("weights", ["rademacher", "mammen", "webb"])
def test_weights_have_mean_zero_and_variance_one(weights) -> None:
    v = draw_weights(weights, 2000, 500, np.random.default_rng(3))
    assert abs(v.mean()) < 0.01 and abs(v.var() - 1) < 0.01


@pytest.mark.parametrize("weights", ["rademacher", "mammen", "webb"])
def test_bootstrap_se_matches_the_analytic_se(weights) -> None:
    contrib = np.random.default_rng(0).normal(size=(400, 3)) * np.array([1.0, 2.0, 0.5])
    analytic = np.sqrt((contrib**2).sum(axis=0))
    res = multiplier_bootstrap(contrib, n_boot=4999, weights=weights, seed=1)
    np.testing.assert_allclose(res.se, analytic, rtol=0.10)


def test_sup_t_critical_value_of_independent_columns() -> None:
    contrib = np.random.default_rng(1).normal(size=(3000, 11))
    contrib[:, 1:] = np.linalg.qr(contrib[:, 1:])[0] * np.sqrt(3000)  # orthogonal columns: independent draws
    res = multiplier_bootstrap(contrib, n_boot=4999, seed=2, band=np.r_[False, np.ones(10, bool)])
    expected = stats.norm.ppf(0.5 + 0.95 ** (1 / 10) / 2)
    assert res.uniform_critical_value == pytest.approx(expected, abs=0.15)


def test_same_seed_same_draws_and_bad_requests() -> None:
    contrib = np.random.default_rng(0).normal(size=(50, 2))
    a, b = (multiplier_bootstrap(contrib, n_boot=199, seed=5) for _ in range(2))
    np.testing.assert_array_equal(a.se, b.se)
    with pytest.raises(UserInputError, match="too few"):
        BootstrapSpec(n_boot=10)
    with pytest.raises(UserInputError, match="weights"):
        BootstrapSpec(n_boot=199, weights="uniform")  # type: ignore[arg-type]


@pytest.mark.parametrize("estimator", ["cs", "sa", "imputation", "did2s", "twfe_es"])
def test_estimators_report_bands_and_the_rule(estimator) -> None:
    data = simulate_region_panel(seed=2).data
    kw = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y", "estimator": estimator}
    res = estimate(data, **kw, bootstrap=BootstrapSpec(n_boot=499, seed=4))
    analytic = estimate(data, **kw)
    inf = res.inference
    assert inf.method == "multiplier bootstrap" and inf.n_boot == 499
    assert inf.critical_value == pytest.approx(stats.t.ppf(0.975, inf.n_clusters - 1), rel=1e-12)
    assert res.se == pytest.approx(analytic.se, rel=0.25)
    assert res.ci_low == pytest.approx(res.estimate - inf.critical_value * res.se, rel=1e-12)
    es = res.event_study.dropna(subset=["uniform_low"])
    assert len(es) > 0 and (es["uniform_low"] <= es["ci_low"] + 1e-12).all()
