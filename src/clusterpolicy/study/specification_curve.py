"""The specification curve of the Italian analysis, on the choices that matter (exploration, not the design).

Choices (in this order): outcome (collaboration first), treatment definition (which includes low-confidence onsets
in or out: ``T1`` versus ``T1_high_medium``), control set, scale, window and estimator. Combinations the data
cannot support are left out by :func:`indefensible_reason`, and a choice that does not change the sample (two
definitions giving the same treated and control regions in a window) is kept once (:func:`build_curve_specs`). Every
specification carries its randomisation-inference p-value (adoption years permuted within macro-areas) and its
Rambachan-Roth breakdown value (relative magnitudes, C-LF, on a coarse grid). Shares come from :func:`shares`, the
one function every page uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.grid import build_specs, parse_window
from clusterpolicy.estimate.inference import with_randomization
from clusterpolicy.estimate.sensitivity import rambachan_roth
from clusterpolicy.study.italy import PRIMARY_OUTCOME, RI_STRATA, ROLES, admissible_scales, to_percent
from clusterpolicy.study.panel import EUROSTAT_OUTCOMES, analysis_panel, is_count_outcome

#: The choices and their options, collaboration first.
CHOICES: dict[str, list[Any]] = {
    "outcome": [PRIMARY_OUTCOME, "coparticipation_projects", "coparticipation_projects_org2017",
                "rd_personnel_bes_fte", "gerd_bes_mio_eur"],
    "definition": ["T1", "T2", "T1_high_medium"],
    "controls": ["all", "centre_north"],
    "transform": ["level", "per_capita", "log"],
    "window": ["2015-2020", "2015-2019", "2007-2019", "2011-2019"],
    "estimator": ["cs", "imputation", "etwfe"],
}
#: Windows by data source.
WINDOWS = {"h2020": ("2015-2020", "2015-2019"), "eurostat": ("2007-2019", "2011-2019")}
#: Permutations per specification and the coarse Mbar grid of the breakdown value.
RI_PERMUTATIONS = 49
BREAKDOWN_GRID = (0.0, 0.5, 1.0, 2.0)
#: Business R&D expenditure and population are observed from 2011.
EXPENDITURE_FROM = 2011


def indefensible_reason(spec: Mapping[str, Any]) -> str | None:
    """Why a combination cannot be estimated with these data, or ``None``.

    * each data source has its own windows (H2020 2015-2020 or 2015-2019; Eurostat 2007-2019 or 2011-2019);
    * an outcome takes only its admissible scales (counts: levels and per capita; no logs of zeros);
    * per-capita outcomes and business R&D expenditure need data from 2011;
    * ETWFE Poisson is for counts in levels, the linear estimators for every other scale.
    """
    outcome, transform, estimator = spec.get("outcome"), spec.get("transform"), spec.get("estimator")
    source = "eurostat" if outcome in EUROSTAT_OUTCOMES else "h2020"
    if "window" in spec and spec["window"] not in WINDOWS[source]:
        return f"{outcome} is observed in the {source} windows only"
    lo = parse_window(spec["window"])[0] if "window" in spec else None
    if transform is not None and transform not in admissible_scales(str(outcome)):
        return f"{transform} is not an admissible scale of {outcome}"
    if lo is not None and lo < EXPENDITURE_FROM and (transform == "per_capita" or str(outcome).startswith("gerd_")):
        return "population and business R&D expenditure are observed from 2011"
    count_level = is_count_outcome(str(outcome)) and transform == "level"
    if estimator == "etwfe" and not count_level:
        return "ETWFE Poisson is for counts in levels"
    if estimator != "etwfe" and count_level:
        return "counts in levels are estimated with ETWFE Poisson"
    return None


def _signature(spec: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The sample a specification uses (treated cohorts and controls), or ``None`` when no panel can be built."""
    lo, hi = parse_window(spec["window"])
    try:
        panel = analysis_panel(spec["outcome"], transform=spec["transform"], definition=spec["definition"],
                               controls=spec["controls"], first_year=lo, last_year=hi)
    except UserInputError:
        return None
    controls = tuple(sorted(set(panel.data.loc[panel.data["cohort"] == 0, "nuts2"])))
    return (tuple(sorted(panel.cohorts.items())), controls)


def build_curve_specs(choices: Mapping[str, Sequence[Any]] = CHOICES) -> tuple[list[dict[str, Any]], int, int]:
    """The specifications of the curve: every defensible combination, keeping one of each set of definitions that
    give the same sample. Returns ``(specs, n_combinations, n_duplicates_dropped)``."""
    specs = build_specs(choices, rule=indefensible_reason)
    n_all = int(np.prod([len(v) for v in choices.values()]))
    keep, seen = [], set()
    dropped = 0
    for spec in specs:
        sig = _signature(spec)
        key = (spec["outcome"], spec["transform"], spec["window"], spec["estimator"], sig)
        if sig is not None and key in seen:
            dropped += 1
            continue
        seen.add(key)
        keep.append(spec)
    return keep, n_all, dropped




def estimate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Estimate one specification: the estimate, its interval under the package's rule, the per-cent effect, the
    randomisation p-value within macro-areas and the relative-magnitudes breakdown value (``status`` says why a
    specification could not be estimated)."""
    row: dict[str, Any] = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                           "ri_p_value": np.nan, "breakdown_mbar": np.nan, "n_treated": 0, "n_control": 0,
                           "percent": np.nan, "percent_ci_low": np.nan, "percent_ci_high": np.nan,
                           "inference": "", "status": ""}
    lo, hi = parse_window(spec["window"])
    kwargs: dict[str, Any] = {"estimator": spec["estimator"]}
    if spec["estimator"] in ("cs", "etwfe"):
        kwargs["control"] = "notyet"
    try:
        panel = analysis_panel(spec["outcome"], transform=spec["transform"], definition=spec["definition"],
                               controls=spec["controls"], first_year=lo, last_year=hi)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate(panel.data, **ROLES, **kwargs)
            if panel.n_treated > 1:
                res = with_randomization(res, panel.data, unit="nuts2", time="year", cohort="cohort",
                                         n_permutations=RI_PERMUTATIONS, seed=2024, strata=RI_STRATA, outcome="y",
                                         **kwargs)
    except (EstimationError, UserInputError) as err:
        row["status"] = f"not estimable: {str(err).splitlines()[0]}"
        return row
    row.update(estimate=res.estimate, se=res.se, ci_low=res.ci_low, ci_high=res.ci_high,
               p_value=res.p_value if res.p_value is not None else np.nan, n_treated=panel.n_treated,
               n_control=panel.n_control, inference=res.inference.method, status="ok",
               ri_p_value=(res.randomization or {}).get("p_value", np.nan))
    row.update(zip(("percent", "percent_ci_low", "percent_ci_high"),
                   [np.nan if v is None else v for v in to_percent([res.estimate, res.ci_low, res.ci_high], panel,
                                                                   res)]))
    if res.event_study_vcov is not None and panel.n_treated > 1:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ClusterPolicyWarning)
                bounds = rambachan_roth(res, grid=BREAKDOWN_GRID, grid_points=100, refine_breakdown=False)
            row["breakdown_mbar"] = np.inf if bounds.breakdown is None else bounds.breakdown
        except (EstimationError, UserInputError):
            pass
    return row


def shares(frame: pd.DataFrame, *, alpha: float = 0.05) -> dict[str, Any]:
    """Counts and shares of a specification curve (over estimated specifications): sign, significance under the
    rule, significance by randomisation inference, robustness to trend breaks (breakdown Mbar >= 1), median."""
    ok = frame[frame["status"] == "ok"]
    n = len(ok)

    def share(mask: pd.Series) -> float | None:
        return float(mask.mean()) if n else None

    sig = ok["p_value"] < alpha
    ri_sig = ok["ri_p_value"] < alpha
    pos, neg = ok["estimate"] > 0, ok["estimate"] < 0
    return {
        "n_specs": int(len(frame)), "n_estimated": n, "n_not_estimable": int(len(frame) - n),
        "share_positive": share(pos), "share_negative": share(neg),
        "share_significant": share(sig), "share_positive_significant": share(pos & sig),
        "share_negative_significant": share(neg & sig), "share_ri_significant": share(ri_sig),
        "share_robust_mbar1": share(ok["breakdown_mbar"] >= 1),
        "median_percent": float(ok["percent"].median()) if n and ok["percent"].notna().any() else None,
        "min_percent": float(ok["percent"].min()) if n and ok["percent"].notna().any() else None,
        "max_percent": float(ok["percent"].max()) if n and ok["percent"].notna().any() else None,
    }


@dataclass(frozen=True)
class CurveValues:
    """Published keys of the specification-curve run (shares overall and for the primary outcome)."""

    n_specs: int
    n_combinations: int
    n_duplicates: int
    n_estimated: int
    n_not_estimable: int
    share_positive: float | None
    share_negative: float | None
    share_significant: float | None
    share_positive_significant: float | None
    share_negative_significant: float | None
    share_ri_significant: float | None
    share_robust_mbar1: float | None
    median_percent: float | None
    min_percent: float | None
    max_percent: float | None
    primary_n_estimated: int
    primary_share_negative: float | None
    primary_share_significant: float | None
    primary_share_ri_significant: float | None
    curve: pd.DataFrame = field(metadata={"publish": False}, repr=False)
    by_choice: pd.DataFrame = field(metadata={"publish": False}, repr=False)


def summarise(curve: pd.DataFrame, n_combinations: int, n_duplicates: int) -> CurveValues:
    """Published values and the table of shares by choice and option."""
    overall = shares(curve)
    primary = shares(curve[curve["outcome"] == PRIMARY_OUTCOME])
    rows = [{"choice": "all", "option": "", **shares(curve)}]
    for choice in CHOICES:
        for option in pd.unique(curve[choice]):
            rows.append({"choice": choice, "option": str(option), **shares(curve[curve[choice] == option])})
    by_choice = pd.DataFrame(rows)[["choice", "option", "n_estimated", "share_negative", "share_significant",
                                   "share_ri_significant", "share_robust_mbar1", "median_percent"]]
    return CurveValues(
        n_specs=overall["n_specs"], n_combinations=n_combinations, n_duplicates=n_duplicates,
        n_estimated=overall["n_estimated"], n_not_estimable=overall["n_not_estimable"],
        share_positive=overall["share_positive"], share_negative=overall["share_negative"],
        share_significant=overall["share_significant"],
        share_positive_significant=overall["share_positive_significant"],
        share_negative_significant=overall["share_negative_significant"],
        share_ri_significant=overall["share_ri_significant"], share_robust_mbar1=overall["share_robust_mbar1"],
        median_percent=overall["median_percent"], min_percent=overall["min_percent"],
        max_percent=overall["max_percent"], primary_n_estimated=primary["n_estimated"],
        primary_share_negative=primary["share_negative"], primary_share_significant=primary["share_significant"],
        primary_share_ri_significant=primary["share_ri_significant"], curve=curve, by_choice=by_choice,
    )


def curve_title(values: CurveValues) -> str:
    """A figure title that claims no more than the shares show."""
    def f(x: float | None) -> float:
        return 0.0 if x is None else float(x)

    if f(values.share_ri_significant) > 0.5:
        return "Most specifications reject no effect by randomisation inference"
    pos, neg = f(values.share_positive), f(values.share_negative)
    if max(pos, neg) >= 0.8:
        return f"Estimates are mostly {'negative' if neg > pos else 'positive'}, and mostly not significant"
    return "The sign of the estimate depends on the specification"


__all__ = ["CHOICES", "CurveValues", "build_curve_specs", "curve_title", "estimate_spec", "indefensible_reason",
           "shares", "summarise"]
