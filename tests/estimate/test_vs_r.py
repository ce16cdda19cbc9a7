"""Estimators against R reference numbers (tests/data/reference/*/ATTRIBUTION.md: R 4.2.2, did 2.3.0, fixest 0.14.2,
did2s 1.2.1, didimputation 0.5.0; the R scripts beside the CSVs are the exact calls).

Tolerances (absolute, passed by keyword):
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.estimate import estimate
from clusterpolicy.estimate._panel import prepare_panel
from clusterpolicy.estimate.did import aggregate, att_gt
from clusterpolicy.estimate.twfe import fe_ols

#: Callaway-Sant'Anna: the same closed-form influence-function algebra as R; the only iterative step (the
#: propensity logit) converges far below this, so 1e-8 leaves room for R glm's own stopping rule (max seen 4e-11).
CS_ATOL = 1e-8
#: Linear fixed-effects regressions (TWFE, event study, Sun-Abraham, Wooldridge 14.1): exact linear algebra.
LINEAR_ATOL = 1e-8
#: Poisson FE: both sides iterate (fixest's IRLS stops at a relative deviance change of 1e-8); 1e-6 covers it.
POISSON_ATOL = 1e-6
#: Imputation / two-stage: R's first stage demeans by alternating projections (fixest tolerance 1e-6 relative),
#: so its estimates carry ~3e-9 error; 1e-4 is the suggested tolerance for these packages.
IMPUTATION_ATOL = 1e-4

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
CS_SPECS = {
    "nocov_dr_never": ((), "dr", "never"),
    "nocov_reg_never": ((), "reg", "never"),
    "nocov_ipw_never": ((), "ipw", "never"),
    "nocov_dr_notyet": ((), "dr", "notyet"),
    "lpop_dr_never": (("lpop",), "dr", "never"),
    "lpop_reg_never": (("lpop",), "reg", "never"),
    "lpop_ipw_never": (("lpop",), "ipw", "never"),
    "lpop_dr_notyet": (("lpop",), "dr", "notyet"),
}
MPDTA = dict(unit="countyreal", time="year", cohort="first.treat", outcome="lemp")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(REF / "did_mpdta" / "mpdta.csv")


@pytest.fixture(scope="module")
def cs_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "did_mpdta" / "did_mpdta_reference.csv")


@pytest.fixture(scope="module")
def fixest_data() -> pd.DataFrame:
    return pd.read_csv(REF / "fixest" / "mpdta_fixest.csv")


@pytest.fixture(scope="module")
def fixest_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "fixest" / "fixest_reference.csv")


def _event(frame: pd.DataFrame) -> pd.Series:
    return frame["term"].str.extract(r"::(-?\d+)")[0].astype(int)


# ------------------------------------------------------------------------------------- Callaway-Sant'Anna
def test_reference_covers_all_specs(cs_ref: pd.DataFrame) -> None:
    assert set(cs_ref["spec"]) == set(CS_SPECS)
    assert len(cs_ref) == 240


@pytest.mark.parametrize("spec", sorted(CS_SPECS))
def test_cs_every_row_matches_r_did(spec: str, mpdta: pd.DataFrame, cs_ref: pd.DataFrame) -> None:
    covariates, method, control = CS_SPECS[spec]
    fit = att_gt(prepare_panel(mpdta, **MPDTA, covariates=covariates), method=method, control=control)
    ref = cs_ref[cs_ref["spec"] == spec]
    matched = 0
    gt_ref = ref[ref["level"] == "gt"].sort_values(["group", "time"])
    gt = fit.table().sort_values(["group", "time"])
    assert_allclose(gt[["group", "time"]].to_numpy(), gt_ref[["group", "time"]].to_numpy())
    assert_allclose(gt["estimate"], gt_ref["att"], atol=CS_ATOL, rtol=0)
    assert_allclose(gt["se"], gt_ref["se"], atol=CS_ATOL, rtol=0)
    matched += len(gt_ref)
    keys = {"dynamic": "event", "group": "group", "calendar": "time"}
    for kind in ("simple", "dynamic", "group", "calendar"):
        agg = aggregate(fit, kind)
        row = ref[ref["level"] == f"{kind}_overall"].iloc[0]
        assert_allclose([agg.overall, agg.overall_se], [row["att"], row["se"]], atol=CS_ATOL, rtol=0)
        matched += 1
        if kind != "simple":
            rows = ref[ref["level"] == kind].sort_values(keys[kind])
            table = agg.table.sort_values("key")
            assert_allclose(table["key"].to_numpy(), rows[keys[kind]].to_numpy())
            assert_allclose(table["estimate"], rows["att"], atol=CS_ATOL, rtol=0)
            assert_allclose(table["se"], rows["se"], atol=CS_ATOL, rtol=0)
            matched += len(rows)
    assert matched == len(ref)  # every reference row of this specification was compared


def test_cs_simple_att_headline(mpdta: pd.DataFrame) -> None:
    res = estimate(mpdta, estimator="cs", **MPDTA)
    assert_allclose([res.estimate, res.se], [-0.039951, 0.012034], atol=5e-7, rtol=0)
    assert res.group_time is not None and len(res.group_time) == 12
    assert res.details["dynamic_overall"]["estimate"] == pytest.approx(-0.0772398214573161, abs=CS_ATOL)


def test_cs_matches_csdid_package(mpdta: pd.DataFrame) -> None:
    """Cross-check with the Python port csdid 0.4.3 (an independent implementation)."""
    from csdid.att_gt import ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", data=mpdta,
                      control_group=["notyettreated"])
        model.fit(est_method="dr", bstrap=False)
    ours = att_gt(prepare_panel(mpdta, **MPDTA), control="notyet").table()
    theirs = pd.DataFrame({"group": model.results["group"], "time": model.results["year"],
                           "att": model.results["att"], "se": model.results["se"]})
    merged = ours.merge(theirs, on=["group", "time"])
    assert len(merged) == len(ours) == 12
    assert_allclose(merged["estimate"], merged["att"], atol=CS_ATOL, rtol=0)
    assert_allclose(merged["se_x"], merged["se_y"], atol=CS_ATOL, rtol=0)


# --------------------------------------------------------------------------------------------- fixest
def test_twfe_static_matches_fixest(fixest_data: pd.DataFrame, fixest_ref: pd.DataFrame) -> None:
    ref = fixest_ref[(fixest_ref["model"] == "twfe_static") & (fixest_ref["vcov"] == "cluster_countyreal")].iloc[0]
    res = estimate(fixest_data, estimator="twfe", **MPDTA)
    assert_allclose([res.estimate, res.se, res.p_value], [ref["estimate"], ref["se"], ref["pvalue"]],
                    atol=LINEAR_ATOL, rtol=0)
    assert res.n_obs == ref["nobs"]


def test_twfe_static_iid_matches_fixest(fixest_data: pd.DataFrame, fixest_ref: pd.DataFrame) -> None:
    ref = fixest_ref[(fixest_ref["model"] == "twfe_static") & (fixest_ref["vcov"] == "iid")].iloc[0]
    fit = fe_ols(fixest_data, unit="countyreal", time="year", outcome="lemp", regressors=["treat_post"], vcov="iid")
    assert_allclose([fit.params["treat_post"], fit.se["treat_post"]], [ref["estimate"], ref["se"]],
                    atol=LINEAR_ATOL, rtol=0)


def test_twfe_event_study_matches_fixest(fixest_data: pd.DataFrame, fixest_ref: pd.DataFrame) -> None:
    ref = fixest_ref[fixest_ref["model"] == "twfe_event_study"].assign(event_time=_event)
    res = estimate(fixest_data, estimator="twfe_es", **MPDTA)
    merged = ref.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ref) == len(res.event_study) == 7
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=LINEAR_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=LINEAR_ATOL, rtol=0)


def test_sun_abraham_matches_fixest(fixest_data: pd.DataFrame, fixest_ref: pd.DataFrame) -> None:
    res = estimate(fixest_data, estimator="sa", **MPDTA)
    att = fixest_ref[fixest_ref["model"] == "sunab_att"].iloc[0]
    assert_allclose([res.estimate, res.se, res.p_value], [att["estimate"], att["se"], att["pvalue"]],
                    atol=LINEAR_ATOL, rtol=0)
    assert_allclose([res.estimate, res.se], [-0.0399513, 0.0117963], atol=5e-8, rtol=0)
    ev = fixest_ref[fixest_ref["model"] == "sunab_event"].assign(event_time=_event)
    merged = ev.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ev) == 7
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=LINEAR_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=LINEAR_ATOL, rtol=0)
    coh = fixest_ref[fixest_ref["model"] == "sunab_cohort"]
    ours = pd.DataFrame(res.details["cohort"])
    assert_allclose(ours["estimate"], coh["estimate"], atol=LINEAR_ATOL, rtol=0)
    assert_allclose(ours["se"], coh["se"], atol=LINEAR_ATOL, rtol=0)
    full = fixest_ref[fixest_ref["model"] == "sunab_full"]
    full = full.assign(event_time=full["term"].str.extract(r"year::(-?\d+)")[0].astype(int),
                       group=full["term"].str.extract(r"cohort::(\d+)")[0].astype(int))
    cells = res.group_time.assign(event_time=res.group_time["time"] - res.group_time["group"])
    merged = full.merge(cells, on=["group", "event_time"], suffixes=("_r", ""))
    assert len(merged) == len(full) == 12
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=LINEAR_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=LINEAR_ATOL, rtol=0)


def test_poisson_matches_fixest(fixest_data: pd.DataFrame, fixest_ref: pd.DataFrame) -> None:
    res = estimate(fixest_data, estimator="poisson", unit="countyreal", time="year", cohort="first.treat",
                   outcome="emp")
    ref = fixest_ref[fixest_ref["model"] == "fepois_mpdta_static"].iloc[0]
    assert_allclose([res.estimate, res.se], [ref["estimate"], ref["se"]], atol=POISSON_ATOL, rtol=0)
    ev = fixest_ref[fixest_ref["model"] == "fepois_mpdta_event"].assign(event_time=_event)
    merged = ev.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ev) == 7
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=POISSON_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=POISSON_ATOL, rtol=0)


# -------------------------------------------------------------------------------- imputation / two-stage
@pytest.fixture(scope="module")
def imp_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "did2s_imputation" / "did2s_imputation_reference.csv")


def test_imputation_matches_didimputation(fixest_data: pd.DataFrame, imp_ref: pd.DataFrame) -> None:
    res = estimate(fixest_data, estimator="imputation", **MPDTA, pretrends=[-3, -2, -1])
    static = imp_ref[imp_ref["model"] == "didimputation_static"].iloc[0]
    assert_allclose([res.estimate, res.se], [static["estimate"], static["se"]], atol=IMPUTATION_ATOL, rtol=0)
    ev = imp_ref[imp_ref["model"] == "didimputation_event"].assign(event_time=lambda f: f["term"].astype(int))
    merged = ev.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ev) == 7
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=IMPUTATION_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=IMPUTATION_ATOL, rtol=0)


def test_did2s_matches_r(fixest_data: pd.DataFrame, imp_ref: pd.DataFrame) -> None:
    res = estimate(fixest_data, estimator="did2s", **MPDTA)
    static = imp_ref[imp_ref["model"] == "did2s_static"].iloc[0]
    assert_allclose([res.estimate, res.se], [static["estimate"], static["se"]], atol=IMPUTATION_ATOL, rtol=0)
    ev = imp_ref[imp_ref["model"] == "did2s_event"].assign(event_time=_event)
    merged = ev.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ev) == 7
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=IMPUTATION_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=IMPUTATION_ATOL, rtol=0)


def test_did2s_few_clusters_matches_r() -> None:
    data = pd.read_csv(REF / "did2s_imputation" / "fewclusters_panel.csv")
    ref = pd.read_csv(REF / "did2s_imputation" / "did2s_fewclusters_reference.csv")
    res = estimate(data, estimator="did2s", unit="firm", time="year", cohort="first_treat", outcome="y",
                   cluster="cluster")
    assert not any("treated in every" in w for w in res.warnings)
    static = ref[ref["model"] == "did2s_static_fewclusters"].iloc[0]
    assert_allclose([res.estimate, res.se], [static["estimate"], static["se"]], atol=IMPUTATION_ATOL, rtol=0)
    ev = ref[ref["model"] == "did2s_event_fewclusters"].assign(event_time=_event)
    merged = ev.merge(res.event_study, on="event_time", suffixes=("_r", ""))
    assert len(merged) == len(ev) == 9
    assert_allclose(merged["estimate"], merged["estimate_r"], atol=IMPUTATION_ATOL, rtol=0)
    assert_allclose(merged["se"], merged["se_r"], atol=IMPUTATION_ATOL, rtol=0)


# ---------------------------------------------------------------------------------- Wooldridge Example 14.1
@pytest.fixture(scope="module")
def jtrain() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(REF / "jtrain" / "jtrain.csv"), pd.read_csv(REF / "jtrain" / "jtrain_reference.csv")


@pytest.mark.parametrize(("vcov", "model", "ref_vcov"), [
    ("iid", "feols_twfe", "iid"),
    ("cluster", "feols_twfe", "cluster_fcode"),
])
def test_jtrain_example_14_1(jtrain: tuple[pd.DataFrame, pd.DataFrame], vcov: str, model: str,
                             ref_vcov: str) -> None:
    data, ref = jtrain
    fit = fe_ols(data, unit="fcode", time="year", outcome="lscrap", regressors=["grant", "grant_1"], vcov=vcov)
    rows = ref[(ref["model"] == model) & (ref["vcov"] == ref_vcov)].set_index("term")
    assert fit.n_obs == 162
    assert_allclose(fit.params[["grant", "grant_1"]], rows.loc[["grant", "grant_1"], "estimate"],
                    atol=LINEAR_ATOL, rtol=0)
    assert_allclose(fit.se[["grant", "grant_1"]], rows.loc[["grant", "grant_1"], "se"], atol=LINEAR_ATOL, rtol=0)
    if vcov == "iid":  # the textbook numbers
        assert_allclose(fit.params[["grant", "grant_1"]], [-0.252315, -0.421590], atol=1e-6, rtol=0)
        assert_allclose(fit.se[["grant", "grant_1"]], [0.150629, 0.210200], atol=1e-6, rtol=0)


def test_jtrain_poisson_matches_fixest(jtrain: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from clusterpolicy.estimate.counts import _fepois

    data, ref = jtrain
    rows = ref[ref["model"] == "fepois_scrap_twfe"].set_index("term")
    fit = _fepois("scrap ~ grant + grant_1 | fcode + year", data.assign(cl=data["fcode"]))
    assert_allclose(fit.coef()[["grant", "grant_1"]], rows.loc[["grant", "grant_1"], "estimate"],
                    atol=POISSON_ATOL, rtol=0)
    assert_allclose(fit.se()[["grant", "grant_1"]], rows.loc[["grant", "grant_1"], "se"], atol=POISSON_ATOL, rtol=0)
