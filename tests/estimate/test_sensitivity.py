"""Pre-trend diagnostics and Rambachan-Roth style bounds on constructed event studies (answers worked by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.result import EstimationResult, Inference
from clusterpolicy.estimate.sensitivity import (
    flci_critical_value,
    pretrend_test,
    relative_magnitudes_bounds,
    smoothness_bounds,
)

SE = 0.05


def _es(values: dict[int, float], se: float = SE) -> pd.DataFrame:
    rows = [{"event_time": e, "estimate": b, "se": se} for e, b in values.items()]
    rows.append({"event_time": -1, "estimate": 0.0, "se": np.nan})  # the normalised reference period
    return pd.DataFrame(rows)


def _covers(theta_over_se: float, r: float) -> float:
    """P(|N(r, 1)| <= theta/se): the coverage condition that defines the significance breakdown."""
    return stats.norm.cdf(theta_over_se - r) - stats.norm.cdf(-theta_over_se - r)


def test_flci_critical_value():
    assert flci_critical_value(0.0) == pytest.approx(1.959963984540054, rel=1e-12)
    for r in (0.3, 2.0):
        c = flci_critical_value(r)
        assert _covers(c, r) == pytest.approx(0.95, abs=1e-10)


def test_pretrend_wald_diagonal_closed_form():
    es = _es({-3: 0.02, -2: -0.01, 0: 0.2, 1: 0.3})
    with pytest.warns(ClusterPolicyWarning, match="diagonal"):
        res = pretrend_test(es)
    # (0.02^2 + 0.01^2) / 0.05^2 = 0.2 ; chi2(2) survival = exp(-x/2)
    assert res.statistic == pytest.approx(0.2, rel=1e-12)
    assert res.df == 2 and res.event_times == (-3, -2)
    assert res.p_value == pytest.approx(math.exp(-0.1), rel=1e-12)
    assert not res.used_covariance and "DIAGONAL" in res.summary()


def test_pretrend_wald_uses_covariance_from_result_details():
    times = [-3, -2, 0, 1]
    V = np.diag([SE**2] * 4)
    V[0, 1] = V[1, 0] = 0.5 * SE**2
    es = _es({-3: 0.02, -2: -0.01, 0: 0.2, 1: 0.3})
    result = EstimationResult.from_estimate(
        estimator="cs", outcome="y", estimate=0.25, se=0.04, n_obs=100, n_units=10, event_study=es,
        inference=Inference.rule(se_type="test", n_clusters=10),
        event_study_vcov=pd.DataFrame(V, index=times, columns=times),
    )
    res = pretrend_test(result)
    b = np.array([0.02, -0.01])
    expected = b @ np.linalg.solve(V[:2, :2], b)
    assert res.used_covariance
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.statistic != pytest.approx(0.2, rel=1e-3)  # the correlation matters


def test_relative_magnitudes_by_hand():
    es = _es({-3: 0.02, -2: -0.01, 0: 0.2, 1: 0.3})
    with pytest.warns(ClusterPolicyWarning):
        res = relative_magnitudes_bounds(es, mbar_grid=(0.0, 1.0))
    # Dpre = max(|-0.01 - 0.02|, |0 - (-0.01)|) = 0.03 ; post steps e+1 = 1, 2 -> mean 1.5 ; bias per Mbar 0.045
    assert res.bias_per_unit == pytest.approx(0.045, rel=1e-12)
    assert res.theta == pytest.approx(0.25, rel=1e-12)
    assert res.se == pytest.approx(SE * math.sqrt(2) / 2, rel=1e-12)
    assert res.breakdown_sign == pytest.approx(0.25 / 0.045, rel=1e-12)
    # significance breakdown: P(|N(r,1)| <= theta/se) = 0.95 with r = 0.045 Mbar / se ; ~ (7.0711-1.6449)*se/0.045
    r = 0.045 * res.breakdown_significance / res.se
    assert _covers(res.theta / res.se, r) == pytest.approx(0.95, abs=1e-9)
    assert res.breakdown_significance == pytest.approx((0.25 / res.se - 1.644854) * res.se / 0.045, abs=1e-3)
    row = res.bounds.set_index("parameter").loc[1.0]
    assert row["id_low"] == pytest.approx(0.205, rel=1e-12) and row["id_high"] == pytest.approx(0.295, rel=1e-12)
    assert row["ci_low"] < row["id_low"]
    row0 = res.bounds.set_index("parameter").loc[0.0]
    assert row0["ci_low"] == pytest.approx(0.25 - 1.959964 * res.se, rel=1e-6)


def test_relative_magnitudes_not_significant_gives_zero_breakdown():
    es = _es({-2: 0.01, 0: 0.02, 1: 0.03}, se=0.1)
    with pytest.warns(ClusterPolicyWarning):
        res = relative_magnitudes_bounds(es)
    assert res.breakdown_significance == 0.0
    assert res.breakdown_sign == pytest.approx(0.025 / (0.01 * 1.5), rel=1e-12)


def test_smoothness_pure_linear_pretrend_explains_everything():
    # delta_{-2} = -0.1, delta_{-1} = 0: slope 0.1 a period; post 0.1, 0.2 is exactly the extrapolated trend.
    es = _es({-2: -0.1, 0: 0.1, 1: 0.2})
    with pytest.warns(ClusterPolicyWarning):
        res = smoothness_bounds(es)
    assert res.theta == pytest.approx(0.0, abs=1e-15)
    assert res.breakdown_sign == pytest.approx(0.0, abs=1e-12) and res.breakdown_significance == 0.0


def test_smoothness_by_hand():
    es = _es({-2: -0.1, 0: 0.6, 1: 0.7})
    with pytest.warns(ClusterPolicyWarning):
        res = smoothness_bounds(es, m_grid=(0.0, 0.1))
    # theta = 0.65 - 0.1 * mean(1, 2) = 0.5 ; bias per M = mean(1*2/2, 2*3/2) = 2 ; se = 0.05 sqrt(.25+.25+1.5^2)
    assert res.theta == pytest.approx(0.5, rel=1e-12)
    assert res.bias_per_unit == pytest.approx(2.0, rel=1e-12)
    assert res.se == pytest.approx(SE * math.sqrt(2.75), rel=1e-12)
    assert res.breakdown_sign == pytest.approx(0.25, rel=1e-12)
    assert 0 < res.breakdown_significance < 0.25
    row = res.bounds.set_index("parameter").loc[0.1]
    assert row["id_low"] == pytest.approx(0.3, rel=1e-12)
    assert "plug-in" in res.summary()


def test_sensitivity_errors():
    no_es = EstimationResult.from_estimate(estimator="twfe", outcome="y", estimate=1.0, se=0.1, n_obs=1, n_units=1,
                                           inference=Inference.rule(se_type="test", n_clusters=2))
    with pytest.raises(EstimationError, match="has no event study"):
        pretrend_test(no_es)
    with pytest.raises(EstimationError, match="needs the coefficient at event time -2"):
        smoothness_bounds(_es({-3: 0.0, 0: 0.1}), vcov=np.eye(2) * SE**2)
    with pytest.raises(UserInputError, match="vcov has shape"):
        pretrend_test(_es({-2: 0.0, 0: 0.1}), vcov=np.eye(3))


def test_pretrend_reference_none_keeps_estimated_minus_one():
    es = pd.DataFrame({"event_time": [-3, -2, -1, 0], "estimate": [0.02, -0.01, 0.03, 0.2], "se": [SE] * 4})
    with pytest.warns(ClusterPolicyWarning):
        res = pretrend_test(es, reference=None)
    assert res.df == 3 and res.event_times == (-3, -2, -1)
    assert res.statistic == pytest.approx((0.02**2 + 0.01**2 + 0.03**2) / SE**2, rel=1e-12)
