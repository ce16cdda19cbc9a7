"""Few-cluster inference study (``clusterpolicy.study.few_cluster``): published keys, agreement with the estimators
it wraps, and determinism (seeded)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from clusterpolicy.estimate.api import estimate
from clusterpolicy.study.few_cluster import ROLES, few_cluster_study

ARGS = dict(outcome="rd_personnel_bes_fte", transform="log", definition="T1", first_year=2007, last_year=2019,
            n_boot=99, n_permutations=19, max_enumeration_clusters=12, seed=2024)


@pytest.fixture(scope="module")
def values():
    return few_cluster_study(**ARGS)


def test_fields_are_the_published_keys(values):
    published = {f.name for f in dataclasses.fields(values) if f.metadata.get("publish", True)}
    assert {"twfe_estimate", "cr1_p_value", "wcb_p_value", "ri_t_p_value", "cs_ri_p_value", "n_clusters"} <= published
    for name in published:
        assert isinstance(getattr(values, name), (int, float, str, bool, type(None))), name


def test_numbers_come_from_the_estimators(values):
    data = values.panel.data.assign(post=((values.panel.data["cohort"] > 0)
                                          & (values.panel.data["year"] >= values.panel.data["cohort"])).astype(float))
    twfe = estimate(data, estimator="twfe", **ROLES)
    assert values.twfe_estimate == twfe.estimate and values.cr1_ci_low == twfe.ci_low
    assert values.n_clusters == values.n_treated + values.n_control
    assert values.min_p_value <= values.cr1_p_value <= values.max_p_value
    assert values.wcb_ci_ratio == pytest.approx((values.wcb_ci_high - values.wcb_ci_low)
                                                / (values.cr1_ci_high - values.cr1_ci_low))
    assert len(values.table) == 7 and 0 < values.ri_t_p_value <= 1


def test_seeded_and_deterministic(values):
    again = few_cluster_study(**ARGS)
    for f in dataclasses.fields(values):
        if f.metadata.get("publish", True):
            a, b = getattr(values, f.name), getattr(again, f.name)
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), f.name
