"""Robust inference when parallel trends may fail: a Python port of Rambachan and Roth (2023).

This module ports the two workhorse confidence sets of the R package **HonestDiD** (version 0.2.8,
asheshrambachan/HonestDiD), written from the package's method and checked against the bounds printed in its
README (see ``tests/estimate/test_honestdid.py``):

* :func:`flci_delta_sd` -- the fixed-length confidence interval (FLCI) for the smoothness restriction
  ``Delta^SD(M)`` (R ``findOptimalFLCI``; ``createSensitivityResults(method = "FLCI")``).
* :func:`conditional_lf_hybrid_delta_rm` -- the conditional / least-favourable hybrid (C-LF) confidence set of
  Andrews, Roth and Pakes (ARP) for the relative-magnitudes restriction ``Delta^RM(Mbar)`` (R
  ``computeConditionalCS_DeltaRM(hybrid_flag = "LF")``; ``createSensitivityResults_relativeMagnitudes``).

plus :func:`original_ci`, :func:`pretrend_wald`, :func:`breakdown_value`, :func:`sensitivity_bounds` (a grid of
``M``/``Mbar`` with its breakdown value) and :func:`event_study_inputs` (event-study rows to the arrays used here).

Setting and notation (Rambachan and Roth, 2023, Section 2). The event-study coefficients
``betahat = (beta_pre, beta_post)`` (``num_pre`` pre-periods, then ``num_post`` post-periods, the reference period
excluded and normalised to zero) are approximately ``N(beta, sigma)`` with ``beta = (delta_pre, tau_post +
delta_post)``: ``delta`` is the violation of parallel trends (``delta_pre`` is identified by ``beta_pre``) and
``tau_post`` the treatment effects. The estimand is ``theta = l_vec' tau_post``. Under a restriction
``delta in Delta`` the confidence sets below have asymptotic coverage ``1 - alpha`` for ``theta`` uniformly over
``Delta``.

* ``Delta^SD(M)``: the second differences of ``delta`` are at most ``M`` in absolute value (the violation is close
  to linear; ``M = 0`` allows exactly linear violations, extrapolated from the pre-periods).
* ``Delta^RM(Mbar)``: every post-period first difference of ``delta`` is at most ``Mbar`` times the largest
  pre-period first difference (``Mbar = 0`` is exact parallel trends after treatment; ``Mbar = 1`` lets the
  post-period violations be as large as the worst pre-period one).

**Same pre-period window.** Both the bounds and :func:`pretrend_wald` use exactly the pre-periods passed in
(whatever event times :func:`event_study_inputs` received): the pre-trend test and the restriction are always about
the same window. Drop leads before calling if a shorter window is wanted, and do it for both.

Numerical notes (where this port differs from R, by design).

* The least-favourable critical value of the C-LF hybrid is simulated (as in R) but with ``lf_sims`` draws
  (default 20,000) from ``numpy.random.default_rng(seed)`` (default seed 0) instead of R's 1,000 draws from
  ``set.seed(0)``; R's RNG stream cannot be reproduced, and 1,000 draws of a 99.5% quantile are noisy.
* The linear programs of ARP's test are solved exactly by enumerating the vertices of the dual polytope
  ``{gamma >= 0, W' gamma = e_1}`` (``W = [sd, X]``), which gives the test statistic, the dual vertex and the
  conditioning interval (``vlo``, ``vup``) without R's bisection; R's tolerance of ``1e-6`` on the dual equality is
  kept. This needs ``binom(M, k + 1)`` small systems (``M`` moments, ``k`` nuisance parameters): fine for up to
  about ten post-periods.
* The FLCI's worst-case-bias programme (R: CVXR/ECOS) is solved with SLSQP, and the half-length is minimised over
  the standard-deviation bound ``h`` with a bounded scalar minimiser (R: bisection on numerical derivatives; both
  find the minimum of the same convex function). The folded-normal quantile is computed exactly (R: 10^6 draws).

References
----------
Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends. *Review of Economic Studies*
90(5), 2555-2591.
Andrews, I., Roth, J. and Pakes, A. (2023). Inference for linear conditional moment inequalities. *Review of
Economic Studies* 90(6), 2763-2791.
Armstrong, T. B. and Kolesar, M. (2018). Optimal inference in a class of regression models. *Econometrica* 86(2),
655-683.
Rambachan, A. and Roth, J. HonestDiD: robust inference in difference-in-differences and event study designs,
R package version 0.2.8, https://github.com/asheshrambachan/HonestDiD.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: the norm/chi2/F functions below are the special functions scipy.stats calls,
# without stats' half-second import.
from scipy import optimize, special

from clusterpolicy.errors import ClusterPolicyWarning, UserInputError
from clusterpolicy.estimate.literals import SensitivityRestriction, SensitivityTarget, check_literal

#: Version of the R package HonestDiD whose methods are ported here.
HONESTDID_VERSION = "0.2.8"
#: Seed of the simulated least-favourable critical value (R uses ``set.seed(0)``).
DEFAULT_SEED = 0
#: Draws of the simulated least-favourable critical value (R uses 1,000; see the module notes).
DEFAULT_LF_SIMS = 20_000
#: Largest number of candidate dual bases enumerated by the ARP test; beyond it (long post-period windows) the test
#: solves its linear programs instead (:class:`_DualLP`), as R HonestDiD always does.
MAX_DUAL_BASES = 250_000

_TOL_LAMBDA = 1e-6  # R: tol_lambda, a dual weight above this marks a binding moment
_TOL_EQUALITY = 1e-6  # R: tol_equality in the dual bisection


# ----------------------------------------------------------------------------------------------------------------
# Inputs and validation
# ----------------------------------------------------------------------------------------------------------------
def _as_inputs(betahat: Any, sigma: Any, num_pre: int, num_post: int,
               l_vec: Any) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    beta = np.asarray(betahat, dtype=float).reshape(-1)
    sig = np.asarray(sigma, dtype=float)
    if int(num_pre) != num_pre or int(num_post) != num_post or num_pre < 1 or num_post < 1:
        raise UserInputError(f"num_pre={num_pre}, num_post={num_post}: both must be whole numbers >= 1; the "
                             "bounds need at least one pre-period and one post-period.")
    num_pre, num_post = int(num_pre), int(num_post)
    n = num_pre + num_post
    if beta.size != n:
        raise UserInputError(f"betahat has {beta.size} values but num_pre + num_post = {n}; pass one coefficient "
                             "per pre- and post-period (reference period excluded).")
    if sig.shape != (n, n):
        raise UserInputError(f"sigma has shape {sig.shape}, expected ({n}, {n}); pass the covariance of betahat.")
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(sig))):
        raise UserInputError("betahat or sigma contains NaN or infinite values; re-estimate or drop those periods.")
    if not np.allclose(sig, sig.T, rtol=1e-8, atol=1e-12 * max(1.0, float(np.abs(sig).max()))):
        raise UserInputError("sigma is not symmetric; pass a covariance matrix (e.g. (V + V.T) / 2).")
    if np.any(np.diag(sig) <= 0):
        raise UserInputError("sigma has a zero or negative variance on its diagonal; every coefficient needs a "
                             "positive variance.")
    if l_vec is None:
        lv = np.zeros(num_post)
        lv[0] = 1.0
    else:
        lv = np.asarray(l_vec, dtype=float).reshape(-1)
    if lv.size != num_post or not np.all(np.isfinite(lv)) or not np.any(lv != 0):
        raise UserInputError(f"l_vec must have num_post = {num_post} finite weights, not all zero (e.g. "
                             "(1, 0, ...) for the first post-period or equal weights for the average).")
    return beta, sig, num_pre, num_post, lv


def target_vector(target: str | Sequence[float], num_post: int) -> np.ndarray:
    """Weights ``l_vec`` for a named target: ``"first"`` (first post-period effect), ``"average"`` (mean of the
    post-period effects), or explicit weights (returned as an array)."""
    if isinstance(target, str):
        if check_literal(target, SensitivityTarget, "target") == "first":
            out = np.zeros(num_post)
            out[0] = 1.0
            return out
        return np.full(num_post, 1.0 / num_post)
    out = np.asarray(target, dtype=float).reshape(-1)
    if out.size != num_post:
        raise UserInputError(f"target has {out.size} weights but there are {num_post} post-periods.")
    return out


def event_study_inputs(
    event_time: Sequence[int] | np.ndarray, estimate: Sequence[float] | np.ndarray, vcov: Any, reference: int = -1
) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Arrange event-study rows as HonestDiD inputs.

    Parameters
    ----------
    event_time, estimate
        One row per event time (whole numbers relative to treatment). A row for the ``reference`` period is allowed
        only if its estimate is 0 (the normalisation); it is dropped.
    vcov
        Covariance of ``estimate`` in the same row order (``n x n``), without the reference period if it is absent
        from the rows.
    reference
        The omitted (normalised) period. Periods before it are pre-periods, periods after it post-periods (so with
        ``reference=-2`` the period ``-1`` is treated as a post-period: anticipation).

    Returns
    -------
    betahat, sigma, num_pre, num_post, pre_times, post_times
        Coefficients sorted by event time, their covariance, the counts and the event times of the pre- and
        post-periods. The bounds and :func:`pretrend_wald` must be run on these same periods.

    Raises
    ------
    UserInputError
        Mismatched lengths, duplicated or non-integer event times, a malformed covariance, missing pre- or
        post-periods, or event times that are not consecutive around the reference period.
    """
    times = np.asarray(event_time, dtype=float).reshape(-1)
    est = np.asarray(estimate, dtype=float).reshape(-1)
    if times.size != est.size:
        raise UserInputError(f"event_time has {times.size} values but estimate has {est.size}; pass one estimate "
                             "per event time.")
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(times != np.round(times)):
        raise UserInputError("event_time must be a non-empty list of whole numbers (periods relative to treatment).")
    times = times.astype(int)
    if len(set(times.tolist())) != times.size:
        raise UserInputError("event_time has duplicated values; pass one row per event time.")
    V = np.asarray(vcov, dtype=float) if vcov is not None else None
    if V is None or V.ndim != 2 or V.shape[0] != V.shape[1]:
        raise UserInputError("vcov must be a square matrix (the covariance of the event-study estimates).")
    keep = np.ones(times.size, dtype=bool)
    if reference in times.tolist():
        i = int(np.flatnonzero(times == reference)[0])
        if np.isfinite(est[i]) and abs(est[i]) > 1e-12:
            raise UserInputError(f"the reference period {reference} has estimate {est[i]:g}, not 0; pass the right "
                                 "--reference or drop that row.")
        keep[i] = False
        if V.shape[0] == times.size:
            V = np.delete(np.delete(V, i, axis=0), i, axis=1)
    times, est = times[keep], est[keep]
    if V.shape[0] != times.size:
        raise UserInputError(f"vcov is {V.shape[0]}x{V.shape[1]} but there are {times.size} event times besides "
                             f"the reference {reference}; pass the covariance of exactly these estimates.")
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(V))):
        raise UserInputError("estimate or vcov contains missing or infinite values; drop those event times.")
    order = np.argsort(times)
    times, est, V = times[order], est[order], V[np.ix_(order, order)]
    pre, post = times[times < reference], times[times > reference]
    if pre.size == 0:
        raise UserInputError(f"no pre-periods (event times before the reference {reference}); the bounds need at "
                             "least one, so re-estimate the event study with leads.")
    if post.size == 0:
        raise UserInputError(f"no post-periods (event times after the reference {reference}); re-estimate the "
                             "event study with lags.")
    full = np.concatenate([pre, [reference], post])
    if np.any(np.diff(full) != 1):
        raise UserInputError(f"event times {full.tolist()} are not consecutive around the reference {reference}; "
                             "the restrictions compare adjacent periods, so pass every period in the window.")
    if not np.allclose(V, V.T, rtol=1e-8, atol=1e-14 * max(1.0, float(np.abs(V).max()))):
        raise UserInputError("vcov is not symmetric; pass a covariance matrix.")
    if np.any(np.diag(V) <= 0):
        raise UserInputError("vcov has a zero or negative variance; every event time needs a positive variance.")
    return est, V, int(pre.size), int(post.size), pre, post


# ----------------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensitivityBounds:
    """Robust confidence sets over a grid of ``M`` (``Delta^SD``) or ``Mbar`` (``Delta^RM``).

    Attributes
    ----------
    rows
        ``(m, lb, ub, method)`` for each value of the grid, in grid order.
    breakdown
        Smallest ``M``/``Mbar`` at which the confidence set contains 0 (``None`` if it never does on the grid;
        ``0.0`` if it already does at the first grid value).
    restriction
        ``"rm"`` (relative magnitudes) or ``"sd"`` (second differences / smoothness).
    target
        ``"first"``, ``"average"`` or ``"custom"``; ``l_vec`` holds the weights.
    level
        Confidence level ``1 - alpha``.
    original
        The conventional CI ``l_vec' betahat_post +/- z * sd`` (valid under exact parallel trends).
    """

    rows: tuple[tuple[float, float, float, str], ...]
    breakdown: float | None
    restriction: str
    target: str
    level: float
    l_vec: tuple[float, ...] = ()
    original: tuple[float, float] = (math.nan, math.nan)
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def tidy(self) -> pd.DataFrame:
        """One row per grid value: ``m, lb, ub, method``."""
        return pd.DataFrame(list(self.rows), columns=["m", "lb", "ub", "method"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(float(x)) else float(x)

        return {
            "rows": [{"m": num(m), "lb": num(lb), "ub": num(ub), "method": meth} for m, lb, ub, meth in self.rows],
            "breakdown": num(self.breakdown),
            "restriction": self.restriction,
            "target": self.target,
            "l_vec": [float(x) for x in self.l_vec],
            "level": float(self.level),
            "original": {"lb": num(self.original[0]), "ub": num(self.original[1]), "method": "Original"},
            "honestdid_version": HONESTDID_VERSION,
        }


@dataclass(frozen=True)
class PretrendWald:
    """Joint Wald test that all pre-period coefficients are zero.

    ``chi2`` is ``b' V^{-1} b`` with ``q`` degrees of freedom; with ``n_clusters = G`` the F version is
    ``F = chi2 / q`` on ``(q, G - 1)`` degrees of freedom (``f_stat``/``f_p_value``/``df_denom`` are ``None``
    otherwise).
    """

    chi2: float
    df: int
    p_value: float
    f_stat: float | None = None
    df_denom: int | None = None
    f_p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"chi2": self.chi2, "df": self.df, "p_value": self.p_value, "f_stat": self.f_stat,
                "df_denom": self.df_denom, "f_p_value": self.f_p_value}


def pretrend_wald(betahat_pre: Any, sigma_pre: Any, n_clusters: int | None = None) -> PretrendWald:
    """Joint Wald test of ``H0: beta_pre = 0`` (a diagnostic, never a gate: see Roth, 2022).

    Parameters
    ----------
    betahat_pre, sigma_pre
        Pre-period coefficients and their covariance -- the same pre-periods used by the bounds.
    n_clusters
        Number of clusters ``G``; when given, also report ``F = W / q`` with ``(q, G - 1)`` degrees of freedom.
    """
    b = np.asarray(betahat_pre, dtype=float).reshape(-1)
    V = np.asarray(sigma_pre, dtype=float)
    q = b.size
    if q == 0 or V.shape != (q, q):
        raise UserInputError(f"pretrend_wald needs q >= 1 coefficients and a q x q covariance (got {q} and "
                             f"{V.shape}).")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(V))):
        raise UserInputError("pretrend_wald: coefficients or covariance contain NaN or infinite values.")
    try:
        w = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:
        raise UserInputError("pretrend_wald: the pre-period covariance is singular; drop collinear pre-periods.") from None
    # Clamped at 0: a not-quite-positive-definite covariance can give w < 0, where scipy.stats' chi2/F sf return 1
    # (below the support) but the special functions return NaN.
    out: dict[str, Any] = {"chi2": w, "df": q, "p_value": float(special.chdtrc(q, max(w, 0.0)))}
    if n_clusters is not None:
        g = int(n_clusters)
        if g < 2:
            raise UserInputError(f"n_clusters={n_clusters}: the F version needs at least 2 clusters.")
        out.update(f_stat=w / q, df_denom=g - 1, f_p_value=float(special.fdtrc(q, g - 1, max(w / q, 0.0))))
    return PretrendWald(**out)


def original_ci(betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = None,
                alpha: float = 0.05) -> tuple[float, float]:
    """Conventional CI ``l_vec' betahat_post +/- z_{1-alpha/2} sd`` (R ``constructOriginalCS``)."""
    beta, sig, num_pre, num_post, lv = _as_inputs(betahat, sigma, num_pre, num_post, l_vec)
    post = slice(num_pre, num_pre + num_post)
    est = float(lv @ beta[post])
    sd = float(np.sqrt(lv @ sig[post, post] @ lv))
    z = float(special.ndtri(1 - alpha / 2))
    return est - z * sd, est + z * sd


# ----------------------------------------------------------------------------------------------------------------
# Delta^SD(M): fixed-length confidence interval (R flci.R)
# ----------------------------------------------------------------------------------------------------------------
def _folded_normal_quantile(p: float, mu: float) -> float:
    """``p`` quantile of ``|N(mu, 1)|`` (exact; R simulates it with 10^6 draws)."""
    mu = abs(float(mu))
    if mu == 0:
        return float(special.ndtri(0.5 + p / 2))

    def cover(c: float) -> float:
        return float(special.ndtr(c - mu) - special.ndtr(-c - mu)) - p

    hi = mu + special.ndtri(p) + 10.0
    return float(optimize.brentq(cover, 0.0, hi, xtol=1e-14, rtol=1e-14))


def _w_to_l(k: int) -> np.ndarray:
    """Matrix taking the cumulated weights ``w`` to pre-period weights ``l_pre`` (R ``.wToLFn``)."""
    m = np.eye(k)
    for c in range(k - 1):
        m[c + 1, c] = -1.0
    return m


class _FLCIProblem:
    """Worst-case bias of the affine estimator ``l_pre' beta_pre + l_vec' beta_post`` over ``Delta^SD(1)``.

    Variables are ``w`` (cumulated pre-period weights, ``l_pre = W w``); the worst-case bias is
    ``constant + sum_i |cumsum(w)_i|`` subject to ``sum(w) = sum_s s * l_s`` (R ``.createObjectiveObjectForBias``,
    ``.createConstraints_SumWeights``). The variance is ``w' Q w + a' w + c0``.
    """

    def __init__(self, sigma: np.ndarray, num_pre: int, num_post: int, l_vec: np.ndarray) -> None:
        k = num_pre
        self.k = k
        W = _w_to_l(k)
        pre, post = slice(0, k), slice(k, k + num_post)
        self.Q = W.T @ sigma[pre, pre] @ W
        self.a = 2 * W.T @ sigma[pre, post] @ l_vec
        self.c0 = float(l_vec @ sigma[post, post] @ l_vec)
        s = np.arange(1, num_post + 1, dtype=float)
        self.total = float(s @ l_vec)
        self.constant = sum(abs(float(np.arange(1, j + 1) @ l_vec[num_post - j:])) for j in range(1, num_post + 1)) \
            - self.total
        self.W = W

    def var(self, w: np.ndarray) -> float:
        return float(w @ self.Q @ w + self.a @ w + self.c0)

    def bias(self, w: np.ndarray) -> float:
        return self.constant + float(np.abs(np.cumsum(w)).sum())

    def min_variance(self) -> np.ndarray:
        """Minimum-variance weights subject to the sum constraint (R ``.findLowestH``), by the KKT system."""
        k = self.k
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = 2 * self.Q
        kkt[:k, k] = 1.0
        kkt[k, :k] = 1.0
        rhs = np.concatenate([-self.a, [self.total]])
        return np.linalg.solve(kkt, rhs)[:k]

    def min_bias_weights(self) -> np.ndarray:
        """All weight on the last pre-period (R ``.findHForMinimumBias``)."""
        w = np.zeros(self.k)
        w[-1] = self.total
        return w

    def min_bias_given_h(self, h: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """Minimise the worst-case bias subject to ``sd <= h`` (R ``.findWorstCaseBiasGivenH``), with SLSQP on
        ``(U, w)``, ``U_i >= |cumsum(w)_i|``."""
        k = self.k
        if k == 1:
            w = np.array([self.total])
            return self.bias(w), w
        L = np.tril(np.ones((k, k)))
        h2 = h * h
        x0 = np.concatenate([np.abs(L @ start) + 1e-9, start])
        # list[Any]: scipy-stubs types a constraint's "fun" as scalar-valued; SLSQP takes vector-valued ones
        cons: list[Any] = [
            {"type": "ineq", "fun": lambda x: np.concatenate([x[:k] - L @ x[k:], x[:k] + L @ x[k:]]),
             "jac": lambda x: np.block([[np.eye(k), -L], [np.eye(k), L]])},
            {"type": "eq", "fun": lambda x: np.array([x[k:].sum() - self.total]),
             "jac": lambda x: np.concatenate([np.zeros(k), np.ones(k)])[None, :]},
            {"type": "ineq", "fun": lambda x: np.array([(h2 - self.var(x[k:])) / h2]),
             "jac": lambda x: np.concatenate([np.zeros(k), -(2 * self.Q @ x[k:] + self.a) / h2])[None, :]},
        ]
        # scipy-stubs' options TypedDict lacks SLSQP's "ftol"
        res = optimize.minimize(  # type: ignore[call-overload]
            lambda x: x[:k].sum(), x0, jac=lambda x: np.concatenate([np.ones(k), np.zeros(k)]),
            constraints=cons, method="SLSQP", options={"ftol": 1e-14, "maxiter": 2000})
        w = res.x[k:]
        if self.var(w) > h2 * (1 + 1e-7):  # infeasible end point: fall back to the start, which is feasible
            w = start
        return self.bias(w), w


def flci_delta_sd(betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = None, m: float = 0.0,
                  alpha: float = 0.05) -> tuple[float, float]:
    """Fixed-length confidence interval for ``theta = l_vec' tau_post`` under ``Delta^SD(M)``.

    Port of HonestDiD 0.2.8 ``findOptimalFLCI`` (Rambachan and Roth, 2023, Section 4.1; Armstrong and Kolesar,
    2018). Among affine estimators ``l_pre' betahat_pre + l_vec' betahat_post`` the one minimising the length of
    ``estimate +/- cv_alpha(maxbias / sd) * sd`` is chosen, where ``maxbias`` is the worst-case bias over
    ``Delta^SD(M) = {delta: |(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M}`` (with ``delta_0 = 0`` at
    the reference period) and ``cv_alpha(r)`` the ``1 - alpha`` quantile of ``|N(r, 1)|``. The interval has
    correct coverage uniformly over ``Delta^SD(M)`` when ``betahat`` is normal with known covariance.

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients (pre-periods first, reference excluded) and their covariance.
    num_pre, num_post
        Numbers of pre- and post-periods.
    l_vec
        Weights of the target on the post-periods (default: the first post-period).
    m
        Bound ``M >= 0`` on the second differences of the violation, in units of the outcome per period squared.
    alpha
        One minus the confidence level.

    Returns
    -------
    (lb, ub)
    """
    beta, sig, num_pre, num_post, lv = _as_inputs(betahat, sigma, num_pre, num_post, l_vec)
    if not (math.isfinite(m) and m >= 0):
        raise UserInputError(f"M = {m}: the smoothness bound must be a finite number >= 0.")
    prob = _FLCIProblem(sig, num_pre, num_post, lv)
    w_min = prob.min_variance()
    h_min = math.sqrt(max(prob.var(w_min), 0.0))
    h0 = math.sqrt(max(prob.var(prob.min_bias_weights()), 0.0))

    cache: dict[float, tuple[float, np.ndarray]] = {}

    def bias_at(h: float) -> tuple[float, np.ndarray]:
        if h not in cache:
            if h <= h_min * (1 + 1e-12):
                cache[h] = (prob.bias(w_min), w_min)
            else:
                cache[h] = prob.min_bias_given_h(h, w_min)
        return cache[h]

    def half_length(h: float) -> float:
        b, _ = bias_at(h)
        return _folded_normal_quantile(1 - alpha, m * b / h) * h

    if m == 0 or h0 <= h_min * (1 + 1e-12):
        h_star = h_min
    else:
        res = optimize.minimize_scalar(half_length, bounds=(h_min, h0), method="bounded",
                                       options={"xatol": 1e-10 * max(h0, 1e-12)})
        h_star = float(res.x)
        for end in (h_min, h0):  # a convex function may be minimised at an end point
            if half_length(end) < half_length(h_star):
                h_star = end
    bias, w = bias_at(h_star)
    l_pre = prob.W @ w
    half = _folded_normal_quantile(1 - alpha, m * bias / h_star) * h_star
    center = float(l_pre @ beta[:num_pre] + lv @ beta[num_pre:])
    return center - half, center + half


# ----------------------------------------------------------------------------------------------------------------
# ARP conditional / least-favourable hybrid test with nuisance parameters (R arp-nuisance.R)
# ----------------------------------------------------------------------------------------------------------------
def _truncnorm_quantile(p: float, lo: float, hi: float) -> float:
    """``p`` quantile of ``N(0, 1)`` truncated to ``[lo, hi]`` (R ``TruncatedNormal::norminvp``).

    Computed in log space on the side of zero with the most mass (closed form ``Phi^-1(Phi(lo) + p (Phi(hi) -
    Phi(lo)))`` with ``log_ndtr``/``ndtri_exp``), which is exact to rounding in both tails and about 50 times
    faster than ``scipy.stats.truncnorm.ppf`` -- it is called thousands of times per confidence set.
    """
    if lo >= hi:
        return float(lo)
    if lo > 0:  # mirror into the left half, where log_ndtr keeps its precision
        return -_truncnorm_quantile(1.0 - p, -hi, -lo)
    log_lo, log_hi = float(special.log_ndtr(lo)), float(special.log_ndtr(hi))
    target = log_hi + math.log(p + (1.0 - p) * math.exp(log_lo - log_hi))
    q = float(special.ndtri_exp(target))
    if not math.isfinite(q):  # far tail: fall back to the bound
        q = float(hi if p > 0.5 else lo)
    return min(max(q, lo), hi)


def _dual_vertices(sd: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Vertices of ``{gamma >= 0 : [sd, X]' gamma = e_1}``, one per row (basic feasible solutions).

    ``eta(y) = min_{eta, delta} {eta : y - X delta <= eta * sd}`` equals ``max_v gamma_v' y`` (LP duality), so the
    vertices give the ARP statistic, its dual solution and the conditioning interval in closed form.
    """
    m, k = X.shape
    W = np.column_stack([sd, X])
    n_bases = math.comb(m, k + 1)
    if n_bases > MAX_DUAL_BASES:
        # _arp_accept_grid switches to the LP oracle (_DualLP) before this point; reaching it is a caller's bug
        raise ValueError(f"{n_bases} candidate dual bases ({m} moments, {k} nuisance parameters): use _DualLP.")
    bases = np.array(list(itertools.combinations(range(m), k + 1)), dtype=int)
    WB = W[bases]  # (n, k+1, k+1): rows B of W
    e1 = np.zeros(k + 1)
    e1[0] = 1.0
    dets = np.linalg.det(WB)
    ok = np.abs(dets) > 1e-12 * np.abs(WB).max(axis=(1, 2)) ** (k + 1)
    gam_b = np.linalg.solve(np.transpose(WB[ok], (0, 2, 1)), np.broadcast_to(e1, (int(ok.sum()), k + 1))[..., None])
    gam_b = gam_b[..., 0]
    feas = np.all(gam_b >= -1e-10, axis=1)
    out = np.zeros((int(feas.sum()), m))
    rows = np.arange(out.shape[0])[:, None]
    out[rows, bases[ok][feas]] = np.clip(gam_b[feas], 0.0, None)
    if out.size:
        out = np.unique(np.round(out, 12), axis=0)
    return out


class _DualLP:
    """``eta(y) = min {eta : y - X delta <= eta * sd} = max {lam' y : lam >= 0, [sd, X]' lam = e_1}`` by linear
    programming, for problems whose dual vertices are too many to enumerate (R HonestDiD solves these LPs too).

    Every LP solved leaves its optimal basis ``B`` (``k + 1`` moments) in a cache. A cached basis is optimal for a
    new ``y`` exactly when its primal point ``z = W_B^{-1} y_B`` is feasible (its dual vertex is feasible by
    construction), so most calls are one solve per cached basis and only new bases cost an LP (HiGHS).
    """

    def __init__(self, sd: np.ndarray, X: np.ndarray) -> None:
        self.W = np.column_stack([sd, X])
        self.bases: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (rows, inv(W_B), dual vertex)
        self._keys: set[tuple[int, ...]] = set()

    def _tol(self, Y: np.ndarray) -> np.ndarray:
        tol: np.ndarray = 1e-9 * (1.0 + np.abs(Y).max(axis=0))
        return tol

    def _from_cache(self, Y: np.ndarray, start: int = 0, eta: np.ndarray | None = None,
                    which: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Columns of ``Y`` solved by a cached basis (from number ``start`` on; columns already solved in
        ``which`` are kept): ``eta`` and the basis index (-1 where none applies)."""
        n = Y.shape[1]
        eta = np.full(n, np.nan) if eta is None else eta
        which = np.full(n, -1) if which is None else which
        tol = self._tol(Y)
        for b, (rows, winv, _) in enumerate(self.bases[start:], start=start):
            todo = np.flatnonzero(which < 0)
            if todo.size == 0:
                break
            Z = winv @ Y[np.ix_(rows, todo)]
            ok = np.all(self.W @ Z >= Y[:, todo] - tol[todo], axis=0)
            eta[todo[ok]], which[todo[ok]] = Z[0, ok], b
        return eta, which

    def _solve_lp(self, y: np.ndarray) -> tuple[float, np.ndarray, int]:
        """One LP (HiGHS); caches the optimal basis when it can be read off. Returns eta, lam, basis index."""
        m, k1 = self.W.shape
        res = optimize.linprog(np.r_[1.0, np.zeros(k1 - 1)], A_ub=-self.W, b_ub=-y, bounds=[(None, None)] * k1,
                               method="highs")
        if res.status == 3:  # unbounded primal: no dual vertex, eta = -inf
            return -math.inf, np.zeros(m), -1
        if res.status != 0:  # pragma: no cover - HiGHS failing on a feasible bounded LP
            raise UserInputError(f"the ARP linear program failed ({res.message}).")
        lam = np.clip(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0, None)
        z = np.asarray(res.x, dtype=float)
        # basis: the moments with positive dual weight, completed by active constraints up to k + 1 of full rank
        slack = self.W @ z - y
        order = [int(i) for i in np.argsort(-lam) if lam[i] > 1e-12]
        order += [int(i) for i in np.argsort(np.abs(slack)) if int(i) not in order and abs(slack[i]) < 1e-8]
        rows: list[int] = []
        for i in order:
            if len(rows) == k1:
                break
            if np.linalg.matrix_rank(self.W[[*rows, i]]) == len(rows) + 1:
                rows.append(i)
        if len(rows) == k1:
            key = tuple(sorted(rows))
            idx = np.array(key)
            winv = np.linalg.inv(self.W[idx])
            lam_b = np.linalg.solve(self.W[idx].T, np.eye(k1)[0])
            if key not in self._keys and np.all(lam_b >= -1e-10):
                vertex = np.zeros(m)
                vertex[idx] = np.clip(lam_b, 0.0, None)
                self.bases.append((idx, winv, vertex))
                self._keys.add(key)
                eta, which = self._from_cache(y[:, None])
                if which[0] >= 0:
                    return float(eta[0]), self.bases[int(which[0])][2], int(which[0])
        return float(z[0]), lam, -1

    def solve(self, Y: np.ndarray) -> np.ndarray:
        """``eta`` of every column of ``Y`` (``m x n``)."""
        eta, which = self._from_cache(Y)
        while np.any(which < 0):
            j = int(np.flatnonzero(which < 0)[0])
            n_before = len(self.bases)
            eta[j], _, b = self._solve_lp(Y[:, j])
            which[j] = max(b, 0)  # marks the column solved (by a cached basis or by the LP itself)
            if len(self.bases) > n_before:  # a new basis may solve other columns too
                eta, which = self._from_cache(Y, start=n_before, eta=eta, which=which)
        return eta

    def solve_one(self, y: np.ndarray) -> tuple[float, np.ndarray, Any]:
        """``eta``, an optimal dual vertex ``lam`` and a key naming it (for caches)."""
        eta, which = self._from_cache(y[:, None])
        if which[0] >= 0:
            b = int(which[0])
            return float(eta[0]), self.bases[b][2], b
        e, lam, b = self._solve_lp(y)
        return e, lam, (b if b >= 0 else tuple(np.round(lam, 12)))

    def dual_interval(self, eta: float, s: np.ndarray, b: np.ndarray, sigma_b: float) -> tuple[float, float]:
        """``[vlo, vup] = {c : eta(s + b c) <= c + tol}`` (R ``.vlo_vup_dual_fn``, ARP Appendix D). ``eta(s + b c)
        - c`` is convex and piecewise linear, so R's secant step from the far end (the intersection of the current
        optimal vertex's line with ``c``) reaches each end in finitely many LPs; bisection backs it up as in R."""
        lo_init, hi_init = min(-100.0, eta - 20 * sigma_b), max(100.0, eta + 20 * sigma_b)

        def honest(c: float) -> tuple[bool, np.ndarray]:
            e, lam, _ = self.solve_one(s + b * c)
            return abs(c - e) <= _TOL_EQUALITY, lam

        if not honest(eta)[0]:
            return eta, math.inf

        def end(start: float) -> float:
            ok, lam = honest(start)
            if ok:
                return math.inf if start > eta else -math.inf
            c = start
            for _ in range(100):
                denom = 1.0 - float(lam @ b)
                if abs(denom) < 1e-14:
                    break
                c_new = float(lam @ s) / denom
                ok, lam = honest(c_new)
                if ok:
                    return c_new
                if not (min(c, eta) < c_new < max(c, eta)):
                    break
                c = c_new
            inner, outer = eta, c  # bisection between the honest eta and the last dishonest point
            while abs(outer - inner) > 1e-6:
                mid = 0.5 * (inner + outer)
                if honest(mid)[0]:
                    inner = mid
                else:
                    outer = mid
            return inner

        return end(lo_init), end(hi_init)


def _least_favorable_cv(verts: np.ndarray | _DualLP, sigma: np.ndarray, kappa: float, sims: int,
                        seed: int) -> float:
    """``1 - kappa`` quantile of ``eta(xi)``, ``xi ~ N(0, sigma)`` (R ``.compute_least_favorable_cv``, ARP
    Section 6.2); ``verts`` are the dual vertices, or the LP oracle when they are too many."""
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(sigma.shape[0]), sigma, size=sims, method="eigh")
    if isinstance(verts, _DualLP):
        eta = verts.solve(xi.T)
        return float(np.quantile(eta, 1 - kappa)) if np.all(np.isfinite(eta)) else -math.inf
    if verts.shape[0] == 0:  # unbounded LP: eta = -inf for every draw
        return -math.inf
    eta = (xi @ verts.T).max(axis=1)
    return float(np.quantile(eta, 1 - kappa))


def _vertex_terms(lam: np.ndarray, X: np.ndarray, sigma: np.ndarray, verts: np.ndarray | None) -> dict[str, Any]:
    """What the conditional test needs of the maximising dual vertex ``lam`` that does not depend on ``y``.

    A confidence set tests every theta of a grid, and the maximising vertex is one of few, so these terms (a rank,
    an inverse, projections) are computed once per vertex (:func:`_arp_accept_grid` keeps them) instead of once
    per theta; the arithmetic is the same, so the tests are too."""
    m, k = X.shape
    sd = np.sqrt(np.diag(sigma))
    binding = lam > _TOL_LAMBDA
    degenerate = int(binding.sum()) != k + 1
    XB = X[binding]
    full_rank = XB.shape[0] > 0 and np.linalg.matrix_rank(XB) == min(XB.shape) if k > 0 else XB.shape[0] > 0
    if degenerate or not full_rank:
        gamma = lam
        gsg = float(gamma @ sigma @ gamma)
        sigma_b = math.sqrt(max(gsg, 0.0))
        if sigma_b < 1e-10:
            return {"dual": True, "sigma_b": sigma_b}
        b = sigma @ gamma / gsg
        if verts is None:  # LP path: the conditioning interval comes from _DualLP.dual_interval
            return {"dual": True, "sigma_b": sigma_b, "gamma": gamma, "b": b}
        slope = verts @ b - 1.0
        return {"dual": True, "sigma_b": sigma_b, "gamma": gamma, "b": b, "slope": slope,
                "neg": slope < -1e-14, "pos": slope > 1e-14}
    nb = ~binding
    SB = np.column_stack([sd[binding], X[binding]])
    SBinv = np.linalg.inv(SB)
    IB = np.eye(m)[binding]
    IBc = np.eye(m)[nb]
    gamma_B = np.column_stack([sd[nb], X[nb]]) @ SBinv @ IB - IBc
    v_B = (SBinv[0] @ IB)
    sigma2_b = float(v_B @ sigma @ v_B)
    return {"dual": False, "sigma_b": math.sqrt(sigma2_b), "gamma_B": gamma_B, "v_B": v_B,
            "rho": gamma_B @ sigma @ v_B / sigma2_b}


def _lp_conditional_test(y: np.ndarray, X: np.ndarray, sigma: np.ndarray, verts: np.ndarray | _DualLP,
                         alpha: float, kappa: float, lf_cv: float,
                         vertex_cache: dict[Any, dict[str, Any]] | None = None) -> bool:
    """ARP conditional test with the least-favourable hybrid of ``E[y - X delta] <= 0``; True = reject.
    Port of R ``.lp_conditional_test_fn(hybrid_flag = "LF")``. ``vertex_cache`` keeps :func:`_vertex_terms`
    between calls on the same ``X``, ``sigma`` and ``verts``."""
    oracle = verts if isinstance(verts, _DualLP) else None
    if oracle is not None:
        eta, lam, key = oracle.solve_one(y)
        if not math.isfinite(eta):
            return False
    else:
        assert isinstance(verts, np.ndarray)
        if verts.shape[0] == 0:
            return False  # LP unbounded (eta = -inf): never reject
        vals = verts @ y
        key = int(np.argmax(vals))
        eta, lam = float(vals[key]), verts[key]
    if eta > lf_cv:  # first stage of the hybrid
        return True
    mod_size = (alpha - kappa) / (1 - kappa)
    cache = {} if vertex_cache is None else vertex_cache
    if key not in cache:
        cache[key] = _vertex_terms(lam, X, sigma, verts if isinstance(verts, np.ndarray) else None)
    v = cache[key]
    sigma_b = float(v["sigma_b"])
    if v["dual"]:
        # Dual approach: condition on the dual vertex gamma (ARP Appendix D); vlo/vup are the ends of
        # {c : max_v gamma_v'(s + b c) <= c + tol}, the set R finds by bisection.
        if sigma_b < 1e-10:
            return eta > 0
        s = y - v["b"] * float(v["gamma"] @ y)
        if oracle is not None:
            vlo, vup = oracle.dual_interval(eta, s, v["b"], sigma_b)
            if vup >= max(100.0, eta + 20 * sigma_b):
                vup = math.inf
            if vlo <= min(-100.0, eta - 20 * sigma_b):
                vlo = -math.inf
            return _truncated_reject(eta / sigma_b, vlo / sigma_b, min(vup, lf_cv) / sigma_b, mod_size)
        assert isinstance(verts, np.ndarray)
        a_v, slope, neg, pos = verts @ s, v["slope"], v["neg"], v["pos"]
        lo_init, hi_init = min(-100.0, eta - 20 * sigma_b), max(100.0, eta + 20 * sigma_b)
        # constraint a_v + slope * c <= tol for every vertex
        vlo, vup = -math.inf, math.inf
        if np.any(neg):
            vlo = float(np.max((_TOL_EQUALITY - a_v[neg]) / slope[neg]))
        if np.any(pos):
            vup = float(np.min((_TOL_EQUALITY - a_v[pos]) / slope[pos]))
        flat = ~(neg | pos)
        if np.any(a_v[flat] > _TOL_EQUALITY) or not (vlo <= eta + 1e-12 and eta <= vup + 1e-12):
            vlo, vup = eta, math.inf  # R: eta is not a solution -> (eta, Inf)
        if vup >= hi_init:
            vup = math.inf
        if vlo <= lo_init:
            vlo = -math.inf
        maxstat = eta / sigma_b
        zlo = vlo / sigma_b
        zup = min(vup, lf_cv) / sigma_b
    else:
        # Primal approach (ARP Section 5): the binding moments B are the k + 1 with positive dual weight.
        rho = v["rho"]
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = (-v["gamma_B"] @ y) / rho + float(v["v_B"] @ y)
        vlo = float(np.max(bound[rho > 0])) if np.any(rho > 0) else -math.inf
        vup = float(np.min(bound[rho < 0])) if np.any(rho < 0) else math.inf
        zlo = vlo / sigma_b
        zup = min(vup, lf_cv) / sigma_b
        maxstat = eta / sigma_b
    return _truncated_reject(maxstat, zlo, zup, mod_size)


def _truncated_reject(maxstat: float, zlo: float, zup: float, mod_size: float) -> bool:
    """Second stage: reject when the statistic exceeds the truncated-normal critical value on ``[zlo, zup]``."""
    if not (zlo <= maxstat <= zup):
        return False
    cval = max(0.0, _truncnorm_quantile(1 - mod_size, zlo, zup))
    return maxstat > cval


def _construct_gamma(l_vec: np.ndarray) -> np.ndarray:
    """Invertible matrix with first row ``l_vec'`` (R ``.construct_Gamma``: pivot columns of ``[l, I]``)."""
    cols = [l_vec]
    for j in range(l_vec.size):
        if len(cols) == l_vec.size:
            break
        e = np.zeros(l_vec.size)
        e[j] = 1.0
        if np.linalg.matrix_rank(np.column_stack([*cols, e])) > len(cols):
            cols.append(e)
    return np.vstack(cols)


def _create_a_rm(num_pre: int, num_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """Constraint matrix ``A`` with ``Delta^RM_{s,sign}(Mbar) = {delta : A delta <= 0}`` (R ``.create_A_RM``):
    every first difference is bounded by the pre-period first difference ending at ``s`` (times ``Mbar`` after
    treatment), which is the largest one in absolute value with the given sign."""
    n = num_pre + num_post
    atilde = np.zeros((n, n + 1))
    for r in range(n):
        atilde[r, r], atilde[r, r + 1] = -1.0, 1.0
    v = np.zeros(n + 1)
    v[num_pre + s - 1], v[num_pre + s] = -1.0, 1.0
    if not max_positive:
        v = -v
    a_ub = np.vstack([np.tile(v, (num_pre, 1)), np.tile(mbar * v, (num_post, 1))])
    A = np.vstack([atilde - a_ub, -atilde - a_ub])
    A = A[(A * A).sum(axis=1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def _arp_accept_grid(beta: np.ndarray, sig: np.ndarray, num_pre: int, num_post: int, A: np.ndarray,
                     lv: np.ndarray, alpha: float, kappa: float, grid: np.ndarray, rows: np.ndarray, sims: int,
                     seed: int, use_lp: bool | None = None) -> np.ndarray:
    """ARP C-LF test of every theta in ``grid`` (R ``.ARP_computeCI``); returns acceptance indicators.

    ``use_lp``: solve the ARP linear programs (:class:`_DualLP`) instead of enumerating the dual vertices; by
    default only when there are more than :data:`MAX_DUAL_BASES` candidate bases. Both give the same test."""
    post = slice(num_pre, num_pre + num_post)
    gamma = _construct_gamma(lv)
    agi = A[:, post] @ np.linalg.inv(gamma)
    a_one, X = agi[:, 0], agi[:, 1:]
    Y = A @ beta  # d = 0 for Delta^RM
    sigma_y = A @ sig @ A.T
    Xr, sr = X[rows], sigma_y[np.ix_(rows, rows)]
    sd_r = np.sqrt(np.diag(sr))
    m, k = Xr.shape
    verts: np.ndarray | _DualLP
    if use_lp is None:
        use_lp = math.comb(m, k + 1) > MAX_DUAL_BASES
    # few moments: enumerate the dual vertices (exact, fast); many (long post windows): solve LPs as R does
    verts = _DualLP(sd_r, Xr) if use_lp else _dual_vertices(sd_r, Xr)
    lf_cv = _least_favorable_cv(verts, sr, kappa, sims, seed)
    accept = np.empty(grid.size, dtype=bool)
    vertex_cache: dict[Any, dict[str, Any]] = {}
    for i, theta in enumerate(grid):
        y = (Y - a_one * theta)[rows]
        accept[i] = not _lp_conditional_test(y, Xr, sr, verts, alpha, kappa, lf_cv, vertex_cache)
    return accept


def _no_nuisance_accept_grid(beta: np.ndarray, sig: np.ndarray, num_pre: int, A: np.ndarray, alpha: float,
                             kappa: float, grid: np.ndarray, sims: int, seed: int) -> np.ndarray:
    """One post-period: ARP test without nuisance parameters, LF hybrid (R ``.testInIdentifiedSet_LF_Hybrid``,
    ``.APR_computeCI_NoNuis``). Note R passes ``alpha`` (not the modified size) to the second stage here."""
    sigma_a = A @ sig @ A.T
    sd_a = np.sqrt(np.diag(sigma_a))
    rng = np.random.default_rng(seed)
    xi = rng.multivariate_normal(np.zeros(A.shape[0]), sigma_a, size=sims, method="eigh") / sd_a
    lf_cv = float(np.quantile(xi.max(axis=1), 1 - kappa))
    at = A / sd_a[:, None]  # d = 0
    e = np.zeros(beta.size)
    e[num_pre] = 1.0
    accept = np.empty(grid.size, dtype=bool)
    for i, theta in enumerate(grid):
        y = beta - e * theta
        moments = at @ y
        j = int(np.argmax(moments))
        if moments[j] > lf_cv:
            accept[i] = False
            continue
        g = at[j]
        abar = at - g[None, :]
        gsg = float(g @ sig @ g)
        sigmabar = math.sqrt(gsg)
        c = sig @ g / gsg
        z = y - c * float(g @ y)
        ac = abar @ c
        obj = np.full(ac.shape, np.nan)
        nz = np.abs(ac) > 1e-14
        obj[nz] = (0.0 - abar[nz] @ z) / ac[nz]
        vlo = float(np.max(obj[ac < -1e-14])) if np.any(ac < -1e-14) else -math.inf
        vup = float(np.min(obj[ac > 1e-14])) if np.any(ac > 1e-14) else math.inf
        crit = sigmabar * _truncnorm_quantile(1 - alpha, vlo / sigmabar, vup / sigmabar)
        accept[i] = not (moments[j] > crit)
    return accept


@overload
def conditional_lf_hybrid_delta_rm(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = ..., mbar: float = ...,
    alpha: float = ..., grid_points: int = ..., grid_lb: float | None = ..., grid_ub: float | None = ...,
    *, lf_sims: int = ..., seed: int = ..., return_grid: Literal[False] = ...,
) -> tuple[float, float]: ...
@overload
def conditional_lf_hybrid_delta_rm(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = ..., mbar: float = ...,
    alpha: float = ..., grid_points: int = ..., grid_lb: float | None = ..., grid_ub: float | None = ...,
    *, lf_sims: int = ..., seed: int = ..., return_grid: Literal[True],
) -> tuple[float, float, pd.DataFrame]: ...
@overload
def conditional_lf_hybrid_delta_rm(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = ..., mbar: float = ...,
    alpha: float = ..., grid_points: int = ..., grid_lb: float | None = ..., grid_ub: float | None = ...,
    *, lf_sims: int = ..., seed: int = ..., return_grid: bool,
) -> tuple[float, float] | tuple[float, float, pd.DataFrame]: ...
def conditional_lf_hybrid_delta_rm(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = None, mbar: float = 1.0,
    alpha: float = 0.05, grid_points: int = 1000, grid_lb: float | None = None, grid_ub: float | None = None,
    *, lf_sims: int = DEFAULT_LF_SIMS, seed: int = DEFAULT_SEED, return_grid: bool = False,
) -> tuple[float, float] | tuple[float, float, pd.DataFrame]:
    """Conditional / least-favourable hybrid confidence set for ``theta = l_vec' tau_post`` under
    ``Delta^RM(Mbar)``.

    Port of HonestDiD 0.2.8 ``computeConditionalCS_DeltaRM(hybrid_flag = "LF", hybrid_kappa = alpha / 10,
    postPeriodMomentsOnly = TRUE)`` (Rambachan and Roth, 2023, Sections 3-4; Andrews, Roth and Pakes, 2023).
    ``Delta^RM(Mbar)`` -- every post-period first difference of the violation is at most ``Mbar`` times the largest
    pre-period first difference -- is the union over the location ``s`` and sign of the largest pre-period
    difference of polyhedra ``{A_s delta <= 0}``. For each piece, ``theta`` is tested on a grid with the ARP
    conditional test (nuisance parameters: the other post-period effects) after a first-stage least-favourable
    test of size ``kappa = alpha / 10``; the confidence set is the union over pieces of the accepted values, and
    ``(lb, ub)`` are its smallest and largest accepted grid values. Only the moments that involve post-periods
    enter the test (R's default). With one post-period the test has no nuisance parameters (R's
    ``.APR_computeCI_NoNuis``).

    Parameters
    ----------
    betahat, sigma, num_pre, num_post, l_vec, alpha
        As in :func:`flci_delta_sd`.
    mbar
        ``Mbar >= 0``.
    grid_points, grid_lb, grid_ub
        Candidate values of ``theta`` (R defaults: 1000 points on ``0 +/- 20 sd(l_vec' betahat_post)``). The bounds
        are grid values, so they are exact only to the grid step.
    lf_sims, seed
        Draws and seed of the simulated least-favourable critical value (``numpy.random.default_rng(seed)``).
    return_grid
        Also return the grid with its acceptance indicator.

    Returns
    -------
    (lb, ub) or (lb, ub, grid)
        ``nan`` bounds if no grid value is accepted (an empty set: widen the grid or check the inputs). A
        ``ClusterPolicyWarning`` is issued when the set reaches an end of the grid (open: widen the grid).
    """
    beta, sig, num_pre, num_post, lv = _as_inputs(betahat, sigma, num_pre, num_post, l_vec)
    if not (math.isfinite(mbar) and mbar >= 0):
        raise UserInputError(f"Mbar = {mbar}: the relative-magnitudes bound must be a finite number >= 0.")
    if int(grid_points) < 2:
        raise UserInputError(f"grid_points = {grid_points}: use at least 2 (R default 1000).")
    post = slice(num_pre, num_pre + num_post)
    sd_theta = float(np.sqrt(lv @ sig[post, post] @ lv))
    lb_g = -20 * sd_theta if grid_lb is None else float(grid_lb)
    ub_g = 20 * sd_theta if grid_ub is None else float(grid_ub)
    if not lb_g < ub_g:
        raise UserInputError(f"grid_lb = {lb_g:g} must be below grid_ub = {ub_g:g}.")
    grid = np.linspace(lb_g, ub_g, int(grid_points))
    kappa = alpha / 10
    accept = np.zeros(grid.size, dtype=bool)
    for s in range(-(num_pre - 1), 1):
        for sign in (True, False):
            A = _create_a_rm(num_pre, num_post, mbar, s, sign)
            if num_post == 1:
                A = A[A[:, -1] != 0]
                acc = _no_nuisance_accept_grid(beta, sig, num_pre, A, alpha, kappa, grid, lf_sims, seed)
            else:
                rows = np.flatnonzero(np.any(A[:, num_pre:] != 0, axis=1))
                acc = _arp_accept_grid(beta, sig, num_pre, num_post, A, lv, alpha, kappa, grid, rows, lf_sims,
                                       seed)
            accept |= acc
    if accept.any():
        lb, ub = float(grid[accept].min()), float(grid[accept].max())
        if accept[0] or accept[-1]:
            warnings.warn(f"Delta^RM(Mbar={mbar:g}) C-LF set reaches the end of the grid [{lb_g:g}, {ub_g:g}]; the "
                          "bound is open there: widen grid_lb/grid_ub.", ClusterPolicyWarning, stacklevel=2)
    else:
        lb = ub = math.nan
    if return_grid:
        return lb, ub, pd.DataFrame({"theta": grid, "accept": accept})
    return lb, ub


# ----------------------------------------------------------------------------------------------------------------
# Grids and breakdown values
# ----------------------------------------------------------------------------------------------------------------
def _covers_zero(lb: float, ub: float) -> bool:
    return not (math.isfinite(lb) and math.isfinite(ub)) or (lb <= 0.0 <= ub)


def breakdown_value(bounds_at: Callable[[float], tuple[float, float]], grid: Sequence[float],
                    known: dict[float, tuple[float, float]] | None = None, tol: float | None = None,
                    max_iter: int = 20) -> float | None:
    """Smallest ``M`` at which the robust set contains 0.

    The grid is scanned in increasing order for the first value whose set contains 0; the value is then refined
    by bisection between it and the previous grid value (to ``tol``, default 1/200 of the grid step). Returns
    ``min(grid)`` if the set already contains 0 there, ``None`` if it never does on the grid. Assumes, as the
    restrictions imply, that the sets widen with ``M``.
    """
    pts = sorted({float(g) for g in grid})
    known = dict(known or {})

    def get(mv: float) -> tuple[float, float]:
        if mv not in known:
            known[mv] = bounds_at(mv)
        return known[mv]

    prev = None
    for mv in pts:
        if _covers_zero(*get(mv)):
            if prev is None:
                return mv
            lo, hi = prev, mv
            step_tol = (hi - lo) / 200 if tol is None else tol
            for _ in range(max_iter):
                if hi - lo <= step_tol:
                    break
                mid = (lo + hi) / 2
                if _covers_zero(*get(mid)):
                    hi = mid
                else:
                    lo = mid
            return hi
        prev = mv
    return None


def sensitivity_bounds(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, grid: Sequence[float], restriction: SensitivityRestriction = "rm",
    target: SensitivityTarget | Sequence[float] = "first", alpha: float = 0.05, refine_breakdown: bool = True,
    **kwargs: Any,
) -> SensitivityBounds:
    """Robust confidence sets over a grid of ``Mbar`` (``restriction="rm"``, C-LF) or ``M`` (``"sd"``, FLCI), with
    the breakdown value and the original CI.

    ``kwargs`` go to :func:`conditional_lf_hybrid_delta_rm` (``grid_points``, ``lf_sims``, ``seed``, ...).
    With ``refine_breakdown=False`` the breakdown value is the first grid value whose set contains 0.
    """
    check_literal(restriction, SensitivityRestriction, "restriction")
    values = [float(g) for g in grid]
    if not values or any(not math.isfinite(g) or g < 0 for g in values):
        raise UserInputError("the grid must be a non-empty list of numbers >= 0 (e.g. 0,0.5,1).")
    nps = int(num_post) if int(num_post) == num_post and num_post >= 1 else 1
    lv = target_vector(target, nps)
    name = target if isinstance(target, str) else "custom"
    _as_inputs(betahat, sigma, num_pre, num_post, lv)
    open_at: list[float] = []
    if restriction == "rm":
        method = "C-LF"

        def bounds_at(mv: float) -> tuple[float, float]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ClusterPolicyWarning)
                lb, ub = conditional_lf_hybrid_delta_rm(betahat, sigma, num_pre, num_post, lv, mbar=mv, alpha=alpha,
                                                        **kwargs)
            if any(issubclass(w.category, ClusterPolicyWarning) for w in caught):
                open_at.append(mv)
            return lb, ub
    else:
        method = "FLCI"

        def bounds_at(mv: float) -> tuple[float, float]:
            return flci_delta_sd(betahat, sigma, num_pre, num_post, lv, m=mv, alpha=alpha)

    known = {mv: bounds_at(mv) for mv in values}
    rows = tuple((mv, known[mv][0], known[mv][1], method) for mv in values)
    if open_at:
        warnings.warn(f"C-LF sets at Mbar = {', '.join(f'{v:g}' for v in open_at)} reach the end of the grid of "
                      "candidate values; those bounds are open: pass a wider grid_lb/grid_ub.", ClusterPolicyWarning,
                      stacklevel=2)
    bd = breakdown_value(bounds_at, values, known=known) if refine_breakdown else next(
        (mv for mv in sorted(values) if _covers_zero(*known[mv])), None)
    return SensitivityBounds(rows=rows, breakdown=bd, restriction=restriction, target=name, level=1 - alpha,
                             l_vec=tuple(float(x) for x in lv),
                             original=original_ci(betahat, sigma, num_pre, num_post, lv, alpha),
                             details={"open_at": sorted(set(open_at)), "honestdid_version": HONESTDID_VERSION})

