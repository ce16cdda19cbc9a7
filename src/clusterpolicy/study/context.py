"""Study rules of the context page (``notebooks/context_policies.md``): the policy history of all 21 Italian regions
from the audited calendar, the treatment definitions side by side, the seed programmes' facts and the literature.

Three functions feed the template, each returning a frozen dataclass whose scalar fields are the page's published
keys (:func:`clusterpolicy.report.glue.publish_fields`); fields declared with ``not_published()`` hold the
frames the template shows as exhibits or hands to :mod:`clusterpolicy.report.context_figures`:

* :func:`policy_history` - the calendar (``data/policy/cluster_policies.csv``): counts of rows, kinds, confidence
  levels and sources; the MIUR technology districts as a pre-period stratum (:func:`miur_district_year`); the
  cohort table of every treatment definition (:data:`clusterpolicy.study.treatments.DEFINITIONS`); the Interreg
  partnerships (Italian ones from the audited calendar, the others from ``policy_calendar.csv``) and the national
  2012 cluster call (the common shock of ``policy_calendar.csv``);
* :func:`seed_programme_facts` - single facts of ``programmes.csv`` the prose quotes;
* :func:`literature_facts` - counts and headline effects of ``literature.csv``.

Nothing is estimated here and nothing is simulated: every number is a count or a sourced fact.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.data.calendar import ITALIAN_NUTS2, KINDS, MACRO_AREA, URL_SEPARATOR
from clusterpolicy.data.policy import INTERREG, fact, fact_values, interreg_exposure, short_region_name, source_label
from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.treatments import DEFINITIONS, STATUSES, cohort_table, miur_district_year

#: Display names of the Interreg programmes.
INTERREG_LABELS = {"clusterix2": "ClusteriX 2.0", "s3_4alpclusters": "S3-4AlpClusters", "inkrease": "INKREASE"}

#: Display names of the calendar's kinds (legend and table).
KIND_LABELS: dict[str, str] = {
    "miur_district": "MIUR technology district",
    "pon_district_lab": "PON district or public-private lab",
    "regional_poles_2007_13": "Regional poles/clusters before 2014",
    "regional_clusters_2014_20": "Regional clusters 2014-20",
    "s3_law_recognition": "S3 cluster law or recognition",
    "national_cluster_participation": "National-cluster participation",
    "interreg": "Interreg partnership",
    "none_found": "Searched, none found",
}

#: Order of the macro-areas, north to south.
MACRO_ORDER = ("north_west", "north_east", "centre", "south", "islands")
MACRO_LABELS = {"north_west": "North-West", "north_east": "North-East", "centre": "Centre", "south": "South",
                "islands": "Islands"}

#: The year by which a region counts as having a MIUR technology district in the pre-period stratum.
MIUR_STRATUM_YEAR = 2006

#: Literature rows cited in the book: (start of the ``study`` cell, year, start of ``venue``) -> bib key.
CITE_KEYS: dict[tuple[str, int, str], str] = {
    ("Falck, Heblich", 2010, ""): "falck2010",
    ("Bellego", 2014, ""): "bellego2014",
    ("Ben Hassine", 2017, ""): "benhassine2017",
    ("Caloffi, Mariani", 2018, ""): "caloffi2018",
    ("Nishimura", 2011, "Research Policy"): "nishimura2011",
    ("Engel", 2013, ""): "engel2013",
    ("Martin, Mayer", 2011, ""): "martin2011",
    ("Toepfer", 2019, ""): "topfer2019",
    ("Falck, Koenen", 2019, ""): "falck2019",
    ("Antonioli", 2014, ""): "antonioli2014",
    ("Bertamino", 2017, ""): "bertamino2017",
    ("N'Ghauran", 2021, ""): "nghauran2021",
}


def region_label(code: str) -> str:
    """``'Bolzano (ITH1)'``: short region name and code."""
    return f"{short_region_name(ITALIAN_NUTS2.get(code, code))} ({code})"


def region_order() -> list[str]:
    """The 21 regions north to south: by macro-area (:data:`MACRO_ORDER`), then code."""
    return sorted(ITALIAN_NUTS2, key=lambda c: (MACRO_ORDER.index(MACRO_AREA[c]), c))


# ----------------------------------------------------------------------------------------------------------------
# the calendar
# ----------------------------------------------------------------------------------------------------------------
def timeline_frame(calendar: pd.DataFrame) -> pd.DataFrame:
    """One row per dated or undated calendar row, ready to draw: ``nuts2, label, y, kind, kind_label, start_year,
    end_year, confidence, policy_id``.

    ``y`` puts the regions north (top) to south (bottom). ``none_found`` rows are kept (drawn as a note) so that a
    region without any policy still has its line.
    """
    order = region_order()
    ypos = {code: len(order) - 1 - i for i, code in enumerate(order)}
    out = calendar[["nuts2", "kind", "start_year", "end_year", "confidence", "policy_id"]].copy()
    out["label"] = out["nuts2"].map(region_label)
    out["y"] = out["nuts2"].map(ypos).astype("int64")
    out["kind_label"] = out["kind"].map(KIND_LABELS)
    out = out.sort_values(["y", "start_year", "policy_id"], ascending=[False, True, True], kind="mergesort")
    return out[["nuts2", "label", "y", "kind", "kind_label", "start_year", "end_year", "confidence",
                "policy_id"]].reset_index(drop=True)


def calendar_exhibit(calendar: pd.DataFrame) -> pd.DataFrame:
    """The full calendar as a readable table: one row per calendar line, regions north to south."""
    order = {c: i for i, c in enumerate(region_order())}
    cal = calendar.assign(_o=calendar["nuts2"].map(order)).sort_values(["_o", "start_year", "policy_id"],
                                                                        kind="mergesort")
    years = cal["start_year"].astype("Int64").astype(str).replace("<NA>", "–")
    ends = cal["end_year"].astype("Int64").astype(str).replace("<NA>", "")
    return pd.DataFrame({
        "region": cal["nuts2"].map(region_label).to_numpy(),
        "kind": cal["kind"].map(KIND_LABELS).to_numpy(),
        "policy": cal["policy"].to_numpy(),
        "years": [f"{s}-{e}" if e else s for s, e in zip(years, ends, strict=True)],
        "act": cal["legal_act"].to_numpy(),
        "named clusters": cal["selects_named_clusters"].to_numpy(),
        "funding": cal["dedicated_funding"].to_numpy(),
        "confidence": cal["confidence"].to_numpy(),
        "sources": [len([u for u in s.split(URL_SEPARATOR) if u.strip()]) for s in cal["source_url"]],
        "policy_id": cal["policy_id"].to_numpy(),
    })


def _status_cell(status: str, cohort: Any, confidence: str) -> str:
    if status == "treated":
        return f"{int(cohort)} ({confidence})"
    if status == "never":
        return f"never ({confidence})"
    return "unknown"


def cohorts_side_by_side(calendar: pd.DataFrame) -> pd.DataFrame:
    """Every treatment definition for every region, side by side, with the MIUR-district stratum.

    Columns: ``region``, one status cell per definition (``'2011 (medium)'``, ``'never (high)'``, ``'unknown'``),
    ``MIUR district`` (earliest year, or the stratum status) and one ``reason`` column per definition.
    """
    tables = {name: cohort_table(name, calendar).set_index("nuts2") for name in DEFINITIONS}
    miur = miur_district_year(calendar).set_index("nuts2")
    rows = []
    for code in region_order():
        rec: dict[str, object] = {"region": region_label(code)}
        for name, t in tables.items():
            r: Any = t.loc[code]  # the region's row (unique index)
            rec[name] = _status_cell(r["status"], r["cohort"], r["confidence"])
        m: Any = miur.loc[code]
        rec["MIUR district"] = (str(int(m["miur_district_year"])) if pd.notna(m["miur_district_year"])
                                else str(m["miur_status"]).replace("_", " "))
        for name, t in tables.items():
            rec[f"{name} reason"] = t.loc[code, "reason"]
        rows.append(rec)
    return pd.DataFrame(rows)


def interreg_spans(exposure: pd.DataFrame) -> pd.DataFrame:
    """One row per Interreg programme: ``programme, label, start, end, n_regions, italian_regions``.

    ``exposure`` is :func:`clusterpolicy.data.policy.interreg_exposure`; ``n_regions`` counts the distinct NUTS
    codes (any level) exposed, ``italian_regions`` lists the Italian ones (comma separated).
    """
    rows = []
    for prog in INTERREG:
        part = exposure[exposure["programme"] == prog]
        if part.empty:
            continue
        rows.append({"programme": prog, "label": INTERREG_LABELS[prog], "start": int(part["start"].min()),
                     "end": int(part["end"].max()), "n_regions": int(part["nuts2"].nunique()),
                     "italian_regions": ", ".join(sorted(part.loc[part["country"] == "IT", "nuts2"]))})
    return pd.DataFrame(rows, columns=["programme", "label", "start", "end", "n_regions", "italian_regions"])


def _urls(calendar: pd.DataFrame) -> set[str]:
    return {u.strip() for cell in calendar["source_url"] for u in cell.split(URL_SEPARATOR) if u.strip()}


@dataclass(frozen=True)
class PolicyHistory:
    """The context page's calendar numbers (published keys) and frames (not published).

    Counts of regions per treatment status are named ``<definition>_<status>`` in lower case (``t1_treated``,
    ``t2_never``, ``t1_high_medium_unknown``).
    """

    n_regions_calendar: int
    n_calendar_rows: int
    n_policy_rows: int
    n_none_found_rows: int
    n_sources: int
    n_rows_high: int
    n_rows_medium: int
    n_rows_low: int
    n_rows_miur_district: int
    n_rows_pon_district_lab: int
    n_rows_regional_poles_2007_13: int
    n_rows_regional_clusters_2014_20: int
    n_rows_s3_law_recognition: int
    n_rows_national_cluster_participation: int
    n_rows_interreg: int
    first_policy_year: int
    miur_stratum_year: int
    n_miur_regions_by_stratum_year: int
    n_miur_regions: int
    n_miur_none_found: int
    first_miur_year: int
    t1_treated: int
    t1_never: int
    t1_unknown: int
    t1_first_cohort: int
    t1_last_cohort: int
    t2_treated: int
    t2_never: int
    t2_unknown: int
    t1_high_medium_treated: int
    t1_high_medium_never: int
    t1_high_medium_unknown: int
    t2_high_medium_treated: int
    t2_high_medium_never: int
    t2_high_medium_unknown: int
    n_interreg_italian_regions: int
    n_partner_rows: int
    national_call_year: int
    clusterix2_n_regions: int
    clusterix2_italian_regions: str
    s3_4alpclusters_n_regions: int
    s3_4alpclusters_italian_regions: str
    inkrease_n_regions: int
    inkrease_italian_regions: str
    timeline: pd.DataFrame = not_published()
    calendar_table: pd.DataFrame = not_published()
    cohorts: pd.DataFrame = not_published()
    spans: pd.DataFrame = not_published()


def policy_history(calendar: pd.DataFrame, old_calendar: pd.DataFrame, *,
                   exposure: pd.DataFrame | None = None) -> PolicyHistory:
    """The policy history of all 21 regions from the audited calendar.

    Parameters
    ----------
    calendar
        :func:`clusterpolicy.data.calendar.load_cluster_policies`.
    old_calendar
        :func:`clusterpolicy.data.policy.load_policy_calendar` (non-Italian Interreg partners and the 2012 national
        call, the common shock).
    exposure
        :func:`clusterpolicy.data.policy.interreg_exposure` (default: computed from the two calendars).

    Notes
    -----
    The MIUR technology districts are a pre-period stratum, not a treatment: ``n_miur_regions_by_stratum_year``
    counts regions whose earliest dated district started by :data:`MIUR_STRATUM_YEAR` (from
    :func:`~clusterpolicy.study.treatments.miur_district_year`).
    """
    exp = interreg_exposure(calendar=old_calendar, cluster_policies=calendar) if exposure is None else exposure
    spans = interreg_spans(exp).set_index("programme")
    policies = calendar[calendar["kind"] != "none_found"]
    kinds = calendar["kind"].value_counts()
    conf = policies["confidence"].value_counts()
    miur = miur_district_year(calendar)
    miur_years = miur["miur_district_year"].dropna()
    tables = {name: cohort_table(name, calendar) for name in DEFINITIONS}
    status = {name: t["status"].value_counts() for name, t in tables.items()}
    t1_cohorts = tables["T1"]["cohort"].dropna()
    shock = old_calendar[old_calendar["role"] == "common_shock"]
    if shock.empty or pd.isna(shock["onset_year"].iloc[0]):
        raise DataValidationError("policy_calendar.csv has no dated common_shock row (the 2012 national cluster "
                                  "call, nuts2 = IT); restore it from git.")
    counts: dict[str, Any] = {f"{name.lower()}_{s}": int(status[name].get(s, 0))
                              for name in DEFINITIONS for s in STATUSES}
    rows_by_kind: dict[str, Any] = {f"n_rows_{k}": int(kinds.get(k, 0)) for k in KINDS if k != "none_found"}
    per_prog: dict[str, Any] = {}
    for prog in INTERREG:
        per_prog[f"{prog}_n_regions"] = int(spans["n_regions"].loc[prog]) if prog in spans.index else 0
        per_prog[f"{prog}_italian_regions"] = str(spans["italian_regions"].loc[prog]) if prog in spans.index else ""
    return PolicyHistory(
        n_regions_calendar=int(calendar["nuts2"].nunique()),
        n_calendar_rows=int(len(calendar)),
        n_policy_rows=int(len(policies)),
        n_none_found_rows=int(kinds.get("none_found", 0)),
        n_sources=len(_urls(calendar)),
        n_rows_high=int(conf.get("high", 0)),
        n_rows_medium=int(conf.get("medium", 0)),
        n_rows_low=int(conf.get("low", 0)),
        **rows_by_kind,
        first_policy_year=int(policies["start_year"].min()),
        miur_stratum_year=MIUR_STRATUM_YEAR,
        n_miur_regions_by_stratum_year=int((miur_years <= MIUR_STRATUM_YEAR).sum()),
        n_miur_regions=int(len(miur_years)),
        n_miur_none_found=int((miur["miur_status"] == "none_found").sum()),
        first_miur_year=int(miur_years.min()),
        **counts,
        t1_first_cohort=int(t1_cohorts.min()),
        t1_last_cohort=int(t1_cohorts.max()),
        n_interreg_italian_regions=int(calendar.loc[calendar["kind"] == "interreg", "nuts2"].nunique()),
        n_partner_rows=int((old_calendar["role"] == "interreg_partner").sum()),
        national_call_year=int(shock["onset_year"].iloc[0]),
        **per_prog,
        timeline=timeline_frame(calendar),
        calendar_table=calendar_exhibit(calendar),
        cohorts=cohorts_side_by_side(calendar),
        spans=spans.reset_index(),
    )


# ----------------------------------------------------------------------------------------------------------------
# programme facts
# ----------------------------------------------------------------------------------------------------------------
def _value_with_unit(value: str, unit: str) -> str:
    if unit in ("", "text", "date", "place", "legal act", "year"):
        return value
    if unit == "EUR" and re.fullmatch(r"\d+", value):
        return f"EUR {int(value):,}"
    if unit == "percent":
        return f"{value} %"
    return f"{value} {unit}"


def programme_table(programmes: pd.DataFrame, programmes_shown: list[str] | None = None) -> pd.DataFrame:
    """Narrow table of programme facts: ``programme, fact, value, source, url, verified``.

    Where a (programme, fact) pair has several rows (sources disagree), every value is kept with its own source
    and the fact is suffixed with ``(sources differ)``. Unverified facts get ``(unverified)`` after the value.
    """
    df = programmes if programmes_shown is None else programmes[programmes["programme"].isin(programmes_shown)]
    dup = df.duplicated(["programme", "fact"], keep=False)
    name = df["fact"].str.replace("_", " ", regex=False).str.capitalize()
    value = [_value_with_unit(v, u) for v, u in zip(df["value"], df["unit"], strict=True)]
    out = pd.DataFrame({
        "programme": df["programme"].to_numpy(),
        "fact": np.where(dup, name + " (sources differ)", name),
        "value": np.where(df["verified"] == "no", [f"{v} (unverified)" for v in value], value),
        "source": [", ".join(lbl for lbl, _ in source_label(s)) for s in df["source"]],
        "url": df["source"].to_numpy(),
        "verified": df["verified"].to_numpy(),
    })
    return out.reset_index(drop=True)


def date_text(iso: str) -> str:
    """An ISO date or month as words: ``'2016-04-01'`` -> ``'1 April 2016'``, ``'2017-06'`` -> ``'June 2017'``."""
    parts = str(iso).split("-")
    if len(parts) == 3:
        d = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        return f"{d.day} {d:%B %Y}"
    if len(parts) == 2:
        return f"{dt.date(int(parts[0]), int(parts[1]), 1):%B %Y}"
    raise UserInputError(f"date_text: {iso!r} is not an ISO date (YYYY-MM-DD) or month (YYYY-MM).")


@dataclass(frozen=True)
class ProgrammeFacts:
    """Single facts of ``programmes.csv`` quoted in the prose (each a published key), and the facts table."""

    n_programmes: int
    n_facts: int
    n_facts_unverified: int
    clusterix_start_year: int
    clusterix_end_year: int
    clusterix_start: str
    clusterix_end: str
    clusterix_target_pct: int
    clusterix_target_year: int
    clusterix_partners: int
    clusterix_lead: str
    clusterix_events_planned: str
    clusterix_events_held: str
    clusterix_events_all: str
    clusterix_new_projects: int
    clusterix_funding_leveraged: str
    clusterix_action_plans: int
    s3_start_year: int
    s3_end_year: int
    s3_start: str
    s3_end: str
    s3_total_budget: int
    s3_erdf_budget: int
    s3_erdf_share_pct: float
    s3_partners: int
    s3_lead: str
    s3_outputs: str
    s3_final_conference: str
    s3_lombardy_budget_unverified: int
    veneto_s3_partners: str
    veneto_monitoris3: str
    veneto_rir: int
    veneto_districts: int
    veneto_law: str
    htn_law: str
    htn_labs: int
    htn_labs_funded_2008: int
    htn_funding_2008_meur: int
    htn_projects_2015_2018: int
    tecnopoli_hubs: int
    tecnopoli_researchers: int
    tecnopoli_investment_meur: int
    clust_er_constituted: str
    clust_er_associations: int
    clust_er_members: int
    clust_er_firms: int
    inkrease_kick_off: str
    inkrease_action_plans: int
    inkrease_lead: str
    ctl_clusters: int
    ctl_aggregations: int
    ctl_actors: int
    ctl_aggregation_decree: str
    ctl_recognition_decree: str
    miur_call_budget_meur: int
    piedmont_turnover_effect_pct: float
    table: pd.DataFrame = not_published()


def _fact_date(programmes: pd.DataFrame, programme: str, name: str) -> str:
    rows = programmes[(programmes["programme"] == programme) & (programmes["fact"] == name)]
    if len(rows) != 1:
        raise DataValidationError(f"programmes.csv: expected one row for programme {programme!r}, fact {name!r}, "
                                  f"found {len(rows)}; add the fact (with its date).")
    return str(rows["date"].iloc[0])


def seed_programme_facts(programmes: pd.DataFrame) -> ProgrammeFacts:
    """The seed programmes' facts the prose quotes, read one by one from ``programmes.csv`` (see :func:`fact`)."""
    def num(programme: str, name: str) -> float:
        return float(fact(programmes, programme, name))

    def year_of(programme: str, name: str) -> int:
        return int(fact(programmes, programme, name)[:4])

    cx, s3 = "ClusteriX 2.0", "S3-4AlpClusters"
    ven, rir = "Veneto Interreg portfolio", "Veneto Regional Innovative Networks"
    htn, tec, cer = ("Emilia-Romagna High Technology Network", "Emilia-Romagna Tecnopoli",
                     "Emilia-Romagna Clust-ER")
    ctl = "Lombardy technology clusters (CTL)"
    planned = fact_values(programmes, cx, "learning_events_planned")
    held = fact_values(programmes, cx, "learning_events_held")
    return ProgrammeFacts(
        n_programmes=int(programmes["programme"].nunique()),
        n_facts=int(len(programmes)),
        n_facts_unverified=int((programmes["verified"] == "no").sum()),
        clusterix_start_year=year_of(cx, "start_date"),
        clusterix_end_year=year_of(cx, "end_date"),
        clusterix_start=date_text(fact(programmes, cx, "start_date")),
        clusterix_end=date_text(fact(programmes, cx, "end_date")),
        clusterix_target_pct=int(num(cx, "target_collaboration_increase")),
        clusterix_target_year=int(_fact_date(programmes, cx, "target_collaboration_increase")[:4]),
        clusterix_partners=int(num(cx, "partners_listed")),
        clusterix_lead=fact(programmes, cx, "lead_partner"),
        clusterix_events_planned=" or ".join(f"{v} ({src})" for v, src in planned),
        clusterix_events_held=" / ".join(f"{v} ({src})" for v, src in held),
        clusterix_events_all=" / ".join(v for v, _ in planned + held),
        clusterix_new_projects=int(num(cx, "new_cluster_projects")),
        clusterix_funding_leveraged=fact(programmes, cx, "funding_leveraged"),
        clusterix_action_plans=int(num(cx, "action_plans_planned")),
        s3_start_year=year_of(s3, "start_date"),
        s3_end_year=year_of(s3, "end_date"),
        s3_start=date_text(fact(programmes, s3, "start_date")),
        s3_end=date_text(fact(programmes, s3, "end_date")),
        s3_total_budget=int(num(s3, "total_budget")),
        s3_erdf_budget=int(num(s3, "erdf_budget")),
        s3_erdf_share_pct=100 * num(s3, "erdf_budget") / num(s3, "total_budget"),
        s3_partners=int(num(s3, "partners")),
        s3_lead=fact(programmes, s3, "lead_partner"),
        s3_outputs=fact(programmes, s3, "outputs"),
        s3_final_conference=fact(programmes, s3, "final_conference"),
        s3_lombardy_budget_unverified=int(num(s3, "lombardy_budget")),
        veneto_s3_partners=fact(programmes, ven, "s3_4alpclusters_partners"),
        veneto_monitoris3=fact(programmes, ven, "monitoris3_participation"),
        veneto_rir=int(num(rir, "rir_recognised")),
        veneto_districts=int(num(rir, "districts_identified")),
        veneto_law=fact(programmes, rir, "legal_basis"),
        htn_law=fact(programmes, htn, "legal_basis"),
        htn_labs=int(num(htn, "laboratories")),
        htn_labs_funded_2008=int(num(htn, "labs_funded_2008_09")),
        htn_funding_2008_meur=int(num(htn, "funding_2008_09")),
        htn_projects_2015_2018=int(num(htn, "research_projects_funded_2015_2018_calls")),
        tecnopoli_hubs=int(num(tec, "hubs")),
        tecnopoli_researchers=int(num(tec, "researchers")),
        tecnopoli_investment_meur=int(num(tec, "investment")),
        clust_er_constituted=date_text(fact(programmes, cer, "constituted")),
        clust_er_associations=int(num(cer, "associations")),
        clust_er_members=int(num(cer, "members")),
        clust_er_firms=int(num(cer, "firm_members")),
        inkrease_kick_off=date_text(_fact_date(programmes, "INKREASE", "kick_off")),
        inkrease_action_plans=int(num("INKREASE", "regional_action_plans")),
        inkrease_lead=fact(programmes, "INKREASE", "lead_partner"),
        ctl_clusters=int(num(ctl, "clusters")),
        ctl_aggregations=int(num(ctl, "aggregations_mobilised")),
        ctl_actors=int(num(ctl, "actors_mobilised")),
        ctl_aggregation_decree=fact(programmes, ctl, "aggregation_decree"),
        ctl_recognition_decree=fact(programmes, ctl, "recognition_decree"),
        miur_call_budget_meur=int(num(ctl, "national_call_budget")),
        piedmont_turnover_effect_pct=num("Piedmont innovation poles", "evaluation_turnover_effect"),
        table=programme_table(programmes),
    )


# ----------------------------------------------------------------------------------------------------------------
# literature
# ----------------------------------------------------------------------------------------------------------------
def cite_key(study: str, year: Any, venue: str = "") -> str | None:
    """The bibliography key of a literature row, or None if the book does not cite it."""
    if year is None or pd.isna(year):
        return None
    for (start, y, ven), key in CITE_KEYS.items():
        if int(year) == y and str(study).startswith(start) and str(venue).startswith(ven):
            return key
    return None


def _keys(literature: pd.DataFrame) -> list[str | None]:
    return [cite_key(s, y, v) for s, y, v in zip(literature["study"], literature["year"], literature["venue"],
                                                 strict=True)]


def literature_table(literature: pd.DataFrame) -> pd.DataFrame:
    """Narrow literature table: ``study, country, policy, design, headline effect, collaboration, url, key``."""
    year = literature["year"].astype("Int64").astype(str).replace("<NA>", "n.d.")
    collab = np.where(literature["collaboration_outcome"] == "yes",
                      "yes: " + literature["collaboration_note"].fillna(""), "no")
    out = pd.DataFrame({
        "study": (literature["study"] + " (" + year + ")").to_numpy(),
        "country": literature["country"].to_numpy(),
        "policy": literature["policy"].to_numpy(),
        "design": literature["identification"].to_numpy(),
        "headline effect": literature["headline_effect"].to_numpy(),
        "collaboration outcome": [c.rstrip(": ") for c in collab],
        "url": literature["source_url"].to_numpy(),
        "key": _keys(literature),
    })
    return out.reset_index(drop=True)


def study_headline(literature: pd.DataFrame, key: str) -> str:
    """First clause (up to the first ``;``) of the headline effect of the study cited as ``key``."""
    hits = [i for i, k in enumerate(_keys(literature)) if k == key]
    if len(hits) != 1:
        raise DataValidationError(f"literature.csv: expected one row for citation key {key!r}, found {len(hits)}; "
                                  "check CITE_KEYS in clusterpolicy.study.context.")
    return str(literature["headline_effect"].iloc[hits[0]]).split(";")[0].strip()


def leading_quantity(text: str) -> str:
    """The quantity a headline starts with, e.g. ``'+4.6 to +5.7 pp'`` from ``'+4.6 to +5.7 pp probability ...'``
    or ``'+EUR 116k'``; empty if the text does not start with a number."""
    m = re.match(r"^\s*([+\-]?(?:EUR\s)?\d[\d.,]*k?(?:\s(?:to|-)\s[+\-]?(?:EUR\s)?\d[\d.,]*k?)?(?:\s?(?:pp|%))?)",
                 text)
    return m.group(1).strip() if m else ""


def numbers_in(text: str) -> list[float]:
    """Signed decimal numbers in a text, in order (e.g. ``'+4.6 to +5.7 pp'`` -> ``[4.6, 5.7]``)."""
    return [float(m) for m in re.findall(r"[-+]?\d+(?:\.\d+)?", text.replace(",", ""))]


@dataclass(frozen=True)
class LiteratureFacts:
    """Counts and cited headline effects of ``literature.csv`` (published keys) and the literature table."""

    n_studies: int
    n_studies_collaboration: int
    n_studies_italy: int
    falck2010_headline: str
    falck2010_quantity: str
    falck2010_low_pp: float
    falck2010_high_pp: float
    bellego2014_headline: str
    bellego2014_quantity: str
    benhassine2017_headline: str
    benhassine2017_quantity: str
    caloffi2018_headline: str
    caloffi2018_quantity: str
    nishimura2011_headline: str
    nishimura2011_quantity: str
    engel2013_headline: str
    engel2013_quantity: str
    martin2011_headline: str
    martin2011_quantity: str
    antonioli2014_headline: str
    antonioli2014_quantity: str
    bertamino2017_headline: str
    bertamino2017_quantity: str
    topfer2019_headline: str
    topfer2019_quantity: str
    falck2019_headline: str
    falck2019_quantity: str
    nghauran2021_headline: str
    nghauran2021_quantity: str
    table: pd.DataFrame = not_published()


def literature_facts(literature: pd.DataFrame) -> LiteratureFacts:
    """Counts of the literature table and the headline (first clause) and leading quantity of each cited study."""
    cited: dict[str, Any] = {}
    for key in sorted(set(CITE_KEYS.values())):
        headline = study_headline(literature, key)
        cited[f"{key}_headline"] = headline
        cited[f"{key}_quantity"] = leading_quantity(headline)
    falck = numbers_in(str(cited["falck2010_quantity"]))
    if not falck:
        raise DataValidationError("literature.csv: the Falck et al. (2010) headline no longer starts with a number; "
                                  "keep the quantity first (e.g. '+4.6 to +5.7 pp ...').")
    return LiteratureFacts(
        n_studies=int(len(literature)),
        n_studies_collaboration=int((literature["collaboration_outcome"] == "yes").sum()),
        n_studies_italy=int(literature["country"].str.startswith("Italy").sum()),
        falck2010_low_pp=falck[0],
        falck2010_high_pp=falck[-1],
        **cited,
        table=literature_table(literature),
    )
