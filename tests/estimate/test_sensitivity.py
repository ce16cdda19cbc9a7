"""Tests of the sensitivity layer on estimation results (``clusterpolicy.estimate.sensitivity``): the pre-trend test
and the Rambachan-Roth sets use the same event-time window, varying-base event studies are converted exactly, and
errors are one line. The HonestDiD numbers themselves are tested against the published ones in
``test_honestdid.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import EstimationError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.honestdid import event_study_inputs, pretrend_wald, sensitivity_bounds
from clusterpolicy.estimate.sensitivity import (
    pretrend_test,
    rambachan_roth,
    sensitivity_analysis,
    to_universal_base,
    universal_event_study,
)

ROLES = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}


@pytest.fixture(scope="module")
def cs_result():
    data = simulate_region_panel(seed=4).data
    return estimate(data, estimator="cs", control="notyet", **ROLES)


@pytest.fixture(scope="module")
def es_result():
    data = simulate_region_panel(seed=4).data
    return estimate(data, estimator="twfe_es", **ROLES)


def test_to_universal_base_cumulates_pre_period_changes() -> None:
    es = pd.DataFrame({"event_time": [-3, -2, -1, 0, 1], "estimate": [0.1, 0.2, 0.3, 1.0, 2.0], "se": [1.0] * 5})
    vcov = pd.DataFrame(np.eye(5), index=es["event_time"], columns=es["event_time"])
    uni, v = to_universal_base(es, vcov)
    assert uni["event_time"].tolist() == [-3, -2, 0, 1]
    np.testing.assert_allclose(uni["estimate"], [-(0.2 + 0.3), -0.3, 1.0, 2.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(v.loc[[-3, -2], [-3, -2]].to_numpy(), [[2.0, 1.0], [1.0, 1.0]], rtol=0, atol=1e-15)


def test_wald_statistic_is_the_same_in_either_base(cs_result) -> None:
    """The varying-to-universal map is linear and invertible on the pre-periods: the joint test cannot change."""
    es, vcov = cs_result.event_study, cs_result.event_study_vcov
    # universal-base levels at -4..-2 are sums of the one-period placebo changes at -3..-1
    pre = [t for t in es["event_time"] if -3 <= t <= -1]
    b = es.set_index("event_time").loc[pre, "estimate"].to_numpy()
    direct = pretrend_wald(b, vcov.loc[pre, pre].to_numpy())
    converted = pretrend_test(cs_result, window=(4, 0))
    assert converted.chi2 == pytest.approx(direct.chi2, rel=1e-10)
    assert converted.df == len(pre) == 3
    assert converted.df_denom == cs_result.inference.n_clusters - 1  # F version with G - 1


def test_test_and_bounds_use_the_same_window(es_result) -> None:
    window = (3, 2)
    sens = sensitivity_analysis(es_result, rm_grid=(0.0, 1.0), sd_grid=(0.0,), window=window, grid_points=100)
    es, vcov = universal_event_study(es_result, window=window)
    b, s, n_pre, n_post, pre, post = event_study_inputs(es["event_time"], es["estimate"], vcov.to_numpy(), -1)
    assert sens.pre_times == tuple(pre) == (-3, -2) and sens.post_times == tuple(post) == (0, 1, 2)
    assert sens.pretrend.chi2 == pytest.approx(pretrend_wald(b[:n_pre], s[:n_pre, :n_pre]).chi2, rel=1e-12)
    direct = sensitivity_bounds(b, s, n_pre, n_post, [0.0, 1.0], restriction="rm", target="average", grid_points=100)
    assert sens.relative_magnitudes.rows == direct.rows
    # the SD set at M = 0 is narrower than the RM set at Mbar = 1
    sd0, rm1 = sens.smoothness.rows[0], sens.relative_magnitudes.rows[1]
    assert sd0[2] - sd0[1] < rm1[2] - rm1[1]


def test_rambachan_roth_bounds_widen_with_mbar(es_result) -> None:
    res = rambachan_roth(es_result, grid=(0.0, 0.5, 1.0), target="first", grid_points=100)
    widths = [ub - lb for _, lb, ub, _ in res.rows]
    assert widths == sorted(widths)


def test_results_without_a_covariance_are_refused() -> None:
    data = simulate_region_panel(seed=4).data
    static = estimate(data, estimator="twfe", **ROLES)
    with pytest.raises(EstimationError, match="no event study with a covariance") as info:
        pretrend_test(static)
    assert "\n" not in str(info.value)


def test_smoothness_grid_in_standard_errors(es_result) -> None:
    """``sd_relative=True``: the Delta-SD grid is in multiples of the target's SE under parallel trends, and the
    sets equal those of ``rambachan_roth`` on the converted grid (same window, same target)."""
    from clusterpolicy.estimate.honestdid import event_study_inputs, target_vector

    grid = (0.0, 0.5, 1.0)
    sens = sensitivity_analysis(es_result, rm_grid=None, sd_grid=grid, sd_relative=True, target="average")
    es, vcov = universal_event_study(es_result)
    _, sigma, num_pre, num_post, _, _ = event_study_inputs(es["event_time"].to_numpy(), es["estimate"].to_numpy(),
                                                           vcov.to_numpy(), -1)
    lv = target_vector("average", num_post)
    assert sens.sd_unit == pytest.approx(float(np.sqrt(lv @ sigma[num_pre:, num_pre:] @ lv)), rel=1e-12)
    assert sens.smoothness is not None
    assert [r[0] for r in sens.smoothness.rows] == pytest.approx([g * sens.sd_unit for g in grid], rel=1e-12)
    direct = rambachan_roth(es_result, restriction="sd", grid=[g * sens.sd_unit for g in grid], target="average")
    assert [v for r in sens.smoothness.rows for v in r[1:3]] == pytest.approx(
        [v for r in direct.rows for v in r[1:3]], rel=1e-10)
    widths = [ub - lb for _, lb, ub, _ in sens.smoothness.rows]
    assert all(b >= a - 1e-12 for a, b in zip(widths, widths[1:]))  # a larger M never shortens the FLCI
