"""Sensitivity of event-study conclusions to violations of parallel trends, on an :class:`EstimationResult`.

The numerical work is :mod:`clusterpolicy.estimate.honestdid` (a port of R ``HonestDiD``: Rambachan and Roth's
relative-magnitudes sets with the conditional / least-favourable hybrid, and smoothness sets with the fixed-length
interval). This module prepares an estimator's event study for it, so that every caller -- the templates, the
specification curve and ``clusterpolicy sensitivity`` -- gets the same three things computed on **the same
pre-period window**:

* :func:`pretrend_test` -- the joint Wald test that all pre-period coefficients are zero, chi-square and F with
  ``G - 1`` denominator degrees of freedom. A *diagnostic*: failing to reject does not show that trends are
  parallel (low power; Roth, 2022), and conditioning on passing it distorts inference.
* :func:`rambachan_roth` -- robust confidence sets for a target (the first post period, the post-period average
  or any weights) over a grid of ``Mbar`` (``Delta^RM``) or ``M`` (``Delta^SD``), and the breakdown value.
* :func:`sensitivity_analysis` -- both, plus the pre-trend test, as one record.

Event studies with a *varying* base period (Callaway-Sant'Anna's default, where each pre-period coefficient is a
one-period placebo change) are first re-expressed relative to ``e = -1`` (:func:`to_universal_base`), then cut to
the window; the Wald statistic is the same in either base (the map is linear and invertible), the bounds need the
universal base.

References
----------
Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends. *Review of Economic Studies*
90(5), 2555-2591.
Roth, J. (2022). Pretest with caution: event-study estimates after testing for parallel trends. *American Economic
Review: Insights* 4(3), 305-322.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import EstimationError
from clusterpolicy.estimate.honestdid import (
    PretrendWald,
    SensitivityBounds,
    event_study_inputs,
    pretrend_wald,
    sensitivity_bounds,
    target_vector,
)
from clusterpolicy.estimate.literals import SensitivityRestriction, SensitivityTarget, check_literal
from clusterpolicy.estimate.result import EstimationResult

#: Default event-time window of the diagnostics: sparse horizons beyond it rest on one or two units.
DEFAULT_WINDOW = (5, 5)


def to_universal_base(es: pd.DataFrame, vcov: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-express varying-base pre-period placebos relative to ``e = -1`` (a universal base).

    With a varying base, the pre-period coefficient at ``e < 0`` is a one-period change (``Y_{g+e} - Y_{g+e-1}``,
    treated minus control). Relative to ``e = -1`` the level at ``e <= -2`` is minus the sum of the changes from
    ``e + 1`` to ``-1``; ``e = -1`` itself becomes the reference (dropped). Post-period coefficients are unchanged
    (their base is ``g - 1`` already). The map is linear, so the covariance is ``A V A'``. Exact for a fixed
    comparison group and fixed cohort composition across event times; otherwise an approximation (cohorts enter
    and leave the dynamic aggregation at long horizons).
    """
    times = [int(t) for t in es["event_time"]]
    pre = [t for t in times if t < 0]
    if -1 not in pre:
        raise EstimationError("to_universal_base: the event study has no coefficient at e = -1.")
    missing = [t for t in range(min(pre), 0) if t not in pre]
    if missing:
        raise EstimationError(f"to_universal_base: pre-period event times {missing} are missing.")
    out_times = [t for t in times if t != -1]
    A = np.zeros((len(out_times), len(times)))
    pos = {t: i for i, t in enumerate(times)}
    for r, t in enumerate(out_times):
        if t >= 0:
            A[r, pos[t]] = 1.0
        else:
            for k in range(t + 1, 0):
                A[r, pos[k]] = -1.0
    b = A @ es.set_index("event_time").loc[times, "estimate"].to_numpy()
    V = A @ vcov.loc[times, times].to_numpy() @ A.T
    frame = pd.DataFrame({"event_time": out_times, "estimate": b, "se": np.sqrt(np.diag(V))})
    return frame, pd.DataFrame(V, index=out_times, columns=out_times)


def universal_event_study(
    result: EstimationResult, *, window: tuple[int, int] | None = DEFAULT_WINDOW
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The result's event study relative to ``e = -1`` with its covariance, cut to ``window = (pre, post)``
    (event times ``-pre .. post``; ``None`` keeps all).

    Raises
    ------
    EstimationError
        When the result has no event study or no event-study covariance covering its pre- and post-periods.
    """
    es, vcov = result.event_study, result.event_study_vcov
    if es is None or vcov is None:
        raise EstimationError(f"estimator {result.estimator!r} reports no event study with a covariance; use cs, sa, "
                              "twfe_es, poisson or etwfe for pre-trend tests and sensitivity bounds.")
    if not (vcov.index < 0).any() and (es["event_time"] < 0).any():
        raise EstimationError(f"the {result.estimator!r} pre-period coefficients come from a separate pre-trend "
                              "test without a joint covariance with the post-periods; use cs, sa or twfe_es for "
                              "sensitivity bounds.")
    es = es[es["event_time"].isin(vcov.index)][["event_time", "estimate", "se"]].reset_index(drop=True)
    if not (es["event_time"] < -1).any() and not (es["event_time"] == -1).any():
        raise EstimationError(f"the {result.estimator!r} event study has no pre-period coefficients with a joint "
                              "covariance; pre-trend tests and bounds need them.")
    if not np.all(np.isfinite(vcov.to_numpy(dtype=float))):
        raise EstimationError(f"the {result.estimator!r} event-study covariance has missing values (e.g. cells with "
                              "only zero counts); the pre-trend test and bounds cannot be computed on this scale.")
    if result.base_period == "varying":
        es, vcov = to_universal_base(es, vcov)
    if window is not None:
        pre, post = window
        es = es[(es["event_time"] >= -pre) & (es["event_time"] <= post)].reset_index(drop=True)
    idx = [int(t) for t in es["event_time"]]
    return es, vcov.loc[idx, idx]


def _inputs(result: EstimationResult,
            window: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray, np.ndarray]:
    es, vcov = universal_event_study(result, window=window)
    return event_study_inputs(es["event_time"].to_numpy(), es["estimate"].to_numpy(), vcov.to_numpy(), -1)


def pretrend_test(result: EstimationResult, *, window: tuple[int, int] | None = DEFAULT_WINDOW) -> PretrendWald:
    """Joint Wald test (chi-square, and F on ``(q, G - 1)`` degrees of freedom) of the pre-period coefficients in
    ``window``, relative to ``e = -1``: the same pre-periods as :func:`rambachan_roth`."""
    betahat, sigma, num_pre, _, _, _ = _inputs(result, window)
    return pretrend_wald(betahat[:num_pre], sigma[:num_pre, :num_pre], result.inference.n_clusters or None)


def rambachan_roth(
    result: EstimationResult,
    *,
    restriction: SensitivityRestriction = "rm",
    grid: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    target: SensitivityTarget | Sequence[float] = "average",
    window: tuple[int, int] | None = DEFAULT_WINDOW,
    level: float = 0.95,
    **kwargs: Any,
) -> SensitivityBounds:
    """Rambachan-Roth robust confidence sets for ``result``'s event study (see the module docstring).

    ``restriction="rm"``: relative magnitudes ``Delta^RM(Mbar)`` with the C-LF hybrid; ``"sd"``: smoothness
    ``Delta^SD(M)`` with the FLCI (``grid`` in outcome units per period squared). ``kwargs`` go to
    :func:`clusterpolicy.estimate.honestdid.sensitivity_bounds` (e.g. ``grid_points``).
    """
    check_literal(restriction, SensitivityRestriction, "restriction")
    if isinstance(target, str):
        check_literal(target, SensitivityTarget, "target")
    betahat, sigma, num_pre, num_post, _, _ = _inputs(result, window)
    return sensitivity_bounds(betahat, sigma, num_pre, num_post, list(grid), restriction=restriction,
                              target=target, alpha=1 - level, **kwargs)


@dataclass(frozen=True)
class Sensitivity:
    """Pre-trend test and robust bounds of one event study, on one window.

    Attributes
    ----------
    pretrend
        Joint Wald test of the pre-period coefficients.
    relative_magnitudes, smoothness
        Robust sets (``None`` when not requested).
    sd_unit
        With ``sd_relative=True``: the unit of the smoothness grid, the standard error of the target under exact
        parallel trends, ``sqrt(l' Sigma_post l)`` (``smoothness.rows`` hold ``M`` in outcome units).
    pre_times, post_times
        The event times used by all three.
    """

    pretrend: PretrendWald
    relative_magnitudes: SensitivityBounds | None
    smoothness: SensitivityBounds | None
    pre_times: tuple[int, ...]
    post_times: tuple[int, ...]
    sd_unit: float | None = None


def sensitivity_analysis(
    result: EstimationResult,
    *,
    rm_grid: Sequence[float] | None = (0.0, 0.5, 1.0, 1.5, 2.0),
    sd_grid: Sequence[float] | None = None,
    target: SensitivityTarget = "average",
    window: tuple[int, int] | None = DEFAULT_WINDOW,
    level: float = 0.95,
    sd_relative: bool = False,
    **kwargs: Any,
) -> Sensitivity:
    """Pre-trend test, relative-magnitudes and (with ``sd_grid``) smoothness sets on the same window.

    ``Delta^SD(M)`` bounds the change in the slope of the differential trend by ``M`` outcome units per period
    squared. ``M`` has no scale-free meaning, so with ``sd_relative=True`` the ``sd_grid`` values are multiples of
    the target's standard error under exact parallel trends (``Sensitivity.sd_unit``) and are converted to outcome
    units before the FLCI is computed.
    """
    betahat, sigma, num_pre, num_post, pre, post = _inputs(result, window)
    sd_unit = None
    if sd_grid is not None and sd_relative:
        lv = target_vector(target, num_post)
        sd_unit = float(np.sqrt(lv @ sigma[num_pre:, num_pre:] @ lv))
        sd_grid = [float(g) * sd_unit for g in sd_grid]
    wald = pretrend_wald(betahat[:num_pre], sigma[:num_pre, :num_pre], result.inference.n_clusters or None)
    rm = sd = None
    if rm_grid is not None:
        rm = sensitivity_bounds(betahat, sigma, num_pre, num_post, list(rm_grid), restriction="rm", target=target,
                                alpha=1 - level, **kwargs)
    if sd_grid is not None:
        sd = sensitivity_bounds(betahat, sigma, num_pre, num_post, list(sd_grid), restriction="sd", target=target,
                                alpha=1 - level)
    return Sensitivity(pretrend=wald, relative_magnitudes=rm, smoothness=sd,
                       pre_times=tuple(int(t) for t in pre), post_times=tuple(int(t) for t in post), sd_unit=sd_unit)
