"""Randomisation confidence sets by test inversion (constant additive effect), checked by construction.

The exact set is compared with p(tau) evaluated directly: on a fine grid from the permutation estimates, and at
the set's ends by refitting the estimator on ``Y - tau * D`` (which does not use the linear shortcut). Coverage
is checked by a small seeded Monte Carlo on SIMULATED panels whose treated regions are drawn at random, so the
randomisation test is exact and its confidence set covers the constant effect with probability >= 95 %.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.synthetic import simulate_region_panel
from clusterpolicy.errors import EstimationError, UserInputError
from clusterpolicy.estimate.api import BoundEstimate, estimate
from clusterpolicy.estimate.inference import randomization_confidence_set, randomization_inference, with_randomization

ROLES = {"unit": "region", "time": "year", "cohort": "cohort"}


def _small(seed: int, n_regions: int = 8, effect: float = 0.10) -> pd.DataFrame:
    # 8 regions, 2 treated in distinct cohorts: 8 * 7 = 56 assignments, enumerated; p-values are multiples of 1/56.
    sim = simulate_region_panel(n_regions=n_regions, first_year=2005, last_year=2014, treated_share=0.25,
                                cohorts=(2009, 2011), heterogeneity=0.0, dynamic=0.0, effect=effect, seed=seed)
    return sim.data


def _bound(estimator: str, **kw: object) -> BoundEstimate:
    return BoundEstimate(estimator=estimator, outcome="y", quiet=True, single_treated_rule=False, **ROLES, **kw)


def _p_grid(ri, taus: np.ndarray) -> np.ndarray:
    """p(tau) straight from its definition, on a grid (ties within 1e-12 relative count as hits)."""
    a, b = ri.distribution, ri.d_distribution
    obs = np.abs(ri.observed - taus * ri.d_observed)
    stat = np.abs(a[None, :] - taus[:, None] * b[None, :])
    hits = (stat >= obs[:, None] - 1e-12 * np.maximum(obs[:, None], 1.0)).sum(axis=1)
    n = a.size
    return hits / n if ri.exact else (1 + hits) / (n + 1)


def _in_set(pieces, taus: np.ndarray) -> np.ndarray:
    inside = np.zeros(taus.size, dtype=bool)
    for lo, hi in pieces:
        inside |= (taus >= lo) & (taus <= hi)
    return inside


@pytest.mark.parametrize("estimator,kw", [("twfe", {}), ("cs", {"control": "never"}), ("imputation", {})])
def test_exact_set_equals_brute_force_grid_and_refits(estimator, kw):
    d = _small(3)
    ri = randomization_inference(d, _bound(estimator, **kw), unit="region", cohort="cohort", time="year",
                                 n_permutations=999, interval=True)
    assert ri.exact and ri.n_permutations == 56 and ri.ci_level == 0.95
    # the slope at the actual assignment is 1 for these estimators: D's own effect on D
    assert ri.d_observed == pytest.approx(1.0, abs=1e-9)
    lo, hi = ri.ci_low, ri.ci_high
    assert np.isfinite(lo) and np.isfinite(hi) and lo < ri.observed < hi
    width = hi - lo
    taus = np.linspace(lo - width, hi + width, 4001)
    # off the finitely many breakpoints the grid decides membership exactly
    inside = _p_grid(ri, taus) > 0.05
    assert np.array_equal(inside, _in_set(ri.ci_set, taus))
    # p(0) is the reported p-value
    assert _p_grid(ri, np.array([0.0]))[0] == pytest.approx(ri.p_value, abs=1e-12)
    # at the ends, refit on Y - tau * D (no linear shortcut): in just inside, out just outside
    indicator = ((d["cohort"] > 0) & (d["year"] >= d["cohort"])).astype(float)
    eps = 1e-6 * width
    for tau, expect_in in ((lo + eps, True), (lo - eps, False), (hi - eps, True), (hi + eps, False)):
        shifted = d.assign(y=d["y"] - tau * indicator)
        p = randomization_inference(shifted, _bound(estimator, **kw), unit="region", cohort="cohort",
                                    n_permutations=999).p_value
        assert (p > 0.05) == expect_in, (estimator, tau, p)


def test_confidence_set_function_handles_unbounded_and_disjoint_sets():
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(5, 60))
        a = rng.normal(size=n)
        b = rng.normal(scale=rng.choice([0.3, 1.0, 3.0]), size=n)
        theta, b0 = float(rng.normal()), float(rng.choice([1.0, -0.5, 2.0]))
        exact = bool(trial % 2)
        if exact:  # the actual assignment is among the enumerated ones
            a[0], b[0] = theta, b0
        level = float(rng.choice([0.8, 0.9, 0.95]))
        pieces = randomization_confidence_set(theta, b0, a, b, level=level, exact=exact)
        ends = np.array([x for piece in pieces for x in piece if np.isfinite(x)])
        span = max(10.0, 2 * np.abs(ends).max()) if ends.size else 10.0
        taus = np.linspace(-span, span, 20001)
        # grid points within rounding of an end are left out: there, the tie is decided by floating-point noise
        if ends.size:
            taus = taus[np.min(np.abs(taus[:, None] - ends[None, :]), axis=1) > 1e-9 * span]
        hits = (np.abs(a[None, :] - taus[:, None] * b[None, :])
                >= np.abs(theta - taus * b0)[:, None] - 1e-12).sum(axis=1)
        p = hits / n if exact else (1 + hits) / (n + 1)
        # p > alpha, with alpha = 1 - level rounded up by 1e-12 (1 - 0.8 is 0.19999999999999996 in floating point)
        assert np.array_equal(p > 1 - level + 1e-12, _in_set(pieces, taus)), trial
        # pieces are ordered and disjoint
        assert all(pieces[i][1] < pieces[i + 1][0] for i in range(len(pieces) - 1))


def test_unbounded_end_is_null_with_flag_in_json():
    # every permuted slope exceeds the actual one: far from the estimate the permuted statistics dominate
    pieces = randomization_confidence_set(0.0, 1.0, np.array([0.5, -0.2, 0.1]), np.array([3.0, 2.5, -4.0]),
                                          level=0.5, exact=False)
    assert pieces[0][0] == -np.inf and pieces[-1][1] == np.inf
    from clusterpolicy.estimate.inference import RandomizationResult

    ri = RandomizationResult(statistic="estimate", observed=0.0, p_value=1.0, exact=False, n_permutations=3,
                             n_assignments=6, alternative="two-sided", seed=1, distribution=np.zeros(3),
                             ci_level=0.5, ci_low=pieces[0][0], ci_high=pieces[-1][1], ci_set=pieces)
    out = json.loads(json.dumps(ri.to_dict(), allow_nan=False))
    assert out["ci_low"] is None and out["ci_low_infinite"] is True
    assert out["ci_high"] is None and out["ci_high_infinite"] is True


def test_coverage_of_the_constant_effect_small_monte_carlo():
    # 60 SIMULATED replications, TWFE, exact enumeration of 56 assignments. Treated regions are drawn at random
    # and the effect is constant, so the test is exact: coverage = 1 - 2/56 ~ 0.964 in expectation (the two
    # assignments with the largest |statistic| reject). Tolerance: 3 Monte Carlo SEs at 60 replications
    # (sqrt(0.95 * 0.05 / 60) = 0.028), i.e. coverage within [0.866, 1].
    effect, covered, widths = 0.10, 0, []
    for rep in range(60):
        d = _small(1000 + rep, effect=effect)
        ri = randomization_inference(d, _bound("twfe"), unit="region", cohort="cohort", time="year",
                                     n_permutations=999, interval=True)
        covered += int(any(lo <= effect <= hi for lo, hi in ri.ci_set))
        widths.append(ri.ci_high - ri.ci_low)
    coverage = covered / 60
    assert abs(coverage - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / 60), coverage
    assert np.all(np.isfinite(widths))


def test_nonlinear_estimators_are_refused():
    d = _small(3)
    bound = BoundEstimate(estimator="poisson", outcome="collaborations", quiet=True, single_treated_rule=False,
                          **ROLES)
    with pytest.raises(EstimationError, match="not linear"):
        randomization_inference(d, bound, unit="region", cohort="cohort", time="year", n_permutations=9,
                                interval=True)

    # the same estimator hidden in a plain callable is caught by the run-time linearity check
    def black_box(frame: pd.DataFrame) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return estimate(frame, estimator="poisson", outcome="collaborations", single_treated_rule=False,
                            **ROLES).estimate

    with pytest.raises(EstimationError, match="not linear in the outcome"):
        randomization_inference(d, black_box, unit="region", cohort="cohort", time="year",
                                outcome="collaborations", n_permutations=9, seed=1, interval=True)
    with pytest.raises(UserInputError, match="statistic='estimate'"):
        randomization_inference(d, _bound("twfe"), unit="region", cohort="cohort", time="year", statistic="t",
                                n_permutations=9, interval=True)
    with pytest.raises(UserInputError, match="needs time= and outcome="):
        randomization_inference(d, lambda f: 0.0, unit="region", cohort="cohort", n_permutations=9, interval=True)


def test_same_seed_gives_byte_identical_json_and_overall_keys():
    # 10 regions, 3 treated in distinct cohorts: 720 assignments, so 49 random permutations are drawn
    sim = simulate_region_panel(n_regions=10, treated_share=0.3, cohorts=(2009, 2012, 2014), heterogeneity=0.0,
                                dynamic=0.0, effect=0.10, seed=11)
    d = sim.data
    kw = {"estimator": "cs", "control": "never", "outcome": "y"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = estimate(d, **ROLES, **kw)
        texts = [json.dumps(with_randomization(res, d, n_permutations=49, seed=5, interval=True, **ROLES,
                                               **kw).to_dict(), sort_keys=True, allow_nan=False)
                 for _ in range(2)]
        other = with_randomization(res, d, n_permutations=49, seed=6, interval=True, **ROLES, **kw).to_dict()
    assert texts[0] == texts[1]
    out = json.loads(texts[0])
    assert not out["randomization"]["exact"] and out["randomization"]["n_permutations"] == 49
    assert out["overall"]["ri_ci_low"] < out["overall"]["estimate"] < out["overall"]["ri_ci_high"]
    assert out["overall"]["ri_ci_low"] == out["randomization"]["ci_set"][0][0]
    assert out["randomization"]["ci_level"] == 0.95
    assert other["overall"]["ri_ci_low"] != out["overall"]["ri_ci_low"]  # the seed matters
    # without interval=True the JSON has no ri_ci keys (and costs no extra fits)
    plain = with_randomization(res, d, n_permutations=49, seed=5, **ROLES, **kw).to_dict()
    assert "ri_ci_low" not in plain["overall"] and plain["overall"]["ri_p_value"] == out["overall"]["ri_p_value"]
