"""Study rules of the data page (``notebooks/data_overview.md``): what each source covers, why the first and last
Horizon 2020 start years are artefacts, the intraregional collaboration outcome beside the any-partner one, and the
business R&D and H2020 collaboration series by macro-area.

:func:`data_overview` returns a frozen :class:`DataOverview` whose scalar fields are the page's published keys
(:func:`clusterpolicy.report.glue.publish_fields`); fields declared with ``not_published()`` hold the frames the
template shows as tables or hands to :mod:`clusterpolicy.report.context_figures`. Nothing is estimated and nothing
is simulated here: every number is a count, a share or a growth rate of the committed real data.

Rules
-----
* **Start-year artefacts.** H2020 calls opened in 2014, so few projects *started* that year; the CORDIS export
  is of 14 December 2020, so start year 2021 holds only projects signed by then. Both years are shown with the
  national project count (all Italian H2020 projects and firm-institute co-participation projects, from the
  country panel, which needs no regional placement) and the share placed in regions.
* **Intraregional outcome.** ``coparticipation_projects_intraregional`` counts projects joining a firm and a
  knowledge institute of the SAME region; ``coparticipation_projects`` counts projects where a firm or an institute
  of the region meets any partner of the other type. Totals are over complete start years.
* **Macro-areas.** Business R&D personnel is summed over the regions of each ISTAT macro-area
  (:data:`~clusterpolicy.data.calendar.MACRO_AREA`) only in years where every member reports (a gap never
  shrinks a total), then indexed to ``first_year`` = 100. H2020 co-participation projects per million
  inhabitants use each region's mean population over the years it is known (derived from Eurostat R&D
  expenditure per inhabitant, see ``data/derived/CODEBOOK.md``; population barely moves, and the series start
  later than H2020 ends), from :data:`H2020_BASE_YEAR`; a project with partners in several regions of one macro-area
  counts once per region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA
from clusterpolicy.data.policy import short_region_name
from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.context import MACRO_LABELS, MACRO_ORDER

#: Date of the CORDIS H2020 export the panel is built from (see data/derived/CODEBOOK.md).
CORDIS_EXPORT_DATE = "14 December 2020"

#: First year in which H2020 projects started in numbers (calls opened in 2014): the H2020 index base year.
H2020_BASE_YEAR = 2015

BES = "rd_personnel_bes_fte"


def _label(code: str, names: dict[str, str]) -> str:
    return f"{names.get(code, code)} ({code})"


def start_year_table(countries: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Italian H2020 projects per start year (national, no placement needed) with the placement coverage.

    Columns ``year, complete, projects, coparticipation_projects, participations, coverage``.
    """
    it = countries[countries["country"] == "IT"]
    if it.empty:
        raise DataValidationError("the H2020 country panel has no IT rows; rebuild data/derived (see CODEBOOK.md).")
    out = it[["year", "year_complete", "projects", "coparticipation_projects", "participations"]].merge(
        coverage[["year", "coverage_national"]], on="year", how="left")
    return out.rename(columns={"year_complete": "complete", "coverage_national": "coverage"}).sort_values(
        "year", ignore_index=True)


def outcomes_by_region(h2020: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Per region, over complete start years: any-partner and intraregional co-participation projects, the
    intraregional share and the yearly mean of each. Sorted by the any-partner total, largest first."""
    comp = h2020[h2020["year_complete"] == 1]
    g = comp.groupby("nuts2")
    out = pd.DataFrame({
        "any partner": g["coparticipation_projects"].sum(),
        "intraregional": g["coparticipation_projects_intraregional"].sum(),
        "any per year": g["coparticipation_projects"].mean(),
        "intraregional per year": g["coparticipation_projects_intraregional"].mean(),
    })
    out["intraregional share"] = out["intraregional"] / out["any partner"]
    out = out.sort_values("any partner", ascending=False, kind="mergesort")
    out.insert(0, "region", [_label(c, names) for c in out.index])
    return out.reset_index(drop=True)


def macro_area_series(rd: pd.DataFrame, h2020: pd.DataFrame, *, first_year: int, last_year: int) -> pd.DataFrame:
    """Long frame ``macro_area, label, series, year, value, index`` for the macro-area figure.

    ``series`` is ``bes_personnel`` (business R&D personnel, FTE, summed over the macro-area's regions in years
    where all report; ``index`` = 100 in ``first_year``) or ``h2020_per_million`` (co-participation projects per
    million inhabitants over complete start years from :data:`H2020_BASE_YEAR`, when projects started in numbers;
    ``index`` = 100 in that year).
    """
    it = rd[rd["nuts2"].isin(list(ITALIAN_NUTS2))].assign(macro_area=lambda f: f["nuts2"].map(MACRO_AREA))
    win = it[(it["year"] >= first_year) & (it["year"] <= last_year)]
    n_members: Any = pd.Series(MACRO_AREA).value_counts()  # Any: Index.map takes a Series (not in pandas-stubs)
    g = win.dropna(subset=[BES]).groupby(["macro_area", "year"])[BES]
    bes = g.sum().where(g.count() == g.count().index.get_level_values(0).map(n_members)).dropna().reset_index()
    bes = bes.rename(columns={BES: "value"}).assign(series="bes_personnel")
    pop = it.dropna(subset=["population"]).groupby("nuts2")["population"].mean()
    missing = sorted(set(ITALIAN_NUTS2) - set(pop.index))
    if missing:
        raise DataValidationError(f"the Eurostat panel has no population for {', '.join(missing)}; rebuild "
                                  "data/derived (see CODEBOOK.md).")
    comp = h2020[(h2020["year_complete"] == 1) & (h2020["year"] >= H2020_BASE_YEAR)]
    comp = comp.assign(macro_area=comp["nuts2"].map(MACRO_AREA))
    proj = comp.groupby(["macro_area", "year"])["coparticipation_projects"].sum()
    people: Any = pop.groupby(pop.index.map(MACRO_AREA)).sum()  # Any: as n_members
    h = (1e6 * proj / proj.index.get_level_values(0).map(people).to_numpy()).rename("value").reset_index()
    h = h.assign(series="h2020_per_million")
    out = pd.concat([bes, h], ignore_index=True)
    base_year = {"bes_personnel": first_year, "h2020_per_million": H2020_BASE_YEAR}
    base = out[out["year"] == out["series"].map(base_year)].set_index(["series", "macro_area"])["value"]
    keys = list(zip(out["series"], out["macro_area"], strict=True))
    out["index"] = 100 * out["value"].to_numpy() / base.reindex(keys).to_numpy()
    out["label"] = out["macro_area"].map(MACRO_LABELS)
    order = {m: i for i, m in enumerate(MACRO_ORDER)}
    out = out.sort_values(["series", "macro_area", "year"], key=lambda s: s.map(order) if s.name == "macro_area"
                          else s, ignore_index=True)
    return out[["macro_area", "label", "series", "year", "value", "index"]]


def _growth(series: pd.DataFrame, name: str, area: str, start: int, end: int) -> float:
    part = series[(series["series"] == name) & (series["macro_area"] == area)].set_index("year")["value"]
    if start not in part.index or end not in part.index:
        return float("nan")
    return float(100 * (part[end] / part[start] - 1))


@dataclass(frozen=True)
class DataOverview:
    """The data page's published numbers and its frames (see the module docstring for the rules)."""

    rd_n_regions: int
    rd_n_countries: int
    rd_n_italian_regions: int
    rd_first_year_window: int
    rd_last_year_window: int
    rd_missing_years: str
    gerd_first_year: int
    gerd_last_year: int
    h2020_n_regions: int
    h2020_first_year: int
    h2020_last_year: int
    h2020_last_complete_year: int
    h2020_n_countries: int
    n_calendar_regions: int
    italy_bes_personnel_first: float
    italy_bes_personnel_last: float
    italy_bes_personnel_growth_pct: float
    italy_bes_largest_jump_year: int
    italy_bes_largest_jump_pct: float
    coverage_min_pct: float
    coverage_max_pct: float
    coverage_min_year: int
    coverage_2015_2016_pct: float
    coverage_2017_on_pct: float
    coverage_org2017_min_pct: float
    participations_it_total: int
    cordis_export_date: str
    projects_2014: int
    projects_2015: int
    projects_2016: int
    projects_2017: int
    projects_2018: int
    projects_2019: int
    projects_2020: int
    projects_2021: int
    projects_median_2015_2020: float
    projects_2014_pct_of_median: float
    projects_2021_pct_of_median: float
    coparticipation_2014: int
    coparticipation_2021: int
    coverage_2014_pct: float
    coverage_2021_pct: float
    h2020_top_region: str
    h2020_top_region_projects: int
    h2020_median_region_projects_per_year: float
    h2020_min_region_projects_per_year: float
    intra_total: int
    any_total: int
    intra_share_pct: float
    intra_median_region_per_year: float
    intra_top_region: str
    intra_top_region_projects: int
    intra_zero_region_years: int
    intra_region_years: int
    bes_growth_north_west_pct: float
    bes_growth_north_east_pct: float
    bes_growth_centre_pct: float
    bes_growth_south_pct: float
    bes_growth_islands_pct: float
    mezzogiorno_bes_share_first_pct: float
    mezzogiorno_bes_share_last_pct: float
    h2020_base_year: int
    h2020_pc_growth_north_west_pct: float
    h2020_pc_growth_north_east_pct: float
    h2020_pc_growth_centre_pct: float
    h2020_pc_growth_south_pct: float
    h2020_pc_growth_islands_pct: float
    h2020_pc_north_west_last: float
    h2020_pc_south_last: float
    bes_growth_ranking: str
    bes_growth_fastest: str
    bes_growth_slowest: str
    h2020_pc_growth_ranking: str
    mezzogiorno_bes_share_change: str
    names: dict = not_published()
    sources: pd.DataFrame = not_published()
    lines: pd.DataFrame = not_published()
    coverage: pd.DataFrame = not_published()
    start_years: pd.DataFrame = not_published()
    heatmap: pd.DataFrame = not_published()
    by_region: pd.DataFrame = not_published()
    macro: pd.DataFrame = not_published()


def growth_ranking(growth: dict[str, float]) -> list[tuple[str, float]]:
    """Macro-areas from the fastest to the slowest growth, ``[(label, per cent), ...]`` (``growth`` keyed by
    :data:`~clusterpolicy.study.context.MACRO_ORDER` codes); the prose states the ranking instead of a typed one."""
    return [(MACRO_LABELS[m], v) for m, v in sorted(growth.items(), key=lambda kv: -kv[1]) if math.isfinite(v)]


def ranking_text(ranking: list[tuple[str, float]]) -> str:
    """``'North-East 360 %, South 312 %, ...'``."""
    return ", ".join(f"{label} {value:+.0f} %" for label, value in ranking)


def data_overview(rd: pd.DataFrame, h2020: pd.DataFrame, countries: pd.DataFrame, coverage: pd.DataFrame,
                  calendar: pd.DataFrame, *, first_year: int, last_year: int) -> DataOverview:
    """Describe the book's data sources (no estimate).

    Parameters
    ----------
    rd, h2020, countries, coverage
        :func:`~clusterpolicy.data.loaders.load_rd_panel`, :func:`~clusterpolicy.data.loaders.load_h2020_italy`,
        :func:`~clusterpolicy.data.loaders.load_h2020_countries`,
        :func:`~clusterpolicy.data.loaders.load_h2020_italy_coverage`.
    calendar
        :func:`~clusterpolicy.data.calendar.load_cluster_policies` (the audited calendar).
    first_year, last_year
        The window of the R&D personnel series (``first_year`` is the index base of the macro-area figure).
    """
    if not first_year < last_year:
        raise UserInputError(f"first_year={first_year} must be before last_year={last_year}.")
    names: dict[str, str] = {str(k): short_region_name(v)
             for k, v in h2020.drop_duplicates("nuts2").set_index("nuts2")["region_name"].items()}
    it = rd[rd["country"] == "IT"]
    bes_years = sorted(it.dropna(subset=[BES])["year"].unique())
    gerd_years = sorted(it.dropna(subset=["gerd_bes_mio_eur"])["year"].unique())
    complete = h2020[h2020["year_complete"] == 1]
    for y in (first_year, last_year):
        if y not in bes_years:
            raise UserInputError(f"year {y} has no business R&D personnel for Italy; choose first_year/last_year "
                                 f"among {', '.join(str(int(v)) for v in bes_years)}.")

    # R&D personnel lines
    panel = it[(it["year"] >= first_year) & (it["year"] <= last_year)].dropna(subset=[BES])
    panel = panel.assign(label=panel["nuts2"].map(lambda c: _label(c, names)))
    national = panel.groupby("year")[BES].sum()
    yoy = 100 * national.pct_change()
    jump_year: Any = yoy.idxmax()

    # coverage and start years
    comp = coverage[coverage["year_complete"] == 1]
    min_coverage_row: Any = comp["coverage_national"].idxmin()
    early = comp[comp["year"].between(2015, 2016)]
    late = comp[comp["year"] >= 2017]
    starts = start_year_table(countries, coverage)
    proj = starts.set_index("year")["projects"]
    cop = starts.set_index("year")["coparticipation_projects"]
    cov = starts.set_index("year")["coverage"]
    middle = float(proj.loc[2015:2020].median())

    # heat map and the intraregional outcome
    heat = h2020.assign(label=h2020["nuts2"].map(lambda c: _label(c, names)))
    top = heat.groupby("nuts2")["coparticipation_projects"].sum().sort_values(ascending=False)
    per_year = complete.groupby("nuts2")["coparticipation_projects"].mean()
    by_region = outcomes_by_region(h2020, names)
    intra = complete.groupby("nuts2")["coparticipation_projects_intraregional"]
    intra_top = intra.sum().sort_values(ascending=False)

    # macro-areas
    macro = macro_area_series(rd, h2020, first_year=first_year, last_year=last_year)
    last_h = int(complete["year"].max())
    bes_macro = macro[macro["series"] == "bes_personnel"].pivot(index="year", columns="macro_area", values="value")
    mezz = bes_macro[["south", "islands"]].sum(axis=1) / bes_macro.sum(axis=1)

    def hpc(area: str) -> float:
        part = macro[(macro["series"] == "h2020_per_million") & (macro["macro_area"] == area)]
        return float(part.loc[part["year"] == last_h, "value"].iloc[0])

    sources = pd.DataFrame([
        {"source": "Eurostat rd_e_gerdreg, rd_p_persreg", "unit": "NUTS2 region x year",
         "years": f"{min(bes_years)}-{max(y for y in bes_years if y <= 2020)} (personnel, Italy)",
         "regions": f"{rd['nuts2'].nunique()} EU regions ({it['nuts2'].nunique()} Italian)",
         "measures": "R&D personnel, researchers, R&D expenditure by sector"},
        {"source": "CORDIS H2020 participations + 2017 organisation list", "unit": "Italian NUTS2 region x start year",
         "years": f"{h2020['year'].min()}-{h2020['year'].max()} ({complete['year'].max()} last complete)",
         "regions": f"{h2020['nuts2'].nunique()} Italian regions",
         "measures": "projects joining firms and universities/research centres (any partner; same region)"},
        {"source": "CORDIS H2020 participations", "unit": "country x start year",
         "years": f"{countries['year'].min()}-{countries['year'].max()}",
         "regions": f"{countries['country'].nunique()} countries", "measures": "same, by country"},
        {"source": "Cluster-policy calendar (audited, cluster_policies.csv)", "unit": "region x policy generation",
         "years": "policy start and end years", "regions": f"{calendar['nuts2'].nunique()} Italian regions",
         "measures": "kind, act, flags, confidence and sources of each policy; searches that found nothing"},
    ])
    growth: dict[str, Any] = {
        **{f"bes_growth_{m}_pct": _growth(macro, "bes_personnel", m, first_year, last_year) for m in MACRO_ORDER},
        **{f"h2020_pc_growth_{m}_pct": _growth(macro, "h2020_per_million", m, H2020_BASE_YEAR, last_h)
           for m in MACRO_ORDER},
    }
    bes_rank = growth_ranking({m: growth[f"bes_growth_{m}_pct"] for m in MACRO_ORDER})
    return DataOverview(
        rd_n_regions=int(rd["nuts2"].nunique()),
        rd_n_countries=int(rd["country"].nunique()),
        rd_n_italian_regions=int(it["nuts2"].nunique()),
        rd_first_year_window=first_year,
        rd_last_year_window=last_year,
        rd_missing_years=", ".join(str(y) for y in range(first_year, last_year + 1) if y not in bes_years) or "none",
        gerd_first_year=int(min(gerd_years)),
        gerd_last_year=int(max(y for y in gerd_years if y <= last_year)),
        h2020_n_regions=int(h2020["nuts2"].nunique()),
        h2020_first_year=int(h2020["year"].min()),
        h2020_last_year=int(h2020["year"].max()),
        h2020_last_complete_year=int(complete["year"].max()),
        h2020_n_countries=int(countries["country"].nunique()),
        n_calendar_regions=int(calendar["nuts2"].nunique()),
        italy_bes_personnel_first=float(national.loc[first_year]),
        italy_bes_personnel_last=float(national.loc[last_year]),
        italy_bes_personnel_growth_pct=float(100 * (national.loc[last_year] / national.loc[first_year] - 1)),
        italy_bes_largest_jump_year=int(jump_year),
        italy_bes_largest_jump_pct=float(yoy.max()),
        coverage_min_pct=float(100 * comp["coverage_national"].min()),
        coverage_max_pct=float(100 * comp["coverage_national"].max()),
        coverage_min_year=int(comp["year"].loc[min_coverage_row]),
        coverage_2015_2016_pct=float(100 * early["participations_it_located"].sum() / early["participations_it"].sum()),
        coverage_2017_on_pct=float(100 * late["participations_it_located"].sum() / late["participations_it"].sum()),
        coverage_org2017_min_pct=float(100 * comp["coverage_national_org2017"].min()),
        participations_it_total=int(comp["participations_it"].sum()),
        cordis_export_date=CORDIS_EXPORT_DATE,
        **{f"projects_{y}": int(proj.get(y, 0)) for y in range(2014, 2022)},
        projects_median_2015_2020=middle,
        projects_2014_pct_of_median=float(100 * proj.get(2014, np.nan) / middle),
        projects_2021_pct_of_median=float(100 * proj.get(2021, np.nan) / middle),
        coparticipation_2014=int(cop.get(2014, 0)),
        coparticipation_2021=int(cop.get(2021, 0)),
        coverage_2014_pct=float(100 * cov.get(2014, np.nan)),
        coverage_2021_pct=float(100 * cov.get(2021, np.nan)),
        h2020_top_region=names[top.index[0]],
        h2020_top_region_projects=int(top.iloc[0]),
        h2020_median_region_projects_per_year=float(per_year.median()),
        h2020_min_region_projects_per_year=float(per_year.min()),
        intra_total=int(complete["coparticipation_projects_intraregional"].sum()),
        any_total=int(complete["coparticipation_projects"].sum()),
        intra_share_pct=float(100 * complete["coparticipation_projects_intraregional"].sum()
                              / complete["coparticipation_projects"].sum()),
        intra_median_region_per_year=float(intra.mean().median()),
        intra_top_region=names[intra_top.index[0]],
        intra_top_region_projects=int(intra_top.iloc[0]),
        intra_zero_region_years=int((complete["coparticipation_projects_intraregional"] == 0).sum()),
        intra_region_years=int(len(complete)),
        **growth,
        mezzogiorno_bes_share_first_pct=float(100 * mezz.loc[first_year]),
        mezzogiorno_bes_share_last_pct=float(100 * mezz.loc[last_year]),
        h2020_base_year=H2020_BASE_YEAR,
        h2020_pc_north_west_last=hpc("north_west"),
        h2020_pc_south_last=hpc("south"),
        bes_growth_ranking=ranking_text(bes_rank),
        bes_growth_fastest=bes_rank[0][0], bes_growth_slowest=bes_rank[-1][0],
        h2020_pc_growth_ranking=ranking_text(growth_ranking(
            {m: growth[f"h2020_pc_growth_{m}_pct"] for m in MACRO_ORDER})),
        mezzogiorno_bes_share_change=("rose" if mezz.loc[last_year] > mezz.loc[first_year] else
                                      "fell" if mezz.loc[last_year] < mezz.loc[first_year] else "did not change"),
        names=names,
        sources=sources,
        lines=panel,
        coverage=coverage,
        start_years=starts,
        heatmap=heat,
        by_region=by_region,
        macro=macro,
    )
