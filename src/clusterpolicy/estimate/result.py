"""The one result type every estimator returns.

Report helpers and the CLI read this object (or its :meth:`EstimationResult.tidy` frame) and never recompute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

EVENT_STUDY_COLUMNS = ("event_time", "estimate", "se", "ci_low", "ci_high")
GROUP_TIME_COLUMNS = ("group", "time", "estimate", "se")


def _clean_float(value: Any) -> float | None:
    """JSON-safe float: ``None`` for missing or non-finite values (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def normal_ci(estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """Symmetric normal confidence interval."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    return estimate - z * se, estimate + z * se


@dataclass(frozen=True)
class EstimationResult:
    """An overall estimate with its uncertainty, plus optional event-study and group-time detail.

    Attributes
    ----------
    estimator
        Short name (``twfe``, ``cs``, ``sa``, ``imputation``, ``poisson``, ``etwfe``, ``synth``, ...).
    outcome
        The outcome column.
    estimate, se, ci_low, ci_high
        The overall estimate (its meaning is stated in ``estimand``), standard error and confidence interval.
    n_obs, n_units
        Observations and units used.
    estimand
        One sentence saying what ``estimate`` is (e.g. "simple average of ATT(g,t) over post-treatment cells").
    se_type
        How ``se`` was computed (e.g. "cluster-robust by unit, fixest small-sample correction").
    event_study
        Frame with columns ``event_time, estimate, se, ci_low, ci_high`` (or ``None``).
    group_time
        Frame with columns ``group, time, estimate, se`` (or ``None``).
    p_value
        Two-sided p-value of the overall estimate, if meaningful.
    warnings
        Messages about the data or inference (few clusters, dropped rows, ...).
    details
        Anything estimator-specific that is worth keeping (JSON-serialisable).
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
    se_type: str = ""
    event_study: pd.DataFrame | None = None
    group_time: pd.DataFrame | None = None
    p_value: float | None = None
    warnings: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_estimate(
        cls, *, estimator: str, outcome: str, estimate: float, se: float, level: float = 0.95, **kwargs: Any
    ) -> "EstimationResult":
        """Build a result with a normal confidence interval and p-value from ``estimate`` and ``se``."""
        low, high = normal_ci(estimate, se, level)
        p_value = kwargs.pop("p_value", None)
        if p_value is None and se and np.isfinite(se) and se > 0:
            p_value = float(2 * stats.norm.sf(abs(estimate / se)))
        return cls(
            estimator=estimator, outcome=outcome, estimate=float(estimate), se=float(se),
            ci_low=float(low), ci_high=float(high), p_value=p_value, **kwargs,
        )

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
        lines = [
            f"Estimator: {self.estimator}    Outcome: {self.outcome}",
            f"Estimand:  {self.estimand}" if self.estimand else "",
            f"Estimate:  {self.estimate:.6g}  (SE {self.se:.6g}; 95% CI {self.ci_low:.6g} to {self.ci_high:.6g})",
            f"SE:        {self.se_type}" if self.se_type else "",
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
                    item[col] = int(val) if col in ("event_time", "group", "time") else _clean_float(val)
                out.append(item)
            return out

        return {
            "estimator": self.estimator,
            "outcome": self.outcome,
            "estimand": self.estimand,
            "se_type": self.se_type,
            "overall": {
                "estimate": _clean_float(self.estimate), "se": _clean_float(self.se),
                "ci_low": _clean_float(self.ci_low), "ci_high": _clean_float(self.ci_high),
                "p_value": _clean_float(self.p_value),
            },
            "event_study": records(self.event_study, EVENT_STUDY_COLUMNS),
            "group_time": records(self.group_time, GROUP_TIME_COLUMNS),
            "n_obs": int(self.n_obs),
            "n_units": int(self.n_units),
            "warnings": list(self.warnings),
            "details": self.details,
        }
