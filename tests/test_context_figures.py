"""Context, data, synthetic-control, ClusteriX and Alpine-benchmark helpers (report/context_figures.py).

Small hand-built frames carry known answers; a few tests read the committed policy files (they are part of the
project). Panels built with numpy here are SIMULATED.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from clusterpolicy.errors import UserInputError  # noqa: E402
from clusterpolicy.report import context_figures as cf  # noqa: E402
from clusterpolicy.study import alpine, clusterix  # noqa: E402


# ------------------------------------------------------------------------------------------------ context and data
def test_policy_timeline_figure_draws_every_region_and_kind():
    """The figure draws the frame it is given (study.context.timeline_frame): one tick per region, one legend
    entry per kind present, confidence by fill, Interreg as bars."""
    timeline = pd.DataFrame([
        {"nuts2": "AA11", "label": "A (AA11)", "y": 2, "kind": "miur_district", "start_year": 2003,
         "end_year": pd.NA, "confidence": "high"},
        {"nuts2": "AA11", "label": "A (AA11)", "y": 2, "kind": "regional_poles_2007_13", "start_year": 2009,
         "end_year": pd.NA, "confidence": "low"},
        {"nuts2": "AA11", "label": "A (AA11)", "y": 2, "kind": "regional_poles_2007_13", "start_year": 2009,
         "end_year": pd.NA, "confidence": "medium"},
        {"nuts2": "BB11", "label": "B (BB11)", "y": 1, "kind": "interreg", "start_year": 2016, "end_year": 2019,
         "confidence": "high"},
        {"nuts2": "BB11", "label": "B (BB11)", "y": 1, "kind": "s3_law_recognition", "start_year": pd.NA,
         "end_year": pd.NA, "confidence": "medium"},
        {"nuts2": "CC11", "label": "C (CC11)", "y": 0, "kind": "none_found", "start_year": pd.NA,
         "end_year": pd.NA, "confidence": "low"},
    ])
    fig = cf.policy_timeline_figure(timeline, national_call_year=2012,
                                    kind_labels={"miur_district": "District", "interreg": "Interreg"}, title="T")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C (CC11)", "B (BB11)", "A (AA11)"]
    texts = {t.get_text() for t in ax.texts}
    assert {"none found", "undated"} <= texts
    assert len(ax.patches) == 1 and ax.patches[0].get_width() == 4  # Interreg bar 2016-2019
    fills = sorted(line.get_fillstyle() for line in ax.lines if list(line.get_xdata()) == [2009])
    assert fills == ["left", "none"]
    stacked = sorted(float(line.get_ydata()[0]) for line in ax.lines if list(line.get_xdata()) == [2009])
    assert stacked[0] == 2 and stacked[1] > 2  # two rows in one year do not hide each other
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"District", "Interreg", "regional_poles_2007_13", "National cluster call (all regions)",
            "high confidence", "low confidence"} <= legend
    assert ax.get_title(loc="left") == "T"
    plt.close(fig)


def test_start_year_and_macro_area_figures_draw_their_frames():
    starts = pd.DataFrame({"year": [2014, 2015, 2016], "complete": [1, 1, 0], "projects": [10, 100, 30],
                           "coparticipation_projects": [5, 60, 20], "participations": [20, 200, 60],
                           "coverage": [0.9, 0.95, 0.8]})
    fig = cf.start_year_figure(starts, title="S")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [10, 100, 30, 5, 60, 20]
    assert list(fig.axes[1].lines[0].get_ydata()) == pytest.approx([90, 95, 80])
    plt.close(fig)
    macro = pd.DataFrame({"macro_area": ["south"] * 3 + ["south"] * 2, "label": ["South"] * 5,
                          "series": ["bes_personnel"] * 3 + ["h2020_per_million"] * 2,
                          "year": [2003, 2004, 2006, 2015, 2016], "value": [10, 12, 15, 3.0, 4.0],
                          "index": [100, 120, 150, 100, 133.3]})
    fig = cf.macro_area_figure(macro, title="M", base_year=2003)
    left = fig.axes[0].lines[0].get_ydata()
    assert np.isnan(left[2]) and left[1] == 120  # the missing year 2005 is a gap, not interpolated
    assert list(fig.axes[1].lines[0].get_ydata()) == [3.0, 4.0]
    plt.close(fig)


def test_link_table_html_escapes_cells_and_links_sources():
    frame = pd.DataFrame({"fact": ["a <b>"], "source": ["x"], "url": ["https://www.example.org/p?q=1&r=2"]})
    out = cf.link_table_html(frame)
    assert "a &lt;b&gt;" in out
    assert '<a href="https://www.example.org/p?q=1&amp;r=2">example.org</a>' in out
    assert "<th>url</th>" not in out


def test_context_figures_hold_no_study_rules():
    """Preparation moved to clusterpolicy.study.context / data_overview: report keeps only drawing."""
    for name in ("timeline_rows", "interreg_spans", "programme_table", "literature_table", "study_headline",
                 "leading_quantity", "cite_key", "date_text", "numbers_in"):
        assert not hasattr(cf, name), name


# ------------------------------------------------------------------------------------------------ synthetic control
def _rd_frame(seed: int = 0) -> pd.DataFrame:
    """SIMULATED Eurostat-like panel: 12 regions (4 Italian never treated, 2 Italian treated, 6 foreign)."""
    rng = np.random.default_rng(seed)
    regions = ["ITX1", "ITX2", "ITX3", "ITX4", "ITT1", "ITT2", "AA11", "AA12", "BB11", "BB12", "CC11", "CC12"]
    rows = []
    for r in regions:
        level = rng.uniform(100, 1000)
        for y in range(2005, 2016):
            rows.append({"nuts2": r, "country": r[:2], "year": y,
                         "out": level * math.exp(0.03 * (y - 2005) + rng.normal(0, 0.05))})
    df = pd.DataFrame(rows)
    # one region misses a year: it must be dropped from a balanced panel
    return df[~((df["nuts2"] == "CC12") & (df["year"] == 2008))].reset_index(drop=True)


def test_poisson_mde_single_unit_matches_formula():
    got = clusterix.poisson_mde_single_unit(100, n_pre=1, n_post=1)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert_allclose(got, math.expm1(z * math.sqrt(0.02)), rtol=1e-12)
    assert clusterix.poisson_mde_single_unit(1000, n_pre=2, n_post=4) < clusterix.poisson_mde_single_unit(10, n_pre=2, n_post=4)
    with pytest.raises(UserInputError, match="mean_count > 0"):
        clusterix.poisson_mde_single_unit(0, n_pre=2, n_post=2)


def test_yoy_log_sd():
    assert_allclose(clusterix.yoy_log_sd([100, 110, 121, 133.1]), 0.0, atol=1e-12)
    assert math.isnan(clusterix.yoy_log_sd([1, 2]))
    v = np.array([10.0, 20.0, 10.0, 20.0])
    assert_allclose(clusterix.yoy_log_sd(v), np.std(np.diff(np.log(v)), ddof=1), rtol=1e-12)


def test_country_panel_cohorts_and_errors():
    countries = pd.DataFrame({
        "country": ["AT", "AT", "DE", "DE", "US", "US"], "country_group": ["eu15", "eu15", "eu15", "eu15", "tc", "tc"],
        "year": [2015, 2021, 2015, 2021, 2015, 2021], "year_complete": [1, 0, 1, 0, 1, 0],
        "coparticipation_projects_domestic": [5, 1, 9, 2, 3, 1]})
    p = clusterix.country_panel(countries, first_year=2015, last_year=2021, treated={"AT": 2017})
    assert p[["country", "year", "cohort"]].to_dict("records") == [
        {"country": "AT", "year": 2015, "cohort": 2017}, {"country": "DE", "year": 2015, "cohort": 0}]
    with pytest.raises(UserInputError, match=r"treated countries \['XX'\]"):
        clusterix.country_panel(countries, first_year=2015, last_year=2021, treated={"XX": 2017})


def _regions_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "nuts2": ["AB11", "AB12", "AB21", "AB11", "AB12", "AB21", "ZZ11", "ZZ11"],
        "country": ["AB"] * 6 + ["ZZ"] * 2,
        "year": [2015, 2015, 2015, 2017, 2017, 2017, 2015, 2017],
        "rd_personnel_total_fte": [10.0, 30.0, 60.0, 10.0, np.nan, 70.0, 5.0, 6.0],
        "population": [1e3, 2e3, 3e3, 1e3, 2e3, 3e3, 1e3, 1e3],
        "gerd_bes_mio_eur": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 1.0],
        "gdp_mio_eur": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 50.0, 50.0],
        "researchers_bes_fte": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 1.0],
    })


def test_aggregate_regions_requires_every_member():
    agg = alpine.aggregate_regions(_regions_frame(), "AB1").set_index("year")
    assert agg.loc[2015, "rd_personnel_total_fte"] == 40.0
    assert math.isnan(agg.loc[2017, "rd_personnel_total_fte"])  # AB12 missing in 2017
    assert agg.loc[2017, "population"] == 3e3
    with pytest.raises(UserInputError, match="no NUTS2 region starts with 'QQ'"):
        alpine.aggregate_regions(_regions_frame(), "QQ")


def test_national_share_uses_latest_complete_year():
    share, year = clusterix.national_share(_regions_frame(), "AB1")
    assert year == 2015 and share == pytest.approx(0.4, rel=1e-12)
    share, year = clusterix.national_share(_regions_frame(), "AB21")
    assert year == 2017 and share == pytest.approx(70 / 80, rel=1e-12)


def test_alpine_indicators_and_relative_to_median():
    long = alpine.alpine_indicators(_regions_frame(), ["AB11", "AB21", "ZZ11", "AB1"], first_year=2015, last_year=2015)
    wide = long.pivot(index="nuts2", columns="indicator", values="value")
    assert_allclose(wide.loc["AB11", "bes_rd_intensity"], 1.0, rtol=1e-12)
    assert_allclose(wide.loc["AB1", "rd_personnel_per_1000"], 1e3 * 40 / 3e3, rtol=1e-12)
    rel = alpine.relative_to_median(long, min_regions=3)
    per = rel[rel["indicator"] == "rd_personnel_per_1000"].set_index("nuts2")
    med = float(np.median(per["value"]))
    assert_allclose(per["relative"].to_numpy(), 100 * per["value"].to_numpy() / med, rtol=1e-12)
    assert alpine.relative_to_median(long, min_regions=5)["median"].isna().all()


# ------------------------------------------------------------------------------------------------ Monte Carlo
def test_mc_coverage_figure_labels_simulated_data():
    from clusterpolicy.study.monte_carlo import MC_COLUMNS

    good = pd.DataFrame({c: [0.0] for c in MC_COLUMNS}).assign(design="region", estimator="cs", data="SIMULATED")
    fig = cf.mc_coverage_figure(good.assign(coverage_95=0.9, coverage_mcse=0.01), title="SIMULATION")
    assert fig.axes[0].get_xlabel().endswith("(SIMULATED data)")

