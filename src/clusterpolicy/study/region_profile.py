"""Regional profiles: one region's policy history, collaboration, R&D and role in the book's analyses.

The rules (applied by code here; the template ``notebooks/region_profile.md`` shows them):

* **Region.** Any NUTS2 code present in the Eurostat R&D panel (``data/derived/eurostat_rd_nuts2.csv``). The
  policy calendar, the H2020 regional data and the Italian analyses cover the 21 Italian regions only; outside
  Italy those sections are reported as unavailable (:attr:`RegionProfile.unavailable`), never as zeros.
* **Benchmarks.** Each indicator is set beside two medians over regions, year by year: the national median (all
  regions of the region's country; for Italy the 21 regions) and a second group: the region's ISTAT macro-area for
  Italian regions, all regions in the Eurostat panel otherwise. Medians, not means, so one large region does not
  set the benchmark.
* **Collaboration.** H2020 co-participation projects (at least one firm and one knowledge institute) per million
  inhabitants by project start year, complete years only (2014-2020): within the region (a located firm AND a
  located institute of the region) and with partners anywhere (a located participant of the region). The counts
  are lower bounds: the geocoding chain places only part of Italy's participations in a region
  (``coverage_national`` by year; ``coverage_region_2021sample`` for the region, measured on a sample with known
  locations).
* **Partners.** Where the H2020 partners of the region's firms and institutes are (``h2020_italy_partners.csv``,
  complete start years 2014-2020): a partner is another firm or institute in a project with a located firm or
  institute of the region (full definition in ``data/derived/CODEBOOK.md``). The page lists the top
  :data:`TOP_PARTNERS` Italian regions (the region itself and unplaced partners left out: the region's own count
  is reported apart, unplaced partners give the geocoding caveat) and the top foreign countries (Italy left out:
  its partners are the regions), by distinct projects, ties broken by code.
* **R&D.** Personnel (full-time equivalents per 1,000 inhabitants) and expenditure (EUR per inhabitant) of the
  business, higher-education and government sectors, in the years with population (2011-2020).
* **Role in the analyses.** For every Italian difference-in-differences run of the manifest (template
  ``italy_did.md``) the design published in ``results/<run>.json`` (outcome, definition, scale, window, controls)
  is rebuilt with :func:`clusterpolicy.study.panel.analysis_panel` and the region's row of its sample table is
  read: treated, control or dropped, and why. For the headline run (:data:`HEADLINE_RUN`) the estimate is refitted
  without the region (leave-one-out). For every single-region run (template ``single_region.md``) the region is
  treated when the run's calendar row is the region's; otherwise its role is read from that design's sample.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clusterpolicy.data.build.h2020 import PARTNER_YEARS, UNPLACED
from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA, load_cluster_policies
from clusterpolicy.data.loaders import load_h2020_italy, load_h2020_italy_partners, load_rd_panel
from clusterpolicy.data.policy import interreg_exposure, short_region_name
from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.paths import project_root
from clusterpolicy.report.glue import not_published

#: The run whose estimate the profile refits without the region.
HEADLINE_RUN = "italy-main"
ROLES = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}
H2020_SERIES = {
    "coparticipation_projects_intraregional": "within the region",
    "coparticipation_projects": "with partners anywhere",
}
RD_SERIES = {
    "rd_personnel_bes_fte": ("business R&D personnel", "FTE per 1,000 inhabitants"),
    "rd_personnel_hes_fte": ("university R&D personnel", "FTE per 1,000 inhabitants"),
    "rd_personnel_gov_fte": ("government R&D personnel", "FTE per 1,000 inhabitants"),
    "gerd_bes_eur_hab": ("business R&D expenditure", "EUR per inhabitant"),
    "gerd_hes_eur_hab": ("university R&D expenditure", "EUR per inhabitant"),
    "gerd_gov_eur_hab": ("government R&D expenditure", "EUR per inhabitant"),
}
MACRO_LABEL = {"north_west": "North-West", "north_east": "North-East", "centre": "Centre", "south": "South",
               "islands": "Islands"}
MACRO_LABEL_IT = {"north_west": "Nord-Ovest", "north_east": "Nord-Est", "centre": "Centro", "south": "Sud",
                  "islands": "Isole"}
INTERREG_LABEL = {"clusterix2": "ClusteriX 2.0", "s3_4alpclusters": "S3-4AlpClusters", "inkrease": "INKREASE"}
#: The Italian predicate of "the region is <role>" (with its verb: "non è inclusa", not "è non inclusa").
ROLE_IT = {"treated": "è trattata", "control": "è di controllo", "dropped": "è esclusa",
           "not in the design": "non è inclusa"}
#: Partner regions and countries listed on a profile (the complete table is the derived file).
TOP_PARTNERS = 10
PARTNER_COLUMNS = ["level", "partner", "name", "name_it", "projects", "projects_firm_institute"]
#: CORDIS country codes that differ from ISO 3166 (babel's territory keys).
_CORDIS_TO_ISO = {"EL": "GR", "UK": "GB"}


def _num(x: Any) -> float | None:
    if x is None or pd.isna(x):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def normalise_code(nuts2: str, rd: pd.DataFrame) -> str:
    """Upper-case ``nuts2`` and check it is a NUTS2 code of the Eurostat panel (a fix-it message otherwise)."""
    code = str(nuts2).strip().upper()
    codes = set(rd["nuts2"])
    if code not in codes or len(code) != 4:
        near = sorted(c for c in codes if len(c) == 4 and c[:2] == code[:2])
        raise UserInputError(
            f"nuts2={nuts2!r} is not a NUTS2 region of data/derived/eurostat_rd_nuts2.csv; codes of that country: "
            f"{', '.join(near[:30]) or 'none (check the two-letter country code, e.g. IT, AT, EL for Greece)'}.")
    return code


# ================================================================================================================
# Indicator series with benchmarks
# ================================================================================================================
def with_benchmarks(frame: pd.DataFrame, value: str, code: str, group_of: dict[str, str],
                    group_label: str) -> pd.DataFrame:
    """The region's ``value`` by year beside the national median and the median of its benchmark group.

    ``frame`` has ``nuts2, country, year, value``; ``group_of`` maps the codes of the region's benchmark group to a
    label (codes absent from it are outside the group). Columns ``year, region, national_median, group_median``.
    """
    country = code[:2]
    data = frame.dropna(subset=[value])
    own = data[data["nuts2"] == code].set_index("year")[value].rename("region")
    national = data[data["country"] == country].groupby("year")[value].median().rename("national_median")
    group = data[data["nuts2"].isin(group_of)].groupby("year")[value].median().rename("group_median")
    out = pd.concat([own, national, group], axis=1).sort_index()
    out = out[out["region"].notna()]
    out.index.name = "year"
    return out.reset_index().assign(group=group_label)


def rd_series(rd: pd.DataFrame, code: str) -> pd.DataFrame:
    """R&D per inhabitant (:data:`RD_SERIES`), long: ``indicator, label, unit, year, region, national_median,
    group_median, group``, years with population only, NUTS2 regions only."""
    nuts2 = rd[rd["nuts2"].str.len() == 4].copy()
    group_of, group_label = benchmark_group(code, nuts2)
    frames = []
    for col, (label, unit) in RD_SERIES.items():
        per = nuts2[col] / nuts2["population"] * (1000.0 if col.startswith("rd_personnel") else 1.0)
        if col.startswith("gerd"):
            per = nuts2[col]
        part = with_benchmarks(nuts2.assign(_v=per), "_v", code, group_of, group_label)
        frames.append(part.assign(indicator=col, label=label, unit=unit))
    cols = ["indicator", "label", "unit", "year", "region", "national_median", "group_median", "group"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def benchmark_group(code: str, rd: pd.DataFrame) -> tuple[dict[str, str], str]:
    """The second benchmark: the Italian macro-area of an Italian region, all NUTS2 regions of the panel otherwise."""
    if code in MACRO_AREA:
        area = MACRO_AREA[code]
        return {c: a for c, a in MACRO_AREA.items() if a == area}, f"{MACRO_LABEL[area]} median"
    codes = sorted(set(rd.loc[rd["nuts2"].str.len() == 4, "nuts2"]))
    return dict.fromkeys(codes, "all"), "median of all regions"


def h2020_series(h2020: pd.DataFrame, population: pd.DataFrame, code: str) -> pd.DataFrame:
    """H2020 co-participation projects per million inhabitants (complete years), long: ``indicator, label, year,
    region, national_median, group_median, group``. Population: Eurostat, interior gaps interpolated, the last
    observed year carried forward (as in :func:`clusterpolicy.study.panel.analysis_panel`)."""
    data = h2020[h2020["year_complete"] == 1].merge(population, on=["nuts2", "year"], how="left")
    data = data.assign(country="IT")
    group_of, group_label = benchmark_group(code, pd.DataFrame({"nuts2": list(ITALIAN_NUTS2)}))
    frames = []
    for col, label in H2020_SERIES.items():
        per = data[col] / data["population"] * 1e6
        part = with_benchmarks(data.assign(_v=per), "_v", code, group_of, group_label)
        frames.append(part.assign(indicator=col, label=label))
    return pd.concat(frames, ignore_index=True)[["indicator", "label", "year", "region", "national_median",
                                                 "group_median", "group"]]


def italian_population(rd: pd.DataFrame) -> pd.DataFrame:
    """Italian population by region and year 2011-2021: interior gaps interpolated, last value carried forward."""
    pop = rd.loc[rd["country"] == "IT", ["nuts2", "year", "population"]]
    pop = pop[pop["nuts2"].isin(ITALIAN_NUTS2)]
    years = range(2011, 2022)
    grid = pd.MultiIndex.from_product([sorted(ITALIAN_NUTS2), years], names=["nuts2", "year"])
    pop = pop.set_index(["nuts2", "year"])["population"].reindex(grid).reset_index()
    pop["population"] = pop.groupby("nuts2")["population"].transform(
        lambda s: s.interpolate(limit_area="inside").ffill())
    return pop


# ================================================================================================================
# H2020 partners
# ================================================================================================================
def country_name(code: str, language: str = "en") -> str:
    """Country name of a CORDIS country code in ``language`` (``en``/``it``), the code itself if unknown."""
    from babel import Locale

    return str(Locale.parse(language).territories.get(_CORDIS_TO_ISO.get(code, code), code))


def _ranked(rows: pd.DataFrame, top: int) -> pd.DataFrame:
    # Ties are broken by the partner code so the list (and the page) is the same on every run.
    return rows.sort_values(["projects", "partner"], ascending=[False, True], kind="mergesort").head(top)


def top_partners(partners: pd.DataFrame, code: str, top: int = TOP_PARTNERS) -> pd.DataFrame:
    """The region's top partner Italian regions and top partner countries outside Italy, by distinct projects.

    ``partners`` is ``h2020_italy_partners.csv``. Returns ``level`` (``Italian region`` or ``country``),
    ``partner`` (code), ``name`` and ``name_it`` (English and Italian), ``projects``, ``projects_firm_institute``;
    up to ``top`` rows per level. The region itself and unplaced Italian partners are not ranked (see
    :func:`partner_values`), nor is Italy among countries.
    """
    own = partners[partners["nuts2"] == code]
    regions = own[(own["partner_level"] == "nuts2") & ~own["partner"].isin([code, UNPLACED])]
    countries = own[(own["partner_level"] == "country") & (own["partner"] != "IT")]
    out = pd.concat([_ranked(regions, top).assign(level="Italian region"),
                     _ranked(countries, top).assign(level="country")], ignore_index=True)
    out = out.assign(name=[_partner_name(c, "en") for c in out["partner"]],
                     name_it=[_partner_name(c, "it") for c in out["partner"]])
    return out[PARTNER_COLUMNS].astype({"projects": "int64", "projects_firm_institute": "int64"})


def partner_values(partners: pd.DataFrame, code: str) -> dict[str, Any]:
    """The published numbers of the partners section (``partners`` is ``h2020_italy_partners.csv``).

    ``top_partner_region``/``top_partner_country`` name every partner sharing the highest project count ("Veneto
    and Lazio"; ties are common for small regions, and a tie must not hide behind one name picked by code order);
    ``n_top_partner_*`` says how many tie, and the names are ``None`` when more than three do. Also: the projects
    with a second organisation of the region and with any Italian partner, and how many of the Italian partner
    participations the geocoding places in a region.
    """
    own = partners[partners["nuts2"] == code]

    def count(level: str, partner: str, column: str) -> int:
        row = own[(own["partner_level"] == level) & (own["partner"] == partner)]
        return int(row[column].iloc[0]) if len(row) else 0

    total = count("country", "IT", "partner_participations")
    unplaced = count("nuts2", UNPLACED, "partner_participations")
    regions = _most(own, "nuts2", exclude=(code, UNPLACED))
    countries = _most(own, "country", exclude=("IT",))
    return dict(
        partner_first_year=PARTNER_YEARS[0], partner_last_year=PARTNER_YEARS[-1],
        top_partner_region=_names(regions, "en"), top_partner_region_it=_names(regions, "it"),
        n_top_partner_regions=len(regions), top_partner_region_projects=_max(regions),
        top_partner_country=_names(countries, "en"), top_partner_country_it=_names(countries, "it"),
        n_top_partner_countries=len(countries), top_partner_country_projects=_max(countries),
        n_partner_countries=int(((own["partner_level"] == "country") & (own["partner"] != "IT")).sum()),
        partner_projects_own_region=count("nuts2", code, "projects"),
        partner_projects_italy=count("country", "IT", "projects"),
        it_partners_total=total, it_partners_placed=total - unplaced,
        it_partners_placed_share=(total - unplaced) / total if total else None,
    )


#: Published partner fields, all ``None`` outside Italy.
PARTNER_FIELDS = ("partner_first_year", "partner_last_year", "top_partner_region", "top_partner_region_it",
                  "n_top_partner_regions", "top_partner_region_projects", "top_partner_country",
                  "top_partner_country_it", "n_top_partner_countries", "top_partner_country_projects",
                  "n_partner_countries", "partner_projects_own_region", "partner_projects_italy", "it_partners_total",
                  "it_partners_placed", "it_partners_placed_share")


def _most(own: pd.DataFrame, level: str, exclude: tuple[str, ...]) -> pd.DataFrame:
    """Every partner of ``level`` (codes in ``exclude`` left out) sharing the highest project count, by code."""
    rows = own[(own["partner_level"] == level) & ~own["partner"].isin(exclude)]
    return rows[rows["projects"] == rows["projects"].max()].sort_values("partner") if len(rows) else rows


def _max(rows: pd.DataFrame) -> int | None:
    return int(rows["projects"].max()) if len(rows) else None


def _partner_name(code: str, language: str) -> str:
    return short_region_name(ITALIAN_NUTS2[code]) if code in ITALIAN_NUTS2 else country_name(code, language)


def _names(tied: pd.DataFrame, language: str) -> str | None:
    """``"A"``, ``"A and B"``, ``"A, B and C"`` (Italian ``e``); ``None`` if no partner or more than three tie."""
    if tied.empty or len(tied) > 3:
        return None
    names = [_partner_name(c, language) for c in tied["partner"]]
    joiner = {"en": " and ", "it": " e "}[language]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + joiner + names[-1]


def _projects(n: int, tied: int = 1) -> str:
    return f"{n:,} project" + ("" if n == 1 else "s") + (" each" if tied > 1 else "")


def _top_phrase(names: str | None, n_tied: int, projects: int | None, where: str, plural: str) -> str:
    if projects is None:
        return ""
    if names is None:
        return f"equally from {n_tied} {plural} {where} ({_projects(projects, n_tied)})"
    return f"from {names} {where} ({_projects(projects, n_tied)})"


def partners_sentence(v: dict[str, Any]) -> str:
    """The partners section's paragraph (English) from its published values."""
    parts = [p for p in (
        _top_phrase(v["top_partner_region"], v["n_top_partner_regions"], v["top_partner_region_projects"],
                    "among the other Italian regions", "regions"),
        _top_phrase(v["top_partner_country"], v["n_top_partner_countries"], v["top_partner_country_projects"],
                    "abroad", "countries"),
    ) if p]
    if not parts:
        return (f"No H2020 partner of {v['region']}'s located firms and institutes is recorded for projects starting "
                f"{v['partner_first_year']}-{v['partner_last_year']}.")
    return (f"In H2020 projects starting {v['partner_first_year']}-{v['partner_last_year']}, {v['region']}'s firms "
            f"and knowledge institutes most often had partners {' and '.join(parts)}, out of "
            f"{v['n_partner_countries']} partner countries outside Italy. In "
            f"{_projects(v['partner_projects_own_region'])} they were joined by another firm or institute of "
            f"{v['region']}, and in {_projects(v['partner_projects_italy'])} by one from anywhere in Italy.")


# ================================================================================================================
# Role in the book's analyses
# ================================================================================================================
def _manifest_runs(root: Path) -> list[dict[str, Any]]:
    import yaml

    doc = yaml.safe_load((root / "notebooks" / "runs.yaml").read_text(encoding="utf-8")) or {}
    return list(doc.get("runs") or [])


def _results(root: Path, run_id: str) -> dict[str, Any] | None:
    path = root / "results" / f"{run_id}.json"
    if not path.exists():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")).get("values", {}))


EVENT_COLUMNS = ["event_time", "estimate", "se", "ci_low", "ci_high"]


def cohort_event_study(group_time: pd.DataFrame | None, cohort: int, critical_value: float) -> pd.DataFrame:
    """The event study of one adoption cohort from a Callaway-Sant'Anna fit: its ATT(g, t) by ``t - g`` with
    intervals ``estimate -/+ critical_value * se`` (the headline run's critical value)."""
    if group_time is None or group_time.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    gt = group_time[group_time["group"] == cohort].sort_values("time")
    out = pd.DataFrame({"event_time": (gt["time"] - cohort).astype(int), "estimate": gt["estimate"], "se": gt["se"]})
    out["ci_low"] = out["estimate"] - critical_value * out["se"]
    out["ci_high"] = out["estimate"] + critical_value * out["se"]
    return out.reset_index(drop=True)[EVENT_COLUMNS]


def analysis_roles(code: str, root: Path | None = None) -> tuple[pd.DataFrame, float | None, float | None,
                                                                 pd.DataFrame, int | None]:
    """The region's role in every Italian analysis of the manifest, and the headline estimate with and without it.

    Returns ``(roles, headline, without, event_study, cohort)``: ``roles`` has ``run, analysis, role, why``;
    ``headline`` is the published estimate of :data:`HEADLINE_RUN` refitted here and ``without`` the same fit
    without the region (``None`` when the region is not in that design or the refit fails); when the region is
    treated in that design, ``event_study`` is its cohort's event study (:func:`cohort_event_study`) and ``cohort``
    the cohort's first treated year.
    """
    from clusterpolicy.study.panel import analysis_panel
    from clusterpolicy.study.single_region import EUROSTAT_WINDOW, onset_from_calendar

    root = root or project_root()
    rows: list[dict[str, Any]] = []
    headline = without = None
    event_study, cohort = pd.DataFrame(columns=EVENT_COLUMNS), None
    calendar = load_cluster_policies()
    for run in _manifest_runs(root):
        template, run_id = run.get("template"), run.get("id")
        params = run.get("parameters") or {}
        title = str(run.get("title", run_id))
        if template == "italy_did.md":
            values = _results(root, str(run_id))
            if not values:
                rows.append({"run": run_id, "analysis": title, "role": "not available",
                             "why": f"results/{run_id}.json is missing (run the analysis first)"})
                continue
            panel = analysis_panel(values["outcome"], transform=values["transform"],
                                   definition=values["treatment_definition"], controls=values.get("controls", "all"),
                                   first_year=int(values["first_year"]), last_year=int(values["last_year"]))
            table = panel.sample_table().set_index("nuts2")
            if code in table.index:
                role, why = str(table.loc[code, "role"]), str(table.loc[code, "why"])
            else:
                role, why = "not in the design", "no data for the region in this design"
            rows.append({"run": run_id, "analysis": title, "role": role, "why": why})
            if run_id == HEADLINE_RUN and role in ("treated", "control"):
                kwargs: dict[str, Any] = {"estimator": values.get("estimator", "cs")}
                if kwargs["estimator"] in ("cs", "etwfe"):
                    kwargs["control"] = values.get("control", "notyet")
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ClusterPolicyWarning)
                        full = estimate(panel.data, unit="nuts2", time="year", cohort="cohort", outcome="y",
                                        **kwargs)
                        headline = _num(full.estimate)
                        without = _num(estimate(panel.data[panel.data["nuts2"] != code], unit="nuts2",
                                                time="year", cohort="cohort", outcome="y", **kwargs).estimate)
                except (EstimationError, UserInputError):
                    headline = without = None
                else:
                    if role == "treated":
                        cohort = int(panel.cohorts[code])
                        event_study = cohort_event_study(full.group_time, cohort,
                                                         float(values.get("critical_value") or 1.959963985))
        elif template == "single_region.md":
            onset = onset_from_calendar(params["policy_id"], params.get("onset", "start_year"), calendar=calendar)
            if onset.nuts2 == code:
                rows.append({"run": run_id, "analysis": title, "role": "treated",
                             "why": f"its own programme (calendar row {onset.policy_id}), onset {onset.year}"})
                continue
            panel = analysis_panel("rd_personnel_bes_fte", transform="log", definition=params.get("definition", "T1"),
                                   onsets={onset.nuts2: onset.year}, first_year=EUROSTAT_WINDOW[0],
                                   last_year=EUROSTAT_WINDOW[1])
            table = panel.sample_table().set_index("nuts2")
            if code in table.index:
                role = str(table.loc[code, "role"])
                why = str(table.loc[code, "why"])
                if role == "control":
                    role, why = "control", f"placebo region ({why})"
            else:
                role, why = "not in the design", "no data for the region in this design"
            rows.append({"run": run_id, "analysis": title, "role": role, "why": why})
    return pd.DataFrame(rows, columns=["run", "analysis", "role", "why"]), headline, without, event_study, cohort


# ================================================================================================================
# The profile
# ================================================================================================================
@dataclass(frozen=True)
class RegionProfile:
    """One region's profile. Published fields are glued; frames (``publish: False``) are shown as exhibits."""

    nuts2: str
    region: str
    country: str
    is_italian: bool
    benchmark_group: str
    unavailable: str
    # policy history
    n_policies: int
    n_interreg: int
    policies_text: str
    interreg_text: str
    # collaboration (Italy only)
    h2020_first_year: int | None
    h2020_last_year: int | None
    h2020_intra_mean: float | None
    h2020_intra_median_italy: float | None
    h2020_intra_median_group: float | None
    h2020_any_mean: float | None
    h2020_any_median_italy: float | None
    coverage_region: float | None
    coverage_n_sample: int | None
    coverage_national_min: float | None
    coverage_national_max: float | None
    partners_available: bool
    partners_text: str
    partner_first_year: int | None
    partner_last_year: int | None
    top_partner_region: str | None
    top_partner_region_it: str | None
    n_top_partner_regions: int | None
    top_partner_region_projects: int | None
    top_partner_country: str | None
    top_partner_country_it: str | None
    n_top_partner_countries: int | None
    top_partner_country_projects: int | None
    n_partner_countries: int | None
    partner_projects_own_region: int | None
    partner_projects_italy: int | None
    it_partners_total: int | None
    it_partners_placed: int | None
    it_partners_placed_share: float | None
    # R&D
    rd_year: int | None
    bes_personnel: float | None
    bes_personnel_national: float | None
    bes_personnel_group: float | None
    gerd_bes: float | None
    gerd_bes_national: float | None
    gerd_bes_group: float | None
    # analyses
    n_analyses: int
    n_treated_in: int
    n_control_in: int
    n_dropped_in: int
    headline_role: str
    headline_estimate: float | None
    headline_without: float | None
    cohort_year: int | None
    summary_en: str
    summary_it: str
    policies: pd.DataFrame = not_published()
    interreg: pd.DataFrame = not_published()
    h2020: pd.DataFrame = not_published()
    rd: pd.DataFrame = not_published()
    roles: pd.DataFrame = not_published()
    #: The region's cohort's event study in the headline design (empty unless the region is treated there).
    event_study: pd.DataFrame = not_published()
    #: Top partner Italian regions and countries outside Italy (:func:`top_partners`; empty outside Italy).
    partners: pd.DataFrame = not_published()

    def data_frame(self) -> pd.DataFrame:
        """The region's series (H2020 and R&D with benchmarks) as one tidy frame."""
        h = self.h2020.assign(unit="projects per million inhabitants")
        frame = pd.concat([h, self.rd], ignore_index=True) if len(h) else self.rd
        return frame.assign(nuts2=self.nuts2)[["nuts2", "indicator", "label", "unit", "year", "region",
                                               "national_median", "group_median", "group"]]

    def data_csv(self) -> str:
        """:meth:`data_frame` as CSV text (the page's download)."""
        return self.data_frame().to_csv(index=False, float_format="%.6g", lineterminator="\n")


def _mean(series: pd.Series) -> float | None:
    return _num(series.mean()) if len(series.dropna()) else None


def _last(frame: pd.DataFrame, indicator: str, year: int | None) -> tuple[float | None, ...]:
    row = frame[(frame["indicator"] == indicator) & (frame["year"] == year)]
    if row.empty:
        return None, None, None
    r = row.iloc[0]
    return _num(r["region"]), _num(r["national_median"]), _num(r["group_median"])


def policy_history(code: str, calendar: pd.DataFrame) -> pd.DataFrame:
    """The calendar's cluster-type policies of the region (Interreg and ``none_found`` rows excluded), oldest first:
    ``policy_id, policy, kind, start_year, legal_act, source_url``."""
    rows = calendar[(calendar["nuts2"] == code) & ~calendar["kind"].isin(["interreg", "none_found"])]
    rows = rows.sort_values(["start_year", "policy_id"], na_position="last")
    rows = rows.assign(start=[f"start {int(y)}" if pd.notna(y) else "start year unknown" for y in rows["start_year"]],
                       legal_act=rows["legal_act"].fillna("not recorded in the calendar"),
                       source_url=rows["source_url"].fillna(""))
    return rows[["policy_id", "policy", "kind", "start_year", "start", "legal_act", "source_url"]].reset_index(drop=True)


def region_profile(nuts2: str, *, root: Path | None = None, rd: pd.DataFrame | None = None,
                   h2020: pd.DataFrame | None = None, calendar: pd.DataFrame | None = None,
                   partners: pd.DataFrame | None = None, with_roles: bool = True) -> RegionProfile:
    """Build the profile of one NUTS2 region (rules in the module docstring).

    Examples
    --------
    >>> p = region_profile("ITC4", with_roles=False)  # doctest: +SKIP
    >>> p.region
    'Lombardia'
    """
    rd = load_rd_panel() if rd is None else rd
    code = normalise_code(nuts2, rd)
    italian = code in ITALIAN_NUTS2
    calendar = load_cluster_policies() if calendar is None else calendar
    rdp = rd_series(rd, code)
    group_of, group_label = benchmark_group(code, rd)
    exposure = interreg_exposure(cluster_policies=calendar)
    inter = exposure[exposure["nuts2"].isin([code, code[:3], code[:2]])].copy()
    inter["programme"] = inter["programme"].map(lambda p: INTERREG_LABEL.get(p, p))
    inter = inter.reset_index(drop=True)
    unavailable: list[str] = []
    if italian:
        region = short_region_name(ITALIAN_NUTS2[code])
        policies = policy_history(code, calendar)
        h2020 = load_h2020_italy() if h2020 is None else h2020
        hs = h2020_series(h2020, italian_population(rd), code)
        intra = hs[hs["indicator"] == "coparticipation_projects_intraregional"]
        anyp = hs[hs["indicator"] == "coparticipation_projects"]
        own = h2020[h2020["nuts2"] == code]
        cov_region, n_sample = _num(own["coverage_region_2021sample"].iloc[0]), own["n_2021sample"].iloc[0]
        complete = h2020[h2020["year_complete"] == 1]
        cov_min, cov_max = _num(complete["coverage_national"].min()), _num(complete["coverage_national"].max())
        roles, headline, without, events, cohort = analysis_roles(code, root) if with_roles else (
            pd.DataFrame(columns=["run", "analysis", "role", "why"]), None, None, pd.DataFrame(columns=EVENT_COLUMNS),
            None)
        partners = load_h2020_italy_partners() if partners is None else partners
        top = top_partners(partners, code)
        partner_vals = partner_values(partners, code)
    else:
        region = code
        policies = pd.DataFrame(columns=["policy_id", "policy", "kind", "start_year", "start", "legal_act",
                                         "source_url"])
        hs = pd.DataFrame(columns=["indicator", "label", "year", "region", "national_median", "group_median", "group"])
        intra = anyp = hs
        cov_region = cov_min = cov_max = None
        n_sample = None
        roles, headline, without = pd.DataFrame(columns=["run", "analysis", "role", "why"]), None, None
        events, cohort = pd.DataFrame(columns=EVENT_COLUMNS), None
        top = pd.DataFrame(columns=PARTNER_COLUMNS)
        partner_vals = dict.fromkeys(PARTNER_FIELDS)
        unavailable = ["the policy calendar (it covers the 21 Italian regions)",
                       "H2020 collaboration and partners (the regional H2020 data are Italian)",
                       "the region's role in the book's analyses (all of them are Italian)"]
    rd_years = rdp.loc[(rdp["indicator"] == "rd_personnel_bes_fte") & rdp["region"].notna(), "year"]
    rd_year = int(rd_years.max()) if len(rd_years) else None
    bes = _last(rdp, "rd_personnel_bes_fte", rd_year)
    gerd_years = rdp.loc[(rdp["indicator"] == "gerd_bes_eur_hab") & rdp["region"].notna(), "year"]
    gerd = _last(rdp, "gerd_bes_eur_hab", int(gerd_years.max()) if len(gerd_years) else None)
    if rd_year is None:
        unavailable.append("R&D personnel per inhabitant (no year with both personnel and population)")
    head = roles[roles["run"] == HEADLINE_RUN]
    headline_role = str(head["role"].iloc[0]) if len(head) else "not in the design"
    counts = roles["role"].value_counts()
    policies_text = "; ".join(f"{r.policy} ({r.start})" for r in policies.itertuples()) or "none found in the calendar"
    interreg_text = "; ".join(f"{r.programme} ({r.start}-{r.end})" for r in inter.itertuples()) or "none"
    h_years = intra["year"] if len(intra) else pd.Series(dtype=int)
    values: dict[str, Any] = dict(
        nuts2=code, region=region, country=code[:2], is_italian=italian, benchmark_group=group_label,
        unavailable="; ".join(unavailable) or "none",
        n_policies=len(policies), n_interreg=len(inter), policies_text=policies_text, interreg_text=interreg_text,
        h2020_first_year=int(h_years.min()) if len(h_years) else None,
        h2020_last_year=int(h_years.max()) if len(h_years) else None,
        h2020_intra_mean=_mean(intra["region"]) if len(intra) else None,
        h2020_intra_median_italy=_mean(intra["national_median"]) if len(intra) else None,
        h2020_intra_median_group=_mean(intra["group_median"]) if len(intra) else None,
        h2020_any_mean=_mean(anyp["region"]) if len(anyp) else None,
        h2020_any_median_italy=_mean(anyp["national_median"]) if len(anyp) else None,
        coverage_region=cov_region, coverage_n_sample=None if n_sample is None or pd.isna(n_sample) else int(n_sample),
        coverage_national_min=cov_min, coverage_national_max=cov_max, partners_available=italian,
        partners_text="", **partner_vals,
        rd_year=rd_year, bes_personnel=bes[0], bes_personnel_national=bes[1], bes_personnel_group=bes[2],
        gerd_bes=gerd[0], gerd_bes_national=gerd[1], gerd_bes_group=gerd[2],
        n_analyses=len(roles), n_treated_in=int(counts.get("treated", 0)), n_control_in=int(counts.get("control", 0)),
        n_dropped_in=int(counts.get("dropped", 0)), headline_role=headline_role, headline_estimate=headline,
        headline_without=without, cohort_year=cohort,
    )
    values["partners_text"] = (partners_sentence(values) if italian else
                               "Partner regions and countries are available for Italian regions only (the regional "
                               "H2020 data are built from Italian addresses).")
    values["summary_en"], values["summary_it"] = summaries(values)
    return RegionProfile(**values, policies=policies, interreg=inter, h2020=hs, rd=rdp, roles=roles,
                         event_study=events, partners=top)


def _fmt(x: float | None, digits: int = 1) -> str:
    return "not available" if x is None else f"{x:,.{digits}f}"


def _fmt_it(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "non disponibile"
    return f"{x:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _compare(x: float | None, ref: float | None) -> tuple[str, str]:
    if x is None or ref is None:
        return "cannot be compared with", "non è confrontabile con"
    if x > ref * 1.05:
        return "above", "sopra"
    if x < ref * 0.95:
        return "below", "sotto"
    return "close to", "vicino alla"


def summaries(v: dict[str, Any]) -> tuple[str, str]:
    """The plain-language paragraphs of a profile, in English and Italian, from its published values."""
    name = v["region"]
    bes_en, bes_it = _compare(v["bes_personnel"], v["bes_personnel_national"])
    rd_en = (f"In {v['rd_year']} it had {_fmt(v['bes_personnel'])} business R&D workers (full-time equivalents) per "
             f"1,000 inhabitants, {bes_en} the national median of {_fmt(v['bes_personnel_national'])}."
             if v["rd_year"] else "Its business R&D personnel per inhabitant is not available.")
    rd_it = (f"Nel {v['rd_year']} contava {_fmt_it(v['bes_personnel'])} addetti alla R&S delle imprese (equivalenti "
             f"a tempo pieno) ogni 1.000 abitanti, {bes_it} la mediana nazionale di "
             f"{_fmt_it(v['bes_personnel_national'])}." if v["rd_year"]
             else "Gli addetti alla R&S delle imprese per abitante non sono disponibili.")
    if not v["is_italian"]:
        en = (f"{name} is outside Italy, so this page shows only its R&D statistics from Eurostat. {rd_en} "
              f"Not available here: {v['unavailable']}.")
        it = (f"{name} non è una regione italiana: questa pagina mostra solo le statistiche Eurostat sulla R&S. "
              f"{rd_it} Non disponibili: calendario delle politiche, collaborazioni e partner H2020 e ruolo nelle analisi "
              f"(tutti limitati all'Italia).")
        return en, it
    h_en, h_it = _compare(v["h2020_intra_mean"], v["h2020_intra_median_italy"])
    role = v["headline_role"]
    if v["coverage_region"] is not None:
        cov_en = (f"the geocoding places about {_fmt(100 * v['coverage_region'], 0)} per cent of the region's "
                  "participations in a test sample")
        cov_it = (f"la geolocalizzazione attribuisce circa il {_fmt_it(100 * v['coverage_region'], 0)} per cento "
                  "delle partecipazioni della regione in un campione di verifica")
    else:
        cov_en = "the geocoding places only part of Italy's participations in a region"
        cov_it = "la geolocalizzazione attribuisce a una regione solo una parte delle partecipazioni italiane"
    partnerships = "partnership" if v["n_interreg"] == 1 else "partnerships"
    # Named only when the top partner is clear (a unique one or a tie of up to three); else the page's list says it.
    if v["top_partner_region"] is not None and v["top_partner_country"] is not None:
        partners_en = (f" Its firms' and institutes' most frequent H2020 partners were from {v['top_partner_region']} "
                       f"among the other Italian regions and from {v['top_partner_country']} abroad.")
        partners_it = (" Partner H2020 più frequenti delle sue imprese e dei suoi enti di ricerca: tra le altre "
                       f"regioni italiane, {v['top_partner_region_it']}; all'estero, {v['top_partner_country_it']}.")
    else:
        partners_en = partners_it = ""
    en = (f"{name} has {v['n_policies']} cluster-type {'policy' if v['n_policies'] == 1 else 'policies'} in the audited calendar and {v['n_interreg']} "
          f"Interreg cluster {partnerships}. From {v['h2020_first_year']} to {v['h2020_last_year']} its firms and "
          f"knowledge institutes joined on average {_fmt(v['h2020_intra_mean'])} H2020 projects a year per million "
          f"inhabitants within the region, {h_en} the Italian median of {_fmt(v['h2020_intra_median_italy'])}; "
          f"these are lower bounds, since {cov_en}.{partners_en} {rd_en} In the book's headline analysis the "
          f"region is {role}.")
    policies_it = "politica" if v["n_policies"] == 1 else "politiche"
    partnerships_it = "partenariato" if v["n_interreg"] == 1 else "partenariati"
    it = (f"{name} conta {v['n_policies']} {policies_it} di tipo cluster nel calendario verificato e {v['n_interreg']} "
          f"{partnerships_it} Interreg sui cluster. Dal {v['h2020_first_year']} al {v['h2020_last_year']} le sue imprese "
          f"e i suoi enti di ricerca hanno partecipato in media a {_fmt_it(v['h2020_intra_mean'])} progetti H2020 "
          f"l'anno per milione di abitanti all'interno della regione, {h_it} la mediana italiana di "
          f"{_fmt_it(v['h2020_intra_median_italy'])}; sono stime per difetto, perché {cov_it}.{partners_it} {rd_it} "
          "Nell'analisi principale del libro la regione "
          f"{ROLE_IT.get(role, 'è ' + role)}.")
    return en, it


# ================================================================================================================
# The landing page's indicators
# ================================================================================================================
#: Tile-grid position (column, row) of each Italian region: a square per region, approximating Italy's shape.
TILE_GRID: dict[str, tuple[int, int]] = {
    "ITC2": (0, 0), "ITH1": (3, 0),
    "ITC1": (0, 1), "ITC4": (1, 1), "ITH2": (2, 1), "ITH3": (3, 1), "ITH4": (4, 1),
    "ITC3": (1, 2), "ITH5": (2, 2),
    "ITI1": (2, 3), "ITI3": (3, 3),
    "ITI2": (3, 4), "ITF1": (4, 4),
    "ITI4": (3, 5), "ITF2": (4, 5),
    "ITF3": (4, 6), "ITF4": (5, 6),
    "ITF5": (5, 7),
    "ITG2": (1, 8), "ITF6": (5, 8),
    "ITG1": (4, 9),
}


def profile_run_id(code: str) -> str:
    """The manifest id of a region's profile run (``'ITC4'`` -> ``'region-itc4'``)."""
    return f"region-{code.lower()}"


def indicator_table(rd: pd.DataFrame | None = None, h2020: pd.DataFrame | None = None,
                    calendar: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per Italian region with the landing page's indicators (no role refits: fast)."""
    rd = load_rd_panel() if rd is None else rd
    h2020 = load_h2020_italy() if h2020 is None else h2020
    calendar = load_cluster_policies() if calendar is None else calendar
    partners = load_h2020_italy_partners()
    rows = []
    for code in ITALIAN_NUTS2:
        p = region_profile(code, rd=rd, h2020=h2020, calendar=calendar, partners=partners, with_roles=False)
        col, row = TILE_GRID[code]
        rows.append({"nuts2": code, "region": p.region, "macro_area": MACRO_LABEL[MACRO_AREA[code]],
                     "cluster_policies": p.n_policies, "interreg": p.n_interreg,
                     "h2020_intra_per_million": p.h2020_intra_mean, "h2020_any_per_million": p.h2020_any_mean,
                     "bes_personnel_per_1000": p.bes_personnel, "gerd_bes_eur_hab": p.gerd_bes,
                     "coverage_region": p.coverage_region, "col": col, "row": row,
                     "page": profile_run_id(code)})
    return pd.DataFrame(rows)


INDICATOR_LABELS = {
    "cluster_policies": "Cluster-type policies in the calendar",
    "interreg": "Interreg cluster partnerships",
    "h2020_intra_per_million": "H2020 projects within the region per million inhabitants (yearly mean)",
    "h2020_any_per_million": "H2020 projects with partners anywhere per million inhabitants (yearly mean)",
    "bes_personnel_per_1000": "Business R&D personnel per 1,000 inhabitants (latest year)",
    "gerd_bes_eur_hab": "Business R&D expenditure, EUR per inhabitant (latest year)",
    "coverage_region": "Geocoding coverage of the region's participations (test sample)",
}


@dataclass(frozen=True)
class RegionsOverview:
    """The landing page's published values and its indicator table."""

    n_regions: int
    colour_indicator: str
    colour_label: str
    top_region: str
    top_value: float
    bottom_region: str
    bottom_value: float
    table: pd.DataFrame = not_published()


def regions_overview(indicator: str = "h2020_intra_per_million") -> RegionsOverview:
    """All Italian regions' indicators; the tile map is coloured by ``indicator`` (a key of
    :data:`INDICATOR_LABELS`)."""
    if indicator not in INDICATOR_LABELS:
        raise UserInputError(f"indicator={indicator!r} is not known; use one of {', '.join(INDICATOR_LABELS)}.")
    table = indicator_table()
    ranked = table.dropna(subset=[indicator]).sort_values(indicator)
    return RegionsOverview(n_regions=len(table), colour_indicator=indicator,
                           colour_label=INDICATOR_LABELS[indicator],
                           top_region=str(ranked["region"].iloc[-1]), top_value=float(ranked[indicator].iloc[-1]),
                           bottom_region=str(ranked["region"].iloc[0]), bottom_value=float(ranked[indicator].iloc[0]),
                           table=table)


__all__ = ["RegionProfile", "RegionsOverview", "region_profile", "regions_overview", "indicator_table",
           "profile_run_id", "TILE_GRID", "INDICATOR_LABELS"]
