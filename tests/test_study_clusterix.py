"""ClusteriX study (``clusterpolicy.study.clusterix``): published keys, partner set, regional vs country MDE,
determinism.

The full study runs once per module on the committed data with small simulation counts (the numbers checked here
are structural: which is larger, what is finite, what repeats with a seed), so the test stays fast.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.data.loaders import load_h2020_countries, load_h2020_italy, load_rd_panel
from clusterpolicy.data.policy import interreg_exposure
from clusterpolicy.errors import UserInputError
from clusterpolicy.study import clusterix

N_SIMS = 40  # small: the checks below are about structure and ordering, not third-decimal values


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {"countries": load_h2020_countries(), "italy": load_h2020_italy(), "rd": load_rd_panel()}


@pytest.fixture(scope="module")
def study(data):
    return clusterix.clusterix_study(**data, target_pct=5.0, deltas=(0.0, 0.2, 0.4, 0.6), n_sims=N_SIMS,
                                     regional_deltas=(0.0, 0.3, 0.6), n_sims_regional=N_SIMS, seed=7)


def test_fields_are_the_published_keys(study):
    published = {f.name for f in dataclasses.fields(study) if f.metadata.get("publish", True)}
    # keys the brief pages glue must stay
    assert {"mde_pct", "target_pct", "verdict", "mde_regional_pct", "mde_regional_any_pct",
            "mde_regional_intraregional_pct", "verdict_regional"} <= published
    for name in published:
        value = getattr(study, name)
        assert isinstance(value, (int, float, str, bool)), f"{name} is not a scalar: {type(value)}"
    hidden = {f.name for f in dataclasses.fields(study) if not f.metadata.get("publish", True)}
    assert {"country_power", "regional", "partner_rows"} <= hidden


def test_partner_set_comes_from_interreg_exposure(study):
    exp = interreg_exposure()
    expected = set(exp.loc[exp["programme"] == "clusterix2", "nuts2"])
    assert set(study.partners["nuts2"]) == expected
    assert study.n_partner_regions == len(expected)
    italian = sorted(c for c in expected if c.startswith("IT"))
    assert study.regional_treated.endswith(f"({italian[0]})")
    # a changed exposure table changes the partner set (nothing is hard-coded)
    fake = exp[~exp["nuts2"].isin(["SE22"])]
    assert "SE22" not in set(clusterix.clusterix_partners(fake)["nuts2"])


def test_regional_mde_exceeds_country_mde(study):
    # one small, noisy region against the other Italian regions is harder to read than eight partner countries
    # against the EU: the size-corrected regional MDE is larger than the country-level MDE
    assert math.isfinite(study.mde_regional_pct)
    assert study.mde_regional_pct > study.mde_pct
    assert study.mde_regional_over_country > 1
    assert study.mde_regional_pct > study.target_pct


def test_conventional_test_overrejects_with_one_treated_region(study):
    # the reason the nominal-test crossing is not reported as the MDE
    assert study.size_at_zero_regional > 0.2


def test_intraregional_outcome_has_only_the_poisson_bound(study):
    intra = study.regional["intraregional"]
    assert intra.simulated is None
    assert math.isinf(study.mde_regional_intraregional_pct)
    assert study.bound_regional_intraregional_pct > study.bound_regional_any_pct


def test_placebo_test_level_is_reported(study):
    assert_allclose(study.placebo_min_p, 1 / (study.n_placebos_regional + 1), rtol=1e-12)
    assert study.placebo_can_reject == (study.placebo_min_p <= 0.05)
    if not study.placebo_can_reject:
        assert math.isinf(study.mde_regional_placebo_pct)


def test_regional_power_is_deterministic_with_a_seed(data):
    kw = dict(treated="ITH1", column="coparticipation_projects", onset_year=2017, first_year=2015, last_year=2020,
              deltas=(0.0, 0.4), n_sims=20)
    a = clusterix.regional_power(data["italy"], seed=3, **kw)
    b = clusterix.regional_power(data["italy"], seed=3, **kw)
    pd.testing.assert_frame_equal(a.simulated.table, b.simulated.table)
    assert a.mde_pct == b.mde_pct


def test_placebo_power_counts_rank_first():
    est = np.linspace(-0.1, 0.1, 19)  # J = 19 placebos: 1 / 20 = 0.05, rejection needs ranking first
    table, mde = clusterix.placebo_power(est, [0.0, 0.5], alpha=0.05)
    assert table.loc[table["delta"] == 0.0, "power"].iloc[0] <= 1 / 19 + 1e-12
    assert table.loc[table["delta"] == 0.5, "power"].iloc[0] == 1.0
    assert 0 < mde <= 0.5
    _, never = clusterix.placebo_power(est[:10], [0.0, 5.0], alpha=0.05)  # 1 / 11 > 0.05
    assert math.isinf(never)


def test_regional_panel_refuses_zero_years_in_the_treated_region(data):
    with pytest.raises(UserInputError, match="no 'coparticipation_projects_intraregional' projects"):
        clusterix.regional_panel(data["italy"], treated="ITH1", onset_year=2017, first_year=2015, last_year=2020,
                                 column="coparticipation_projects_intraregional")
