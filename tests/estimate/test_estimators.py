"""Estimator behaviour: recovery of a known (simulated) effect, cross-checks between independent implementations,
edge cases and error messages. All panels here are simulated."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import ClusterPolicyWarning, DataValidationError, EstimationError, UserInputError
from clusterpolicy.estimate import ESTIMATORS, EstimationResult, estimate

#: Two exact implementations of the same linear algebra (linearmodels vs pyfixest; GLM vs PPML).
CROSS_ATOL = 1e-8
#: Poisson fits iterate on both sides (IRLS tolerances ~1e-10).
POISSON_CROSS_ATOL = 1e-6
KW = dict(unit="region", time="year", cohort="cohort", outcome="y")


@pytest.fixture(scope="module")
def hetero_panel():
    """Simulated: strongly heterogeneous, growing effects and few never-treated regions, where TWFE is biased."""
    return simulate_region_panel(n_regions=400, dynamic=0.3, heterogeneity=1.0, treated_share=0.8, seed=1)


@pytest.fixture(scope="module")
def small_panel():
    return simulate_region_panel(n_regions=30, seed=7)


def test_estimators_registry_names() -> None:
    assert {"twfe", "cs", "sa", "imputation", "poisson", "etwfe", "negbin", "twfe_es"} <= set(ESTIMATORS)
    for spec in ESTIMATORS.values():
        assert callable(spec.load())
        assert spec.load().__doc__ and "References" in spec.load().__doc__ or "Reference" in spec.load().__doc__


def test_cs_recovers_true_att_while_twfe_is_biased(hetero_panel) -> None:
    truth = hetero_panel.true_att()
    cs = estimate(hetero_panel.data, estimator="cs", **KW)
    tw = estimate(hetero_panel.data, estimator="twfe", **KW)
    assert abs(cs.estimate - truth) < 3 * cs.se
    # TWFE puts negative weight on late, large effects: biased towards zero by several SEs and >15 %
    assert (truth - tw.estimate) > 3 * tw.se
    assert (truth - tw.estimate) / truth > 0.15


@pytest.mark.parametrize("name", ["sa", "imputation", "did2s"])
def test_heterogeneity_robust_estimators_recover_truth(hetero_panel, name: str) -> None:
    truth = hetero_panel.true_att()
    res = estimate(hetero_panel.data, estimator=name, **KW)
    assert abs(res.estimate - truth) < 3 * res.se


def test_cs_event_study_tracks_truth(hetero_panel) -> None:
    res = estimate(hetero_panel.data, estimator="cs", **KW)
    truth = hetero_panel.true_event_study().rename(columns={"att": "true"})
    merged = res.event_study.merge(truth, on="event_time")
    post = merged[merged["event_time"].between(0, 5)]
    assert len(post) == 6
    assert (np.abs(post["estimate"] - post["true"]) < 4 * post["se"]).all()


def test_twfe_matches_pyfixest(small_panel) -> None:
    import pyfixest as pf

    res = estimate(small_panel.data, estimator="twfe", **KW)
    data = small_panel.data.assign(d=small_panel.data["post"].astype(float))
    fit = pf.feols("y ~ d | region + year", data=data, vcov={"CRV1": "region"})
    assert_allclose([res.estimate, res.se], [fit.coef()["d"], fit.se()["d"]], atol=CROSS_ATOL, rtol=0)


def test_twfe_ssc_conventions_differ_as_documented(small_panel) -> None:
    fx = estimate(small_panel.data, estimator="twfe", **KW, ssc="fixest")
    lm = estimate(small_panel.data, estimator="twfe", **KW, ssc="linearmodels")
    assert fx.estimate == pytest.approx(lm.estimate, abs=1e-12)
    n, g, t = len(small_panel.data), 30, small_panel.data["year"].nunique()
    raw_sq = fx.se**2 / ((n - 1) / (n - (1 + t)) * g / (g - 1))
    assert lm.se**2 == pytest.approx(raw_sq * n / (n - 1 - g - t + 1), rel=1e-10)


def test_poisson_matches_statsmodels_glm_with_dummies(small_panel) -> None:
    import statsmodels.api as sm

    data = small_panel.data
    res = estimate(data, estimator="poisson", unit="region", time="year", cohort="cohort", outcome="collaborations",
                   event_study=False)
    x = pd.concat([data["post"].astype(float).rename("d"),
                   pd.get_dummies(data["region"], dtype=float),
                   pd.get_dummies(data["year"], prefix="t", drop_first=True, dtype=float)], axis=1)
    glm = sm.GLM(data["collaborations"].to_numpy(), x, family=sm.families.Poisson()).fit(tol=1e-12)
    assert res.estimate == pytest.approx(float(glm.params["d"]), abs=POISSON_CROSS_ATOL)
    # cluster-robust: statsmodels' sandwich with fixest's factor G/(G-1)*(n-1)/(n-K), K = d + year dummies
    n, g, t = len(data), 30, data["year"].nunique()
    glm_cl = sm.GLM(data["collaborations"].to_numpy(), x, family=sm.families.Poisson()).fit(
        tol=1e-12, cov_type="cluster", cov_kwds={"groups": pd.factorize(data["region"])[0], "use_correction": False})
    factor = g / (g - 1) * (n - 1) / (n - (1 + t))
    assert res.se == pytest.approx(float(glm_cl.bse["d"]) * np.sqrt(factor), abs=POISSON_CROSS_ATOL)


def test_poisson_recovers_log_rate_ratio() -> None:
    sim = simulate_region_panel(n_regions=400, dynamic=0.0, heterogeneity=0.0, effect=0.2, seed=5)
    res = estimate(sim.data, estimator="poisson", unit="region", time="year", cohort="cohort",
                   outcome="collaborations", event_study=False)
    assert abs(res.estimate - 0.2) < 3 * res.se
    assert res.details["rate_ratio"] == pytest.approx(np.exp(res.estimate))
    assert 0.5 < res.details["pearson_dispersion"] < 1.5  # simulated counts are Poisson


def test_etwfe_log_rate_ratios_equal_poisson_unit_fe(small_panel) -> None:
    """Wooldridge (2023): pooled Poisson with cohort dummies = Poisson with unit FE for the cell effects."""
    import pyfixest as pf

    data = small_panel.data
    res = estimate(data, estimator="etwfe", unit="region", time="year", cohort="cohort", outcome="collaborations")
    cells = pd.DataFrame(res.details["cells"])
    dummies = {f"c{int(r.group)}_{int(r.time)}": ((data["cohort"] == r.group) & (data["year"] == r.time)).astype(float)
               for r in cells.itertuples()}
    frame = pd.concat([data, pd.DataFrame(dummies)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.fepois("collaborations ~ " + " + ".join(dummies) + " | region + year", data=frame, iwls_tol=1e-12)
    assert_allclose(cells["log_rate_ratio"].to_numpy(), fit.coef()[list(dummies)].to_numpy(),
                    atol=POISSON_CROSS_ATOL, rtol=0)
    post = cells[cells["time"] >= cells["group"]]
    n_cell = [int(((data["cohort"] == r.group) & (data["year"] == r.time)).sum()) for r in post.itertuples()]
    assert res.estimate == pytest.approx(np.average(post["estimate"], weights=n_cell), abs=1e-12)
    assert res.group_time is not None and len(res.group_time) == len(cells)


def test_etwfe_recovers_level_effect() -> None:
    sim = simulate_region_panel(n_regions=400, seed=11)
    res = estimate(sim.data, estimator="etwfe", unit="region", time="year", cohort="cohort", outcome="collaborations")
    cells = pd.DataFrame(res.details["cells"])
    # true level effect of each cell: E[mu0] * (exp(tau) - 1), with the model's own counterfactual mean
    truth = cells.merge(sim.truth, on=["group", "time"])
    true_level = (truth["mean_untreated"] * np.expm1(truth["log_rr"])).to_numpy()
    z = (truth["estimate"].to_numpy() - true_level) / truth["se"].to_numpy()
    assert np.mean(np.abs(z) < 3) > 0.9
    assert res.details["proportional_effect"] > 0


def test_negbin_reports_overdispersion() -> None:
    rng = np.random.default_rng(3)
    sim = simulate_region_panel(n_regions=60, seed=3)
    data = sim.data.copy()
    mu = data["collaborations"].to_numpy() + 1.0
    data["overdispersed"] = rng.negative_binomial(n=2.0, p=2.0 / (2.0 + mu))  # variance mu + mu^2 / 2
    with pytest.warns(ClusterPolicyWarning, match="overdispersed"):
        res = estimate(data, estimator="negbin", unit="region", time="year", cohort="cohort", outcome="overdispersed")
    assert res.details["alpha"] > 0.1
    assert res.details["lr_pvalue_alpha0"] < 0.01
    assert res.details["pearson_dispersion_poisson"] > 1.5


def test_did2s_drops_units_treated_from_first_period(small_panel) -> None:
    """pyfixest 0.60's did2s fails on always-treated units; R keeps running and drops their rows (Y(0) cannot be
    imputed). We do the same and warn."""
    data = small_panel.data.copy()
    first = data["year"].min()
    always = data["region"].isin(["R01", "R02"])
    data.loc[always, "cohort"] = first
    with pytest.warns(ClusterPolicyWarning, match="treated in every observed period"):
        res = estimate(data, estimator="did2s", **KW)
    without = estimate(data[~always], estimator="did2s", **KW)
    assert res.estimate == pytest.approx(without.estimate, abs=1e-10)
    assert res.se == pytest.approx(without.se, abs=1e-10)
    with pytest.warns(ClusterPolicyWarning):
        imp = estimate(data, estimator="imputation", **KW)
    assert imp.estimate == pytest.approx(res.estimate, abs=1e-10)


def test_cs_drops_first_period_cohort_with_warning(small_panel) -> None:
    data = small_panel.data.copy()
    data.loc[data["region"] == "R03", "cohort"] = data["year"].min()
    with pytest.warns(ClusterPolicyWarning, match="already treated in the first period"):
        res = estimate(data, estimator="cs", **KW)
    assert any("first period" in w for w in res.warnings)


def test_cs_notyet_without_never_treated() -> None:
    sim = simulate_region_panel(n_regions=40, treated_share=1.0, seed=2)
    with pytest.raises(EstimationError, match="no never-treated units.*notyet"):
        estimate(sim.data, estimator="cs", **KW, control="never")
    with pytest.warns(ClusterPolicyWarning, match="no never-treated"):
        res = estimate(sim.data, estimator="cs", **KW, control="notyet")
    assert int(res.group_time["group"].max()) < int(sim.data["cohort"].max())


def test_sa_without_never_treated_uses_last_cohort() -> None:
    sim = simulate_region_panel(n_regions=40, treated_share=1.0, seed=2)
    with pytest.warns(ClusterPolicyWarning, match="comparison group"):
        res = estimate(sim.data, estimator="sa", **KW)
    assert np.isfinite(res.estimate) and res.se > 0


def test_caller_frame_not_mutated(small_panel) -> None:
    data = small_panel.data.copy()
    before = data.copy()
    for name in ("twfe", "cs", "sa", "imputation"):
        estimate(data, estimator=name, **KW)
    pd.testing.assert_frame_equal(data, before)


def test_result_is_deterministic_and_serialisable(small_panel) -> None:
    a = estimate(small_panel.data, estimator="cs", **KW).to_dict()
    b = estimate(small_panel.data, estimator="cs", **KW).to_dict()
    assert a == b
    assert set(a) >= {"estimator", "outcome", "overall", "event_study", "group_time", "n_obs", "n_units", "warnings"}
    assert a["group_time"] and {"group", "time", "estimate", "se"} == set(a["group_time"][0])


def test_twfe_event_study_result(small_panel) -> None:
    res = estimate(small_panel.data, estimator="twfe_es", **KW)
    assert isinstance(res, EstimationResult)
    assert -1 not in set(res.event_study["event_time"])
    post = res.event_study[res.event_study["event_time"] >= 0]
    assert res.estimate == pytest.approx(post["estimate"].mean())


# ---------------------------------------------------------------------------------------------- errors
def test_unknown_estimator_is_a_user_error(small_panel) -> None:
    with pytest.raises(UserInputError, match="estimator='ols' is not a valid option"):
        estimate(small_panel.data, estimator="ols", **KW)


def test_missing_column_names_the_role(small_panel) -> None:
    with pytest.raises(UserInputError, match="column 'yy' given as outcome is not in the data"):
        estimate(small_panel.data, estimator="cs", unit="region", time="year", cohort="cohort", outcome="yy")


def test_option_checks(small_panel) -> None:
    with pytest.raises(UserInputError, match="does not take covariates"):
        estimate(small_panel.data, estimator="imputation", **KW, covariates=["x"])
    with pytest.raises(UserInputError, match="control='notyet' does not apply"):
        estimate(small_panel.data, estimator="twfe", **KW, control="notyet")
    with pytest.raises(UserInputError, match="method='ipw' applies only"):
        estimate(small_panel.data, estimator="sa", **KW, method="ipw")
    with pytest.raises(UserInputError, match="not accepted by estimator 'cs'"):
        estimate(small_panel.data, estimator="cs", **KW, pretrends=[-2])
    with pytest.raises(UserInputError, match="method='logit' is not a valid option"):
        estimate(small_panel.data, estimator="cs", **KW, method="logit")


def test_bad_data_messages(small_panel) -> None:
    data = small_panel.data.copy()
    dup = pd.concat([data, data.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="repeat a \\(region, year\\) pair"):
        estimate(dup, estimator="twfe", **KW)
    bad = data.assign(cohort=np.where(data["year"] == 2010, 2012, data["cohort"]))
    bad.loc[bad["cohort"] == 0, "cohort"] = 0
    with pytest.raises(DataValidationError, match="constant within a unit"):
        estimate(bad, estimator="cs", **KW)
    neg = data.assign(collaborations=-data["collaborations"] - 1)
    with pytest.raises(DataValidationError, match="must be non-negative"):
        estimate(neg, estimator="poisson", unit="region", time="year", cohort="cohort", outcome="collaborations")
    none = data.assign(cohort=0)
    with pytest.raises(EstimationError, match="no observation is treated"):
        estimate(none, estimator="twfe", **KW)


def test_few_clusters_warning() -> None:
    sim = simulate_region_panel(n_regions=12, seed=4)
    with pytest.warns(ClusterPolicyWarning, match="only 12 clusters"):
        res = estimate(sim.data, estimator="twfe", **KW)
    assert any("wild cluster bootstrap" in w for w in res.warnings)
