"""Two-way fixed effects (TWFE): the static difference-in-differences regression and the relative-time event
study, with cluster-robust standard errors. The regression is fitted by pyfixest's ``feols`` (fixest's algorithm and
small-sample defaults); ``ssc="linearmodels"`` fits linearmodels ``PanelOLS`` instead, to match its convention.

Small-sample conventions (``ssc``)
    ``"fixest"`` (default) reproduces R fixest's default ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj =
    TRUE)``: the cluster sandwich is multiplied by ``G / (G - 1) * (n - 1) / (n - K)``, where ``K`` counts the
    slope coefficients plus the fixed effects that are *not* nested in the cluster variable (with units nested in
    clusters, ``K`` = slopes + number of periods). ``"linearmodels"`` uses ``PanelOLS.fit(cov_type="clustered")``
    defaults: ``n / (n - K_all)`` with every absorbed effect counted and no ``G / (G - 1)``.
    Confidence intervals and p-values use the t distribution with ``G - 1`` degrees of freedom (as fixest).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate._panel import NEVER_EVENT_TIME, Panel, Request, check_treatment_variation, nested_in, warn
from clusterpolicy.estimate.bootstrap import BootstrapSpec
from clusterpolicy.estimate.literals import SSC, DFMode, check_literal
from clusterpolicy.estimate.result import EstimationResult, Inference, build_result


@dataclass(frozen=True)
class FEOLS:
    """A fitted two-way fixed-effects regression.

    Attributes
    ----------
    params
        Coefficients (index = regressor names).
    cov
        Covariance matrix with the chosen small-sample correction.
    n_obs, n_clusters, df_k
        Observations, clusters and the ``K`` used in the small-sample factor.
    """

    params: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_clusters: int
    df_k: int
    contributions: np.ndarray | None = None  # G x p cluster contributions (with the small-sample factor)
    ssc_factor: float | None = None  # pyfixest's small-sample multiplier of the covariance (fixest convention)

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)


def fit_twfe_ols(panel: Panel, regressors: pd.DataFrame, *, ssc: SSC = "fixest", vcov: str = "cluster",
                 scores: bool = False) -> FEOLS:
    """OLS of the outcome on ``regressors`` with unit and time effects; cluster-robust (or ``vcov="iid"``)
    covariance. The one TWFE fit of the package: every linear fixed-effects estimator calls it.

    ``regressors`` is aligned with ``panel.data`` rows. With ``scores=True`` the result also holds the per-cluster
    contributions ``sqrt(ssc) * (X'X)^-1 X_c' e_c`` (for the multiplier bootstrap; fixest convention only).
    """
    check_literal(ssc, SSC, "ssc")
    return _fit(panel.data, regressors, ssc=ssc, vcov=vcov, cluster_name=panel.cluster, scores=scores)


def _fit(data: pd.DataFrame, regressors: pd.DataFrame, *, ssc: str, vcov: str, cluster_name: str,
         scores: bool = False) -> FEOLS:
    n_clusters = int(data["_cl"].nunique())
    if vcov != "iid" and n_clusters < 2:
        raise EstimationError(f"clustered SEs need at least 2 clusters in {cluster_name!r}, found {n_clusters}.")
    if ssc == "linearmodels" and vcov != "iid":
        if scores:
            raise UserInputError("the bootstrap uses the fixest small-sample convention; drop ssc='linearmodels'.")
        return _fit_linearmodels(data, regressors, n_clusters=n_clusters)
    return _fit_pyfixest(data, regressors, vcov=vcov, n_clusters=n_clusters, scores=scores)


# Tolerance of pyfixest's alternating-projections demeaning (absolute), shared by ``feols`` and the refits below.
_FIXEF_TOL = 1e-10
_FIXEF_MAXITER = 10_000


def _fit_pyfixest(data: pd.DataFrame, regressors: pd.DataFrame, *, vcov: str, n_clusters: int,
                  scores: bool = False) -> FEOLS:
    # pyfixest's demeaning is several times faster than PanelOLS on large panels and its default small-sample
    # correction is fixest's, which is the convention this module documents; nothing is re-implemented here.
    import pyfixest as pf

    names = list(regressors.columns)
    safe = [f"x{i}" for i in range(len(names))]
    frame = pd.DataFrame(regressors.to_numpy(dtype=float), columns=safe)
    frame["_y"] = data["_y"].to_numpy(dtype=float)
    frame["_u"] = data["_u"].to_numpy()
    frame["_t"] = data["_t"].to_numpy()
    frame["_cl"] = data["_cl"].to_numpy()
    formula = f"_y ~ {' + '.join(safe)} | _u + _t"
    spec: Any = "iid" if vcov == "iid" else {"CRV1": "_cl"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(formula, data=frame, vcov=spec, fixef_rm="none", copy_data=False, store_data=False,
                       lean=not scores, fixef_tol=_FIXEF_TOL)
    coef = fit.coef()
    dropped = [names[safe.index(c)] for c in safe if c not in coef.index]
    if dropped:
        raise EstimationError(
            f"regressor(s) {', '.join(dropped)} are collinear with the unit and time effects; "
            "drop them or check the treatment coding."
        )
    cov = np.asarray(fit._vcov, dtype=float)
    params = pd.Series(coef.loc[safe].to_numpy(), index=names, name="parameter")
    contributions = None
    if scores:
        from clusterpolicy.estimate.bootstrap import cluster_sum

        ssc_factor = float(np.asarray(fit._ssc).ravel()[0])
        summed = cluster_sum(np.asarray(fit._scores, dtype=float), frame["_cl"].to_numpy())
        contributions = np.sqrt(ssc_factor) * summed @ np.asarray(fit._bread, dtype=float)
    return FEOLS(params=params, cov=pd.DataFrame(cov, index=names, columns=names), n_obs=int(fit._N),
                 n_clusters=n_clusters, df_k=int(len(names) + _fe_count(data, vcov)), contributions=contributions,
                 ssc_factor=float(np.asarray(fit._ssc, dtype=float).ravel()[0]))


def _fe_count(data: pd.DataFrame, vcov: str) -> int:
    """Fixed effects counted in fixest's ``K`` (``fixef.K = "nested"``: those nested in the cluster are not)."""
    n_u, n_t = data["_u"].nunique(), data["_t"].nunique()
    if vcov == "iid":
        return int(n_u + n_t - 1)
    if nested_in(data["_u"].to_numpy(), data["_cl"].to_numpy()):
        return int(n_t)
    if nested_in(data["_t"].to_numpy(), data["_cl"].to_numpy()):
        return int(n_u)
    return int(n_u + n_t - 1)


def _fit_linearmodels(data: pd.DataFrame, regressors: pd.DataFrame, *, n_clusters: int) -> FEOLS:
    index = pd.MultiIndex.from_arrays([data["_u"].to_numpy(), data["_t"].to_numpy()], names=["unit", "time"])
    y = pd.Series(data["_y"].to_numpy(), index=index, name="y")
    x = pd.DataFrame(regressors.to_numpy(dtype=float), index=index, columns=list(regressors.columns))
    clusters = pd.DataFrame({"cl": data["_cl"].to_numpy()}, index=index)
    model = PanelOLS(y, x, entity_effects=True, time_effects=True, check_rank=True, drop_absorbed=False)
    res = model.fit(cov_type="clustered", clusters=clusters, debiased=True)
    k = int(x.shape[1] + data["_u"].nunique() + data["_t"].nunique() - 1)
    return FEOLS(params=res.params, cov=res.cov, n_obs=int(res.nobs), n_clusters=n_clusters, df_k=k)


def fe_ols(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    regressors: Sequence[str],
    cluster: str | None = None,
    vcov: str = "cluster",
    ssc: SSC = "fixest",
) -> FEOLS:
    """Generic two-way fixed-effects OLS: ``outcome ~ regressors | unit + time`` (fixest ``feols``).

    Rows with a missing outcome or regressor are dropped (as fixest does). ``vcov`` is ``"cluster"`` (by
    ``cluster``, default the unit, small-sample convention ``ssc``) or ``"iid"``. Used, e.g., for Wooldridge's
    Example 14.1 where the regressors are not a staggered treatment indicator.
    """
    from clusterpolicy.estimate._panel import numeric_column, require_columns

    regressors = tuple(regressors)
    if vcov not in ("cluster", "iid"):
        raise UserInputError(f"vcov={vcov!r} is not valid; use 'cluster' or 'iid'.")
    check_literal(ssc, SSC, "ssc")
    cluster = cluster or unit
    require_columns(df, {"unit": unit, "time": time, "outcome": outcome, "cluster": cluster,
                         **{f"regressor {r!r}": r for r in regressors}})
    cols = list(dict.fromkeys([unit, time, outcome, cluster, *regressors]))
    data = df.loc[:, cols].copy()
    for c in (time, outcome, *regressors):
        data[c] = numeric_column(data, c, c)
    data = data.dropna(subset=[time, outcome, *regressors]).reset_index(drop=True)
    if data.empty:
        raise EstimationError(f"no row has {outcome!r} and all regressors observed.")
    data = data.assign(_y=data[outcome], _t=data[time], _u=pd.factorize(data[unit], sort=True)[0],
                       _cl=pd.factorize(data[cluster], sort=True)[0])
    return _fit(data, data[list(regressors)], ssc=ssc, vcov=vcov, cluster_name=cluster)


def who(panel: Panel) -> str:
    """``unit`` or the cluster column's name, for SE descriptions."""
    return "unit" if panel.cluster == panel.unit else repr(panel.cluster)


def se_text(panel: Panel, ssc: str) -> str:
    """The SE convention of the linear fixed-effects estimators, in words."""
    conv = ("fixest default small-sample correction G/(G-1)*(n-1)/(n-K), K without FE nested in clusters"
            if ssc == "fixest" else "linearmodels PanelOLS debiased (all absorbed effects counted, no G/(G-1))")
    return f"cluster-robust by {who(panel)}; {conv}"


def few_cluster_warning(n_clusters: int, msgs: list[str]) -> None:
    """Warn once when cluster-robust inference rests on fewer than 30 clusters."""
    if n_clusters < 30:
        warn(f"only {n_clusters} clusters: cluster-robust SEs are unreliable; t({n_clusters - 1}) critical values "
             "are used, and the wild cluster bootstrap or randomisation inference are the better guide", msgs)


def twfe(
    request: Request,
    *,
    ssc: SSC = "fixest",
) -> EstimationResult:
    """Static two-way fixed-effects difference-in-differences.

    Model: ``y_it = a_i + b_t + beta * D_it + x_it' gamma + e_it`` with ``D_it = 1[cohort_i > 0 and t >=
    cohort_i]``; ``estimate`` is ``beta``.

    Estimand
        Under parallel trends, no anticipation *and homogeneous effects*, the ATT. With staggered adoption and
        effects that vary over time or cohorts, ``beta`` is a weighted average of cell effects with possibly
        negative weights (Goodman-Bacon 2021; de Chaisemartin and D'Haultfoeuille 2020), so prefer ``cs``,
        ``sa`` or ``imputation`` then.
    Standard errors
        Cluster-robust by ``cluster`` (default: unit) with fixest's default small-sample correction (``ssc``, see
        the module docstring); t(G-1) intervals and p-values (``df_mode="normal"``: normal), the package's rule
        (:mod:`clusterpolicy.estimate.result`).

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. *Journal of
    Econometrics* 225(2), 254-277.
    """
    panel, msgs = request.start()
    regs = panel.data[["_d", *panel.covariates]].rename(columns={"_d": "treated"})
    fit = fit_twfe_ols(panel, regs, ssc=ssc)
    few_cluster_warning(fit.n_clusters, msgs)
    return _twfe_result(panel, request, fit, msgs, ssc)


def _twfe_result(panel: Panel, request: Request, fit: FEOLS, msgs: list[str], ssc: SSC) -> EstimationResult:
    """The static TWFE result from its regression fit (shared by :func:`twfe` and :class:`TwfeRefit`)."""
    inference = Inference.rule(se_type=se_text(panel, ssc), n_clusters=fit.n_clusters, df=request.df_mode, level=request.level)
    return EstimationResult.from_estimate(
        estimator="twfe", outcome=panel.outcome, estimate=float(fit.params["treated"]), se=float(fit.se["treated"]),
        inference=inference, n_obs=fit.n_obs, n_units=panel.n_units,
        estimand="coefficient on D = 1[treated and at/after onset] in a unit + period fixed-effects regression",
        warnings=tuple(msgs),
        details={"ssc": ssc, "df_k": fit.df_k,
                 "coefficients": {k: float(v) for k, v in fit.params.items()},
                 "std_errors": {k: float(v) for k, v in fit.se.items()}},
    )


class TwfeRefit:
    """Static TWFE (:func:`twfe`, fixest convention, no covariates) refitted many times on one prepared panel.

    Randomisation inference and power simulations refit the estimator thousands of times on the same panel with
    only the treatment timing (a permutation of the cohorts) or only the outcome (a simulated one) changed. The
    full path rebuilds everything each time: panel validation, a formula, a model matrix, the fixed-effect
    demeaning of every column and the covariance bookkeeping, which is nearly all of its cost. Here the panel is
    prepared and checked once, and a refit repeats only what the change touches, with the very operations
    ``pyfixest.feols`` applies (its alternating-projections demeaning with the same tolerance, its
    ``scipy.linalg.solve``, its CRV1 meat and the small-sample factor read from the one full fit), so a refit
    gives the numbers :func:`twfe` gives on the modified panel (``tests/estimate/test_refit.py`` checks it):

    * new treatment: the demeaned outcome is fixed, only the demeaned treatment column is recomputed;
    * new outcome: the demeaned treatment is fixed, only the outcome is demeaned again.

    Everything else that the result depends on (units, periods, clusters, ``N``, ``K``, ``G``) does not change
    with the treatment timing or the outcome values. The result is built by the same code as :func:`twfe`'s.
    """

    def __init__(self, request: Request) -> None:
        from pyfixest.demeaners import MapDemeaner

        self._request = request
        panel, msgs = request.start()
        if panel.covariates:
            raise UserInputError("TwfeRefit: covariates are not supported; use estimate() for each fit.")
        fit = fit_twfe_ols(panel, panel.data[["_d"]].rename(columns={"_d": "treated"}), ssc="fixest")
        few_cluster_warning(fit.n_clusters, msgs)
        #: The full fit at the prepared panel's own treatment and outcome (identical to ``twfe(request)``).
        self.result = _twfe_result(panel, request, fit, msgs, "fixest")
        if fit.ssc_factor is None:  # pragma: no cover - set by every pyfixest fit
            raise EstimationError("TwfeRefit: pyfixest did not report its small-sample factor.")
        # N, K and G, hence pyfixest's small-sample factor, do not depend on the treatment timing or the outcome
        self._panel, self._msgs, self._fit, self._ssc = panel, tuple(msgs), fit, fit.ssc_factor
        data = panel.data
        # The same design pyfixest demeans on: unit and period codes, in the panel's row order.
        self._flist = np.column_stack([pd.factorize(data["_u"])[0], pd.factorize(data["_t"])[0]]).astype(np.uintp)
        self._demeaner = MapDemeaner(backend="rust", fixef_tol=_FIXEF_TOL, fixef_maxiter=_FIXEF_MAXITER)
        self._weights = np.ones(len(data))
        self._cluster_col = pd.factorize(data["_cl"])[0].astype(np.uintp)  # pyfixest's cluster codes
        self._clustid = np.unique(self._cluster_col)
        self._t = data["_t"].to_numpy(dtype=float)
        self._y = data["_y"].to_numpy(dtype=float)
        self._yd = self._demean(self._y)
        self._dd = self._demean(data["_d"].to_numpy(dtype=float))

    @property
    def panel(self) -> Panel:
        """The prepared panel (its own treatment and outcome)."""
        return self._panel

    def _demean(self, values: np.ndarray) -> np.ndarray:
        from pyfixest.estimation.internals.demean_ import dispatch_demean

        out, converged, _ = dispatch_demean(x=np.ascontiguousarray(values, dtype=np.float64).reshape(-1, 1),
                                            flist=self._flist, weights=self._weights, demeaner=self._demeaner)
        if not converged:  # pragma: no cover - pyfixest raises in the same case
            raise EstimationError(f"fixed-effect demeaning failed after {_FIXEF_MAXITER} iterations.")
        demeaned: np.ndarray = np.asarray(out, dtype=float)
        return demeaned

    def with_cohorts(self, cohorts: np.ndarray, *, estimate_only: bool = False) -> EstimationResult:
        """The result with the panel rows' cohorts replaced by ``cohorts`` (same row order as :attr:`panel`;
        first treated period, 0 or NaN = never treated), as :func:`twfe` would give on that panel (always the
        whole result: ``estimate_only`` would save nothing here)."""
        g = np.asarray(cohorts, dtype=float).copy()
        g[np.isnan(g)] = 0.0
        if (g < 0).any():
            raise UserInputError("TwfeRefit: cohorts must be 0 (never treated) or a first treated period.")
        d = ((g > 0) & (self._t >= g)).astype("float64")  # cohorts after the last period never switch D on
        if d.sum() == 0 or (d == 1).all():
            check_treatment_variation(replace(self._panel, data=pd.DataFrame({"_d": d})))
        return self._solve(self._yd, self._demean(d))

    def with_outcome(self, y: np.ndarray) -> EstimationResult:
        """The result with the panel rows' outcome replaced by ``y`` (finite, same row order as :attr:`panel`)."""
        y = np.asarray(y, dtype=float)
        if y.shape != self._y.shape or not np.all(np.isfinite(y)):
            raise UserInputError("TwfeRefit: the outcome must be finite, one value per panel row.")
        return self._solve(self._demean(y), self._dd)

    def _solve(self, yd: np.ndarray, dd: np.ndarray) -> EstimationResult:
        # pyfixest's Feols.get_fit and CRV1 vcov for one regressor, step by step.
        from pyfixest.core.collinear import find_collinear_variables
        from pyfixest.core.crv1 import crv1_meat_loop
        from pyfixest.estimation.internals.solvers import solve_ols

        X = dd.reshape(-1, 1)
        Y = yd.reshape(-1, 1)
        tZX = X.T @ X
        # pyfixest's collinearity check (tolerance 1e-6): a treatment absorbed by the fixed effects has no estimate
        if find_collinear_variables(np.ascontiguousarray(tZX, dtype=np.float64), 1e-6)[1] > 0:
            raise EstimationError("regressor(s) treated are collinear with the unit and time effects; "
                                  "drop them or check the treatment coding.")
        tZy = X.T @ Y
        beta = solve_ols(tZX, tZy, "scipy.linalg.solve")
        u_hat = Y.flatten() - (X @ beta).flatten()
        scores = X * u_hat[:, None]
        bread = np.linalg.inv(tZX)
        meat = crv1_meat_loop(scores=scores.astype(np.float64), clustid=self._clustid.astype(np.uintp),
                              cluster_col=self._cluster_col)
        cov = np.zeros((1, 1))
        cov += self._ssc * (bread @ meat @ bread)  # as pyfixest accumulates it (0 + x: exact)
        fit = replace(self._fit, params=pd.Series([float(beta[0])], index=["treated"], name="parameter"),
                      cov=pd.DataFrame(cov, index=["treated"], columns=["treated"]))
        return _twfe_result(self._panel, self._request, fit, list(self._msgs), "fixest")


def event_dummies(panel: Panel, *, ref: Sequence[int] = (-1,), msgs: list[str] | None = None) -> pd.DataFrame:
    """Relative-time dummies ``e::k`` for treated units (never-treated units are all zero), omitting ``ref``.

    Without never-treated units the fully dynamic model is not identified, so the earliest event time is omitted
    as well (with a warning).
    """
    e = panel.data["_e"].to_numpy()
    omit = set(ref)
    if not (panel.data["_g"] == 0).any():
        lowest = int(e.min())
        if lowest not in omit:
            omit.add(lowest)
            warn(f"no never-treated units: event time {lowest} is also omitted so the event study is identified",
                 msgs)
    levels = sorted(int(v) for v in np.unique(e) if v != NEVER_EVENT_TIME and int(v) not in omit)
    return pd.DataFrame({f"e::{k}": (e == k).astype(float) for k in levels})


def twfe_event_study(
    request: Request,
    *,
    ssc: SSC = "fixest",
) -> EstimationResult:
    """TWFE event study with relative-time dummies (reference period ``-1``; never-treated units as baseline).

    Model: ``y_it = a_i + b_t + sum_{k != -1} beta_k 1[t - cohort_i = k] + e_it`` (fixest
    ``i(rel_year, ref = c(-1, -1000))``). ``event_study`` holds ``beta_k`` and ``event_study_vcov`` their
    covariance; ``estimate`` is the simple average of the post-treatment ``beta_k`` (k >= 0), with its SE from the
    coefficient covariance.

    Estimand and caveat
        Under homogeneous effects across cohorts, ``beta_k`` is the effect ``k`` periods after onset relative to
        period -1. With heterogeneous effects the coefficients are contaminated by other periods' effects (Sun and
        Abraham 2021); use ``sa`` or ``cs`` then.
    Standard errors
        As :func:`twfe`; with ``bootstrap`` the score multiplier bootstrap and uniform sup-t bands.

    References
    ----------
    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with heterogeneous
    treatment effects. *Journal of Econometrics* 225(2), 175-199.
    """
    panel, msgs = request.start()
    dummies = event_dummies(panel, msgs=msgs)
    regs = pd.concat([dummies, panel.data[list(panel.covariates)].reset_index(drop=True)], axis=1)
    fit = fit_twfe_ols(panel, regs, ssc=ssc, scores=request.bootstrap is not None)
    few_cluster_warning(fit.n_clusters, msgs)
    names = list(dummies.columns)
    times = [int(n.split("::")[1]) for n in names]
    post = [c for c, t in zip(names, times, strict=True) if t >= 0]
    weights = pd.DataFrame(0.0, index=["overall", *names], columns=list(fit.params.index))
    weights.loc["overall", post] = 1.0 / len(post)
    for n in names:
        weights.loc[n, n] = 1.0
    return linear_combinations(
        fit, weights, estimator="twfe_es", outcome=panel.outcome, event_times=times, panel=panel, ssc=ssc, level=request.level,
        df_mode=request.df_mode, bootstrap=request.bootstrap, msgs=msgs,
        estimand="equal-weight average of post-treatment TWFE event-study coefficients (reference period -1)",
        details={"ssc": ssc, "df_k": fit.df_k},
    )


def linear_combinations(
    fit: FEOLS, weights: pd.DataFrame, *, estimator: str, outcome: str, event_times: list[int], panel: Panel,
    ssc: str, level: float, df_mode: DFMode, bootstrap: BootstrapSpec | None, msgs: list[str], estimand: str,
    details: dict[str, Any], se_note: str = "", **kwargs: Any,
) -> EstimationResult:
    """A result from linear combinations of regression coefficients: row ``overall`` of ``weights`` is the
    headline, the next rows the event-study coefficients (at ``event_times``); covariance ``W V W'`` (delta method),
    bootstrap contributions ``C W'``."""
    w = weights.to_numpy(dtype=float)
    beta = fit.params.loc[weights.columns].to_numpy()
    v = fit.cov.loc[weights.columns, weights.columns].to_numpy()
    est = w @ beta
    cov = w @ v @ w.T
    se = np.sqrt(np.diag(cov))
    es = pd.DataFrame({"event_time": event_times, "estimate": est[1:], "se": se[1:]})
    order = np.argsort(event_times, kind="stable")
    es = es.iloc[order].reset_index(drop=True)
    es_cov = cov[1:, 1:][np.ix_(order, order)]
    sorted_times = [event_times[i] for i in order]
    contributions = None
    if bootstrap is not None and fit.contributions is not None:
        c = fit.contributions @ w.T
        contributions = np.column_stack([c[:, 0], c[:, 1:][:, order]])
    inference = Inference.rule(se_type=se_text(panel, ssc) + se_note, n_clusters=fit.n_clusters, df=df_mode,
                               level=level)
    return build_result(
        estimator=estimator, outcome=outcome, estimate=float(est[0]), se=float(se[0]), inference=inference,
        event_study=es, contributions=contributions, bootstrap=bootstrap, n_obs=fit.n_obs, n_units=panel.n_units,
        estimand=estimand, event_study_vcov=pd.DataFrame(es_cov, index=sorted_times, columns=sorted_times),
        warnings=tuple(msgs), details=details, **kwargs,
    )
