"""Analysis panels of Italian NUTS2 regions: the loaders' data turned into one tidy panel per design choice.

An analysis of Italian cluster policies makes the same handful of choices every time: which outcome and on which
scale, which timing coding of the policy calendar, which regions count as treated, which years. This module makes
those choices in one place so that templates, the specification grid and the tests build identical panels.

Rules applied to every panel (each is recorded in :attr:`AnalysisPanel.dropped` or :attr:`AnalysisPanel.notes`):

* Bolzano (ITH1) is always dropped: it has cluster support with no known start year, so it is neither a clean
  control nor a datable treated region.
* Treated regions not listed in ``treated`` (when a list is given) are dropped, not used as controls.
* Treated regions whose (anticipation-shifted) first treated year is at or before the first year of the window have
  no pre-period in the window; they are dropped because they identify nothing in a heterogeneity-robust design and
  would act as controls in TWFE.
* Treated regions first treated after the window's last year are recoded as untreated (cohort 0) for the window,
  with a note: within the window they are not-yet-treated.

The panel holds only real data from ``data/derived`` and ``data/policy``; nothing is simulated here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from clusterpolicy.data.loaders import load_h2020_italy, load_rd_panel
from clusterpolicy.data.policy import Coding, load_programmes, treatment_cohorts
from clusterpolicy.errors import UserInputError

logger = logging.getLogger(__name__)

Transform = Literal["log", "per_capita", "level"]

#: Region with cluster support of unknown start, excluded from every design.
UNKNOWN_ONSET = ("ITH1",)

#: Eurostat outcomes (``eurostat_rd_nuts2.csv``): label, unit of the level, per-capita scale and unit.
EUROSTAT_OUTCOMES: dict[str, dict[str, object]] = {
    "rd_personnel_bes_fte": {"label": "Business R&D personnel", "unit": "full-time equivalents",
                             "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "researchers_bes_fte": {"label": "Business researchers", "unit": "full-time equivalents",
                            "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
    "gerd_bes_mio_eur": {"label": "Business R&D expenditure", "unit": "million EUR",
                         "pc_scale": 1e6, "pc_unit": "EUR per inhabitant"},
    "rd_personnel_total_fte": {"label": "R&D personnel (all sectors)", "unit": "full-time equivalents",
                               "pc_scale": 1e3, "pc_unit": "FTE per 1,000 inhabitants"},
}

#: H2020 outcomes (``h2020_italy_nuts2.csv``): counts of projects, lower bounds (see the loader).
H2020_OUTCOMES: dict[str, dict[str, object]] = {
    "coparticipation_projects": {"label": "H2020 firm-institute co-participation projects",
                                 "unit": "projects", "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
    "coparticipation_projects_intraregional": {
        "label": "H2020 projects joining a firm and an institute of the same region", "unit": "projects",
        "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
    "coparticipation_projects_org2017": {
        "label": "H2020 co-participation projects (organisations of the 2017 list)", "unit": "projects",
        "pc_scale": 1e6, "pc_unit": "projects per million inhabitants"},
}

OUTCOMES = {**EUROSTAT_OUTCOMES, **H2020_OUTCOMES}

#: Programmes in ``data/policy/programmes.csv`` that describe a region's primary cluster policy or its context.
REGION_PROGRAMMES: dict[str, tuple[str, ...]] = {
    "ITC4": ("Lombardy technology clusters (CTL)",),
    "ITH3": ("Veneto Regional Innovative Networks", "Veneto Interreg portfolio"),
    "ITH5": ("Emilia-Romagna Clust-ER", "Emilia-Romagna High Technology Network", "Emilia-Romagna Tecnopoli"),
    "ITC1": ("Piedmont innovation poles",),
}


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
    return {"log": f"{base} (log)", "per_capita": f"{base} per capita", "level": base}[transform]


def outcome_unit(outcome: str, transform: Transform = "level") -> str:
    """Unit of the transformed outcome, for axis labels."""
    _check_choice("outcome", outcome, list(OUTCOMES))
    spec = OUTCOMES[outcome]
    return {"log": f"log points of {spec['unit']}", "per_capita": str(spec["pc_unit"]),
            "level": str(spec["unit"])}[transform]


@dataclass(frozen=True)
class AnalysisPanel:
    """A long panel of Italian NUTS2 regions ready for a staggered difference-in-differences.

    Attributes
    ----------
    data
        Columns ``nuts2, region, year, y, raw, population, cohort`` sorted by region and year. ``y`` is the
        transformed outcome, ``raw`` the outcome in its original unit, ``cohort`` the first treated year after the
        anticipation shift (0 = untreated in the window).
    outcome, transform, coding, anticipation, first_year, last_year
        The choices that built the panel.
    cohorts
        ``{nuts2: first treated year}`` of the treated regions kept (after the anticipation shift).
    calendar_cohorts
        The calendar's years for the same regions before the shift.
    dropped
        ``{nuts2: reason}`` for every Italian region left out.
    notes
        Other things a reader should know (recoded cohorts, interpolated population, coverage).
    """

    data: pd.DataFrame
    outcome: str
    transform: str
    coding: str
    anticipation: int
    first_year: int
    last_year: int
    cohorts: dict[str, int]
    calendar_cohorts: dict[str, int]
    dropped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    region_names: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return outcome_label(self.outcome, self.transform)  # type: ignore[arg-type]

    @property
    def unit_label(self) -> str:
        return outcome_unit(self.outcome, self.transform)  # type: ignore[arg-type]

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
        """One row per treated region: calendar year, year used, and pre/post years observed in the window."""
        years = np.array(self.years)
        names = self.region_names
        rows = []
        for code, g in sorted(self.cohorts.items(), key=lambda kv: (kv[1], kv[0])):
            rows.append({"region": f"{names.get(code, code)} ({code})", "calendar year": self.calendar_cohorts[code],
                         "first treated": g, "pre years": int((years < g).sum()),
                         "post years": int((years >= g).sum())})
        return pd.DataFrame(rows, columns=["region", "calendar year", "first treated", "pre years", "post years"])

    def sample_table(self) -> pd.DataFrame:
        """Every Italian region: its role in this design (treated cohort, control, or dropped and why)."""
        names = self.region_names
        rows = []
        for code in sorted(set(self.data["nuts2"]) | set(self.dropped)):
            if code in self.dropped:
                role = f"dropped: {self.dropped[code]}"
            elif code in self.cohorts:
                role = f"treated from {self.cohorts[code]}"
            else:
                role = "control"
            rows.append({"nuts2": code, "region": names.get(code, code), "role": role})
        return pd.DataFrame(rows, columns=["nuts2", "region", "role"])


def _region_names(h2020: pd.DataFrame) -> dict[str, str]:
    names = h2020.drop_duplicates("nuts2").set_index("nuts2")["region_name"]
    return {str(k): str(v) for k, v in names.items()}


def _population(rd: pd.DataFrame) -> pd.DataFrame:
    """Italian population by region and year, interior gaps filled by linear interpolation within region.

    Population comes from the all-sector R&D series (2011 on, a few years missing); interpolating interior gaps of
    a slowly moving series changes per-capita values by far less than their rounding. No extrapolation.
    """
    pop = rd.loc[rd["country"] == "IT", ["nuts2", "year", "population"]].sort_values(["nuts2", "year"])
    filled = pop.groupby("nuts2", group_keys=False)["population"].apply(
        lambda s: s.interpolate(method="linear", limit_area="inside"))
    return pop.assign(population=filled.to_numpy())


def analysis_panel(
    outcome: str,
    *,
    transform: Transform = "log",
    coding: Coding = "onset",
    treated: Sequence[str] | None = None,
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
        A column of :data:`EUROSTAT_OUTCOMES` (e.g. ``rd_personnel_bes_fte``) or :data:`H2020_OUTCOMES`
        (e.g. ``coparticipation_projects``).
    transform
        ``"log"`` (natural log; needs positive values), ``"per_capita"`` (per 1,000 inhabitants for personnel, EUR
        per inhabitant for expenditure, per million inhabitants for project counts; needs population, available
        2011-2019) or ``"level"``.
    coding
        Timing coding of the policy calendar (:func:`~clusterpolicy.data.policy.treatment_cohorts`).
    treated
        NUTS2 codes to keep as treated; the other treated regions are dropped. ``None`` or empty: all.
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
        For an unknown outcome or choice, a ``treated`` code that is not a dated treated region, an empty window, a
        log of non-positive values, or per-capita years without population.
    """
    _check_choice("outcome", outcome, list(OUTCOMES))
    _check_choice("transform", transform, get_args(Transform))
    _check_choice("coding", coding, get_args(Coding))
    if not isinstance(anticipation, int) or anticipation < 0 or anticipation > 5:
        raise UserInputError(f"anticipation={anticipation!r} must be an integer number of years from 0 to 5.")
    h2020 = load_h2020_italy() if h2020 is None else h2020
    names = _region_names(h2020)
    notes: list[str] = []
    if outcome in EUROSTAT_OUTCOMES:
        rd = load_rd_panel() if rd is None else rd
        base = rd.loc[rd["country"] == "IT", ["nuts2", "year", outcome]]
        source = "eurostat_rd_nuts2.csv"
    else:
        base = h2020[["nuts2", "year", outcome]]
        source = "h2020_italy_nuts2.csv"
        cov = h2020.drop_duplicates("year").set_index("year")["coverage_national"]
        cov = cov[(cov.index >= (first_year or cov.index.min())) & (cov.index <= (last_year or cov.index.max()))]
        if not cov.empty:
            notes.append(
                "H2020 counts are lower bounds: only participations the geocoding chain places in a region are "
                f"counted (national coverage {cov.min():.0%} to {cov.max():.0%} by year in the window, lower from "
                "2017 on); projects starting in the last year are incomplete when it is 2021 (signed by mid-December "
                "2020 only).")
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

    # ---- treatment: calendar cohorts, shifted by anticipation, then the sample rules of the module docstring
    calendar_cohorts = treatment_cohorts(coding, calendar=calendar)
    wanted = list(treated or [])
    unknown = sorted(set(wanted) - set(calendar_cohorts))
    if unknown:
        raise UserInputError(
            f"treated={unknown} are not Italian regions with a dated cluster policy under coding={coding!r}; "
            f"choose from {', '.join(sorted(calendar_cohorts))} (policy_calendar.csv)."
        )
    dropped: dict[str, str] = {code: "cluster support with no known start year" for code in UNKNOWN_ONSET}
    cohorts: dict[str, int] = {}
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
    base = base[~base["nuts2"].isin(list(dropped))]
    base = base.assign(cohort=base["nuts2"].map(cohorts).fillna(0).astype("int64"))
    if not cohorts:
        raise UserInputError(
            f"no treated region is left in {lo}-{hi} with coding={coding!r}, anticipation={anticipation} and "
            f"treated={wanted or 'all'}; widen the window or change the treated set."
        )

    # ---- transform
    rd_pop = load_rd_panel() if (transform == "per_capita" and rd is None) else rd
    pop = _population(rd_pop) if rd_pop is not None else None
    if pop is not None:
        base = base.merge(pop, on=["nuts2", "year"], how="left")
    else:
        base = base.assign(population=np.nan)
    raw = base["raw"].astype("float64")
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
                f"transform='per_capita' needs population (eurostat_rd_nuts2.csv, column population, from 2011 to "
                f"2019), missing for years {years}; set first_year/last_year inside 2011-2019 or use transform='log'."
            )
        y = raw / base["population"] * float(OUTCOMES[outcome]["pc_scale"])  # type: ignore[arg-type]
        if rd_pop is not None and rd_pop["population"].isna().any():
            notes.append("Population gaps inside 2011-2019 are filled by linear interpolation within region.")
    else:
        y = raw
    data = base.assign(y=y.astype("float64"))[["nuts2", "region", "year", "y", "raw", "population", "cohort"]]
    data = data.sort_values(["nuts2", "year"], ignore_index=True)
    counts = data.groupby("nuts2")["year"].size()
    n_years = data["year"].nunique()
    if (counts < n_years).any():
        notes.append(f"Unbalanced: {', '.join(counts.index[counts < n_years])} lack some years of {lo}-{hi}.")
    return AnalysisPanel(
        data=data, outcome=outcome, transform=transform, coding=coding, anticipation=anticipation,
        first_year=int(data["year"].min()), last_year=int(data["year"].max()), cohorts=dict(sorted(cohorts.items())),
        calendar_cohorts={k: calendar_cohorts[k] for k in sorted(cohorts)}, dropped=dict(sorted(dropped.items())),
        notes=tuple(notes), region_names=names,
    )


def programme_facts(nuts2: str, programmes: pd.DataFrame | None = None) -> dict[str, str]:
    """Verified facts of the programmes linked to a region in :data:`REGION_PROGRAMMES`, ``{fact: value}``.

    Only rows with ``verified == "yes"`` are returned; when a fact has conflicting rows the first is kept and the
    conflict stays visible in ``data/policy/programmes.csv``.
    """
    progs = load_programmes() if programmes is None else programmes
    wanted = REGION_PROGRAMMES.get(nuts2, ())
    rows = progs[progs["programme"].isin(wanted) & (progs["verified"] == "yes")]
    out: dict[str, str] = {}
    for rec in rows.itertuples():
        out.setdefault(str(rec.fact), str(rec.value))
    return out


def calendar_years(nuts2: str, calendar: pd.DataFrame | None = None) -> dict[str, int | None]:
    """The calendar's onset, legal-act and first-funding years of a region's primary policy."""
    out: dict[str, int | None] = {}
    for coding in get_args(Coding):
        years = treatment_cohorts(coding, calendar=calendar, fill_missing="drop")
        out[coding] = years.get(nuts2)
    return out


def region_sets(calendar: pd.DataFrame | None = None) -> Mapping[str, list[str]]:
    """Named sets of Italian regions: ``treated`` (dated cluster policy), ``never_treated`` and ``excluded``."""
    cohorts = treatment_cohorts("onset", calendar=calendar)
    h2020 = load_h2020_italy()
    every = sorted(str(c) for c in h2020["nuts2"].unique())
    return {
        "treated": sorted(cohorts),
        "never_treated": [c for c in every if c not in cohorts and c not in UNKNOWN_ONSET],
        "excluded": list(UNKNOWN_ONSET),
    }
