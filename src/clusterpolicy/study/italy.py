"""The Italian staggered difference-in-differences: the design fixed in advance and its analysis.

The rules (stated on the book's design page, placed before any result, and applied by code here):

* **Outcome.** Primary: firm-institute collaboration *within* the region (H2020 projects joining a firm and a
  knowledge institute of the same region). Beside it: any-partner co-participation and the fixed-population variant
  (organisations of the 2017 list only). Business R&D is a distal outcome; university and government R&D are
  comparison outcomes; business minus university R&D is a within-region contrast.
* **Window.** H2020 outcomes: 2015-2020 (2014 holds few projects because H2020 calls opened that year; projects
  starting in 2021 are only those signed by mid-December 2020). Eurostat outcomes: 2007-2019.
* **Treatment definition** (:func:`choose_definition`): of the audited calendar's definitions, the one under which
  the most treated regions have at least one pre-treatment year in the window (ties: the order of
  :data:`~clusterpolicy.study.treatments.DEFINITIONS`).
* **Control group.** Not-yet-treated and never-treated regions: almost every region is eventually treated, so
  never-treated controls alone would be a handful. Regions with status ``unknown`` are excluded.
* **Scale** (:func:`choose_scale`): the scale whose event-study pre-trend test gives the largest p-value, computed
  for every admissible scale (levels and per capita for counts; logs, per capita and levels otherwise). Only
  pre-treatment coefficients enter the choice.
* **Estimator.** Counts in levels: Wooldridge's ETWFE Poisson (not-yet-treated controls); every other scale:
  Callaway-Sant'Anna (not-yet-treated controls).
* **Inference.** The package's rule (clustered by region, t(G-1) critical values); randomisation inference that
  permutes adoption years within ISTAT macro-areas; with one treated region, placebos in space instead of an
  interval. The minimum detectable effect at 80 % power is reported with every estimate (:func:`mde`).

Everything chosen after seeing results is labelled exploration (the specification curve).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.diagnostics import LeaveOneOutResult, leave_one_out
from clusterpolicy.estimate.inference import NONLINEAR_ESTIMATORS, with_randomization
from clusterpolicy.estimate.result import EstimationResult, quantile
from clusterpolicy.estimate.sensitivity import Sensitivity, pretrend_test, sensitivity_analysis
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.context import MIUR_STRATUM_YEAR
from clusterpolicy.study.panel import (
    CONTRASTS,
    H2020_OUTCOMES,
    AnalysisPanel,
    analysis_panel,
    is_count_outcome,
    outcome_label,
    outcome_unit,
)
from clusterpolicy.study.treatments import DEFINITIONS, cohort_table, miur_district_year
from clusterpolicy.study.wording import (
    direction,
    direction_it,
    effect_axis_unit,
    finding_title_event_study,
    outcome_label_it,
    p_text,
    translate,
)

ROLES: dict[str, Any] = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}
#: The primary outcome: collaboration within the region.
PRIMARY_OUTCOME = "coparticipation_projects_intraregional"
#: Windows fixed in advance, by data source.
H2020_WINDOW = (2015, 2020)
EUROSTAT_WINDOW = (2007, 2019)
#: Event-time window of the pre-trend test and the sensitivity bounds (sparse horizons beyond it rest on one or
#: two regions).
EVENT_WINDOW = (5, 5)
#: Delta-SD grid in multiples of the post-period average's standard error (M has no scale-free meaning otherwise).
SD_GRID = (0.0, 0.25, 0.5, 1.0)
#: Randomisation strata: ISTAT macro-areas (adoption years are permuted only within a macro-area).
RI_STRATA = "macro_area"
#: Strata a run may choose for randomisation inference (``ri_strata``), with the label the page prints. The
#: MIUR-district stratum is pre-period: whether the region had a dated national technology district by
#: :data:`~clusterpolicy.study.context.MIUR_STRATUM_YEAR` (from the audited calendar), not a treatment.
RI_STRATA_LABELS = {
    "macro_area": "macro-areas",
    "miur_district": f"MIUR-district strata (a dated technology district by {MIUR_STRATUM_YEAR} or not)",
}
DEFAULT_PERMUTATIONS = 999
DEFAULT_SEED = 2024
POWER = 0.8

ESTIMATOR_NAMES = {
    "cs": "Callaway-Sant'Anna", "sa": "Sun-Abraham", "imputation": "imputation (Borusyak-Jaravel-Spiess)",
    "did2s": "two-stage DiD (Gardner)", "poisson": "Poisson fixed effects", "etwfe": "extended TWFE Poisson",
    "twfe": "two-way fixed effects", "twfe_es": "TWFE event study",
}


def default_window(outcome: str) -> tuple[int, int]:
    """The window fixed in advance for ``outcome``'s data source."""
    return H2020_WINDOW if outcome in H2020_OUTCOMES else EUROSTAT_WINDOW


def admissible_scales(outcome: str) -> tuple[str, ...]:
    """Scales an outcome may take: counts have zeros (no logs); contrasts are log ratios."""
    if outcome in CONTRASTS:
        return ("log",)
    if is_count_outcome(outcome):
        return ("level", "per_capita")
    return ("log", "per_capita", "level")


def estimator_for(outcome: str, transform: str) -> str:
    """The design's estimator: ETWFE Poisson for counts in levels, Callaway-Sant'Anna otherwise."""
    return "etwfe" if is_count_outcome(outcome) and transform == "level" else "cs"


def _quiet(df: pd.DataFrame, **kwargs: Any) -> EstimationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        return estimate(df, **ROLES, **kwargs)


# ================================================================================================================
# The rules that fix the design
# ================================================================================================================
def choose_definition(outcome: str, window: tuple[int, int], controls: str = "all") -> tuple[str, pd.DataFrame]:
    """The treatment definition under which the most treated regions have a pre-treatment year in the window.

    Returns the chosen name and a table, one row per definition: ``definition, description, n_treated_in_window,
    n_never, n_unknown, n_already_treated``.
    """
    rows = []
    for name, definition in DEFINITIONS.items():
        table = cohort_table(name)
        treated = table[table["status"] == "treated"]
        cohorts = pd.to_numeric(treated["cohort"], errors="coerce")
        usable = int(((cohorts > window[0]) & (cohorts <= window[1])).sum())
        rows.append({"definition": name, "description": definition.description,
                     "n_treated_in_window": usable, "n_never": int((table["status"] == "never").sum()),
                     "n_unknown": int((table["status"] == "unknown").sum()),
                     "n_already_treated": int((cohorts <= window[0]).sum())})
    frame = pd.DataFrame(rows)
    first_max: Any = frame["n_treated_in_window"].idxmax()
    best = frame.loc[first_max, "definition"]  # first maximum: the catalogue's order
    frame["chosen"] = frame["definition"] == best
    return str(best), frame


def _pretrend_result(panel: AnalysisPanel) -> EstimationResult:
    """The event study whose pre-period coefficients test parallel trends on ``panel``'s scale."""
    data = panel.data
    has_never = bool((data["cohort"] == 0).any()) and bool(
        (data.groupby("nuts2")["cohort"].first() == 0).any())
    if panel.transform == "level" and panel.is_count:
        # ETWFE with never-treated controls estimates pre-period placebos relative to g - 1
        return _quiet(data, estimator="etwfe", control="never" if has_never else "notyet")
    return _quiet(data, estimator="cs", control="notyet")


def choose_scale(outcome: str, definition: str, window: tuple[int, int], controls: str = "all",
                 ) -> tuple[str, pd.DataFrame]:
    """The admissible scale with the largest pre-trend p-value (every scale shown).

    Returns the chosen transform and a table ``transform, estimator, pretrend_chi2, pretrend_df, pretrend_p_value,
    pretrend_f_p_value, note``. A scale whose test cannot be computed is never chosen.
    """
    rows = []
    for transform in admissible_scales(outcome):
        row: dict[str, Any] = {"transform": transform, "estimator": estimator_for(outcome, transform),
                               "pretrend_chi2": np.nan, "pretrend_df": 0, "pretrend_p_value": np.nan,
                               "pretrend_f_p_value": np.nan, "note": ""}
        try:
            panel = analysis_panel(outcome, transform=transform, definition=definition, controls=controls,  # type: ignore[arg-type]
                                   first_year=window[0], last_year=window[1])
            fit = _pretrend_result(panel)
            test = pretrend_test(fit, window=EVENT_WINDOW)
            row.update(pretrend_chi2=test.chi2, pretrend_df=test.df, pretrend_p_value=test.p_value,
                       pretrend_f_p_value=test.f_p_value)
            # what the fit had to leave out (e.g. separated Poisson cohorts) qualifies the test, so it is shown
            row["note"] = "; ".join(w for w in fit.warnings if "dropped" in w)
        except (EstimationError, UserInputError) as err:
            row["note"] = f"not computable: {str(err).splitlines()[0]}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    ok = frame[np.isfinite(frame["pretrend_p_value"])]
    chosen = str(ok.loc[ok["pretrend_p_value"].idxmax(), "transform"]) if not ok.empty else admissible_scales(outcome)[0]
    frame["chosen"] = frame["transform"] == chosen
    return chosen, frame


@dataclass(frozen=True)
class Decision:
    """The design of one analysis, as fixed by the rules (or set by a run's parameters, then ``rule`` says so)."""

    outcome: str
    first_year: int
    last_year: int
    definition: str
    transform: str
    estimator: str
    control: str
    controls: str
    rule: str
    definitions_table: pd.DataFrame = field(repr=False)
    scales_table: pd.DataFrame = field(repr=False)


def decide(outcome: str, *, first_year: int | None = None, last_year: int | None = None, definition: str = "auto",
           transform: str = "auto", estimator: str = "auto", control: str = "notyet",
           controls: str = "all") -> Decision:
    """Apply the rules of the module docstring; any choice given explicitly (not ``"auto"``) overrides its rule."""
    lo, hi = default_window(outcome)
    window = (first_year or lo, last_year or hi)
    how = []
    def_table = choose_definition(outcome, window, controls)[1]
    if definition == "auto":
        definition = str(def_table.loc[def_table["chosen"], "definition"].iloc[0])
        how.append("definition by rule")
    else:
        def_table = def_table.assign(chosen=def_table["definition"] == definition)
        how.append("definition set by the run")
    scale_table = choose_scale(outcome, definition, window, controls)[1]
    if transform == "auto":
        transform = str(scale_table.loc[scale_table["chosen"], "transform"].iloc[0])
        how.append("scale by the pre-period test")
    else:
        scale_table = scale_table.assign(chosen=scale_table["transform"] == transform)
        how.append("scale set by the run")
    if estimator == "auto":
        estimator = estimator_for(outcome, transform)
    return Decision(outcome=outcome, first_year=window[0], last_year=window[1], definition=definition,
                    transform=transform, estimator=estimator, control=control, controls=controls,
                    rule="; ".join(how), definitions_table=def_table, scales_table=scale_table)


# ================================================================================================================
# The analysis of one design
# ================================================================================================================
def mde(result: EstimationResult, power: float = POWER) -> float | None:
    """Minimum detectable effect of a two-sided test at the result's level and ``power`` (Bloom 1995):
    ``(t_{1-alpha/2, G-1} + t_{power, G-1}) * SE`` on the estimate's own scale; ``None`` without an analytic
    SE or with one treated region."""
    inf = result.inference
    if inf.method not in ("analytic", "multiplier bootstrap") or not math.isfinite(result.se) or result.se <= 0:
        return None
    return float((inf.critical_value + quantile(power, inf.df)) * result.se)


@dataclass(frozen=True)
class Analysis:
    """Everything one Italian design reports (objects; :func:`published` turns it into the published keys)."""

    panel: AnalysisPanel
    decision: Decision
    main: EstimationResult
    comparison: EstimationResult
    robust_es: pd.DataFrame | None
    comparison_es: pd.DataFrame | None
    robust_label: str
    comparison_label: str
    sensitivity: Sensitivity | None
    loo: LeaveOneOutResult | None
    warnings: tuple[str, ...]
    ri_strata: str = RI_STRATA
    fixed_effects: str = "region and year"


def miur_stratum(nuts2: pd.Series) -> pd.Series:
    """The pre-period MIUR-district stratum of each region code: ``district by <year>`` when the audited calendar
    dates a national technology district to :data:`MIUR_STRATUM_YEAR` or earlier, else ``none by <year>`` (no
    district found, undated or unchecked: none is *known* by then)."""
    m = miur_district_year().set_index("nuts2")["miur_district_year"]
    early = nuts2.map(m).fillna(MIUR_STRATUM_YEAR + 1).astype(int) <= MIUR_STRATUM_YEAR
    return early.map({True: f"district by {MIUR_STRATUM_YEAR}", False: f"none by {MIUR_STRATUM_YEAR}"})


def analyse(decision: Decision, *, covariates: Sequence[str] = (), n_permutations: int = DEFAULT_PERMUTATIONS,
            seed: int = DEFAULT_SEED, rm_grid: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
            leave_out: bool = True, treated: Sequence[str] | None = None,
            onsets: dict[str, int] | None = None, ri_strata: str = RI_STRATA,
            macro_area_by_year: bool = False) -> Analysis:
    """Estimate one design: the headline with randomisation inference within ``ri_strata`` (a key of
    :data:`RI_STRATA_LABELS`; macro-areas by default), the conventional comparison (static TWFE or Poisson), the
    event studies, the pre-trend test and Rambachan-Roth bounds on the same window, and leave-one-out over treated
    and control regions.

    ``macro_area_by_year=True`` replaces the common year effects by macro-area-by-year effects (Centre-North and
    Mezzogiorno each get their own year effects): Mezzogiorno x year dummies enter as regressors beside the region
    and year effects, which spans exactly the macro-area x year fixed effects. The estimator must then take
    covariates linearly (``sa``, ``twfe_es``); the design's own event study (Sun-Abraham with those effects) gives the
    pre-trend test and the Rambachan-Roth bounds, so every number of the run comes from one model.
    Assumption: parallel trends *within* each macro-area; no anticipation."""
    if ri_strata not in RI_STRATA_LABELS:
        raise UserInputError(f"unknown ri_strata {ri_strata!r}; use one of {', '.join(RI_STRATA_LABELS)}.")
    panel = analysis_panel(decision.outcome, transform=decision.transform, definition=decision.definition,  # type: ignore[arg-type]
                           controls=decision.controls, first_year=decision.first_year,  # type: ignore[arg-type]
                           last_year=decision.last_year, treated=treated, onsets=onsets)
    data = panel.data.assign(south=(panel.data["macro_group"] == "south").astype(float),
                             miur_district=miur_stratum(panel.data["nuts2"]))
    msgs: list[str] = []
    kwargs: dict[str, Any] = {"estimator": decision.estimator}
    if decision.estimator in ("cs", "etwfe"):
        kwargs["control"] = decision.control
    fixed_effects = "region and year"
    if macro_area_by_year:
        if decision.estimator not in ("sa", "twfe_es"):
            raise UserInputError(f"macro_area_by_year needs an estimator that adds covariates linearly (sa or "
                                 f"twfe_es), not {decision.estimator!r}; set estimator='sa'.")
        years = sorted(int(y) for y in data["year"].unique())[1:]  # the first year is the base of the year effects
        dummies = {f"south_x_{y}": data["south"] * (data["year"] == y) for y in years}
        data = data.assign(**dummies)
        covariates = (*covariates, *dummies)
        fixed_effects = "region and macro-area x year"
    if covariates:
        kwargs["covariates"] = tuple(covariates)
        if decision.estimator == "cs":
            # outcome regression: trends may differ with the (binary, time-invariant) covariates; no propensity
            # score, which a handful of regions per group cannot support
            kwargs["method"] = "reg"
    main = _quiet(data, **kwargs)
    design_fit = main  # the design's own event study (before randomisation inference is attached)
    msgs.extend(f"{decision.estimator}: {w}" for w in main.warnings)
    if n_permutations and panel.n_treated > 1:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ClusterPolicyWarning)
                # The randomisation interval (test of a constant effect, inverted) needs an estimator linear in
                # the outcome; ETWFE's Poisson fit is not, so it keeps the p-value only.
                main = with_randomization(main, data, unit="nuts2", time="year", cohort="cohort",
                                          n_permutations=n_permutations, seed=seed, strata=ri_strata, outcome="y",
                                          interval=decision.estimator not in NONLINEAR_ESTIMATORS, **kwargs)
        except (EstimationError, UserInputError) as err:
            msgs.append(f"randomisation inference not computed: {err}")
    linear_cov = {"covariates": tuple(covariates)} if macro_area_by_year else {}
    if panel.is_count and panel.transform == "level":
        comparison = _quiet(data, estimator="poisson")
        comparison_label = "Poisson with relative-time dummies (TWFE-style)"
    else:
        comparison = _quiet(data, estimator="twfe", **linear_cov)
        comparison_label = "TWFE event study"
    comparison_es = comparison.event_study if comparison.event_study is not None else _quiet(
        data, estimator="twfe_es", **linear_cov).event_study
    robust = main if main.event_study is not None else _pretrend_result(panel)
    robust_label = ({"etwfe": "ETWFE Poisson", "sa": "Sun-Abraham"}.get(robust.estimator, "Callaway-Sant'Anna")
                    + (" (never-treated controls)" if robust.estimator == "sa" or decision.control == "never"
                       else " (not-yet-treated controls)")
                    + (", macro-area x year effects" if macro_area_by_year else ""))
    sens = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClusterPolicyWarning)
            # the pre-trend test and the bounds come from the design's own model when it is not the default one
            sens = sensitivity_analysis(design_fit if macro_area_by_year else _pretrend_result(panel),
                                        rm_grid=(0.0, *rm_grid), window=EVENT_WINDOW, target="average",
                                        sd_grid=SD_GRID, sd_relative=True)
    except (EstimationError, UserInputError) as err:
        msgs.append(f"pre-trend test and sensitivity bounds not computed: {str(err).splitlines()[0]}")
    loo = None
    if leave_out:
        def refit(frame: pd.DataFrame) -> EstimationResult:
            return _quiet(frame, **kwargs)

        try:
            loo = leave_one_out(data, refit, unit="nuts2")
        except (EstimationError, UserInputError) as err:
            msgs.append(f"leave-one-out not computed: {err}")
    return Analysis(panel=panel, decision=decision, main=main, comparison=comparison, robust_es=robust.event_study,
                    comparison_es=comparison_es, robust_label=robust_label, comparison_label=comparison_label,
                    sensitivity=sens, loo=loo, warnings=tuple(dict.fromkeys([*reader_warnings(panel, sens, RI_STRATA_LABELS[ri_strata]), *msgs])),
                    ri_strata=ri_strata, fixed_effects=fixed_effects)


def reader_warnings(panel: AnalysisPanel, sens: Sensitivity | None, ri_label: str = RI_STRATA_LABELS[RI_STRATA],
                    ) -> list[str]:
    """Plain-language warnings about the design."""
    out = []
    n_t, n_c = panel.n_treated, panel.n_control
    if n_t == 1:
        out.append("Only one treated region: its effect cannot be told apart from anything else that happened to "
                   "that region at the same time; no analytic interval is valid, so the p-value comes from moving "
                   "the policy to every comparison region in turn (placebos in space).")
    elif n_t < 10:
        out.append(f"Only {n_t} treated regions and {n_c} comparison regions: intervals use t({n_t + n_c - 1}) "
                   f"critical values, and randomisation inference within {ri_label} is reported beside them.")
    table = panel.cohort_table()
    thin = table[table["pre years"] < 2]
    if not thin.empty:
        out.append(f"{', '.join(thin['region'])} {'has' if len(thin) == 1 else 'have'} fewer than two pre-treatment "
                   "years in the window, so parallel pre-trends can hardly be checked for "
                   f"{'it' if len(thin) == 1 else 'them'}.")
    if sens is not None and sens.pretrend.p_value < 0.05:
        out.append("The pre-trend test rejects parallel pre-trends at the 5 per cent level: treated and comparison "
                   "regions were already diverging before the policies.")
    out.extend(panel.notes)
    return out


# ================================================================================================================
# Published values
# ================================================================================================================
#: Below this many regions (clusters) the verdicts rest on the randomisation interval, not the t(G-1) interval: in
#: the book's simulated few-region design (10 regions, 3 treated) t(G-1) intervals of Callaway-Sant'Anna covered
#: the truth in about 88 % of samples, the randomisation interval in about 95 % (the Monte Carlo appendix). The rule
#: depends on the number of regions only, never on the estimates (design page).
RI_INTERVAL_BELOW = 20


def verdict_interval(main: EstimationResult, ri: Mapping[str, Any]) -> tuple[float | None, float | None, str]:
    """The interval the run's verdicts rest on: ``(low, high, kind)``.

    ``kind`` is ``"randomisation"`` (the randomisation interval, computed by inverting the published test under a
    constant additive effect; an end may be infinite when no permutation rejects effects that large) when the
    design has fewer than :data:`RI_INTERVAL_BELOW` regions and the estimator is linear in the outcome; ``"t"``
    (the analytic t(G-1) interval) otherwise; ``"none"`` without a valid interval (one treated region).
    """
    if main.ci_low is None or main.ci_high is None or not (math.isfinite(main.ci_low)
                                                           and math.isfinite(main.ci_high)):
        return None, None, "none"
    n_clusters = main.inference.n_clusters
    if n_clusters is not None and n_clusters < RI_INTERVAL_BELOW and "ci_level" in ri:
        low = -math.inf if ri.get("ci_low_infinite") else ri.get("ci_low")
        high = math.inf if ri.get("ci_high_infinite") else ri.get("ci_high")
        if low is not None and high is not None:
            return float(low), float(high), "randomisation"
    return float(main.ci_low), float(main.ci_high), "t"


def interval_direction(low: float | None, high: float | None) -> str:
    """:func:`~clusterpolicy.study.wording.direction` for an interval whose ends may be infinite."""
    if low is None or high is None:
        return direction(None, None)
    big = sys.float_info.max
    return direction(max(low, -big), min(high, big))


def sign_verdict(main: EstimationResult, sens: Sensitivity | None,
                 interval: tuple[float | None, float | None] | None = None) -> str:
    """Whether the data identify the sign of the effect, in plain words (English), from ``interval`` (default:
    the analytic interval of ``main``)."""
    d = interval_direction(*(interval or (main.ci_low, main.ci_high)))
    if d == "no valid interval":
        return "not identified: one treated region, no valid interval"
    if d == "no clear change":
        return "not identified: the interval includes zero"
    if sens is None or sens.relative_magnitudes is None:
        return "identified only under exact parallel trends (no sensitivity bounds)"
    bd = sens.relative_magnitudes.breakdown
    if bd is None:
        return "identified even with post-policy trend breaks twice the largest pre-policy one"
    if bd < 1:
        return "not robust: a trend break smaller than the largest pre-policy one would overturn it"
    return "identified if post-policy trend breaks stay below the largest pre-policy one"


def to_percent(values: Sequence[float | None], panel: AnalysisPanel, main: EstimationResult) -> list[float | None]:
    """Effects on a per-cent scale, relative to what the treated regions would have had without the policy.

    Log outcomes: ``100 (exp(b) - 1)``. ETWFE: ``100 b / m0`` with ``m0`` its model's counterfactual mean over the
    treated post-onset cells. Linear estimators on levels and per-capita outcomes: ``100 b / m0`` with ``m0`` the
    treated regions' observed mean over their post-onset years in the window minus the estimate ``b`` (the
    counterfactual mean the ATT implies: the ATT of ``cs`` and ``imputation`` averages these treated post-onset
    observations, less any cell without a comparison region; cohorts adopting in or before the window's first year
    are left out as they have no pre-period).

    Why not the treated regions' level in the year before adoption: an additive effect measured against a
    pre-period level can exceed 100 per cent in absolute value when the comparison regions grow from a larger base
    (a small region whose controls gained twice its level would "lose" 200 per cent); against the
    counterfactual mean a non-negative outcome cannot fall by more than 100 per cent. The same base divides every
    value (estimate, interval ends, detectable effect); an interval end below -100 per cent is set to -100, the
    lowest value the outcome allows.
    """
    out: list[float | None] = []
    base: float | None = None
    if main.estimator == "etwfe":
        base = main.counterfactual_mean
    elif panel.transform != "log":
        data = panel.data
        first = data["year"].min()
        post = data[(data["cohort"] > first) & (data["year"] >= data["cohort"])]
        b = main.estimate
        base = float(post["y"].mean()) - b if not post.empty and b is not None and math.isfinite(b) else None
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
        elif panel.transform == "log" and main.estimator != "etwfe":
            out.append(100.0 * math.expm1(v))
        elif base is not None and math.isfinite(base) and base > 0:
            # An interval end (not the estimate: its base makes it at least -100) can lie further below zero than
            # the counterfactual mean; a non-negative outcome cannot fall by more than all of it, so the end is
            # the lowest possible value, -100 per cent.
            out.append(max(-100.0, 100.0 * v / base))
        else:
            out.append(None)
    return out


@dataclass(frozen=True)
class Published:
    """The published keys of a run of ``notebooks/italy_did.md`` (every field is glued under its own name)."""

    outcome: str
    outcome_label: str
    treatment_definition: str
    design_rule: str
    transform: str
    estimator: str
    estimator_name: str
    control: str
    controls: str
    first_year: int
    last_year: int
    n_treated: int
    n_control: int
    n_dropped: int
    n_clusters: int
    treated_regions: str
    cohort_years: str
    estimate: float
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_text: str
    inference_method: str
    se_type: str
    critical_value: float | None
    df: int | None
    ri_p_value: float | None
    ri_p_text: str
    ri_strata: str
    ri_strata_label: str
    fixed_effects: str
    ri_n_permutations: int | None
    ri_mean_placebo: float | None
    #: Randomisation confidence interval (within macro-areas) for a constant effect; ``None`` when an end is
    #: unbounded or the estimator is not linear in the outcome (ETWFE).
    ri_ci_low: float | None
    ri_ci_high: float | None
    #: The interval the verdicts (direction, sign, what is identified) rest on (:func:`verdict_interval`):
    #: ``randomisation``, ``t`` or ``none``; its ends (``None`` when infinite or absent) and their per-cent values.
    verdict_interval: str
    ri_interval_below: int
    verdict_ci_low: float | None
    verdict_ci_high: float | None
    verdict_low_unbounded: bool
    verdict_high_unbounded: bool
    percent_verdict_ci_low: float | None
    percent_verdict_ci_high: float | None
    mde: float | None
    mde_percent: float | None
    percent: float | None
    percent_ci_low: float | None
    percent_ci_high: float | None
    direction: str
    direction_it: str
    sign_verdict: str
    pretrend_p_value: float | None
    pretrend_p_text: str
    pretrend_f_p_value: float | None
    pretrend_df: int | None
    breakdown_mbar: float | None
    rm_lb_mbar1: float | None
    rm_ub_mbar1: float | None
    sd_breakdown_m: float | None
    sd_lb_m1: float | None
    sd_ub_m1: float | None
    loo_min: float | None
    loo_max: float | None
    loo_min_region: str
    loo_max_region: str
    comparison_estimate: float
    comparison_estimator: str
    scale_p_level: float | None
    scale_p_per_capita: float | None
    scale_p_log: float | None
    scale_note_level: str
    scale_note_per_capita: str
    scale_note_log: str
    n_definitions_usable: int
    sample: pd.DataFrame = not_published()
    cohorts: pd.DataFrame = not_published()
    definitions: pd.DataFrame = not_published()
    scales: pd.DataFrame = not_published()
    leave_one_out: pd.DataFrame = not_published()
    sensitivity: pd.DataFrame = not_published()
    estimates: pd.DataFrame = not_published()


def _estimated(main: EstimationResult, cohort: int) -> bool:
    """Whether the estimator kept ``cohort`` (ETWFE drops a cohort whose baseline counts are all zero): its
    cohort-by-period effects are in ``group_time``. Without that table every cohort counts as kept."""
    gt = main.group_time
    if gt is None or gt.empty or "group" not in gt:
        return True
    return bool((pd.to_numeric(gt["group"], errors="coerce") == cohort).any())


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def published(analysis: Analysis) -> Published:
    """The published keys and exhibit tables of one analysis."""
    panel, d, main, sens = analysis.panel, analysis.decision, analysis.main, analysis.sensitivity
    names = panel.region_names
    ri = main.randomization or {}
    pct = to_percent([main.estimate, main.ci_low, main.ci_high], panel, main)
    mde_value = mde(main)
    loo = analysis.loo
    rm = sens.relative_magnitudes if sens is not None else None
    rm1 = next(((lb, ub) for m, lb, ub, _ in rm.rows if m == 1.0), (None, None)) if rm is not None else (None, None)
    sd = sens.smoothness if sens is not None else None
    # M = one standard error of the target (the last grid value): sd.rows hold M in outcome units
    sd1 = (sd.rows[-1][1], sd.rows[-1][2]) if sd is not None and sd.rows else (None, None)
    scales = d.scales_table.set_index("transform")["pretrend_p_value"]

    def scale_p(name: str) -> float | None:
        return _num(scales.get(name)) if name in scales.index else None

    notes = d.scales_table.set_index("transform")["note"]

    def scale_note(name: str) -> str:
        """Why a scale's test is missing or qualified: the rule's note, or 'not admissible' for the outcome."""
        if name not in notes.index:
            return "not admissible for this outcome (counts have zeros; contrasts are log ratios)"
        return str(notes[name]) or ("" if scale_p(name) is not None else "not computable")

    sens_rows = []
    if sens is not None:
        sens_rows.append({"quantity": f"pre-trend Wald chi2({sens.pretrend.df})", "value": sens.pretrend.chi2,
                          "low": None, "high": None, "p": sens.pretrend.p_value})
        if sens.pretrend.f_p_value is not None:
            sens_rows.append({"quantity": f"pre-trend F({sens.pretrend.df}, {sens.pretrend.df_denom})",
                              "value": sens.pretrend.f_stat, "low": None, "high": None, "p": sens.pretrend.f_p_value})
        if rm is not None:
            sens_rows.append({"quantity": "post-period average, original interval", "value": None,
                              "low": rm.original[0], "high": rm.original[1], "p": None})
            for m, lb, ub, _method in rm.rows:
                sens_rows.append({"quantity": f"Delta-RM (C-LF), Mbar = {m:g}", "value": None, "low": lb, "high": ub,
                                  "p": None})
            sens_rows.append({"quantity": "breakdown Mbar", "value": rm.breakdown, "low": None, "high": None,
                              "p": None})
        if sd is not None:
            for (m, lb, ub, _method), k in zip(sd.rows, SD_GRID):
                sens_rows.append({"quantity": f"Delta-SD (FLCI), M = {k:g} SE = {m:.3g}", "value": None, "low": lb,
                                  "high": ub, "p": None})
            sens_rows.append({"quantity": "breakdown M", "value": sd.breakdown, "low": None, "high": None, "p": None})
    estimates = pd.DataFrame([
        {"estimator": ESTIMATOR_NAMES.get(r.estimator, r.estimator), "estimate": r.estimate, "se": r.se,
         "ci low": r.ci_low, "ci high": r.ci_high, "p": r.p_value, "inference": r.inference.method}
        for r in (main, analysis.comparison)])
    v_low, v_high, v_kind = verdict_interval(main, ri)
    v_pct = to_percent([None if v is None or math.isinf(v) else v for v in (v_low, v_high)], panel, main)
    return Published(
        outcome=d.outcome, outcome_label=outcome_label(d.outcome, d.transform),  # type: ignore[arg-type]
        treatment_definition=d.definition, design_rule=d.rule, transform=d.transform, estimator=main.estimator,
        estimator_name=ESTIMATOR_NAMES.get(main.estimator, main.estimator), control=d.control,
        controls=d.controls, first_year=panel.first_year, last_year=panel.last_year, n_treated=panel.n_treated,
        n_control=panel.n_control, n_dropped=len(panel.dropped), n_clusters=main.inference.n_clusters,
        treated_regions=", ".join(names.get(c, c) + ("" if _estimated(main, y) else " (cohort dropped by the estimator)")
                                  for c, y in panel.cohorts.items()),
        cohort_years=", ".join(str(y) for y in sorted(set(panel.cohorts.values()))),
        estimate=main.estimate, se=_num(main.se), ci_low=_num(main.ci_low), ci_high=_num(main.ci_high),
        p_value=_num(main.p_value), p_text=p_text(main.p_value), inference_method=main.inference.method,
        se_type=main.inference.se_type, critical_value=_num(main.inference.critical_value), df=main.inference.df,
        ri_p_value=_num(ri.get("p_value")), ri_p_text=p_text(ri.get("p_value")),
        ri_strata=analysis.ri_strata, ri_strata_label=RI_STRATA_LABELS[analysis.ri_strata],
        fixed_effects=analysis.fixed_effects,
        ri_n_permutations=ri.get("n_permutations"), ri_mean_placebo=_num(ri.get("mean")),
        ri_ci_low=_num(ri.get("ci_low")), ri_ci_high=_num(ri.get("ci_high")),
        verdict_interval=v_kind, ri_interval_below=RI_INTERVAL_BELOW, verdict_ci_low=_num(v_low), verdict_ci_high=_num(v_high),
        verdict_low_unbounded=v_low is not None and math.isinf(v_low),
        verdict_high_unbounded=v_high is not None and math.isinf(v_high),
        percent_verdict_ci_low=v_pct[0], percent_verdict_ci_high=v_pct[1],
        mde=mde_value, mde_percent=to_percent([mde_value], panel, main)[0] if mde_value is not None else None,
        percent=pct[0], percent_ci_low=pct[1], percent_ci_high=pct[2],
        direction=interval_direction(v_low, v_high),
        direction_it=direction_it(*(None if v is None else max(min(v, sys.float_info.max), -sys.float_info.max)
                                    for v in (v_low, v_high))),
        sign_verdict=sign_verdict(main, sens, (v_low, v_high)),
        pretrend_p_value=_num(sens.pretrend.p_value) if sens else None,
        pretrend_p_text=p_text(sens.pretrend.p_value if sens else None),
        pretrend_f_p_value=_num(sens.pretrend.f_p_value) if sens else None,
        pretrend_df=sens.pretrend.df if sens else None,
        breakdown_mbar=_num(rm.breakdown) if rm is not None else None,
        rm_lb_mbar1=_num(rm1[0]), rm_ub_mbar1=_num(rm1[1]),
        sd_breakdown_m=_num(sd.breakdown) if sd is not None else None, sd_lb_m1=_num(sd1[0]), sd_ub_m1=_num(sd1[1]),
        loo_min=_num(loo.min) if loo else None, loo_max=_num(loo.max) if loo else None,
        loo_min_region=names.get(str(loo.argmin), str(loo.argmin)) if loo else "",
        loo_max_region=names.get(str(loo.argmax), str(loo.argmax)) if loo else "",
        comparison_estimate=analysis.comparison.estimate,
        comparison_estimator=ESTIMATOR_NAMES.get(analysis.comparison.estimator, analysis.comparison.estimator),
        scale_p_level=scale_p("level"), scale_p_per_capita=scale_p("per_capita"), scale_p_log=scale_p("log"),
        scale_note_level=scale_note("level"), scale_note_per_capita=scale_note("per_capita"),
        scale_note_log=scale_note("log"),
        n_definitions_usable=int((d.definitions_table["n_treated_in_window"] > 0).sum()),
        sample=panel.sample_table(), cohorts=panel.cohort_table(), definitions=d.definitions_table,
        scales=d.scales_table,
        leave_one_out=(loo.table.assign(region=loo.table["left_out"].map(lambda c: names.get(str(c), str(c))))
                       if loo else pd.DataFrame()),
        sensitivity=pd.DataFrame(sens_rows, columns=["quantity", "value", "low", "high", "p"]),
        estimates=estimates,
    )


# ================================================================================================================
# The event-study figure's content, in English or Italian
# ================================================================================================================
#: Event times the event-study figure shows at most, either side of the start (later ones rest on few regions).
FIGURE_HORIZON = 6


def event_study_series(analysis: Analysis, *, lang: str = "en") -> dict[str, pd.DataFrame]:
    """The event studies the page draws, ``{legend label in lang: frame}``: the design's estimator first, the
    conventional comparison second."""
    studies = {translate(analysis.robust_label, lang): analysis.robust_es}
    if analysis.comparison_es is not None:
        studies[translate(analysis.comparison_label, lang)] = analysis.comparison_es
    return {label: es for label, es in studies.items() if es is not None}


def event_study_window(studies: dict[str, pd.DataFrame], horizon: int = FIGURE_HORIZON) -> tuple[int, int]:
    """The event times shown: those any study estimates, at most ``horizon`` either side of the start."""
    return (max(-horizon, int(min(es["event_time"].min() for es in studies.values()))),
            min(horizon, int(max(es["event_time"].max() for es in studies.values()))))


def event_study_labels(values: Published, *, lang: str = "en") -> tuple[str, str]:
    """``(title, y-axis title)`` of the event-study figure in ``lang``; the title states the finding."""
    label = (values.outcome_label if lang == "en" else
             outcome_label_it(values.outcome, values.transform, contrast=values.outcome in CONTRASTS))
    # the axis names the unit (e.g. projects per million inhabitants), as the briefs' text does
    unit = outcome_unit(values.outcome, values.transform)  # type: ignore[arg-type]
    return (finding_title_event_study(label, values.ci_low, values.ci_high, values.inference_method, lang=lang),
            effect_axis_unit(unit, lang))


__all__ = ["Analysis", "Decision", "PRIMARY_OUTCOME", "Published", "RI_STRATA_LABELS", "analyse", "choose_definition", "choose_scale",
           "decide", "default_window", "event_study_labels", "event_study_series", "event_study_window", "mde",
           "miur_stratum", "published"]
