"""Power and minimum detectable effect (MDE) by simulation on a real panel's variance structure.

Before reading a null result as "the policy did nothing", ask what effect the design could have detected. This
module answers by simulation that keeps the panel's own noise: residuals from a two-way fixed-effects fit are
resampled in whole-unit blocks (so serial correlation within a unit survives), a known effect is added to the
treated post-adoption cells, and the estimator is re-run.

References
----------
Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the statistical power of experimental
designs. *Evaluation Review* 19(5), 547-556.
Bertrand, M., Duflo, E. and Mullainathan, S. (2004). How much should we trust differences-in-differences
estimates? *Quarterly Journal of Economics* 119(1), 249-275 (block resampling of residuals to keep serial
correlation).
Burlig, F., Preonas, L. and Woerman, M. (2020). Panel data and experimental design. *Journal of Development
Economics* 144, 102458.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: stats.norm.ppf calls special.ndtri, without stats' half-second import.
from scipy import special

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate.inference import _Absorber, _codes
from clusterpolicy.estimate.literals import EstimatorName
from clusterpolicy.estimate.result import EstimationResult

logger = logging.getLogger(__name__)

EffectScale = Literal["additive", "multiplicative"]


@dataclass(frozen=True)
class PowerResult:
    """Simulated power curve and minimum detectable effect.

    Attributes
    ----------
    table
        One row per effect size: ``delta, power, mc_se, mean_estimate, sd_estimate, mean_se, n_sims, n_failed``;
        ``mc_se = sqrt(power (1 - power) / n_sims)`` is the Monte Carlo standard error of ``power``.
    mde
        Smallest positive ``delta`` at which the power curve (linearly interpolated between grid points) reaches
        ``target_power``; NaN if the grid never reaches it.
    analytic_mde, analytic_mde_sd
        ``(z_{1-alpha/2} + z_{target_power}) * SE`` with SE the mean estimated SE, or the standard deviation of the
        estimates, at the grid point closest to zero (Bloom, 1995).
    scale
        ``"additive"`` (delta in outcome units) or ``"multiplicative"`` (delta is a log ratio, e.g. log(1.05)).
    """

    table: pd.DataFrame
    mde: float
    analytic_mde: float
    analytic_mde_sd: float
    alpha: float
    target_power: float
    scale: str
    n_sims: int
    seed: int

    def tidy(self) -> pd.DataFrame:
        """The power table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text summary."""
        unit = "log ratio" if self.scale == "multiplicative" else "outcome units"
        lines = [f"Simulated power ({self.n_sims} block-resampled panels per effect size, seed {self.seed}; "
                 f"alpha {self.alpha}, {unit})"]
        for rec in self.table.to_dict("records"):
            lines.append(f"  delta {rec['delta']: .4g}: power {rec['power']:.3f} (MC SE {rec['mc_se']:.3f})")
        lines.append(f"MDE at {self.target_power:.0%} power: {self.mde:.4g} (simulated); "
                     f"{self.analytic_mde:.4g} (analytic, mean SE); {self.analytic_mde_sd:.4g} (analytic, SD of "
                     "estimates)")
        return "\n".join(lines)


def _p_value(result: EstimationResult) -> float:
    if result.p_value is not None and np.isfinite(result.p_value):
        return float(result.p_value)
    return float("nan")


def _default_fit(scale: EffectScale, *, unit: str, time: str, cohort: str,
                 outcome: str) -> Callable[[pd.DataFrame], EstimationResult]:
    """Static TWFE (additive) or Poisson FE (multiplicative) through :func:`clusterpolicy.estimate.api.estimate`,
    with the package's inference rule (t(G-1) p-values)."""
    from clusterpolicy.estimate.api import BoundEstimate

    options: dict[str, Any] = {} if scale == "additive" else {"event_study": False}
    estimator: EstimatorName = "twfe" if scale == "additive" else "poisson"
    # analytic p-values even with one treated unit: the power of the conventional test is what is measured
    return BoundEstimate(estimator=estimator, unit=unit, time=time, cohort=cohort, outcome=outcome,
                         single_treated_rule=False, quiet=True, **options)


def simulate_power(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    deltas: Sequence[float],
    n_sims: int = 200,
    alpha: float = 0.05,
    target_power: float = 0.8,
    scale: EffectScale = "additive",
    fit: Callable[[pd.DataFrame], EstimationResult] | None = None,
    seed: int = 0,
) -> PowerResult:
    """Power at each effect size and the MDE, by block-resampling the panel's own residuals.

    Parameters
    ----------
    df
        Balanced panel with ``unit, time, cohort, outcome`` (cohort = first treated period, 0 or missing = never);
        not modified. Its treatment timing is kept fixed in every simulation.
    deltas
        Effect sizes to simulate; include 0 to check the test's size.
    n_sims
        Simulated panels per effect size (the same resampled panels are reused across effect sizes: common random
        numbers make the power curve smooth).
    alpha, target_power
        Test level (two-sided) and the power defining the MDE.
    scale
        ``"additive"``: ``y* = base + e* + delta * D``. ``"multiplicative"`` (counts): ``y* = max(base + e*, 0) *
        exp(delta * D)``, so ``delta`` is a log ratio (``log(1.05)`` = +5 %).
    fit
        Estimator ``fit(df) -> EstimationResult`` applied to each simulated panel; it must read treatment from
        ``cohort``. Default: static TWFE (additive) or Poisson fixed effects (multiplicative) from
        :func:`clusterpolicy.estimate.api.estimate`. Rejection uses the result's ``p_value``. A
        :class:`~clusterpolicy.estimate.api.BoundEstimate` (the default is one) refits only the simulated outcome
        where it can, with the same numbers.
    seed
        Seed of :func:`numpy.random.default_rng`; same inputs and seed give the same table.

    Returns
    -------
    PowerResult

    Notes
    -----
    The outcome is decomposed as ``y_it = a_i + b_t + beta * D_it + e_it`` by OLS. The treatment term is removed
    too, so any real effect in the data does not leak into the simulated null (``delta = 0`` is a true null).
    Each simulated panel keeps ``base = a_i + b_t`` and gives unit ``i`` the whole residual series of a unit drawn
    with replacement (block bootstrap; Bertrand et al., 2004). Assumes residual series are exchangeable across
    units (e.g. treated regions are not noisier than others) and that effects are homogeneous, the case the MDE
    is conventionally defined for.
    """
    cols = [unit, time, cohort, outcome]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise UserInputError(f"simulate_power: column(s) {missing} not found; available: {list(df.columns)}.")
    if scale not in ("additive", "multiplicative"):
        raise UserInputError(f"simulate_power: scale={scale!r} must be 'additive' or 'multiplicative'.")
    if not 0 < alpha < 1 or not 0 < target_power < 1:
        raise UserInputError(f"simulate_power: alpha={alpha} and target_power={target_power} must lie in (0, 1).")
    if n_sims < 10:
        raise UserInputError(f"simulate_power: n_sims={n_sims} is too small; use at least 10 (200+ for a curve).")
    deltas = sorted(float(d) for d in deltas)
    if not deltas:
        raise UserInputError("simulate_power: deltas is empty; pass effect sizes such as [0, 0.02, 0.05].")

    data = df[cols].sort_values([unit, time]).reset_index(drop=True)
    y = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        bad = list(data.loc[~np.isfinite(y), [unit, time]].head(3).itertuples(index=False, name=None))
        raise UserInputError(f"simulate_power: outcome '{outcome}' has missing values, e.g. {bad}; drop those rows.")
    u_codes, n_units = _codes(data[unit])
    t_codes, n_times = _codes(data[time])
    if len(data) != n_units * n_times or data.duplicated([unit, time]).any():
        raise UserInputError(f"simulate_power: the panel is not balanced ({len(data)} rows for {n_units} units x "
                             f"{n_times} periods); block resampling needs every unit observed in every period.")
    g = pd.to_numeric(data[cohort], errors="coerce").fillna(0).to_numpy(dtype=float)
    tt = pd.to_numeric(data[time], errors="coerce").to_numpy(dtype=float)
    D = ((g > 0) & (tt >= g)).astype(float)
    if D.min() == D.max():
        raise EstimationError("simulate_power: no variation in treatment; check the cohort column.")

    absorber = _Absorber.build([u_codes, t_codes], [n_units, n_times], len(data))
    y_t, d_t = absorber.demean(y), absorber.demean(D)
    beta = float(d_t @ y_t / (d_t @ d_t))
    resid = y_t - beta * d_t
    base = (y - beta * D - resid).reshape(n_units, n_times)
    E = resid.reshape(n_units, n_times)
    Dm = D.reshape(n_units, n_times)

    if fit is None:
        fit = _default_fit(scale, unit=unit, time=time, cohort=cohort, outcome=outcome)

    # A bound estimator (:class:`~clusterpolicy.estimate.api.BoundEstimate`) prepares the panel once and refits
    # only the outcome, which is all that changes between simulated panels; same numbers as ``fit(frame)``.
    refitter = fit.refitter(data) if hasattr(fit, "refitter") else None
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_units, size=(n_sims, n_units))
    est = np.full((len(deltas), n_sims), np.nan)
    ses = np.full_like(est, np.nan)
    pvals = np.full_like(est, np.nan)
    for s in range(n_sims):
        y0 = base + E[draws[s]]
        for i, delta in enumerate(deltas):
            if scale == "additive":
                ystar = y0 + delta * Dm
            else:
                ystar = np.maximum(y0, 0.0) * np.exp(delta * Dm)
            res = refitter.with_outcome(ystar.ravel()) if refitter is not None else None
            if res is None:
                res = fit(data.assign(**{outcome: ystar.ravel()}))
            est[i, s], ses[i, s], pvals[i, s] = res.estimate, res.se, _p_value(res)

    rows = []
    for i, delta in enumerate(deltas):
        ok = np.isfinite(pvals[i])
        n_ok = int(ok.sum())
        power = float(np.mean(pvals[i, ok] < alpha)) if n_ok else float("nan")
        rows.append({
            "delta": delta, "power": power, "mc_se": math.sqrt(power * (1 - power) / n_ok) if n_ok else float("nan"),
            "mean_estimate": float(np.nanmean(est[i])), "sd_estimate": float(np.nanstd(est[i], ddof=1)),
            "mean_se": float(np.nanmean(ses[i])), "n_sims": n_ok, "n_failed": n_sims - n_ok,
        })
    table = pd.DataFrame(rows)
    z = float(special.ndtri(1 - alpha / 2) + special.ndtri(target_power))
    near0 = table.iloc[int(np.argmin(np.abs(table["delta"].to_numpy())))]
    return PowerResult(
        table=table, mde=_interpolate_mde(table, target_power), analytic_mde=z * float(near0["mean_se"]),
        analytic_mde_sd=z * float(near0["sd_estimate"]), alpha=alpha, target_power=target_power, scale=scale,
        n_sims=n_sims, seed=seed,
    )


def _interpolate_mde(table: pd.DataFrame, target: float) -> float:
    """First crossing of ``target`` by the power curve over non-negative deltas (linear interpolation)."""
    pos = table[table["delta"] >= 0].sort_values("delta")
    d, p = pos["delta"].to_numpy(), pos["power"].to_numpy()
    for i in range(1, d.size):
        if p[i - 1] < target <= p[i]:
            return float(d[i - 1] + (target - p[i - 1]) * (d[i] - d[i - 1]) / (p[i] - p[i - 1]))
    if d.size and p[0] >= target:
        return float(d[0])
    logger.info("power never reaches %.2f on the grid; MDE is NaN (extend `deltas`)", target)
    return float("nan")
