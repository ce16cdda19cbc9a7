"""Clustered multiplier bootstrap on influence functions, with uniform (sup-t) bands.

An asymptotically linear estimator satisfies ``theta_hat - theta ~ sum_c psi_c`` with one contribution ``psi_c``
per cluster (the cluster sum of the influence function, scaled so that the analytic standard error is
``sqrt(sum_c psi_c^2)``). The multiplier bootstrap redraws ``sum_c v_c psi_c`` with i.i.d. weights ``v_c`` of mean
0 and variance 1, keeping the estimates fixed (nothing is re-fitted), so 999 draws cost one matrix product.
This is R ``did``'s ``mboot`` (Callaway and Sant'Anna 2021, section 4): the standard error is the bootstrap
interquartile range divided by that of the normal, and the uniform band's critical value is the ``1 - alpha``
quantile of ``max_k |draw_k| / se_k`` over the event-study coefficients (type-1 quantiles, as R).

For regression estimators the contributions are the cluster scores ``sqrt(ssc) * (X'X)^-1 X_c' e_c`` (the
score or "wild" multiplier bootstrap of Kline and Santos 2012), mapped through the aggregation weights.

References
----------
Callaway, B. and Sant'Anna, P. H. C. (2021). *Journal of Econometrics* 225(2), 200-230.
Kline, P. and Santos, A. (2012). A score based approach to wild bootstrap inference. *Journal of Econometric
Methods* 1(1), 23-41.
Mammen, E. (1993). Bootstrap and wild bootstrap for high dimensional linear models. *Annals of Statistics* 21(1).
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. *Canadian Journal of
Economics* 56(3), 839-858.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import special

from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.literals import BootWeights, check_literal

#: Draws are generated in blocks of this many columns so memory stays ``G x _BLOCK`` whatever ``n_boot``.
_BLOCK = 128
_IQR_NORMAL = float(special.ndtri(0.75) - special.ndtri(0.25))


def draw_weights(kind: BootWeights, n_clusters: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """A ``n_clusters x n_draws`` matrix of i.i.d. weights with mean 0 and variance 1.

    ``rademacher``: +-1 with probability 1/2. ``mammen``: the two-point distribution with third moment 1.
    ``webb``: Webb's six-point distribution (better with very few clusters).
    """
    check_literal(kind, BootWeights, "weights")
    if kind == "rademacher":
        # one random bit per weight: 8x less randomness to generate than a float draw
        n_bytes = math.ceil(n_clusters * n_draws / 8)
        bits = np.unpackbits(rng.integers(0, 256, size=n_bytes, dtype=np.uint8))[: n_clusters * n_draws]
        return (2.0 * bits.astype(np.float64) - 1.0).reshape(n_clusters, n_draws)
    if kind == "webb":
        s = math.sqrt(0.5)
        values = np.array([-math.sqrt(1.5), -1.0, -s, s, 1.0, math.sqrt(1.5)])
        return values[rng.integers(0, 6, size=(n_clusters, n_draws))]
    r5 = math.sqrt(5.0)
    lo, hi = -(r5 - 1) / 2, (r5 + 1) / 2
    p_lo = (r5 + 1) / (2 * r5)
    return np.where(rng.random((n_clusters, n_draws)) < p_lo, lo, hi)


@dataclass(frozen=True)
class MultiplierBootstrap:
    """Draws of a clustered multiplier bootstrap.

    Attributes
    ----------
    se
        Bootstrap standard error of each column (IQR of the draws / IQR of the standard normal, as R ``did``).
    uniform_critical_value
        Sup-t critical value over the columns in ``band`` (``None`` when no band was requested).
    n_boot, weights, seed
        The design of the bootstrap.
    """

    se: np.ndarray
    uniform_critical_value: float | None
    n_boot: int
    weights: str
    seed: int | None


def multiplier_bootstrap(
    contributions: np.ndarray,
    *,
    n_boot: int,
    weights: BootWeights = "rademacher",
    seed: int | None = None,
    band: np.ndarray | None = None,
    level: float = 0.95,
) -> MultiplierBootstrap:
    """Clustered multiplier bootstrap of ``k`` asymptotically linear estimates.

    Parameters
    ----------
    contributions
        ``G x k`` matrix: per cluster, its contribution to each estimate (so the analytic SE of column ``j`` is
        ``sqrt(sum_c contributions[c, j]^2)``).
    n_boot
        Number of draws (at least 99; 999 is typical).
    weights
        ``"rademacher"`` (default), ``"mammen"`` or ``"webb"``.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical draws.
    band
        Boolean mask (length ``k``) of the columns that form the uniform band (the event-study coefficients);
        ``None`` skips the band.
    level
        Confidence level of the band.

    Returns
    -------
    MultiplierBootstrap
    """
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 99:
        raise UserInputError(f"bootstrap draws n_boot={n_boot!r} are too few; use at least 99 (999 is typical).")
    check_literal(weights, BootWeights, "weights")
    contrib = np.asarray(contributions, dtype=float)
    if contrib.ndim == 1:
        contrib = contrib[:, None]
    n_clusters, k = contrib.shape
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, k))
    if weights == "rademacher":
        # v = 2b - 1 with b one random bit per cluster and draw, so V'C = 2 B'C - 1'C: the draws need one bit each
        # and a single-precision product (the bootstrap's own noise, ~1/sqrt(B), dwarfs float32 rounding)
        c32 = contrib.astype(np.float32)
        total = c32.sum(axis=0)
        for start in range(0, n_boot, _BLOCK):
            n = min(_BLOCK, n_boot - start)
            packed = rng.integers(0, 256, size=(n_clusters * n + 7) // 8, dtype=np.uint8)
            bits = np.unpackbits(packed, count=n_clusters * n).reshape(n, n_clusters)
            draws[start:start + n] = 2.0 * (bits.astype(np.float32) @ c32) - total
    else:
        for start in range(0, n_boot, _BLOCK):
            stop = min(start + _BLOCK, n_boot)
            v = draw_weights(weights, n_clusters, stop - start, rng)
            draws[start:stop] = v.T @ contrib
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / _IQR_NORMAL
    # R did leaves out degenerate columns (numerically zero variance) from the band and reports NA for them
    degenerate = ~np.isfinite(se) | (se <= np.sqrt(np.finfo(float).eps) * 10 * max(1.0, float(np.abs(contrib).max())))
    se = np.where(degenerate, np.nan, se)
    crit = None
    if band is not None:
        cols = np.asarray(band, dtype=bool) & ~degenerate
        if cols.any():
            t_max = np.max(np.abs(draws[:, cols]) / se[cols], axis=1)
            crit = float(np.quantile(t_max, level, method="inverted_cdf"))
    return MultiplierBootstrap(se=se, uniform_critical_value=crit, n_boot=n_boot, weights=weights, seed=seed)


@dataclass(frozen=True)
class BootstrapSpec:
    """A request for the multiplier bootstrap: draws, weights and seed (see :func:`multiplier_bootstrap`)."""

    n_boot: int
    weights: BootWeights = "rademacher"
    seed: int | None = None

    def __post_init__(self) -> None:
        check_literal(self.weights, BootWeights, "weights")
        if not isinstance(self.n_boot, int) or isinstance(self.n_boot, bool) or self.n_boot < 99:
            raise UserInputError(f"bootstrap draws {self.n_boot!r} are too few; use at least 99 (999 is typical).")


def cluster_sum(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` (n x k) within clusters (codes 0..G-1): a ``G x k`` matrix."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    codes = np.asarray(clusters, dtype=np.int64)
    n = codes.size
    summer = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(int(codes.max()) + 1, n))
    return np.asarray(summer @ values)
