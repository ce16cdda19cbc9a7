"""Analysis panels of Italian NUTS2 regions: the derived data turned into one tidy panel per design choice.

An analysis of Italian cluster policies makes the same handful of choices every time: which outcome and on which
scale, which treatment definition of the audited calendar (:mod:`clusterpolicy.study.treatments`), which regions may
serve as controls, which years. This module makes those choices in one place so that templates, the specification
curve and the tests build identical panels.

Rules applied to every panel (each recorded in :attr:`AnalysisPanel.dropped` or :attr:`AnalysisPanel.notes`):

* a region whose status under the definition is ``unknown`` (no datable evidence either way) is dropped: it is
  never a control by omission;
* a region with status ``never`` (positive evidence of no qualifying policy) is a control;
* treated regions not listed in ``treated`` (when a list is given) are dropped, not used as controls;
* treated regions whose (anticipation-shifted) first treated year is at or before the window's first year have no
  pre-period; they are dropped because they identify nothing in a heterogeneity-robust design and would act as
  controls in TWFE;
* treated regions first treated after the window's last year are untreated (cohort 0) within the window: they are
  not-yet-treated controls;
* ``controls="centre_north"`` keeps only Centre-North regions (treated and controls), so that comparisons are not
  made with Southern regions growing from small bases.

The panel holds only real data from ``data/derived`` and ``data/policy``; nothing is simulated here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA, MEZZOGIORNO
from clusterpolicy.data.loaders import load_h2020_italy, load_rd_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.study.treatments import DEFINITIONS, check_definition, cohort_table

logger = logging.getLogger(__name__)

Transform = Literal["log", "per_capita", "level"]
Controls = Literal["all", "centre_north"]

#: Macro-area groups (ISTAT): the Mezzogiorno (South and Islands) and the Centre-North.
def macro_group(nuts2: str) -> str:
    """``"south"`` for the Mezzogiorno (South and Islands), ``"centre_north"`` otherwise."""
    return "south" if MACRO_AREA.get(nuts2) in MEZZOGIORNO else "centre_north"

#: Eurostat outcomes (``eurostat_rd_nuts2.csv``): label, unit of the level, per-capita scale and unit.
EUROSTAT_OUTCOMES: dict[str, dict[str, Any]] = {
    "rd_personnel_bes_fte": {"label": "Business R&D personnel", "unit": "full-time equivalents",
                             "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "researchers_bes_fte": {"label": "Business researchers", "unit": "full-time equivalents",
                            "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "gerd_bes_mio_eur": {"label": "Business R&D expenditure", "unit": "million EUR",
                         "pc_scale": 1e6, "pc_unit": "EUR per inhabitant"},
    "rd_personnel_total_fte": {"label": "R&D personnel (all sectors)", "unit": "full-time equivalents",
                               "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "rd_personnel_hes_fte": {"label": "University R&D personnel", "unit": "full-time equivalents",
                             "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "rd_personnel_gov_fte": {"label": "Government R&D personnel", "unit": "full-time equivalents",
                             "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
}

#: Within-region contrasts: the log of one Eurostat outcome over another (``transform="log"`` only). A common
#: regional shock that moves business and university R&D alike cancels out.
CONTRASTS: dict[str, dict[str, Any]] = {
    "rd_personnel_bes_minus_hes": {"label": "Business minus university R&D personnel", "unit": "log ratio",
                                   "numerator": "rd_personnel_bes_fte", "denominator": "rd_personnel_hes_fte"},
}

#: H2020 outcomes (``h2020_italy_nuts2.csv``): counts of projects, lower bounds (see the loader).
H2020_OUTCOMES: dict[str, dict[str, Any]] = {
    "coparticipation_projects": {"label": "H2020 firm-institute co-participation projects",
                                 "unit": "projects", "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
    "coparticipation_projects_intraregional": {
        "label": "H2020 projects joining a firm and an institute of the same region", "unit": "projects",
        "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
    "coparticipation_projects_org2017": {
        "label": "H2020 co-participation projects (organisations of the 2017 list)", "unit": "projects",
        "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
}

OUTCOMES = {**EUROSTAT_OUTCOMES, **H2020_OUTCOMES, **CONTRASTS}


@functools.lru_cache(maxsize=1)
def _committed_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The committed R&D panel, H2020 panel and audited calendar, read (and checksum-verified) once per process:
    a specification curve builds hundreds of panels from them. Callers never modify them."""
    from clusterpolicy.data.calendar import load_cluster_policies

    return load_rd_panel(), load_h2020_italy(), load_cluster_policies()


@functools.lru_cache(maxsize=8)
def _committed_cohort_table(definition: str) -> pd.DataFrame:
    """A definition's cohort table on the committed calendar, computed once per process."""
    return cohort_table(definition, calendar=_committed_inputs()[2])


@functools.lru_cache(maxsize=1)
def _committed_population() -> pd.DataFrame:
    return _population(_committed_inputs()[0])


def _check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    if value not in allowed:
        raise UserInputError(f"{name}={value!r} is not allowed; use one of {', '.join(map(repr, allowed))}.")


def is_count_outcome(outcome: str) -> bool:
    """True for the H2020 project counts (estimate them with Poisson-type estimators on levels)."""
    return outcome in H2020_OUTCOMES


def outcome_label(outcome: str, transform: Transform = "level") -> str:
    """Human label of an outcome on a scale, e.g. ``'Business R&D personnel (log)'``."""
    _check_choice("outcome", outcome, list(OUTCOMES))
    base = str(OUTCOMES[outcome]["label"])
    if outcome in CONTRASTS:
        return f"{base} (log ratio)"
    return {"log": f"{base} (log)", "per_capita": f"{base} per capita", "level": base}[transform]


def outcome_unit(outcome: str, transform: Transform = "level") -> str:
    """Unit of the transformed outcome, for axis labels."""
    _check_choice("outcome", outcome, list(OUTCOMES))
    spec = OUTCOMES[outcome]
    if outcome in CONTRASTS:
        return "log points (ratio)"
    return {"log": f"log points of {spec['unit']}", "per_capita": str(spec["pc_unit"]),
            "level": str(spec["unit"])}[transform]


@dataclass(frozen=True)
class AnalysisPanel:
    """A long panel of Italian NUTS2 regions ready for a staggered difference-in-differences.

    Attributes
    ----------
    data
        Columns ``nuts2, region, macro_area, macro_group, year, y, raw, population, cohort`` sorted by region and
        year. ``y`` is the transformed outcome, ``raw`` the outcome in its original unit, ``cohort`` the first
        treated year after the anticipation shift (0 = untreated in the window).
    outcome, transform, definition, controls, anticipation, first_year, last_year
        The choices that built the panel.
    cohorts
        ``{nuts2: first treated year}`` of the treated regions kept (after the anticipation shift).
    calendar_cohorts
        The calendar's years for the same regions before the shift.
    dropped
        ``{nuts2: reason}`` for every Italian region left out.
    notes
        Other things a reader should know (recoded cohorts, interpolated population, coverage).
    statuses
        ``{nuts2: (status, reason)}`` of every Italian region under the definition (the generated cohort table).
    """

    data: pd.DataFrame
    outcome: str
    transform: Transform
    definition: str
    controls: Controls
    anticipation: int
    first_year: int
    last_year: int
    cohorts: dict[str, int]
    calendar_cohorts: dict[str, int]
    dropped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    region_names: dict[str, str] = field(default_factory=lambda: dict(ITALIAN_NUTS2))
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return outcome_label(self.outcome, self.transform)

    @property
    def unit_label(self) -> str:
        return outcome_unit(self.outcome, self.transform)

    @property
    def n_treated(self) -> int:
        return len(self.cohorts)

    @property
    def n_control(self) -> int:
        return int(self.data.loc[self.data["cohort"] == 0, "nuts2"].nunique())

    @property
    def n_regions(self) -> int:
        return int(self.data["nuts2"].nunique())

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.data["year"].unique())

    @property
    def is_count(self) -> bool:
        return is_count_outcome(self.outcome)

    def cohort_table(self) -> pd.DataFrame:
        """One row per treated region: definition's year, year used, and pre/post years observed in the window."""
        years = np.array(self.years)
        names = self.region_names
        rows = []
        for code, g in sorted(self.cohorts.items(), key=lambda kv: (kv[1], kv[0])):
            rows.append({"region": f"{names.get(code, code)} ({code})", "calendar year": self.calendar_cohorts[code],
                         "first treated": g, "pre years": int((years < g).sum()),
                         "post years": int((years >= g).sum())})
        return pd.DataFrame(rows, columns=["region", "calendar year", "first treated", "pre years", "post years"])

    def sample_table(self) -> pd.DataFrame:
        """Every Italian region: its role in this design (treated cohort, control, or dropped) and why."""
        names = self.region_names
        rows = []
        for code in sorted(set(self.data["nuts2"]) | set(self.dropped)):
            status, reason = self.statuses.get(code, ("", ""))
            if code in self.dropped:
                role, why = "dropped", self.dropped[code]
            elif code in self.cohorts:
                role, why = "treated", f"from {self.cohorts[code]}: {reason}"
            elif status == "treated":
                role, why = "control", f"not yet treated in the window ({reason})"
            else:
                role, why = "control", reason or status
            rows.append({"nuts2": code, "region": names.get(code, code), "macro_area": MACRO_AREA.get(code, ""),
                         "role": role, "why": why})
        return pd.DataFrame(rows, columns=["nuts2", "region", "macro_area", "role", "why"])

    def role(self, nuts2: str) -> str:
        """``treated``, ``control`` or ``dropped`` (``""`` for a code outside Italy)."""
        if nuts2 in self.dropped:
            return "dropped"
        if nuts2 in self.cohorts:
            return "treated"
        return "control" if nuts2 in set(self.data["nuts2"]) else ""


def _population(rd: pd.DataFrame) -> pd.DataFrame:
    """Italian population by region and year, interior gaps filled by linear interpolation within region.

    Population comes from the all-sector R&D series (2011-2019, a few years missing); interpolating interior gaps
    of a slowly moving series changes per-capita values by far less than their rounding. The last observed year is
    carried forward one year (2020), so that per-capita H2020 counts cover the whole 2015-2020 window; regional
    populations change by well under 1 % a year.
    """
    pop = rd.loc[rd["country"] == "IT", ["nuts2", "year", "population"]].sort_values(["nuts2", "year"])
    filled = pop.groupby("nuts2", group_keys=False)["population"].apply(
        lambda s: s.interpolate(method="linear", limit_area="inside"))
    pop = pop.assign(population=filled.to_numpy())
    last = pop.dropna(subset=["population"]).sort_values("year").groupby("nuts2").tail(1)
    carried = last.assign(year=last["year"] + 1)
    carried = carried[~carried.set_index(["nuts2", "year"]).index.isin(pop.set_index(["nuts2", "year"]).index)]
    return pd.concat([pop, carried], ignore_index=True).sort_values(["nuts2", "year"], ignore_index=True)


def analysis_panel(
    outcome: str,
    *,
    transform: Transform = "log",
    definition: str = "T1",
    treated: Sequence[str] | None = None,
    onsets: Mapping[str, int] | None = None,
    controls: Controls = "all",
    first_year: int | None = None,
    last_year: int | None = None,
    anticipation: int = 0,
    rd: pd.DataFrame | None = None,
    h2020: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
) -> AnalysisPanel:
    """Build the analysis panel of Italian NUTS2 regions for one set of design choices.

    Parameters
    ----------
    outcome
        A column of :data:`EUROSTAT_OUTCOMES` (e.g. ``rd_personnel_bes_fte``), :data:`H2020_OUTCOMES` (e.g.
        ``coparticipation_projects_intraregional``) or a within-region contrast of :data:`CONTRASTS`.
    transform
        ``"log"`` (natural log; needs positive values), ``"per_capita"`` (per 1,000 inhabitants for personnel, EUR
        per inhabitant for expenditure, per million inhabitants for project counts; needs population, 2011-2020)
        or ``"level"``. Contrasts take ``"log"`` only.
    definition
        Treatment definition of :mod:`clusterpolicy.study.treatments` (``T1``, ``T2``, ``T1_high_medium``, ``T2_high_medium``).
    treated
        NUTS2 codes to keep as treated; the other treated regions are dropped. ``None`` or empty: all.
    onsets
        ``{nuts2: year}``: single-region designs that date a programme themselves (a calendar row cited by the
        run); these regions are the treated set and override the definition's cohort.
    controls
        ``"all"`` or ``"centre_north"`` (drop every Mezzogiorno region).
    first_year, last_year
        Window (inclusive); default: the years in which the outcome is observed for Italian regions.
    anticipation
        Years by which the policy may have acted before its calendar year: every cohort is shifted earlier by this
        many years (so ``e = -anticipation`` becomes the first treated period).
    rd, h2020, calendar
        Already loaded inputs (for tests and repeated calls); default: the committed files.

    Returns
    -------
    AnalysisPanel

    Raises
    ------
    UserInputError
        For an unknown outcome or choice, a ``treated`` code that is not a treated region, an empty window, a log of
        non-positive values, or per-capita years without population.
    """
    _check_choice("outcome", outcome, list(OUTCOMES))
    _check_choice("transform", transform, get_args(Transform))
    _check_choice("controls", controls, get_args(Controls))
    check_definition(definition)
    if outcome in CONTRASTS and transform != "log":
        raise UserInputError(f"outcome={outcome!r} is a log ratio; use transform='log'.")
    if not isinstance(anticipation, int) or anticipation < 0 or anticipation > 5:
        raise UserInputError(f"anticipation={anticipation!r} must be an integer number of years from 0 to 5.")
    names = dict(ITALIAN_NUTS2)
    notes: list[str] = []
    committed = _committed_inputs() if rd is None or h2020 is None or calendar is None else None
    if committed is not None:
        rd = committed[0] if rd is None else rd
        h2020 = committed[1] if h2020 is None else h2020
        calendar = committed[2] if calendar is None else calendar
    assert rd is not None and h2020 is not None and calendar is not None  # given, or the committed files
    if outcome in H2020_OUTCOMES:
        base = h2020[["nuts2", "year", outcome]]
        source = "h2020_italy_nuts2.csv"
        cov = h2020.drop_duplicates("year").set_index("year")["coverage_national"]
        cov = cov[(cov.index >= (first_year or cov.index.min())) & (cov.index <= (last_year or cov.index.max()))]
        if not cov.empty:
            notes.append(
                "H2020 counts are lower bounds: only participations the geocoding chain places in a region are "
                f"counted (national coverage {cov.min():.0%} to {cov.max():.0%} by year in the window, lower from "
                "2017 on); projects starting in 2021 are incomplete (signed by mid-December 2020 only).")
    else:
        it = rd.loc[rd["country"] == "IT"]
        if outcome in CONTRASTS:
            num, den = (str(CONTRASTS[outcome][k]) for k in ("numerator", "denominator"))
            base = it[["nuts2", "year"]].assign(**{outcome: it[num] / it[den]})
        else:
            base = it[["nuts2", "year", outcome]]
        source = "eurostat_rd_nuts2.csv"
    base = base.rename(columns={outcome: "raw"}).dropna(subset=["raw"])
    observed = sorted(int(y) for y in base["year"].unique())
    lo = observed[0] if first_year is None else int(first_year)
    hi = observed[-1] if last_year is None else int(last_year)
    if lo > hi:
        raise UserInputError(f"first_year={lo} is after last_year={hi}; swap them.")
    base = base[(base["year"] >= lo) & (base["year"] <= hi)]
    if base.empty or base["year"].nunique() < 2:
        raise UserInputError(
            f"{source}, column {outcome}: fewer than two observed years in {lo}-{hi} (observed "
            f"{observed[0]}-{observed[-1]}); choose first_year/last_year inside that range."
        )
    base = base.assign(region=base["nuts2"].map(names).fillna(base["nuts2"]))

    # ---- treatment: the definition's cohort table, shifted by anticipation, then the sample rules above
    table = (_committed_cohort_table(definition) if committed is not None and calendar is committed[2]
             else cohort_table(definition, calendar=calendar))
    table_rows: list[Any] = list(table.itertuples())
    statuses = {str(r.nuts2): (str(r.status), str(r.reason)) for r in table_rows}
    definition_cohorts = {str(r.nuts2): int(r.cohort) for r in table_rows if r.status == "treated"}
    if onsets:
        unknown_codes = sorted(set(onsets) - set(names))
        if unknown_codes:
            raise UserInputError(f"onsets={unknown_codes} are not Italian NUTS2 codes; use codes such as ITC4.")
        calendar_cohorts = {str(k): int(v) for k, v in onsets.items()}
        for code in calendar_cohorts:
            statuses[code] = ("treated", "onset set by the design (see the run's parameters)")
    else:
        calendar_cohorts = definition_cohorts
    wanted = list(treated or [])
    unknown = sorted(set(wanted) - set(calendar_cohorts))
    if unknown:
        raise UserInputError(
            f"treated={unknown} are not treated regions under definition {definition!r}; choose from "
            f"{', '.join(sorted(calendar_cohorts))} (data/policy/cluster_policies.csv, data/policy/CALENDAR.md)."
        )
    dropped: dict[str, str] = {}
    cohorts: dict[str, int] = {}
    for code, (status, reason) in sorted(statuses.items()):
        if code in calendar_cohorts:
            continue
        if status == "unknown":
            dropped[code] = f"unknown under {definition}: {reason}"
        elif status == "treated" and onsets:
            # another region's programme: in a single-region design it is neither treated nor a clean control
            # unless it starts after the window
            year = definition_cohorts[code]
            if year - anticipation <= hi:
                dropped[code] = f"treated under {definition} from {year}: not a clean control in this design"
    for code, year in calendar_cohorts.items():
        if wanted and code not in wanted:
            dropped[code] = f"treated region (from {year}) not in this design's treated set"
            continue
        g = year - anticipation
        if g <= lo:
            dropped[code] = f"already treated in {lo} (from {g}): no pre-period in the window"
        elif g > hi:
            notes.append(f"{names.get(code, code)} ({code}) is first treated in {g}, after the window; it counts as "
                         "untreated here.")
        else:
            cohorts[code] = g
    if controls == "centre_north":
        for code in names:
            if macro_group(code) == "south" and code not in dropped:
                dropped[code] = "Mezzogiorno region outside the Centre-North control set"
                cohorts.pop(code, None)
    base = base[~base["nuts2"].isin(list(dropped))]
    base = base.assign(cohort=base["nuts2"].map(cohorts).fillna(0).astype("int64"))
    if not cohorts:
        raise UserInputError(
            f"no treated region is left in {lo}-{hi} with definition={definition!r}, anticipation={anticipation}, "
            f"controls={controls!r} and treated={wanted or 'all'}; widen the window or change the design."
        )

    # ---- transform
    pop = _committed_population() if committed is not None and rd is committed[0] else _population(rd)
    base = base.merge(pop, on=["nuts2", "year"], how="left")
    raw = base["raw"].astype("float64")
    y: pd.Series | np.ndarray
    if transform == "log":
        bad = raw <= 0
        if bad.any():
            ex = base.loc[bad, ["nuts2", "year"]].head(3).to_dict("records")
            raise UserInputError(
                f"{source}, column {outcome}: {int(bad.sum())} non-positive values (e.g. {ex}) cannot be logged; "
                "use transform='level' (with a Poisson estimator for counts) or restrict the regions/years."
            )
        y = np.log(raw)
    elif transform == "per_capita":
        missing = base["population"].isna()
        if missing.any():
            years = sorted(int(v) for v in base.loc[missing, "year"].unique())
            raise UserInputError(
                f"transform='per_capita' needs population (eurostat_rd_nuts2.csv, column population, 2011-2019, "
                f"carried to 2020), missing for years {years}; set first_year/last_year inside 2011-2020 or use "
                "transform='log'."
            )
        y = raw / base["population"] * float(OUTCOMES[outcome]["pc_scale"])
        notes.append("Population gaps inside 2011-2019 are filled by linear interpolation within region; 2020 "
                     "carries 2019 forward.")
    else:
        y = raw
    data = base.assign(y=y.astype("float64"), macro_area=base["nuts2"].map(MACRO_AREA),
                       macro_group=base["nuts2"].map(macro_group))
    data = data[["nuts2", "region", "macro_area", "macro_group", "year", "y", "raw", "population", "cohort"]]
    data = data.sort_values(["nuts2", "year"], ignore_index=True)
    counts = data.groupby("nuts2")["year"].size()
    n_years = data["year"].nunique()
    if (counts < n_years).any():
        notes.append(f"Unbalanced: {', '.join(counts.index[counts < n_years])} lack some years of {lo}-{hi}.")
    return AnalysisPanel(
        data=data, outcome=outcome, transform=transform, definition=definition, controls=controls,
        anticipation=anticipation, first_year=int(data["year"].min()), last_year=int(data["year"].max()),
        cohorts=dict(sorted(cohorts.items())), calendar_cohorts={k: calendar_cohorts[k] for k in sorted(cohorts)},
        dropped=dict(sorted(dropped.items())), notes=tuple(notes), region_names=names, statuses=statuses,
    )


__all__ = ["CONTRASTS", "DEFINITIONS", "EUROSTAT_OUTCOMES", "H2020_OUTCOMES", "OUTCOMES", "AnalysisPanel",
           "analysis_panel", "is_count_outcome", "macro_group", "outcome_label", "outcome_unit"]
