"""The Italian study's comparison designs: MIUR technology districts as a pre-period randomisation stratum
(``ri_strata``) and the macro-area-by-year design (``macro_area_by_year``)."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterpolicy.data.calendar import ITALIAN_NUTS2
from clusterpolicy.errors import UserInputError
from clusterpolicy.study.context import MIUR_STRATUM_YEAR
from clusterpolicy.study.italy import PRIMARY_OUTCOME, RI_STRATA_LABELS, analyse, decide, miur_stratum, published
from clusterpolicy.study.treatments import miur_district_year


def test_miur_stratum_follows_the_calendar() -> None:
    codes = pd.Series(list(ITALIAN_NUTS2))
    strata = miur_stratum(codes).set_axis(codes)
    years = miur_district_year().set_index("nuts2")["miur_district_year"]
    early = years.notna() & (years.fillna(0) <= MIUR_STRATUM_YEAR)
    assert (strata[early.index[early]] == f"district by {MIUR_STRATUM_YEAR}").all()
    assert (strata[early.index[~early]] == f"none by {MIUR_STRATUM_YEAR}").all()
    # Marche has positive evidence of no district; Trento's district dates from 2006
    assert strata["ITI3"].startswith("none") and strata["ITH2"].startswith("district")
    assert strata.nunique() == 2


def test_ri_within_miur_strata_is_published_with_its_label() -> None:
    d = decide(PRIMARY_OUTCOME)
    v = published(analyse(d, n_permutations=19, seed=1, leave_out=False, ri_strata="miur_district"))
    assert v.ri_strata == "miur_district"
    assert v.ri_strata_label == RI_STRATA_LABELS["miur_district"] and str(MIUR_STRATUM_YEAR) in v.ri_strata_label
    assert v.ri_p_value is not None and 0 < v.ri_p_value <= 1
    with pytest.raises(UserInputError, match="ri_strata"):
        analyse(d, n_permutations=0, leave_out=False, ri_strata="miur")


def test_macro_area_by_year_design_tests_pretrends_on_its_own_model() -> None:
    import warnings

    from clusterpolicy.errors import ClusterPolicyWarning
    from clusterpolicy.estimate.sensitivity import pretrend_test
    from clusterpolicy.study.italy import EVENT_WINDOW

    d = decide(PRIMARY_OUTCOME, estimator="sa")
    a = analyse(d, n_permutations=0, leave_out=False, macro_area_by_year=True)
    v = published(a)
    assert v.fixed_effects == "region and macro-area x year" and v.estimator == "sa"
    assert "macro-area x year" in a.robust_label
    # the published pre-trend test is the design model's own, not the default CS event study's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        own = pretrend_test(a.main, window=EVENT_WINDOW)
    assert v.pretrend_p_value == pytest.approx(own.p_value, rel=1e-9)
    default = published(analyse(decide(PRIMARY_OUTCOME), n_permutations=0, leave_out=False))
    assert v.pretrend_p_value != pytest.approx(default.pretrend_p_value, rel=1e-6)
    assert default.fixed_effects == "region and year"
    with pytest.raises(UserInputError, match="macro_area_by_year"):
        analyse(decide(PRIMARY_OUTCOME, estimator="cs"), n_permutations=0, leave_out=False, macro_area_by_year=True)
