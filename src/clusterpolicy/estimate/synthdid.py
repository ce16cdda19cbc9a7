"""Synthetic difference-in-differences (SDID), synthetic control (SC) and DID on one Frank-Wolfe weight solver.

A port, in our own code, of the R package ``synthdid`` (Arkhangelsky, Athey, Hirshberg, Imbens and Wager;
github.com/synth-inference/synthdid, BSD-3): the Frank-Wolfe solver with exact line search for simplex-constrained
ridge-penalised least squares (``fw.step``, ``sc.weight.fw``), the two-stage solve with sparsification
(``synthdid_estimate``), its SC and DID special cases (``sc_estimate``, ``did_estimate``) and the placebo,
jackknife and bootstrap standard errors (``vcov.synthdid_estimate``, Algorithms 2-4 of the paper). Staggered
adoption follows the Stata ``sdid`` command (Clarke, Pailanir, Athey and Imbens, 2024): each adoption cohort is
estimated separately against the never-treated units on all periods of the panel, and the cohort ATTs are averaged
with weights equal to each cohort's share of treated unit-periods (treated units x post periods).

The same solver (:func:`simplex_weights_fw`) also computes the Abadie-Diamond-Hainmueller donor weights in
:mod:`clusterpolicy.estimate.synth`.

Estimand
--------
The average treatment effect on the treated units over the post-treatment periods (ATT),
``mean_{i treated, t post} [Y_it(1) - Y_it(0)]``; with staggered adoption, the average over all treated
unit-periods of the panel (cohort ATTs weighted by their number of treated cells).

Assumptions
-----------
Untreated outcomes follow a latent factor model ``Y_it(0) = alpha_i + beta_t + Gamma_i' Upsilon_t + eps_it`` well
enough that unit weights balance the pre-treatment trends of the treated units and time weights balance the
pre/post contrast of the controls (SDID is doubly robust in this sense); no anticipation; no spillovers to control
units; for staggered adoption, never-treated units are a valid comparison for every cohort.

References
----------
Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. and Wager, S. (2021). Synthetic
difference-in-differences. *American Economic Review* 111(12), 4088-4118.
Hirshberg, D. A. et al. R package ``synthdid``, https://github.com/synth-inference/synthdid (BSD-3 licence).
Clarke, D., Pailanir, D., Athey, S. and Imbens, G. W. (2024). On synthetic difference-in-differences and related
estimation methods in Stata. *The Stata Journal* 24(4), 557-598.
Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control methods for comparative case studies.
*Journal of the American Statistical Association* 105(490), 493-505.
Lacoste-Julien, S. and Jaggi, M. (2015). On the global linear convergence of Frank-Wolfe optimization variants.
*NeurIPS* 28 (the pairwise variant offered by :func:`simplex_weights_fw`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: stats.norm.ppf calls special.ndtri, without stats' half-second import.
from scipy import special

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate._panel import Request
from clusterpolicy.estimate.literals import SynthInference, SynthMethod, check_literal
from clusterpolicy.estimate.result import EstimationResult

# the option sets live in literals (one checker; the CLI's choices come from there)
Method = SynthMethod
Inference = SynthInference
#: Seed of the placebo and bootstrap draws of :func:`synth_estimator` when none is given, so that the same inputs
#: always give the same standard error (and a byte-identical ``--json``); pass ``seed`` to vary the draws.
DEFAULT_SEED = 20211201

__all__ = [
    "FWSolution", "SynthDiDEstimate", "SynthDiDResult", "collapsed_form", "did_estimate", "sc_estimate",
    "sdid_estimate", "simplex_weights_exact", "simplex_weights_fw", "sparsify", "synthdid_se", "synthetic_did",
]


# ----------------------------------------------------------------------------------------------------------------
# The shared solver
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FWSolution:
    """Output of :func:`simplex_weights_fw`: the weights, the objective after each iteration, the iteration count."""

    weights: np.ndarray
    vals: np.ndarray
    n_iter: int


def simplex_weights_fw(
    A: np.ndarray,
    b: np.ndarray,
    zeta: float = 0.0,
    *,
    intercept: bool = False,
    init: np.ndarray | None = None,
    min_decrease: float = 1e-3,
    max_iter: int = 1000,
    variant: Literal["vanilla", "pairwise"] = "vanilla",
) -> FWSolution:
    """Frank-Wolfe solver for ``min_x zeta^2 ||x||^2 + ||A x - b||^2 / n`` over the unit simplex.

    Port of ``sc.weight.fw`` / ``fw.step`` in the R package ``synthdid``: Frank-Wolfe with exact line search on
    ``||A x - b||^2 + eta ||x||^2``, ``eta = n zeta^2`` (``n`` = rows of ``A``), started at ``init`` (default:
    uniform), stopped after ``max_iter`` iterations or once an iteration lowers the objective by no more than
    ``min_decrease**2``.

    Parameters
    ----------
    A
        Design, shape ``(n, k)``: one column per candidate (a control unit, or a pre-period).
    b
        Target, shape ``(n,)``.
    zeta
        Ridge penalty: its square is the weight of ``||x||^2`` relative to the mean squared error.
    intercept
        Demean the columns of ``A`` and ``b`` first (an unpenalised intercept, as in SDID).
    init
        Starting weights (on the simplex); default uniform ``1/k``.
    min_decrease, max_iter
        Stopping rule, as in ``synthdid``.
    variant
        ``"vanilla"`` (default): synthdid's Frank-Wolfe step, reproduced exactly. ``"pairwise"``: pairwise
        Frank-Wolfe (Lacoste-Julien and Jaggi, 2015), which moves mass from the worst active weight to the best
        vertex and converges linearly; used where an exact (unpenalised) optimum is wanted.

    Returns
    -------
    FWSolution
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"simplex_weights_fw: A must be (n, k) and b (n,); got {A.shape} and {b.shape}.")
    n, k = A.shape
    if intercept:
        A = A - A.mean(axis=0)
        b = b - b.mean()
    x = np.full(k, 1.0 / k) if init is None else np.asarray(init, dtype=float).copy()
    zeta2 = float(zeta) ** 2
    eta = n * zeta2
    md2 = float(min_decrease) ** 2
    vals: list[float] = []
    if variant not in ("vanilla", "pairwise"):
        raise ValueError(f"simplex_weights_fw: variant={variant!r} must be 'vanilla' or 'pairwise'.")
    # Work in the k-dimensional Gram form (same iterates as R's n-dimensional algebra, fewer flops):
    # half-gradient A'(Ax - b) + eta x = Gx - Ab + eta x; ||A_i - Ax||^2 = G_ii - 2 (Gx)_i + x'Gx;
    # ||Ax - b||^2 = x'Gx - 2 Ab'x + b'b.
    G = A.T @ A
    Ab = A.T @ b
    bb = float(b @ b)
    gdiag = np.diag(G).copy()
    pairwise = variant == "pairwise"
    Gx = G @ x
    t = 0
    while t < max_iter and (t < 2 or vals[-2] - vals[-1] > md2):
        t += 1
        if t % 64 == 0:  # refresh the incrementally updated G x against rounding drift
            Gx = G @ x
        half_grad = Gx - Ab
        if eta:
            half_grad += eta * x
        i = int(half_grad.argmin())
        if not pairwise:
            # R's fw.step: move towards vertex i along d = e_i - x, exact line search clipped to [0, 1]
            xi = float(x[i])
            dd = float(x @ x) - 2.0 * xi + 1.0
            if dd > 0:
                gd = float(half_grad[i]) - float(half_grad @ x)
                denom = float(gdiag[i]) - 2.0 * float(Gx[i]) + float(x @ Gx) + eta * dd
                step = min(1.0, max(0.0, -gd / denom)) if denom > 0 else 0.0
                if step > 0:
                    x = x * (1.0 - step)
                    x[i] += step
                    Gx = Gx * (1.0 - step)
                    Gx += step * G[:, i]
        else:
            # pairwise: move mass from the active vertex with the largest gradient to vertex i
            active = np.flatnonzero(x > 0)
            j = int(active[half_grad[active].argmax()])
            if j != i:
                denom = gdiag[i] + gdiag[j] - 2.0 * G[i, j] + 2.0 * eta
                gap = float(half_grad[j] - half_grad[i])
                step = min(float(x[j]), gap / denom) if denom > 0 else float(x[j])
                if step > 0:
                    x = x.copy()
                    x[i] += step
                    x[j] = 0.0 if step >= x[j] else x[j] - step
                    Gx = G @ x
        vals.append(zeta2 * float(x @ x) + max(float(x @ Gx) - 2.0 * float(Ab @ x) + bb, 0.0) / n)
    return FWSolution(weights=x, vals=np.asarray(vals), n_iter=len(vals))


def simplex_weights_exact(
    A: np.ndarray, b: np.ndarray, zeta: float = 0.0, *, tol: float = 1e-12, fw_iter: int = 200, max_rounds: int = 100,
) -> np.ndarray:
    """Exact minimiser of ``zeta^2 ||x||^2 + ||A x - b||^2 / n`` on the simplex: pairwise Frank-Wolfe
    (:func:`simplex_weights_fw`) picks the support, a fully corrective step solves the problem exactly on it (the
    equality-constrained KKT system, stepping back to the simplex and dropping weights that turn negative, as in
    Lawson-Hanson), and the loop stops when the Frank-Wolfe gap is below ``tol`` (relative). Used for the
    unpenalised ADH weights, where plain Frank-Wolfe converges too slowly to reach the exact optimum.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n, k = A.shape
    eta = n * float(zeta) ** 2
    H = A.T @ A + eta * np.eye(k)
    Ab = A.T @ b
    x = simplex_weights_fw(A, b, zeta, min_decrease=0.0, max_iter=fw_iter, variant="pairwise").weights
    for _ in range(max_rounds):
        for _ in range(2 * k + 2):  # fully corrective step on the current support
            S = np.flatnonzero(x > 0)
            m = S.size
            K = np.zeros((m + 1, m + 1))
            K[:m, :m] = H[np.ix_(S, S)]
            K[:m, m] = K[m, :m] = 1.0
            w = np.linalg.lstsq(K, np.append(Ab[S], 1.0), rcond=None)[0][:m]
            if w.min() >= 0:
                x = np.zeros(k)
                x[S] = w
                break
            neg = w < 0
            ratio = x[S][neg] / (x[S][neg] - w[neg])
            alpha = float(ratio.min())
            xs = x[S] + alpha * (w - x[S])
            xs[np.flatnonzero(neg)[ratio.argmin()]] = 0.0
            xs[xs < 0] = 0.0
            x = np.zeros(k)
            x[S] = xs
        x = x / x.sum()
        g = H @ x - Ab
        gap = float(g @ x - g.min())
        if gap <= tol * max(1.0, abs(float(g @ x))):
            break
        x = simplex_weights_fw(A, b, zeta, init=x, min_decrease=0.0, max_iter=fw_iter, variant="pairwise").weights
    return x


def sparsify(v: np.ndarray) -> np.ndarray:
    """Set weights at or below a quarter of the largest to zero and renormalise (``synthdid``'s
    ``sparsify_function``)."""
    v = np.asarray(v, dtype=float).copy()
    v[v <= v.max() / 4] = 0.0
    out: np.ndarray = v / v.sum()
    return out


def collapsed_form(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """``(N0+1) x (T0+1)`` matrix: controls' pre-period outcomes, the treated average (last row) and the post-period
    average (last column), as ``synthdid``'s ``collapsed.form``."""
    Y = np.asarray(Y, dtype=float)
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s != 0 else np.full(x.size, 1.0 / x.size)


# ----------------------------------------------------------------------------------------------------------------
# Matrix-level estimators
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    """Tuning fixed at the original fit and reused by the resampling SEs (synthdid's ``opts``)."""

    method: str
    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int
    sparsify: bool
    max_iter_pre_sparsify: int


@dataclass(frozen=True, eq=False)
class SynthDiDEstimate:
    """One SDID / SC / DID fit on an outcome matrix (controls first, pre-periods first).

    Attributes
    ----------
    estimate
        ``(-omega, 1/N1)' Y (-lambda, 1/T1)``: the weighted double difference.
    omega
        Unit weights on the ``N0`` controls (simplex).
    lambda_
        Time weights on the ``T0`` pre-periods (simplex for SDID, uniform for DID, zero for SC).
    N0, T0
        Numbers of control units and pre-periods.
    treated_path, synthetic_path
        Average treated outcome and the omega-weighted control outcome in every period (for plotting; for SDID the
        two are parallel, not equal, before treatment).
    method
        ``"sdid"``, ``"sc"`` or ``"did"``.
    """

    estimate: float
    omega: np.ndarray
    lambda_: np.ndarray
    N0: int
    T0: int
    treated_path: np.ndarray
    synthetic_path: np.ndarray
    method: str
    Y: np.ndarray = field(repr=False)
    spec: _Spec = field(repr=False)


def _noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """SD (n-1) of the first differences of the controls' pre-period outcomes (``synthdid``'s ``noise.level``)."""
    d = np.diff(np.asarray(Y, dtype=float)[:N0, :T0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def _check_matrix(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or not (0 < N0 < Y.shape[0]) or not (0 < T0 < Y.shape[1]):
        raise EstimationError(f"synthdid: need 0 < N0 < N and 0 < T0 < T; got Y {Y.shape}, N0={N0}, T0={T0}.")
    if not np.all(np.isfinite(Y)):
        raise EstimationError("synthdid: the outcome matrix has missing or infinite values; balance the panel.")
    return Y


def _fit(Y: np.ndarray, N0: int, T0: int, spec: _Spec, omega: np.ndarray | None = None,
         lam: np.ndarray | None = None) -> SynthDiDEstimate:
    """``synthdid_estimate`` without covariates: solve the weights flagged for update (from ``omega`` / ``lam``
    as initial values), keep the others, and form the weighted double difference."""
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    Yc = collapsed_form(Y, N0, T0) if (spec.update_lambda or spec.update_omega) else None
    pre_iter = spec.max_iter_pre_sparsify if spec.sparsify else spec.max_iter

    def solve(A: np.ndarray, b: np.ndarray, zeta: float, intercept: bool, init: np.ndarray | None) -> np.ndarray:
        sol = simplex_weights_fw(A, b, zeta, intercept=intercept, init=init, min_decrease=spec.min_decrease,
                                 max_iter=pre_iter)
        if spec.sparsify:
            sol = simplex_weights_fw(A, b, zeta, intercept=intercept, init=sparsify(sol.weights),
                                     min_decrease=spec.min_decrease, max_iter=spec.max_iter)
        return sol.weights

    if spec.update_lambda:
        assert Yc is not None
        lam = solve(Yc[:N0, :T0], Yc[:N0, T0], spec.zeta_lambda, spec.lambda_intercept, lam)
    if spec.update_omega:
        assert Yc is not None
        omega = solve(Yc[:N0, :T0].T, Yc[N0, :T0], spec.zeta_omega, spec.omega_intercept, omega)
    assert omega is not None and lam is not None
    w_unit = np.concatenate([-omega, np.full(N1, 1.0 / N1)])
    w_time = np.concatenate([-lam, np.full(T1, 1.0 / T1)])
    tau = float(w_unit @ Y @ w_time)
    return SynthDiDEstimate(
        estimate=tau, omega=omega, lambda_=lam, N0=N0, T0=T0, treated_path=Y[N0:].mean(axis=0),
        synthetic_path=omega @ Y[:N0], method=spec.method, Y=Y, spec=spec,
    )


def sdid_estimate(
    Y: np.ndarray, N0: int, T0: int, *, noise_level: float | None = None, eta_omega: float | None = None,
    eta_lambda: float = 1e-6, omega_intercept: bool = True, lambda_intercept: bool = True,
    min_decrease: float | None = None, max_iter: int = 10_000, sparsify_weights: bool = True,
    max_iter_pre_sparsify: int = 100,
) -> SynthDiDEstimate:
    """Synthetic difference-in-differences on an outcome matrix (``synthdid_estimate``, Algorithm 1 of the paper).

    Parameters
    ----------
    Y
        Outcomes, shape ``(N, T)``: rows ``0..N0-1`` controls, the rest treated; columns ``0..T0-1`` pre-periods.
    N0, T0
        Numbers of control units and pre-treatment periods.
    noise_level
        ``sigma``; default the SD of first differences of the controls' pre-period outcomes.
    eta_omega, eta_lambda
        Regularisation: ``zeta_omega = eta_omega * sigma`` with default ``eta_omega = (N1 T1)^(1/4)``;
        ``zeta_lambda = eta_lambda * sigma`` with ``eta_lambda = 1e-6``.
    omega_intercept, lambda_intercept
        Intercepts in the unit- and time-weight problems (SDID: both).
    min_decrease, max_iter
        Frank-Wolfe stopping rule; default ``min_decrease = 1e-5 * sigma``, ``max_iter = 1e4``.
    sparsify_weights, max_iter_pre_sparsify
        Two-stage solve: ``max_iter_pre_sparsify`` iterations, then :func:`sparsify`, then a second solve from the
        sparsified weights (synthdid's default).

    Returns
    -------
    SynthDiDEstimate
    """
    Y = _check_matrix(Y, N0, T0)
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    sigma = _noise_level(Y, N0, T0) if noise_level is None else float(noise_level)
    eta_omega = (N1 * T1) ** 0.25 if eta_omega is None else float(eta_omega)
    spec = _Spec("sdid", eta_omega * sigma, eta_lambda * sigma, omega_intercept, lambda_intercept, True, True,
                 1e-5 * sigma if min_decrease is None else float(min_decrease), int(max_iter), sparsify_weights,
                 int(max_iter_pre_sparsify))
    return _fit(Y, N0, T0, spec)


def sc_estimate(
    Y: np.ndarray, N0: int, T0: int, *, noise_level: float | None = None, eta_omega: float = 1e-6,
    min_decrease: float | None = None, max_iter: int = 10_000, sparsify_weights: bool = True,
    max_iter_pre_sparsify: int = 100,
) -> SynthDiDEstimate:
    """Synthetic control as in ``synthdid::sc_estimate``: unit weights only (``eta_omega = 1e-6``, no intercept),
    time weights zero, so the estimate is the average post-period gap between the treated and the synthetic unit.

    Parameters are as in :func:`sdid_estimate`.
    """
    Y = _check_matrix(Y, N0, T0)
    sigma = _noise_level(Y, N0, T0) if noise_level is None else float(noise_level)
    spec = _Spec("sc", eta_omega * sigma, 1e-6 * sigma, False, True, True, False,
                 1e-5 * sigma if min_decrease is None else float(min_decrease), int(max_iter), sparsify_weights,
                 int(max_iter_pre_sparsify))
    return _fit(Y, N0, T0, spec, lam=np.zeros(T0))


def did_estimate(Y: np.ndarray, N0: int, T0: int) -> SynthDiDEstimate:
    """Difference-in-differences as in ``synthdid::did_estimate``: uniform unit and time weights."""
    Y = _check_matrix(Y, N0, T0)
    sigma = _noise_level(Y, N0, T0)
    spec = _Spec("did", ((Y.shape[0] - N0) * (Y.shape[1] - T0)) ** 0.25 * sigma, 1e-6 * sigma, True, True,
                 False, False, 1e-5 * sigma, 10_000, True, 100)
    return _fit(Y, N0, T0, spec, omega=np.full(N0, 1.0 / N0), lam=np.full(T0, 1.0 / T0))


_ESTIMATORS = {"sdid": sdid_estimate, "sc": sc_estimate, "did": did_estimate}


# ----------------------------------------------------------------------------------------------------------------
# Inference on one fit (synthdid's vcov.synthdid_estimate)
# ----------------------------------------------------------------------------------------------------------------
def synthdid_se(est: SynthDiDEstimate, method: Inference = "placebo", *, replications: int = 200,
                seed: int | np.random.Generator | None = None) -> float:
    """Standard error of one fit: placebo (Algorithm 4), fixed-weight jackknife (Algorithm 3) or bootstrap
    (Algorithm 2), as ``vcov.synthdid_estimate``.

    Placebo: draw a random permutation of the controls, call the last ``N1`` of them treated and re-estimate on
    the controls only (weights re-solved from the original omega as initial values, tuning fixed);
    ``SE = sqrt((r-1)/r) * sd`` of the ``r`` placebo estimates. Bootstrap: resample all units with replacement,
    redraw if no treated or no control is drawn, re-estimate likewise. Jackknife: leave one unit out with lambda
    fixed and omega restricted to the remaining controls and renormalised; ``SE = sqrt((n-1)/n sum (u - ubar)^2)``.
    Jackknife and bootstrap need at least two treated units (R returns NA; here an :class:`EstimationError`).
    """
    return float(_se_generic(_SingleProblem(est), method, replications, seed))


# ----------------------------------------------------------------------------------------------------------------
# Panels with one or several cohorts
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Cohort:
    cohort: float
    T0: int
    fit: SynthDiDEstimate


class _SingleProblem:
    """A fitted problem seen as ``units`` with cohort labels, for the generic resampling code."""

    def __init__(self, est: SynthDiDEstimate):
        self.Y = est.Y
        N = self.Y.shape[0]
        self.g = np.array([0] * est.N0 + [1] * (N - est.N0), dtype=object)
        self.cohorts = [_Cohort(1, est.T0, est)]

    @property
    def estimate(self) -> float:
        return self.cohorts[0].fit.estimate


class _PanelProblem(_SingleProblem):
    def __init__(self, Y: np.ndarray, g: np.ndarray, cohorts: list[_Cohort]):
        self.Y, self.g, self.cohorts = Y, g, cohorts

    @property
    def estimate(self) -> float:
        return _aggregate([(c.fit.estimate, (c.fit.Y.shape[0] - c.fit.N0) * (c.fit.Y.shape[1] - c.T0))
                           for c in self.cohorts])


def _aggregate(pairs: list[tuple[float, float]]) -> float:
    w = np.array([p[1] for p in pairs], dtype=float)
    return float(np.dot([p[0] for p in pairs], w) / w.sum())


def _refit(prob: _SingleProblem, rows: np.ndarray, g: np.ndarray, fixed: bool) -> float:
    """Re-estimate the (aggregated) ATT on units ``rows`` of ``prob.Y`` whose cohort labels are ``g``.

    ``rows`` index original units (possibly repeated). Control rows are those with ``g == 0``. For each original
    cohort present among the treated rows, the fit uses its spec; omega starts from (``fixed``: equals) the
    original omega of the chosen controls, renormalised, mapped through their original position among controls.
    """
    ctrl_pos = np.cumsum(prob.g == 0) - 1  # original unit -> index among original controls
    crow = rows[g == 0]
    pairs = []
    for c in prob.cohorts:
        trow = rows[g == c.cohort]
        if trow.size == 0 or crow.size == 0:
            continue
        Yb = prob.Y[np.concatenate([crow, trow])]
        spec = c.fit.spec
        if fixed:  # jackknife: lambda and the renormalised omega of the remaining controls, no re-solve
            spec = replace(spec, update_omega=False, update_lambda=False)
        omega0 = _sum_normalize(c.fit.omega[ctrl_pos[crow]])
        fit = _fit(Yb, crow.size, c.T0, spec, omega=omega0, lam=c.fit.lambda_)
        pairs.append((fit.estimate, trow.size * (Yb.shape[1] - c.T0)))
    if not pairs:
        return float("nan")
    return _aggregate(pairs)


def _se_generic(prob: _SingleProblem, method: str, replications: int,
                seed: int | np.random.Generator | None) -> float:
    check_literal(method, SynthInference, "synthdid: inference")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    g = prob.g
    N = g.size
    is_ctrl = g == 0
    n_treated = int((~is_ctrl).sum())
    if method == "placebo":
        N0 = int(is_ctrl.sum())
        if N0 <= n_treated:
            raise EstimationError(f"synthdid: placebo SEs need more control than treated units (have {N0} "
                                  f"controls, {n_treated} treated); use inference='bootstrap' or 'jackknife'.")
        controls = np.flatnonzero(is_ctrl)
        # keep the cohort structure: the last n_treated permuted controls take the treated units' cohorts
        treated_labels = g[~is_ctrl]
        est = np.empty(replications)
        for r in range(replications):
            rows = controls[rng.permutation(N0)]  # as synthdid: sample(1:N0), placebo treated last
            gb = np.zeros(N0, dtype=object)
            gb[N0 - n_treated:] = treated_labels
            est[r] = _refit_placebo(prob, rows, gb)
        return float(np.sqrt((replications - 1) / replications) * np.std(est, ddof=1))
    if n_treated < 2:
        raise EstimationError(f"synthdid: {method} SEs need at least 2 treated units (have {n_treated}); use "
                              "inference='placebo' with one treated unit.")
    if method == "jackknife":
        for c in prob.cohorts:
            if c.fit.Y.shape[0] - c.fit.N0 < 2:
                raise EstimationError(f"synthdid: jackknife SEs need at least 2 treated units in every cohort "
                                      f"(cohort {c.cohort} has 1); use inference='placebo' or 'bootstrap'.")
            if np.count_nonzero(c.fit.omega) == 1:
                raise EstimationError(f"synthdid: jackknife SE undefined with a single control of non-zero "
                                      f"weight (cohort {c.cohort}); use inference='placebo' or 'bootstrap'.")
        u = np.array([_refit(prob, np.delete(np.arange(N), i), np.delete(g, i), fixed=True) for i in range(N)])
        return float(np.sqrt((N - 1) / N * np.sum((u - u.mean()) ** 2)))
    # bootstrap
    est = np.empty(replications)
    count = 0
    while count < replications:
        ind = np.sort(rng.integers(0, N, size=N))
        if np.all(is_ctrl[ind]) or not np.any(is_ctrl[ind]):
            continue
        est[count] = _refit(prob, ind, g[ind], fixed=False)
        count += 1
    return float(np.sqrt((replications - 1) / replications) * np.std(est, ddof=1))


def _refit_placebo(prob: _SingleProblem, rows: np.ndarray, gb: np.ndarray) -> float:
    """Placebo replicate: ``rows`` are original controls in permuted order; ``gb`` their placebo cohort labels."""
    ctrl_pos = np.cumsum(prob.g == 0) - 1
    crow = rows[gb == 0]
    pairs = []
    for c in prob.cohorts:
        trow = rows[gb == c.cohort]
        if trow.size == 0:
            continue
        Yb = prob.Y[np.concatenate([crow, trow])]
        omega0 = _sum_normalize(c.fit.omega[ctrl_pos[crow]])
        fit = _fit(Yb, crow.size, c.T0, c.fit.spec, omega=omega0, lam=c.fit.lambda_)
        pairs.append((fit.estimate, trow.size * (Yb.shape[1] - c.T0)))
    return _aggregate(pairs)


# ----------------------------------------------------------------------------------------------------------------
# Long-panel front door
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SynthDiDResult:
    """Result of :func:`synthetic_did`.

    Attributes
    ----------
    estimate
        ATT over treated unit-periods (cohort ATTs averaged with treated-cell weights).
    se, ci_low, ci_high
        Standard error and ``level`` normal interval ``estimate -/+ z se`` (as synthdid's README / Stata sdid, for
        all three SE methods); NaN without inference.
    method, inference, level
        Estimator (``"sdid"``, ``"sc"``, ``"did"``), SE method (or ``None``), interval level.
    cohorts
        One row per cohort: ``cohort, n_treated, n_pre, n_post, weight, estimate``.
    unit_weights
        ``cohort, unit, weight`` (control units, omega per cohort).
    time_weights
        ``cohort, time, weight`` (pre-periods, lambda per cohort).
    paths
        ``cohort, time, treated, synthetic`` (average treated outcome and omega-weighted control outcome).
    n_units, n_obs
        Units and unit-periods used (treated cohorts plus never-treated).
    seed, replications
        Resampling seed and number of draws (placebo, bootstrap).
    """

    outcome: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    method: str
    inference: str | None
    level: float
    cohorts: pd.DataFrame
    unit_weights: pd.DataFrame
    time_weights: pd.DataFrame
    paths: pd.DataFrame
    n_units: int
    n_obs: int
    seed: int | None
    replications: int

    def tidy(self) -> pd.DataFrame:
        """One row: ``term, estimate, se, ci_low, ci_high, method, inference``."""
        return pd.DataFrame([{
            "term": "ATT", "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "method": self.method, "inference": self.inference,
        }])

    def summary(self) -> str:
        """Plain-text summary."""
        name = {"sdid": "Synthetic difference-in-differences", "sc": "Synthetic control",
                "did": "Difference-in-differences"}[self.method]
        lines = [f"{name} (synthdid port), outcome {self.outcome}: ATT {self.estimate:.6g}"]
        if self.inference is not None:
            extra = f", {self.replications} draws, seed {self.seed}" if self.inference != "jackknife" else ""
            lines.append(f"SE ({self.inference}{extra}) {self.se:.4g}; {self.level:.0%} CI "
                         f"[{self.ci_low:.4g}, {self.ci_high:.4g}]")
        lines.append(f"{self.n_units} units, {self.n_obs} unit-periods, {len(self.cohorts)} cohort(s)")
        for r in self.cohorts.itertuples():
            lines.append(f"  cohort {r.cohort}: {r.n_treated} treated, {r.n_post} post periods, weight "
                         f"{r.weight:.3f}, ATT {r.estimate:.6g}")
        return "\n".join(lines)


def synthetic_did(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    method: Method = "sdid",
    inference: Inference | None = "placebo",
    replications: int = 200,
    seed: int | None = None,
    level: float = 0.95,
) -> SynthDiDResult:
    """Synthetic DID / synthetic control / DID on a long balanced panel, cohort by cohort.

    Parameters
    ----------
    df
        Long panel, one row per unit and period; not modified.
    unit, time, outcome
        Column names; ``time`` must be numeric (integer periods).
    cohort
        Column with each unit's first treated period; 0 or missing = never treated. Units whose cohort lies after
        the last period are never treated within the panel and serve as controls.
    method
        ``"sdid"`` (default), ``"sc"`` (synthdid's synthetic control: unit weights with ``eta_omega = 1e-6``, no
        intercept, no time weights) or ``"did"`` (uniform weights).
    inference
        ``"placebo"`` (default; the only choice with one treated unit; needs more controls than treated units),
        ``"jackknife"`` (fixed weights; at least two treated units per cohort), ``"bootstrap"`` (units resampled;
        at least two treated units), or ``None``.
    replications
        Placebo / bootstrap draws (synthdid's default 200).
    seed
        Seed of ``np.random.default_rng`` for placebo and bootstrap draws.
    level
        Confidence level of the normal interval.

    Returns
    -------
    SynthDiDResult

    Notes
    -----
    Estimand: the ATT on the treated units over their post-treatment periods. Each cohort ``a`` is estimated with
    synthdid on the never-treated units plus the units first treated at ``a``, over all periods (pre: ``t < a``);
    units of other cohorts are left out. The overall ATT averages cohort ATTs with weights
    ``N_a T_post,a / sum_b N_b T_post,b`` (Clarke et al., 2024). Resampling SEs re-run the whole cohort-by-cohort
    procedure on each draw (placebo: the treated cohorts' sizes are assigned to randomly permuted never-treated
    units; bootstrap: units resampled, cohorts absent from a draw drop out of its average; jackknife: one unit left
    out, weights fixed), with the tuning (zeta, stopping rule) of the original fit as in synthdid.
    Assumptions: a latent factor model for untreated outcomes that the weights balance, no anticipation, no
    spillovers, and never-treated units comparable to every cohort.
    """
    check_literal(method, SynthMethod, "synthetic_did: method")
    if inference is not None:
        check_literal(inference, SynthInference, "synthetic_did: inference")
    if not 0 < level < 1:
        raise UserInputError(f"synthetic_did: level={level} must be strictly between 0 and 1.")
    if inference in ("placebo", "bootstrap") and int(replications) < 2:
        raise UserInputError(f"synthetic_did: replications={replications} must be at least 2.")
    cols = [unit, time, cohort, outcome]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise UserInputError(f"synthetic_did: column(s) {missing} not found; available: {list(df.columns)}.")
    data = df[cols].copy()
    if not pd.api.types.is_numeric_dtype(data[time]):
        raise UserInputError(f"synthetic_did: time column '{time}' must be numeric (integer periods).")
    if data[unit].isna().any() or data[time].isna().any():
        raise UserInputError(f"synthetic_did: missing values in '{unit}' or '{time}'; drop those rows.")
    dup = data.duplicated([unit, time])
    if dup.any():
        rows = data.loc[dup, [unit, time]].head(3).to_dict("records")
        raise UserInputError(f"synthetic_did: duplicate ({unit}, {time}) rows, e.g. {rows}; keep one row per "
                             "unit and period.")
    num = pd.to_numeric(data[cohort], errors="coerce")
    bad_g = data.loc[num.isna() & data[cohort].notna(), cohort]
    if len(bad_g):
        raise UserInputError(f"synthetic_did: cohort column '{cohort}' has non-numeric values, e.g. "
                             f"{bad_g.iloc[0]!r}; give each unit's first treated period (0 or missing = never).")
    data[cohort] = num.fillna(0)
    if (data.groupby(unit)[cohort].nunique() > 1).any():
        bad = list(data.groupby(unit)[cohort].nunique().loc[lambda s: s > 1].index[:3])
        raise UserInputError(f"synthetic_did: cohort column '{cohort}' varies within unit(s) {bad}; it must be "
                             "each unit's first treated period, constant over time.")
    wide = data.pivot(index=unit, columns=time, values=outcome).sort_index(axis=0).sort_index(axis=1)
    if wide.isna().any().any():
        bad = list(wide.index[wide.isna().any(axis=1)][:5])
        raise UserInputError(f"synthetic_did: outcome '{outcome}' is missing for unit(s) {bad} in some periods; "
                             "the panel must be balanced (drop those units or fill the gaps).")
    times = wide.columns.to_numpy()
    g_unit = data.groupby(unit)[cohort].first().reindex(wide.index).to_numpy(dtype=float)
    g_unit = np.where(g_unit > times.max(), 0.0, g_unit)
    early = np.unique(g_unit[(g_unit != 0) & (g_unit <= times[1])]) if times.size > 1 else np.unique(g_unit)
    if early.size:
        raise EstimationError(f"synthetic_did: cohort(s) {early.tolist()} in '{cohort}' have fewer than 2 "
                              f"pre-treatment periods (panel starts at {times[0]}); drop those units.")
    if not np.any(g_unit == 0):
        raise EstimationError(f"synthetic_did: no never-treated units ('{cohort}' 0 or missing); SDID compares "
                              "each cohort with never-treated units.")
    if not np.any(g_unit != 0):
        raise EstimationError(f"synthetic_did: no treated units in '{cohort}'; give first treated periods.")
    if np.sum(g_unit == 0) < 2 and method != "did":
        raise EstimationError("synthetic_did: need at least 2 never-treated units to form synthetic weights.")

    # controls first, in unit order; treated units grouped by cohort
    order = np.concatenate([np.flatnonzero(g_unit == 0), np.flatnonzero(g_unit != 0)])
    order = np.concatenate([order[g_unit[order] == 0],
                            order[g_unit[order] != 0][np.argsort(g_unit[order][g_unit[order] != 0], kind="stable")]])
    Y = wide.to_numpy(dtype=float)[order]
    names = wide.index.to_numpy()[order]
    ctrl = np.flatnonzero(g_unit[order] == 0)

    est_fn = _ESTIMATORS[method]
    fits: list[_Cohort] = []
    crow_list, wrow, trow_list, prow = [], [], [], []
    for a in sorted(set(g_unit[g_unit != 0].tolist())):
        tr = np.flatnonzero(g_unit[order] == a)
        T0 = int(np.sum(times < a))
        fit = est_fn(Y[np.concatenate([ctrl, tr])], ctrl.size, T0)
        label = _label(a)
        fits.append(_Cohort(a, T0, fit))
        crow_list.append({"cohort": label, "n_treated": tr.size, "n_pre": T0, "n_post": times.size - T0,
                          "estimate": fit.estimate})
        wrow.append(pd.DataFrame({"cohort": label, "unit": names[ctrl], "weight": fit.omega}))
        trow_list.append(pd.DataFrame({"cohort": label, "time": times[:T0], "weight": fit.lambda_}))
        prow.append(pd.DataFrame({"cohort": label, "time": times, "treated": fit.treated_path,
                                  "synthetic": fit.synthetic_path}))
    g_obj = np.array([0 if v == 0 else float(v) for v in g_unit[order]], dtype=object)
    prob = _PanelProblem(Y, g_obj, [_Cohort(float(c.cohort), c.T0, c.fit) for c in fits])
    cohorts = pd.DataFrame(crow_list)
    cells = cohorts["n_treated"] * cohorts["n_post"]
    cohorts.insert(4, "weight", cells / cells.sum())
    estimate = float(np.dot(cohorts["weight"], cohorts["estimate"]))

    se = float("nan")
    if inference is not None:
        se = _se_generic(prob, inference, int(replications), seed)
    z = float(special.ndtri(0.5 + level / 2))
    n_units = int(len(order))
    return SynthDiDResult(
        outcome=outcome, estimate=estimate, se=se, ci_low=estimate - z * se, ci_high=estimate + z * se,
        method=method, inference=inference, level=level, cohorts=cohorts,
        unit_weights=pd.concat(wrow, ignore_index=True), time_weights=pd.concat(trow_list, ignore_index=True),
        paths=pd.concat(prow, ignore_index=True), n_units=n_units, n_obs=n_units * int(times.size), seed=seed,
        replications=int(replications),
    )


def _label(a: float) -> int | float:
    return int(a) if float(a).is_integer() else a


def synth_estimator(
    request: Request,
    *,
    method: Method = "sdid",
    replications: int = 200,
    seed: int | None = None,
    synth_inference: Inference | None = None,
) -> EstimationResult:
    """Synthetic DiD (``method="sdid"``) or synthetic control (``"sc"``) through the package's front door.

    Estimand
        The ATT of the treated units over their post-treatment periods, cohort by cohort against never-treated
        units, averaged with treated-cell weights (Stata ``sdid``).
    Inference
        ``synth_inference=None`` (default) chooses: placebo with one treated unit; otherwise the jackknife when
        every cohort has at least two treated units, else the unit bootstrap (R ``synthdid``'s ``vcov``;
        ``replications`` draws). ``"placebo"``, ``"jackknife"`` or ``"bootstrap"`` force one (an impossible choice
        raises). Draws are seeded with ``seed``, or :data:`DEFAULT_SEED` when ``None``, so results are reproducible.
        Intervals follow the
        package's rule (:mod:`clusterpolicy.estimate.result`): ``estimate +/- critical_value * se`` with t(G-1)
        critical values, ``G`` the number of units (``df_mode="normal"``: R synthdid's normal ones).

    References
    ----------
    Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. and Wager, S. (2021). Synthetic
    difference-in-differences. *American Economic Review* 111(12), 4088-4118.
    Clarke, D., Pailanir, D., Athey, S. and Imbens, G. (2024). On synthetic difference-in-differences and related
    estimation methods in Stata. *Stata Journal* 24(4), 557-598.
    """
    from clusterpolicy.estimate.result import Inference as InferenceRecord

    panel = request.panel
    if panel.cluster != panel.unit:
        raise UserInputError("synthetic DiD resamples units, not clusters; drop --cluster or use a DiD estimator.")
    # the prepared panel: cohorts after the last period already recoded to never treated (column _g)
    first = panel.data.groupby("_u")["_g"].first()
    treated = first[first > 0]
    seed = DEFAULT_SEED if seed is None else seed
    how: Inference
    if synth_inference is not None:
        how = check_literal(synth_inference, SynthInference, "synth_inference")
        if treated.size == 1 and how != "placebo":
            raise UserInputError(f"synth_inference={how!r} needs several treated units and the panel has one; use "
                                 "'placebo' (--synth-inference placebo).")
    elif treated.size == 1:
        how = "placebo"
    elif treated.value_counts().min() >= 2:
        how = "jackknife"
    else:
        how = "bootstrap"
    res = synthetic_did(panel.data, unit=panel.unit, time="_t", cohort="_g", outcome=panel.outcome, method=method,
                        inference=how, replications=replications, seed=seed, level=request.level)
    record = InferenceRecord.rule(
        se_type=f"{how} standard error of R synthdid ({replications} draws)" if how != "jackknife"
        else "jackknife standard error of R synthdid (weights fixed)",
        n_clusters=int(res.n_units), df=request.df_mode, level=request.level,
        method=how, n_boot=replications if how != "jackknife" else None, seed=seed if how != "jackknife" else None)
    name = {"sdid": "synthetic difference-in-differences", "sc": "synthetic control",
            "did": "difference-in-differences"}[method]
    return EstimationResult.from_estimate(
        estimator=method if method != "did" else "sdid_did", outcome=panel.outcome, estimate=res.estimate, se=res.se,
        inference=record, n_obs=res.n_obs, n_units=res.n_units,
        estimand=f"ATT over treated post-treatment cells, {name} (R synthdid weights), cohort by cohort",
        details={"cohorts": res.cohorts.to_dict("records"), "method": method, "inference": how},
    )
