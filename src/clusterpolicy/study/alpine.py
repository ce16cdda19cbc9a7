"""S3-4AlpClusters: where the Alpine partner regions stand (template ``notebooks/alpine_benchmark.md``).

A benchmark of positions in the spirit of the project's "S3 stress test", not an effect estimate. Rules:

* the partner set is the ``s3_4alpclusters`` rows of :func:`clusterpolicy.data.policy.interreg_exposure`, minus
  the codes in ``exclude`` (Germany's national cluster agency: Bavaria already represents Germany);
* NUTS1 regions (Bavaria) and countries (Slovenia) are summed from their NUTS2 regions (a sum only in years when
  every member reports); Franche-Comte is read under its NUTS 2010 code (:data:`NUTS2010_ALIASES`);
* three Eurostat indicators (:data:`ALPINE_INDICATORS`), each relative to the median of the partner regions that
  year (median = 100), the median taken only in years when at least ``ceil(min_share * n_regions)`` report;
* a partner is "above the median" if it exceeds it on at least one indicator in its latest year with a median,
  "below on all" otherwise;
* H2020 collaboration: partner countries' domestic firm-institute projects, and for the Italian partner regions
  both the any-partner and the intraregional (firm and institute of the same region) counts, mean per start year
  over 2015-2020 (2014 holds few projects, 2021 is incomplete), per million inhabitants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.data.policy import interreg_exposure
from clusterpolicy.errors import UserInputError
from clusterpolicy.report.glue import not_published

PROGRAMME = "s3_4alpclusters"

#: NUTS 2016 codes of partner regions whose Eurostat series are published only under their NUTS 2010 code.
NUTS2010_ALIASES: dict[str, str] = {"FRK1": "FR72", "FRC2": "FR43"}

#: Extensive Eurostat columns that can be summed over regions.
SUMMABLE = ("gerd_bes_mio_eur", "gerd_total_mio_eur", "rd_personnel_total_fte", "researchers_total_fte",
            "rd_personnel_bes_fte", "researchers_bes_fte", "population", "gdp_mio_eur")

#: Benchmark indicators: name -> (label, unit).
ALPINE_INDICATORS: dict[str, tuple[str, str]] = {
    "bes_rd_intensity": ("Business R&D expenditure", "% of GDP"),
    "rd_personnel_per_1000": ("R&D personnel, all sectors", "FTE per 1,000 inhabitants"),
    "bes_researchers_per_1000": ("Business researchers", "FTE per 1,000 inhabitants"),
}


def resolve_code(rd: pd.DataFrame, code: str) -> str:
    """``code`` if the panel has regions under it, else its NUTS 2010 alias (:data:`NUTS2010_ALIASES`)."""
    if rd["nuts2"].str.startswith(code).any():
        return code
    return NUTS2010_ALIASES.get(code, code)


def aggregate_regions(rd: pd.DataFrame, code: str) -> pd.DataFrame:
    """Sum the NUTS2 regions whose code starts with ``code`` (a NUTS1 or country code) into one region per year.

    A sum is kept only in years where every member region has the value (otherwise missing), so a gap in one
    region never shrinks the aggregate. Intensity columns are not summed (recompute them from the sums).
    """
    members = rd[rd["nuts2"].str.startswith(code)]
    if members.empty:
        raise UserInputError(f"no NUTS2 region starts with {code!r} in the Eurostat panel.")
    n = members["nuts2"].nunique()
    cols = [c for c in SUMMABLE if c in rd.columns]
    grouped = members.groupby("year")
    sums = grouped[cols].sum(min_count=1)
    counts = grouped[cols].count()
    sums = sums.where(counts == n)
    out = sums.reset_index().assign(nuts2=code, country=code[:2])
    return out[["nuts2", "country", "year", *cols]]


def alpine_indicators(rd: pd.DataFrame, regions: Sequence[str], *, first_year: int, last_year: int) -> pd.DataFrame:
    """Benchmark indicators for partner regions (NUTS2 codes as is; shorter codes aggregated from their NUTS2).

    Returns a long frame ``nuts2, year, indicator, value`` over ``first_year..last_year`` with the indicators of
    :data:`ALPINE_INDICATORS` computed from sums (business R&D expenditure / GDP, personnel and researchers per
    1,000 inhabitants); missing where an input is missing.
    """
    frames = []
    for code in regions:
        if len(code) == 4:
            part = rd[rd["nuts2"] == code]
            if part.empty:
                raise UserInputError(f"region {code!r} is not in the Eurostat panel.")
        else:
            part = aggregate_regions(rd, code)
        frames.append(part[["nuts2", "year", *[c for c in SUMMABLE if c in part.columns]]])
    d = pd.concat(frames, ignore_index=True)
    d = d[(d["year"] >= first_year) & (d["year"] <= last_year)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ind = pd.DataFrame({
            "nuts2": d["nuts2"], "year": d["year"],
            "bes_rd_intensity": 100 * d["gerd_bes_mio_eur"] / d["gdp_mio_eur"],
            "rd_personnel_per_1000": 1e3 * d["rd_personnel_total_fte"] / d["population"],
            "bes_researchers_per_1000": 1e3 * d["researchers_bes_fte"] / d["population"],
        })
    long = ind.melt(id_vars=["nuts2", "year"], var_name="indicator", value_name="value")
    long["value"] = long["value"].astype(float).replace([np.inf, -np.inf], np.nan)
    return long.sort_values(["indicator", "nuts2", "year"], ignore_index=True)


def relative_to_median(long: pd.DataFrame, *, min_regions: int = 3) -> pd.DataFrame:
    """Add ``median`` (across regions, per indicator and year) and ``relative`` (= 100 * value / median).

    Years with fewer than ``min_regions`` observed regions get no median (a median of two is not a benchmark).
    """
    obs = long.dropna(subset=["value"])
    med = obs.groupby(["indicator", "year"])["value"].agg(["median", "count"]).reset_index()
    med.loc[med["count"] < min_regions, "median"] = np.nan
    out = long.merge(med[["indicator", "year", "median"]], on=["indicator", "year"], how="left")
    out["relative"] = 100 * out["value"] / out["median"]
    return out


def alpine_partners(exposure: pd.DataFrame | None = None, *, exclude: Sequence[str] = ()) -> pd.DataFrame:
    """S3-4AlpClusters partner codes from :func:`interreg_exposure`, minus ``exclude``."""
    exp = interreg_exposure() if exposure is None else exposure
    part = exp[exp["programme"] == PROGRAMME]
    if part.empty:
        raise UserInputError("interreg_exposure() has no 's3_4alpclusters' rows; check data/policy.")
    return part[~part["nuts2"].isin(list(exclude))].reset_index(drop=True)


def latest_table(rel: pd.DataFrame, labels: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each region's latest year with a median: the display table and the wide ``relative`` frame."""
    obs = rel.dropna(subset=["relative"])
    last_obs = obs.sort_values("year").groupby(["nuts2", "indicator"]).tail(1)
    wide_val = last_obs.pivot(index="nuts2", columns="indicator", values="value")
    wide_rel = last_obs.pivot(index="nuts2", columns="indicator", values="relative")
    wide_year = last_obs.pivot(index="nuts2", columns="indicator", values="year")
    table = pd.DataFrame({"region": [labels.get(c, c) for c in wide_val.index]})
    for ind, (name, unit) in ALPINE_INDICATORS.items():
        table[f"{name} ({unit})"] = wide_val[ind].to_numpy() if ind in wide_val else np.nan
        table[f"{name}, % of median"] = wide_rel[ind].to_numpy() if ind in wide_rel else np.nan
    table["year"] = wide_year.max(axis=1).astype("Int64").to_numpy()
    return table, wide_rel


def h2020_table(*, countries: pd.DataFrame, italy: pd.DataFrame, rd: pd.DataFrame, codes: Sequence[str],
                italian: Sequence[str], labels: Mapping[str, str], population_year: int, first_year: int = 2015,
                last_year: int = 2020) -> pd.DataFrame:
    """H2020 firm-institute projects per start year (mean over the window) and per million inhabitants.

    Countries: domestic projects (firm and institute of the same country). Italian partner regions: projects with
    a firm or institute placed in the region and the other partner anywhere (``any partner``), and projects whose
    firm and institute are both in the region (``intraregional``; the regional analogue of the national count).
    Regional counts are lower bounds (only participations the geocoding places in a region are counted).
    """
    years = countries["year"].between(first_year, last_year)
    rows = []
    for cc in sorted({c[:2] for c in codes}):
        mean = countries.loc[years & (countries["country"] == cc), "coparticipation_projects_domestic"].mean()
        agg = aggregate_regions(rd, cc)  # population only when every region of the country reports it
        p: Any = agg.loc[agg["year"] == population_year, "population"].squeeze() \
            if (agg["year"] == population_year).any() else np.nan
        rows.append({"unit": cc, "level": "country (domestic firm and institute)", "projects/yr": mean,
                     "per million inhabitants": 1e6 * mean / p if p and np.isfinite(p) else np.nan})
    for code in italian:
        part = italy[(italy["nuts2"] == code) & italy["year"].between(first_year, last_year)]
        p = rd.loc[(rd["nuts2"] == code) & (rd["year"] == population_year), "population"]
        pop = float(p.iloc[0]) if len(p) else np.nan
        for column, level in (("coparticipation_projects", "region, any partner (lower bound)"),
                              ("coparticipation_projects_intraregional",
                               "region, same-region firm and institute (lower bound)")):
            mean = part[column].mean()
            rows.append({"unit": labels.get(code, code), "level": level, "projects/yr": mean,
                         "per million inhabitants": 1e6 * mean / pop if np.isfinite(pop) else np.nan})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class AlpineStudy:
    """Published keys of the Alpine benchmark run (tables and frames are exhibits, not glued).

    ``relative`` holds ``<code>_<indicator>_rel`` for every region and indicator with a latest value; the template
    publishes it as the fields of :class:`AlpineRelative` (:func:`relative_values`).
    """

    n_partner_codes: int
    n_regions: int
    excluded: str
    aliases: str
    min_regions: int
    years_used: str
    latest_year: int
    italian_above_median: str
    italian_below_all: str
    median_bes_rd_intensity_latest: float
    median_rd_personnel_per_1000_latest: float
    h2020_country_max: str
    h2020_first_year: int
    h2020_last_year: int
    intraregional_italian_total_per_year: float
    intraregional_share_pct: float
    intraregional_max_region: str
    intraregional_max_per_million: float
    intraregional_min_region: str
    intraregional_min_per_million: float
    benchmark_title: str
    relative: dict[str, float] = not_published(repr=True)
    rel: pd.DataFrame = not_published()
    labels: dict[str, str] = not_published()
    italian: list[str] = not_published()
    latest: pd.DataFrame = not_published()
    h2020: pd.DataFrame = not_published()
    partners: pd.DataFrame = not_published()


def alpine_study(*, rd: pd.DataFrame, countries: pd.DataFrame, italy: pd.DataFrame,
                 names: Mapping[str, str] | None = None, exposure: pd.DataFrame | None = None,
                 first_year: int = 2011, last_year: int = 2019, exclude: Sequence[str] = ("DE",),
                 min_share: float = 0.75, h2020_first_year: int = 2015, h2020_last_year: int = 2020) -> AlpineStudy:
    """Run the Alpine benchmark (see the module docstring for the rules).

    ``names`` maps partner codes to short region names (labels only; codes are used when missing).
    """
    from clusterpolicy.data.calendar import ITALIAN_NUTS2
    from clusterpolicy.data.policy import short_region_name

    # Italian regions live in the audited calendar; the other partners' names come from the caller
    names = {**{c: short_region_name(n) for c, n in ITALIAN_NUTS2.items()}, **dict(names or {})}
    every = alpine_partners(exposure)
    partners = alpine_partners(exposure, exclude=exclude)
    codes = {c: resolve_code(rd, c) for c in partners["nuts2"]}
    labels = {codes[c]: f"{names.get(c, c)} ({c})" for c in codes}
    italian = [codes[c] for c in codes if c.startswith("IT")]

    long = alpine_indicators(rd, list(codes.values()), first_year=first_year, last_year=last_year)
    min_regions = math.ceil(min_share * len(codes))
    rel = relative_to_median(long, min_regions=min_regions)
    years_used = sorted(int(y) for y in rel.dropna(subset=["median"])["year"].unique())
    if not years_used:
        raise UserInputError(f"no year has at least {min_regions} partner regions reporting; lower min_share.")
    latest = max(years_used)
    table, wide_rel = latest_table(rel, labels)
    relative = {f"{code}_{ind}_rel": float(wide_rel.loc[code, ind])
                for code in wide_rel.index for ind in ALPINE_INDICATORS
                if ind in wide_rel and pd.notna(wide_rel.loc[code, ind])}
    inds = [c for c in ALPINE_INDICATORS if c in wide_rel]
    above = wide_rel[inds] > 100
    above_list = [labels[c] for c in italian if c in above.index and above.loc[c].any()]
    below_list = [labels[c] for c in italian if c in above.index and not above.loc[c].any()]
    at_latest = rel[rel["year"] == latest].dropna(subset=["relative"])
    below_now = [c for c in italian if c in set(at_latest["nuts2"])
                 and (at_latest.loc[at_latest["nuts2"] == c, "relative"] < 100).all()]
    title = (f"{' and '.join(labels[c].split(' (')[0] for c in below_now)} below the partner median on every "
             f"indicator in {latest}" if below_now else f"Alpine partners' R&D positions, {years_used[0]}-{latest}")
    latest_med = rel[rel["year"] == latest].drop_duplicates("indicator").set_index("indicator")["median"]

    h = h2020_table(countries=countries, italy=italy, rd=rd, codes=list(codes.values()), italian=italian,
                    labels=labels, population_year=latest, first_year=h2020_first_year, last_year=h2020_last_year)
    known = h[h["level"].str.startswith("country")].dropna(subset=["per million inhabitants"])
    intra = h[h["level"].str.contains("same-region")].dropna(subset=["per million inhabitants"])
    any_ = h[h["level"].str.contains("any partner")]
    top = intra.sort_values("per million inhabitants").iloc[-1] if len(intra) else None
    bottom = intra.sort_values("per million inhabitants").iloc[0] if len(intra) else None
    return AlpineStudy(
        n_partner_codes=int(every["nuts2"].nunique()), n_regions=len(codes), excluded=", ".join(exclude) or "none",
        aliases=", ".join(f"{k} as {v}" for k, v in codes.items() if k != v) or "none",
        min_regions=int(min_regions), years_used=", ".join(str(y) for y in years_used), latest_year=int(latest),
        italian_above_median=", ".join(above_list) or "none", italian_below_all=", ".join(below_list) or "none",
        median_bes_rd_intensity_latest=float(latest_med.get("bes_rd_intensity", np.nan)),
        median_rd_personnel_per_1000_latest=float(latest_med.get("rd_personnel_per_1000", np.nan)),
        h2020_country_max=str(known.sort_values("per million inhabitants").iloc[-1]["unit"]) if len(known) else "none",
        h2020_first_year=int(h2020_first_year), h2020_last_year=int(h2020_last_year),
        intraregional_italian_total_per_year=float(intra["projects/yr"].sum()),
        intraregional_share_pct=float(100 * intra["projects/yr"].sum() / any_["projects/yr"].sum())
        if any_["projects/yr"].sum() > 0 else math.nan,
        intraregional_max_region=str(top["unit"]) if top is not None else "none",
        intraregional_max_per_million=float(top["per million inhabitants"]) if top is not None else math.nan,
        intraregional_min_region=str(bottom["unit"]) if bottom is not None else "none",
        intraregional_min_per_million=float(bottom["per million inhabitants"]) if bottom is not None else math.nan,
        benchmark_title=title, relative=relative, rel=rel, labels=labels, italian=italian, latest=table, h2020=h,
        partners=partners,
    )


@dataclass(frozen=True)
class AlpineRelative:
    """Published keys of every partner's latest value relative to the partner median (median = 100), one field per
    ``<code>_<indicator>_rel`` so a number on a page greps to its field here. ``None``: no latest value (the
    partner does not publish that indicator, or is excluded by the run's parameters)."""

    AT31_bes_rd_intensity_rel: float | None = None
    AT31_bes_researchers_per_1000_rel: float | None = None
    AT31_rd_personnel_per_1000_rel: float | None = None
    AT32_bes_rd_intensity_rel: float | None = None
    AT32_bes_researchers_per_1000_rel: float | None = None
    AT32_rd_personnel_per_1000_rel: float | None = None
    DE2_bes_rd_intensity_rel: float | None = None
    DE2_bes_researchers_per_1000_rel: float | None = None
    DE2_rd_personnel_per_1000_rel: float | None = None
    FR43_bes_rd_intensity_rel: float | None = None
    FR43_bes_researchers_per_1000_rel: float | None = None
    FR43_rd_personnel_per_1000_rel: float | None = None
    ITC1_bes_rd_intensity_rel: float | None = None
    ITC1_bes_researchers_per_1000_rel: float | None = None
    ITC1_rd_personnel_per_1000_rel: float | None = None
    ITC4_bes_rd_intensity_rel: float | None = None
    ITC4_bes_researchers_per_1000_rel: float | None = None
    ITC4_rd_personnel_per_1000_rel: float | None = None
    ITH2_bes_rd_intensity_rel: float | None = None
    ITH2_bes_researchers_per_1000_rel: float | None = None
    ITH2_rd_personnel_per_1000_rel: float | None = None
    ITH3_bes_rd_intensity_rel: float | None = None
    ITH3_bes_researchers_per_1000_rel: float | None = None
    ITH3_rd_personnel_per_1000_rel: float | None = None
    SI_bes_rd_intensity_rel: float | None = None
    SI_bes_researchers_per_1000_rel: float | None = None
    SI_rd_personnel_per_1000_rel: float | None = None


def relative_values(study: AlpineStudy) -> AlpineRelative:
    """The partners' relative positions of ``study`` as a frozen dataclass (published whole by the template).

    Raises
    ------
    UserInputError
        If the partner set has a region this class has no field for (a partner added to the Interreg exposure
        table): add a field ``<code>_<indicator>_rel`` for it.
    """
    names = {f.name for f in fields(AlpineRelative)}
    unknown = sorted(set(study.relative) - names)
    if unknown:
        raise UserInputError(f"alpine benchmark: no published field for {unknown}; add them to AlpineRelative in "
                             "src/clusterpolicy/study/alpine.py.")
    return AlpineRelative(**study.relative)
