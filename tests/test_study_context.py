"""The study rules of the context and data pages (``clusterpolicy.study.context``, ``.data_overview``).

The published fields are checked against what the data and the treatment rules give, computed independently here
from the committed files (real data; nothing simulated except the small hand-built frames marked so).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA, load_cluster_policies
from clusterpolicy.data.loaders import load_h2020_countries, load_h2020_italy, load_h2020_italy_coverage, load_rd_panel
from clusterpolicy.data.policy import load_literature, load_policy_calendar, load_programmes
from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.study import context as ctx
from clusterpolicy.study.data_overview import data_overview, macro_area_series, start_year_table
from clusterpolicy.study.treatments import DEFINITIONS, cohort_table, miur_district_year


def _published(values: object) -> dict[str, object]:
    return {f.name: getattr(values, f.name) for f in dataclasses.fields(values) if f.metadata.get("publish", True)}


@pytest.fixture(scope="module")
def calendar() -> pd.DataFrame:
    return load_cluster_policies()


@pytest.fixture(scope="module")
def history(calendar):
    return ctx.policy_history(calendar, load_policy_calendar())


# ------------------------------------------------------------------------------------------------ context
def test_published_fields_are_scalars(history) -> None:
    pub = _published(history)
    assert len(pub) > 30
    assert all(isinstance(v, (int, float, str)) for v in pub.values())
    hidden = {f.name for f in dataclasses.fields(history) if not f.metadata.get("publish", True)}
    assert hidden == {"timeline", "calendar_table", "cohorts", "spans"}


def test_miur_stratum_counts_follow_miur_district_year(history, calendar) -> None:
    miur = miur_district_year(calendar)
    years = miur["miur_district_year"].dropna()
    assert history.n_miur_regions_by_stratum_year == int((years <= ctx.MIUR_STRATUM_YEAR).sum())
    assert history.n_miur_regions == len(years)
    assert history.first_miur_year == int(years.min())
    assert history.miur_stratum_year == ctx.MIUR_STRATUM_YEAR


def test_status_counts_follow_each_definition(history, calendar) -> None:
    for name in DEFINITIONS:
        table = cohort_table(name, calendar)
        for status in ("treated", "never", "unknown"):
            assert getattr(history, f"{name.lower()}_{status}") == int((table["status"] == status).sum())
        total = sum(getattr(history, f"{name.lower()}_{s}") for s in ("treated", "never", "unknown"))
        assert total == len(ITALIAN_NUTS2)
    t1 = cohort_table("T1", calendar)["cohort"].dropna()
    assert (history.t1_first_cohort, history.t1_last_cohort) == (int(t1.min()), int(t1.max()))


def test_row_counts_and_sources(history, calendar) -> None:
    assert history.n_regions_calendar == len(ITALIAN_NUTS2)
    assert history.n_calendar_rows == len(calendar)
    assert history.n_policy_rows + history.n_none_found_rows == len(calendar)
    kinds = [f for f in dataclasses.fields(history) if f.name.startswith("n_rows_") and f.name[7:] in
             calendar["kind"].unique()]
    assert sum(getattr(history, f.name) for f in kinds) == history.n_policy_rows
    assert history.n_rows_high + history.n_rows_medium + history.n_rows_low == history.n_policy_rows
    urls = {u.strip() for cell in calendar["source_url"] for u in cell.split(" ; ") if u.strip()}
    assert history.n_sources == len(urls)
    assert history.national_call_year == 2012


def test_frames_cover_every_region(history, calendar) -> None:
    assert history.timeline["nuts2"].nunique() == len(ITALIAN_NUTS2)
    assert len(history.timeline) == len(calendar)
    # north (top) to south: Piemonte on the top line, Sardegna at the bottom
    top = history.timeline.loc[history.timeline["y"].idxmax(), "nuts2"]
    bottom = history.timeline.loc[history.timeline["y"].idxmin(), "nuts2"]
    assert (top, bottom) == ("ITC1", "ITG2")
    assert len(history.calendar_table) == len(calendar)
    assert len(history.cohorts) == len(ITALIAN_NUTS2)
    assert {"T1", "T2", "T1_high_medium", "MIUR district", "T1 reason"} <= set(history.cohorts.columns)
    fvg = history.cohorts.set_index("region").loc["Friuli-Venezia Giulia (ITH4)"]
    t1 = cohort_table("T1", calendar).set_index("nuts2").loc["ITH4"]
    assert fvg["T1"] == f"{int(t1['cohort'])} ({t1['confidence']})"


def test_interreg_spans_combine_both_calendars(history) -> None:
    spans = history.spans.set_index("programme")
    assert spans.loc["inkrease", "italian_regions"] == "ITH5" == history.inkrease_italian_regions
    assert spans.loc["clusterix2", "start"] == 2016
    assert history.s3_4alpclusters_italian_regions == "ITC1, ITC4, ITH2, ITH3"
    assert history.clusterix2_n_regions == 10  # ITH1 from the audited calendar + nine partner codes


def test_missing_common_shock_is_a_clear_error(calendar) -> None:
    old = load_policy_calendar()
    with pytest.raises(DataValidationError, match="no dated common_shock row"):
        ctx.policy_history(calendar, old[old["role"] != "common_shock"])


def test_programme_facts_and_table() -> None:
    progs = load_programmes()
    facts = ctx.seed_programme_facts(progs)
    assert facts.clusterix_target_pct == 5 and facts.clusterix_start == "1 April 2016"
    assert facts.s3_erdf_share_pct == pytest.approx(100 * 1929500 / 2521964, rel=1e-12)
    assert facts.n_facts == len(progs)
    tab = ctx.programme_table(progs, ["ClusteriX 2.0"])
    events = tab[tab["fact"].str.startswith("Learning events planned")]
    assert sorted(events["value"]) == ["32 events", "81 events"]
    assert events["fact"].str.endswith("(sources differ)").all()
    row = ctx.programme_table(progs, ["S3-4AlpClusters"]).query("fact == 'Lombardy budget'").iloc[0]
    assert row["value"] == "EUR 120,000 (unverified)"


def test_literature_facts_and_helpers() -> None:
    lit = load_literature()
    facts = ctx.literature_facts(lit)
    assert facts.n_studies == len(lit)
    assert facts.falck2010_quantity == "+4.6 to +5.7 pp"
    assert (facts.falck2010_low_pp, facts.falck2010_high_pp) == (4.6, 5.7)
    keys = facts.table["key"]
    assert (keys == "nishimura2011").sum() == 1 and (keys == "falck2010").sum() == 1
    assert ctx.leading_quantity("+EUR 116k R&D per firm") == "+EUR 116k"
    assert ctx.leading_quantity("Winners outperform") == ""
    with pytest.raises(DataValidationError, match="citation key 'nope'"):
        ctx.study_headline(lit, "nope")
    assert ctx.date_text("2017-06") == "June 2017"
    with pytest.raises(UserInputError, match="is not an ISO date"):
        ctx.date_text("June 2017")


# ------------------------------------------------------------------------------------------------ data overview
@pytest.fixture(scope="module")
def data():
    return {"rd": load_rd_panel(), "h2020": load_h2020_italy(), "countries": load_h2020_countries(),
            "coverage": load_h2020_italy_coverage()}


@pytest.fixture(scope="module")
def overview(data, calendar):
    return data_overview(data["rd"], data["h2020"], data["countries"], data["coverage"], calendar,
                         first_year=2003, last_year=2019)


def test_start_year_counts_come_from_the_country_panel(overview, data) -> None:
    it = data["countries"].query("country == 'IT'").set_index("year")
    for year in range(2014, 2022):
        assert getattr(overview, f"projects_{year}") == int(it.loc[year, "projects"])
    assert overview.projects_2014 < overview.projects_2015 / 5  # the first start year is an artefact
    assert overview.coverage_2021_pct == pytest.approx(
        100 * data["coverage"].set_index("year").loc[2021, "coverage_national"], rel=1e-12)
    assert overview.projects_median_2015_2020 == float(it.loc[2015:2020, "projects"].median())


def test_intraregional_outcome_is_a_subset(overview, data) -> None:
    comp = data["h2020"].query("year_complete == 1")
    assert overview.intra_total == int(comp["coparticipation_projects_intraregional"].sum())
    assert overview.any_total == int(comp["coparticipation_projects"].sum())
    assert overview.intra_total < overview.any_total
    assert (comp["coparticipation_projects_intraregional"] <= comp["coparticipation_projects"]).all()
    by = overview.by_region
    assert len(by) == len(ITALIAN_NUTS2)
    assert by["intraregional"].sum() == overview.intra_total
    assert overview.intra_region_years == len(comp)


def test_macro_area_growth_from_summed_regions(overview, data) -> None:
    rd = data["rd"]
    for area in ("north_west", "south"):
        codes = [c for c in ITALIAN_NUTS2 if MACRO_AREA[c] == area]
        part = rd[rd["nuts2"].isin(codes)].groupby("year")["rd_personnel_bes_fte"].sum()
        expected = 100 * (part[2019] / part[2003] - 1)
        assert getattr(overview, f"bes_growth_{area}_pct") == pytest.approx(expected, rel=1e-12)
    macro = overview.macro
    assert set(macro["macro_area"]) == set(MACRO_AREA.values())
    base = macro[(macro["series"] == "bes_personnel") & (macro["year"] == 2003)]
    np.testing.assert_allclose(base["index"], 100.0, rtol=1e-12)


def test_macro_area_series_leaves_gaps_when_a_member_is_missing() -> None:
    """SIMULATED two-region macro-area: a year where one member lacks data has no total (not a smaller one)."""
    rows = []
    for code in ITALIAN_NUTS2:
        for year in (2003, 2004, 2005):
            value = np.nan if (code == "ITF1" and year == 2004) else 10.0
            rows.append({"nuts2": code, "country": "IT", "year": year, "rd_personnel_bes_fte": value,
                         "population": 1e6})
    rd = pd.DataFrame(rows)
    h2020 = pd.DataFrame([{"nuts2": c, "year": 2015, "year_complete": 1, "coparticipation_projects": 2}
                          for c in ITALIAN_NUTS2])
    out = macro_area_series(rd, h2020, first_year=2003, last_year=2005)
    south = out[(out["series"] == "bes_personnel") & (out["macro_area"] == "south")]
    assert south["year"].tolist() == [2003, 2005]
    h = out[(out["series"] == "h2020_per_million") & (out["macro_area"] == "islands")]
    assert h["value"].tolist() == [2.0]


def test_data_overview_checks_its_window(data, calendar) -> None:
    with pytest.raises(UserInputError, match="year 2006 has no business R&D personnel"):
        data_overview(data["rd"], data["h2020"], data["countries"], data["coverage"], calendar,
                      first_year=2006, last_year=2019)
    with pytest.raises(UserInputError, match="must be before"):
        data_overview(data["rd"], data["h2020"], data["countries"], data["coverage"], calendar,
                      first_year=2019, last_year=2003)
    with pytest.raises(DataValidationError, match="no IT rows"):
        start_year_table(data["countries"].query("country != 'IT'"), data["coverage"])
