"""Imputation estimators for staggered adoption: Borusyak, Jaravel and Spiess (2024) and Gardner's two-stage
difference-in-differences (did2s).

Both fit unit and period effects on untreated observations only (never treated and not yet treated), impute the
untreated outcome ``Y_it(0)`` of treated observations, and average ``Y_it - Y_it(0)_hat``. They differ in the
standard errors: BJS's conservative variance (R ``didimputation`` 0.5.0) versus the GMM two-step sandwich of
Gardner (R ``did2s`` 1.2.1).

Units treated in every observed period (treated from the first period on) have no untreated observation, so
their ``Y(0)`` cannot be imputed: R drops their rows (the prediction is ``NA``) and so do we, with a warning.
pyfixest 0.60's ``did2s`` raises on such data instead.

References
----------
Borusyak, K., Jaravel, X. and Spiess, J. (2024). Revisiting event-study designs: robust and efficient estimation.
*Review of Economic Studies* 91(6), 3253-3285.
Gardner, J. (2022). Two-stage differences in differences. arXiv:2207.05943.
Butts, K. and Gardner, J. (2022). did2s: Two-stage difference-in-differences. *The R Journal* 14(3), 162-173.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from clusterpolicy.errors import EstimationError
from clusterpolicy.estimate._panel import NEVER_EVENT_TIME, Panel, Request, SparseLS, fe_design, warn
from clusterpolicy.estimate.bootstrap import cluster_sum
from clusterpolicy.estimate.result import EstimationResult, Inference, build_result, with_intervals


@dataclass(frozen=True)
class FirstStage:
    """Unit + period effects fitted on untreated observations.

    Attributes
    ----------
    data
        The panel rows that can be imputed (units and periods with at least one untreated observation).
    z
        Sparse FE design of ``data`` (all unit dummies, period dummies without the first level).
    solver
        Factorised ``Z0'Z0`` (untreated rows).
    adj
        ``y - y0_hat`` for every row: imputed effects for treated rows, first-stage residuals for the others.
    untreated
        Boolean mask of untreated rows.
    """

    data: pd.DataFrame
    z: sp.csr_matrix
    solver: SparseLS
    adj: np.ndarray
    untreated: np.ndarray


def first_stage(panel: Panel, msgs: list[str]) -> FirstStage:
    """Fit ``y_it = a_i + b_t + e_it`` on untreated rows and impute ``Y(0)`` for all rows."""
    data = panel.data
    untreated = data["_d"].to_numpy() == 0
    has_u = pd.Series(untreated).groupby(data["_u"].to_numpy()).transform("any").to_numpy()
    has_t = pd.Series(untreated).groupby(data["_t"].to_numpy()).transform("any").to_numpy()
    if not has_u.all():
        n_drop = data.loc[~has_u, "_u"].nunique()
        warn(f"dropped {n_drop} units treated in every observed period: their untreated outcome cannot be "
             "imputed (R did2s/didimputation drop them too)", msgs)
    if not has_t.all():
        warn(f"dropped periods {sorted(data.loc[~has_t, '_t'].unique().tolist())} in which every unit is treated",
             msgs)
    keep = has_u & has_t
    data = data.loc[keep].reset_index(drop=True)
    if data.empty or data["_d"].sum() == 0:
        raise EstimationError("no treated observation can be imputed: every treated unit lacks untreated periods.")
    u = pd.factorize(data["_u"], sort=True)[0]
    t = pd.factorize(data["_t"], sort=True)[0]
    z = fe_design(u, t)
    untreated = data["_d"].to_numpy() == 0
    solver = SparseLS(z[untreated])
    coef = solver.fit(data["_y"].to_numpy()[untreated])
    adj = data["_y"].to_numpy() - z @ coef
    return FirstStage(data=data, z=z, solver=solver, adj=adj, untreated=untreated)


def _bjs_contributions(fs: FirstStage, weights: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Per-cluster contributions ``sum_{it in c} v_it (Y_it - Y0_hat - tau_bar)`` of BJS (2024)'s conservative
    variance (their eq. 8 with the cohort x event-time ``tau`` averages of eq. 10), as R ``didimputation`` 0.5.0
    (all rows, including never-treated units, enter the cluster sums). ``G x k``: the SE of column ``j`` is the
    root of the column's sum of squares."""
    treated = ~fs.untreated
    z = fs.z
    b = fs.solver.solve_normal(np.asarray(z[treated].T @ weights[treated]))
    v = np.where(treated[:, None], weights, -(z @ b))
    data = fs.data
    cell = pd.MultiIndex.from_arrays([data["_g"].to_numpy(), data["_e"].to_numpy()])
    codes = pd.factorize(cell)[0]
    scores = np.empty_like(v)
    for j in range(weights.shape[1]):
        v2 = v[:, j] ** 2
        num = np.bincount(codes, weights=v2 * fs.adj)
        den = np.bincount(codes, weights=v2)
        with np.errstate(invalid="ignore", divide="ignore"):
            tbar = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)[codes]
        scores[:, j] = v[:, j] * (fs.adj - np.where(treated, tbar, 0.0))
    return cluster_sum(scores, clusters)


def _default_pretrends(panel: Panel) -> list[int]:
    e = panel.data.loc[(panel.data["_g"] > 0) & (panel.data["_d"] == 0), "_e"].unique()
    pre = sorted(int(x) for x in e if x < 0)
    return pre[1:] if pre else []


def _pretrend_fit(fs: FirstStage, pretrends: Sequence[int], cluster_name: str) -> pd.DataFrame:
    """BJS pre-trend test: on untreated rows, ``y ~ sum_k 1[e = k] | unit + period`` (didimputation's
    ``pretrends``), clustered by unit with fixest's small-sample correction."""
    from clusterpolicy.estimate.twfe import _fit

    data = fs.data.loc[fs.untreated].reset_index(drop=True)
    regs = pd.DataFrame({f"e::{k}": (data["_e"].to_numpy() == k).astype(float) for k in pretrends})
    regs = regs.loc[:, regs.sum(axis=0) > 0]
    if regs.empty:
        return pd.DataFrame(columns=["event_time", "estimate", "se"])
    data = data.assign(_cl=pd.factorize(data["_u"], sort=True)[0])
    fit = _fit(data, regs, ssc="fixest", vcov="cluster", cluster_name=cluster_name)
    return pd.DataFrame({"event_time": [int(c.split("::")[1]) for c in regs.columns],
                         "estimate": fit.params.to_numpy(), "se": fit.se.to_numpy()})


def imputation(
    request: Request,
    *,
    pretrends: Sequence[int] | None = None,
) -> EstimationResult:
    """Borusyak, Jaravel and Spiess (2024) imputation estimator.

    Estimand
        ``estimate``: the average of ``tau_it = Y_it(1) - Y_it(0)`` over all treated observations (equal weights;
        R ``did_imputation`` static). ``event_study``: for ``e >= 0`` the average of ``tau_it`` over treated
        observations ``e`` periods after onset; for ``e < 0`` the pre-trend coefficients of BJS's test (OLS on
        untreated observations with event-time dummies, reference = earliest pre-period).
    Assumptions
        Parallel trends in untreated outcomes (``Y_it(0) = a_i + b_t + e``) for all units and periods, no
        anticipation. Effects may vary arbitrarily.
    Standard errors
        BJS's conservative cluster-robust variance (Theorem 3, eq. 8, with cohort x event-time averages of
        ``tau``), clustered by unit or ``cluster`` (R ``didimputation``'s SEs); t(G-1) critical values (the
        package's rule; R uses normal ones, ``df_mode="normal"``). With ``bootstrap``: the multiplier bootstrap on
        the same per-cluster contributions, with uniform bands over the post-treatment horizons. The
        ``event_study_vcov`` covers the post-treatment horizons only (the pre-trend coefficients come from a
        separate regression). Rambachan-Roth bounds therefore refuse this estimator with a one-line message: its
        leads are BJS test coefficients (relative to the other untreated observations, not to ``e = -1``) with no
        joint covariance with the post-period effects; use ``cs``, ``sa`` or ``twfe_es`` for them.

    References
    ----------
    Borusyak, K., Jaravel, X. and Spiess, J. (2024), *Review of Economic Studies* 91(6), 3253-3285.
    """
    result, panel, fs = _imputation_without_pretrends(request)
    pre = _pretrend_fit(fs, _default_pretrends(panel) if pretrends is None else list(pretrends), panel.cluster)
    if pre.empty or result.event_study is None:
        return replace(result, details={**result.details, "pretrends": []})
    pre = with_intervals(pre, result.inference)
    es = pd.concat([pre, result.event_study], ignore_index=True)
    return replace(result, event_study=es,
                   details={**result.details, "pretrends": [int(k) for k in pre["event_time"]]})


def imputation_estimate(request: Request) -> float:
    """The headline estimate of :func:`imputation` alone: its pre-trend regression (a separate fit that does not
    enter the estimate) is skipped. Randomisation inference, whose statistic is the estimate, refits with it."""
    return _imputation_without_pretrends(request)[0].estimate


def _imputation_without_pretrends(request: Request) -> tuple[EstimationResult, Panel, FirstStage]:
    """:func:`imputation` up to (not including) the pre-trend coefficients of its event study."""
    panel, msgs = request.start()
    fs = first_stage(panel, msgs)
    data = fs.data
    treated = ~fs.untreated
    e = data["_e"].to_numpy()
    horizons = sorted(int(x) for x in np.unique(e[treated]))
    w = np.zeros((len(data), 1 + len(horizons)))
    w[treated, 0] = 1.0 / treated.sum()
    for j, h in enumerate(horizons, start=1):
        m = treated & (e == h)
        w[m, j] = 1.0 / m.sum()
    est = w[treated].T @ fs.adj[treated]
    clusters = pd.factorize(data["_cl"], sort=True)[0]
    contributions = _bjs_contributions(fs, w, clusters)
    se = np.sqrt((contributions**2).sum(axis=0))
    n_clusters = int(clusters.max()) + 1
    inference = Inference.rule(
        se_type=f"BJS conservative cluster-robust variance by {'unit' if panel.cluster == panel.unit else repr(panel.cluster)}"
                "; pre-trend coefficients: fixest cluster-robust by unit",
        n_clusters=n_clusters, df=request.df_mode, level=request.level)
    post_vcov = contributions[:, 1:].T @ contributions[:, 1:]
    post = pd.DataFrame({"event_time": horizons, "estimate": est[1:], "se": se[1:]})
    result = build_result(
        estimator="imputation", outcome=panel.outcome, estimate=float(est[0]), se=float(se[0]), inference=inference,
        event_study=post, contributions=contributions, bootstrap=request.bootstrap,
        n_obs=len(data), n_units=int(data["_u"].nunique()),
        estimand="average of imputed effects Y - Y(0)_hat over all treated observations (Borusyak-Jaravel-Spiess)",
        event_study_vcov=pd.DataFrame(post_vcov, index=horizons, columns=horizons), warnings=tuple(msgs),
        details={"n_treated_obs": int(treated.sum())},
    )
    return result, panel, fs


def _did2s_second(fs: FirstStage, x2: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second stage OLS of the imputed residual on ``x2`` with Gardner's GMM-corrected clustered covariance
    (R ``did2s``: no small-sample factor); returns the coefficients and the ``G x k`` per-cluster contributions
    (their cross-product is the covariance)."""
    y2 = fs.adj
    xtx = x2.T @ x2
    beta = np.linalg.solve(xtx, x2.T @ y2)
    u2 = y2 - x2 @ beta
    u1 = np.where(fs.untreated, fs.adj, 0.0)
    a = fs.solver.solve_normal(np.asarray(fs.z.T @ x2))  # (Z0'Z0)^{-1} Z'X2, i.e. (X2'X1 (X10'X10)^{-1})'
    scores = x2 * u2[:, None] - (fs.z @ a) * u1[:, None]
    bread = np.linalg.inv(xtx)
    return beta, cluster_sum(scores, clusters) @ bread


def did2s(
    request: Request,
) -> EstimationResult:
    """Gardner (2022) two-stage difference-in-differences.

    Stage 1: ``y_it = a_i + b_t`` on untreated rows. Stage 2: regress ``y_it - a_i_hat - b_t_hat`` on ``D_it``
    (``estimate``) and, separately, on event-time dummies (reference -1; never treated = baseline) for
    ``event_study``. Point estimates equal the BJS imputation estimator's.

    Assumptions
        As :func:`imputation`.
    Standard errors
        GMM sandwich accounting for the first stage, clustered by unit or ``cluster``, without a small-sample
        factor (R ``did2s`` 1.2.1); t(G-1) critical values (the package's rule).

    References
    ----------
    Gardner, J. (2022). Two-stage differences in differences. arXiv:2207.05943.
    """
    panel, msgs = request.start()
    fs = first_stage(panel, msgs)
    data = fs.data
    clusters = pd.factorize(data["_cl"], sort=True)[0]
    beta, contrib = _did2s_second(fs, data[["_d"]].to_numpy(dtype=float), clusters)
    e = data["_e"].to_numpy()
    levels = sorted(int(x) for x in np.unique(e) if x != NEVER_EVENT_TIME and x != -1)
    x_es = np.column_stack([(e == k).astype(float) for k in levels])
    b_es, contrib_es = _did2s_second(fs, x_es, clusters)
    v_es = contrib_es.T @ contrib_es
    inference = Inference.rule(
        se_type="GMM two-stage sandwich clustered by " + ("unit" if panel.cluster == panel.unit else repr(panel.cluster))
        + " (R did2s, no small-sample factor)", n_clusters=int(clusters.max()) + 1, df=request.df_mode, level=request.level)
    es = pd.DataFrame({"event_time": levels, "estimate": b_es, "se": np.sqrt(np.diag(v_es))})
    return build_result(
        estimator="did2s", outcome=panel.outcome, estimate=float(beta[0]), se=float(np.sqrt((contrib[:, 0] ** 2).sum())),
        inference=inference, event_study=es, contributions=np.column_stack([contrib, contrib_es]),
        bootstrap=request.bootstrap, n_obs=len(data), n_units=int(data["_u"].nunique()),
        estimand="two-stage DiD coefficient on D: average imputed effect over treated observations (Gardner)",
        event_study_vcov=pd.DataFrame(v_es, index=levels, columns=levels), warnings=tuple(msgs),
    )
