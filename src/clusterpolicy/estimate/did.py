"""Callaway & Sant'Anna (2021) group-time average treatment effects and their aggregations.

A vectorised re-implementation of R ``did`` 2.3.0 (``att_gt`` with ``base_period = "varying"``, panel data, and
``aggte`` with analytic standard errors, ``bstrap = FALSE``) and of the 2x2 panel estimators of R ``DRDID``
(``reg_did_panel``, ``std_ipw_did_panel``, ``drdid_panel``). It reproduces every ATT(g,t) and aggregation of the R
reference on ``mpdta`` to better than 1e-8 (``tests/estimate/test_vs_r.py``).

References
----------
Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
*Journal of Econometrics* 225(2), 200-230.
Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences estimators.
*Journal of Econometrics* 219(1), 101-122.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import EstimationError
from clusterpolicy.estimate._panel import Panel, Request, check_treatment_variation, warn
from clusterpolicy.estimate.bootstrap import cluster_sum
from clusterpolicy.estimate.literals import ControlGroup, CSAggregation, CSMethod, check_literal
from clusterpolicy.estimate.result import EstimationResult, Inference, build_result

logger = logging.getLogger(__name__)

#: R did sets standard errors at or below this to NA (they are numerically zero).
_SE_ZERO = np.sqrt(np.finfo(float).eps) * 10
#: DRDID caps propensity scores at 1 - 1e-6 (to avoid dividing by zero) and drops controls with scores >= 0.995.
_PS_CAP = 1 - 1e-6
_PS_TRIM = 0.995


# --------------------------------------------------------------------------------------------- 2x2 estimators
def _logit(x: np.ndarray, d: np.ndarray, *, tol: float = 1e-13, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression by Newton-Raphson; returns fitted probabilities and ``(X' W X)^{-1}`` (= R's
    ``vcov(glm(..., family = binomial))``)."""
    p0 = float(np.clip(d.mean(), 1e-10, 1 - 1e-10))
    if x.shape[1] == 1 and np.all(x == 1.0):  # intercept only: the MLE is the sample share (closed form)
        return np.full(d.size, p0), np.array([[1.0 / (d.size * p0 * (1 - p0))]])
    beta = np.linalg.lstsq(x, np.full(d.size, np.log(p0 / (1 - p0))), rcond=None)[0]
    for _ in range(max_iter):
        eta = x @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        hess = x.T @ (x * w[:, None])
        step = np.linalg.solve(hess, x.T @ (d - p))
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
    else:
        logger.warning("propensity-score logit did not converge in %d iterations", max_iter)
    p = 1.0 / (1.0 + np.exp(-(x @ beta)))
    w = p * (1 - p)
    return p, np.linalg.inv(x.T @ (x * w[:, None]))


def _ols_on_controls(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outcome regression of the change on covariates among controls; returns fitted change and the OLS
    asymptotic linear representation (n x k)."""
    n = dy.size
    ctrl = d == 0
    if x.shape[1] == 1 and np.all(x == 1.0):  # intercept only: closed form, same numbers as the general path
        share = ctrl.mean()
        out = np.full(n, dy[ctrl].mean())
        return out, (((1 - d) * (dy - out)) / share)[:, None]
    beta = np.linalg.lstsq(x[ctrl], dy[ctrl], rcond=None)[0]
    out = x @ beta
    wx = x * (1 - d)[:, None]
    xpx_inv = np.linalg.inv(wx.T @ x / n)
    alr = (wx * (dy - out)[:, None]) @ xpx_inv
    return out, alr


def reg_did_panel(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD (Heckman, Ichimura and Todd 1997), R ``DRDID::reg_did_panel``.

    Returns the ATT and its influence function (one value per unit of the 2x2 sample).
    """
    out, alr = _ols_on_controls(dy, d, x)
    w_t = d
    att_t, att_c = w_t * dy, w_t * out
    eta_t, eta_c = att_t.mean() / w_t.mean(), att_c.mean() / w_t.mean()
    inf_t = (att_t - w_t * eta_t) / w_t.mean()
    inf_c = (att_c - w_t * eta_c + alr @ (x * w_t[:, None]).mean(axis=0)) / w_t.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def _ps_weights(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Propensity scores, their asymptotic linear representation, and trimmed treated/control weights."""
    n = d.size
    p, vcov = _logit(x, d)
    p = np.minimum(p, _PS_CAP)
    keep = np.where(d == 1, p < 1.01, p < _PS_TRIM)
    w_t = keep * d
    w_c = keep * p * (1 - d) / (1 - p)
    alr_ps = ((d - p)[:, None] * x) @ (vcov * n)
    return p, alr_ps, w_t, w_c


def std_ipw_did_panel(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Normalised (Hajek) inverse-probability-weighted DiD (Abadie 2005), R ``DRDID::std_ipw_did_panel``."""
    _, alr_ps, w_t, w_c = _ps_weights(x, d)
    att_t, att_c = w_t * dy, w_c * dy
    eta_t, eta_c = att_t.mean() / w_t.mean(), att_c.mean() / w_c.mean()
    inf_t = (att_t - w_t * eta_t) / w_t.mean()
    m2 = (x * (w_c * (dy - eta_c))[:, None]).mean(axis=0)
    inf_c = (att_c - w_c * eta_c + alr_ps @ m2) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def drdid_panel(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Locally efficient doubly-robust DiD (Sant'Anna and Zhao 2020), R ``DRDID::drdid_panel``."""
    _, alr_ps, w_t, w_c = _ps_weights(x, d)
    out, alr_ols = _ols_on_controls(dy, d, x)
    resid = dy - out
    att_t, att_c = w_t * resid, w_c * resid
    eta_t, eta_c = att_t.mean() / w_t.mean(), att_c.mean() / w_c.mean()
    inf_t = (att_t - w_t * eta_t - alr_ols @ (x * w_t[:, None]).mean(axis=0)) / w_t.mean()
    m2 = (x * (w_c * (resid - eta_c))[:, None]).mean(axis=0)
    m3 = (x * w_c[:, None]).mean(axis=0)
    inf_c = (att_c - w_c * eta_c + alr_ps @ m2 - alr_ols @ m3) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


_TWO_BY_TWO = {"reg": reg_did_panel, "ipw": std_ipw_did_panel, "dr": drdid_panel}


# ---------------------------------------------------------------------------------------------- ATT(g,t)
@dataclass(frozen=True)
class GroupTimeFit:
    """ATT(g,t) estimates with their influence functions.

    Attributes
    ----------
    group, time
        Cohort and period of each ATT(g,t) (arrays of equal length).
    att, se
        Estimates and analytic standard errors (``se`` is NaN where R ``did`` reports NA).
    influence
        ``n_units x n_cells`` influence-function matrix (already scaled by ``n / n_cell`` as in R ``did``).
    unit_cohort
        Cohort of every unit (0 = never treated), aligned with the influence rows.
    clusters
        Cluster code of every unit, or ``None`` when every unit is its own cluster.
    times
        All periods used.
    control, method
        Options used.
    warnings
        Messages gathered while estimating.
    """

    group: np.ndarray
    time: np.ndarray
    att: np.ndarray
    se: np.ndarray
    influence: np.ndarray
    unit_cohort: np.ndarray
    clusters: np.ndarray | None
    times: np.ndarray
    control: str
    method: str
    n_obs: int
    warnings: tuple[str, ...] = ()

    @property
    def n_units(self) -> int:
        return int(self.unit_cohort.size)

    def table(self) -> pd.DataFrame:
        """ATT(g,t) as a frame with columns ``group, time, event_time, estimate, se``."""
        return pd.DataFrame({
            "group": self.group.astype(int), "time": self.time.astype(int),
            "event_time": (self.time - self.group).astype(int), "estimate": self.att, "se": self.se,
        })


def influence_se(inf: np.ndarray, clusters: np.ndarray | None = None) -> np.ndarray:
    """Analytic standard error(s) from influence functions: ``sqrt(sum_c (sum_{i in c} psi_i)^2) / n``.

    With one unit per cluster this is R ``did``'s ``sqrt(mean(psi^2) / n)``.
    """
    inf = np.asarray(inf, dtype=float)
    one = inf.ndim == 1
    if one:
        inf = inf[:, None]
    n = inf.shape[0]
    if clusters is not None:
        summed = np.zeros((int(clusters.max()) + 1, inf.shape[1]))
        np.add.at(summed, clusters, inf)
        inf = summed
    se = np.sqrt(np.einsum("ij,ij->j", inf, inf)) / n  # column sums of squares without an n x k temporary
    se = np.where(se <= _SE_ZERO, np.nan, se)
    return se[0] if one else se


def _wide(panel: Panel, covariates: Sequence[str], msgs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Balanced wide arrays: outcome ``Y`` (n x T), covariates (n x T x p), cohort and cluster per unit, times.

    Works on the integer unit codes of :func:`prepare_panel` (``_u``) with ``bincount``/scatter, no pandas groupby.
    """
    data = panel.data
    u = data["_u"].to_numpy()
    tcol = data["_t"].to_numpy()
    counts = np.bincount(u)
    # Fast path: rows sorted by unit then period (as prepare_panel leaves them) and every unit observed in the same
    # periods as the first one; then the first unit's periods are all periods and Y is a reshape.
    first_len = int(counts[u[0]]) if u.size else 0
    times = tcol[:first_len]
    tiled = (first_len > 0 and u.size % first_len == 0 and bool(np.all(np.diff(times) > 0))
             and bool(np.all(counts[counts > 0] == first_len)))
    if tiled:
        n_blocks = u.size // first_len
        blocks_u = u.reshape(n_blocks, first_len)
        tiled = (bool(np.all(tcol.reshape(n_blocks, first_len) == times[None, :]))
                 and bool(np.all(blocks_u == blocks_u[:, :1])) and bool(np.all(np.diff(blocks_u[:, 0]) > 0)))
    times = times.copy() if tiled else np.sort(pd.unique(tcol))
    full = counts == times.size
    n_present, n = int((counts > 0).sum()), int(full.sum())
    rows = None
    if n < n_present:
        warn(f"dropped {n_present - n} units not observed in every period (R did balances the panel)", msgs)
        rows = full[u]
        u, tcol = u[rows], tcol[rows]

    def col(name: str) -> np.ndarray:
        v = data[name].to_numpy()
        return v if rows is None else v[rows]

    # y is column-major: the 2x2 comparisons read whole periods
    y = np.empty((n, times.size), order="F")
    xs = np.empty((n, times.size, len(covariates)))
    if tiled:  # rows sorted by unit then period (as prepare_panel leaves them): a reshape, no scatter
        y[:] = col("_y").reshape(n, times.size)
        for j, c in enumerate(covariates):
            xs[:, :, j] = col(c).reshape(n, times.size)
        g = col("_g")[:: times.size].copy()
        cl_raw = col("_cl")[:: times.size].astype(np.int64)
    else:
        codes = (np.cumsum(full) - 1)[u]  # compact 0..n-1, in unit order
        t_idx = np.searchsorted(times, tcol)
        y[codes, t_idx] = col("_y")
        for j, c in enumerate(covariates):
            xs[codes, t_idx, j] = col(c)
        g = np.empty(n)
        g[codes] = col("_g")
        cl_raw = np.empty(n, dtype=np.int64)
        cl_raw[codes] = col("_cl")
    if n:
        present = np.zeros(int(cl_raw.max()) + 1, dtype=bool)
        present[cl_raw] = True
        cl = (np.cumsum(present) - 1)[cl_raw]  # = pd.factorize(cl_raw, sort=True)[0]
    else:
        cl = cl_raw
    return y, xs, g, cl, times


def _cells_closed_form(y: np.ndarray, g_unit: np.ndarray, cells: list[tuple[float, int, int, np.ndarray]],
                       ctrl_sets: list[np.ndarray], levels: np.ndarray,
                       c_unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All no-covariate 2x2 DiDs at once.

    With an intercept only, the three estimators of ``_TWO_BY_TWO`` coincide: the ATT is the difference of the
    mean change ``dy = Y_t - Y_base`` among treated and among controls, and the influence function (scaled by
    ``n / n_cell`` as in R ``did``) is ``n (dy_i - mean_t) / n_t`` for a treated unit, ``-n (dy_i - mean_c) / n_c``
    for a control, 0 otherwise. Returns the ATTs, the n x cells influence matrix, and the treated share of each
    cell (the intercept-only propensity score).
    """
    n = y.shape[0]
    k = len(cells)
    ti = np.fromiter((c[1] for c in cells), dtype=np.intp, count=k)
    base = np.fromiter((c[2] for c in cells), dtype=np.intp, count=k)
    dy = np.empty((n, k), order="F")  # column-major: one column per cell
    for j in range(k):
        np.subtract(y[:, ti[j]], y[:, base[j]], out=dy[:, j])
    n_levels = levels.size
    counts = np.bincount(c_unit, minlength=n_levels).astype(float)
    sums = np.empty((n_levels, k))
    for j in range(k):
        sums[:, j] = np.bincount(c_unit, weights=dy[:, j], minlength=n_levels)
    center = np.zeros((n_levels, k))
    scale = np.zeros((n_levels, k))
    att = np.empty(k)
    share = np.empty(k)
    for j, (_, _, _, treat_level) in enumerate(cells):
        ctrl = ctrl_sets[j]
        n_t, n_c = counts[treat_level], counts[ctrl].sum()
        mean_t = sums[treat_level, j] / n_t
        mean_c = sums[ctrl, j].sum() / n_c
        att[j] = mean_t - mean_c
        share[j] = n_t / (n_t + n_c)
        center[treat_level, j], scale[treat_level, j] = mean_t, n / n_t
        center[ctrl, j], scale[ctrl, j] = mean_c, -n / n_c
    influence = dy  # in place, column by column: (dy - center) * scale of the unit's level
    for j in range(k):
        influence[:, j] -= center[c_unit, j]
        influence[:, j] *= scale[c_unit, j]
    return att, influence, share


def att_gt(panel: Panel, *, control: ControlGroup = "never", method: CSMethod = "dr") -> GroupTimeFit:
    """Group-time average treatment effects ATT(g,t) of Callaway and Sant'Anna (2021).

    Parameters
    ----------
    panel
        The prepared panel (:func:`~clusterpolicy.estimate._panel.prepare_panel`; unbalanced units are dropped, as
        in R ``did``). Its covariates enter conditional parallel trends (their base-period values enter the 2x2
        estimator); its cluster column, when not the unit, sums the influence functions within clusters.
    control
        ``"never"`` (never-treated units) or ``"notyet"`` (never treated plus not yet treated by period t).
    method
        ``"dr"`` doubly robust (Sant'Anna and Zhao 2020), ``"ipw"`` normalised IPW, ``"reg"`` outcome regression.

    Returns
    -------
    GroupTimeFit

    Notes
    -----
    For cohort ``g`` and period ``t`` the estimand is ``ATT(g,t) = E[Y_t(g) - Y_t(0) | G = g]``. With the
    "varying" base period (R's default) the comparison for ``t >= g`` is ``Y_t - Y_{g-1}``, and for ``t < g`` it is
    ``Y_t - Y_{t-1}`` (a placebo). Identification: no anticipation and parallel trends (conditional on the
    covariates) between cohort ``g`` and the control group; overlap for ``ipw``/``dr``.
    Units first treated in the first period have no pre-period and are dropped (as in R ``did``).
    """
    check_literal(control, ControlGroup, "control")
    check_literal(method, CSMethod, "method")
    covariates, cohort = panel.covariates, panel.cohort
    msgs = list(panel.warnings)
    check_treatment_variation(panel)
    data = panel.data
    g_rows = data["_g"].to_numpy()
    tmin = data["_t"].to_numpy().min()
    early = (g_rows > 0) & (g_rows <= tmin)
    if early.any():
        warn(f"dropped {data.loc[early, '_u'].nunique()} units already treated in the first period ({tmin:g}): "
             "they have no pre-treatment period (as R did)", msgs)
        panel = Panel(data=data.loc[~early], unit=panel.unit, time=panel.time, cohort=panel.cohort,
                      outcome=panel.outcome, cluster=panel.cluster, warnings=panel.warnings, covariates=panel.covariates)
    if panel.data.empty or (panel.data["_g"] > 0).sum() == 0:
        raise EstimationError(f"no unit of column {cohort!r} is treated after the first period. Fix: check cohorts.")
    y, xs, g_unit, cl_unit, times = _wide(panel, covariates, msgs)
    n = g_unit.size
    cohorts = np.sort(np.unique(g_unit[g_unit > 0]))
    if not (g_unit == 0).any():
        if control == "never":
            raise EstimationError(
                f"no never-treated units (cohort 0 or empty in column {cohort!r}) for control='never'. "
                "Fix: use control='notyet' (--control notyet)."
            )
        last = cohorts.max()
        keep_t = times < last
        warn(f"no never-treated units: periods from {last:g} on are dropped and cohort {last:g} serves only as a "
             "not-yet-treated control (as R did)", msgs)
        y, xs, times = y[:, keep_t], xs[:, keep_t], times[keep_t]
        cohorts = cohorts[cohorts < last]
    estimator = _TWO_BY_TWO[method]
    levels = np.sort(pd.unique(g_unit))  # 0 (never treated) and every cohort, including controls-only cohorts
    c_unit = np.searchsorted(levels, g_unit)
    counts = np.bincount(c_unit, minlength=levels.size)
    cells: list[tuple[float, int, int, np.ndarray]] = []  # (cohort, period index, base index, treated level)
    ctrl_sets: list[np.ndarray] = []
    for g in cohorts:
        base_candidates = np.flatnonzero(times < g)
        if base_candidates.size == 0:
            continue
        g_level = np.searchsorted(levels, g)
        for ti in range(1, times.size):
            current = times[ti]
            base = base_candidates[-1] if g <= current else ti - 1
            if control == "never":
                ctrl_levels = np.flatnonzero(levels == 0)
            else:
                ctrl_levels = np.flatnonzero((levels == 0) | ((levels > current) & (levels != g)))
            if counts[g_level] == 0 or counts[ctrl_levels].sum() == 0:
                warn(f"ATT({g:g},{current:g}) not identified: no control units; left out", msgs)
                continue
            cells.append((g, ti, int(base), np.array(g_level)))
            ctrl_sets.append(ctrl_levels)
    if not cells:
        raise EstimationError("no ATT(g,t) could be estimated. Fix: check the cohort and time columns.")
    groups = [c[0] for c in cells]
    tts = [times[c[1]] for c in cells]
    general = np.ones(len(cells), dtype=bool)
    if not covariates:
        atts_arr, influence, share = _cells_closed_form(y, g_unit, cells, ctrl_sets, levels, c_unit)
        # the propensity-score estimators trim controls when the treated share reaches _PS_TRIM: leave those
        # (rare) cells to the general estimator
        general = (share >= _PS_TRIM) if method != "reg" else np.zeros(len(cells), dtype=bool)
    else:
        atts_arr, influence = np.empty(len(cells)), np.zeros((n, len(cells)))
    for j in np.flatnonzero(general):
        g, ti, base, g_level = cells[j]
        treat = c_unit == g_level
        sub = treat | np.isin(c_unit, ctrl_sets[j])
        dsub = treat[sub].astype(float)
        dy = y[sub, ti] - y[sub, base]
        x = np.column_stack([np.ones(int(sub.sum())), xs[sub, base, :]])
        try:
            att, inf = estimator(dy, dsub, x)
        except np.linalg.LinAlgError as err:
            raise EstimationError(
                f"ATT({g:g},{times[ti]:g}): the covariates {list(covariates)} do not vary within the treated or "
                "comparison units of this cell (singular design). Fix: drop those covariates or use method='reg' "
                "with more comparison units."
            ) from err
        atts_arr[j] = att
        influence[:, j] = 0.0
        influence[sub, j] = (n / sub.sum()) * inf
    atts = list(atts_arr)
    by_cluster = panel.cluster != panel.unit and np.unique(cl_unit).size < n
    se = influence_se(influence, cl_unit if by_cluster else None)
    return GroupTimeFit(
        group=np.asarray(groups, float), time=np.asarray(tts, float), att=np.asarray(atts), se=np.atleast_1d(se),
        influence=influence, unit_cohort=g_unit, clusters=cl_unit if by_cluster else None,
        times=times, control=control, method=method, n_obs=int(n * times.size), warnings=tuple(msgs),
    )


# ------------------------------------------------------------------------------------------- aggregations
@dataclass(frozen=True)
class Aggregate:
    """An aggregation of ATT(g,t) (R ``aggte``).

    Attributes
    ----------
    kind
        ``simple``, ``dynamic``, ``group`` or ``calendar``.
    overall, overall_se
        The overall summary parameter and its analytic SE.
    table
        Per event time / group / period: ``key, estimate, se`` (empty for ``simple``).
    overall_influence
        Influence function of ``overall`` (one value per unit).
    table_influence
        ``n_units x len(table)`` influence functions of the ``table`` estimates, column ``j`` for row ``j`` (for
        ``dynamic``: of every event-study coefficient; ``n_units x 0`` for ``simple``). They include the
        estimation of the aggregation weights, as R ``did``; the covariance of the table estimates is
        ``psi' psi / n^2`` (with ``psi`` summed within clusters first when the fit is clustered), whose diagonal is
        the square of ``table["se"]``.
    """

    kind: str
    overall: float
    overall_se: float
    table: pd.DataFrame
    overall_influence: np.ndarray = field(repr=False)
    table_influence: np.ndarray | None = field(default=None, repr=False)


def _wif(keepers: np.ndarray, pg: np.ndarray, g_unit: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Influence function of estimated aggregation weights ``pg[k] / sum(pg[keepers])`` (R did's ``wif``), dense
    ``n x len(keepers)``. Kept as the reference for :func:`_combine`, which never forms it."""
    ind = (g_unit[:, None] == group[keepers][None, :]).astype(float) - pg[keepers][None, :]
    total = pg[keepers].sum()
    if1 = ind / total
    if2 = ind.sum(axis=1)[:, None] * (pg[keepers] / total**2)[None, :]
    out: np.ndarray = if1 - if2
    return out


def _combine(att: np.ndarray, inf: np.ndarray, sets: list[np.ndarray], pg: np.ndarray, *,
             c_unit: np.ndarray | None = None, c_cell: np.ndarray | None = None, n_levels: int = 0,
             mean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weighted averages of ``att`` over each index set (weights ``pg / sum(pg)`` within the set, or equal weights
    with ``mean``) and their n x len(sets) influence functions.

    With ``c_unit`` (level of each unit) and ``c_cell`` (level of each cell), the influence of the estimated weights
    is added: R did's ``wif(...) %*% att``, computed per level instead of as an n x cells matrix. For a unit of level
    ``c``, ``wif_i . a = (A_c - pa) / P - (M_c - P) pa / P^2`` with ``P = sum pg``, ``pa = pg . a``, ``A_c`` the sum of
    ``a`` over the set's cells of level ``c`` and ``M_c`` their number.
    """
    m = len(sets)
    est = np.empty(m)
    psi = np.zeros((inf.shape[0], m), order="F")
    for j, which in enumerate(sets):
        w = pg[which] / pg[which].sum()
        est[j] = att[which].mean() if mean else att[which] @ w
        col = psi[:, j]
        for kk, wk in zip(which, w):  # a few cells per set: column updates, no threaded BLAS on an n x k matrix
            col += wk * inf[:, kk]
    if c_unit is not None and c_cell is not None:
        corr = np.empty((n_levels, m))
        for j, which in enumerate(sets):
            a, p = att[which], pg[which]
            total, pa = p.sum(), p @ a
            big_a = np.bincount(c_cell[which], weights=a, minlength=n_levels)
            big_m = np.bincount(c_cell[which], minlength=n_levels).astype(float)
            corr[:, j] = (big_a - pa) / total - (big_m - total) * (pa / total**2)
        psi = psi + corr[c_unit]
    return est, psi


def _agg_inf(att: np.ndarray, inf: np.ndarray, which: np.ndarray, weights: np.ndarray,
             wif: np.ndarray | None = None) -> np.ndarray:
    out: np.ndarray = inf[:, which] @ weights
    if wif is not None:
        out = out + wif @ att[which]
    return out


def aggregate(fit: GroupTimeFit, kind: CSAggregation = "simple") -> Aggregate:
    """Aggregate ATT(g,t) as R ``did::aggte(type = kind, bstrap = FALSE, na.rm = TRUE)``.

    ``simple``: average of post-treatment ATT(g,t) weighted by cohort size. ``dynamic``: by event time
    ``e = t - g`` (cohort-size weights); overall = mean over ``e >= 0``. ``group``: by cohort (mean over its
    post-treatment periods); overall weights cohorts by size. ``calendar``: by period; overall = mean over periods.
    Standard errors come from the influence functions, including the estimation of the weights; the influence
    functions of the table's estimates are returned as ``table_influence`` (n_units x rows).
    """
    check_literal(kind, CSAggregation, "aggregation")
    ok = np.isfinite(fit.att)
    if ok.all():
        group, t, att, inf = fit.group, fit.time, fit.att, fit.influence
    else:
        group, t, att, inf = fit.group[ok], fit.time[ok], fit.att[ok], fit.influence[:, ok]
    g_unit = fit.unit_cohort
    n = g_unit.size
    levels = np.sort(pd.unique(g_unit))
    c_unit = np.searchsorted(levels, g_unit)
    share = np.bincount(c_unit, minlength=levels.size) / n  # = (g_unit == level).mean()
    glist = np.sort(np.unique(group))
    c_cell = np.searchsorted(levels, group)
    pg = share[c_cell]
    pgg = share[np.searchsorted(levels, glist)]
    cl = fit.clusters
    by_level: dict[str, Any] = dict(c_unit=c_unit, n_levels=levels.size)

    keys: np.ndarray = np.array([], dtype=int)
    est = np.array([])
    psi = np.empty((n, 0))
    if kind == "simple":
        o, inf_o2 = _combine(att, inf, [np.flatnonzero(group <= t)], pg, c_cell=c_cell, **by_level)
        overall, inf_o = float(o[0]), inf_o2[:, 0]
    elif kind == "dynamic":
        e = t - group
        keys = np.sort(np.unique(e))
        est, psi = _combine(att, inf, [np.flatnonzero(e == ev) for ev in keys], pg, c_cell=c_cell, **by_level)
        pos = np.flatnonzero(keys >= 0)
        overall = float(est[pos].mean())
        inf_o = psi[:, pos].sum(axis=1) * (1 / pos.size)
    elif kind == "group":
        keys = glist
        est, psi = _combine(att, inf, [np.flatnonzero((group == g) & (g <= t)) for g in glist], pg, mean=True)
        overall = float((est * pgg).sum() / pgg.sum())
        gl_cell = np.searchsorted(levels, glist)
        _, inf_o2 = _combine(est, psi, [np.arange(glist.size)], pgg, c_cell=gl_cell, **by_level)
        inf_o = inf_o2[:, 0]
    else:  # calendar
        tlist = np.sort(np.unique(t[t >= group.min()]))
        sets = [np.flatnonzero((t == tt) & (group <= t)) for tt in tlist]
        keys = np.array([tt for tt, which in zip(tlist, sets) if which.size], dtype=float)
        est, psi = _combine(att, inf, [which for which in sets if which.size], pg, c_cell=c_cell, **by_level)
        overall = float(est.mean())
        inf_o = psi.sum(axis=1) * (1 / est.size)
    se_table = np.atleast_1d(influence_se(psi, cl)) if psi.shape[1] else np.array([])
    table = pd.DataFrame({"key": keys.astype(int), "estimate": est.astype(float), "se": se_table},
                         columns=["key", "estimate", "se"])
    return Aggregate(kind=kind, overall=overall, overall_se=float(influence_se(inf_o, cl)), table=table,
                     overall_influence=inf_o, table_influence=psi)


# --------------------------------------------------------------------------------------------- front door
def cs_estimate(request: Request, *, control: ControlGroup = "never", method: CSMethod = "dr") -> float:
    """The headline estimate of :func:`callaway_santanna` alone (the simple ATT), without the other three
    aggregations, the event study and the result. Randomisation inference, whose statistic is the estimate, refits
    with it."""
    return aggregate(att_gt(request.panel, control=control, method=method), "simple").overall


def callaway_santanna(
    request: Request,
    *,
    control: ControlGroup = "never",
    method: CSMethod = "dr",
) -> EstimationResult:
    """Callaway and Sant'Anna (2021) staggered difference-in-differences.

    Estimand
        ``overall``: the simple ATT, the average of post-treatment ATT(g,t) weighted by cohort size (R
        ``aggte(type = "simple")``), i.e. the average effect over treated unit-periods. ``event_study``: the
        dynamic aggregation by event time, with ``event_study_vcov`` its covariance from the influence functions.
        ``group_time``: every ATT(g,t). ``details`` holds all four aggregations.
    Assumptions
        Staggered, irreversible adoption; no anticipation; parallel trends (conditional on ``covariates``) with
        the chosen control group; overlap for ``ipw``/``dr``.
    Standard errors
        Analytic, from the influence functions, including the estimation of aggregation weights (R ``did`` with
        ``bstrap = FALSE``); clustered by unit, or by ``cluster`` (influence functions summed within clusters).
        Intervals use t(G-1) critical values (the package's rule, :mod:`clusterpolicy.estimate.result`);
        ``df_mode="normal"`` gives R ``did``'s normal intervals. With ``bootstrap``: R ``did``'s clustered
        multiplier bootstrap (IQR standard errors) and uniform sup-t bands over the event study.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021), *Journal of Econometrics* 225(2), 200-230.

    Examples
    --------
    >>> from clusterpolicy.data.synthetic import simulate_region_panel
    >>> sim = simulate_region_panel(seed=1)
    >>> from clusterpolicy.estimate._panel import request_for
    >>> res = callaway_santanna(request_for(sim.data, unit="region", time="year", cohort="cohort", outcome="y"))
    >>> res.estimator
    'cs'
    """
    panel = request.panel
    fit = att_gt(panel, control=control, method=method)
    aggs = {k: aggregate(fit, k) for k in ("simple", "dynamic", "group", "calendar")}
    simple, dyn = aggs["simple"], aggs["dynamic"]
    n = fit.n_units
    clusters = fit.clusters if fit.clusters is not None else np.arange(n)
    assert dyn.table_influence is not None
    contributions = cluster_sum(np.column_stack([simple.overall_influence, dyn.table_influence]), clusters) / n
    event_times = [int(k) for k in dyn.table["key"]]
    es_cov = contributions[:, 1:].T @ contributions[:, 1:]
    es = dyn.table.rename(columns={"key": "event_time"})[["event_time", "estimate", "se"]]
    details: dict[str, Any] = {
        "control": control, "method": method, "covariates": list(panel.covariates),
        "n_cells": int(fit.att.size),
    }
    for k, agg in aggs.items():
        details[f"{k}_overall"] = {"estimate": agg.overall, "se": agg.overall_se}
        if k in ("group", "calendar"):
            rows: Iterable[Any] = agg.table.itertuples()
            details[k] = [{"key": int(r.key), "estimate": float(r.estimate), "se": float(r.se)} for r in rows]
    ctrl_txt = "never-treated units" if control == "never" else "not-yet-treated (and never-treated) units"
    inference = Inference.rule(
        se_type="analytic influence-function SE (R did), clustered by "
                + ("unit" if panel.cluster == panel.unit else repr(panel.cluster)),
        n_clusters=int(contributions.shape[0]), df=request.df_mode, level=request.level)
    return build_result(
        estimator="cs", outcome=panel.outcome, estimate=simple.overall, se=simple.overall_se, inference=inference,
        event_study=es, contributions=contributions, bootstrap=request.bootstrap, n_obs=fit.n_obs, n_units=fit.n_units,
        estimand=("simple ATT: cohort-size-weighted average of post-treatment ATT(g,t) (Callaway-Sant'Anna, "
                  f"{method}, controls: {ctrl_txt})"),
        event_study_vcov=pd.DataFrame(es_cov, index=event_times, columns=event_times),
        group_time=fit.table()[["group", "time", "estimate", "se"]], warnings=fit.warnings, details=details,
        base_period="varying",
    )
