"""The synthetic generators: the truth they report is the effect in the data they generate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import (
    REGION_CALENDAR,
    SimulatedPanel,
    cohort_scale,
    firm_true_log_rr,
    simulate_firm_panel,
    simulate_region_panel,
    true_effect,
)
from clusterpolicy.errors import UserInputError

# ---- region panel (used by the lead's demo): unchanged behaviour -------------------------------------------------

def test_region_panel_shape_and_truth():
    sim = simulate_region_panel(seed=5)
    assert isinstance(sim, SimulatedPanel)
    assert sim.data.shape == (40 * 16, 7) and sim.data.attrs["simulated"] is True
    assert (sim.data.groupby("cohort")["region"].nunique().drop(0) == 5).all()
    truth = sim.truth
    assert list(truth.columns) == ["group", "time", "event_time", "att", "log_rr"]
    assert (truth.loc[truth["event_time"] < 0, "att"] == 0).all()
    # tau(g, e) = effect * scale_g * (1 + dynamic * e), scales 1 + 0.5 (k - 1.5) / 4
    row = truth[(truth["group"] == 2014) & (truth["time"] == 2016)].iloc[0]
    assert row["att"] == pytest.approx(0.10 * (1 + 0.5 * 0.5 / 4) * (1 + 0.10 * 2), rel=1e-12)
    assert true_effect(np.array([-1, 0]), np.array([1.0, 1.0]), 0.1, 0.1).tolist() == [0.0, 0.1]
    assert sim.true_att() > 0 and len(sim.true_event_study()) == (2020 - 2009) + (2017 - 2005) + 1


def test_region_panel_is_deterministic():
    a, b = simulate_region_panel(seed=9), simulate_region_panel(seed=9)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)


# ---- firm panel --------------------------------------------------------------------------------------------------

def test_firm_panel_structure():
    sim = simulate_firm_panel(n_firms=500, n_regions=12, seed=3)
    data = sim.data
    assert data.attrs["simulated"] is True and sim.truth.attrs["simulated"] is True
    assert len(data) == 500 * 16 and not data.duplicated(["firm_id", "year"]).any()
    # firms are nested in regions; region attributes are constant within region
    assert (data.groupby("firm_id")["region"].nunique() == 1).all()
    assert (data.groupby("region")[["cohort", "n_institutes"]].nunique() == 1).all().all()
    expected = {code: g for code, _, g in REGION_CALENDAR[:12]}
    assert data.groupby("region")["cohort"].first().to_dict() == expected
    assert ((data["post"] == 1) == ((data["cohort"] > 0) & (data["year"] >= data["cohort"]))).all()
    assert (data["collaborations"] >= 0).all() and data["collaborations"].dtype == "int64"


def test_true_effect_formula():
    cohorts = (2009, 2011, 2014, 2015, 2016, 2017)
    assert cohort_scale(2009, cohorts, 0.5) == pytest.approx(1.25, rel=1e-12)
    assert cohort_scale(2017, cohorts, 0.5) == pytest.approx(0.75, rel=1e-12)
    assert cohort_scale(2013, cohorts, 0.5) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(firm_true_log_rr(np.array([-2, -1, 0, 1, 2, 3, 10]), 1.2, 0.2, 3),
                               [0, 0, 0.2 * 1.2 / 3, 0.2 * 1.2 * 2 / 3, 0.24, 0.24, 0.24], rtol=1e-12, atol=0)


def test_truth_table_is_internally_consistent():
    sim = simulate_firm_panel(n_firms=400, n_regions=11, seed=4, potential_outcomes=True)
    truth, data = sim.truth, sim.data
    assert (truth.loc[truth["event_time"] < 0, ["att", "log_rr"]] == 0).all().all()
    cells = data[data["cohort"] > 0].groupby(["cohort", "year"])["mu0"].agg(["mean", "size"]).reset_index()
    merged = truth.merge(cells, left_on=["group", "time"], right_on=["cohort", "year"], validate="1:1")
    np.testing.assert_allclose(merged["mean_y0"], merged["mean"], rtol=1e-12)
    assert (merged["n_firms"] == merged["size"]).all()
    np.testing.assert_allclose(truth["att"], truth["mean_y0"] * (truth["rate_ratio"] - 1), rtol=1e-12, atol=1e-15)
    # heterogeneous by cohort and dynamic in event time
    long_run = truth[truth["event_time"] >= 2].groupby("group")["log_rr"].first()
    assert long_run.is_monotonic_decreasing and long_run.nunique() == 6


def test_potential_outcomes_do_not_change_the_observed_data():
    a = simulate_firm_panel(n_firms=200, seed=8)
    b = simulate_firm_panel(n_firms=200, seed=8, potential_outcomes=True)
    pd.testing.assert_frame_equal(a.data, b.data.drop(columns=["mu0", "y0"]))


# With 100,000 firms the cells (cohort x year) hold >= 2,600 firms with E[Y0] >= 3.4, so the log of a ratio of
# two cell means has sd ~0.007 under Poisson and ~0.02 under NB2 (phi = 0.5), measured over 96 cells with seed 7.
# The tolerances are about 5-7 sd of the largest of 96 cells.
LOG_RATIO_ATOL = {"poisson": 0.05, "negbin": 0.10}
LEVEL_RTOL = 0.03  # pooled level ATT over ~650,000 treated firm-years


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_truth_matches_empirical_effect_in_a_huge_sample(family):
    sim = simulate_firm_panel(n_firms=100_000, family=family, base_rate=2.0, seed=7, potential_outcomes=True)
    data = sim.data[sim.data["cohort"] > 0]
    cells = data.groupby(["cohort", "year"]).agg(y=("collaborations", "mean"), y0=("y0", "mean")).reset_index()
    merged = cells.merge(sim.truth, left_on=["cohort", "year"], right_on=["group", "time"], validate="1:1")
    # ratio of treated to counterfactual means = exp(true log rate ratio), before and after onset
    np.testing.assert_allclose(np.log(merged["y"] / merged["y0"]), merged["log_rr"], rtol=0,
                               atol=LOG_RATIO_ATOL[family])
    post = data[data["post"] == 1]
    empirical_level = (post["collaborations"] - post["y0"]).mean()
    assert empirical_level == pytest.approx(sim.true_att(), rel=LEVEL_RTOL)
    # pre-onset: the observed data are untreated, so the pooled pre-period ratio is 1
    pre = data[data["post"] == 0]
    assert np.log(pre["collaborations"].mean() / pre["y0"].mean()) == pytest.approx(0.0, abs=0.01)


def test_negbin_dispersion_matches_documented_variance():
    sim = simulate_firm_panel(n_firms=50_000, family="negbin", dispersion=0.5, seed=2, potential_outcomes=True)
    mu0, y0 = sim.data["mu0"].to_numpy(), sim.data["y0"].to_numpy()
    # Var(Y | mu) = mu + phi mu^2  =>  E[(Y - mu)^2 - mu] / E[mu^2] = phi
    phi_hat = ((y0 - mu0) ** 2 - mu0).mean() / (mu0**2).mean()
    assert phi_hat == pytest.approx(0.5, abs=0.05)
    poisson = simulate_firm_panel(n_firms=50_000, family="poisson", seed=2, potential_outcomes=True)
    mu0, y0 = poisson.data["mu0"].to_numpy(), poisson.data["y0"].to_numpy()
    assert ((y0 - mu0) ** 2 - mu0).mean() / (mu0**2).mean() == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_regions": 22}, r"regions=22 is not allowed"),
    ({"n_firms": 3, "n_regions": 4}, r"firms=3 is fewer than regions=4"),
    ({"family": "zip"}, r"family='zip' is not allowed"),
    ({"ramp": 0}, r"ramp=0 is not allowed"),
])
def test_firm_panel_argument_errors(kwargs, match):
    with pytest.raises(UserInputError, match=match):
        simulate_firm_panel(**kwargs)
