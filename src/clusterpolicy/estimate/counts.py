"""Count outcomes (e.g. collaborations between firms and knowledge institutes): Poisson fixed effects (PPML),
negative binomial, and Wooldridge's extended TWFE with an exponential mean (ETWFE Poisson).

Why Poisson: with an exponential conditional mean the Poisson quasi-MLE is consistent whatever the distribution
of the counts (overdispersion included) as long as the mean is right (Gourieroux, Monfort and Trognon 1984;
Santos Silva and Tenreyro 2006), and unit fixed effects cause no incidental-parameter bias (Wooldridge 1999).
Cluster-robust standard errors make inference robust to overdispersion and serial correlation. The negative
binomial is offered as a check when overdispersion is large; it is efficient only if its variance is right.

References
----------
Santos Silva, J. M. C. and Tenreyro, S. (2006). The log of gravity. *Review of Economics and Statistics* 88(4).
Wooldridge, J. M. (1999). Distribution-free estimation of some nonlinear panel data models. *Journal of
Econometrics* 90(1), 77-97.
Wooldridge, J. M. (2023). Simple approaches to nonlinear difference-in-differences with panel data.
*The Econometrics Journal* 26(3), C31-C66.
Cameron, A. C. and Trivedi, P. K. (1990). Regression-based tests for overdispersion in the Poisson model.
*Journal of Econometrics* 46(3), 347-364.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: stats.chi2.sf calls special.chdtrc, without stats' half-second import.
from scipy import special

from clusterpolicy.errors import EstimationError
from clusterpolicy.estimate._panel import Panel, Request, warn
from clusterpolicy.estimate.literals import ControlGroup, check_literal
from clusterpolicy.estimate.result import EstimationResult, Inference


def _who(panel: Panel) -> str:
    return "unit" if panel.cluster == panel.unit else repr(panel.cluster)


def _frame(panel: Panel, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Internal frame with formula-safe names for pyfixest."""
    base = pd.DataFrame({"y": panel.data["_y"].to_numpy(), "treated": panel.data["_d"].to_numpy(),
                         "unit": panel.data["_u"].to_numpy(), "time": panel.data["_t"].to_numpy(),
                         "cl": panel.data["_cl"].to_numpy()})
    return base if extra is None else pd.concat([base, extra.reset_index(drop=True)], axis=1)


def _fepois(formula: str, data: pd.DataFrame) -> Any:
    """The package's one Poisson fit (pyfixest ``fepois``, fixest's algorithm and small-sample correction)."""
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return pf.fepois(formula, data=data, vcov={"CRV1": "cl"}, iwls_tol=1e-10, fixef_tol=1e-12)
        except (ValueError, ZeroDivisionError) as err:  # every regressor collinear, or as many parameters as rows
            raise EstimationError(f"the Poisson model cannot be fitted ({str(err).splitlines()[0]}): a treated "
                                  "cell may have only zero counts. Fix: drop that unit or use a linear estimator.") from err


def pearson_dispersion(y: np.ndarray, mu: np.ndarray, k: int) -> float:
    """Pearson dispersion ``sum((y - mu)^2 / mu) / (n - k)``: about 1 under Poisson variance, > 1 overdispersed."""
    return float(np.sum((y - mu) ** 2 / mu) / (y.size - k))


def poisson(
    request: Request,
    *,
    event_study: bool = True,
) -> EstimationResult:
    """Poisson fixed-effects (PPML) difference-in-differences.

    Model: ``E[y_it | a_i, b_t, D_it] = exp(a_i + b_t + beta * D_it)``; ``estimate`` is ``beta``, the log of the
    rate ratio (``exp(beta) - 1`` is the proportional effect, in ``details``). ``event_study``: the
    relative-time version with reference period -1 (never-treated units as baseline).

    Assumptions
        Parallel trends in the log of the mean untreated count (ratio form), no anticipation, homogeneous
        proportional effect (else use ``etwfe``). Any variance (over/underdispersion) is allowed.
    Standard errors
        Cluster-robust by unit (or ``cluster``) with R fixest's default small-sample correction, via pyfixest
        ``fepois`` (matches R fixest ``fepois``); t(G-1) critical values (the package's rule; fixest uses normal
        ones for GLMs: ``df_mode="normal"``). Units whose counts are all zero carry no information and are dropped
        by the estimator (as fixest).

    References
    ----------
    Santos Silva and Tenreyro (2006); Wooldridge (1999).
    """
    panel, msgs = request.start()
    frame = _frame(panel)
    fit = _fepois("y ~ treated | unit + time", frame)
    est, se = float(fit.coef()["treated"]), float(fit.se()["treated"])
    n_used = int(fit._N)
    n_clusters = int(frame["cl"].nunique())
    inference = Inference.rule(
        se_type=f"cluster-robust by {_who(panel)}; fixest default small-sample correction (pyfixest fepois)",
        n_clusters=n_clusters, df=request.df_mode, level=request.level)
    disp = _fit_dispersion(fit, frame["y"].to_numpy())
    if n_used < len(frame):
        warn(f"{len(frame) - n_used} observations dropped by the Poisson estimator (units or periods with only zero "
             "counts, as R fixest)", msgs)
    es = es_vcov = None
    if event_study:
        es, es_vcov = _poisson_event_study(panel, msgs)
    low, high = inference.interval(est, se)
    details = {
        "rate_ratio": float(np.exp(est)), "rate_ratio_ci": [float(np.exp(low)), float(np.exp(high))],
        "pearson_dispersion": disp,
        "dispersion_note": "Pearson dispersion > 1 means overdispersion; PPML stays consistent and the clustered "
                           "SEs stay valid, but a negative binomial may be more efficient.",
    }
    return EstimationResult.from_estimate(
        estimator="poisson", outcome=panel.outcome, estimate=est, se=se, inference=inference, n_obs=n_used,
        n_units=panel.n_units,
        estimand="log rate ratio: coefficient on D = 1[treated and at/after onset] in Poisson with unit and period "
                 "fixed effects",
        event_study=es, event_study_vcov=es_vcov, warnings=tuple(msgs), details=details,
    )


def _fit_dispersion(fit: Any, y: np.ndarray) -> float:
    """Pearson dispersion of a pyfixest ``fepois`` fit on the rows it used (K = slopes + FE levels - FE dims + 1)."""
    mu = np.asarray(fit.predict(type="response"), dtype=float).ravel()
    if mu.size != y.size:
        return float("nan")
    used = np.isfinite(mu) & (mu > 0)
    k_fe = np.asarray(fit._k_fe, dtype=float)
    return pearson_dispersion(y[used], mu[used], int(fit._k + k_fe.sum() - k_fe.size + 1))


def _poisson_event_study(panel: Panel, msgs: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relative-time Poisson coefficients (reference -1) and their covariance."""
    from clusterpolicy.estimate.twfe import event_dummies

    dummies = event_dummies(panel, msgs=msgs)
    names = {c: f"ev{'m' if int(c.split('::')[1]) < 0 else 'p'}{abs(int(c.split('::')[1]))}" for c in dummies.columns}
    frame = _frame(panel, dummies.rename(columns=names))
    fit = _fepois("y ~ " + " + ".join(names.values()) + " | unit + time", frame)
    coef = fit.coef()
    kept = [(int(col.split("::")[1]), safe) for col, safe in names.items() if safe in coef.index]
    kept.sort()
    order = [safe for _, safe in kept]
    times = [t for t, _ in kept]
    vcov = pd.DataFrame(np.asarray(fit._vcov, dtype=float), index=list(coef.index), columns=list(coef.index))
    v = vcov.loc[order, order].to_numpy()
    es = pd.DataFrame({"event_time": times, "estimate": coef.loc[order].to_numpy(), "se": np.sqrt(np.diag(v))})
    return es, pd.DataFrame(v, index=times, columns=times)


# ------------------------------------------------------------------------------------------ negative binomial
def negbin(
    request: Request,
) -> EstimationResult:
    """Negative binomial (NB2) difference-in-differences with an overdispersion diagnostic.

    Model: ``y_it ~ NB2(mu_it, alpha)``, ``log mu_it = c_g(i) + b_t + beta * D_it`` with cohort effects ``c_g``
    (Wooldridge 2023's pooled form: cohort dummies instead of unit dummies avoid the incidental-parameter problem
    of unconditional NB fixed effects). ``estimate`` is ``beta`` (log rate ratio).

    Assumptions
        Parallel trends in log means between cohorts, no anticipation, homogeneous proportional effect; NB2
        variance ``mu + alpha mu^2`` for efficiency (the mean model is what matters for consistency).
    Standard errors
        Cluster-robust by unit (or ``cluster``), statsmodels' correction ``G/(G-1) * (n-1)/(n-K)`` (fixest's
        form, ``K`` counting every parameter); t(G-1) critical values (the package's rule).
    Diagnostics (``details``)
        ``alpha`` with its SE, the likelihood-ratio test of ``alpha = 0`` against the Poisson (boundary-corrected
        p-value, half the chi-square(1) tail), the Pearson dispersion of the pooled Poisson fit and the
        Cameron-Trivedi (1990) auxiliary-regression t-statistic.

    References
    ----------
    Cameron, A. C. and Trivedi, P. K. (1990), *Journal of Econometrics* 46(3), 347-364.
    """
    import statsmodels.api as sm

    panel, msgs = request.start()
    data = panel.data
    x = pd.concat([
        pd.Series(1.0, index=data.index, name="const"),
        data["_d"].rename("treated"),
        pd.get_dummies(data["_g"], prefix="g", drop_first=True, dtype=float),
        pd.get_dummies(data["_t"], prefix="t", drop_first=True, dtype=float),
    ], axis=1)
    y = data["_y"].to_numpy()
    groups = data["_cl"].to_numpy()
    pois = sm.GLM(y, x, family=sm.families.Poisson()).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = sm.NegativeBinomial(y, x, loglike_method="nb2").fit(
            start_params=np.append(pois.params.to_numpy(), 0.1), method="bfgs", maxiter=2000, disp=0,
            cov_type="cluster", cov_kwds={"groups": groups})
    if not nb.mle_retvals.get("converged", True):
        warn("negative binomial did not converge; treat its estimate with caution", msgs)
    est, se = float(nb.params["treated"]), float(nb.bse["treated"])
    alpha, alpha_se = float(nb.params["alpha"]), float(nb.bse["alpha"])
    lr = max(0.0, 2 * (nb.llf - pois.llf))
    mu = pois.fittedvalues.to_numpy()
    aux = ((y - mu) ** 2 - y) / mu
    ct = sm.OLS(aux, mu).fit()
    disp = pearson_dispersion(y, mu, x.shape[1])
    if disp > 1.5:
        warn(f"counts are overdispersed (Pearson dispersion {disp:.2f}); Poisson/PPML stays consistent, NB may be "
             "more efficient", msgs)
    details = {
        "alpha": alpha, "alpha_se": alpha_se, "lr_stat_alpha0": float(lr),
        "lr_pvalue_alpha0": float(0.5 * special.chdtrc(1, lr)), "pearson_dispersion_poisson": disp,
        "cameron_trivedi_t": float(ct.tvalues[0]), "rate_ratio": float(np.exp(est)),
    }
    inference = Inference.rule(se_type=f"cluster-robust by {_who(panel)}; correction G/(G-1)*(n-1)/(n-K)",
                               n_clusters=int(np.unique(groups).size), df=request.df_mode, level=request.level)
    return EstimationResult.from_estimate(
        estimator="negbin", outcome=panel.outcome, estimate=est, se=se, inference=inference, n_obs=int(y.size),
        n_units=panel.n_units,
        estimand="log rate ratio: coefficient on D in an NB2 model with cohort and period effects",
        warnings=tuple(msgs), details=details,
    )


# ------------------------------------------------------------------------------------------------ ETWFE
def _fix_vcov(vcov: np.ndarray) -> np.ndarray:
    """Symmetrise a sandwich covariance and set negative eigenvalues to zero, as R fixest does by default
    (``vcov_fix = TRUE``, after Cameron, Gelbach and Miller 2011): rounding in the sandwich of a poorly
    conditioned Poisson fit leaves a matrix that is asymmetric at ~1e-7 and has eigenvalues of about -1e-13, which
    would give square roots of negative variances. A positive semi-definite matrix is returned unchanged up to
    rounding."""
    v = (vcov + vcov.T) / 2.0
    vals, vecs = np.linalg.eigh(v)
    if vals.min(initial=0.0) >= 0.0:
        return np.asarray(v, dtype=float)
    fixed = (vecs * np.clip(vals, 0.0, None)) @ vecs.T
    return np.asarray((fixed + fixed.T) / 2.0, dtype=float)


def _etwfe_design(panel: Panel, control: ControlGroup, msgs: list[str]) -> tuple[
        pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[Any, Any]], int]:
    """The ETWFE Poisson regressors of ``panel``: ``(data, g, t, x, y, cells, n_base)`` with ``x`` the intercept,
    cohort and period dummies (``n_base`` columns) then one dummy per treated cell in ``cells``. Shared by the full
    fit and the estimate-only refit so both estimate the same model."""
    data = panel.data
    g, t = data["_g"].to_numpy(), data["_t"].to_numpy()
    has_never = bool((g == 0).any())
    if control == "never" and not has_never:
        raise EstimationError(f"no never-treated units in {panel.cohort!r} for control='never'. Fix: use "
                              "control='notyet'.")
    if not has_never:
        last = g.max()
        keep = t < last
        warn(f"no never-treated units: periods from {last:g} on are dropped (no untreated comparison)", msgs)
        data = data.loc[keep].reset_index(drop=True)
        g, t = data["_g"].to_numpy(), data["_t"].to_numpy()
    times = np.sort(np.unique(t))
    cohorts = np.sort(np.unique(g[g > 0]))
    cols = [np.ones(g.size)]
    cols += [(g == c).astype(float) for c in cohorts]
    cols += [(t == s).astype(float) for s in times[1:]]
    n_base = len(cols)
    if control == "notyet":
        cells = [(c, s) for c in cohorts for s in times if s >= c]
    else:
        cells = [(c, s) for c in cohorts for s in times if s != times[times < c].max(initial=-np.inf)]
        cells = [(c, s) for c, s in cells if (times < c).any()]
    cells = [(c, s) for c, s in cells if ((g == c) & (t == s)).any()]
    # Poisson separation: a cohort whose baseline observations (those no interaction covers) are all zero has a
    # cohort effect of -infinity, its interactions diverge and the sandwich is numerically singular (asymmetric,
    # negative variances). Its effects are not identified, so the cohort is dropped, as fixest drops separated
    # observations, and the fit says so.
    y_all = data["_y"].to_numpy()
    covered = np.zeros(g.size, dtype=bool)
    for c, s in cells:
        covered |= (g == c) & (t == s)
    separated = [c for c in cohorts if y_all[(g == c) & ~covered].sum() == 0]
    if separated:
        warn(f"cohort(s) {', '.join(f'{c:g}' for c in separated)} dropped: their baseline observations (outside "
             "the cohort x period interactions) are all zero counts, so their effects are not identified "
             "(Poisson separation)", msgs)
        keep = ~np.isin(g, separated)
        data = data.loc[keep].reset_index(drop=True)
        g, t = data["_g"].to_numpy(), data["_t"].to_numpy()
        cohorts = np.array([c for c in cohorts if c not in separated])
        if cohorts.size == 0:
            raise EstimationError("every treated cohort is separated (its baseline observations are all zero "
                                  "counts), so the ETWFE Poisson model has no identified effect. Fix: use a linear "
                                  "estimator or a longer window.")
        cells = [(c, s) for c, s in cells if c not in separated]
        cols = [np.ones(g.size)]
        cols += [(g == c).astype(float) for c in cohorts]
        cols += [(t == s).astype(float) for s in times[1:]]
        n_base = len(cols)
    cols += [((g == c) & (t == s)).astype(float) for c, s in cells]
    x = np.column_stack(cols)
    y = data["_y"].to_numpy()
    if x.shape[1] >= y.size:
        raise EstimationError(f"the ETWFE model has {x.shape[1]} parameters for {y.size} observations (saturated). "
                              "Fix: use a longer window or more comparison units.")
    return data, g, t, x, y, cells, n_base


def _poisson_irls(x: np.ndarray, y: np.ndarray, *, tol: float = 1e-10, maxiter: int = 25) -> np.ndarray:
    """Pooled Poisson QMLE coefficients by IRLS, step for step pyfixest's ``fepois`` without fixed effects (its
    start ``mu = (y + mean(y)) / 2``, fixest's deviance criterion, ``tol``, and at most ``maxiter`` updates, the
    last one kept if it has not converged, as pyfixest does), so the estimates agree to rounding."""
    def deviance(mu: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(2 * np.sum(np.where(y == 0, 0.0, y * np.log(y / mu)) - (y - mu)))

    mu = (y + y.mean()) / 2
    eta = np.log(mu)
    last = deviance(mu)
    beta = np.zeros(x.shape[1])
    for _ in range(maxiter):
        z = eta + y / mu - 1
        wx = x * mu[:, None]
        try:
            beta = np.linalg.solve(x.T @ wx, wx.T @ z)
        except np.linalg.LinAlgError as err:
            raise EstimationError("the ETWFE Poisson model cannot be fitted (singular information matrix). Fix: "
                                  "drop that cohort or use a linear estimator.") from err
        eta = x @ beta
        mu = np.exp(eta)
        dev = deviance(mu)
        crit = abs(dev - last) / (0.1 + abs(last))
        last = dev
        if crit < tol:
            break
    return beta


def etwfe_estimate(request: Request, *, control: ControlGroup = "notyet") -> float:
    """The headline ``estimate`` of :func:`etwfe_poisson` only (same model, same ATT aggregation), without its
    standard errors, event study or the pyfixest fit: randomisation inference refits it once per assignment, and
    building a formula model matrix per refit costs ten times the fit. Raises :class:`EstimationError` where
    :func:`etwfe_poisson` does (a saturated or collinear design)."""
    check_literal(control, ControlGroup, "control")
    panel, msgs = request.start()
    _, g, t, x, y, cells, n_base = _etwfe_design(panel, control, msgs)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise EstimationError("the ETWFE Poisson model cannot be fitted: a cohort x period cell has only zero counts "
                              "(or a dummy is collinear). Fix: drop that cohort or use a linear estimator.")
    beta = _poisson_irls(x.astype(float), y.astype(float))
    eta = x @ beta
    total = weight = 0.0
    for j, (c, s) in enumerate(cells):
        if s < c:
            continue  # pre-onset placebo cells (control="never") do not enter the ATT
        m = (g == c) & (t == s)
        mu1 = np.exp(eta[m])
        total += float(np.sum(mu1 - mu1 * np.exp(-beta[n_base + j])))
        weight += float(m.sum())
    if weight == 0:
        raise EstimationError("the ETWFE Poisson model has no treated post-onset cell.")
    return total / weight


def etwfe_poisson(
    request: Request,
    *,
    control: ControlGroup = "notyet",
) -> EstimationResult:
    """Wooldridge's (2023) extended two-way fixed effects with an exponential mean (ETWFE Poisson).

    Model (pooled Poisson QMLE): ``E[y_it] = exp(a + c_g + b_t + sum_{(g,s)} delta_{g,s} 1[G_i = g, t = s])``
    with cohort effects ``c_g``, period effects ``b_t`` and one interaction per treated cohort x post-onset period
    (``control="notyet"``: all untreated cells form the baseline) or per cohort x period other than ``g - 1``
    (``control="never"``: only never-treated units are the baseline; pre-onset cells give placebo effects).

    Estimand
        ``group_time``: ATT(g,t) on the level (count) scale, the average partial effect
        ``E[exp(eta) - exp(eta - delta_{g,t})]`` over the cell's units. ``estimate``: the observation-weighted
        average of post-onset ATT(g,t) (R ``etwfe::emfx(type = "simple")``); ``event_study`` by event time.
    Assumptions
        Parallel trends in the log of the untreated mean (ratio parallel trends), no anticipation; effects may
        vary by cohort and period. Identification needs never-treated units for ``control="never"``.
    Standard errors
        Cluster-robust sandwich by unit (or ``cluster``) with R fixest's default small-sample correction
        ``G/(G-1) * (n-1)/(n-K)`` (``K``: cohort, period and interaction parameters), as R ``etwfe`` (which fits
        with fixest); delta method for the ATT(g,t) and aggregates; t(G-1) critical values (the package's rule).

    References
    ----------
    Wooldridge, J. M. (2023). Simple approaches to nonlinear difference-in-differences with panel data.
    *The Econometrics Journal* 26(3), C31-C66.
    """
    check_literal(control, ControlGroup, "control")
    panel, msgs = request.start()
    data, g, t, x, y, cells, n_base = _etwfe_design(panel, control, msgs)
    clusters = pd.factorize(data["_cl"], sort=True)[0]
    n_cl = int(clusters.max()) + 1
    # The one Poisson fit of the package (pyfixest fepois): the dummies are explicit regressors, so the fixest
    # small-sample factor counts them exactly as R etwfe's fixed effects are counted.
    frame = pd.DataFrame(x[:, 1:], columns=[f"x{j}" for j in range(1, x.shape[1])])
    frame["y"], frame["cl"] = y, clusters
    fit = _fepois("y ~ " + " + ".join(frame.columns[:-2]), frame)
    if int(fit._N) < y.size or len(fit.coef()) < x.shape[1]:
        raise EstimationError("the ETWFE Poisson model cannot be fitted: a cohort x period cell has only zero counts "
                              "(or a dummy is collinear). Fix: drop that cohort or use a linear estimator.")
    beta = fit.coef().to_numpy(dtype=float)
    vcov = _fix_vcov(np.asarray(fit._vcov, dtype=float))
    # ATT(g,t) on the level scale and its gradient with respect to all parameters
    rows, grads, counts = [], [], []
    for j, (c, s) in enumerate(cells):
        idx = n_base + j
        m = (g == c) & (t == s)
        xm = x[m]
        mu1 = np.exp(xm @ beta)
        mu0 = np.exp(xm @ beta - beta[idx])
        att = float(np.mean(mu1 - mu0))
        xm0 = xm.copy()
        xm0[:, idx] = 0.0
        grad = (xm * mu1[:, None]).mean(axis=0) - (xm0 * mu0[:, None]).mean(axis=0)
        rows.append({"group": int(c), "time": int(s), "estimate": att, "se": float(np.sqrt(grad @ vcov @ grad)),
                     "log_rate_ratio": float(beta[idx]), "mean_untreated": float(mu0.mean())})
        grads.append(grad)
        counts.append(int(m.sum()))
    gt = pd.DataFrame(rows)
    grads_arr, counts_arr = np.asarray(grads), np.asarray(counts, dtype=float)
    post = (gt["time"] >= gt["group"]).to_numpy()

    def combine(mask: np.ndarray) -> tuple[float, float]:
        w = np.where(mask, counts_arr, 0.0)
        w = w / w.sum()
        grad = w @ grads_arr
        return float(w @ gt["estimate"].to_numpy()), float(np.sqrt(grad @ vcov @ grad))

    ev = (gt["time"] - gt["group"]).to_numpy()
    event_times = sorted(int(e) for e in np.unique(ev))
    # one weight row per aggregate: the overall ATT, then each event time (observation-weighted cells)
    w = np.array([np.where(m, counts_arr, 0.0) for m in [post, *(ev == e for e in event_times)]])
    w = w / w.sum(axis=1, keepdims=True)
    agg_grad = w @ grads_arr
    agg_est = w @ gt["estimate"].to_numpy()
    agg_cov = agg_grad @ vcov @ agg_grad.T
    agg_cov = (agg_cov + agg_cov.T) / 2.0  # exact symmetry for the Wald test and the honest-DiD bounds
    agg_se = np.sqrt(np.diag(agg_cov))
    w_post = np.where(post, counts_arr, 0.0)
    base_mean = float(w_post @ gt["mean_untreated"].to_numpy() / w_post.sum())
    est = float(agg_est[0])
    inference = Inference.rule(se_type=f"cluster-robust by {_who(panel)}; fixest default small-sample correction "
                                       "(pyfixest fepois); delta method", n_clusters=n_cl, df=request.df_mode, level=request.level)
    return EstimationResult.from_estimate(
        estimator="etwfe", outcome=panel.outcome, estimate=est, se=float(agg_se[0]), inference=inference,
        n_obs=int(y.size), n_units=int(data["_u"].nunique()),
        estimand="ATT on the count scale: observation-weighted average partial effect over treated post-onset "
                 "cells (Wooldridge ETWFE Poisson)",
        event_study=pd.DataFrame({"event_time": event_times, "estimate": agg_est[1:], "se": agg_se[1:]}),
        event_study_vcov=pd.DataFrame(agg_cov[1:, 1:], index=event_times, columns=event_times),
        group_time=gt[["group", "time", "estimate", "se"]], warnings=tuple(msgs),
        details={"control": control, "proportional_effect": est / base_mean if base_mean > 0 else None,
                 "cells": gt.to_dict("records")},
        counterfactual_mean=base_mean,
    )


__all__ = ["etwfe_estimate", "etwfe_poisson", "negbin", "pearson_dispersion", "poisson"]
