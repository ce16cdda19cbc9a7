"""The specification curve of the Italian analysis, on the choices that matter (exploration, not the design).

Choices (in this order): outcome (collaboration first), treatment definition (``T1``, ``T2``), low-confidence
onsets in or out (out: the definition's ``{base}_high_medium`` variant of :mod:`clusterpolicy.study.treatments`;
skipped, counted and stated while that variant does not exist), control set, scale, window and estimator.
Combinations the data cannot support are left out by :func:`indefensible_reason`; a combination that uses the same
sample as an earlier one (same treated cohorts and control regions, all else equal) is kept once, and an option or a
whole choice left with no specification of its own is reported as dropped (:func:`build_curve_specs`).

Estimand of each specification: the ATT of its estimator on its scale, also on a common per-cent scale
(:func:`clusterpolicy.study.italy.to_percent`: log effects as ``100 (exp(b) - 1)``, level and per-capita effects
relative to the treated regions' counterfactual mean, so a count outcome cannot fall by more than 100 per cent).
Every specification carries its randomisation-inference p-value (adoption years permuted within macro-areas; the
sharp null of no effect) and its Rambachan-Roth breakdown value (relative magnitudes, C-LF, the first of ``Mbar`` =
0.5, 1, 2 at which the robust set includes zero; 0 when the interval already does, infinite beyond the grid).
Shares come from :func:`shares`, the one function every page uses. Assumptions: those of each estimator (parallel
trends on its scale, no anticipation); the specifications share data, so shares are not independent evidence.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.grid import build_specs, parse_window
from clusterpolicy.estimate.inference import with_randomization
from clusterpolicy.estimate.sensitivity import rambachan_roth
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.italy import PRIMARY_OUTCOME, RI_STRATA, ROLES, admissible_scales, to_percent
from clusterpolicy.study.panel import EUROSTAT_OUTCOMES, analysis_panel, is_count_outcome
from clusterpolicy.study.treatments import DEFINITIONS

#: The choices and their options, collaboration first.
CHOICES: dict[str, list[Any]] = {
    "outcome": [PRIMARY_OUTCOME, "coparticipation_projects", "coparticipation_projects_org2017",
                "rd_personnel_bes_fte", "gerd_bes_mio_eur"],
    "definition": ["T1", "T2"],
    "low_confidence": ["in", "out"],
    "controls": ["all", "centre_north"],
    "transform": ["level", "per_capita", "log"],
    "window": ["2015-2020", "2015-2019", "2007-2019", "2011-2019"],
    "estimator": ["cs", "imputation", "etwfe"],
}
#: Choices that act on the estimate only through the sample (treated cohorts and control regions): two
#: specifications equal in every other choice and in the sample are the same specification.
SAMPLE_CHOICES = ("definition", "low_confidence", "controls")
#: Suffix of the definition variant without low-confidence onsets (``T1`` -> ``T1_high_medium``).
LOW_CONFIDENCE_OUT = "_high_medium"
#: Windows by data source.
WINDOWS = {"h2020": ("2015-2020", "2015-2019"), "eurostat": ("2007-2019", "2011-2019")}
#: Permutations per specification and the coarse Mbar grid of the breakdown value.
RI_PERMUTATIONS = 39
BREAKDOWN_GRID = (0.5, 1.0, 2.0)
#: Business R&D expenditure and population are observed from 2011.
EXPENDITURE_FROM = 2011
#: Columns of the published per-specification table (the CSV exhibit and the page's sortable table).
TABLE_COLUMNS = ("spec_id", "outcome", "definition", "low_confidence", "definition_name", "controls", "transform",
                 "window", "estimator", "n_treated", "n_control", "estimate", "ci_low", "ci_high", "percent",
                 "percent_ci_low", "percent_ci_high", "p_value", "ri_p_value", "breakdown_mbar", "inference",
                 "status")


def definition_name(spec: Mapping[str, Any]) -> str:
    """The treatment definition a specification uses: its base definition with low-confidence onsets ``in``, or
    the base's ``_high_medium`` variant with them ``out``."""
    base, low = str(spec["definition"]), spec.get("low_confidence", "in")
    if low not in ("in", "out"):
        raise UserInputError(f"low_confidence={low!r} is not valid; use 'in' or 'out'.")
    return base if low == "in" else f"{base}{LOW_CONFIDENCE_OUT}"


def indefensible_reason(spec: Mapping[str, Any]) -> str | None:
    """Why a combination cannot be estimated with these data, or ``None``.

    * each data source has its own windows (H2020 2015-2020 or 2015-2019; Eurostat 2007-2019 or 2011-2019);
    * an outcome takes only its admissible scales (counts: levels and per capita; no logs of zeros);
    * per-capita outcomes and business R&D expenditure need data from 2011;
    * ETWFE Poisson is for counts in levels, the linear estimators for every other scale;
    * the second linear estimator (imputation) is run for the primary outcome only, which keeps the curve within
      the book's time budget.
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
    if estimator == "imputation" and outcome != PRIMARY_OUTCOME:
        return "the imputation estimator is run for the primary outcome only"
    return None


@functools.lru_cache(maxsize=512)
def _cached_panel(outcome: str, transform: str, definition: str, controls: str, window: str) -> Any:
    lo, hi = parse_window(window)
    return analysis_panel(outcome, transform=cast(Any, transform), definition=definition,
                          controls=cast(Any, controls), first_year=lo, last_year=hi)


def _panel(spec: Mapping[str, Any]) -> Any:
    # Cached: the sample signature and the estimate of a specification read the same panel, and the estimator
    # choice does not change it; the estimators read the panel without modifying it. Errors are not cached (they
    # are raised again, as lru_cache stores only returned values).
    return _cached_panel(str(spec["outcome"]), str(spec["transform"]), definition_name(spec),
                         str(spec["controls"]), str(spec["window"]))


def sample_signature(spec: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The sample a specification uses (treated cohorts and control regions), or ``None`` when no panel can be
    built (the specification is kept and reported as not estimable)."""
    try:
        panel = _panel(spec)
    except UserInputError:
        return None
    controls = tuple(sorted(set(panel.data.loc[panel.data["cohort"] == 0, "nuts2"])))
    return (tuple(sorted(panel.cohorts.items())), controls)


@dataclass(frozen=True)
class CurveSpecs:
    """The specifications of the curve and what was left out, with counts the page states."""

    specs: list[dict[str, Any]]
    n_combinations: int
    n_indefensible: int
    n_duplicates: int
    missing_definitions: tuple[str, ...]
    n_missing_definition: int
    dropped_levels: tuple[str, ...]
    dropped_dimensions: tuple[str, ...]

    @property
    def dimensions(self) -> list[str]:
        """The choices the curve still varies (those with more than one option left)."""
        return [c for c in self.varied if c not in self.dropped_dimensions]

    @property
    def varied(self) -> list[str]:
        return [c for c in (self.specs[0] if self.specs else {}) if c != "spec_id"]


def build_curve_specs(
    choices: Mapping[str, Sequence[Any]] = CHOICES,
    *,
    signature: Any = sample_signature,
    definitions: Mapping[str, Any] | None = None,
) -> CurveSpecs:
    """The specifications of the curve.

    Every combination of ``choices`` minus (i) the indefensible ones (:func:`indefensible_reason`), (ii) those
    whose definition (:func:`definition_name`) is not in ``definitions`` (default: the package's treatment
    definitions), and (iii) those repeating an earlier specification: equal in every choice outside
    :data:`SAMPLE_CHOICES` and with the same ``signature(spec)`` (the sample). An option of a choice whose every
    specification was dropped as a repetition, and a choice left with one option, are reported as dropped
    (``"choice=option"`` and the choice's name). ``signature`` is a parameter so tests can drive it by hand.
    """
    known = DEFINITIONS if definitions is None else definitions
    n_all = int(np.prod([len(v) for v in choices.values()]))
    defensible = build_specs(choices, rule=indefensible_reason)
    candidates, missing = [], []
    for spec in defensible:
        name = definition_name(spec) if "definition" in spec else None
        if name is not None and name not in known:
            missing.append(name)
            continue
        candidates.append(spec)
    keep, seen = [], set()
    for spec in candidates:
        sig = signature(spec)
        key = (tuple((c, spec[c]) for c in spec if c not in SAMPLE_CHOICES), sig)
        if sig is not None and key in seen:
            continue
        seen.add(key)
        keep.append(spec)
    dropped_levels, dropped_dims = [], []
    for c, options in choices.items():
        tried = {repr(s[c]) for s in candidates}
        left = {repr(s[c]) for s in keep}
        dropped_levels += [f"{c}={o}" for o in options if repr(o) in tried and repr(o) not in left]
        if len(options) > 1 and len(left) <= 1:
            dropped_dims.append(c)
    return CurveSpecs(specs=keep, n_combinations=n_all, n_indefensible=n_all - len(defensible),
                      n_duplicates=len(candidates) - len(keep), missing_definitions=tuple(sorted(set(missing))),
                      n_missing_definition=len(missing), dropped_levels=tuple(dropped_levels),
                      dropped_dimensions=tuple(dropped_dims))


def estimate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Estimate one specification: the estimate, its interval under the package's rule, the per-cent effect, the
    randomisation p-value within macro-areas and the relative-magnitudes breakdown value (``status`` says why a
    specification could not be estimated). Deterministic: the permutations are seeded."""
    row: dict[str, Any] = {"definition_name": definition_name(spec), "estimate": np.nan, "se": np.nan,
                           "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "ri_p_value": np.nan,
                           "breakdown_mbar": np.nan, "n_treated": 0, "n_control": 0, "percent": np.nan,
                           "percent_ci_low": np.nan, "percent_ci_high": np.nan, "inference": "", "status": ""}
    kwargs: dict[str, Any] = {"estimator": spec["estimator"]}
    if spec["estimator"] in ("cs", "etwfe"):
        kwargs["control"] = "notyet"
    try:
        panel = _panel(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate(panel.data, **ROLES, **kwargs)
            if panel.n_treated > 1:
                # a BoundEstimate refit inside: the panel is prepared once and each assignment refits only what
                # the cohorts change (ETWFE: a numpy IRLS of the same Poisson model)
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
    if not (np.isfinite(res.ci_low) and np.isfinite(res.ci_high)) or res.ci_low <= 0 <= res.ci_high:
        row["breakdown_mbar"] = 0.0  # the interval includes zero even under exact parallel trends
    elif res.event_study_vcov is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ClusterPolicyWarning)
                bounds = rambachan_roth(res, grid=BREAKDOWN_GRID, grid_points=100, refine_breakdown=False)
            row["breakdown_mbar"] = np.inf if bounds.breakdown is None else bounds.breakdown
        except (EstimationError, UserInputError):
            pass
    return row


def shares(frame: pd.DataFrame, *, alpha: float = 0.05) -> dict[str, Any]:
    """Counts and shares of a specification curve, over its estimated specifications (``status == "ok"``).

    Sign; significance under the package's rule (``p_value < alpha``); significance by randomisation inference
    (``ri_p_value < alpha``; a specification without a randomisation p-value, one treated region, counts as not
    significant); breakdown value above 0 (the interval excludes zero under exact parallel trends, and the
    Rambachan-Roth set at the smallest ``Mbar`` of the grid too) and above 1 (zero stays excluded when post-policy
    trend breaks as large as the largest pre-policy one are allowed: the breakdown value is the first ``Mbar`` whose
    set contains zero, so it must exceed 1); the median, smallest and largest per-cent effect. The one function
    behind every share the pages show.
    """
    ok = frame[frame["status"] == "ok"]
    n = len(ok)

    def share(mask: pd.Series) -> float | None:
        return float(mask.mean()) if n else None

    def pct(fn: str) -> float | None:
        return float(getattr(ok["percent"], fn)()) if n and ok["percent"].notna().any() else None

    sig = ok["p_value"] < alpha
    ri_sig = ok["ri_p_value"] < alpha
    pos, neg = ok["estimate"] > 0, ok["estimate"] < 0
    return {
        "n_specs": int(len(frame)), "n_estimated": n, "n_not_estimable": int(len(frame) - n),
        "n_with_ri": int(ok["ri_p_value"].notna().sum()),
        "share_positive": share(pos), "share_negative": share(neg),
        "share_significant": share(sig), "share_positive_significant": share(pos & sig),
        "share_negative_significant": share(neg & sig), "share_ri_significant": share(ri_sig),
        "share_breakdown_above0": share(ok["breakdown_mbar"] > 0),
        "share_breakdown_above1": share(ok["breakdown_mbar"] > 1),
        "median_percent": pct("median"), "min_percent": pct("min"), "max_percent": pct("max"),
    }


@dataclass(frozen=True)
class CurveValues:
    """Published keys of the specification-curve run (shares overall and for the primary outcome, and what the
    curve left out); the per-specification table and the shares by choice are exhibits."""

    n_specs: int
    n_combinations: int
    n_indefensible: int
    n_duplicates: int
    n_missing_definition: int
    missing_definitions: str
    n_dropped_levels: int
    dropped_levels: str
    n_dropped_dimensions: int
    dropped_dimensions: str
    n_estimated: int
    n_not_estimable: int
    n_with_ri: int
    share_positive: float | None
    share_negative: float | None
    share_significant: float | None
    share_positive_significant: float | None
    share_negative_significant: float | None
    share_ri_significant: float | None
    share_breakdown_above0: float | None
    share_breakdown_above1: float | None
    median_percent: float | None
    min_percent: float | None
    max_percent: float | None
    primary_n_estimated: int
    primary_share_negative: float | None
    primary_share_significant: float | None
    primary_share_ri_significant: float | None
    primary_share_breakdown_above1: float | None
    curve: pd.DataFrame = not_published()
    table: pd.DataFrame = not_published()
    by_choice: pd.DataFrame = not_published()


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def summarise(curve: pd.DataFrame, design: CurveSpecs) -> CurveValues:
    """Published values, the per-specification table (sorted by the per-cent effect) and the shares by choice and
    option, every share from :func:`shares`."""
    overall = shares(curve)
    primary = shares(curve[curve["outcome"] == PRIMARY_OUTCOME])
    rows = [{"choice": "all", "option": "", **overall}]
    for choice in CHOICES:
        if choice not in curve or choice in design.dropped_dimensions:
            continue
        for option in pd.unique(curve[choice]):
            rows.append({"choice": choice, "option": str(option), **shares(curve[curve[choice] == option])})
    by_choice = pd.DataFrame(rows)[["choice", "option", "n_estimated", "share_negative", "share_significant",
                                   "share_ri_significant", "share_breakdown_above0", "share_breakdown_above1",
                                   "median_percent"]]
    table = curve[[c for c in TABLE_COLUMNS if c in curve]].sort_values(
        ["percent", "spec_id"], na_position="last").reset_index(drop=True)
    return CurveValues(
        n_specs=overall["n_specs"], n_combinations=design.n_combinations, n_indefensible=design.n_indefensible,
        n_duplicates=design.n_duplicates, n_missing_definition=design.n_missing_definition,
        missing_definitions=_listing(design.missing_definitions), n_dropped_levels=len(design.dropped_levels),
        dropped_levels=_listing(design.dropped_levels), n_dropped_dimensions=len(design.dropped_dimensions),
        dropped_dimensions=_listing(design.dropped_dimensions),
        n_estimated=overall["n_estimated"], n_not_estimable=overall["n_not_estimable"], n_with_ri=overall["n_with_ri"],
        share_positive=overall["share_positive"], share_negative=overall["share_negative"],
        share_significant=overall["share_significant"],
        share_positive_significant=overall["share_positive_significant"],
        share_negative_significant=overall["share_negative_significant"],
        share_ri_significant=overall["share_ri_significant"],
        share_breakdown_above0=overall["share_breakdown_above0"],
        share_breakdown_above1=overall["share_breakdown_above1"],
        median_percent=overall["median_percent"], min_percent=overall["min_percent"],
        max_percent=overall["max_percent"], primary_n_estimated=primary["n_estimated"],
        primary_share_negative=primary["share_negative"], primary_share_significant=primary["share_significant"],
        primary_share_ri_significant=primary["share_ri_significant"],
        primary_share_breakdown_above1=primary["share_breakdown_above1"],
        curve=curve, table=table, by_choice=by_choice,
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


__all__ = ["CHOICES", "CurveSpecs", "CurveValues", "build_curve_specs", "curve_title", "definition_name",
           "estimate_spec", "indefensible_reason", "sample_signature", "shares", "summarise"]
