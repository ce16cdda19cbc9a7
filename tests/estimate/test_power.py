"""Simulated power and MDE on a SIMULATED region panel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.power import simulate_power

N_SIMS = 150
DELTAS = (0.0, 0.04, 0.08, 0.12, 0.16)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_region_panel(seed=7).data


@pytest.fixture(scope="module")
def curve(panel):
    return simulate_power(panel, unit="region", time="year", cohort="cohort", outcome="y", deltas=DELTAS,
                          n_sims=N_SIMS, seed=11)


def test_size_near_nominal_at_zero_effect(curve):
    size = curve.table.loc[curve.table["delta"] == 0.0, "power"].item()
    # 3 Monte Carlo standard errors of a 0.05 rejection rate with 150 draws (~0.053)
    assert abs(size - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / N_SIMS)


def test_power_rises_with_delta(curve):
    p = curve.table["power"].to_numpy()
    assert np.all(np.diff(p) >= -2 * curve.table["mc_se"].to_numpy()[1:])
    assert p[-1] > 0.9 and p[-1] - p[0] > 0.8
    # TWFE is linear in y and the residuals are shared across deltas: the mean estimate shifts by exactly delta
    shift = curve.table["mean_estimate"].to_numpy() - curve.table["mean_estimate"].iloc[0]
    assert_allclose(shift, np.array(DELTAS), atol=1e-10)


def test_mde_close_to_analytic_approximation(curve):
    assert np.isfinite(curve.mde)
    # (z_.975 + z_.8) * SE is a normal approximation; the simulated MDE uses t(39) p-values and a 5-point grid
    assert curve.mde == pytest.approx(curve.analytic_mde, rel=0.2)
    assert curve.mde == pytest.approx(curve.analytic_mde_sd, rel=0.2)
    assert "MDE at 80% power" in curve.summary()


def test_power_is_deterministic_given_seed(panel):
    kw = dict(unit="region", time="year", cohort="cohort", outcome="y", deltas=(0.0, 0.1), n_sims=20)
    a = simulate_power(panel, seed=3, **kw).table
    b = simulate_power(panel, seed=3, **kw).table
    c = simulate_power(panel, seed=4, **kw).table
    pd.testing.assert_frame_equal(a, b)
    assert not a["mean_estimate"].equals(c["mean_estimate"])


def test_multiplicative_counts_with_poisson(panel):
    res = simulate_power(panel, unit="region", time="year", cohort="cohort", outcome="collaborations",
                         deltas=(0.0, math.log(1.3)), n_sims=10, seed=1, scale="multiplicative")
    t = res.table.set_index("delta")
    # the Poisson log rate ratio moves by about the injected log(1.3) (counts are rescaled, not redrawn)
    assert t["mean_estimate"].iloc[1] - t["mean_estimate"].iloc[0] == pytest.approx(math.log(1.3), abs=0.02)
    assert t["power"].iloc[1] >= t["power"].iloc[0]


def test_power_user_errors(panel):
    with pytest.raises(UserInputError, match="not balanced"):
        simulate_power(panel.iloc[1:], unit="region", time="year", cohort="cohort", outcome="y", deltas=[0.1])
    with pytest.raises(UserInputError, match="scale='log' must be"):
        simulate_power(panel, unit="region", time="year", cohort="cohort", outcome="y", deltas=[0.1], scale="log")


# --------------------------------------------------------------------------- Monte Carlo script (quick mode)
def _load_monte_carlo():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "monte_carlo.py"
    spec = importlib.util.spec_from_file_location("monte_carlo_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_monte_carlo_quick_mode_is_deterministic_and_labelled(tmp_path):
    mc = _load_monte_carlo()
    out = tmp_path / "run0" / "mc.csv"
    assert mc.main(["--reps", "3", "--seed", "5", "--designs", "few_clusters,single_unit", "--workers", "1",
                    "--out", str(out)]) == 0
    # re-running one design with --merge recomputes its rows and keeps the other's: byte-identical to the full run
    merged = tmp_path / "run1" / "mc.csv"
    merged.parent.mkdir()
    for suffix in (".csv", ".json"):
        merged.with_suffix(suffix).write_bytes(out.with_suffix(suffix).read_bytes())
    assert mc.main(["--reps", "3", "--seed", "5", "--designs", "few_clusters", "--workers", "1", "--merge",
                    "--out", str(merged)]) == 0
    assert merged.read_bytes() == out.read_bytes()
    assert merged.with_suffix(".json").read_bytes() == out.with_suffix(".json").read_bytes()
    outs = [out]
    table = pd.read_csv(outs[0])
    assert set(table["data"]) == {"SIMULATED"}
    assert set(zip(table["design"], table["estimator"])) == {
        ("few_clusters", "twfe"), ("few_clusters", "twfe_wcr"), ("few_clusters", "cs_never"),
        ("few_clusters", "cs_never_normal"), ("few_clusters", "cs_never_welch"), ("few_clusters", "cs_never_boot"),
        ("few_clusters", "sa_boot"), ("few_clusters", "imputation_boot"), ("few_clusters", "twfe_ri"),
        ("few_clusters", "cs_never_ri"), ("single_unit", "synth"), ("single_unit", "twfe")}
    assert (table["n_failed"] == 0).all() and (table["n_reps"] == 3).all()
    for col in ("share_infinite_ci", "band_coverage_95", "band_coverage_mcse", "pointwise_joint_coverage_95",
                "mean_band_event_times"):
        assert col in table.columns
    rows = table.set_index("estimator")
    few = table[table["design"] == "few_clusters"].set_index("estimator")
    # same estimates and SE, only the critical value differs: t(9) intervals contain the normal ones
    assert_allclose(few.loc["cs_never_normal", ["mean_estimate", "mean_se"]],
                    few.loc["cs_never", ["mean_estimate", "mean_se"]], atol=1e-12)
    assert few.loc["cs_never", "coverage_95"] >= few.loc["cs_never_normal", "coverage_95"]
    # bands (and their pointwise comparison) only on the bootstrap rows
    boot = few.index.str.endswith("_boot")
    assert few.loc[boot, "band_coverage_95"].between(0, 1).all()
    assert few.loc[boot, "pointwise_joint_coverage_95"].between(0, 1).all()
    assert (few.loc[boot, "mean_band_event_times"] >= 1).all()
    assert few.loc[~boot, ["band_coverage_95", "pointwise_joint_coverage_95"]].isna().all().all()
    # the randomisation rows keep the estimator's estimate and replace only the interval
    assert_allclose(few.loc["cs_never_ri", "mean_estimate"], few.loc["cs_never", "mean_estimate"], atol=1e-12)
    assert_allclose(few.loc["twfe_ri", "mean_estimate"], few.loc["twfe", "mean_estimate"], atol=1e-12)
    assert few.loc[["cs_never_ri", "twfe_ri"], "coverage_95"].between(0, 1).all()
    # the single treated region goes through the placebo rule: an interval (possibly infinite) every replication
    single_twfe = table[(table["design"] == "single_unit") & (table["estimator"] == "twfe")].iloc[0]
    assert 0 <= single_twfe["share_infinite_ci"] <= 1 and np.isfinite(single_twfe["coverage_95"])
    assert np.isnan(rows.loc["synth", "share_infinite_ci"])
    assert_allclose(table["truth_mean"], 0.10, atol=1e-12)
    # bias is mean(estimate) - truth and RMSE >= |bias|
    assert_allclose(table["bias"], table["mean_estimate"] - table["truth_mean"], atol=2e-6)
    assert (table["rmse"] >= table["bias"].abs() - 1e-6).all()
    synth = table[table["estimator"] == "synth"].iloc[0]
    assert np.isnan(synth["coverage_95"])  # no standard error, no coverage
    assert (tmp_path / "run0" / "mc.json").exists()
