"""The one result type every estimator returns, and the one small-sample rule every interval follows.

**The inference rule** (stated once here and in the methods appendix). Standard errors are clustered by unit (or by
the ``cluster`` column). Every interval is ``estimate +/- critical_value * se`` and every p-value uses the same
reference distribution:

* default ``df="t"``: Student t with ``G - 1`` degrees of freedom, ``G`` the number of clusters;
* ``df="normal"``: the standard normal (R ``did``'s intervals), for users who want them.

Regression estimators (``twfe``, ``twfe_es``, ``sa``, ``poisson``, ``etwfe``, ``negbin``) compute their standard
errors with R fixest's default small-sample correction ``G/(G-1) * (n-1)/(n-K)``; influence-function estimators
(``cs``, ``imputation``, ``did2s``) keep the standard errors of their R packages (``did``, ``didimputation``,
``did2s``). With ``bootstrap`` the standard errors are the clustered multiplier bootstrap's (:mod:`.bootstrap`) and
event studies gain uniform (sup-t) bands. Every result records what was done in :class:`Inference`.

Report helpers and the CLI read :class:`EstimationResult` (or its :meth:`EstimationResult.tidy` frame) and never
recompute.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: the same quantile functions that scipy.stats.t/norm call, without the half-second
# import of scipy.stats on every CLI start.
from scipy import special

from clusterpolicy.estimate.literals import DFMode, check_literal

EVENT_STUDY_COLUMNS = ("event_time", "estimate", "se", "ci_low", "ci_high", "uniform_low", "uniform_high")
GROUP_TIME_COLUMNS = ("group", "time", "estimate", "se")


def _ri_end(ri: dict[str, Any], end: str) -> str:
    """One end of the randomisation confidence set for the summary (``-inf``/``inf`` when unbounded)."""
    if ri.get(f"ci_{end}_infinite"):
        return "-inf" if end == "low" else "inf"
    value = ri.get(f"ci_{end}")
    return "n/a" if value is None else f"{value:.6g}"


def clean_float(value: Any) -> float | None:
    """JSON-safe float: ``None`` for missing or non-finite values (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def degrees_of_freedom(n_clusters: int, df: DFMode = "t") -> int | None:
    """Degrees of freedom of the rule: ``G - 1`` for ``df="t"``, ``None`` (normal) for ``df="normal"``."""
    check_literal(df, DFMode, "df")
    if df == "normal":
        return None
    return max(int(n_clusters) - 1, 1)


def quantile(q: float, df: int | None) -> float:
    """``q`` quantile of t(df), or of the standard normal when ``df`` is ``None``."""
    return float(special.ndtri(q) if df is None else special.stdtrit(df, q))


def critical_value(level: float, df: int | None) -> float:
    """Two-sided critical value at ``level``: t(df) quantile, or the normal one when ``df`` is ``None``."""
    return quantile(0.5 + level / 2, df)


def p_value(estimate: float, se: float, df: int | None) -> float | None:
    """Two-sided p-value of ``estimate / se`` under t(df) (normal when ``df`` is ``None``)."""
    if se is None or not np.isfinite(se) or se <= 0 or not np.isfinite(estimate):
        return None
    z = abs(estimate / se)
    return float(2 * (special.ndtr(-z) if df is None else special.stdtr(df, -z)))


@dataclass(frozen=True)
class Inference:
    """How the uncertainty of a result was computed.

    Attributes
    ----------
    se_type
        Standard-error convention in words (e.g. "cluster-robust by unit; fixest small-sample correction").
    n_clusters
        Number of clusters ``G``.
    df
        Degrees of freedom of the critical value (``G - 1``), or ``None`` for the normal distribution.
    critical_value
        The pointwise critical value: every interval is ``estimate +/- critical_value * se``.
    level
        Confidence level.
    method
        ``"analytic"``, ``"multiplier bootstrap"``, ``"placebo-in-space"`` or ``"none"``.
    n_boot, boot_weights, seed
        The bootstrap's draws, weights and seed (``None`` without a bootstrap).
    uniform_critical_value
        Sup-t critical value of the event study's uniform bands (from the bootstrap draws), or ``None``.
    """

    se_type: str = ""
    n_clusters: int = 0
    df: int | None = None
    critical_value: float = float("nan")
    level: float = 0.95
    method: str = "analytic"
    n_boot: int | None = None
    boot_weights: str | None = None
    seed: int | None = None
    uniform_critical_value: float | None = None

    @classmethod
    def rule(cls, *, se_type: str, n_clusters: int, df: DFMode = "t", level: float = 0.95,
             **extra: Any) -> Inference:
        """The project's rule for ``n_clusters`` clusters: t(G-1) critical values (or normal with ``df="normal"``)."""
        dof = degrees_of_freedom(n_clusters, df)
        return cls(se_type=se_type, n_clusters=int(n_clusters), df=dof, critical_value=critical_value(level, dof),
                   level=level, **extra)

    def interval(self, estimate: Any, se: Any) -> tuple[Any, Any]:
        """``estimate -/+ critical_value * se`` (arrays or scalars)."""
        return estimate - self.critical_value * se, estimate + self.critical_value * se

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["critical_value"] = clean_float(self.critical_value)
        out["uniform_critical_value"] = clean_float(self.uniform_critical_value)
        return out


def with_intervals(frame: pd.DataFrame, inference: Inference) -> pd.DataFrame:
    """``frame`` (columns ``estimate, se``) with ``ci_low, ci_high`` from the rule."""
    low, high = inference.interval(frame["estimate"].to_numpy(dtype=float), frame["se"].to_numpy(dtype=float))
    return frame.assign(ci_low=low, ci_high=high)


def vcov_to_dict(vcov: pd.DataFrame | None) -> dict[str, Any] | None:
    """``{"event_time": [...], "matrix": [[...]]}`` (the JSON form of an event-study covariance)."""
    if vcov is None:
        return None
    return {"event_time": [int(t) for t in vcov.index],
            "matrix": [[clean_float(v) for v in row] for row in vcov.to_numpy(dtype=float)]}


def vcov_from_dict(payload: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`vcov_to_dict`."""
    times = [int(t) for t in payload["event_time"]]
    return pd.DataFrame(np.asarray(payload["matrix"], dtype=float), index=times, columns=times)


@dataclass(frozen=True)
class PlaceboSummary:
    """Placebo-in-space inference of a result with one treated unit (Ferman and Pinto 2019 studentisation).

    Attributes
    ----------
    p_value, p_value_unstudentised
        Rank p-values of the studentised and the raw estimate among the treated unit and its placebos.
    n_placebos
        Control units the policy was moved to.
    statistic
        The studentised statistic's name (``"pre_sd"``, ``"t"`` or ``"estimate"``).
    ci_low, ci_high
        The set of constant effects the placebo test does not reject (``None`` when unbounded).
    """

    p_value: float
    p_value_unstudentised: float
    n_placebos: int
    statistic: str
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"p_value": clean_float(self.p_value), "p_value_unstudentised": clean_float(self.p_value_unstudentised),
                "n_placebos": int(self.n_placebos), "statistic": self.statistic,
                "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high)}


@dataclass(frozen=True)
class ConleyTaberInterval:
    """Conley-Taber (2011) interval of the static DiD coefficient, built from the controls' residuals.

    ``estimate`` is the static DiD coefficient, which is the result's own estimate only for static TWFE: the
    interval is the published one (``ci_low, ci_high`` of the result) exactly when ``used`` is true.
    """

    estimate: float
    ci_low: float
    ci_high: float
    n_controls: int
    used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": clean_float(self.estimate), "ci_low": clean_float(self.ci_low),
                "ci_high": clean_float(self.ci_high), "n_controls": int(self.n_controls), "used": self.used,
                "note": "static DiD coefficient"}




@dataclass(frozen=True)
class EstimationResult:
    """An overall estimate with its uncertainty, plus optional event-study and group-time detail.

    Attributes
    ----------
    estimator
        Short name (``twfe``, ``cs``, ``sa``, ``imputation``, ``poisson``, ``etwfe``, ``sc``, ``sdid``, ...).
    outcome
        The outcome column.
    estimate, se, ci_low, ci_high
        The overall estimate (its meaning is stated in ``estimand``), standard error and confidence interval
        (``estimate +/- inference.critical_value * se``; missing when the design supports no interval).
    n_obs, n_units
        Observations and units used.
    estimand
        One sentence saying what ``estimate`` is (e.g. "simple average of ATT(g,t) over post-treatment cells").
    inference
        How ``se``, the intervals and ``p_value`` were computed (:class:`Inference`).
    event_study
        Frame with columns ``event_time, estimate, se, ci_low, ci_high`` (plus ``uniform_low, uniform_high`` with
        a bootstrap), or ``None``.
    event_study_vcov
        Covariance of the event-study coefficients indexed by event time (reference period excluded), or ``None``.
    group_time
        Frame with columns ``group, time, estimate, se`` (or ``None``).
    p_value
        Two-sided p-value of the overall estimate under the rule, if meaningful.
    randomization
        Randomisation-inference summary (``p_value``, permutations, strata, quantiles), or ``None``.
    warnings
        Messages about the data or inference (few clusters, dropped rows, ...).
    placebo
        Placebo-in-space inference under the one-treated-unit rule (:class:`PlaceboSummary`), or ``None``.
    conley_taber
        Conley-Taber interval under the one-treated-unit rule (:class:`ConleyTaberInterval`), or ``None``.
    base_period
        ``"varying"`` or ``"universal"``: how the pre-period event-study coefficients are built (R ``did``'s
        ``base_period``), or ``None`` when every coefficient is relative to one reference period.
    counterfactual_mean
        Mean untreated (counterfactual) outcome of the treated post-onset cells (ETWFE), or ``None``: the
        denominator of a proportional effect.
    details
        Anything estimator-specific that is worth keeping (JSON-serialisable). Nothing reads it as a contract.
    """

    estimator: str
    outcome: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n_obs: int
    n_units: int
    estimand: str = ""
    inference: Inference = field(default_factory=Inference)
    event_study: pd.DataFrame | None = None
    event_study_vcov: pd.DataFrame | None = None
    group_time: pd.DataFrame | None = None
    p_value: float | None = None
    randomization: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    placebo: PlaceboSummary | None = None
    conley_taber: ConleyTaberInterval | None = None
    base_period: str | None = None
    counterfactual_mean: float | None = None

    @property
    def se_type(self) -> str:
        """Shorthand for ``inference.se_type``."""
        return self.inference.se_type

    @classmethod
    def from_estimate(cls, *, estimator: str, outcome: str, estimate: float, se: float, inference: Inference,
                      event_study: pd.DataFrame | None = None, **kwargs: Any) -> EstimationResult:
        """Build a result whose intervals and p-values follow ``inference`` (the rule of the module docstring).

        ``event_study`` needs columns ``event_time, estimate, se``; its intervals are added here.
        """
        low, high = inference.interval(float(estimate), float(se))
        if event_study is not None:
            event_study = with_intervals(event_study.reset_index(drop=True), inference)
        return cls(estimator=estimator, outcome=outcome, estimate=float(estimate), se=float(se),
                   ci_low=float(low), ci_high=float(high), p_value=p_value(float(estimate), float(se), inference.df),
                   inference=inference, event_study=event_study, **kwargs)

    # ------------------------------------------------------------------ views
    def tidy(self) -> pd.DataFrame:
        """One row per reported quantity: the overall estimate, then event-study coefficients."""
        rows = [{
            "term": "overall", "event_time": np.nan, "estimate": self.estimate, "se": self.se,
            "ci_low": self.ci_low, "ci_high": self.ci_high,
        }]
        if self.event_study is not None:
            for rec in self.event_study.to_dict("records"):
                rows.append({"term": f"event_time::{int(rec['event_time'])}", **{
                    k: rec.get(k, np.nan) for k in ("event_time", "estimate", "se", "ci_low", "ci_high")
                }})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A short plain-text summary."""
        inf = self.inference
        dist = "normal" if inf.df is None else f"t({inf.df})"
        if math.isfinite(self.ci_low) and math.isfinite(self.ci_high):
            interval = f"{inf.level:.0%} CI {self.ci_low:.6g} to {self.ci_high:.6g}"
        else:
            interval = "no interval: the design does not support one"
        lines = [
            f"Estimator: {self.estimator}    Outcome: {self.outcome}",
            f"Estimand:  {self.estimand}" if self.estimand else "",
            f"Estimate:  {self.estimate:.6g}  (SE {self.se:.6g}; {interval})",
            f"Inference: {inf.method}; {inf.se_type}; G = {inf.n_clusters}"
            + (f"; critical value {inf.critical_value:.4g} ({dist})" if math.isfinite(inf.critical_value) else ""),
            (f"{'Bootstrap' if inf.boot_weights else inf.method.capitalize()}: {inf.n_boot} draws"
             + (f", {inf.boot_weights} weights" if inf.boot_weights else "") + f", seed {inf.seed}"
             + (f"; uniform band critical value {inf.uniform_critical_value:.4g}"
                if inf.uniform_critical_value is not None else "")) if inf.n_boot else "",
            (f"Randomisation inference: p = {self.randomization['p_value']:.4g} "
             f"({self.randomization['n_permutations']} permutations)"
             + (f"; {self.randomization['ci_level']:.0%} set {_ri_end(self.randomization, 'low')} to "
                f"{_ri_end(self.randomization, 'high')}"
                + ("" if self.randomization["ci_connected"] else " (hull; not connected)")
                if "ci_level" in self.randomization else "")) if self.randomization else "",
            (f"Placebos in space: p = {self.placebo.p_value:.4g} ({self.placebo.n_placebos} placebos, "
             f"statistic {self.placebo.statistic})") if self.placebo else "",
            (f"Conley-Taber {inf.level:.0%} interval of the static DiD coefficient: {self.conley_taber.ci_low:.6g} to "
             f"{self.conley_taber.ci_high:.6g} ({self.conley_taber.n_controls} controls"
             + ("; the published interval)" if self.conley_taber.used else ")")) if self.conley_taber else "",
            f"N obs: {self.n_obs}    N units: {self.n_units}",
        ]
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(line for line in lines if line)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the ``clusterpolicy estimate --json`` format)."""
        def records(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> list[dict[str, Any]]:
            if frame is None:
                return []
            out = []
            for rec in frame.to_dict("records"):
                item: dict[str, Any] = {}
                for col in columns:
                    if col not in rec:
                        continue
                    val = rec[col]
                    item[col] = int(val) if col in ("event_time", "group", "time") else clean_float(val)
                out.append(item)
            return out

        overall = {
            "estimate": clean_float(self.estimate), "se": clean_float(self.se),
            "ci_low": clean_float(self.ci_low), "ci_high": clean_float(self.ci_high),
            "p_value": clean_float(self.p_value),
        }
        if self.randomization is not None:
            overall["ri_p_value"] = clean_float(self.randomization.get("p_value"))
            if "ci_level" in self.randomization:  # null with ``randomization.ci_*_infinite`` for an unbounded end
                overall["ri_ci_low"] = self.randomization["ci_low"]
                overall["ri_ci_high"] = self.randomization["ci_high"]
        if self.placebo is not None:
            overall["placebo_p_value"] = clean_float(self.placebo.p_value)
        if self.conley_taber is not None:
            overall["conley_taber_low"] = clean_float(self.conley_taber.ci_low)
            overall["conley_taber_high"] = clean_float(self.conley_taber.ci_high)
        return {
            "estimator": self.estimator,
            "outcome": self.outcome,
            "estimand": self.estimand,
            "se_type": self.inference.se_type,
            "inference": self.inference.to_dict(),
            "overall": overall,
            "event_study": records(self.event_study, EVENT_STUDY_COLUMNS),
            "event_study_vcov": vcov_to_dict(self.event_study_vcov),
            "group_time": records(self.group_time, GROUP_TIME_COLUMNS),
            "randomization": self.randomization,
            "placebo_in_space": None if self.placebo is None else self.placebo.to_dict(),
            "conley_taber": None if self.conley_taber is None else self.conley_taber.to_dict(),
            "base_period": self.base_period,
            "counterfactual_mean": clean_float(self.counterfactual_mean),
            "n_obs": int(self.n_obs),
            "n_units": int(self.n_units),
            "warnings": list(self.warnings),
            "details": self.details,
        }


def build_result(
    *,
    estimator: str,
    outcome: str,
    estimate: float,
    se: float,
    inference: Inference,
    event_study: pd.DataFrame | None = None,
    contributions: np.ndarray | None = None,
    bootstrap: Any = None,
    **kwargs: Any,
) -> EstimationResult:
    """A result under the rule, with the multiplier bootstrap applied when ``bootstrap`` is given.

    Parameters
    ----------
    estimate, se, inference
        The overall estimate, its analytic SE and the rule's :class:`Inference`.
    event_study
        Frame ``event_time, estimate, se`` (analytic SEs), or ``None``.
    contributions
        ``G x (1 + k)`` per-cluster contributions to the overall estimate and to the ``k`` event-study
        coefficients (in ``event_study``'s row order); required with ``bootstrap``.
    bootstrap
        A :class:`~clusterpolicy.estimate.bootstrap.BootstrapSpec` or ``None``. Its standard errors replace the
        analytic ones; the event study gains uniform sup-t bands from the same draws.
    """
    if bootstrap is None:
        return EstimationResult.from_estimate(estimator=estimator, outcome=outcome, estimate=estimate, se=se,
                                              inference=inference, event_study=event_study, **kwargs)
    from dataclasses import replace

    from clusterpolicy.estimate.bootstrap import multiplier_bootstrap

    if contributions is None:  # pragma: no cover - a programming error, not a user's
        raise ValueError(f"{estimator}: the bootstrap needs per-cluster contributions")
    k = 0 if event_study is None else len(event_study)
    band = np.r_[False, np.ones(k, dtype=bool)] if k else None
    draws = multiplier_bootstrap(contributions, n_boot=bootstrap.n_boot, weights=bootstrap.weights,
                                 seed=bootstrap.seed, band=band, level=inference.level)
    inference = replace(inference, method="multiplier bootstrap", n_boot=draws.n_boot, boot_weights=draws.weights,
                        seed=draws.seed, uniform_critical_value=draws.uniform_critical_value,
                        se_type=inference.se_type + "; SEs from the clustered multiplier bootstrap (IQR, as R did)")
    if event_study is not None:
        event_study = event_study.assign(se=draws.se[1:])
    result = EstimationResult.from_estimate(estimator=estimator, outcome=outcome, estimate=estimate,
                                            se=float(draws.se[0]), inference=inference, event_study=event_study,
                                            **kwargs)
    if result.event_study is not None and draws.uniform_critical_value is not None:
        es = result.event_study
        crit = draws.uniform_critical_value
        result = replace(result, event_study=es.assign(uniform_low=es["estimate"] - crit * es["se"],
                                                       uniform_high=es["estimate"] + crit * es["se"]))
    return result
