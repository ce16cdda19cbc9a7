"""Demonstration studies on SIMULATED data (``clusterpolicy.study.simulated``): the fields are the published keys,
and the numbers are those of the simulation and the estimator."""

from __future__ import annotations

import dataclasses

import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.estimate.api import estimate
from clusterpolicy.study.simulated import ROLES, describe_simulated, twfe_simulated


def _published(values) -> set[str]:
    return {f.name for f in dataclasses.fields(values) if f.metadata.get("publish", True)}


def test_describe_simulated_counts_the_panel():
    v = describe_simulated(seed=7, n_regions=12, treated_share=0.5, effect=0.1)
    assert _published(v) == {"n_regions", "n_years", "n_treated", "true_att"}
    assert v.n_regions == 12 and v.n_treated == int(v.cohort_sizes.drop(index=0)["regions"].sum())
    assert v.n_years == v.panel["year"].nunique()
    assert v.true_att == simulate_region_panel(n_regions=12, treated_share=0.5, effect=0.1, seed=7).true_att()


@pytest.mark.parametrize("heterogeneity,dynamic", [(0.0, 0.0), (1.0, 0.15)])
def test_twfe_simulated_compares_the_estimate_with_the_truth(heterogeneity, dynamic):
    v = twfe_simulated(seed=3, n_regions=16, effect=0.1, dynamic=dynamic, heterogeneity=heterogeneity)
    assert {"twfe_estimate", "twfe_ci_low", "twfe_ci_high", "true_att", "bias", "truth_in_ci"} <= _published(v)
    sim = simulate_region_panel(n_regions=16, effect=0.1, dynamic=dynamic, heterogeneity=heterogeneity, seed=3)
    direct = estimate(sim.data, estimator="twfe", **ROLES)
    assert v.twfe_estimate == direct.estimate and v.twfe_se == direct.se
    assert v.bias == pytest.approx(v.twfe_estimate - v.true_att)
    assert v.truth_in_ci == (v.twfe_ci_low <= v.true_att <= v.twfe_ci_high)
    assert list(v.table["value"]) == [v.twfe_estimate, v.true_att]
