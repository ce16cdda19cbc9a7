"""Sun & Abraham (2021) interaction-weighted (IW) event study, matching R fixest's ``sunab()``.

The regression saturates cohort x relative-time cells (reference period -1 in every cohort) with unit and time
fixed effects; never-treated units (or, without them, the last-treated cohort) form the comparison group. Cell
coefficients are then averaged with weights equal to each cell's share of observations, as fixest's
``aggregate``/``summary(agg = ...)`` do, and the covariance follows by the delta method (``W V W'``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterpolicy.estimate._panel import Panel, Request, warn
from clusterpolicy.estimate.literals import SSC
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.estimate.twfe import few_cluster_warning, fit_twfe_ols, linear_combinations


def _cell_dummies(panel: Panel, ref: int) -> pd.DataFrame:
    data = panel.data
    treated = data["_g"] > 0
    cells = data.loc[treated & (data["_e"] != ref), ["_g", "_e"]].drop_duplicates().sort_values(["_e", "_g"])
    g, e = data["_g"].to_numpy(), data["_e"].to_numpy()
    return pd.DataFrame({
        f"e::{int(ce)}:g::{int(cg)}": ((g == cg) & (e == ce)).astype(float)
        for cg, ce in zip(cells["_g"], cells["_e"], strict=True)
    })


def _parse(name: str) -> tuple[int, int]:
    e_part, g_part = name.split(":g::")
    return int(e_part.split("::")[1]), int(g_part)


def sun_abraham(
    request: Request,
    *,
    ssc: SSC = "fixest",
) -> EstimationResult:
    """Sun and Abraham (2021) interaction-weighted estimator.

    Model: ``y_it = a_i + b_t + sum_{g} sum_{e != -1} delta_{g,e} 1[G_i = g] 1[t - g = e] + e_it`` over treated
    cohorts ``g``. ``event_study``: for each ``e``, ``sum_g w_{g,e} delta_{g,e}`` with ``w`` the cohorts' shares of
    observations at ``e``. ``estimate``: the ATT, the observation-weighted average of all ``delta_{g,e}`` with
    ``e >= 0`` (fixest ``aggregate(m, agg = "ATT")``). ``details['cohort']`` holds cohort averages.

    Assumptions
        No anticipation and parallel trends between every cohort and the comparison group (never-treated units;
        without them the last-treated cohort, whose treated periods are then dropped). Effects may vary freely
        across cohorts and event times.
    Standard errors
        Cluster-robust (default by unit) with fixest's default small-sample correction; aggregated by the delta
        method; t(G-1) intervals (the package's rule). With ``bootstrap``: the score multiplier bootstrap and
        uniform sup-t bands for the event study.

    References
    ----------
    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with heterogeneous
    treatment effects. *Journal of Econometrics* 225(2), 175-199.
    """
    panel, msgs = request.start()
    if not (panel.data["_g"] == 0).any():
        last = panel.data["_g"].max()
        warn(f"no never-treated units: cohort {last:g} is the comparison group and periods from {last:g} on are "
             "dropped", msgs)
        data = panel.data[panel.data["_t"] < last]
        data = data.assign(_g=np.where(data["_g"] == last, 0.0, data["_g"]))
        data = data.assign(_e=np.where(data["_g"] > 0, data["_t"] - data["_g"], -1000),
                           _d=((data["_g"] > 0) & (data["_t"] >= data["_g"])).astype(float)).reset_index(drop=True)
        panel = Panel(data=data, unit=panel.unit, time=panel.time, cohort=panel.cohort, outcome=panel.outcome,
                      cluster=panel.cluster, warnings=panel.warnings, covariates=panel.covariates)
    cells = _cell_dummies(panel, ref=-1)
    regs = pd.concat([cells, panel.data[list(panel.covariates)].reset_index(drop=True)], axis=1)
    fit = fit_twfe_ols(panel, regs, ssc=ssc, scores=request.bootstrap is not None)
    few_cluster_warning(fit.n_clusters, msgs)
    names = list(cells.columns)
    counts = cells.sum(axis=0).to_numpy()
    eg = pd.DataFrame([_parse(n) for n in names], columns=["event_time", "group"], index=names)

    def shares(mask: np.ndarray) -> np.ndarray:
        w = np.where(mask, counts, 0.0)
        share: np.ndarray = w / w.sum()
        return share

    event_times = sorted(int(e) for e in eg["event_time"].unique())
    weights = pd.DataFrame(0.0, index=["overall", *map(str, event_times)], columns=list(fit.params.index))
    weights.loc["overall", names] = shares((eg["event_time"] >= 0).to_numpy())
    for e in event_times:
        weights.loc[str(e), names] = shares((eg["event_time"] == e).to_numpy())
    beta = fit.params[names].to_numpy()
    v = fit.cov.loc[names, names].to_numpy()
    cohort_rows = []
    for g in sorted(eg["group"].unique()):
        w = shares(((eg["group"] == g) & (eg["event_time"] >= 0)).to_numpy())
        cohort_rows.append({"group": int(g), "estimate": float(w @ beta), "se": float(np.sqrt(w @ v @ w))})
    cell_table = eg.assign(estimate=beta, se=np.sqrt(np.diag(v))).reset_index(drop=True)
    return linear_combinations(
        fit, weights, estimator="sa", outcome=panel.outcome, event_times=event_times, panel=panel, ssc=ssc, level=request.level,
        df_mode=request.df_mode, bootstrap=request.bootstrap, msgs=msgs, se_note="; delta method for aggregates",
        estimand="Sun-Abraham ATT: observation-weighted average of post-treatment cohort x event-time effects",
        group_time=pd.DataFrame({"group": cell_table["group"], "time": cell_table["group"] + cell_table["event_time"],
                                 "estimate": cell_table["estimate"], "se": cell_table["se"]}),
        details={"ssc": ssc, "df_k": fit.df_k, "cohort": cohort_rows},
    )
