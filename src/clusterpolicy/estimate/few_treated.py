"""Inference for difference-in-differences with one or a few treated units.

With one treated region, cluster-robust standard errors have no basis (the treated cluster's own score is zero in
a two-way fixed-effects regression, so its variance never enters the SE) and the wild cluster bootstrap fails.
Two remedies that use the control units' residuals as the reference distribution:

* :func:`placebo_in_space` -- in-space placebo (permutation) test: the treated unit's adoption date is assigned
  to each control in turn, and the actual statistic is ranked among the placebo ones. Studentising each
  statistic by the unit's own residual scale (``statistic="pre_sd"``) keeps the test valid when the treated unit
  is noisier than the controls (Ferman and Pinto 2019); the unstudentised p-value is reported for comparison.
  Confidence set by test inversion over constant effects.
* :func:`conley_taber` -- Conley and Taber (2011) interval: the distribution of ``alpha_hat - alpha`` is
  estimated from the control units' residuals projected on the treated units' treatment path.

References
----------
Conley, T. G. and Taber, C. R. (2011). Inference with "difference in differences" with a small number of policy
changes. *Review of Economics and Statistics* 93(1), 113-125.
Ferman, B. and Pinto, C. (2019). Inference in differences-in-differences with few treated groups and
heteroskedasticity. *Review of Economics and Statistics* 101(3), 452-467.
MacKinnon, J. G. and Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated
clusters. *Journal of Econometrics* 218(2), 435-450.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate._panel import check_treatment_variation, fixest_ssc, prepare_panel
from clusterpolicy.estimate.diagnostics import BalancedPanel, balanced_panel, demean2
from clusterpolicy.estimate.result import EstimationResult, clean_float

PlaceboStatistic = Literal["t", "pre_sd", "estimate"]
_STATISTICS = ("t", "pre_sd", "estimate")
PLACEBO_METHOD = "placebo-in-space, studentised (Ferman-Pinto 2019)"
CT_METHOD = "Conley-Taber (2011) interval from control-unit residuals"
#: Fewest control units :func:`conley_taber` accepts.
CT_MIN_CONTROLS = 10
_BISECT_STEPS = 60
# p-values within this of alpha count as rejections (1 - 0.9 is 0.0999...98 in floating point, p = 2/20 is 0.1)
_P_TOL = 1e-12


@dataclass(frozen=True)
class _Fit:
    estimate: float
    se: float
    resid: np.ndarray


def twfe_matrix(y: np.ndarray, d: np.ndarray) -> _Fit:
    """Static TWFE on a balanced ``units x periods`` panel: coefficient, fixest-style CRV1 SE by unit, residuals.

    Same number as :func:`clusterpolicy.estimate.twfe.twfe` (pyfixest) with its default ``ssc="fixest"``
    (factor ``G/(G-1) * (n-1)/(n-K)``, ``K = 1 + n_periods``), without the pandas overhead, for the many refits
    of placebo tests and Monte Carlo. It is kept beside the shared fit because one fit costs several hundred times
    less (benchmarks/bench_twfe_paths.py, same run, same estimate; benchmarks/results/twfe_paths.md).
    """
    d_t = demean2(d)
    y_t = demean2(y)
    ss = float((d_t**2).sum())
    if ss <= 0:
        raise EstimationError("the treatment indicator has no within variation. Fix: check the cohort coding.")
    est = float((d_t * y_t).sum() / ss)
    resid = y_t - est * d_t
    n_u, n_t = y.shape
    score = (d_t * resid).sum(axis=1)
    factor = fixest_ssc(n_u * n_t, 1 + n_t, n_u)
    se = float(np.sqrt(factor * (score**2).sum()) / ss)
    return _Fit(estimate=est, se=se, resid=resid)


def _path(times: np.ndarray, g: float) -> np.ndarray:
    return (times >= g).astype(float)


# ----------------------------------------------------------------------------------------------------------------
# Placebo in space
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceboInSpaceResult:
    """In-space placebo test for one treated unit.

    Attributes
    ----------
    treated_unit, treatment_time
        The treated unit and its first treated period.
    statistic
        ``"t"`` (estimate / SE of the fit), ``"pre_sd"`` (estimate / SD of the unit's pre-treatment TWFE
        residuals) or ``"estimate"`` (unstudentised).
    estimate, se
        The estimate and SE of the fit on the actual data.
    observed
        The statistic on the actual data.
    p_value
        ``(1 + #{j : |T_j| >= |T_obs|}) / (J + 1)`` over the ``J`` placebos (the actual unit counted once).
    p_value_unstudentised
        The same with ``T = estimate``.
    placebos
        One row per control unit used as placebo: ``unit, estimate, se, pre_sd, statistic``.
    ci_low, ci_high
        Confidence set ``{delta : p(delta) > 1 - level}`` by test inversion under constant effects ``delta``
        (endpoints by bisection); infinite when ``1 / (J + 1) > 1 - level``.
    grid
        ``delta, p_value`` on the user's grid (or ``None``).
    """

    outcome: str
    treated_unit: Any
    treatment_time: float
    statistic: str
    estimate: float
    se: float
    observed: float
    p_value: float
    p_value_unstudentised: float
    ci_low: float
    ci_high: float
    level: float
    n_placebos: int
    placebos: pd.DataFrame = field(repr=False)
    grid: pd.DataFrame | None = field(default=None, repr=False)
    method: str = PLACEBO_METHOD
    se_type: str = PLACEBO_METHOD
    warnings: tuple[str, ...] = ()

    @property
    def distribution(self) -> np.ndarray:
        """The placebo statistics."""
        return self.placebos["statistic"].to_numpy()

    def tidy(self) -> pd.DataFrame:
        """One-row frame of the test."""
        return pd.DataFrame([{
            "treated_unit": self.treated_unit, "treatment_time": self.treatment_time, "statistic": self.statistic,
            "estimate": self.estimate, "se": self.se, "observed": self.observed, "p_value": self.p_value,
            "p_value_unstudentised": self.p_value_unstudentised, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "level": self.level, "n_placebos": self.n_placebos, "method": self.method,
        }])

    def summary(self) -> str:
        """Plain-text summary."""
        return (f"{self.method}: {self.treated_unit} from {self.treatment_time:g}, {self.n_placebos} placebos\n"
                f"estimate {self.estimate:.6g}; statistic {self.statistic} = {self.observed:.4g}; p = "
                f"{self.p_value:.4g} (unstudentised {self.p_value_unstudentised:.4g}); {self.level:.0%} set "
                f"[{self.ci_low:.6g}, {self.ci_high:.6g}]")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        unit = self.treated_unit.item() if hasattr(self.treated_unit, "item") else self.treated_unit
        return {
            "method": self.method, "outcome": self.outcome, "treated_unit": unit,
            "treatment_time": clean_float(self.treatment_time), "statistic": self.statistic,
            "estimate": clean_float(self.estimate), "se": clean_float(self.se), "observed": clean_float(self.observed),
            "p_value": clean_float(self.p_value), "p_value_unstudentised": clean_float(self.p_value_unstudentised),
            "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high), "level": self.level,
            "n_placebos": self.n_placebos,
            "placebos": [{"unit": r["unit"].item() if hasattr(r["unit"], "item") else r["unit"],
                          **{k: clean_float(r[k]) for k in ("estimate", "se", "pre_sd", "statistic")}}
                         for r in self.placebos.to_dict("records")],
            "warnings": list(self.warnings),
        }


def _perm_p(observed: float, placebo: np.ndarray) -> float:
    # ties within a relative 1e-9 count as exceedances (conservative; the +1 is the actual unit)
    tol = 1e-9 * max(abs(observed), 1e-300)
    return float((1 + np.sum(np.abs(placebo) >= abs(observed) - tol)) / (placebo.size + 1))


def _pre_sd(resid_row: np.ndarray, pre: np.ndarray) -> float:
    return float(np.std(resid_row[pre], ddof=1))


def _one_treated(bp: BalancedPanel, what: str) -> tuple[int, float, np.ndarray]:
    panel = bp.panel
    first = bp.times[0]
    treated = np.flatnonzero(bp.cohort > 0)
    if treated.size != 1:
        raise UserInputError(
            f"{what} needs exactly one treated unit, found {treated.size} (units "
            f"{', '.join(map(str, bp.units[treated][:5]))}). Fix: keep one treated unit and the never-treated "
            "controls, or use conley_taber / the wild cluster bootstrap for several treated units."
        )
    i0 = int(treated[0])
    g0 = float(bp.cohort[i0])
    if g0 <= first:
        raise UserInputError(
            f"treated unit {bp.units[i0]!r} is treated from the first period ({g0:g}), so it has no pre-treatment "
            f"periods. Fix: use a panel that starts before its adoption ({panel.cohort!r})."
        )
    controls = np.flatnonzero(bp.cohort == 0)
    return i0, g0, controls


def placebo_in_space(
    df: pd.DataFrame,
    fit: Callable[[pd.DataFrame], EstimationResult] | None = None,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    statistic: PlaceboStatistic = "pre_sd",
    level: float = 0.95,
    grid: Sequence[float] | None = None,
    shift: Literal["additive", "multiplicative"] = "additive",
) -> PlaceboInSpaceResult:
    """In-space placebo test and confidence set for a single treated unit (Ferman-Pinto studentisation).

    Each control unit ``j`` in turn receives the treated unit's adoption date; the actual treated unit is left out
    of the placebo samples, so under the null every placebo statistic comes from untreated data. The p-value is the
    rank of the actual statistic among the placebo ones, ``(1 + #{j : |T_j| >= |T_obs|}) / (J + 1)``.

    Estimand
        The static DiD effect on the treated unit (the coefficient ``fit`` returns; default static TWFE), tested
        under the sharp null of no effect and inverted under constant effects ``delta``: subtract ``delta`` from
        the treated unit's post-treatment outcomes and recompute the p-value; the set is ``{delta : p > 1 -
        level}``. Placebo statistics do not depend on ``delta`` (the treated unit is not in the placebo samples).
    Studentisation
        With one treated unit the DiD error is dominated by the treated unit's own shocks, so the unstudentised
        test over-rejects when the treated unit is noisier than the controls (e.g. a small region; Ferman and Pinto
        2019). ``statistic="pre_sd"`` divides each (actual or placebo) estimate by the standard deviation of that
        unit's pre-treatment residuals from the TWFE fit in which it is treated: an estimate of its own noise scale,
        which makes the statistics comparable across units with different variances (heteroskedasticity of unknown
        form across units, constant over time within a unit). This is a simple, model-free version of Ferman and
        Pinto's correction (they also model the variance as a function of, e.g., unit size). ``statistic="t"``
        divides by the SE of ``fit``; for cluster-robust SEs this does *not* correct for the treated unit's own
        variance (its score is zero in TWFE), so prefer ``"pre_sd"`` when the treated unit may be noisier.
        ``"estimate"`` is unstudentised. The unstudentised p-value is always reported.
    Assumptions
        Balanced panel; exactly one treated unit with at least two pre-treatment periods; never-treated controls
        whose errors are exchangeable with the treated unit's after studentisation; no spillovers.

    Parameters
    ----------
    df
        Long panel; never modified.
    fit
        ``fit(frame) -> EstimationResult`` (e.g. ``lambda f: estimate(f, estimator="twfe", ...)``); ``None`` uses
        the static TWFE (same coefficient and fixest-style SE as ``estimate(..., estimator="twfe")``) in a fast
        matrix form.
    unit, time, cohort, outcome
        Column names.
    statistic
        ``"pre_sd"`` (default; heteroskedasticity-robust), ``"t"`` or ``"estimate"``.
    level
        Confidence level of the set; a p-value within ``1e-12`` of ``1 - level`` counts as a rejection.
    grid
        Optional constant effects at which to report ``p(delta)`` (``grid`` attribute).
    shift
        How a constant effect ``delta`` is removed from the treated unit's post-treatment outcomes when the test is
        inverted: ``"additive"`` (``y - delta``, for effects on the outcome's scale) or ``"multiplicative"``
        (``y * exp(-delta)``, for log rate ratios of count models, which keeps counts non-negative).

    Returns
    -------
    PlaceboInSpaceResult

    References
    ----------
    Ferman, B. and Pinto, C. (2019). Inference in differences-in-differences with few treated groups and
    heteroskedasticity. *Review of Economics and Statistics* 101(3), 452-467.
    Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control methods for comparative case studies.
    *JASA* 105(490), 493-505 (in-space placebos).
    """
    if statistic not in _STATISTICS:
        raise UserInputError(f"statistic={statistic!r} is not valid; use one of {', '.join(_STATISTICS)}.")
    if not 0 < level < 1:
        raise UserInputError(f"level must be in (0, 1), got {level!r}.")
    if fit is not None and not callable(fit):
        raise UserInputError("fit must be a function frame -> EstimationResult, or None for static TWFE.")
    panel = prepare_panel(df, unit=unit, time=time, cohort=cohort, outcome=outcome)
    check_treatment_variation(panel)
    bp = balanced_panel(panel, what="placebo_in_space")
    i0, g0, controls = _one_treated(bp, "placebo_in_space")
    msgs = list(panel.warnings)
    if controls.size < 2:
        raise UserInputError(f"placebo_in_space needs at least 2 never-treated control units, found {controls.size}.")
    times = bp.times
    pre = times < g0
    if pre.sum() < 2:
        raise UserInputError(
            f"treated unit {bp.units[i0]!r} has {int(pre.sum())} pre-treatment period(s); the studentisation "
            "needs at least 2. Fix: use a longer pre-period."
        )
    path = _path(times, g0)
    alpha = 1 - level

    time_num = pd.to_numeric(df[time], errors="coerce") if fit is not None else None

    def stats_of(y: np.ndarray, row: int, frame: pd.DataFrame | None) -> tuple[float, float, float]:
        d = np.zeros_like(y)
        d[row] = path
        own = twfe_matrix(y, d)
        est, se = own.estimate, own.se
        if frame is not None and fit is not None:  # frame is only built when fit is given
            res = fit(frame)
            est, se = float(res.estimate), float(res.se)
        return est, se, _pre_sd(own.resid[row], pre)

    def studentise(est: float, se: float, sd: float) -> float:
        if statistic == "t":
            return est / se if se > 0 else float("nan")
        if statistic == "pre_sd":
            return est / sd if sd > 0 else float("nan")
        return est

    # placebos: controls only, control j given the treated unit's adoption date
    y_c = bp.y[controls]
    treated_label = bp.units[i0]
    rows = []
    for pos, j in enumerate(controls):
        frame = None
        if fit is not None:
            frame = df.loc[df[unit] != treated_label].copy()
            frame.loc[frame[unit] == bp.units[j], cohort] = g0
        est, se, sd = stats_of(y_c, pos, frame)
        rows.append({"unit": bp.units[j], "estimate": est, "se": se, "pre_sd": sd,
                     "statistic": studentise(est, se, sd)})
    placebos = pd.DataFrame(rows)
    if not np.isfinite(placebos["statistic"]).all():
        raise EstimationError("a placebo statistic is not finite (zero SE or zero pre-period residual SD).")
    dist = placebos["statistic"].to_numpy()
    dist_est = placebos["estimate"].to_numpy()

    def observed(delta: float) -> tuple[float, float, float]:
        y = bp.y.copy()
        y[i0] -= delta * path
        frame = None
        if fit is not None:
            assert time_num is not None  # converted above whenever fit is given
            frame = df.copy()
            frame[outcome] = frame[outcome].astype("float64")  # integer counts must take fractional shifts
            post = (frame[unit] == treated_label) & (time_num >= g0)
            if shift == "multiplicative":
                frame.loc[post, outcome] = frame.loc[post, outcome] * math.exp(-delta)
            else:
                frame.loc[post, outcome] = frame.loc[post, outcome] - delta
        return stats_of(y, i0, frame)

    est0, se0, sd0 = observed(0.0)
    t0 = studentise(est0, se0, sd0)
    p = _perm_p(t0, dist)
    p_raw = _perm_p(est0, dist_est)

    def p_of(delta: float) -> float:
        e, s, sd = observed(delta)
        return _perm_p(studentise(e, s, sd), dist)

    if 1 / (controls.size + 1) > alpha + _P_TOL:
        msgs.append(f"with {controls.size} placebos the smallest attainable p-value is {1 / (controls.size + 1):.3g} "
                    f"> {alpha:.3g}: the {level:.0%} confidence set is the whole line")
        low, high = -math.inf, math.inf
    else:
        scale = max(float(np.max(np.abs(dist_est))), abs(est0), 1e-12)
        low = _endpoint(p_of, est0, -scale, alpha)
        high = _endpoint(p_of, est0, scale, alpha)
    grid_frame = None
    if grid is not None:
        g_arr = np.asarray(list(grid), dtype=float)
        grid_frame = pd.DataFrame({"delta": g_arr, "p_value": [p_of(float(v)) for v in g_arr]})
    return PlaceboInSpaceResult(
        outcome=outcome, treated_unit=treated_label, treatment_time=g0, statistic=statistic, estimate=est0,
        se=se0, observed=t0, p_value=p, p_value_unstudentised=p_raw, ci_low=low, ci_high=high, level=level,
        n_placebos=int(controls.size), placebos=placebos, grid=grid_frame, warnings=tuple(msgs),
    )


def _endpoint(p_of: Callable[[float], float], center: float, step: float, alpha: float) -> float:
    """Boundary of the acceptance region ``{delta : p(delta) > alpha}`` on one side of ``center`` (bisection)."""
    inside, outside = center, center + step
    for _ in range(60):
        if p_of(outside) <= alpha + _P_TOL:
            break
        inside, outside = outside, center + 2 * (outside - center)
    else:  # pragma: no cover - p never drops: unbounded
        return math.copysign(math.inf, step)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (inside + outside)
        if p_of(mid) > alpha + _P_TOL:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) <= 1e-10 * max(1.0, abs(step)):
            break
    return 0.5 * (inside + outside)


# ----------------------------------------------------------------------------------------------------------------
# Conley-Taber
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConleyTaberResult:
    """Conley-Taber (2011) confidence interval for the static DiD coefficient.

    Attributes
    ----------
    estimate
        Static TWFE coefficient ``alpha_hat``.
    ci_low, ci_high
        ``[alpha_hat - Q(1 - a/2), alpha_hat - Q(a/2)]`` with ``Q`` the quantile function (inverse empirical CDF)
        of the simulated or enumerated ``W``, ``a = 1 - level``.
    distribution
        The draws ``W`` of ``alpha_hat - alpha`` built from control-unit residuals.
    n_controls, n_treated
        Never-treated control units and treated units.
    exact
        ``True`` with one treated unit (``W`` enumerated over controls), ``False`` when simulated.
    """

    outcome: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float
    n_controls: int
    n_treated: int
    exact: bool
    n_draws: int
    seed: int | None
    distribution: np.ndarray = field(repr=False, compare=False)
    method: str = CT_METHOD
    warnings: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One-row frame."""
        return pd.DataFrame([{"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                              "level": self.level, "n_controls": self.n_controls, "n_treated": self.n_treated,
                              "exact": self.exact, "method": self.method}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (without the draws)."""
        return {"method": self.method, "outcome": self.outcome, "estimate": clean_float(self.estimate),
                "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high), "level": self.level,
                "n_controls": self.n_controls, "n_treated": self.n_treated, "exact": self.exact,
                "n_draws": self.n_draws, "seed": self.seed, "warnings": list(self.warnings)}


def conley_taber(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    level: float = 0.95,
    n_draws: int = 10_000,
    seed: int | None = 12345,
) -> ConleyTaberResult:
    """Conley-Taber (2011) confidence interval for the static DiD coefficient with few treated units.

    Estimand
        ``alpha`` in ``y_jt = alpha * d_jt + theta_j + gamma_t + eta_jt`` (static TWFE, no covariates).
    Method
        With ``N1`` treated units fixed and ``N0 -> inf`` controls, ``alpha_hat - alpha -> W = sum_{l treated}
        sum_t (d_lt - dbar_l) eta_lt / sum_{l} sum_t (d_lt - dbar_l)^2``: only the treated units' errors matter.
        Their distribution is estimated by the control units' TWFE residuals ``eta_hat_jt``: with one treated unit,
        ``W_j = sum_t (d_t - dbar)(eta_hat_jt - etabar_j) / sum_t (d_t - dbar)^2`` for each control ``j`` (exact
        enumeration); with several, each draw assigns every treated unit the residual path of a control drawn
        with replacement (``n_draws`` draws, ``seed``). The interval is ``[alpha_hat - Q(1 - a/2), alpha_hat -
        Q(a/2)]`` (Conley and Taber 2011, Proposition 2), ``Q`` the inverse empirical CDF of ``W``.
    Assumptions
        Balanced panel; errors independent across units and *identically distributed across treated and control
        units* (homoskedastic across units) -- with a noisier treated unit the interval is too short (Ferman and
        Pinto 2019); use :func:`placebo_in_space` with ``statistic="pre_sd"`` then. At least
        ``CT_MIN_CONTROLS`` (10) never-treated controls; with ``J`` controls and one treated unit the coverage is at
        most about ``(J - 1) / (J + 1)``. Always-treated units carry no information and are ignored.

    Returns
    -------
    ConleyTaberResult

    References
    ----------
    Conley, T. G. and Taber, C. R. (2011). Inference with "difference in differences" with a small number of
    policy changes. *Review of Economics and Statistics* 93(1), 113-125.
    """
    if not 0 < level < 1:
        raise UserInputError(f"level must be in (0, 1), got {level!r}.")
    if int(n_draws) < 100:
        raise UserInputError(f"n_draws must be at least 100, got {n_draws!r}.")
    panel = prepare_panel(df, unit=unit, time=time, cohort=cohort, outcome=outcome)
    check_treatment_variation(panel)
    bp = balanced_panel(panel, what="conley_taber")
    controls = np.flatnonzero(bp.cohort == 0)
    if controls.size < CT_MIN_CONTROLS:
        raise UserInputError(
            f"conley_taber needs at least {CT_MIN_CONTROLS} never-treated control units, found {controls.size}: "
            "the interval is built from their residuals. Fix: add controls, or use placebo_in_space."
        )
    fit0 = twfe_matrix(bp.y, bp.d)
    d_w = bp.d - bp.d.mean(axis=1, keepdims=True)  # within-unit demeaned treatment paths
    treated = np.flatnonzero((bp.cohort > 0) & ((d_w**2).sum(axis=1) > 0))
    if treated.size == 0:
        raise EstimationError("no treated unit changes treatment within the panel. Fix: check the cohort coding.")
    eta = fit0.resid[controls]
    eta = eta - eta.mean(axis=1, keepdims=True)
    paths = d_w[treated]
    denom = float((paths**2).sum())
    msgs = list(panel.warnings)
    a = 1 - level
    if treated.size == 1:
        w = eta @ paths[0] / denom
        exact, n_used, seed_used = True, int(w.size), None
    else:
        rng = np.random.default_rng(seed)
        proj = eta @ paths.T  # (controls, treated): control j's residuals on treated unit l's path
        pick = rng.integers(0, controls.size, size=(int(n_draws), treated.size))
        w = proj[pick, np.arange(treated.size)].sum(axis=1) / denom
        exact, n_used, seed_used = False, int(n_draws), seed
    q_lo = float(np.quantile(w, a / 2, method="inverted_cdf"))
    q_hi = float(np.quantile(w, 1 - a / 2, method="inverted_cdf"))
    if exact and a / 2 < 1 / w.size:
        msgs.append(f"with {w.size} controls the interval uses the extreme residual draws; its coverage is about "
                    f"{(w.size - 1) / (w.size + 1):.3f} at most")
    return ConleyTaberResult(
        outcome=outcome, estimate=fit0.estimate, ci_low=fit0.estimate - q_hi, ci_high=fit0.estimate - q_lo,
        level=level, n_controls=int(controls.size), n_treated=int(treated.size), exact=exact, n_draws=n_used,
        seed=seed_used, distribution=w, warnings=tuple(msgs),
    )
