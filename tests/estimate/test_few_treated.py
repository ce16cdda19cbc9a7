"""Inference with one or few treated units: placebo-in-space (Ferman-Pinto studentisation) and Conley-Taber.

The Monte Carlo checks use SIMULATED panels (``_simulate`` below): 20 units x 10 years, one treated unit adopting
in year 7, unit and year effects, normal errors. They are small (100 replications each, a few seconds) and seeded.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate import estimate
from clusterpolicy.estimate.few_treated import CT_METHOD, PLACEBO_METHOD, conley_taber, placebo_in_space, twfe_matrix

KW = {"unit": "u", "time": "t", "cohort": "g", "outcome": "y"}
N_REPS = 100
# Under the null the placebo test with J = 19 placebos rejects at 10 % with probability exactly 2/20 = 0.10 when the
# statistics are exchangeable; with 100 replications the MC sd is 0.03, so [0, 0.2] is > 3 sd wide on the upper
# side. Conley-Taber with 19 controls has nominal coverage (J - 1)/(J + 1) = 0.90 at any level >= 0.90.
REJ_BAND = (0.0, 0.2)
CT_COVER_BAND = (0.75, 1.0)


def _simulate(rng: np.random.Generator, *, n: int = 20, n_years: int = 10, onset: int = 2016, het: float = 1.0,
              effect: float = 0.0, n_treated: int = 1) -> pd.DataFrame:
    """Simulated panel: unit 0..n_treated-1 treated from ``onset``; unit 0's errors have SD ``het`` (others 1)."""
    years = np.arange(2010, 2010 + n_years)
    a = rng.normal(size=n)
    b = rng.normal(size=n_years).cumsum()
    sd = np.ones(n)
    sd[0] = het
    e = rng.normal(size=(n, n_years)) * sd[:, None]
    g = np.zeros(n)
    g[:n_treated] = onset
    d = (years[None, :] >= g[:, None]) & (g[:, None] > 0)
    y = a[:, None] + b[None, :] + e + effect * d
    frame = pd.DataFrame({"u": np.repeat([f"U{i:02d}" for i in range(n)], n_years), "t": np.tile(years, n),
                          "g": np.repeat(g, n_years), "y": y.ravel()})
    frame.attrs["simulated"] = True
    return frame


def _twfe(frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(frame, estimator="twfe", **KW)


@pytest.fixture(scope="module")
def one() -> pd.DataFrame:
    return _simulate(np.random.default_rng(0), het=3.0, effect=1.0)


def test_matrix_twfe_matches_estimate(one: pd.DataFrame) -> None:
    res = _twfe(one)
    y = one["y"].to_numpy().reshape(20, 10)
    d = ((one["t"] >= one["g"]) & (one["g"] > 0)).to_numpy(float).reshape(20, 10)
    fit = twfe_matrix(y, d)
    assert fit.estimate == pytest.approx(res.estimate, rel=1e-10)
    assert fit.se == pytest.approx(res.se, rel=1e-8)


@pytest.mark.parametrize("statistic", ["pre_sd", "t", "estimate"])
def test_placebo_p_value_and_set(one: pd.DataFrame, statistic: str) -> None:
    res = placebo_in_space(one, **KW, statistic=statistic, level=0.9)
    assert res.method == res.se_type == PLACEBO_METHOD
    assert res.n_placebos == 19 and len(res.placebos) == 19 and "U00" not in set(res.placebos["unit"])
    dist = res.placebos["statistic"].to_numpy()
    assert res.p_value == pytest.approx((1 + np.sum(np.abs(dist) >= abs(res.observed))) / 20)
    raw = res.placebos["estimate"].to_numpy()
    assert res.p_value_unstudentised == pytest.approx((1 + np.sum(np.abs(raw) >= abs(res.estimate))) / 20)
    assert res.estimate == pytest.approx(_twfe(one).estimate, rel=1e-10)
    # the set is {delta : p(delta) > 0.10}: just inside each end p > 0.1, just outside p <= 0.1
    eps = 1e-6 * (res.ci_high - res.ci_low)
    grid = [res.ci_low - eps, res.ci_low + eps, res.estimate, res.ci_high - eps, res.ci_high + eps]
    p = placebo_in_space(one, **KW, statistic=statistic, level=0.9, grid=grid).grid["p_value"].to_numpy()
    assert (p[[0, 4]] <= 0.1 + 1e-12).all() and (p[[1, 2, 3]] > 0.1 + 1e-12).all()
    assert (res.p_value <= 0.1 + 1e-12) == (not res.ci_low <= 0 <= res.ci_high)
    json.dumps(res.to_dict())


def test_placebo_user_fit_equals_internal(one: pd.DataFrame) -> None:
    fast = placebo_in_space(one, **KW, statistic="t")
    slow = placebo_in_space(one, _twfe, **KW, statistic="t")
    np.testing.assert_allclose(slow.placebos["statistic"], fast.placebos["statistic"], rtol=1e-7)
    assert slow.p_value == fast.p_value
    assert slow.ci_low == pytest.approx(fast.ci_low, rel=1e-6)
    assert slow.ci_high == pytest.approx(fast.ci_high, rel=1e-6)


def test_placebo_monte_carlo_heteroskedastic_null() -> None:
    """SIMULATED: one treated unit among 20, null true, treated unit's error SD 4x the controls'."""
    rng = np.random.default_rng(20240)
    rej = {"pre_sd": 0, "t": 0, "unstudentised": 0}
    for _ in range(N_REPS):
        frame = _simulate(rng, het=4.0)
        a = placebo_in_space(frame, **KW, statistic="pre_sd")
        b = placebo_in_space(frame, **KW, statistic="t")
        rej["pre_sd"] += a.p_value <= 0.1 + 1e-12
        rej["t"] += b.p_value <= 0.1 + 1e-12
        rej["unstudentised"] += a.p_value_unstudentised <= 0.1 + 1e-12
    rate = {k: v / N_REPS for k, v in rej.items()}
    print("simulated rejection rates at 10%:", rate)
    assert REJ_BAND[0] <= rate["pre_sd"] <= REJ_BAND[1]
    # without the unit's own scale the test over-rejects badly (the reason for the studentisation)
    assert rate["unstudentised"] > 0.4 and rate["t"] > 0.4


def test_placebo_monte_carlo_homoskedastic_null() -> None:
    """SIMULATED: as above with equal error SDs: all three statistics are near 10 %."""
    rng = np.random.default_rng(7)
    rej = 0
    for _ in range(N_REPS):
        rej += placebo_in_space(_simulate(rng, het=1.0), **KW).p_value <= 0.1 + 1e-12
    assert REJ_BAND[0] <= rej / N_REPS <= REJ_BAND[1]


def test_placebo_errors(one: pd.DataFrame) -> None:
    with pytest.raises(UserInputError, match="exactly one treated unit") as info:
        placebo_in_space(_simulate(np.random.default_rng(1), n_treated=2), **KW)
    assert "\n" not in str(info.value)
    with pytest.raises(UserInputError, match="statistic="):
        placebo_in_space(one, **KW, statistic="z")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="balanced panel"):
        placebo_in_space(one.drop(index=3), **KW)
    with pytest.raises(UserInputError, match="no pre-treatment"):
        placebo_in_space(one.assign(g=one["g"].where(one["g"] == 0, 2010)), **KW)
    with pytest.raises(UserInputError, match="at least 2"):
        placebo_in_space(one.assign(g=one["g"].where(one["g"] == 0, 2011)), **KW)


def test_placebo_few_controls_gives_whole_line() -> None:
    frame = _simulate(np.random.default_rng(3), n=8)
    res = placebo_in_space(frame, **KW, level=0.95)
    assert res.ci_low == -np.inf and res.ci_high == np.inf and res.warnings


# ------------------------------------------------------------------------------------------------ Conley-Taber
def test_conley_taber_by_hand(one: pd.DataFrame) -> None:
    res = conley_taber(one, **KW, level=0.9)
    assert res.method == CT_METHOD and res.exact and res.n_controls == 19 and res.n_treated == 1
    y = one["y"].to_numpy().reshape(20, 10)
    d = ((one["t"] >= one["g"]) & (one["g"] > 0)).to_numpy(float).reshape(20, 10)
    fit = twfe_matrix(y, d)
    dd = d[0] - d[0].mean()
    w = np.sort([(dd * (fit.resid[j] - fit.resid[j].mean())).sum() / (dd**2).sum() for j in range(1, 20)])
    np.testing.assert_allclose(np.sort(res.distribution), w, rtol=1e-10, atol=1e-14)
    assert res.estimate == pytest.approx(_twfe(one).estimate, rel=1e-10)
    # 19 draws, a/2 = 0.05 < 1/19: the interval uses the extreme draws
    assert res.ci_low == pytest.approx(res.estimate - w[-1]) and res.ci_high == pytest.approx(res.estimate - w[0])
    json.dumps(res.to_dict())


def test_conley_taber_monte_carlo_coverage() -> None:
    """SIMULATED: one treated unit among 20, homoskedastic errors, effect 0.5."""
    rng = np.random.default_rng(99)
    cover = 0
    for _ in range(N_REPS):
        res = conley_taber(_simulate(rng, effect=0.5), **KW)
        cover += res.ci_low <= 0.5 <= res.ci_high
    print("simulated Conley-Taber coverage:", cover / N_REPS)
    assert CT_COVER_BAND[0] <= cover / N_REPS <= CT_COVER_BAND[1]


def test_conley_taber_several_treated() -> None:
    df = simulate_region_panel(seed=3, n_regions=30, treated_share=0.2).data
    res = conley_taber(df, unit="region", time="year", cohort="cohort", outcome="y", seed=1)
    again = conley_taber(df, unit="region", time="year", cohort="cohort", outcome="y", seed=1)
    assert not res.exact and res.n_treated == 6 and res.n_controls == 24 and res.n_draws == 10_000
    assert res.ci_low < res.estimate < res.ci_high and (res.ci_low, res.ci_high) == (again.ci_low, again.ci_high)


def test_conley_taber_errors(one: pd.DataFrame) -> None:
    with pytest.raises(UserInputError, match="at least 10 never-treated control units") as info:
        conley_taber(_simulate(np.random.default_rng(2), n=9), **KW)
    assert "\n" not in str(info.value)
    with pytest.raises(UserInputError, match="balanced panel"):
        conley_taber(one.drop(index=3), **KW)
    with pytest.raises(EstimationError):
        conley_taber(one.assign(g=0), **KW)
