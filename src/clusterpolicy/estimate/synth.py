"""Synthetic control for single-region policies (e.g. Emilia-Romagna's 2017 cluster law).

With one treated region, difference-in-differences has a single treated cluster and no usable cluster-robust
inference. The synthetic control method (Abadie and Gardeazabal, 2003; Abadie, Diamond and Hainmueller, 2010, 2015)
builds the counterfactual as a convex combination of donor regions that reproduces the treated region's
pre-policy path, and judges significance by in-space placebos.

References
----------
Abadie, A. and Gardeazabal, J. (2003). The economic costs of conflict: a case study of the Basque Country.
*American Economic Review* 93(1), 113-132.
Abadie, A., Diamond, A. and Hainmueller, J. (2010). Synthetic control methods for comparative case studies.
*Journal of the American Statistical Association* 105(490), 493-505.
Abadie, A., Diamond, A. and Hainmueller, J. (2015). Comparative politics and the synthetic control method.
*American Journal of Political Science* 59(2), 495-510.
Abadie, A. (2021). Using synthetic controls: feasibility, data requirements, and methodological aspects.
*Journal of Economic Literature* 59(2), 391-425.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate.result import EstimationResult, Inference
from clusterpolicy.estimate.synthdid import simplex_weights_exact

VMethod = Literal["equal", "optimize"]


# ----------------------------------------------------------------------------------------------------------------
# Pure numerics
# ----------------------------------------------------------------------------------------------------------------
def simplex_weights(x1: np.ndarray, x0: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
    """Weights ``w >= 0, sum(w) = 1`` minimising ``sum_k v_k (x1_k - (x0 @ w)_k)^2``.

    Parameters
    ----------
    x1
        Treated unit's predictors, shape ``(k,)``.
    x0
        Donors' predictors, shape ``(k, J)``.
    v
        Non-negative predictor importances (default: all one).

    Notes
    -----
    Solved by the Frank-Wolfe simplex solver shared with synthetic DID
    (:func:`clusterpolicy.estimate.synthdid.simplex_weights_fw`, a port of ``synthdid``'s ``sc.weight.fw``) with no
    ridge penalty and no intercept, in its pairwise variant (Lacoste-Julien and Jaggi, 2015), followed by fully
    corrective steps on the support (:func:`clusterpolicy.estimate.synthdid.simplex_weights_exact`), so the
    unpenalised optimum is reached to machine precision; deterministic (uniform start).
    """
    x1 = np.asarray(x1, dtype=float)
    x0 = np.asarray(x0, dtype=float)
    k, J = x0.shape
    v = np.ones(k) if v is None else np.asarray(v, dtype=float)
    if J == 1:
        return np.ones(1)
    sv = np.sqrt(v)
    A = sv[:, None] * x0
    b = sv * x1
    scale = max(float(np.abs(A).max()), 1e-12)
    w: np.ndarray = np.clip(simplex_weights_exact(A / scale, b / scale, 0.0), 0.0, None)
    w[w < 1e-10] = 0.0
    weights: np.ndarray = w / w.sum()
    return weights


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gap**2))) if gap.size else float("nan")


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray
    v: np.ndarray
    synthetic: np.ndarray  # full path over all periods


def _fit_one(
    y_treated: np.ndarray, y_donors: np.ndarray, p_treated: np.ndarray, p_donors: np.ndarray, pre: np.ndarray,
    v_method: str,
) -> _Fit:
    """Fit weights for one treated series. ``y_*`` are time paths; ``p_*`` predictor matrices (k x 1, k x J)."""
    # Standardise predictors across all units involved so the scale of a predictor does not set its importance.
    allp = np.column_stack([p_treated, p_donors])
    sd = allp.std(axis=1)
    sd[sd <= 0] = 1.0
    x1, x0 = p_treated / sd, p_donors / sd[:, None]
    k = x1.size
    if v_method == "equal" or k == 1:
        v = np.full(k, 1.0 / k)
        w = simplex_weights(x1, x0, v)
    else:
        y1_pre, y0_pre = y_treated[pre], y_donors[pre, :]

        def outer(theta: np.ndarray) -> float:
            vv = np.exp(theta - theta.max())
            vv = vv / vv.sum()
            ww = simplex_weights(x1, x0, vv)
            return float(np.mean((y1_pre - y0_pre @ ww) ** 2))

        res = optimize.minimize(outer, np.zeros(k), method="Nelder-Mead",
                                options={"maxiter": 200 * k, "xatol": 1e-6, "fatol": 1e-12})
        v = np.exp(res.x - res.x.max())
        v = v / v.sum()
        w = simplex_weights(x1, x0, v)
    return _Fit(weights=w, v=v, synthetic=y_donors @ w)


# ----------------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthResult:
    """Synthetic-control estimate for one treated unit.

    Attributes
    ----------
    att
        Average post-treatment gap (treated minus synthetic) over the post periods: the estimated average effect on
        the treated unit over the post-treatment window.
    pre_rmspe, post_rmspe, rmspe_ratio
        Root mean squared prediction error before and after treatment, and their ratio (post / pre).
    path
        Frame ``time, event_time, treated, synthetic, gap, post``.
    weights
        Donor weights (non-negative, summing to one), indexed by donor.
    predictor_weights
        Importance ``v`` of each (standardised) predictor.
    placebos
        One row per donor used as a placebo treated unit: ``unit, pre_rmspe, post_rmspe, rmspe_ratio, att,
        included`` (``included`` False when dropped by the pre-RMSPE filter); ``None`` without placebos.
    p_value
        In-space placebo p-value ``rank / (J + 1)``: the rank of the treated unit's RMSPE ratio (1 = largest)
        among itself and the ``J`` included placebos, i.e. ``(1 + #{placebo ratio >= treated ratio}) / (J + 1)``.
    """

    outcome: str
    treated_unit: str
    treatment_time: int
    att: float
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    path: pd.DataFrame
    weights: pd.Series
    predictor_weights: pd.Series
    placebos: pd.DataFrame | None
    p_value: float | None
    n_placebos_used: int
    v_method: VMethod

    def tidy(self) -> pd.DataFrame:
        """The gap path (one row per period)."""
        return self.path.copy()

    def summary(self) -> str:
        """Plain-text summary."""
        top = self.weights[self.weights > 0].sort_values(ascending=False).head(5)
        lines = [
            f"Synthetic control: {self.treated_unit}, treated from {self.treatment_time}, outcome {self.outcome}",
            f"Average post-treatment gap (ATT): {self.att:.6g}",
            f"Pre-RMSPE {self.pre_rmspe:.4g}   post-RMSPE {self.post_rmspe:.4g}   ratio {self.rmspe_ratio:.3f}",
            "Top donors: " + ", ".join(f"{u} {w:.3f}" for u, w in top.items()),
        ]
        if self.p_value is not None:
            lines.append(f"Placebo p-value (rank/(J+1), J={self.n_placebos_used}): {self.p_value:.4g}")
        return "\n".join(lines)

    def to_estimation_result(self) -> EstimationResult:
        """As an :class:`EstimationResult`: no analytic SE (NaN); p-value from in-space placebos."""
        es = self.path.assign(se=np.nan, ci_low=np.nan, ci_high=np.nan)[
            ["event_time", "gap", "se", "ci_low", "ci_high"]].rename(columns={"gap": "estimate"})
        return EstimationResult(
            estimator="synth", outcome=self.outcome, estimate=self.att, se=float("nan"), ci_low=float("nan"),
            ci_high=float("nan"), n_obs=int(len(self.path) * (1 + (self.weights > 0).sum())),
            n_units=int(1 + self.weights.size), p_value=self.p_value,
            estimand=f"average post-treatment gap between {self.treated_unit} and its synthetic control",
            inference=Inference(se_type="none; p-value from in-space placebos (rank of post/pre RMSPE ratio)",
                                n_clusters=int(1 + self.weights.size), method="placebo-in-space"),
            event_study=es.reset_index(drop=True),
            details={"weights": {str(k): float(v) for k, v in self.weights.items()},
                     "pre_rmspe": self.pre_rmspe, "rmspe_ratio": self.rmspe_ratio},
        )


# ----------------------------------------------------------------------------------------------------------------
# Public entry point
# ----------------------------------------------------------------------------------------------------------------
def _wide(df: pd.DataFrame, unit: str, time: str, column: str) -> pd.DataFrame:
    dup = df.duplicated([unit, time])
    if dup.any():
        rows = df.loc[dup, [unit, time]].head(3).to_dict("records")
        raise UserInputError(f"synthetic_control: duplicate ({unit}, {time}) rows, e.g. {rows}; keep one row per "
                             "unit and period.")
    return df.pivot(index=time, columns=unit, values=column).sort_index()


def synthetic_control(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_unit: str,
    treatment_time: int,
    donors: Sequence[str] | None = None,
    predictors: Sequence[str] = (),
    outcome_lags: Sequence[int] | Literal["all"] | None = "all",
    v_method: VMethod = "equal",
    placebo: bool = True,
    placebo_pre_rmspe_cutoff: float | None = None,
) -> SynthResult:
    """Abadie-Diamond-Hainmueller synthetic control with in-space placebo inference.

    Parameters
    ----------
    df
        Long panel with one row per unit and period; not modified.
    unit, time, outcome
        Column names.
    treated_unit, treatment_time
        The single treated unit and its first treated period.
    donors
        Donor pool (default: every other unit). Donors should be untouched by similar policies.
    predictors
        Extra columns averaged over the pre-treatment periods and matched (e.g. R&D intensity).
    outcome_lags
        Pre-treatment periods whose outcome values are matched: ``"all"`` (default), a list of periods, or
        ``None`` (only ``predictors``).
    v_method
        ``"equal"``: equal importance of the standardised predictors. ``"optimize"``: ADH's nested choice of ``V``
        minimising the pre-treatment outcome MSPE (Nelder-Mead over log-weights; slower).
    placebo
        Re-run the method with each donor as the treated unit (donor pool: the other donors) for inference.
    placebo_pre_rmspe_cutoff
        If set to ``k``, drop placebos whose pre-RMSPE exceeds ``k`` times the treated unit's (ADH 2010 use 20, 5
        and 2): a placebo that cannot be fitted before treatment says nothing about the treated unit's fit after.

    Returns
    -------
    SynthResult

    Notes
    -----
    Estimand: the effect on the treated unit, ``Y_1t(1) - Y_1t(0)`` for ``t >= treatment_time``, estimated by the
    gap ``Y_1t - sum_j w_j Y_jt``. Weights solve ``min_w (X1 - X0 w)' V (X1 - X0 w)`` s.t. ``w >= 0, sum w = 1``
    on standardised predictors. Assumptions: no anticipation, no interference with donors, and the treated unit's
    untreated path is approximated by a convex combination of donors (justified by a good pre-treatment fit over a
    long pre-period; ADH 2010 motivate it by a linear factor model). The placebo p-value treats the assignment of
    the policy to units as random; it cannot be smaller than ``1 / (J + 1)``.
    """
    cols = [unit, time, outcome, *predictors]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise UserInputError(f"synthetic_control: column(s) {missing} not found; available: {list(df.columns)}.")
    if v_method not in ("equal", "optimize"):
        raise UserInputError(f"synthetic_control: v_method={v_method!r} must be 'equal' or 'optimize'.")
    data = df[cols].copy()
    data[unit] = data[unit].astype(str)
    treated_unit = str(treated_unit)
    units = sorted(data[unit].unique())
    if treated_unit not in units:
        raise UserInputError(f"synthetic_control: treated_unit '{treated_unit}' not found in column '{unit}'.")
    pool = sorted(str(d) for d in donors) if donors is not None else [u for u in units if u != treated_unit]
    unknown = sorted(set(pool) - set(units))
    if unknown:
        raise UserInputError(f"synthetic_control: donors {unknown[:5]} not found in column '{unit}'.")
    pool = [u for u in pool if u != treated_unit]
    if len(pool) < 2:
        raise EstimationError("synthetic_control: need at least 2 donor units.")

    Y = _wide(data, unit, time, outcome)[[treated_unit, *pool]]
    if Y.isna().any().any():
        bad = list(Y.columns[Y.isna().any()][:5])
        raise UserInputError(f"synthetic_control: outcome '{outcome}' is missing for unit(s) {bad} in some "
                             "periods; the panel must be balanced (drop those donors or fill the gaps).")
    times = Y.index.to_numpy()
    pre = times < treatment_time
    if pre.sum() < 2 or (~pre).sum() < 1:
        raise EstimationError(f"synthetic_control: treatment_time={treatment_time} leaves {int(pre.sum())} pre and "
                              f"{int((~pre).sum())} post periods; need >= 2 pre and >= 1 post.")
    P = _predictor_matrix(data, Y, unit, time, predictors, outcome_lags, times[pre])

    fit = _fit_one(Y[treated_unit].to_numpy(), Y[pool].to_numpy(), P[treated_unit].to_numpy(),
                   P[pool].to_numpy(), pre, v_method)
    y1 = Y[treated_unit].to_numpy()
    gap = y1 - fit.synthetic
    pre_r, post_r = _rmspe(gap[pre]), _rmspe(gap[~pre])
    ratio = post_r / pre_r if pre_r > 0 else float("inf")
    path = pd.DataFrame({
        "time": times, "event_time": times - treatment_time, "treated": y1, "synthetic": fit.synthetic,
        "gap": gap, "post": (~pre).astype(int),
    })

    placebos, p_value, n_used = None, None, 0
    if placebo:
        rows = []
        for j in pool:
            others = [u for u in pool if u != j]
            pf = _fit_one(Y[j].to_numpy(), Y[others].to_numpy(), P[j].to_numpy(), P[others].to_numpy(), pre, v_method)
            pg = Y[j].to_numpy() - pf.synthetic
            pr, po = _rmspe(pg[pre]), _rmspe(pg[~pre])
            rows.append({"unit": j, "pre_rmspe": pr, "post_rmspe": po,
                         "rmspe_ratio": po / pr if pr > 0 else float("inf"), "att": float(pg[~pre].mean())})
        placebos = pd.DataFrame(rows)
        keep = np.ones(len(placebos), dtype=bool)
        if placebo_pre_rmspe_cutoff is not None:
            keep = placebos["pre_rmspe"].to_numpy() <= placebo_pre_rmspe_cutoff * pre_r
        placebos["included"] = keep
        ratios = placebos.loc[keep, "rmspe_ratio"].to_numpy()
        n_used = int(keep.sum())
        p_value = float((1 + np.sum(ratios >= ratio * (1 - 1e-12))) / (n_used + 1))

    return SynthResult(
        outcome=outcome, treated_unit=treated_unit, treatment_time=int(treatment_time),
        att=float(gap[~pre].mean()), pre_rmspe=pre_r, post_rmspe=post_r, rmspe_ratio=ratio, path=path,
        weights=pd.Series(fit.weights, index=pd.Index(pool, name=unit), name="weight"),
        predictor_weights=pd.Series(fit.v, index=P.index, name="v"), placebos=placebos, p_value=p_value,
        n_placebos_used=n_used, v_method=v_method,
    )


def _predictor_matrix(
    data: pd.DataFrame, Y: pd.DataFrame, unit: str, time: str, predictors: Sequence[str],
    outcome_lags: Sequence[int] | str | None, pre_times: np.ndarray,
) -> pd.DataFrame:
    """Rows = predictors (pre-period means of ``predictors`` then outcome lags), columns = units."""
    blocks = []
    if predictors:
        pre_rows = data[data[time].isin(pre_times)]
        means = pre_rows.groupby(unit)[list(predictors)].mean().T
        blocks.append(means.reindex(columns=Y.columns))
    if outcome_lags is not None:
        lags = list(pre_times) if isinstance(outcome_lags, str) and outcome_lags == "all" else list(outcome_lags)
        bad = [t for t in lags if t not in set(pre_times)]
        if bad:
            raise UserInputError(f"synthetic_control: outcome_lags {bad} are not pre-treatment periods.")
        block = Y.loc[lags]
        block.index = [f"outcome@{t}" for t in lags]
        blocks.append(block)
    if not blocks:
        raise UserInputError("synthetic_control: nothing to match; give predictors or outcome_lags.")
    P = pd.concat(blocks)
    if P.isna().any().any():
        bad = list(P.index[P.isna().any(axis=1)][:5])
        raise UserInputError(f"synthetic_control: predictor(s) {bad} missing for some units in the pre-period.")
    return P
