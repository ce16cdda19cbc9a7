"""The study rules of the Monte Carlo page (``clusterpolicy.study.monte_carlo``), on SIMULATION tables.

The published fields are checked against the committed simulation table read independently here, and against a
small hand-built table (marked SIMULATED, as the check requires) where each rule can be seen to act.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.errors import DataValidationError
from clusterpolicy.study import monte_carlo as mcs

ROOT = Path(__file__).resolve().parents[1]


def _published(values: object) -> dict[str, object]:
    return {f.name: getattr(values, f.name) for f in dataclasses.fields(values) if f.metadata.get("publish", True)}


def _table(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {c: np.nan for c in mcs.MC_COLUMNS}
    return pd.DataFrame([{**base, "n_reps": 100, "n_ok": 100, "data": "SIMULATED", **r} for r in rows])


def test_check_requires_simulated_label_and_columns(tmp_path):
    good = _table([{"design": "region", "estimator": "cs", "coverage_95": 0.9}])
    assert mcs.check_monte_carlo(good, "x.csv") is good
    with pytest.raises(DataValidationError, match="row\\(s\\) 1 are not labelled SIMULATED"):
        mcs.check_monte_carlo(good.assign(data="REAL"), "x.csv")
    with pytest.raises(DataValidationError, match="lacks column\\(s\\) bias"):
        mcs.check_monte_carlo(good.drop(columns="bias"), "x.csv")
    with pytest.raises(DataValidationError, match="missing; produce it with `python benchmarks/monte_carlo.py"):
        mcs.load_monte_carlo(str(tmp_path / "absent.csv"))
    good.to_csv(tmp_path / "mc.csv", index=False)
    assert len(mcs.load_monte_carlo(str(tmp_path / "mc.csv"))) == 1
    assert mcs.load_monte_carlo_meta(str(tmp_path / "mc.csv")) == {}  # no sidecar: no run arguments


def test_values_follow_the_rules_on_a_hand_built_table():
    mc = _table([
        # under-covers: 0.80 + 2 * 0.02 < 0.95
        {"design": "few_clusters", "estimator": "cs_never", "coverage_95": 0.80, "coverage_mcse": 0.02,
         "mean_se": 0.05, "sd_estimate": 0.10},
        # within the goal range
        {"design": "few_clusters", "estimator": "cs_never_ri", "coverage_95": 0.95, "coverage_mcse": 0.01,
         "share_infinite_ci": 0.0, "n_reps": 500, "n_ok": 480},
        # below the goal range by less than two MC SEs (and under-covering: 0.91 + 2 * 0.01 < 0.95)
        {"design": "few_clusters", "estimator": "cs_never_boot", "coverage_95": 0.91, "coverage_mcse": 0.01,
         "band_coverage_95": 0.10, "band_coverage_mcse": 0.01, "pointwise_joint_coverage_95": 0.05},
        {"design": "region", "estimator": "sa_boot", "coverage_95": 0.94, "coverage_mcse": 0.01,
         "band_coverage_95": 0.94, "band_coverage_mcse": 0.01, "pointwise_joint_coverage_95": 0.60},
    ])
    v = mcs.monte_carlo_values(mc, meta={"n_ri_permutations": 199})
    assert v.n_designs == 2 and v.n_rows == 4 and v.max_reps == 480
    assert v.total_failed == 20
    assert v.n_undercover == 2
    assert v.undercover_list == "cs_never (few_clusters, 80 %); cs_never_boot (few_clusters, 91 %)"
    assert v.few_clusters_cs_never_se_ratio == pytest.approx(0.5)
    assert v.cs_ri_goal_text == "within the goal range"
    assert v.cs_boot_goal_text == "below the goal range, but within two Monte Carlo standard errors of it"
    assert v.few_clusters_cs_never_ri_reps == 480 and v.n_ri_permutations == 199
    assert v.band_coverage_min == pytest.approx(0.10) and v.band_coverage_max == pytest.approx(0.94)
    assert v.band_undercover_list == "cs_never_boot (few_clusters, 10 %)"
    assert v.region_sa_boot_band_coverage == pytest.approx(0.94)
    # rows the table lacks are None, never a number
    assert v.few_clusters_twfe_ri_coverage is None and v.single_unit_twfe_coverage is None
    assert list(v.bands["estimator"]) == ["cs_never_boot", "sa_boot"]


def test_published_fields_of_the_committed_table_match_it():
    path = ROOT / "data" / "simulation" / "monte_carlo.csv"
    raw = pd.read_csv(path, keep_default_na=False, na_values=[""])
    meta = json.loads(path.with_suffix(".json").read_text())
    v = mcs.monte_carlo_study(str(path))
    published = _published(v)
    # every published value is a plain scalar or text (the page publishes the dataclass whole)
    assert all(x is None or isinstance(x, int | float | str) for x in published.values())
    row = raw.set_index(["design", "estimator"])
    assert published["few_clusters_cs_never_coverage"] == pytest.approx(row.loc[("few_clusters", "cs_never"),
                                                                                 "coverage_95"])
    assert published["region_cs_never_boot_band_coverage"] == pytest.approx(
        row.loc[("region", "cs_never_boot"), "band_coverage_95"])
    assert v.n_rows == len(raw) and v.n_designs == raw["design"].nunique()
    assert v.total_failed == int((raw["n_reps"] - raw["n_ok"]).sum())
    assert v.n_ri_permutations == meta.get("n_ri_permutations")
    if ("few_clusters", "cs_never_ri") in row.index:
        assert v.few_clusters_cs_never_ri_coverage == pytest.approx(row.loc[("few_clusters", "cs_never_ri"),
                                                                            "coverage_95"])
    # the under-coverage rule, recomputed
    cov = raw.dropna(subset=["coverage_95"])
    assert v.n_undercover == int((cov["coverage_95"] < 0.95 - 2 * cov["coverage_mcse"]).sum())
