"""Single-region programmes (study/single_region.py) and Emilia-Romagna's synthetic designs (study/synthetic.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.calendar import load_cluster_policies
from clusterpolicy.errors import UserInputError
from clusterpolicy.study import single_region as sr
from clusterpolicy.study import synthetic as sy
from clusterpolicy.study.treatments import cohort_table

INTERVAL_WORDS = ("ci_low", "ci_high", "interval", "_se")


def published_names(values: object) -> list[str]:
    return [f.name for f in dataclasses.fields(values) if f.metadata.get("publish", True)]


@pytest.fixture(scope="module")
def lombardy() -> sr.SingleRegion:
    return sr.single_region("itc4-ctl-2014")


@pytest.fixture(scope="module")
def veneto_2017() -> sr.SingleRegion:
    return sr.single_region("ith3-rir-2017")


@pytest.fixture(scope="module")
def er() -> sy.Analysis:
    return sy.analyse()


# ---------------------------------------------------------------------------------------------------------------
# The onset comes from the cited calendar row
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy_id", ["itc4-ctl-2014", "ith3-rir-2016", "ith3-rir-2017", "ith5-clust-er-2017"])
def test_onset_is_the_calendar_rows_start_year(policy_id: str) -> None:
    row = load_cluster_policies().set_index("policy_id").loc[policy_id]
    onset = sr.onset_from_calendar(policy_id)
    assert onset.year == int(row["start_year"])
    assert onset.nuts2 == row["nuts2"]


def test_earliest_act_is_read_from_the_rows_legal_act() -> None:
    row = load_cluster_policies().set_index("policy_id").loc["itc4-ctl-2014"]
    onset = sr.onset_from_calendar("itc4-ctl-2014", "earliest_act")
    assert onset.year == 2012  # Decree n. 5981 of 5 Jul 2012, the aggregation decree
    assert str(onset.year) in row["legal_act"]
    assert sr.earliest_act_year("Decree n. 2239 of 17 Mar 2014; decree n. 4429 of 19 Apr 2017") == 2014


def test_published_onset_matches_the_calendar(lombardy: sr.SingleRegion) -> None:
    row = load_cluster_policies().set_index("policy_id").loc[lombardy.policy_id]
    assert lombardy.onset_year == int(row["start_year"]) == lombardy.calendar_start_year
    assert lombardy.legal_act == row["legal_act"]


def test_unknown_policy_id_is_a_fix_it_message() -> None:
    with pytest.raises(UserInputError, match="not a row of data/policy/cluster_policies.csv"):
        sr.onset_from_calendar("itc4-nothing-2099")
    with pytest.raises(UserInputError, match="onset basis"):
        sr.onset_from_calendar("itc4-ctl-2014", "announcement")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# Published fields: present, plain, and no analytic interval
# ---------------------------------------------------------------------------------------------------------------
def test_single_region_publishes_the_placebo_keys(lombardy: sr.SingleRegion) -> None:
    names = published_names(lombardy)
    for key in ("placebo_p_value", "placebo_rank", "n_placebos", "smallest_possible_p", "placebo_p_text",
                "conley_taber_text", "onset_year", "policy_id", "percent", "estimate", "h2020_reason"):
        assert key in names
    assert not [n for n in names if any(w in n for w in INTERVAL_WORDS)]
    assert lombardy.smallest_possible_p == pytest.approx(1 / (lombardy.n_placebos + 1))
    assert lombardy.placebo_p_value == pytest.approx(lombardy.placebo_rank / (lombardy.n_placebos + 1))
    assert 1 <= lombardy.placebo_rank <= lombardy.n_placebos + 1
    for name in names:  # scalars only: frames are exhibits
        assert not isinstance(getattr(lombardy, name), pd.DataFrame)


def test_no_interval_with_few_controls(lombardy: sr.SingleRegion) -> None:
    assert lombardy.n_controls < sr.CT_MIN_CONTROLS
    assert lombardy.conley_taber_low is None and lombardy.conley_taber_high is None
    assert "not computed" in lombardy.conley_taber_text


def test_estimate_follows_the_single_treated_rule() -> None:
    onset = sr.onset_from_calendar("itc4-ctl-2014")
    a = sr.analyse_outcome(sr.BUSINESS_RD, "log", onset, sr.EUROSTAT_WINDOW)
    assert a.result.inference.method == "placebo-in-space"
    assert a.result.p_value == pytest.approx(a.placebo.p_value)
    es = a.result.event_study
    assert es["ci_low"].isna().all() and es["ci_high"].isna().all()


def test_h2020_only_where_the_onset_leaves_two_pre_years(lombardy: sr.SingleRegion,
                                                          veneto_2017: sr.SingleRegion) -> None:
    assert not lombardy.h2020_available and lombardy.h2020_placebo_p_value is None
    assert "pre-policy year" in lombardy.h2020_reason
    assert veneto_2017.h2020_available and veneto_2017.h2020_pre_years == 2
    assert veneto_2017.h2020_placebo_p_value is not None


def test_controls_are_never_treated_regions(lombardy: sr.SingleRegion) -> None:
    table = cohort_table(lombardy.definition).set_index("nuts2")
    controls = lombardy.sample.loc[lombardy.sample["role"] == "control", "nuts2"]
    assert len(controls) == lombardy.n_controls
    for code in controls:
        status, cohort = table.loc[code, "status"], table.loc[code, "cohort"]
        assert status == "never" or (status == "treated" and int(cohort) > lombardy.last_year)


def test_earlier_programmes_exclude_other_datings_of_the_same_programme(veneto_2017: sr.SingleRegion) -> None:
    assert "ith3-rir" not in " ".join(veneto_2017.earlier["policy_id"])
    assert veneto_2017.n_earlier_programmes == len(veneto_2017.earlier)


# ---------------------------------------------------------------------------------------------------------------
# Emilia-Romagna: donor pools, range, earlier treatments
# ---------------------------------------------------------------------------------------------------------------
def test_centre_north_pool_excludes_every_treated_or_undated_region(er: sy.Analysis) -> None:
    pool = er.pools["centre_north"]
    assert er.onset.nuts2 not in pool.donors
    for definition in sy.POOL_DEFINITIONS:
        table = cohort_table(definition).set_index("nuts2")
        for code in pool.donors:
            status, cohort = table.loc[code, "status"], table.loc[code, "cohort"]
            assert status != "unknown"
            # no programme starts in the band from QUIET_YEARS before the onset to the end of the window
            assert status == "never" or not (er.onset.year - sy.QUIET_YEARS <= int(cohort) <= sy.WINDOW[1])
    excluded = pool.table[~pool.table["donor"]]
    assert excluded["reason"].str.len().gt(0).all()
    assert set(pool.donors) | set(excluded["nuts2"]) == set(pool.table["nuts2"])


def test_eu_pool_is_the_nearest_non_italian_regions(er: sy.Analysis) -> None:
    pool = er.pools["eu_similar"]
    assert len(pool.donors) == sy.EU_NEIGHBOURS
    assert not any(c.startswith("IT") for c in pool.donors)
    t = pool.table
    assert t.loc[t["donor"], "distance"].max() <= t.loc[~t["donor"], "distance"].min()


def test_range_covers_every_estimate(er: sy.Analysis) -> None:
    rng = sy.EstimateRange.of(er.estimates)
    assert rng.n_estimates == len(er.estimates) >= 4
    assert all(rng.covers(e.estimate) for e in er.estimates)
    assert rng.low == min(e.estimate for e in er.estimates)
    assert rng.high == max(e.estimate for e in er.estimates)
    assert rng.sign_flips == (rng.low < 0 < rng.high)


def test_range_reports_a_sign_flip() -> None:
    w = pd.Series(dtype=float)
    ests = (sy.MethodEstimate("sc", "centre_north", -0.1, 0.5, "", 2, 0.1, w),
            sy.MethodEstimate("did", "eu_similar", 0.2, 0.5, "", 15, 0.1, w))
    rng = sy.EstimateRange.of(ests)
    assert rng.sign_flips and rng.low == -0.1 and rng.high == 0.2


def test_er_published_names_earlier_treatments_and_no_interval(er: sy.Analysis) -> None:
    p = sy.published(er)
    assert p.htn_year == 2002 and p.tecnopoli_year == 2009
    assert "High Technology Network" in p.earlier_programmes and "Tecnopoli" in p.earlier_programmes
    names = published_names(p) + list(p.values)
    assert not [n for n in names if any(w in n for w in INTERVAL_WORDS)]
    for e in er.estimates:
        assert p.values[f"{e.method}_{e.pool}_estimate"] == e.estimate
        assert p.values[f"{e.method}_{e.pool}_p_value"] is None or 0 < p.values[f"{e.method}_{e.pool}_p_value"] <= 1
    assert math.isclose(p.range_low_percent, 100 * math.expm1(p.range_low))


def test_sdid_placebo_se_is_reproducible_with_a_seed(er: sy.Analysis) -> None:
    pool, on = er.pools["eu_similar"], er.onset
    first = sy.run_sdid(er.panel, on.nuts2, pool, on.year, seed=11, replications=20)[0]
    again = sy.run_sdid(er.panel, on.nuts2, pool, on.year, seed=11, replications=20)[0]
    other = sy.run_sdid(er.panel, on.nuts2, pool, on.year, seed=12, replications=20)[0]
    assert first.placebo_se is not None and first.placebo_se > 0
    assert first.placebo_se == again.placebo_se
    assert other.placebo_se != first.placebo_se
    assert first.estimate == again.estimate == other.estimate  # the estimate does not depend on the seed


def test_every_method_on_every_pool(er: sy.Analysis) -> None:
    pairs = {(e.method, e.pool) for e in er.estimates}
    assert pairs == {(m, p) for m in sy.METHOD_NAMES for p in sy.POOLS}


def test_centre_north_pool_follows_the_calendar_and_reports_small_pools_honestly(er: sy.Analysis) -> None:
    pool = er.pools["centre_north"]
    assert str(er.onset.year - sy.QUIET_YEARS) in pool.rule
    table = pool.table.set_index("nuts2")
    # every excluded region says why; a region whose start cannot be dated is never a donor
    assert (table.loc[~table["donor"], "reason"].str.len() > 0).all()
    for d in sy.POOL_DEFINITIONS:
        unknown = cohort_table(d).set_index("nuts2")["status"].eq("unknown")
        assert not set(pool.donors) & set(unknown[unknown].index), d
    # synthetic DiD placebos need at least three donors; with fewer, no placebo p-value is published
    sdid = next(e for e in er.estimates if e.method == "sdid" and e.pool == "centre_north")
    if len(pool.donors) >= 3:
        assert sdid.p_value is not None and sdid.n_placebos == len(pool.donors)
    else:
        assert sdid.p_value is None and sdid.n_placebos == 0


def test_sdid_placebo_is_studentised() -> None:
    # one donor is far noisier than the others: its placebo estimate is large in raw size but not once divided by
    # its pre-onset gap SD, so the studentised p-value differs from the unstudentised one
    rng = np.random.default_rng(5)
    years = np.arange(2007, 2020)
    rows = []
    shift = {0: 0.3, 3: 0.6}  # the treated region's effect; the noisy donor's post-onset jump
    for j, scale in enumerate([0.01, 0.012, 0.011, 1.0, 0.009]):
        noise = rng.normal(0, scale, years.size)
        for y, e in zip(years, noise, strict=True):
            rows.append({"nuts2": f"X{j}", "year": int(y), "y": e + (shift.get(j, 0.0) if y >= 2017 else 0.0),
                         "cohort": 0})
    panel = pd.DataFrame(rows)
    pool = sy.DonorPool("centre_north", "test", "test", ("X1", "X2", "X3", "X4"), pd.DataFrame())
    est = sy.run_sdid(panel, "X0", pool, 2017, replications=5)[0]
    assert est.p_value is not None and est.p_value_unstudentised is not None
    assert est.p_value < est.p_value_unstudentised
    assert "studentised" in est.p_rule


def test_published_range_is_synthetic_methods_only_and_did_apart(er: sy.Analysis) -> None:
    p = sy.published(er)
    synth = [e.estimate for e in er.estimates if e.method in sy.RANGE_METHODS]
    did = [e.estimate for e in er.estimates if e.method == "did"]
    assert p.range_low == min(synth) and p.range_high == max(synth) and p.n_estimates == len(synth)
    assert p.did_low == min(did) and p.did_high == max(did)
