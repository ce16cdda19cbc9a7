"""Sensitivity of event-study conclusions to violations of parallel trends.

* :func:`pretrend_test` -- joint Wald test that all pre-period event-study coefficients are zero. A *diagnostic*:
  failing to reject does not show that trends are parallel (low power; Roth, 2022), and conditioning on passing
  it distorts inference. It is reported, never used as a gate.
* :func:`relative_magnitudes_bounds` -- Rambachan and Roth (2023) "relative magnitudes" restriction
  ``Delta^RM(Mbar)``: post-treatment changes in the trend violation are at most ``Mbar`` times the largest
  pre-treatment change. Reports bounds on the post-period average effect for a grid of ``Mbar`` and the
  breakdown value (the smallest ``Mbar`` at which the conclusion is lost).
* :func:`smoothness_bounds` -- Rambachan and Roth's smoothness restriction ``Delta^SD(M)``: the violation may
  deviate from a linear extrapolation of the pre-trend by at most ``M`` in second differences per period.

**Approximation (read this).** These bounds are *plug-in* versions of Rambachan and Roth's sets, not the full
``HonestDiD`` conditional/hybrid confidence sets. The pre-period violations are set equal to the estimated
pre-period coefficients (their sampling error is ignored when computing the bound on the bias), the worst-case
post-period bias ``b`` given that bound is computed exactly, and the confidence interval for the post-period
average effect is the fixed-length interval ``theta_hat +/- cv_alpha(b / se) * se`` where ``cv_alpha(r)`` is the
``1 - alpha`` quantile of ``|N(r, 1)|`` (Armstrong and Kolesar, 2020). This interval has correct coverage for any
violation whose worst-case bias is at most ``b``; what it omits is the uncertainty in the pre-period estimates
that define ``b``, so with noisy pre-periods it can be too narrow for ``Delta^RM`` and (less so) for ``Delta^SD``.
Use the R package HonestDiD for publication-grade intervals.

Conventions: event time ``e = -1`` is the reference period (violation ``delta_{-1} = 0``); post periods are
``e >= 0``; the target is ``theta = mean_{e in post} beta_e``; the bias of ``theta_hat`` is
``mean_{e in post} delta_e``.

References
----------
Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends. *Review of Economic Studies*
90(5), 2555-2591.
Roth, J. (2022). Pretest with caution: event-study estimates after testing for parallel trends. *American Economic
Review: Insights* 4(3), 305-322.
Armstrong, T. B. and Kolesar, M. (2020). Simple and honest confidence intervals in nonparametric regression.
*Quantitative Economics* 11(1), 1-39.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.result import EstimationResult

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _EventStudy:
    event_time: np.ndarray  # sorted, reference period excluded
    estimate: np.ndarray
    vcov: np.ndarray
    has_covariance: bool
    reference: int | None


def _event_study_input(
    result: EstimationResult | pd.DataFrame, vcov: Any, reference: int | None, what: str
) -> _EventStudy:
    """Coefficients and covariance from an EstimationResult or a frame ``event_time, estimate, se``."""
    if isinstance(result, EstimationResult):
        frame = result.event_study
        if frame is None:
            raise EstimationError(f"{what}: the result from '{result.estimator}' has no event study; re-estimate "
                                  "with event-study output.")
        if vcov is None:
            vcov = result.event_study_vcov
    else:
        frame = result
    need = {"event_time", "estimate", "se"}
    if not need.issubset(frame.columns):
        raise UserInputError(f"{what}: event-study frame needs columns {sorted(need)}; got {list(frame.columns)}.")
    es = frame[["event_time", "estimate", "se"]].copy()
    es["event_time"] = es["event_time"].astype(int)
    if es["event_time"].duplicated().any():
        raise UserInputError(f"{what}: duplicate event times {sorted(es.loc[es['event_time'].duplicated(), 'event_time'])}.")
    # The reference period is normalised to zero (it may be listed with se 0 or NaN); drop it.
    if reference is not None:
        es = es[es["event_time"] != reference]
    es = es.sort_values("event_time")
    es = es[np.isfinite(es["estimate"].to_numpy(dtype=float))]
    times = es["event_time"].to_numpy()
    est = es["estimate"].to_numpy(dtype=float)
    se = es["se"].to_numpy(dtype=float)
    if vcov is not None:
        V = _align_vcov(vcov, times, what)
        return _EventStudy(times, est, V, True, reference)
    if not np.all(np.isfinite(se)):
        raise UserInputError(f"{what}: some event-study standard errors are missing; pass `vcov`.")
    return _EventStudy(times, est, np.diag(se**2), False, reference)


def _align_vcov(vcov: Any, times: np.ndarray, what: str) -> np.ndarray:
    """Accept a DataFrame indexed by event time, a dict ``{"event_time": [...], "matrix": [[...]]}`` or an array
    ordered like the (reference-free, sorted) event times."""
    if isinstance(vcov, dict):
        vcov = pd.DataFrame(vcov["matrix"], index=vcov["event_time"], columns=vcov["event_time"])
    if isinstance(vcov, pd.DataFrame):
        idx = [int(i) for i in vcov.index]
        vcov = pd.DataFrame(vcov.to_numpy(dtype=float), index=idx, columns=idx)
        missing = [int(t) for t in times if t not in vcov.index]
        if missing:
            raise UserInputError(f"{what}: vcov lacks event times {missing}.")
        return vcov.loc[list(times), list(times)].to_numpy()
    V = np.asarray(vcov, dtype=float)
    if V.shape != (times.size, times.size):
        raise UserInputError(f"{what}: vcov has shape {V.shape}; expected {(times.size, times.size)} for event "
                             f"times {list(times)} (reference period excluded).")
    return V


def _warn_diagonal(what: str) -> None:
    warnings.warn(f"{what}: no event-study covariance available; treating coefficients as independent (diagonal "
                  "covariance). Pass `vcov` for a valid joint test.", ClusterPolicyWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------------------------
# Pre-trend Wald test
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PretrendTest:
    """Joint Wald test of ``H0: beta_e = 0 for all pre-periods e < 0`` (reference period excluded).

    ``statistic = b' V^-1 b`` is chi-squared with ``df`` = number of pre-period coefficients under H0 (asymptotic).
    A diagnostic only: a large p-value is not evidence of parallel trends (Roth, 2022).
    """

    statistic: float
    df: int
    p_value: float
    event_times: tuple[int, ...]
    used_covariance: bool
    max_abs_pre: float

    def tidy(self) -> pd.DataFrame:
        """One-row frame."""
        return pd.DataFrame([{
            "test": "pre-trend joint Wald", "statistic": self.statistic, "df": self.df, "p_value": self.p_value,
            "used_covariance": self.used_covariance, "max_abs_pre": self.max_abs_pre,
        }])

    def summary(self) -> str:
        """Plain-text summary."""
        cov = "full covariance" if self.used_covariance else "DIAGONAL covariance (coefficients assumed independent)"
        return (f"Pre-trend diagnostic: Wald chi2({self.df}) = {self.statistic:.4g}, p = {self.p_value:.4g} "
                f"({cov}); largest |pre-period coefficient| {self.max_abs_pre:.4g}. A diagnostic, not a test "
                "that trends are parallel.")


def pretrend_test(
    result: EstimationResult | pd.DataFrame, *, vcov: Any = None, reference: int | None = -1
) -> PretrendTest:
    """Joint Wald test of the pre-period event-study coefficients.

    Parameters
    ----------
    result
        An :class:`EstimationResult` with ``event_study`` (its ``details["event_study_vcov"]`` is used when
        present) or a frame ``event_time, estimate, se``.
    vcov
        Covariance of the event-study coefficients (DataFrame indexed by event time, or an array ordered by
        event time, reference excluded). Without it, a diagonal matrix from the SEs is used and a
        :class:`~clusterpolicy.errors.ClusterPolicyWarning` is issued.
    reference
        The normalised reference event time (excluded). ``None`` keeps every pre-period row, e.g. for
        Callaway-Sant'Anna event studies with a varying base period, where ``e = -1`` is an estimated placebo.
    """
    es = _event_study_input(result, vcov, reference, "pretrend_test")
    pre = es.event_time < 0
    if not pre.any():
        raise EstimationError("pretrend_test: no pre-period coefficients besides the reference period.")
    if not es.has_covariance:
        _warn_diagonal("pretrend_test")
    b = es.estimate[pre]
    V = es.vcov[np.ix_(pre, pre)]
    stat = float(b @ np.linalg.solve(V, b))
    return PretrendTest(
        statistic=stat, df=int(pre.sum()), p_value=float(stats.chi2.sf(stat, int(pre.sum()))),
        event_times=tuple(int(t) for t in es.event_time[pre]), used_covariance=es.has_covariance,
        max_abs_pre=float(np.max(np.abs(b))),
    )


# ----------------------------------------------------------------------------------------------------------------
# Rambachan-Roth style bounds
# ----------------------------------------------------------------------------------------------------------------
def flci_critical_value(bias_ratio: float, alpha: float = 0.05) -> float:
    """``cv_alpha(r)``: the ``1 - alpha`` quantile of ``|N(r, 1)|`` (fixed-length CI critical value).

    ``theta_hat +/- cv_alpha(b/se) * se`` covers ``theta`` with probability >= ``1 - alpha`` whenever the bias of
    ``theta_hat`` is at most ``b`` in absolute value (Armstrong and Kolesar, 2020). ``cv_alpha(0) = z_{1-alpha/2}``.
    """
    r = abs(float(bias_ratio))
    if r == 0:
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(np.sqrt(stats.ncx2.ppf(1 - alpha, df=1, nc=r * r)))


_cv = flci_critical_value


@dataclass(frozen=True)
class SensitivityResult:
    """Bounds on the post-period average effect under a restriction on parallel-trends violations.

    Attributes
    ----------
    restriction
        ``"relative_magnitudes"`` (parameter ``Mbar``) or ``"smoothness"`` (parameter ``M``).
    theta, se
        Centre of the bounds and its SE: the post-period average of event-study coefficients (for smoothness,
        after removing the linear extrapolation of the last pre-period slope).
    bounds
        Frame ``parameter, bias_bound, id_low, id_high, ci_low, ci_high``: the (plug-in) identified set
        ``theta +/- bias_bound`` and the fixed-length confidence interval.
    breakdown_significance
        Smallest parameter value at which the CI includes zero (0 when it already does at parameter 0).
    breakdown_sign
        Smallest parameter value at which the identified set includes zero.
    """

    restriction: str
    theta: float
    se: float
    level: float
    bounds: pd.DataFrame
    breakdown_significance: float
    breakdown_sign: float
    bias_per_unit: float
    post_event_times: tuple[int, ...]
    used_covariance: bool
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """The bounds frame with the restriction name."""
        return self.bounds.assign(restriction=self.restriction)

    def summary(self) -> str:
        """Plain-text summary."""
        par = "Mbar" if self.restriction == "relative_magnitudes" else "M"
        lines = [
            f"Sensitivity ({self.restriction}, plug-in approximation of Rambachan-Roth): post-period average "
            f"{self.theta:.5g} (SE {self.se:.4g}) over event times {list(self.post_event_times)}",
            f"Breakdown {par} for significance at {self.level:.0%}: {self.breakdown_significance:.4g}; "
            f"for the sign (identified set): {self.breakdown_sign:.4g}",
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _post_average(es: _EventStudy) -> tuple[np.ndarray, float, float, np.ndarray]:
    post = es.event_time >= 0
    if not post.any():
        raise EstimationError("sensitivity: no post-period (event time >= 0) coefficients.")
    weights = np.where(post, 1.0 / post.sum(), 0.0)
    theta = float(weights @ es.estimate)
    return post, theta, float(np.sqrt(weights @ es.vcov @ weights)), weights


def _breakdown(theta: float, se: float, per_unit: float, alpha: float) -> tuple[float, float]:
    """Smallest parameter with 0 inside the CI, and inside the identified set, when bias = per_unit * parameter."""
    if per_unit <= 0:
        return (0.0 if abs(theta) <= _cv(0, alpha) * se else float("inf")), (0.0 if theta == 0 else float("inf"))
    sign = abs(theta) / per_unit
    if abs(theta) <= _cv(0.0, alpha) * se:
        return 0.0, sign
    if se == 0:
        return sign, sign

    def gap(m: float) -> float:  # positive while the CI excludes zero
        return abs(theta) - _cv(per_unit * m / se, alpha) * se

    # at m = sign the identified set touches 0, so the CI contains it there: gap(sign) < 0 < gap(0)
    return float(optimize.brentq(gap, 0.0, sign, xtol=1e-12, rtol=1e-12)), sign


def _bounds_frame(theta: float, se: float, per_unit: float, grid: Sequence[float], alpha: float) -> pd.DataFrame:
    rows = []
    for m in grid:
        b = per_unit * float(m)
        cv = _cv(b / se, alpha) if se > 0 else 0.0
        half = cv * se if se > 0 else b
        rows.append({"parameter": float(m), "bias_bound": b, "id_low": theta - b, "id_high": theta + b,
                     "ci_low": theta - half, "ci_high": theta + half})
    return pd.DataFrame(rows)


def relative_magnitudes_bounds(
    result: EstimationResult | pd.DataFrame,
    *,
    mbar_grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    vcov: Any = None,
    reference: int = -1,
    level: float = 0.95,
) -> SensitivityResult:
    """Relative-magnitudes sensitivity (Rambachan and Roth, 2023, ``Delta^RM(Mbar)``), plug-in approximation.

    Restriction: for every post period, ``|delta_{e+1} - delta_e| <= Mbar * Dpre`` where ``Dpre`` is the largest
    absolute change between consecutive pre-period violations (including the step into the reference period,
    where ``delta_{-1} = 0``), estimated by the pre-period coefficients. Then ``|delta_e| <= (e + 1) * Mbar * Dpre``
    and the worst-case bias of the post-period average is ``Mbar * Dpre * mean_{e in post}(e + 1)`` (attained by
    a violation growing linearly at the maximal rate).

    Breakdown values: ``breakdown_sign = |theta| / (Dpre * mean(e + 1))`` is where the identified set first
    contains zero; ``breakdown_significance`` where the fixed-length CI first contains zero (0 if the effect is
    not significant even under exact parallel trends). ``Mbar = 1`` means "post-period violations no worse than
    the worst pre-period one".

    See the module docstring for what the plug-in approximation omits.
    """
    es = _event_study_input(result, vcov, reference, "relative_magnitudes_bounds")
    if not es.has_covariance:
        _warn_diagonal("relative_magnitudes_bounds")
    alpha = 1 - level
    post, theta, se, _ = _post_average(es)
    pre_times = np.append(es.event_time[es.event_time < 0], reference)
    pre_vals = np.append(es.estimate[es.event_time < 0], 0.0)
    order = np.argsort(pre_times)
    pre_times, pre_vals = pre_times[order], pre_vals[order]
    consecutive = np.diff(pre_times) == 1
    if not consecutive.any():
        raise EstimationError("relative_magnitudes_bounds: need at least one pre-period coefficient adjacent to the "
                              f"reference period {reference} (e.g. event time {reference - 1}).")
    d_pre = float(np.max(np.abs(np.diff(pre_vals))[consecutive]))
    steps = es.event_time[post] - reference
    per_unit = d_pre * float(np.mean(steps))
    sig, sign = _breakdown(theta, se, per_unit, alpha)
    notes = ("plug-in bound: pre-period coefficients treated as the true pre-period violations",)
    return SensitivityResult(
        restriction="relative_magnitudes", theta=theta, se=se, level=level,
        bounds=_bounds_frame(theta, se, per_unit, mbar_grid, alpha), breakdown_significance=sig,
        breakdown_sign=sign, bias_per_unit=per_unit, post_event_times=tuple(int(t) for t in es.event_time[post]),
        used_covariance=es.has_covariance, notes=notes + (f"Dpre = {d_pre:.6g}",),
    )


def smoothness_bounds(
    result: EstimationResult | pd.DataFrame,
    *,
    m_grid: Sequence[float] = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1),
    vcov: Any = None,
    reference: int = -1,
    level: float = 0.95,
) -> SensitivityResult:
    """Smoothness sensitivity (Rambachan and Roth, 2023, ``Delta^SD(M)``), plug-in approximation.

    Restriction: ``|(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M`` for all t. With ``delta_{-1} = 0``
    and the last pre-period slope ``s = delta_{-1} - delta_{-2} = -beta_{-2}``, the violation in post period ``e``
    (``k = e + 1`` steps after the reference) is ``k * s`` plus at most ``M * k (k + 1) / 2``. The centre is the
    post-period average minus the linear extrapolation, ``theta = mean(beta_e) + beta_{-2} * mean(k)``, its SE uses
    the covariance of ``beta_{-2}`` with the post coefficients (zero if no covariance is given), and the
    worst-case extra bias is ``M * mean(k (k + 1) / 2)``. ``M = 0`` is linear extrapolation of the pre-trend.

    Requires the coefficient at ``reference - 1``. See the module docstring for the approximation.
    """
    es = _event_study_input(result, vcov, reference, "smoothness_bounds")
    if not es.has_covariance:
        _warn_diagonal("smoothness_bounds")
    alpha = 1 - level
    post = es.event_time >= 0
    if not post.any():
        raise EstimationError("smoothness_bounds: no post-period (event time >= 0) coefficients.")
    if reference - 1 not in set(es.event_time):
        raise EstimationError(f"smoothness_bounds: needs the coefficient at event time {reference - 1} to "
                              "extrapolate the pre-trend.")
    k = (es.event_time[post] - reference).astype(float)
    weights = np.where(post, 1.0 / post.sum(), 0.0)
    weights = weights + np.where(es.event_time == reference - 1, float(np.mean(k)), 0.0)
    theta = float(weights @ es.estimate)
    se = float(np.sqrt(weights @ es.vcov @ weights))
    per_unit = float(np.mean(k * (k + 1) / 2))
    sig, sign = _breakdown(theta, se, per_unit, alpha)
    return SensitivityResult(
        restriction="smoothness", theta=theta, se=se, level=level,
        bounds=_bounds_frame(theta, se, per_unit, m_grid, alpha), breakdown_significance=sig, breakdown_sign=sign,
        bias_per_unit=per_unit, post_event_times=tuple(int(t) for t in es.event_time[post]),
        used_covariance=es.has_covariance,
        notes=("plug-in bound: centre removes the linear extrapolation of the last pre-period slope",),
    )
