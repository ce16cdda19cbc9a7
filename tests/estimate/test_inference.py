"""Few-cluster inference checked against fwildclusterboot / fixest reference numbers and by construction.

Reference: tests/data/reference/wild_bootstrap (R 4.2.2, fixest 0.14.2, fwildclusterboot 0.13.0; see ATTRIBUTION.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.inference import (
    _enumerate_assignments,
    _multinomial,
    randomization_inference,
    wild_cluster_bootstrap,
    with_randomization,
)
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.estimate.twfe import fe_ols

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "wild_bootstrap"
# Linear regressions: coefficients and SEs to 1e-8 (the data are rounded to 1e-6 in the CSV, read identically by R).
RTOL_LINEAR = 1e-8
# fwildclusterboot locates the test-inversion CI ends with a root finder of finite tolerance; ours bisects to
# ~1e-10 * SE. Observed differences are < 3e-5.
ATOL_CI = 1e-4
# Webb p-value with B = 99,999 random draws in R and in numpy: each has MC sd ~0.0015; 0.01 is > 4 combined sds.
ATOL_WEBB = 0.01


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "fewclusters_panel.csv")


@pytest.fixture(scope="module")
def wcb_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "wcb_reference.csv").set_index("test")


def _wcb(panel: pd.DataFrame, **kw):
    return wild_cluster_bootstrap(panel, outcome="y", term="D", cluster="cluster", fixed_effects=["firm", "year"], **kw)


def test_fe_ols_matches_fixest_cluster_se(panel):
    ref = pd.read_csv(REF / "fewclusters_fixest_reference.csv").set_index("model").loc["feols_y_D"]
    fit = fe_ols(panel, unit="firm", time="year", outcome="y", regressors=["D"], cluster="cluster")
    assert_allclose(fit.params["D"], ref["estimate"], rtol=RTOL_LINEAR)
    assert_allclose(fit.se["D"], ref["se_cluster"], rtol=RTOL_LINEAR)
    # the wild bootstrap reports the same conventional SE and t(G-1) p-value beside its own
    wcb = _wcb(panel, conf_level=None)
    assert_allclose(wcb.se, ref["se_cluster"], rtol=RTOL_LINEAR)
    assert_allclose(wcb.analytic_p_value, ref["p_cluster"], rtol=1e-7)


@pytest.mark.parametrize(("label", "impose_null", "expected"), [
    ("WCR_rademacher_fullenum", True, 0.3046875),
    ("WCU_rademacher_fullenum", False, 0.2578125),
])
def test_wcb_full_enumeration_reproduces_fwildclusterboot_exactly(panel, wcb_ref, label, impose_null, expected):
    ref = wcb_ref.loc[label]
    assert ref["p_value"] == expected  # the documented numbers are the ones in the file
    res = _wcb(panel, impose_null=impose_null, seed=123)
    assert res.full_enumeration and res.n_boot == 1024 == ref["B_used"]
    assert res.p_value == expected  # exact: 312/1024 and 264/1024
    assert_allclose(res.estimate, ref["estimate"], rtol=RTOL_LINEAR)
    assert_allclose(res.t_stat, ref["t_stat"], rtol=RTOL_LINEAR)
    assert_allclose(res.se, ref["analytic_cluster_se"], rtol=RTOL_LINEAR)
    assert_allclose([res.ci_low, res.ci_high], [ref["conf_low"], ref["conf_high"]], atol=ATOL_CI)
    tidy = res.tidy()
    assert tidy.loc[0, "method"] == ("WCR" if impose_null else "WCU")
    assert "all 1024 sign patterns" in res.summary()


def test_wcb_enumeration_is_seed_free(panel):
    a = _wcb(panel, seed=1, conf_level=None)
    b = _wcb(panel, seed=999, conf_level=None)
    assert a.p_value == b.p_value
    assert np.isnan(a.ci_low)


def test_wcb_webb_random_draws_close_to_reference(panel, wcb_ref):
    ref = wcb_ref.loc["WCR_webb_B99999_seed1"]
    res = _wcb(panel, weights="webb", n_boot=99_999, seed=1, conf_level=None)
    assert not res.full_enumeration and res.n_boot == 99_999
    assert_allclose(res.p_value, ref["p_value"], atol=ATOL_WEBB)
    again = _wcb(panel, weights="webb", n_boot=99_999, seed=1, conf_level=None)
    assert again.p_value == res.p_value  # seeded


def test_wcb_equal_tailed_equals_symmetric_under_enumerated_wcr(panel):
    # With all sign patterns the WCR t* distribution is symmetric (v and -v give t* and -t*), so both p-value
    # definitions coincide; a mistake in either tail count breaks this.
    sym = _wcb(panel, conf_level=None)
    eq = _wcb(panel, conf_level=None, p_val_type="equal-tailed")
    assert eq.p_value == sym.p_value
    assert_allclose(np.sort(sym.t_boot), np.sort(-sym.t_boot), atol=1e-12)


def test_wcb_matches_brute_force_dummy_regression_with_covariate():
    """Vectorised FWL algebra == explicit dummy-variable re-estimation for every sign pattern (G = 6)."""
    rng = np.random.default_rng(7)
    G, per, T = 6, 4, 5
    rows = [(g, g * per + i, t) for g in range(G) for i in range(per) for t in range(T)]
    d = pd.DataFrame(rows, columns=["cl", "unit", "t"])
    d["x"] = rng.normal(size=len(d)) + (d["cl"] < 2) * (d["t"] >= 2)
    d["w"] = rng.normal(size=len(d))
    d["y"] = 0.3 * d["x"] + 0.5 * d["w"] + rng.normal(size=len(d)) + rng.normal(size=G)[d["cl"]]
    res = wild_cluster_bootstrap(d, outcome="y", term="x", cluster="cl", fixed_effects=["unit", "t"],
                                 covariates=["w"], null=0.1, conf_level=None)
    assert res.full_enumeration and res.n_boot == 2**G

    Z = np.column_stack([pd.get_dummies(d["unit"]).to_numpy(float), pd.get_dummies(d["t"]).to_numpy(float)[:, 1:]])
    X = np.column_stack([d["x"], d["w"], Z])
    y = d["y"].to_numpy()
    cl = d["cl"].to_numpy()
    n, k = len(d), 2

    def fit(yy):
        b, *_ = np.linalg.lstsq(X, yy, rcond=None)
        return b, yy - X @ b

    def tstat(b, u, b0):
        bread = np.linalg.pinv(X.T @ X)
        scores = np.array([X[cl == g].T @ u[cl == g] for g in range(G)])
        v = bread @ scores.T @ scores @ bread * G / (G - 1) * (n - 1) / (n - k)
        return (b[0] - b0) / np.sqrt(v[0, 0])

    b, u = fit(y)
    t_obs = tstat(b, u, 0.1)
    # restricted fit: y - 0.1 x on (w, dummies)
    Xr = X[:, 1:]
    br, *_ = np.linalg.lstsq(Xr, y - 0.1 * d["x"].to_numpy(), rcond=None)
    ur = y - 0.1 * d["x"].to_numpy() - Xr @ br
    t_boot = []
    for bits in range(2**G):
        v = np.array([1.0 if (bits >> g) & 1 else -1.0 for g in range(G)])[cl]
        ystar = y - ur + ur * v
        bs, us = fit(ystar)
        t_boot.append(tstat(bs, us, 0.1))
    t_boot = np.array(t_boot)
    assert_allclose(res.t_stat, t_obs, rtol=1e-8)
    assert_allclose(np.sort(res.t_boot), np.sort(t_boot), rtol=1e-7, atol=1e-9)
    expected_p = np.mean(np.abs(t_boot) > abs(t_obs) * (1 + 1e-9))
    assert res.p_value == expected_p


def test_wcb_user_errors(panel):
    with pytest.raises(UserInputError, match="weights='uniform' is not a valid option"):
        _wcb(panel, weights="uniform")
    with pytest.raises(UserInputError, match="column 'nope' given as"):
        wild_cluster_bootstrap(panel, outcome="y", term="nope", cluster="cluster")
    with pytest.raises(UserInputError, match="full_enumeration=True needs weights='rademacher'"):
        _wcb(panel, weights="webb", full_enumeration=True)
    with pytest.raises(UserInputError, match="n_boot=10 is too small"):
        _wcb(panel, n_boot=10)


# --------------------------------------------------------------------------- randomisation inference
def _small_panel(effect: float, seed: int = 5) -> pd.DataFrame:
    # 8 regions, 2 treated with different adoption years: 8!/(6! 1! 1!) = 56 distinct assignments.
    return simulate_region_panel(n_regions=8, cohorts=(2010, 2014), treated_share=0.25, effect=effect,
                                 dynamic=0.0, heterogeneity=0.0, seed=seed).data


def _twfe(df: pd.DataFrame) -> EstimationResult:
    return estimate(df, estimator="twfe", unit="region", time="year", cohort="cohort", outcome="y")


def test_multiset_enumeration_counts():
    labels = np.array([0, 0, 0, 2010, 2014, 2014])
    assignments = {tuple(a) for a in _enumerate_assignments(labels)}
    assert len(assignments) == _multinomial([3, 1, 2]) == 60
    assert all(sorted(a) == sorted(labels) for a in assignments)


def test_ri_exact_with_large_effect_gives_smallest_p():
    res = randomization_inference(_small_panel(effect=2.0), _twfe, unit="region", cohort="cohort")
    assert res.exact and res.n_assignments == 56 and res.n_permutations == 56
    assert res.p_value == pytest.approx(1 / 56, abs=1e-15)
    # unit-specific linear trends (sd 0.3 over the panel) with only 2 treated units: allow 0.3 of bias
    assert res.observed == pytest.approx(2.0, abs=0.3)
    assert len(res.distribution_frame()) == 56


def test_ri_random_permutations_plus_one_correction_and_seed():
    df = _small_panel(effect=2.0)
    res = randomization_inference(df, _twfe, unit="region", cohort="cohort", exact=False, n_permutations=99, seed=3)
    # The actual assignment is never beaten, so p = (1 + 0) / (99 + 1) -- unless a draw repeats the actual one.
    hits = int(np.sum(np.abs(res.distribution) >= abs(res.observed) - 1e-12))
    assert res.p_value == pytest.approx((1 + hits) / 100, abs=1e-15)
    assert res.p_value <= 0.1
    again = randomization_inference(df, _twfe, unit="region", cohort="cohort", exact=False, n_permutations=99, seed=3)
    assert_allclose(again.distribution, res.distribution, rtol=0, atol=0)


def test_ri_null_effect_not_rejected_and_treatment_recomputed():
    df = _small_panel(effect=0.0, seed=11)
    seen = []

    def fit(d):
        # recomputed indicator must agree with the permuted cohorts
        g, t = d["cohort"].to_numpy(), d["year"].to_numpy()
        seen.append(bool(((g > 0) & (t >= g)).astype(int).tolist() == d["post"].tolist()))
        return float(_twfe(d).estimate)

    res = randomization_inference(df, fit, unit="region", cohort="cohort", time="year", treatment="post")
    assert all(seen)
    assert res.p_value > 0.1
    assert df["cohort"].equals(_small_panel(effect=0.0, seed=11)["cohort"])  # caller's frame untouched


def test_ri_user_errors():
    df = _small_panel(effect=0.0)
    with pytest.raises(UserInputError, match="needs fit\\(\\) to return an EstimationResult"):
        randomization_inference(df, lambda d: 1.0, unit="region", cohort="cohort", statistic="t")
    bad = df.assign(cohort=np.arange(len(df)))
    with pytest.raises(UserInputError, match="varies within unit"):
        randomization_inference(bad, _twfe, unit="region", cohort="cohort")


def test_ri_within_strata_permutes_only_inside_each_stratum():
    df = _small_panel(effect=0.0, seed=11)
    units = sorted(df["region"].unique())
    stratum = {u: ("north" if i < 4 else "south") for i, u in enumerate(units)}
    df = df.assign(area=df["region"].map(stratum))
    seen = []

    def fit(d):
        treated = sorted(d.loc[d["cohort"] > 0, "region"].unique())
        seen.append(tuple(sorted(stratum[u] for u in treated)))
        return float(_twfe(d).estimate)

    res = randomization_inference(df, fit, unit="region", cohort="cohort", strata="area")
    actual = tuple(sorted(stratum[u] for u in df.loc[df["cohort"] > 0, "region"].unique()))
    assert set(seen) == {actual}  # treated units stay in their strata
    assert res.strata == "area" and res.exact
    assert res.n_assignments < 56


def test_ri_works_for_callaway_santanna_and_reports_quantiles():
    df = _small_panel(effect=2.0)
    base = estimate(df, estimator="cs", unit="region", time="year", cohort="cohort", outcome="y", control="notyet")
    res = with_randomization(base, df, unit="region", time="year", cohort="cohort", n_permutations=99, seed=1,
                             estimator="cs", outcome="y", control="notyet")
    ri = res.randomization
    assert ri is not None and 0 < ri["p_value"] <= 1
    assert res.to_dict()["overall"]["ri_p_value"] == ri["p_value"]
    assert ri["quantiles"]["q0.025"] <= ri["quantiles"]["q0.975"]
    assert ri["n_permutations"] + ri["n_failed"] == 56  # exact: all 56 assignments, some may not be estimable


def test_ri_fits_each_distinct_assignment_once_and_keeps_every_draw():
    # 56 assignments and 199 random draws: draws repeat, and the actual assignment is also among the enumerated.
    df = _small_panel(effect=1.0)
    fitted: list[tuple[int, ...]] = []

    def fit(d: pd.DataFrame) -> float:
        fitted.append(tuple(d.groupby("region", sort=True)["cohort"].first().tolist()))
        return float(_twfe(d).estimate)

    res = randomization_inference(df, fit, unit="region", cohort="cohort", exact=False, n_permutations=199, seed=3)
    assert len(fitted) == len(set(fitted)) <= 56  # each distinct assignment fitted once
    assert res.n_permutations == 199  # ... but the distribution keeps every draw, repeats included
    # the same numbers as fitting every draw afresh (what the test did before the memo)
    rng = np.random.default_rng(3)
    labels = df.groupby("region", sort=True)["cohort"].first().to_numpy()
    regions = np.array(sorted(df["region"].unique()))
    brute = []
    for _ in range(199):
        perm = dict(zip(regions, labels[rng.permutation(labels.size)], strict=True))
        brute.append(float(_twfe(df.assign(cohort=df["region"].map(perm))).estimate))
    assert_allclose(res.distribution, brute, rtol=0, atol=0)
    exact = randomization_inference(df, fit, unit="region", cohort="cohort")
    assert exact.n_permutations == 56 and exact.exact
