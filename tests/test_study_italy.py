"""Tests of the Italian study (``clusterpolicy.study.italy``): the design rules choose by their stated criteria, the
published keys are complete, and the primary run's numbers reach the brief's first row."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from clusterpolicy.study.italy import (
    PRIMARY_OUTCOME,
    Published,
    analyse,
    choose_definition,
    choose_scale,
    decide,
    published,
)

ROOT = Path(__file__).resolve().parents[1]


def test_definition_rule_picks_the_most_treated_regions_with_a_pre_period() -> None:
    chosen, table = choose_definition(PRIMARY_OUTCOME, (2015, 2020))
    assert table.loc[table["chosen"], "definition"].tolist() == [chosen]
    assert table.loc[table["chosen"], "n_treated_in_window"].iloc[0] == table["n_treated_in_window"].max()


def test_scale_rule_uses_only_the_pre_period_test_and_shows_every_scale() -> None:
    chosen, table = choose_scale("rd_personnel_bes_fte", "T1", (2007, 2019))
    assert set(table["transform"]) == {"log", "per_capita", "level"}
    ok = table[np.isfinite(table["pretrend_p_value"])]
    assert chosen == ok.loc[ok["pretrend_p_value"].idxmax(), "transform"]
    assert table.loc[table["transform"] == "per_capita", "note"].str.contains("not computable").all()


def test_explicit_choices_override_the_rules_and_say_so() -> None:
    d = decide("rd_personnel_bes_fte", definition="T2", transform="level")
    assert (d.definition, d.transform, d.estimator) == ("T2", "level", "cs")
    assert "set by the run" in d.rule


@pytest.fixture(scope="module")
def primary() -> Published:
    return published(analyse(decide(PRIMARY_OUTCOME), n_permutations=39, seed=1, leave_out=True))


def test_primary_design_publishes_every_required_key(primary) -> None:
    for key in ("outcome", "estimate", "ci_low", "ci_high", "ri_p_value", "mde", "treatment_definition"):
        assert key in {f.name for f in dataclasses.fields(primary)}
    assert primary.outcome == PRIMARY_OUTCOME
    assert primary.ci_low < primary.estimate < primary.ci_high
    crit = primary.critical_value
    assert primary.ci_low == pytest.approx(primary.estimate - crit * primary.se, rel=1e-12)
    assert primary.df == primary.n_clusters - 1
    assert 0 < primary.ri_p_value <= 1
    # cs is linear in the outcome: the randomisation interval (within macro-areas) holds the estimate when bounded
    assert primary.ri_ci_low is None or primary.ri_ci_low <= primary.estimate
    assert primary.ri_ci_high is None or primary.estimate <= primary.ri_ci_high
    assert primary.ri_ci_low is not None or primary.ri_ci_high is not None
    # every region of the sample table appears in the leave-one-out, and the range brackets each estimate
    loo = primary.leave_one_out.dropna(subset=["estimate"])
    assert len(primary.leave_one_out) == primary.n_treated + primary.n_control
    assert primary.loo_min == pytest.approx(loo["estimate"].min()) and primary.loo_max == pytest.approx(loo["estimate"].max())


def test_mde_is_the_t_based_detectable_effect(primary) -> None:
    from scipy import stats

    assert primary.mde == pytest.approx((primary.critical_value + stats.t.ppf(0.8, primary.df)) * primary.se,
                                        rel=1e-12)


def test_brief_first_row_glues_from_italy_main() -> None:
    """The brief's first table row is the primary analysis (design fixed in advance), in both languages."""
    for name in ("brief_en.md", "brief_it.md"):
        text = (ROOT / "book" / name).read_text(encoding="utf-8")
        rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
        first = rows[1]  # rows[0] is the header
        refs = set(re.findall(r"runs/([a-z0-9-]+)\.ipynb::", first))
        assert refs == {"italy-main"}, (name, first)
        for key in ("estimate", "ci_low", "ci_high", "ri_p_text", "mde"):
            assert f"italy-main.ipynb::{key}" in first or f"italy-main.ipynb::{key}:" in first, (name, key)


def test_published_results_of_italy_main_hold_the_design() -> None:
    values = json.loads((ROOT / "results" / "italy-main.json").read_text())
    values = values.get("values", values)
    assert values["outcome"] == PRIMARY_OUTCOME
    for key in ("estimate", "ci_low", "ci_high", "ri_p_value", "mde", "treatment_definition"):
        assert key in values


def test_smoothness_bounds_are_published(primary) -> None:
    """Delta-SD (FLCI) rows sit in the sensitivity table beside the RM ones; the published M = 1 SE bounds are the
    table's last smoothness row, and larger M never shortens the interval."""
    from clusterpolicy.study.italy import SD_GRID

    table = primary.sensitivity
    rows = table[table["quantity"].str.startswith("Delta-SD")]
    assert len(rows) == len(SD_GRID)
    assert (primary.sd_lb_m1, primary.sd_ub_m1) == pytest.approx((rows.iloc[-1]["low"], rows.iloc[-1]["high"]))
    widths = (rows["high"] - rows["low"]).to_numpy()
    assert all(b >= a - 1e-12 for a, b in zip(widths, widths[1:]))
    assert "breakdown M" in set(table["quantity"])
