"""Single-region programmes: one region, one onset taken from a cited row of the audited calendar.

The rules (applied by code here; the template ``notebooks/single_region.md`` and the programme pages state them):

* **Onset.** The run names a row of ``data/policy/cluster_policies.csv`` (``policy_id``) and which of the row's
  dates to use: ``"start_year"`` (the calendar's onset) or ``"earliest_act"`` (the earliest year cited in the
  row's ``legal_act`` text, e.g. Lombardy's aggregation decree of 2012 in the row dated by its 2014 recognition).
  The year is read from the row, never typed into a run.
* **Controls.** Italian regions with positive evidence of no qualifying programme under the treatment definition
  (status ``never``) or whose programme starts after the window. Regions with status ``unknown``, and regions
  whose own programme starts inside the window, are dropped (:func:`clusterpolicy.study.panel.analysis_panel`
  with ``onsets``); :attr:`SingleRegion.sample` names every region's role and why.
* **Outcomes.** Business R&D personnel (log, Eurostat, 2007-2019) always; H2020 projects joining a firm and a
  knowledge institute of the same region (per million inhabitants, 2015-2020) only when the onset leaves at least
  :data:`MIN_PRE_YEARS` pre-policy years in that window (the studentised placebo test needs two).
* **Estimator.** Callaway-Sant'Anna with never-treated controls (the Italian design's estimator on these scales).
* **Inference** (the package's single-treated rule, :func:`clusterpolicy.estimate.api.single_treated_inference`):
  no analytic interval. The p-value comes from placebos in space studentised by each region's pre-period residual
  SD (Ferman and Pinto 2019): the policy is moved to every control region in turn and the actual statistic is
  ranked among the placebo ones. With ``J`` placebos the smallest possible p-value is ``1 / (J + 1)``. The
  Conley-Taber (2011) interval of the static DiD coefficient is reported only with at least 10 controls. The event
  study is shown without intervals.

What one region can show: whether its path after the onset departs from the comparison regions' more than the
comparison regions' own paths depart from each other. It cannot separate the programme from anything else that
happened to the region in the same years.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from clusterpolicy.data.calendar import load_cluster_policies
from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.few_treated import PlaceboInSpaceResult, placebo_in_space
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.panel import AnalysisPanel, analysis_panel, outcome_label
from clusterpolicy.study.wording import p_text  # the book's one p-value formatter (also used by synthetic.py)

OnsetBasis = Literal["start_year", "earliest_act"]
ONSET_BASES: tuple[str, ...] = ("start_year", "earliest_act")
ROLES: dict[str, Any] = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}
BUSINESS_RD = "rd_personnel_bes_fte"
H2020 = "coparticipation_projects_intraregional"
#: Windows fixed in advance, by data source (as in :mod:`clusterpolicy.study.italy`).
EUROSTAT_WINDOW = (2007, 2019)
H2020_WINDOW = (2015, 2020)
#: Fewest pre-policy years in the window for an outcome to be estimated (the studentisation needs two).
MIN_PRE_YEARS = 2
#: Fewest controls for a Conley-Taber interval (:data:`clusterpolicy.estimate.few_treated.CT_MIN_CONTROLS`).
CT_MIN_CONTROLS = 10
DEFAULT_DEFINITION = "T1"
#: Calendar kinds that count as a region's own earlier programmes (national instruments and Interreg excluded).
REGIONAL_KINDS = ("regional_poles_2007_13", "regional_clusters_2014_20", "s3_law_recognition")
_YEAR = re.compile(r"\b(19[89]\d|20[0-3]\d)\b")


# ================================================================================================================
# The onset, from a cited calendar row
# ================================================================================================================
@dataclass(frozen=True)
class CalendarOnset:
    """A programme's onset as read from one row of the audited calendar."""

    policy_id: str
    nuts2: str
    region: str
    policy: str
    year: int
    basis: str
    basis_text: str
    start_year: int | None
    legal_act: str
    legal_act_year: int | None
    confidence: str
    source_url: str


def _int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return int(value)


def calendar_row(policy_id: str, calendar: pd.DataFrame | None = None) -> pd.Series:
    """The row of ``data/policy/cluster_policies.csv`` with ``policy_id`` (a fix-it message otherwise)."""
    cal = load_cluster_policies() if calendar is None else calendar
    rows = cal[cal["policy_id"] == policy_id]
    if rows.empty:
        same = sorted(cal.loc[cal["policy_id"].str[:4] == policy_id[:4], "policy_id"])
        raise UserInputError(
            f"policy_id={policy_id!r} is not a row of data/policy/cluster_policies.csv; rows of that region: "
            f"{', '.join(same) or 'none'}.")
    return rows.iloc[0]


def earliest_act_year(legal_act: str) -> int | None:
    """The earliest year (1980-2039) cited in a calendar row's ``legal_act`` text, or ``None``."""
    years = [int(y) for y in _YEAR.findall(legal_act or "")]
    return min(years) if years else None


def onset_from_calendar(policy_id: str, basis: OnsetBasis = "start_year",
                        calendar: pd.DataFrame | None = None) -> CalendarOnset:
    """Read a programme's onset from its calendar row.

    ``basis="start_year"`` uses the row's ``start_year`` (the calendar's onset); ``"earliest_act"`` the earliest
    year cited in its ``legal_act`` text (the first legal step of the programme).
    """
    if basis not in ONSET_BASES:
        raise UserInputError(f"onset basis {basis!r} is not allowed; use one of {', '.join(ONSET_BASES)}.")
    row = calendar_row(policy_id, calendar)
    start = _int(row["start_year"])
    act = str(row["legal_act"]) if not pd.isna(row["legal_act"]) else ""
    if basis == "start_year":
        year, text = start, "start year coded in the calendar"
    else:
        year, text = earliest_act_year(act), "year of the earliest act cited in the calendar row"
    if year is None:
        raise UserInputError(f"calendar row {policy_id!r} has no {basis.replace('_', ' ')}; choose another basis "
                             "or another row.")
    return CalendarOnset(policy_id=policy_id, nuts2=str(row["nuts2"]), region=str(row["region"]),
                         policy=str(row["policy"]), year=int(year), basis=basis, basis_text=text,
                         start_year=start, legal_act=act, legal_act_year=_int(row["legal_act_year"]),
                         confidence=str(row["confidence"]), source_url=str(row["source_url"]))


def policy_stem(policy_id: str) -> str:
    """The programme part of a calendar id (``'ith3-rir-2017'`` -> ``'ith3-rir'``): rows dating one programme."""
    return re.sub(r"-\d{4}$", "", policy_id)


def earlier_programmes(nuts2: str, before: int, calendar: pd.DataFrame | None = None,
                       exclude_stem: str = "") -> pd.DataFrame:
    """The region's own regional programmes (:data:`REGIONAL_KINDS`) starting before ``before``, oldest first;
    rows whose id starts with ``exclude_stem`` (other datings of the programme analysed) are left out."""
    cal = load_cluster_policies() if calendar is None else calendar
    rows = cal[(cal["nuts2"] == nuts2) & cal["kind"].isin(REGIONAL_KINDS) & cal["start_year"].notna()]
    rows = rows[rows["start_year"].astype(int) < before]
    if exclude_stem:
        rows = rows[~rows["policy_id"].str.startswith(exclude_stem)]
    return rows.sort_values(["start_year", "policy_id"])[["policy_id", "policy", "start_year", "kind",
                                                           "legal_act"]].reset_index(drop=True)


# ================================================================================================================
# One outcome
# ================================================================================================================
@dataclass(frozen=True)
class OutcomeAnalysis:
    """The single-treated analysis of one outcome (objects; :func:`published` turns them into keys)."""

    outcome: str
    transform: str
    panel: AnalysisPanel
    result: EstimationResult
    placebo: PlaceboInSpaceResult


def _raw_cs(frame: pd.DataFrame) -> EstimationResult:
    """Callaway-Sant'Anna without the single-treated rule (the placebo refits; each holds one 'treated' region)."""
    return estimate(frame, estimator="cs", **ROLES, control="never", single_treated_rule=False)


def analyse_outcome(outcome: str, transform: str, onset: CalendarOnset, window: tuple[int, int], *,
                    definition: str = DEFAULT_DEFINITION) -> OutcomeAnalysis:
    """Estimate one outcome for one region under the single-treated rule, with the full placebo distribution."""
    panel = analysis_panel(outcome, transform=transform, definition=definition,  # type: ignore[arg-type]
                           onsets={onset.nuts2: onset.year}, first_year=window[0], last_year=window[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        result = estimate(panel.data, estimator="cs", control="never", **ROLES)
        placebo = placebo_in_space(panel.data, _raw_cs, **ROLES)
    return OutcomeAnalysis(outcome=outcome, transform=transform, panel=panel, result=result, placebo=placebo)


def pre_years(onset: int, window: tuple[int, int]) -> int:
    """Pre-policy years of ``window`` before ``onset``."""
    return max(0, min(onset, window[1] + 1) - window[0])


def placebo_rank(placebo: PlaceboInSpaceResult) -> int:
    """Rank of the treated region's |statistic| among itself and the placebos (1 = largest); ``p = rank/(J+1)``."""
    return int(round(placebo.p_value * (placebo.n_placebos + 1)))


def placebo_verdict(p: float | None, smallest: float | None, level: float = 0.05) -> str:
    """Plain words for a placebo p-value given the smallest one the design can give."""
    if p is None or smallest is None:
        return "not estimated"
    if p <= smallest + 1e-12 and smallest > level:
        return ("the most extreme of the regions compared; with so few regions that is the smallest p-value the "
                f"design can give, still above {level:g}")
    if p <= level:
        return "unusual among the placebo regions"
    return "ordinary among the placebo regions"


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _outcome_keys(a: OutcomeAnalysis | None, reason: str) -> dict[str, Any]:
    """The published keys of one outcome (``None`` everywhere, and ``reason``, when it was not estimated)."""
    if a is None:
        return {"available": False, "reason": reason, "estimate": None, "percent": None, "placebo_p_value": None,
                "placebo_p_text": "not available", "placebo_p_value_unstudentised": None, "placebo_rank": None,
                "n_placebos": None, "n_ranked": None, "verdict": "not estimated", "smallest_possible_p": None,
                "conley_taber_low": None,
                "conley_taber_high": None, "conley_taber_text": "not computed", "pre_years": None,
                "post_years": None, "label": ""}
    r, pl = a.result, a.placebo
    ct = r.conley_taber.to_dict() if r.conley_taber is not None else None
    table = a.panel.cohort_table().iloc[0]
    est = float(r.estimate)
    pct = 100 * math.expm1(est) if a.transform == "log" else None
    if pct is None:
        data = a.panel.data
        base = data[(data["cohort"] > 0) & (data["year"] < data["cohort"])]["y"].mean()
        pct = 100 * est / base if base and math.isfinite(base) and base > 0 else None
    return {
        "available": True, "reason": reason, "estimate": est, "percent": _num(pct),
        "placebo_p_value": float(pl.p_value), "placebo_p_text": p_text(pl.p_value),
        "placebo_p_value_unstudentised": float(pl.p_value_unstudentised), "placebo_rank": placebo_rank(pl),
        "n_placebos": int(pl.n_placebos), "n_ranked": int(pl.n_placebos) + 1,
        "verdict": placebo_verdict(pl.p_value, 1 / (pl.n_placebos + 1)),
        "smallest_possible_p": 1 / (pl.n_placebos + 1),
        "conley_taber_low": _num(ct["ci_low"]) if ct else None,
        "conley_taber_high": _num(ct["ci_high"]) if ct else None,
        "conley_taber_text": (f"{ct['ci_low']:+.3f} to {ct['ci_high']:+.3f}" if ct else
                              f"not computed: fewer than {CT_MIN_CONTROLS} comparison regions"),
        "pre_years": int(table["pre years"]), "post_years": int(table["post years"]),
        "label": a.panel.label,
    }


# ================================================================================================================
# The study
# ================================================================================================================
@dataclass(frozen=True)
class SingleRegion:
    """The published keys of a run of ``notebooks/single_region.md`` (every scalar field is glued by name).

    Unprefixed effect keys are business R&D personnel (log, 2007-2019); ``h2020_`` keys are H2020 projects joining
    a firm and an institute of the same region (per million inhabitants, 2015-2020), ``None`` when the onset leaves
    fewer than two pre-policy years in that window (``h2020_reason`` says so). No key holds an analytic interval.
    """

    policy_id: str
    nuts2: str
    region: str
    policy: str
    onset_year: int
    onset_basis: str
    calendar_start_year: int | None
    calendar_legal_act_year: int | None
    legal_act: str
    calendar_confidence: str
    earlier_programmes: str
    n_earlier_programmes: int
    definition: str
    estimator: str
    inference_rule: str
    first_year: int
    last_year: int
    n_controls: int
    control_regions: str
    n_dropped: int
    outcome_label: str
    estimate: float
    percent: float | None
    placebo_p_value: float
    placebo_p_text: str
    placebo_p_value_unstudentised: float
    placebo_rank: int
    n_placebos: int
    n_ranked: int
    placebo_verdict: str
    smallest_possible_p: float
    conley_taber_low: float | None
    conley_taber_high: float | None
    conley_taber_text: str
    pre_years: int
    post_years: int
    gap_direction: str
    h2020_available: bool
    h2020_reason: str
    h2020_outcome_label: str
    h2020_estimate: float | None
    h2020_percent: float | None
    h2020_placebo_p_value: float | None
    h2020_placebo_p_text: str
    h2020_placebo_rank: int | None
    h2020_n_placebos: int | None
    h2020_n_ranked: int | None
    h2020_placebo_verdict: str
    h2020_smallest_possible_p: float | None
    h2020_pre_years: int | None
    h2020_post_years: int | None
    h2020_conley_taber_text: str
    sample: pd.DataFrame = not_published()
    h2020_sample: pd.DataFrame = not_published()
    placebos: pd.DataFrame = not_published()
    h2020_placebos: pd.DataFrame = not_published()
    event_study: pd.DataFrame = not_published()
    h2020_event_study: pd.DataFrame = not_published()
    earlier: pd.DataFrame = not_published()
    notes: tuple[str, ...] = not_published(default=())


def _placebo_frame(a: OutcomeAnalysis | None) -> pd.DataFrame:
    """Treated region and every placebo: ``region, nuts2, role, estimate, statistic`` (sorted by |statistic|)."""
    if a is None:
        return pd.DataFrame(columns=["region", "nuts2", "role", "estimate", "statistic"])
    names = a.panel.region_names
    pl = a.placebo
    rows = [{"nuts2": str(u), "role": "placebo", "estimate": e, "statistic": s}
            for u, e, s in zip(pl.placebos["unit"], pl.placebos["estimate"], pl.placebos["statistic"], strict=True)]
    rows.append({"nuts2": str(pl.treated_unit), "role": "treated", "estimate": pl.estimate, "statistic": pl.observed})
    frame = pd.DataFrame(rows)
    frame.insert(0, "region", frame["nuts2"].map(lambda c: names.get(c, c)))
    return frame.sort_values("statistic", key=np.abs, ascending=False, kind="mergesort").reset_index(drop=True)


def single_region(policy_id: str, *, onset: OnsetBasis = "start_year", definition: str = DEFAULT_DEFINITION,
                  calendar: pd.DataFrame | None = None) -> SingleRegion:
    """Analyse one region's programme, dated by one calendar row (see the module docstring for the rules).

    Parameters
    ----------
    policy_id
        A row of ``data/policy/cluster_policies.csv`` (e.g. ``"itc4-ctl-2014"``).
    onset
        ``"start_year"`` or ``"earliest_act"`` (:func:`onset_from_calendar`).
    definition
        The treatment definition that decides which other regions are clean controls (default ``T1``: every
        regional programme that selects or recognises cluster organisations counts, so its ``never`` regions are
        the cleanest comparison).

    Returns
    -------
    SingleRegion
    """
    on = onset_from_calendar(policy_id, onset, calendar)
    notes: list[str] = []
    if pre_years(on.year, EUROSTAT_WINDOW) < MIN_PRE_YEARS:
        raise UserInputError(f"onset {on.year} leaves fewer than {MIN_PRE_YEARS} pre-policy years in "
                             f"{EUROSTAT_WINDOW[0]}-{EUROSTAT_WINDOW[1]}; nothing can be estimated.")
    rd = analyse_outcome(BUSINESS_RD, "log", on, EUROSTAT_WINDOW, definition=definition)
    k = _outcome_keys(rd, "")
    h_pre = pre_years(on.year, H2020_WINDOW)
    h: OutcomeAnalysis | None = None
    if h_pre < MIN_PRE_YEARS:
        reason = (f"not estimated: the onset ({on.year}) leaves {h_pre} pre-policy year(s) in the H2020 window "
                  f"{H2020_WINDOW[0]}-{H2020_WINDOW[1]}, fewer than the {MIN_PRE_YEARS} the placebo test needs")
    elif on.year > H2020_WINDOW[1]:
        reason = "not estimated: the onset is after the H2020 window"
    else:
        reason = ""
        try:
            h = analyse_outcome(H2020, "per_capita", on, H2020_WINDOW, definition=definition)
        except (EstimationError, UserInputError) as err:
            reason = f"not estimated: {str(err).splitlines()[0]}"
    hk = _outcome_keys(h, reason)
    if reason:
        notes.append(f"H2020 collaboration {reason}.")
    earlier = earlier_programmes(on.nuts2, on.year, calendar, exclude_stem=policy_stem(on.policy_id))
    earlier_rows: list[Any] = list(earlier.itertuples())
    names = rd.panel.region_names
    controls = sorted(rd.panel.data.loc[rd.panel.data["cohort"] == 0, "nuts2"].unique())
    es = rd.result.event_study
    hes = h.result.event_study if h is not None else None
    notes.extend(str(w) for w in rd.result.warnings)
    return SingleRegion(
        policy_id=on.policy_id, nuts2=on.nuts2, region=names.get(on.nuts2, on.region), policy=on.policy,
        onset_year=on.year, onset_basis=on.basis_text, calendar_start_year=on.start_year,
        calendar_legal_act_year=on.legal_act_year, legal_act=on.legal_act, calendar_confidence=on.confidence,
        earlier_programmes="; ".join(f"{r.policy} ({int(r.start_year)})" for r in earlier_rows) or "none",
        n_earlier_programmes=len(earlier), definition=definition,
        estimator="Callaway-Sant'Anna (never-treated controls)",
        inference_rule="placebos in space, studentised by each region's pre-period residual SD (Ferman-Pinto "
                       "2019); no analytic interval with one treated region",
        first_year=rd.panel.first_year, last_year=rd.panel.last_year, n_controls=len(controls),
        control_regions=", ".join(names.get(c, c) for c in controls), n_dropped=len(rd.panel.dropped),
        outcome_label=outcome_label(BUSINESS_RD, "log"),
        estimate=k["estimate"], percent=k["percent"], placebo_p_value=k["placebo_p_value"],
        placebo_p_text=k["placebo_p_text"], placebo_p_value_unstudentised=k["placebo_p_value_unstudentised"],
        placebo_rank=k["placebo_rank"], n_placebos=k["n_placebos"], n_ranked=k["n_ranked"],
        placebo_verdict=k["verdict"], smallest_possible_p=k["smallest_possible_p"],
        conley_taber_low=k["conley_taber_low"], conley_taber_high=k["conley_taber_high"],
        conley_taber_text=k["conley_taber_text"], pre_years=k["pre_years"], post_years=k["post_years"],
        gap_direction="below" if k["estimate"] < 0 else "above",
        h2020_available=hk["available"], h2020_reason=hk["reason"] or "estimated",
        h2020_outcome_label=outcome_label(H2020, "per_capita"),
        h2020_estimate=hk["estimate"], h2020_percent=hk["percent"], h2020_placebo_p_value=hk["placebo_p_value"],
        h2020_placebo_p_text=hk["placebo_p_text"], h2020_placebo_rank=hk["placebo_rank"],
        h2020_n_placebos=hk["n_placebos"], h2020_n_ranked=hk["n_ranked"], h2020_placebo_verdict=hk["verdict"],
        h2020_smallest_possible_p=hk["smallest_possible_p"],
        h2020_pre_years=hk["pre_years"], h2020_post_years=hk["post_years"],
        h2020_conley_taber_text=hk["conley_taber_text"],
        sample=rd.panel.sample_table(),
        h2020_sample=h.panel.sample_table() if h is not None else pd.DataFrame(),
        placebos=_placebo_frame(rd), h2020_placebos=_placebo_frame(h),
        event_study=es[["event_time", "estimate"]].copy() if es is not None else pd.DataFrame(),
        h2020_event_study=hes[["event_time", "estimate"]].copy() if hes is not None else pd.DataFrame(),
        earlier=earlier, notes=tuple(dict.fromkeys(notes)),
    )


__all__ = ["BUSINESS_RD", "CalendarOnset", "H2020", "SingleRegion", "analyse_outcome", "calendar_row",
           "earlier_programmes", "earliest_act_year", "onset_from_calendar", "placebo_rank", "single_region"]
