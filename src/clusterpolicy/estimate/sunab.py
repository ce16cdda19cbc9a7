"""Sun & Abraham (2021) interaction-weighted (IW) event study, matching R fixest's ``sunab()``.

The regression saturates cohort x relative-time cells (reference period -1 in every cohort) with unit and time
fixed effects; never-treated units (or, without them, the last-treated cohort) form the comparison group. Cell
coefficients are then averaged with weights equal to each cell's share of observations, as fixest's
``aggregate``/``summary(agg = ...)`` do, and the covariance follows by the delta method (``W V W'``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from clusterpolicy.estimate._panel import Panel, check_treatment_variation, prepare_panel, warn
from clusterpolicy.estimate.literals import SSC
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.estimate.twfe import _se_text, _t_inference, fit_twfe_ols

logger = logging.getLogger(__name__)


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
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    ssc: SSC = "fixest",
    level: float = 0.95,
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
        method; t(G-1) intervals.

    References
    ----------
    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with heterogeneous
    treatment effects. *Journal of Econometrics* 225(2), 175-199.
    """
    covariates = tuple(covariates)
    panel = prepare_panel(df, unit=unit, time=time, cohort=cohort, outcome=outcome, covariates=covariates,
                          cluster=cluster)
    check_treatment_variation(panel)
    msgs = list(panel.warnings)
    if not (panel.data["_g"] == 0).any():
        last = panel.data["_g"].max()
        warn(f"no never-treated units: cohort {last:g} is the comparison group and periods from {last:g} on are "
             "dropped", msgs)
        data = panel.data[panel.data["_t"] < last]
        data = data.assign(_g=np.where(data["_g"] == last, 0.0, data["_g"]))
        data = data.assign(_e=np.where(data["_g"] > 0, data["_t"] - data["_g"], -1000),
                           _d=((data["_g"] > 0) & (data["_t"] >= data["_g"])).astype(float)).reset_index(drop=True)
        panel = Panel(data=data, unit=panel.unit, time=panel.time, cohort=panel.cohort, outcome=panel.outcome,
                      cluster=panel.cluster, warnings=panel.warnings)
    cells = _cell_dummies(panel, ref=-1)
    regs = pd.concat([cells, panel.data[list(covariates)].reset_index(drop=True)], axis=1)
    fit = fit_twfe_ols(panel, regs, ssc=ssc)
    names = list(cells.columns)
    counts = cells.sum(axis=0)
    eg = pd.DataFrame([_parse(n) for n in names], columns=["event_time", "group"], index=names)
    beta = fit.params[names].to_numpy()
    v = fit.cov.loc[names, names].to_numpy()
    dof = fit.n_clusters - 1
    q = float(stats.t.ppf(0.5 + level / 2, dof))

    def combine(mask: np.ndarray) -> tuple[float, float]:
        w = np.where(mask, counts.to_numpy(), 0.0)
        w = w / w.sum()
        return float(w @ beta), float(np.sqrt(w @ v @ w))

    rows = []
    for e in sorted(eg["event_time"].unique()):
        est, se = combine((eg["event_time"] == e).to_numpy())
        rows.append({"event_time": int(e), "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se})
    es = pd.DataFrame(rows)
    cohort_rows = []
    for g in sorted(eg["group"].unique()):
        est, se = combine(((eg["group"] == g) & (eg["event_time"] >= 0)).to_numpy())
        cohort_rows.append({"group": int(g), "estimate": est, "se": se})
    att, att_se = combine((eg["event_time"] >= 0).to_numpy())
    low, high, p = _t_inference(att, att_se, dof, level)
    cell_table = eg.assign(estimate=beta, se=np.sqrt(np.diag(v)), n_obs=counts.to_numpy()).reset_index(drop=True)
    return EstimationResult(
        estimator="sa", outcome=outcome, estimate=att, se=att_se, ci_low=low, ci_high=high, p_value=p,
        n_obs=fit.n_obs, n_units=panel.n_units,
        estimand="Sun-Abraham ATT: observation-weighted average of post-treatment cohort x event-time effects",
        se_type=_se_text(panel, ssc) + "; delta method for aggregates", event_study=es,
        group_time=pd.DataFrame({"group": cell_table["group"], "time": cell_table["group"] + cell_table["event_time"],
                                 "estimate": cell_table["estimate"], "se": cell_table["se"]}),
        warnings=tuple(msgs),
        details={"ssc": ssc, "n_clusters": fit.n_clusters, "df_k": fit.df_k, "cohort": cohort_rows},
    )
