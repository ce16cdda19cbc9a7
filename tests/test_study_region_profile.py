"""Regional profiles (study/region_profile.py), their manifest runs, the Regions part and the offline plotly
figures (report/interactive.py, sphinxext/plotly_offline.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.calendar import ITALIAN_NUTS2, MACRO_AREA, load_cluster_policies
from clusterpolicy.data.loaders import load_h2020_italy, load_h2020_italy_partners, load_rd_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.pipeline import book
from clusterpolicy.pipeline.manifest import load_manifest
from clusterpolicy.study import region_profile as rp

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def liguria() -> rp.RegionProfile:
    return rp.region_profile("ITC3")


@pytest.fixture(scope="module")
def salzburg() -> rp.RegionProfile:
    return rp.region_profile("at32")


def published(values: object) -> dict[str, object]:
    return {f.name: getattr(values, f.name) for f in dataclasses.fields(values) if f.metadata.get("publish", True)}


def test_published_fields_are_plain_values(liguria: rp.RegionProfile) -> None:
    fields = published(liguria)
    for name in ("nuts2", "region", "summary_en", "summary_it", "h2020_intra_mean", "coverage_region",
                 "bes_personnel", "headline_role", "headline_without", "n_policies", "n_interreg"):
        assert name in fields
    for name, value in fields.items():
        assert value is None or isinstance(value, (str, int, float, bool)), name
    assert liguria.region == "Liguria" and liguria.is_italian and liguria.unavailable == "none"


def test_h2020_numbers_come_from_the_data(liguria: rp.RegionProfile) -> None:
    h2020 = load_h2020_italy()
    pop = rp.italian_population(load_rd_panel())
    own = h2020[(h2020["nuts2"] == "ITC3") & (h2020["year_complete"] == 1)].merge(pop, on=["nuts2", "year"])
    expected = (own["coparticipation_projects_intraregional"] / own["population"] * 1e6).mean()
    np.testing.assert_allclose(liguria.h2020_intra_mean, expected, rtol=1e-12)
    assert liguria.h2020_first_year == own["year"].min() and liguria.h2020_last_year == own["year"].max()
    all_years = h2020[h2020["year_complete"] == 1].merge(pop, on=["nuts2", "year"])
    per = all_years.assign(v=all_years["coparticipation_projects_intraregional"] / all_years["population"] * 1e6)
    np.testing.assert_allclose(liguria.h2020_intra_median_italy, per.groupby("year")["v"].median().mean(),
                               rtol=1e-12)
    area = [c for c, a in MACRO_AREA.items() if a == MACRO_AREA["ITC3"]]
    np.testing.assert_allclose(liguria.h2020_intra_median_group,
                               per[per["nuts2"].isin(area)].groupby("year")["v"].median().mean(), rtol=1e-12)
    assert liguria.coverage_region == own["coverage_region_2021sample"].iloc[0]


def test_rd_numbers_come_from_the_data(liguria: rp.RegionProfile) -> None:
    rd = load_rd_panel()
    row = rd[(rd["nuts2"] == "ITC3") & (rd["year"] == liguria.rd_year)].iloc[0]
    np.testing.assert_allclose(liguria.bes_personnel, row["rd_personnel_bes_fte"] / row["population"] * 1000,
                               rtol=1e-12)
    it = rd[(rd["nuts2"].isin(ITALIAN_NUTS2)) & (rd["year"] == liguria.rd_year)]
    np.testing.assert_allclose(liguria.bes_personnel_national,
                               (it["rd_personnel_bes_fte"] / it["population"] * 1000).median(), rtol=1e-12)


def test_policy_history_is_the_calendar(liguria: rp.RegionProfile) -> None:
    cal = load_cluster_policies()
    rows = cal[(cal["nuts2"] == "ITC3") & ~cal["kind"].isin(["interreg", "none_found"])]
    assert sorted(liguria.policies["policy_id"]) == sorted(rows["policy_id"])
    assert liguria.n_policies == len(rows)
    assert liguria.policies["source_url"].str.match(r"https?://").all()


def test_role_and_leave_one_out_match_the_headline_run(liguria: rp.RegionProfile) -> None:
    published_values = json.loads((ROOT / "results" / "italy-main.json").read_text())["values"]
    assert liguria.headline_role == "treated"
    assert "Liguria" in published_values["treated_regions"]
    np.testing.assert_allclose(liguria.headline_estimate, published_values["estimate"], rtol=1e-6)
    assert liguria.headline_without is not None and liguria.headline_without != liguria.headline_estimate
    assert set(liguria.roles["role"]) <= {"treated", "control", "dropped", "not in the design"}
    assert liguria.n_analyses == len(liguria.roles) > 0


def test_dropped_region_has_no_leave_one_out() -> None:
    lombardy = rp.region_profile("ITC4")
    assert lombardy.headline_role == "dropped"
    assert lombardy.headline_without is None
    assert "no pre-period" in lombardy.roles.set_index("run").loc["italy-main", "why"]


def test_region_outside_italy_degrades_gracefully(salzburg: rp.RegionProfile) -> None:
    assert salzburg.nuts2 == "AT32" and not salzburg.is_italian
    assert "H2020" in salzburg.unavailable and "policy calendar" in salzburg.unavailable
    assert salzburg.h2020.empty and salzburg.roles.empty and salzburg.h2020_intra_mean is None
    assert salzburg.bes_personnel is not None and salzburg.benchmark_group == "median of all regions"
    assert "S3-4AlpClusters" in salzburg.interreg_text
    assert "outside Italy" in salzburg.summary_en
    assert len(salzburg.data_frame()) > 0


def test_partners_of_an_italian_region_come_from_the_data() -> None:
    lombardy = rp.region_profile("ITC4", with_roles=False)
    rows = load_h2020_italy_partners()
    own = rows[rows["nuts2"] == "ITC4"]
    regions = own[(own["partner_level"] == "nuts2") & ~own["partner"].isin(["ITC4", "unplaced"])]
    countries = own[(own["partner_level"] == "country") & (own["partner"] != "IT")]
    top_region = regions.sort_values("projects").iloc[-1]
    top_country = countries.sort_values("projects").iloc[-1]
    assert lombardy.partners_available and lombardy.n_top_partner_regions == 1
    assert lombardy.top_partner_region == rp.ITALIAN_NUTS2[top_region["partner"]]
    assert lombardy.top_partner_region_projects == top_region["projects"]
    assert lombardy.top_partner_country == rp.country_name(top_country["partner"])
    assert lombardy.top_partner_country_projects == top_country["projects"]
    assert lombardy.n_partner_countries == len(countries)
    it = own.set_index(["partner_level", "partner"])["partner_participations"]
    assert lombardy.it_partners_total == it[("country", "IT")]
    assert lombardy.it_partners_placed == lombardy.it_partners_total - it[("nuts2", "unplaced")]
    assert 0 < lombardy.it_partners_placed_share < 1
    # The page's list: at most TOP_PARTNERS per level, largest first, the region itself and Italy left out.
    top = lombardy.partners
    for level in ("Italian region", "country"):
        projects = top.loc[top["level"] == level, "projects"]
        assert 0 < len(projects) <= rp.TOP_PARTNERS and projects.is_monotonic_decreasing
    assert not top["partner"].isin(["ITC4", "IT", "unplaced"]).any()
    assert lombardy.top_partner_region in lombardy.summary_en and lombardy.top_partner_country in lombardy.summary_en
    assert lombardy.top_partner_country_it in lombardy.summary_it
    assert f"{lombardy.top_partner_region_projects:,} projects" in lombardy.partners_text


def test_partner_ties_are_named_together_or_counted() -> None:
    def row(partner: str, level: str, projects: int) -> dict[str, object]:
        return {"nuts2": "ITC2", "partner_level": level, "partner": partner, "projects": projects,
                "projects_firm_institute": 0, "partner_participations": projects}

    rows = pd.DataFrame([row("ITH3", "nuts2", 2), row("ITI4", "nuts2", 2), row("ITH5", "nuts2", 1),
                         row("IT", "country", 5), *(row(c, "country", 1) for c in ("BE", "DE", "EL", "ES"))])
    values = rp.partner_values(rows, "ITC2")
    assert values["top_partner_region"] == "Veneto and Lazio" and values["top_partner_region_it"] == "Veneto e Lazio"
    assert values["n_top_partner_regions"] == 2 and values["top_partner_region_projects"] == 2
    # Four countries tie: no name is picked, the count is published instead.
    assert values["top_partner_country"] is None and values["n_top_partner_countries"] == 4
    assert values["it_partners_total"] == 5 and values["it_partners_placed"] == 5
    sentence = rp.partners_sentence({**values, "region": "Valle d'Aosta"})
    assert "Veneto and Lazio among the other Italian regions (2 projects each)" in sentence
    assert "equally from 4 countries abroad (1 project each)" in sentence
    assert rp.country_name("EL") == "Greece" and rp.country_name("UK", "it") == "Regno Unito"


def test_partners_outside_italy_are_unavailable(salzburg: rp.RegionProfile) -> None:
    assert not salzburg.partners_available and salzburg.partners.empty
    assert salzburg.top_partner_region is None and salzburg.it_partners_total is None
    assert "Italian regions only" in salzburg.partners_text
    assert "partners" in salzburg.unavailable


def test_partner_figure_has_both_panels_and_a_fallback() -> None:
    from clusterpolicy.report.interactive import interactive_html
    from clusterpolicy.report.region_figures import partners_plotly, partners_static

    top = rp.region_profile("ITC1", with_roles=False).partners
    fig = partners_plotly(top, region="Piemonte")
    assert [t.orientation for t in fig.data] == ["h", "h"]
    assert list(fig.data[1].y)[-1] == top.loc[top["level"] == "country", "name"].iloc[0]  # largest bar on top
    out = interactive_html(fig, partners_static(top, region="Piemonte"), run_id="test-region-profile",
                           name="partners", alt="Partners of Piemonte")
    assert 'alt="Partners of Piemonte"' in out and "plotly-graph-div" in out


def test_unknown_code_is_a_fix_it_message() -> None:
    with pytest.raises(UserInputError, match="not a NUTS2 region.*codes of that country: ITC1"):
        rp.region_profile("ITX9")


def test_csv_download_round_trips(liguria: rp.RegionProfile) -> None:
    from io import StringIO

    frame = pd.read_csv(StringIO(liguria.data_csv()))
    assert set(frame["indicator"]) == set(rp.H2020_SERIES) | set(rp.RD_SERIES)
    assert (frame["nuts2"] == "ITC3").all()


def test_overview_covers_every_region_on_a_distinct_tile() -> None:
    overview = rp.regions_overview()
    assert overview.n_regions == len(ITALIAN_NUTS2) == len(rp.TILE_GRID)
    assert len(set(rp.TILE_GRID.values())) == len(rp.TILE_GRID)
    assert overview.top_value >= overview.bottom_value
    with pytest.raises(UserInputError, match="indicator="):
        rp.regions_overview("nope")


# ---------------------------------------------------------------------------------------------------------------
# Manifest and book structure
def test_manifest_has_a_profile_run_per_italian_region() -> None:
    manifest = load_manifest(ROOT)
    profiles = {run.id: run for run in manifest.runs if run.template.name == "region_profile.md"}
    for code in ITALIAN_NUTS2:
        run = profiles[rp.profile_run_id(code)]
        assert run.parameters["nuts2"] == code and run.section == "Regions"
    assert manifest.runs[-1].section == "Regions", "the Regions part comes after the existing sections"


def test_regions_landing_page_opens_the_regions_part() -> None:
    toc = book.build_toc(ROOT, load_manifest(ROOT))
    part = next(p for p in toc["parts"] if p["caption"] == "Regions")
    files = [c["file"] for c in part["chapters"]]
    assert files[0] == "book/regions"
    assert all(f"book/runs/{rp.profile_run_id(c)}" in files for c in ITALIAN_NUTS2)
    text = (ROOT / "book" / "regions.md").read_text()
    for code in ITALIAN_NUTS2:
        assert f"runs/{rp.profile_run_id(code)}.ipynb" in text
    assert "regions.md" in (ROOT / "book" / "index.md").read_text()


# ---------------------------------------------------------------------------------------------------------------
# Offline interactive figures
def test_interactive_html_has_no_library_code_and_a_fallback(liguria: rp.RegionProfile) -> None:
    from clusterpolicy.report.interactive import interactive_html
    from clusterpolicy.report.region_figures import series_plotly, series_static

    out = interactive_html(series_plotly(liguria.rd, region="Liguria"), series_static(liguria.rd, region="Liguria"),
                           run_id="test-region-profile", name="rd", alt="R&D of Liguria")
    assert "plotly-graph-div" in out and 'alt="R&amp;D of Liguria"' in out
    assert "cdn.plot.ly" not in out and not re.search(r"<script[^>]+src=", out)
    assert "Plotly.newPlot" in out


def test_sphinx_extension_adds_the_local_script_only_where_needed() -> None:
    from clusterpolicy.sphinxext import plotly_offline

    class App:
        def __init__(self) -> None:
            self.added: list[str] = []

        def add_js_file(self, name: str) -> None:
            self.added.append(name)

    app = App()
    plotly_offline.add_script(app, "x", "page.html", {"body": "<p>no figure</p>"}, None)
    assert app.added == []
    plotly_offline.add_script(app, "x", "page.html", {"body": '<div class="plotly-graph-div"></div>'}, None)
    assert app.added == ["plotly.min.js"]
    assert plotly_offline.plotly_js_path().stat().st_size > 1_000_000


BUILT = sorted(HTML.rglob("*.html")) if HTML.exists() else []


@pytest.mark.skipif(not BUILT, reason="the book is not built (run `make book` first)")
def test_no_built_page_loads_a_remote_script() -> None:
    remote = re.compile(r"<script[^>]*\bsrc=[\"'](?:https?:)?//", re.IGNORECASE)
    offenders = [p.relative_to(HTML).as_posix() for p in BUILT
                 if "cdn.plot.ly" in (text := p.read_text(encoding="utf-8", errors="replace")) or remote.search(text)]
    assert offenders == []
    regions = HTML / "book" / "regions.html"
    if regions.exists():
        page = regions.read_text(encoding="utf-8")
        assert "plotly-graph-div" in page and "_static/plotly.min.js" in page
        assert (HTML / "_static" / "plotly.min.js").exists()


def test_profile_command_adds_runs_once(tmp_path: Path) -> None:
    import shutil

    from clusterpolicy.pipeline.profiles import add_profile_runs

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    before = (tmp_path / "notebooks" / "runs.yaml").read_text()
    assert add_profile_runs(tmp_path, ["itc4", "AT11"]) == ["region-itc4", "region-at11"]
    after = (tmp_path / "notebooks" / "runs.yaml").read_text()
    assert after.startswith(before.rstrip("\n")) and after.count("id: region-at11") == 1
    assert after.count("id: region-itc4") == 1
    add_profile_runs(tmp_path, ["AT11"])
    assert (tmp_path / "notebooks" / "runs.yaml").read_text() == after
    manifest = load_manifest(tmp_path)
    assert manifest.get("region-at11").parameters == {"nuts2": "AT11"}
    with pytest.raises(UserInputError, match="not NUTS2 codes.*XX99"):
        add_profile_runs(tmp_path, ["XX99"])


def test_pages_pasting_from_a_changed_run_are_rebuilt() -> None:
    from clusterpolicy.sphinxext.glue_dependencies import outdated_pasters, referenced_docs

    text = (ROOT / "book" / "regions.md").read_text()
    assert "book/runs/regions-overview" in referenced_docs(text, "book/regions")

    class Env:
        found_docs = {"book/regions", "book/runs/regions-overview", "book/index"}

        @staticmethod
        def doc2path(docname: str) -> str:
            return str(ROOT / f"{docname}.md")

    assert outdated_pasters(None, Env(), set(), {"book/runs/regions-overview"}, set()) == ["book/regions"]
    assert outdated_pasters(None, Env(), set(), set(), set()) == []


def test_treated_region_has_its_cohort_event_study(liguria: rp.RegionProfile) -> None:
    published_values = json.loads((ROOT / "results" / "italy-main.json").read_text())["values"]
    assert str(liguria.cohort_year) in published_values["cohort_years"]
    es = liguria.event_study
    assert not es.empty and (es["event_time"] >= 0).any()
    np.testing.assert_allclose(es["ci_high"] - es["estimate"], published_values["critical_value"] * es["se"],
                               rtol=1e-6)
    lazio = rp.region_profile("ITI4")
    assert lazio.headline_role == "control" and lazio.event_study.empty and lazio.cohort_year is None


@pytest.mark.parametrize(("role", "predicate"), [("treated", "la regione è trattata."),
                                                 ("not in the design", "la regione non è inclusa.")])
def test_italian_summary_agrees_in_number_and_places_the_negation(liguria: rp.RegionProfile, role: str,
                                                                  predicate: str) -> None:
    values = {**published(liguria), "headline_role": role, "n_policies": 1, "n_interreg": 1}
    _, italian = rp.summaries(values)
    assert "1 politica di tipo cluster" in italian and "1 partenariato Interreg" in italian
    assert italian.endswith(predicate) and "è non" not in italian
