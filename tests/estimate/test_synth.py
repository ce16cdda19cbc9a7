"""Synthetic control on simulated panels with a known effect (all data here are SIMULATED)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.synth import simplex_weights, synthetic_control


def _factor_panel(effect: float, *, seed: int, J: int = 20, T0: int = 15, T1: int = 5, noise: float = 0.1,
                  K: int = 4) -> pd.DataFrame:
    """Every unit (donors and the treated 'T') is a Dirichlet mixture of K latent random-walk series plus noise,
    so the treated unit is (up to noise) a convex combination of donors and exchangeable with them; the effect
    ``effect`` is added to 'T' from 2000 + T0 on."""
    rng = np.random.default_rng(seed)
    T = T0 + T1
    latent = np.cumsum(rng.normal(0, 1, (T, K)), axis=0) + rng.normal(0, 3, K)
    mix = rng.dirichlet(np.ones(K), size=J + 1)
    Y = latent @ mix.T + rng.normal(0, noise, (T, J + 1))
    Y[T0:, J] += effect
    names = [f"D{j:02d}" for j in range(J)] + ["T"]
    return pd.DataFrame({
        "region": np.tile(names, T), "year": np.repeat(np.arange(2000, 2000 + T), J + 1), "y": Y.ravel(),
        "x": np.tile(mix[:, 0], T),
    })


def _synth(df: pd.DataFrame, **kw):
    return synthetic_control(df, unit="region", time="year", outcome="y", treated_unit="T", treatment_time=2015, **kw)


def test_simplex_weights_recover_exact_convex_combination():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(30, 8))
    w_true = np.array([0.5, 0.3, 0.2, 0, 0, 0, 0, 0])
    w = simplex_weights(x0 @ w_true, x0)
    assert_allclose(w, w_true, atol=1e-6)
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)


def test_noise_free_panel_gap_equals_effect():
    rng = np.random.default_rng(1)
    T, J = 20, 6
    donors = np.cumsum(rng.normal(size=(T, J)), axis=0)
    w_true = np.array([0.6, 0.0, 0.4, 0.0, 0.0, 0.0])
    treated = donors @ w_true + 0.7 * (np.arange(T) >= 15)
    df = pd.DataFrame({
        "region": np.tile([f"D{j}" for j in range(J)] + ["T"], T),
        "year": np.repeat(np.arange(2000, 2000 + T), J + 1),
        "y": np.column_stack([donors, treated]).ravel(),
    })
    res = _synth(df, placebo=False)
    assert_allclose(res.weights.to_numpy(), w_true, atol=1e-6)
    assert res.pre_rmspe < 1e-6
    assert_allclose(res.path.loc[res.path["post"] == 1, "gap"], 0.7, atol=1e-5)
    assert res.att == pytest.approx(0.7, abs=1e-5)
    assert res.p_value is None


def test_known_effect_recovered_and_placebo_p_small():
    res = _synth(_factor_panel(1.0, seed=3))
    # post-period noise sd 0.1 on 5 periods plus interpolation error: 0.2 is ~4 SDs
    assert res.att == pytest.approx(1.0, abs=0.2)
    assert res.pre_rmspe < 0.2
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-12) and (res.weights >= 0).all()
    assert res.n_placebos_used == 20
    assert res.p_value == pytest.approx(1 / 21, abs=1e-12)  # the treated ratio is the largest of 21
    assert res.rmspe_ratio > res.placebos["rmspe_ratio"].max()
    out = res.to_estimation_result()
    assert out.estimator == "synth" and out.p_value == res.p_value and len(out.event_study) == 20
    assert "Placebo p-value" in res.summary()


def test_zero_effect_not_significant():
    res = _synth(_factor_panel(0.0, seed=3))
    assert abs(res.att) < 0.2
    assert res.p_value > 0.2


def test_pre_rmspe_cutoff_drops_badly_fitted_placebos():
    full = _synth(_factor_panel(1.0, seed=3))
    cut = _synth(_factor_panel(1.0, seed=3), placebo_pre_rmspe_cutoff=2.0)
    expected_kept = int((full.placebos["pre_rmspe"] <= 2.0 * full.pre_rmspe).sum())
    assert cut.n_placebos_used == expected_kept < 20
    assert cut.p_value == pytest.approx(1 / (expected_kept + 1), abs=1e-12)


def test_optimized_v_never_worse_pre_fit_than_equal_v():
    df = _factor_panel(0.5, seed=5)
    kw = {"predictors": ["x"], "outcome_lags": [2000, 2005, 2010, 2014], "placebo": False}
    eq = _synth(df, v_method="equal", **kw)
    opt = _synth(df, v_method="optimize", **kw)
    assert opt.pre_rmspe <= eq.pre_rmspe + 1e-12
    assert opt.predictor_weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_synth_user_errors():
    df = _factor_panel(0.0, seed=3)
    with pytest.raises(UserInputError, match="treated_unit 'XX' not found"):
        synthetic_control(df, unit="region", time="year", outcome="y", treated_unit="XX", treatment_time=2015)
    with pytest.raises(UserInputError, match="must be balanced"):
        _synth(df.drop(index=5), placebo=False)
    with pytest.raises(UserInputError, match="v_method='best' must be"):
        _synth(df, v_method="best")
