"""Few-cluster inference: wild cluster bootstrap and randomisation inference over treatment timing.

Regional cluster policies are adopted by a handful of regions, so conventional cluster-robust standard errors
(which rely on many clusters) over-reject. This module offers two remedies:

* :func:`wild_cluster_bootstrap` -- the restricted (WCR, null imposed) and unrestricted (WCU) wild cluster
  bootstrap-t of Cameron, Gelbach and Miller (2008) for one coefficient of a linear model with absorbed fixed
  effects, with Rademacher, Webb (2023) six-point or Mammen weights, full enumeration of all ``2**G`` Rademacher
  sign patterns when that is feasible, and confidence intervals by test inversion. The p-value convention, the
  bootstrap t-statistic and the enumeration follow ``fwildclusterboot`` (Fischer and Roodman, 2021) so the numbers
  can be checked against R; see ``tests/data/reference/wild_bootstrap``.
* :func:`randomization_inference` -- Fisher randomisation inference that permutes cohort (adoption-year)
  assignments across units and re-estimates with any supplied estimator (MacKinnon and Webb, 2020, "Randomization
  inference for difference-in-differences with few treated clusters").

Randomisation inference works with any estimator of :func:`clusterpolicy.estimate.api.estimate` (see
:func:`randomization_for`); the wild cluster bootstrap is for one coefficient of a linear model.

References
----------
Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based improvements for inference with
clustered errors. *Review of Economics and Statistics* 90(3), 414-427.
MacKinnon, J. G. and Webb, M. D. (2017). Wild bootstrap inference for wildly different cluster sizes. *Journal of
Applied Econometrics* 32(2), 233-254.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. *Canadian Journal of
Economics* 56(3), 839-858.
Roodman, D., MacKinnon, J. G., Nielsen, M. O. and Webb, M. D. (2019). Fast and wild: bootstrap inference in Stata
using boottest. *Stata Journal* 19(1), 4-60.
Fischer, A. and Roodman, D. (2021). fwildclusterboot: Fast wild cluster bootstrap inference for linear
regression models. R package (version 0.13.0 used for the reference numbers).
MacKinnon, J. G. and Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated
clusters. *Journal of Econometrics* 218(2), 435-450.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

# scipy.special, not scipy.stats: stats.t.sf calls special.stdtr, without stats' half-second import.
from scipy import special

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate._panel import nested_in, numeric_column, require_columns
from clusterpolicy.estimate.bootstrap import draw_weights
from clusterpolicy.estimate.literals import BootWeights, PValueType, RIAlternative, RIStatistic, check_literal
from clusterpolicy.estimate.result import EstimationResult, clean_float

logger = logging.getLogger(__name__)

# Bootstrap t-statistics within this relative distance of the original one count as ties, and ties do not count as
# exceedances (fwildclusterboot's strict ``abs(t_stat) < abs(t_boot)``). Under the null-imposed bootstrap the
# all-ones and all-minus-ones sign patterns reproduce the original |t| exactly; floating-point noise must not
# decide whether they count.
_TIE_RTOL = 1e-9
_MAX_ENUM_DEFAULT = 12
_CHUNK = 4096


# ----------------------------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------------------------
def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    require_columns(df, {f"{what} input {c!r}": c for c in columns})


def _numeric(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    values = numeric_column(df, column, what).to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = list(df.index[bad][:5])
        raise UserInputError(
            f"{what}: column '{column}' has {int(bad.sum())} missing value(s) (rows {rows}); "
            "drop or fill those rows before calling."
        )
    return values


def _codes(series: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), len(uniques)


# ----------------------------------------------------------------------------------------------------------------
# Fixed-effect projections (pyfixest's alternating projections)
# ----------------------------------------------------------------------------------------------------------------
# Why not the package's one TWFE fit (estimate/twfe.py): the wild bootstrap demeans the design once and then
# draws every bootstrap t-statistic by linear algebra on G cluster sums, while the shared path refits (one demeaning)
# per draw. benchmarks/bench_twfe_paths.py measures both in one run: 999 draws cost 30-40 times more through the
# shared TwfeRefit (benchmarks/results/twfe_paths.md). The fixed-effect counting uses _panel.nested_in as twfe does.
@dataclass(frozen=True)
class _Absorber:
    """Projects columns off a set of fixed effects (and optional covariates) by alternating projections.

    The demeaning itself is pyfixest's; this class keeps the codes and the covariate step of the FWL annihilator.
    """

    codes: tuple[np.ndarray, ...]
    covariates: np.ndarray | None = None  # already demeaned on the fixed effects
    tol: float = 1e-13
    max_iter: int = 10_000

    @classmethod
    def build(cls, codes: Sequence[np.ndarray], n_levels: Sequence[int], n_obs: int) -> _Absorber:
        return cls(tuple(np.asarray(c) for c in codes))

    def demean(self, values: np.ndarray) -> np.ndarray:
        """Residuals of ``values`` (N or N x k) on the fixed effects only (pyfixest's alternating projections)."""
        from pyfixest.estimation import demean as pyfixest_demean

        out = np.array(values, dtype=float, copy=True)
        squeeze = out.ndim == 1
        if squeeze:
            out = out[:, None]
        if not self.codes or out.size == 0:
            return out[:, 0] if squeeze else out
        flist = np.column_stack(self.codes).astype(np.uint64)
        # pyfixest's tolerance is absolute; scale it so outcomes in levels (thousands) converge like logs do.
        scale = max(float(np.max(np.abs(out))), 1.0)
        demeaned, converged = pyfixest_demean(np.ascontiguousarray(out), flist, np.ones(out.shape[0]),
                                              tol=self.tol * scale, maxiter=self.max_iter)
        if not converged:  # pragma: no cover - only for pathological designs
            logger.warning("fixed-effect demeaning did not converge in %d iterations", self.max_iter)
        return demeaned[:, 0] if squeeze else demeaned

    def project(self, values: np.ndarray) -> np.ndarray:
        """Residuals of ``values`` on the fixed effects and the covariates (the FWL annihilator M_Q)."""
        out = self.demean(values)
        if self.covariates is None or self.covariates.shape[1] == 0:
            return out
        coef, *_ = np.linalg.lstsq(self.covariates, out, rcond=None)
        resid: np.ndarray = out - self.covariates @ coef
        return resid


# ----------------------------------------------------------------------------------------------------------------
# Fixed-effects OLS with fixest-style cluster-robust standard errors
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Design:
    """Everything partialled out once: FWL-transformed regressors and outcome plus cluster bookkeeping."""

    y: np.ndarray  # M_FE y (fixed effects only; covariates still in X)
    X: np.ndarray  # M_FE X, columns = regressors
    names: tuple[str, ...]
    absorber: _Absorber
    cluster_codes: np.ndarray | None
    n_clusters: int
    fe_levels_k: int  # fixed-effect degrees of freedom counted in K (fixest "nested" rule)


def _build_design(
    df: pd.DataFrame, outcome: str, regressors: Sequence[str], fixed_effects: Sequence[str], cluster: str | None,
    what: str,
) -> _Design:
    cols = [outcome, *regressors, *fixed_effects] + ([cluster] if cluster else [])
    _require_columns(df, cols, what)
    if not regressors:
        raise UserInputError(f"{what}: no regressors given; pass at least one column name in `regressors`.")
    n = len(df)
    y = _numeric(df, outcome, what)
    X = np.column_stack([_numeric(df, r, what) for r in regressors])
    codes, levels = [], []
    for fe in fixed_effects:
        if df[fe].isna().any():
            raise UserInputError(f"{what}: fixed-effect column '{fe}' has missing values; drop those rows first.")
        c, k = _codes(df[fe])
        codes.append(c)
        levels.append(k)
    cl_codes, n_cl = (None, 0)
    if cluster:
        if df[cluster].isna().any():
            raise UserInputError(f"{what}: cluster column '{cluster}' has missing values; drop those rows first.")
        cl_codes, n_cl = _codes(df[cluster])
        if n_cl < 2:
            raise UserInputError(f"{what}: cluster column '{cluster}' has {n_cl} cluster; need at least 2.")
    absorber = _Absorber.build(codes, levels, n)
    fe_k = 0
    for i, (c, k) in enumerate(zip(codes, levels)):
        nested = cl_codes is not None and nested_in(c, cl_codes)
        fe_k += 1 if nested else k
        if i > 0:
            fe_k -= 1  # one level of every further fixed effect is redundant with the first
    Xd = absorber.demean(X)
    yd = absorber.demean(y)
    return _Design(yd, Xd, tuple(regressors), absorber, cl_codes, n_cl, fe_k)


# ----------------------------------------------------------------------------------------------------------------
# Wild cluster bootstrap
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WildBootstrapResult:
    """Wild cluster bootstrap test of ``H0: beta_term = null``.

    Attributes
    ----------
    term, estimate
        The tested coefficient and its OLS estimate.
    se, analytic_p_value
        Conventional CR1 cluster-robust SE (fixest convention) and its t(G-1) p-value, for comparison.
    t_stat
        The original t-statistic used by the bootstrap, ``(estimate - null) / se_boot`` with the small-sample
        factor ``G/(G-1) * (N-1)/(N-k)``, ``k`` = non-absorbed regressors (fwildclusterboot's convention).
    p_value
        Bootstrap p-value (see ``p_val_type``).
    ci_low, ci_high
        Confidence interval by test inversion (NaN when not requested).
    impose_null, weights, n_boot, full_enumeration, p_val_type
        Design of the bootstrap; ``n_boot`` is the number of bootstrap t-statistics actually used (``2**G`` under
        full enumeration).
    t_boot
        The bootstrap t-statistics at the tested null (excluded from ``repr``).
    """

    term: str
    estimate: float
    se: float
    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    null: float
    level: float
    impose_null: bool
    weights: str
    n_boot: int
    full_enumeration: bool
    p_val_type: str
    n_obs: int
    n_clusters: int
    analytic_p_value: float
    seed: int | None
    t_boot: np.ndarray = field(repr=False, compare=False)

    @property
    def method(self) -> str:
        """``WCR`` (null imposed) or ``WCU``."""
        return "WCR" if self.impose_null else "WCU"

    def tidy(self) -> pd.DataFrame:
        """One-row frame with the test results."""
        return pd.DataFrame([{
            "term": self.term, "method": self.method, "weights": self.weights, "estimate": self.estimate,
            "se": self.se, "t_stat": self.t_stat, "p_value": self.p_value, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "n_boot": self.n_boot, "full_enumeration": self.full_enumeration,
            "n_clusters": self.n_clusters, "analytic_p_value": self.analytic_p_value,
        }])

    def summary(self) -> str:
        """Plain-text summary."""
        draws = f"all {self.n_boot} sign patterns" if self.full_enumeration else f"{self.n_boot} draws"
        lines = [
            f"Wild cluster bootstrap ({self.method}, {self.weights} weights, {draws}; G={self.n_clusters})",
            f"H0: {self.term} = {self.null:g}   estimate {self.estimate:.6g}   t {self.t_stat:.4f}",
            f"Bootstrap p-value ({self.p_val_type}): {self.p_value:.6g}   analytic CR1 p: {self.analytic_p_value:.4g}",
        ]
        if np.isfinite(self.level):
            lines.append(f"{self.level:.0%} CI by test inversion: [{self.ci_low:.6g}, {self.ci_high:.6g}]")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (the ``wild_bootstrap`` block of ``clusterpolicy estimate --json``)."""
        return {"method": self.method, "weights": self.weights, "p_value": self.p_value,
                "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high), "n_boot": self.n_boot,
                "full_enumeration": self.full_enumeration, "impose_null": self.impose_null, "seed": self.seed,
                "analytic_p_value": self.analytic_p_value}


def _all_sign_patterns(n_clusters: int) -> np.ndarray:
    """All ``2**G`` Rademacher sign vectors as a G x 2**G matrix."""
    bits = (np.arange(2**n_clusters)[None, :] >> np.arange(n_clusters)[:, None]) & 1
    return (2.0 * bits - 1.0)


@dataclass(frozen=True)
class _BootCore:
    """Cluster-level sufficient statistics of the FWL-transformed problem (all G x G or length G)."""

    xx: float  # x~'x~
    a: np.ndarray  # per-cluster x~_g'x~_g
    s_y: np.ndarray  # per-cluster x~_g' y~_g
    s_x: np.ndarray  # per-cluster x~_g' x~_g (== a, kept for clarity of the linear-in-beta0 algebra)
    C_y: np.ndarray  # C[h, g] = x~_h' (M_Q (y~ * 1_g))_h
    C_x: np.ndarray  # C[h, g] = x~_h' (M_Q (x~ * 1_g))_h
    ssc: float  # bootstrap small-sample factor

    def t_stats(self, resid_coef: float, V: np.ndarray) -> np.ndarray:
        """Bootstrap t-statistics for residuals ``u = y~ - resid_coef * x~`` and weights ``V`` (G x B).

        ``y* = fitted + u * v``: the coefficient deviation is ``s(u)'v / x'x`` and the bootstrap residual scores
        are ``C(u) v - a * (s(u)'v / x'x)``; everything is linear in ``resid_coef``.
        """
        s = self.s_y - resid_coef * self.s_x
        C = self.C_y - resid_coef * self.C_x
        out = np.empty(V.shape[1])
        for start in range(0, V.shape[1], _CHUNK):
            v = V[:, start:start + _CHUNK]
            num = (s @ v) / self.xx
            scores = C @ v - self.a[:, None] * num[None, :]
            se = np.sqrt(self.ssc * np.sum(scores**2, axis=0)) / self.xx
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:start + _CHUNK] = num / se
        return out

    def original_se(self, beta: float) -> float:
        scores = self.s_y - beta * self.s_x  # x~_g' u_hat_g
        return math.sqrt(self.ssc * float(scores @ scores)) / self.xx


def _p_from(t_obs: float, t_boot: np.ndarray, p_val_type: str) -> float:
    tol = _TIE_RTOL * max(abs(t_obs), 1e-300)
    if p_val_type == "two-tailed":
        return float(np.mean(np.abs(t_boot) > abs(t_obs) + tol))
    upper = float(np.mean(t_boot > t_obs + tol))
    lower = float(np.mean(t_boot < t_obs - tol))
    return 2.0 * min(upper, lower)


def wild_cluster_bootstrap(
    df: pd.DataFrame,
    *,
    outcome: str,
    term: str,
    cluster: str,
    fixed_effects: Sequence[str] = (),
    covariates: Sequence[str] = (),
    null: float = 0.0,
    impose_null: bool = True,
    weights: BootWeights = "rademacher",
    n_boot: int = 9999,
    full_enumeration: bool | None = None,
    max_enumeration_clusters: int = _MAX_ENUM_DEFAULT,
    p_val_type: PValueType = "two-tailed",
    conf_level: float | None = 0.95,
    seed: int | None = None,
) -> WildBootstrapResult:
    """Wild cluster bootstrap-t test (and test-inversion CI) for one coefficient of a fixed-effects regression.

    The model is ``outcome = term * beta + covariates * gamma + fixed effects + u`` with ``u`` correlated within
    ``cluster``. The estimand is ``beta``; the test is of ``H0: beta = null``.

    Parameters
    ----------
    df
        Data; not modified.
    outcome, term, cluster
        Dependent variable, the regressor whose coefficient is tested, and the cluster column.
    fixed_effects, covariates
        Absorbed fixed effects (e.g. ``("firm", "year")``) and further regressors kept in the model.
    null
        Value of ``beta`` under the null.
    impose_null
        ``True`` (WCR, recommended with few clusters; Cameron et al., 2008; MacKinnon and Webb, 2017): bootstrap
        samples are built from the restricted model with ``beta = null``. ``False`` (WCU): from the unrestricted
        fit; the bootstrap t is centred at the estimate.
    weights
        ``"rademacher"`` (+/-1), ``"webb"`` (six-point, better when G is very small) or ``"mammen"``.
    n_boot
        Number of random draws when not enumerating.
    full_enumeration
        ``None`` (auto): with Rademacher weights, enumerate all ``2**G`` sign patterns when
        ``2**G <= max(n_boot, 2**max_enumeration_clusters)``; the p-value is then exact and seed-free.
    p_val_type
        ``"two-tailed"``: share of bootstrap ``|t*|`` strictly above ``|t|`` (symmetric); ``"equal-tailed"``:
        ``2 * min(P(t* > t), P(t* < t))``. Ties (within a relative 1e-9) never count, as in fwildclusterboot.
    conf_level
        Level of the confidence interval obtained by inverting the test (``None`` to skip it). The interval is
        the set of ``null`` values with bootstrap p-value above ``1 - conf_level``; its ends are located by
        bisection to ~1e-10 times the standard error.
    seed
        Seed for :func:`numpy.random.default_rng` (ignored under full enumeration). The same draws are reused at
        every null value of the inversion.

    Returns
    -------
    WildBootstrapResult

    Notes
    -----
    Fixed effects and covariates are partialled out first (Frisch-Waugh-Lovell). With ``x~ = M_Q x``, restricted
    residuals ``u~ = M_Q y - x~ * null`` (WCR) or unrestricted ``u^`` (WCU), and cluster weights ``v_g``, the
    bootstrap coefficient deviation is ``sum_g v_g x~_g'u_g / x~'x~`` and the bootstrap residuals are
    ``M_[Q, x](u * v)``, so the bootstrap cluster-robust SE re-projects the fixed effects exactly as the
    dummy-variable bootstrap does. Everything reduces to G x G matrices, vectorised over draws (Roodman et al.,
    2019). Bootstrap and original t use the factor ``G/(G-1) * (N-1)/(N-k)``; it cancels in the p-value.

    Examples
    --------
    >>> from clusterpolicy.data.synthetic import simulate_region_panel
    >>> d = simulate_region_panel(n_regions=12, seed=3).data
    >>> res = wild_cluster_bootstrap(d, outcome="y", term="post", cluster="region",
    ...                              fixed_effects=["region", "year"], conf_level=None)
    >>> res.full_enumeration, res.n_boot
    (True, 4096)
    """
    check_literal(weights, BootWeights, "wild_cluster_bootstrap: weights")
    check_literal(p_val_type, PValueType, "wild_cluster_bootstrap: p_val_type")
    if n_boot < 99:
        raise UserInputError(f"wild_cluster_bootstrap: n_boot={n_boot} is too small; use at least 99 (9999 typical).")
    if conf_level is not None and not 0 < conf_level < 1:
        raise UserInputError(f"wild_cluster_bootstrap: conf_level={conf_level} must lie in (0, 1) or be None.")
    what = "wild_cluster_bootstrap"
    regressors = [term, *[c for c in covariates if c != term]]
    design = _build_design(df, outcome, regressors, fixed_effects, cluster, what)
    assert design.cluster_codes is not None
    G, n = design.n_clusters, design.y.size
    k = len(regressors)

    # Partial the covariates out as well: Q = [fixed effects, covariates].
    absorber = design.absorber
    if k > 1:
        absorber = _Absorber(absorber.codes, covariates=design.X[:, 1:])
        W = design.X[:, 1:]
        coef_x, *_ = np.linalg.lstsq(W, design.X[:, 0], rcond=None)
        coef_y, *_ = np.linalg.lstsq(W, design.y, rcond=None)
        x_t = design.X[:, 0] - W @ coef_x
        y_t = design.y - W @ coef_y
    else:
        x_t, y_t = design.X[:, 0], design.y
    xx = float(x_t @ x_t)
    if xx <= 1e-12 * max(1.0, float(np.abs(design.X[:, 0]).max()) ** 2 * n):
        raise EstimationError(f"{what}: '{term}' has no variation left after the fixed effects/covariates.")

    codes = design.cluster_codes
    onehot = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(G, n))  # cluster-sum operator

    def cluster_columns(v: np.ndarray) -> np.ndarray:
        cols = np.zeros((n, G))
        cols[np.arange(n), codes] = v
        return cols

    H_y = absorber.project(cluster_columns(y_t))
    H_x = absorber.project(cluster_columns(x_t))
    core = _BootCore(
        xx=xx, a=np.asarray(onehot @ (x_t * x_t)).ravel(), s_y=np.asarray(onehot @ (x_t * y_t)).ravel(),
        s_x=np.asarray(onehot @ (x_t * x_t)).ravel(),
        C_y=np.asarray(onehot @ (x_t[:, None] * H_y)), C_x=np.asarray(onehot @ (x_t[:, None] * H_x)),
        ssc=G / (G - 1) * (n - 1) / (n - k),
    )
    beta = float(core.s_y.sum() / xx)
    se_boot = core.original_se(beta)

    # The conventional CR1 SE with fixest's small-sample factor (K counts the non-nested fixed effects), for
    # comparison: the same residual scores as the bootstrap's, with fixest's instead of fwildclusterboot's factor.
    scores_hat = core.s_y - beta * core.s_x
    fixest_factor = G / (G - 1) * (n - 1) / (n - k - design.fe_levels_k)
    se_analytic = math.sqrt(fixest_factor * float(scores_hat @ scores_hat)) / xx
    analytic_p = float(2 * special.stdtr(G - 1, -abs(beta / se_analytic)))

    enumerate_all = full_enumeration
    if enumerate_all is None:
        enumerate_all = weights == "rademacher" and 2**G <= max(n_boot, 2**max_enumeration_clusters)
    if enumerate_all and weights != "rademacher":
        raise UserInputError(f"{what}: full_enumeration=True needs weights='rademacher' (got {weights!r}).")
    if enumerate_all and G > 20:
        raise UserInputError(f"{what}: full enumeration of 2**{G} sign patterns is infeasible; set it to False.")
    V = _all_sign_patterns(G) if enumerate_all else draw_weights(weights, G, n_boot, np.random.default_rng(seed))

    def p_value_at(b0: float) -> tuple[float, np.ndarray]:
        t_obs = (beta - b0) / se_boot
        t_b = core.t_stats(b0, V) if impose_null else t_unrestricted
        return _p_from(t_obs, t_b, p_val_type), t_b

    t_unrestricted = core.t_stats(beta, V) if not impose_null else np.empty(0)
    p_val, t_boot = p_value_at(null)
    if G <= 5 and weights == "rademacher":
        logger.warning("only %d clusters: Rademacher weights allow %d distinct p-values; consider weights='webb'",
                       G, 2**G)

    ci_low = ci_high = float("nan")
    if conf_level is not None:
        alpha = 1.0 - conf_level
        ci_low = _invert(lambda b0: p_value_at(b0)[0], beta, se_boot, alpha, direction=-1.0)
        ci_high = _invert(lambda b0: p_value_at(b0)[0], beta, se_boot, alpha, direction=+1.0)

    return WildBootstrapResult(
        term=term, estimate=beta, se=se_analytic, t_stat=float((beta - null) / se_boot),
        p_value=p_val, ci_low=ci_low, ci_high=ci_high, null=float(null), level=float(conf_level or float("nan")),
        impose_null=impose_null, weights=weights, n_boot=int(V.shape[1]), full_enumeration=bool(enumerate_all),
        p_val_type=p_val_type, n_obs=n, n_clusters=G, analytic_p_value=analytic_p,
        seed=None if enumerate_all else seed, t_boot=t_boot,
    )


def _invert(p_of: Callable[[float], float], beta: float, scale: float, alpha: float, direction: float) -> float:
    """Boundary of ``{b0 : p(b0) > alpha}`` on one side of ``beta`` by bracketing then bisection."""
    inside = beta
    step = scale
    outside = beta + direction * step
    for _ in range(200):
        if p_of(outside) <= alpha:
            break
        inside, step = outside, step * 2.0
        outside = beta + direction * step
    else:  # pragma: no cover - p never falls below alpha (e.g. G tiny): the interval is unbounded
        return float(direction * np.inf)
    tol = 1e-10 * max(scale, 1e-12)
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if p_of(mid) > alpha:
            inside = mid
        else:
            outside = mid
    return float(0.5 * (inside + outside))


# ----------------------------------------------------------------------------------------------------------------
# Randomisation inference over treatment timing
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomizationResult:
    """Randomisation-inference test of the sharp null of no effect for any unit in any period.

    Attributes
    ----------
    statistic
        ``"estimate"`` or ``"t"`` (estimate / SE).
    observed
        The statistic at the actual assignment.
    p_value
        Two-sided (``|T_perm| >= |T_obs|``) or one-sided p-value; see ``exact``.
    exact
        ``True`` when every distinct assignment was enumerated: ``p = #{a : |T_a| >= |T_obs|} / n_assignments``
        (the actual assignment is one of them). Otherwise, with ``R`` random permutations,
        ``p = (1 + #{r : |T_r| >= |T_obs|}) / (R + 1)``: the +1 counts the actual assignment, which keeps the test
        exact in finite samples (Phipson and Smyth, 2010).
    distribution
        The statistic under every enumerated or drawn assignment (actual assignment excluded when random).
    n_assignments
        Number of distinct cohort assignments possible (product over strata of multinomial coefficients).
    n_failed
        Assignments the estimator could not estimate (e.g. a cohort left without a pre-period); left out. With the
        confidence set, also those where the fit with ``D`` as outcome fails, so the p-value and the set use the
        same assignments.
    strata
        The column whose levels the permutations stay within, or ``None``.
    ci_level, ci_low, ci_high, ci_set
        Randomisation confidence set (only with ``interval=True``; see :func:`randomization_inference`):
        ``{tau : p(tau) > 1 - ci_level}`` under the sharp null of a constant additive effect ``tau``, as the
        disjoint closed intervals ``ci_set`` (ends may be infinite), and its hull ``[ci_low, ci_high]``.
    d_distribution, d_observed
        The estimator applied to the actual treatment indicator ``D`` as outcome, under each permuted assignment
        (aligned with ``distribution``) and under the actual one: the slopes of the statistic in ``tau``.
    """

    statistic: str
    observed: float
    p_value: float
    exact: bool
    n_permutations: int
    n_assignments: int
    alternative: str
    seed: int | None
    distribution: np.ndarray = field(repr=False, compare=False)
    n_failed: int = 0
    strata: str | None = None
    ci_level: float | None = None
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    ci_set: tuple[tuple[float, float], ...] = ()
    d_distribution: np.ndarray | None = field(default=None, repr=False, compare=False)
    d_observed: float = float("nan")

    @property
    def ci_connected(self) -> bool | None:
        """Whether the randomisation confidence set is one interval (``None`` when it was not computed)."""
        return None if self.ci_level is None else len(self.ci_set) <= 1

    def quantiles(self, probs: Sequence[float] = (0.025, 0.05, 0.5, 0.95, 0.975)) -> dict[str, float]:
        """Quantiles of the permutation distribution, keyed ``"q0.025"`` etc."""
        if self.distribution.size == 0:
            return {}
        values = np.quantile(self.distribution, list(probs))
        return {f"q{p:g}": float(v) for p, v in zip(probs, values, strict=True)}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (``EstimationResult.randomization``)."""
        return {"p_value": self.p_value, "statistic": self.statistic, "observed": self.observed,
                "exact": self.exact, "n_permutations": self.n_permutations, "n_assignments": self.n_assignments,
                "n_failed": self.n_failed, "alternative": self.alternative, "seed": self.seed,
                "strata": self.strata, "quantiles": self.quantiles(),
                "mean": float(self.distribution.mean()) if self.distribution.size else None,
                **self._ci_dict()}

    def _ci_dict(self) -> dict[str, object]:
        # JSON has no infinity: an unbounded end is written null with its ``*_infinite`` flag set (null without the
        # flag never occurs once the set is computed: the set always holds the point estimate).
        if self.ci_level is None:
            return {}
        return {"ci_level": self.ci_level, "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high),
                "ci_low_infinite": bool(np.isinf(self.ci_low)), "ci_high_infinite": bool(np.isinf(self.ci_high)),
                "ci_connected": self.ci_connected,
                "ci_set": [[clean_float(lo), clean_float(hi)] for lo, hi in self.ci_set]}

    def tidy(self) -> pd.DataFrame:
        """One-row frame of the test."""
        return pd.DataFrame([{
            "statistic": self.statistic, "observed": self.observed, "p_value": self.p_value, "exact": self.exact,
            "n_permutations": self.n_permutations, "n_assignments": self.n_assignments,
            "alternative": self.alternative,
        }])

    def distribution_frame(self) -> pd.DataFrame:
        """The permutation distribution as a frame (``draw, value``)."""
        return pd.DataFrame({"draw": np.arange(self.distribution.size), "value": self.distribution})

    def summary(self) -> str:
        """Plain-text summary."""
        how = (f"exact: all {self.n_assignments} assignments" if self.exact
               else f"{self.n_permutations} random permutations of {self.n_assignments} possible, p=(1+b)/(R+1)")
        within = f", within strata of {self.strata!r}" if self.strata else ""
        text = (f"Randomisation inference ({how}{within})\n"
                f"observed {self.statistic} {self.observed:.6g}; {self.alternative} p-value {self.p_value:.6g}")
        if self.ci_level is not None:
            shape = "" if self.ci_connected else f" (hull of {len(self.ci_set)} disjoint intervals)"
            text += (f"\n{self.ci_level:.0%} randomisation CI (constant additive effect): "
                     f"[{self.ci_low:.6g}, {self.ci_high:.6g}]{shape}")
        return text


def _multinomial(counts: Sequence[int]) -> int:
    total, out = 0, 1
    for c in counts:
        total += c
        out *= math.comb(total, c)
    return out


def _enumerate_assignments(labels: np.ndarray) -> Iterator[np.ndarray]:
    """Every distinct arrangement of the multiset ``labels`` over ``len(labels)`` positions (sorted order)."""
    values, counts = np.unique(labels, return_counts=True)
    n = labels.size

    def rec(free: tuple[int, ...], level: int, current: np.ndarray) -> Iterator[np.ndarray]:
        if level == len(values) - 1:
            out = current.copy()
            out[list(free)] = values[level]
            yield out
            return
        for chosen in itertools.combinations(free, int(counts[level])):
            nxt = current.copy()
            nxt[list(chosen)] = values[level]
            rest = tuple(i for i in free if i not in set(chosen))
            yield from rec(rest, level + 1, nxt)

    yield from rec(tuple(range(n)), 0, np.empty(n, dtype=labels.dtype))


def _enumerate_within(labels: np.ndarray, groups: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Every assignment that permutes ``labels`` within each group of positions."""
    per_group = [list(_enumerate_assignments(labels[idx])) for idx in groups]
    for combo in itertools.product(*per_group):
        out = labels.copy()
        for idx, part in zip(groups, combo, strict=True):
            out[idx] = part
        yield out


def randomization_inference(
    df: pd.DataFrame,
    fit: Callable[[pd.DataFrame], EstimationResult | float],
    *,
    unit: str,
    cohort: str,
    time: str | None = None,
    treatment: str | None = None,
    strata: str | None = None,
    statistic: RIStatistic = "estimate",
    alternative: RIAlternative = "two-sided",
    n_permutations: int = 999,
    exact: bool | None = None,
    seed: int | None = None,
    interval: bool = False,
    level: float = 0.95,
    outcome: str | None = None,
) -> RandomizationResult:
    """Randomisation (permutation) inference over treatment timing, for any estimator.

    Under the sharp null that the policy changed no outcome, the cohort labels (adoption years, 0 = never) are
    exchangeable across units (within strata, when given), so re-estimating after permuting them traces the null
    distribution of any statistic. Permutation keeps the distribution of cohorts (how many units adopt in each
    year, in each stratum) fixed.

    Parameters
    ----------
    df
        Panel (one row per unit and period); not modified.
    fit
        Estimator ``fit(df) -> EstimationResult | float`` that reads treatment from ``cohort`` (and ``treatment``
        if given). Floats are accepted only with ``statistic="estimate"``. An assignment the estimator cannot
        estimate (:class:`~clusterpolicy.errors.EstimationError`) is left out and counted in ``n_failed``. A
        :class:`~clusterpolicy.estimate.api.BoundEstimate` gives the same numbers faster where it has a prepared
        refit (:meth:`~clusterpolicy.estimate.api.BoundEstimate.refitter`).
    unit, cohort
        Unit column and the unit-level cohort column (constant within unit).
    time, treatment
        If both are given, the column ``treatment`` is recomputed after each permutation as
        ``1[cohort > 0 and time >= cohort]`` so estimators that read a precomputed indicator stay consistent.
    strata
        Unit-level column (e.g. a macro-area): adoption dates are permuted only among units of the same stratum.
    statistic
        ``"estimate"`` or ``"t"`` (studentised, more robust when treated units differ in variance; MacKinnon and
        Webb, 2020).
    alternative
        Two-sided compares absolute values.
    n_permutations
        Random permutations when not enumerating.
    exact
        ``None`` (auto): enumerate every distinct assignment when there are at most ``n_permutations`` of them.
    seed
        Seed of :func:`numpy.random.default_rng`.
    interval, level, outcome
        With ``interval=True``, also the ``level`` randomisation confidence set for a constant additive effect (see
        Notes); ``outcome`` is the outcome column (read from a ``BoundEstimate`` when not given) and ``time`` is
        needed. Only for ``statistic="estimate"``, ``alternative="two-sided"`` and estimators linear in the outcome.

    Returns
    -------
    RandomizationResult

    Notes
    -----
    With few treated units the number of distinct assignments is small and the attainable p-values are coarse
    (e.g. 3 treated of 10 with distinct years: 720 assignments). The test is exact under the sharp null; it is a
    test of no effect at all, not of a zero average effect with heterogeneous effects.

    **Confidence set by test inversion** (Fisher, 1935; Rosenbaum, 2002, ch. 2; MacKinnon and Webb, 2020).
    Estimand: a constant additive effect ``tau``, the same for every treated unit-period. Under the sharp null
    ``Y(0) = Y - tau * D`` (``D = 1[cohort > 0 and time >= cohort]`` at the actual assignment), and the test of
    ``tau`` is the test above applied to ``Y - tau * D``. For an estimator linear in the outcome given the design
    (TWFE, its event study, CS, SA, imputation, did2s, also with covariates), the statistic under assignment ``r``
    is ``a_r - tau * b_r`` with ``a_r`` the estimate on ``Y`` and ``b_r`` the estimate on ``D`` (the actual
    indicator used as outcome, fitted under assignment ``r``); at the actual assignment it is
    ``theta_hat - tau * b_obs``. Each comparison ``|a_r - tau b_r| >= |theta_hat - tau b_obs|`` changes only at
    the real roots of a quadratic in ``tau``, so ``p(tau)`` is piecewise constant and the set
    ``{tau : p(tau) > 1 - level}`` is computed exactly (no grid), from the same assignments as the p-value (so
    ``p(0)`` is the p-value). It can be a union of intervals (``ci_set``; its hull is ``[ci_low, ci_high]``) and
    unbounded when permuted assignments move ``D``'s estimate as much as the actual one. Linearity is checked at
    run time (``est(Y + c D) = est(Y) + c est(D)`` to a relative 1e-8); estimators that fail it (Poisson,
    ETWFE, negative binomial, synthetic control and DiD) are refused with an
    :class:`~clusterpolicy.errors.EstimationError` rather than given a wrong interval. Fitting ``D`` doubles the
    cost of the test.
    """
    _require_columns(df, [unit, cohort] + [c for c in (time, treatment, strata) if c], "randomization_inference")
    check_literal(statistic, RIStatistic, "randomization_inference: statistic")
    check_literal(alternative, RIAlternative, "randomization_inference: alternative")
    if interval:
        outcome = _interval_checks(fit, statistic, alternative, level, time, outcome)
    if not isinstance(n_permutations, int) or n_permutations < 1:
        raise UserInputError(f"randomization_inference: n_permutations={n_permutations!r} must be a positive integer.")
    checked = [cohort] + ([strata] if strata else [])
    for col in checked:
        per_unit = df.groupby(unit, sort=True)[col].nunique(dropna=False)
        if (per_unit > 1).any():
            bad = list(per_unit.index[per_unit > 1][:5])
            raise UserInputError(
                f"randomization_inference: column '{col}' varies within unit(s) {bad}; it must be constant within "
                "unit (the unit's adoption year, or its stratum)."
            )
    first = df.groupby(unit, sort=True)[checked].first()
    units = np.array(first.index)
    labels = first[cohort].to_numpy()
    if strata:
        codes = pd.factorize(first[strata], sort=True)[0]
        groups = [np.flatnonzero(codes == c) for c in range(int(codes.max()) + 1)]
    else:
        groups = [np.arange(labels.size)]
    n_assign = 1
    for idx in groups:
        n_assign *= _multinomial(list(np.unique(labels[idx], return_counts=True)[1]))
    if n_assign < 2:
        raise EstimationError("randomization_inference: every unit shares its stratum's cohort; nothing to permute.")
    do_exact = n_assign <= n_permutations if exact is None else exact
    if do_exact and n_assign > 1_000_000:
        raise UserInputError(f"randomization_inference: {n_assign} assignments are too many to enumerate; "
                             "set exact=False.")

    unit_pos = pd.Index(units).get_indexer(df[unit])
    # The statistic of an assignment depends only on that assignment (``fit`` is a deterministic function of the
    # panel), and assignments repeat: the actual one is among the enumerated ones, and random permutations within
    # strata draw the same assignment again (about one draw in nine for the Italian designs). Refitting is the whole
    # cost of the test, so each distinct assignment is fitted once; the distribution keeps every draw.
    memo: dict[object, tuple[float, float]] = {}

    def stat_for(assignment: np.ndarray) -> tuple[float, float]:
        # Object arrays (labels of mixed types) are keyed by value: their bytes are pointers.
        key = tuple(assignment.tolist()) if assignment.dtype == object else assignment.tobytes()
        if key not in memo:
            value = fit_assignment(assignment, df, refitter)
            slope = fit_assignment(assignment, d_frame, d_refitter) if d_frame is not None else float("nan")
            memo[key] = (value, slope)
        return memo[key]

    # A bound estimator (:class:`~clusterpolicy.estimate.api.BoundEstimate`) may prepare ``df`` once and refit
    # only what a new assignment changes; it returns what ``fit`` returns on the permuted frame.
    refitter = fit.refitter(df) if hasattr(fit, "refitter") else None
    # For the confidence set: the same estimator with the actual treatment indicator as outcome (see Notes).
    d_frame = _indicator_frame(df, cohort=cohort, time=str(time), outcome=str(outcome)) if interval else None
    d_refitter = fit.refitter(d_frame) if d_frame is not None and hasattr(fit, "refitter") else None

    def fit_assignment(assignment: np.ndarray, frame: pd.DataFrame, prepared: Any) -> float:
        if prepared is not None:
            try:
                return _statistic(prepared.with_cohorts(assignment[unit_pos], estimate_only=statistic == "estimate"),
                                  statistic)
            except EstimationError:
                return float("nan")
        new = frame.copy()
        new[cohort] = assignment[unit_pos]
        if time is not None and treatment is not None:
            g = pd.to_numeric(new[cohort], errors="coerce").fillna(0).to_numpy(dtype=float)
            t = pd.to_numeric(new[time], errors="coerce").to_numpy(dtype=float)
            new[treatment] = ((g > 0) & (t >= g)).astype(int)
        try:
            return _statistic(fit(new), statistic)
        except EstimationError:
            return float("nan")

    observed, d_observed = stat_for(labels)
    if not np.isfinite(observed):
        raise EstimationError("randomization_inference: the estimator fails at the actual assignment.")
    if interval:
        assert d_frame is not None
        _check_linear(fit, df, d_frame, str(outcome), observed, d_observed)
    if do_exact:
        draws = _enumerate_within(labels, groups)
    else:
        rng = np.random.default_rng(seed)

        def permuted() -> np.ndarray:
            out = labels.copy()
            for idx in groups:
                out[idx] = labels[idx][rng.permutation(idx.size)]
            return out

        draws = (permuted() for _ in range(n_permutations))
    pairs = np.array([stat_for(a) for a in draws], dtype=float).reshape(-1, 2)
    values, slopes = pairs[:, 0], pairs[:, 1]
    failed = ~np.isfinite(values) | (~np.isfinite(slopes) if interval else False)
    dist = values[~failed]
    tol = 1e-12 * max(1.0, abs(observed))
    if alternative == "two-sided":
        hits = np.abs(dist) >= abs(observed) - tol
    elif alternative == "greater":
        hits = dist >= observed - tol
    else:
        hits = dist <= observed + tol
    p = float(hits.mean()) if do_exact else float((1 + hits.sum()) / (dist.size + 1))
    ci: dict[str, Any] = {}
    if interval:
        d_dist = slopes[~failed]
        pieces = randomization_confidence_set(observed, d_observed, dist, d_dist, level=level, exact=bool(do_exact))
        ci = {"ci_level": float(level), "ci_set": pieces, "d_distribution": d_dist, "d_observed": d_observed,
              "ci_low": pieces[0][0] if pieces else float("nan"), "ci_high": pieces[-1][1] if pieces else float("nan")}
    return RandomizationResult(
        statistic=statistic, observed=observed, p_value=p, exact=bool(do_exact),
        n_permutations=int(dist.size), n_assignments=int(n_assign), alternative=alternative,
        seed=None if do_exact else seed, distribution=dist, n_failed=int(failed.sum()), strata=strata, **ci,
    )


#: Estimators of :func:`clusterpolicy.estimate.api.estimate` that are not linear in the outcome (count models
#: and data-driven weights): no randomisation confidence set by the linear inversion.
NONLINEAR_ESTIMATORS = ("poisson", "etwfe", "negbin", "sc", "sdid")
# Relative tolerance of the run-time linearity check: linear estimators agree to rounding (about 1e-13 on the
# test panels; the iterative demeaning of unbalanced TWFE converges to 1e-10), non-linear ones miss by far more.
_LINEAR_RTOL = 1e-8


def _interval_checks(fit: Any, statistic: str, alternative: str, level: float, time: str | None,
                     outcome: str | None) -> str:
    """Validate a request for the confidence set; return the outcome column."""
    kwargs = getattr(fit, "kwargs", {})
    name = kwargs.get("estimator")
    if name in NONLINEAR_ESTIMATORS:
        raise EstimationError(f"randomization_inference: no confidence set for estimator {name!r}, which is not "
                              "linear in the outcome; use a linear estimator (twfe, cs, sa, imputation, did2s).")
    if statistic != "estimate" or alternative != "two-sided":
        raise UserInputError("randomization_inference: interval=True needs statistic='estimate' and "
                             "alternative='two-sided' (the inversion relies on the estimate being linear in tau).")
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise UserInputError(f"randomization_inference: level={level!r} must be between 0 and 1 (e.g. 0.95).")
    outcome = outcome or kwargs.get("outcome")
    if time is None or outcome is None:
        raise UserInputError("randomization_inference: interval=True needs time= and outcome= (the column names) "
                             "to build the treatment indicator D and refit with it as outcome.")
    return str(outcome)


def _indicator_frame(df: pd.DataFrame, *, cohort: str, time: str, outcome: str) -> pd.DataFrame:
    """``df`` with the outcome replaced by the actual treatment indicator ``D = 1[cohort > 0 and time >= cohort]``
    (missing where the outcome is missing, so the estimator keeps the same rows)."""
    g = pd.to_numeric(df[cohort], errors="coerce").fillna(0).to_numpy(dtype=float)
    t = pd.to_numeric(df[time], errors="coerce").to_numpy(dtype=float)
    d = ((g > 0) & (t >= g)).astype(float)
    d[pd.isna(df[outcome]).to_numpy()] = np.nan
    return df.assign(**{outcome: d})


def _check_linear(fit: Any, df: pd.DataFrame, d_frame: pd.DataFrame, outcome: str, theta: float,
                  b_obs: float) -> None:
    """Refuse estimators that are not linear in the outcome: ``est(Y + c D)`` must equal ``est(Y) + c est(D)``."""
    if not np.isfinite(b_obs):
        raise EstimationError("randomization_inference: the estimator fails with the treatment indicator as "
                              "outcome, so no confidence set can be inverted.")
    y = pd.to_numeric(df[outcome], errors="coerce").to_numpy(dtype=float)
    spread = float(np.nanstd(y)) if np.isfinite(y).any() else 1.0
    c = 0.731 * max(spread, 1.0)  # an arbitrary, non-round multiple so that no cancellation hides a non-linearity
    shifted = df.assign(**{outcome: y + c * d_frame[outcome].to_numpy(dtype=float)})
    try:
        combined = _statistic(fit(shifted), "estimate")
    except EstimationError as err:
        raise EstimationError(f"randomization_inference: linearity check failed to fit ({err}).") from err
    expected = theta + c * b_obs
    if not abs(combined - expected) <= _LINEAR_RTOL * (abs(theta) + abs(c * b_obs) + 1e-300):
        raise EstimationError(
            f"randomization_inference: the estimator is not linear in the outcome (est(Y + cD) = {combined:.10g}, "
            f"est(Y) + c est(D) = {expected:.10g}); no confidence set. Use a linear estimator (twfe, cs, sa, "
            "imputation, did2s).")


def randomization_confidence_set(observed: float, d_observed: float, values: np.ndarray, slopes: np.ndarray, *,
                                 level: float = 0.95, exact: bool = False) -> tuple[tuple[float, float], ...]:
    """The exact set ``{tau : p(tau) > 1 - level}`` of the randomisation test of a constant effect ``tau``.

    ``p(tau)`` compares ``|values - tau * slopes|`` with ``|observed - tau * d_observed|`` (ties count as
    exceedances): ``#hits / n`` when ``exact`` (``values`` enumerate every assignment, the actual one included),
    else ``(1 + #hits) / (n + 1)``. Each comparison is ``q_r(tau) >= 0`` for the quadratic
    ``q_r = (a_r - tau b_r)^2 - (theta - tau b_0)^2``, so the hit count is constant between the sorted real roots
    of all ``q_r``; it is counted on every open cell between roots and at every root (the sets ``q_r >= 0`` are
    closed), by a sweep in ``O(n log n)``. Returns the disjoint closed intervals, in order (ends may be
    ``-inf``/``inf``; empty only if ``p`` never exceeds ``1 - level``).
    """
    a, b = np.asarray(values, dtype=float), np.asarray(slopes, dtype=float)
    theta, b0 = float(observed), float(d_observed)
    n = a.size
    alpha = 1.0 - level
    # Coefficients of q_r(tau) = A tau^2 + B tau + C, with a relative tolerance so that an assignment equal to the
    # actual one (q_r identically 0) counts as a hit everywhere, as in the p-value.
    A = b**2 - b0**2
    B = -2.0 * (a * b - theta * b0)
    C = a**2 - theta**2
    tol_a = 1e-12 * np.maximum(b**2 + b0**2, 1e-300)
    tol_c = 1e-12 * np.maximum(a**2 + theta**2, 1e-300)
    tol_b = 1e-12 * np.maximum(np.abs(a * b) + abs(theta * b0), 1e-300)
    A = np.where(np.abs(A) <= tol_a, 0.0, A)
    B = np.where(np.abs(B) <= tol_b, 0.0, B)
    C = np.where(np.abs(C) <= tol_c, 0.0, C)
    # Each hit set as closed intervals [lo, hi] (one or two per assignment).
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    inf = np.inf
    quad = A != 0
    disc = B**2 - 4 * A * C
    with np.errstate(divide="ignore", invalid="ignore"):
        sq = np.sqrt(np.where(disc > 0, disc, 0.0))
        q = -0.5 * (B + np.where(B >= 0, 1.0, -1.0) * sq)  # numerically stable roots q/A and C/q
        r1 = np.where(q != 0, q / np.where(quad, A, 1.0), 0.0)
        r2 = np.where(q != 0, C / q, 0.0)
    small, large = np.minimum(r1, r2), np.maximum(r1, r2)
    # A > 0: hits outside the roots (everywhere when the discriminant is not positive).
    up = quad & (A > 0)
    every = up & (disc <= 0)
    lo += [np.full(int(every.sum()), -inf)]
    hi += [np.full(int(every.sum()), inf)]
    two = up & (disc > 0)
    lo += [np.full(int(two.sum()), -inf), large[two]]
    hi += [small[two], np.full(int(two.sum()), inf)]
    # A < 0: hits between the roots (only the double root when the discriminant is 0).
    down = quad & (A < 0) & (disc >= 0)
    lo += [small[down]]
    hi += [large[down]]
    # A = 0: B tau + C >= 0, a half-line, everything or nothing.
    lin = ~quad
    pos, neg, const = lin & (B > 0), lin & (B < 0), lin & (B == 0) & (C >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(B != 0, -C / np.where(B != 0, B, 1.0), 0.0)
    lo += [root[pos], np.full(int(neg.sum()), -inf), np.full(int(const.sum()), -inf)]
    hi += [np.full(int(pos.sum()), inf), root[neg], np.full(int(const.sum()), inf)]
    los, his = np.concatenate(lo), np.concatenate(hi)
    points = np.unique(np.concatenate([los[np.isfinite(los)], his[np.isfinite(his)]]))
    k = points.size
    # Cells: 0 = (-inf, P0), i = (P[i-1], P[i]), k = (P[k-1], inf); point j = P[j]. An interval [s, e] covers the
    # cells strictly inside it and the points from s to e inclusive.
    s_pt = np.where(np.isfinite(los), np.searchsorted(points, los), 0)
    e_pt = np.where(np.isfinite(his), np.searchsorted(points, his), k - 1)
    s_cell = np.where(np.isfinite(los), s_pt + 1, 0)
    e_cell = np.where(np.isfinite(his), e_pt, k)
    cells = np.zeros(k + 2)
    np.add.at(cells, s_cell, 1)
    np.add.at(cells, e_cell + 1, -1)
    cell_hits = np.cumsum(cells)[: k + 1]
    pts = np.zeros(k + 1)
    ok = s_pt <= e_pt
    np.add.at(pts, s_pt[ok], 1)
    np.add.at(pts, e_pt[ok] + 1, -1)
    point_hits = np.cumsum(pts)[:k]

    def keep(hits: np.ndarray) -> np.ndarray:
        p = hits / n if exact else (1 + hits) / (n + 1)
        return p > alpha + 1e-12

    cell_in, point_in = keep(cell_hits), keep(point_hits)
    # Walk left to right through cell 0, point 0, cell 1, ..., point k-1, cell k, merging runs that are in.
    pieces: list[tuple[float, float]] = []
    start: float | None = None
    for i in range(k + 1):
        left = -inf if i == 0 else float(points[i - 1])
        if cell_in[i] and start is None:
            start = left
        if i == k:
            break
        here = float(points[i])
        if point_in[i]:
            if start is None:
                start = here
            if not (i + 1 <= k and cell_in[i + 1]):
                pieces.append((start, here))
                start = None
        elif start is not None:
            pieces.append((start, left if not cell_in[i] else here))
            start = None
    if start is not None:
        pieces.append((start, inf))
    return tuple(pieces)


def with_randomization(
    result: EstimationResult, df: pd.DataFrame, *, unit: str, time: str, cohort: str, n_permutations: int,
    seed: int | None, strata: str | None = None, interval: bool = False, **estimate_kwargs: object,
) -> EstimationResult:
    """``result`` with randomisation inference attached: the same estimator (``estimate_kwargs``, as passed to
    :func:`clusterpolicy.estimate.api.estimate`) re-run under permuted adoption dates; ``result.randomization``
    holds the p-value and the permutation distribution's quantiles (``overall.ri_p_value`` in JSON).

    With ``interval=True`` it also holds the randomisation confidence set for a constant additive effect at the
    result's level (``overall.ri_ci_low`` / ``ri_ci_high`` in JSON; see :func:`randomization_inference`), from the
    same permutations; estimators not linear in the outcome raise :class:`~clusterpolicy.errors.EstimationError`.
    """
    from dataclasses import replace

    from clusterpolicy.estimate.api import BoundEstimate

    kwargs: dict[str, Any] = {k: v for k, v in estimate_kwargs.items() if k != "bootstrap"}  # the statistic needs no bootstrap
    # Nor placebos in space: a permuted assignment with one treated region would refit the estimator once per
    # control region to replace the interval, which leaves the estimate (the statistic) unchanged.
    kwargs["single_treated_rule"] = False
    refit = BoundEstimate(unit=unit, time=time, cohort=cohort, quiet=True, **kwargs)

    ri = randomization_inference(df, refit, unit=unit, cohort=cohort, time=time, strata=strata,
                                 n_permutations=n_permutations, seed=seed, interval=interval,
                                 level=result.inference.level)
    return replace(result, randomization=ri.to_dict())


def _statistic(result: EstimationResult | float, statistic: str) -> float:
    if isinstance(result, EstimationResult):
        if statistic == "t":
            if not (result.se and np.isfinite(result.se) and result.se > 0):
                raise EstimationError("randomization_inference: statistic='t' needs a positive, finite SE.")
            return float(result.estimate / result.se)
        return float(result.estimate)
    if statistic == "t":
        raise UserInputError("randomization_inference: statistic='t' needs fit() to return an EstimationResult.")
    return float(result)
