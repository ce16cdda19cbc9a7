"""Diagnostics of a staggered-adoption estimate: the Goodman-Bacon decomposition of the static TWFE coefficient and
leave-one-unit (or cluster) out re-estimation.

* :func:`bacon_decomposition` -- writes the static two-way fixed-effects coefficient as a weighted average of all
  2x2 difference-in-differences comparisons between timing groups (Goodman-Bacon 2021), with the labels of R
  ``bacondecomp::bacon()``. It shows how much of the TWFE estimate rests on the "forbidden" comparisons of later
  adopters against already-treated units.
* :func:`leave_one_out` -- re-estimates any estimator without each unit (or cluster) in turn: how much does one
  region drive the result?

References
----------
Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. *Journal of Econometrics*
225(2), 254-277.
Flack, E. and Jee, E. (2022). bacondecomp: Goodman-Bacon decomposition. R package (``R/bacon.R``: pair
construction, sample windows and type labels followed here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate._panel import Panel, check_treatment_variation, require_columns
from clusterpolicy.estimate.result import EstimationResult, clean_float

#: Comparison types, with R bacondecomp's labels.
TREATED_VS_UNTREATED = "Treated vs Untreated"
EARLIER_VS_LATER = "Earlier vs Later Treated"
LATER_VS_EARLIER = "Later vs Earlier Treated"
LATER_VS_ALWAYS = "Later vs Always Treated"
BACON_TYPES = (TREATED_VS_UNTREATED, EARLIER_VS_LATER, LATER_VS_EARLIER, LATER_VS_ALWAYS)
#: Types whose control group is already treated (its own effect changes enter the comparison).
FORBIDDEN_TYPES = (LATER_VS_EARLIER, LATER_VS_ALWAYS)


# ----------------------------------------------------------------------------------------------------------------
# Balanced panels as matrices (shared with clusterpolicy.estimate.few_treated)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BalancedPanel:
    """A balanced panel as ``units x periods`` matrices.

    Attributes
    ----------
    panel
        The prepared panel (:func:`~clusterpolicy.estimate._panel.prepare_panel`).
    units
        Unit labels, in the row order of ``y`` and ``d``.
    times
        Periods, in the column order.
    y, d
        Outcome and treatment indicator (``_d``), shape ``(n_units, n_periods)``.
    cohort
        First treated period per unit (``_g``; 0 = never treated, cohorts after the last period recoded to 0).
    """

    panel: Panel
    units: np.ndarray
    times: np.ndarray
    y: np.ndarray
    d: np.ndarray
    cohort: np.ndarray


def balanced_panel(panel: Panel, *, what: str) -> BalancedPanel:
    """Reshape a prepared panel to matrices; :class:`UserInputError` (one line) if it is unbalanced."""
    data = panel.data
    n_u, times = panel.n_units, panel.times
    if len(data) != n_u * times.size:
        counts = data.groupby(panel.unit)["_t"].size()
        short = list(counts[counts < times.size].index[:5])
        raise UserInputError(
            f"{what} needs a balanced panel: {len(data)} rows for {n_u} units x {times.size} periods (units "
            f"{', '.join(map(str, short))} lack periods, or rows were dropped for a missing outcome). Fix: keep only "
            "units observed in every period (e.g. drop units with missing years) before calling it."
        )
    units = data.groupby("_u", sort=True)[panel.unit].first().to_numpy()
    y = data["_y"].to_numpy(dtype=float).reshape(n_u, times.size)
    d = data["_d"].to_numpy(dtype=float).reshape(n_u, times.size)
    g = data["_g"].to_numpy(dtype=float).reshape(n_u, times.size)[:, 0]
    return BalancedPanel(panel=panel, units=units, times=times, y=y, d=d, cohort=g)


def demean2(z: np.ndarray) -> np.ndarray:
    """Two-way (row and column) demeaning of a balanced ``units x periods`` matrix: exact within transformation."""
    out: np.ndarray = z - z.mean(axis=1, keepdims=True) - z.mean(axis=0, keepdims=True) + z.mean()
    return out


# ----------------------------------------------------------------------------------------------------------------
# Goodman-Bacon decomposition
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaconDecomposition:
    """The Goodman-Bacon decomposition of the static TWFE coefficient.

    Attributes
    ----------
    table
        One row per 2x2 comparison: ``treated`` (cohort of the group whose treatment switches on), ``control``
        (cohort of the comparison group, ``"never"`` for never-treated units; always-treated units carry the first
        period as cohort), ``type`` (R bacondecomp label), ``weight`` (non-negative, summing to one), ``estimate``
        (the 2x2 DiD), ``n_treated_units``, ``n_control_units`` and the sample window ``time_from``/``time_to``.
    summary
        One row per type: ``type``, ``weight`` (sum) and ``estimate`` (weight-averaged 2x2 estimate).
    twfe_estimate
        ``sum(weight * estimate)``: equals the static TWFE coefficient (Goodman-Bacon 2021, Theorem 1).
    forbidden_weight
        Total weight of comparisons whose control group is already treated (``Later vs Earlier Treated`` and
        ``Later vs Always Treated``).
    """

    outcome: str
    table: pd.DataFrame
    summary: pd.DataFrame
    twfe_estimate: float
    forbidden_weight: float
    n_units: int
    n_periods: int
    warnings: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """The 2x2 table (a copy)."""
        return self.table.copy()

    def summary_text(self) -> str:
        """Plain-text summary by comparison type."""
        lines = [f"Goodman-Bacon decomposition of the TWFE coefficient on {self.outcome}: {self.twfe_estimate:.6g}"]
        for rec in self.summary.to_dict("records"):
            lines.append(f"  {rec['type']:<26} weight {rec['weight']:.4f}  avg estimate {rec['estimate']:.6g}")
        lines.append(f"  weight on already-treated controls: {self.forbidden_weight:.4f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        rows = [{"treated": float(r["treated"]), "control": r["control"] if r["control"] == "never"
                 else float(r["control"]), "type": r["type"], "weight": clean_float(r["weight"]),
                 "estimate": clean_float(r["estimate"])} for r in self.table.to_dict("records")]
        return {
            "outcome": self.outcome, "twfe_estimate": clean_float(self.twfe_estimate),
            "forbidden_weight": clean_float(self.forbidden_weight), "n_units": self.n_units,
            "n_periods": self.n_periods, "comparisons": rows,
            "summary": [{"type": r["type"], "weight": clean_float(r["weight"]), "estimate": clean_float(r["estimate"])}
                        for r in self.summary.to_dict("records")],
            "warnings": list(self.warnings),
        }


def _bacon_type(treated: float, control: float, first_period: float) -> str:
    if math.isinf(control):
        return TREATED_VS_UNTREATED
    if control == first_period:
        return LATER_VS_ALWAYS
    return LATER_VS_EARLIER if treated > control else EARLIER_VS_LATER


def bacon_decomposition(panel: Panel) -> BaconDecomposition:
    """Goodman-Bacon (2021) decomposition of the static TWFE coefficient into 2x2 DiD comparisons.

    Estimand
        The coefficient ``beta`` of ``y_it = a_i + b_t + beta * D_it + e_it`` (:func:`clusterpolicy.estimate.twfe.
        twfe`) on a balanced panel equals ``sum_kl s_kl * beta_kl``: a weighted average of every 2x2 DiD between
        a timing group ``k`` whose treatment switches on and a comparison group ``l`` that does not switch within
        the window, with weights ``s_kl >= 0`` summing to one that grow with group size and with the variance of
        treatment within the pair (``s_kl`` proportional to ``rows_kl * sum(Dtilde_kl**2)``, the within-pair sum
        of squares of two-way demeaned treatment times the pair's observations; Goodman-Bacon 2021, eq. 10a-10e).
    Comparisons (R ``bacondecomp`` labels)
        ``Treated vs Untreated`` (``k`` against never-treated units, all periods), ``Earlier vs Later Treated``
        (``k < l``, periods before ``l`` adopts), ``Later vs Earlier Treated`` (``k > l``, periods from ``l``'s
        adoption on: the control group is already treated, so changes in its effect bias ``beta``) and ``Later
        vs Always Treated`` (units treated from the first period serve as an always-treated control; they are
        never a treated group). Units whose cohort is at or before the first period are always treated.
    Assumptions
        Balanced panel, binary absorbing treatment, no covariates (the controlled decomposition is not
        implemented). The decomposition itself is an algebraic identity; interpreting ``beta_kl`` as causal needs
        parallel trends and, for the already-treated comparisons, constant effects.

    Parameters
    ----------
    panel
        The prepared panel (:func:`~clusterpolicy.estimate._panel.prepare_panel`, the one preparation every
        estimator uses); it must have no covariates.

    Returns
    -------
    BaconDecomposition

    Raises
    ------
    UserInputError
        Unbalanced panel or covariates requested.
    EstimationError
        No treatment variation, or no 2x2 comparison.

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. *Journal of
    Econometrics* 225(2), 254-277.
    """
    if panel.covariates:
        raise UserInputError(
            f"bacon_decomposition does not take covariates (got {', '.join(panel.covariates)}): only the "
            "uncontrolled decomposition is implemented. Fix: drop the covariates, or use R bacondecomp for the "
            "controlled one."
        )
    check_treatment_variation(panel)
    bp = balanced_panel(panel, what="the Goodman-Bacon decomposition")
    times = bp.times
    first = float(times[0])
    # effective treatment time as in bacondecomp: first treated period observed; Inf = never treated
    g = np.where(bp.cohort > 0, np.maximum(bp.cohort, first), np.inf)
    groups = np.unique(g)
    rows = []
    for k in groups:
        if math.isinf(k) or k == first:
            continue
        for c in groups:
            if c == k:
                continue
            sel_u = (g == k) | (g == c)
            sel_t = times < c if k < c else times >= c
            y = bp.y[np.ix_(sel_u, sel_t)]
            d = bp.d[np.ix_(sel_u, sel_t)]
            d_t = demean2(d)
            ss = float((d_t**2).sum())
            if ss <= 1e-14 * d.size:
                continue
            est = float((d_t * demean2(y)).sum() / ss)
            rows.append({"treated": float(k), "control": "never" if math.isinf(c) else float(c),
                         "type": _bacon_type(float(k), float(c), first), "raw_weight": d.size * ss,
                         "estimate": est, "n_treated_units": int((g == k).sum()),
                         "n_control_units": int((g == c).sum()), "time_from": float(times[sel_t][0]),
                         "time_to": float(times[sel_t][-1])})
    if not rows:
        raise EstimationError(
            "no 2x2 comparison is identified (one timing group only). Fix: the data need never-treated units, "
            "always-treated units or at least two adoption dates."
        )
    table = pd.DataFrame(rows)
    raw = table.pop("raw_weight")
    table.insert(3, "weight", raw / raw.sum())
    table["control"] = table["control"].astype(object)
    summary = (table.assign(we=table["weight"] * table["estimate"]).groupby("type", sort=False)
               .agg(weight=("weight", "sum"), we=("we", "sum")).reset_index())
    summary["estimate"] = summary["we"] / summary["weight"]
    order = {t: i for i, t in enumerate(BACON_TYPES)}
    summary = (summary.drop(columns="we").sort_values("type", key=lambda s: s.map(order))
               .reset_index(drop=True))
    beta = float((table["weight"] * table["estimate"]).sum())
    forbidden = float(table.loc[table["type"].isin(FORBIDDEN_TYPES), "weight"].sum())
    return BaconDecomposition(outcome=panel.outcome, table=table, summary=summary, twfe_estimate=beta,
                              forbidden_weight=forbidden, n_units=panel.n_units, n_periods=int(times.size),
                              warnings=panel.warnings)


# ----------------------------------------------------------------------------------------------------------------
# Leave one out
# ----------------------------------------------------------------------------------------------------------------
LOO_COLUMNS = ("left_out", "estimate", "se", "ci_low", "ci_high", "status")


@dataclass(frozen=True)
class LeaveOneOutResult:
    """Re-estimates without each unit (or cluster).

    Attributes
    ----------
    table
        One row per left-out unit or cluster: ``left_out, estimate, se, ci_low, ci_high, status`` (``"ok"`` or
        ``"not estimable: <reason>"``; the numbers are NaN then).
    full
        The full-sample :class:`EstimationResult`.
    by
        ``"unit"`` or ``"cluster"`` and the column that was left out (``column``).
    min, max, range
        Smallest and largest leave-one-out estimate among the estimable ones, and ``max - min``.
    argmin, argmax
        The left-out unit (cluster) giving ``min`` and ``max``.
    """

    full: EstimationResult
    table: pd.DataFrame
    by: str
    column: str
    min: float
    max: float
    range: float
    argmin: Any
    argmax: Any
    n_failed: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def full_estimate(self) -> float:
        return float(self.full.estimate)

    def tidy(self) -> pd.DataFrame:
        """The leave-one-out table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text summary."""
        return (f"Leave-one-{self.by}-out ({self.column}): full estimate {self.full_estimate:.6g}; range "
                f"{self.min:.6g} (without {self.argmin}) to {self.max:.6g} (without {self.argmax}); "
                f"{self.n_failed} not estimable")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        def plain(v: Any) -> Any:
            return v.item() if hasattr(v, "item") else v

        rows = [{"left_out": plain(r["left_out"]), **{k: clean_float(r[k]) for k in ("estimate", "se", "ci_low",
                                                                                  "ci_high")},
                 "status": r["status"]} for r in self.table.to_dict("records")]
        return {"by": self.by, "column": self.column, "full": self.full.to_dict(),
                "full_estimate": clean_float(self.full_estimate), "min": clean_float(self.min), "max": clean_float(self.max),
                "range": clean_float(self.range), "argmin": plain(self.argmin), "argmax": plain(self.argmax),
                "n_failed": self.n_failed, "leave_one_out": rows, "warnings": list(self.warnings)}


def leave_one_out(
    df: pd.DataFrame,
    fit: Callable[[pd.DataFrame], EstimationResult],
    *,
    unit: str,
    cluster: str | None = None,
) -> LeaveOneOutResult:
    """Re-estimate without each unit (or each cluster) in turn.

    Estimand
        For each unit (cluster) ``j``, the estimate ``fit`` returns on the data without ``j``: the same estimand
        as ``fit`` on a subsample. A large ``range`` relative to the full-sample SE says one unit drives the
        result (influence diagnostic, not a test).
    Assumptions
        ``fit`` is deterministic given the frame (e.g. a fixed bootstrap seed). A leave-out that makes the
        estimate unidentified (e.g. dropping the only unit of a cohort's comparison group) gives a row with
        ``status = "not estimable: <reason>"`` when ``fit`` raises :class:`EstimationError`; other errors
        propagate.

    Parameters
    ----------
    df
        Long panel; never modified.
    fit
        ``fit(frame) -> EstimationResult``, e.g. ``lambda f: estimate(f, estimator="cs", unit=..., ...)``.
    unit
        Unit column; each unit is left out in turn unless ``cluster`` is given.
    cluster
        Leave out each value of this column (all its units) instead.

    Returns
    -------
    LeaveOneOutResult

    References
    ----------
    Belsley, D. A., Kuh, E. and Welsch, R. E. (1980). *Regression Diagnostics*. Wiley (DFBETA-type influence of
    one observation group).
    """
    if not isinstance(df, pd.DataFrame):
        raise UserInputError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    if not callable(fit):
        raise UserInputError("fit must be a function frame -> EstimationResult, e.g. lambda f: estimate(f, ...).")
    require_columns(df, {"unit": unit, "cluster": cluster})
    column = cluster or unit
    by = "cluster" if cluster else "unit"
    if df[column].isna().any():
        raise UserInputError(f"column {column!r} ({by}) has missing values. Fix: fill or drop those rows.")
    full = fit(df)
    values = pd.unique(df[column])
    try:
        values = np.sort(np.asarray(values))
    except TypeError:  # mixed types: keep order of appearance
        pass
    if len(values) < 2:
        raise UserInputError(f"leave-one-out needs at least 2 values of {column!r}, found {len(values)}.")
    rows = []
    for v in values:
        try:
            res = fit(df.loc[df[column] != v])
            rows.append({"left_out": v, "estimate": float(res.estimate), "se": float(res.se),
                         "ci_low": float(res.ci_low), "ci_high": float(res.ci_high), "status": "ok"})
        except EstimationError as err:
            rows.append({"left_out": v, "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "status": f"not estimable: {err}"})
    table = pd.DataFrame(rows, columns=list(LOO_COLUMNS))
    ok = table[table["status"] == "ok"]
    msgs: list[str] = []
    n_failed = int(len(table) - len(ok))
    if n_failed:
        msgs.append(f"{n_failed} of {len(table)} leave-one-{by}-out fits were not estimable")
    if ok.empty:
        lo = hi = rng = float("nan")
        arg_lo = arg_hi = None
    else:
        i_lo, i_hi = ok["estimate"].idxmin(), ok["estimate"].idxmax()
        lo, hi = float(ok["estimate"].min()), float(ok["estimate"].max())
        rng, arg_lo, arg_hi = hi - lo, ok.at[i_lo, "left_out"], ok.at[i_hi, "left_out"]
    return LeaveOneOutResult(full=full, table=table, by=by, column=column, min=lo, max=hi, range=rng,
                             argmin=arg_lo, argmax=arg_hi, n_failed=n_failed, warnings=tuple(msgs))
