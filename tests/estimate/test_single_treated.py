"""The one-treated-unit (or cluster) rule: no analytic or bootstrap interval or band; placebo-in-space p-values and
Conley-Taber intervals as typed result fields.

Panels are SIMULATED (``_simulate`` from ``test_few_treated``): 20 units x 10 years, one treated unit from 2016.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.cli.main import run_cli
from clusterpolicy.estimate import estimate
from clusterpolicy.estimate.bootstrap import BootstrapSpec
from clusterpolicy.estimate.few_treated import conley_taber
from tests.estimate.test_few_treated import KW, _simulate


@pytest.fixture(scope="module")
def one() -> pd.DataFrame:
    return _simulate(np.random.default_rng(5), effect=1.0)


def _fit(frame: pd.DataFrame, **kw: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(frame, **KW, **kw)  # type: ignore[arg-type]


def test_cs_bootstrap_publishes_no_band_with_one_treated_unit(one: pd.DataFrame) -> None:
    res = _fit(one, estimator="cs", bootstrap=BootstrapSpec(n_boot=199, seed=11))
    assert res.inference.method == "placebo-in-space"
    assert res.inference.uniform_critical_value is None and math.isnan(res.inference.critical_value)
    es = res.event_study
    assert es is not None
    for col in ("ci_low", "ci_high", "uniform_low", "uniform_high"):
        assert es[col].isna().all(), col
    assert res.placebo is not None and res.placebo.n_placebos == 19
    assert res.p_value == res.placebo.p_value
    # CS's simple ATT is not the static DiD coefficient: the CT interval is reported but is not the published one
    assert res.conley_taber is not None and not res.conley_taber.used
    assert "inverting the placebo test" in res.inference.se_type
    payload = res.to_dict()
    assert payload["inference"]["uniform_critical_value"] is None
    assert all(r["uniform_low"] is None and r["ci_low"] is None for r in payload["event_study"])
    assert payload["overall"]["placebo_p_value"] == pytest.approx(res.placebo.p_value)
    assert payload["placebo_in_space"]["n_placebos"] == 19
    assert payload["overall"]["conley_taber_low"] == pytest.approx(res.conley_taber.ci_low)
    assert "placebo_in_space" not in res.details and "conley_taber" not in res.details


def test_twfe_publishes_the_conley_taber_interval(one: pd.DataFrame) -> None:
    res = _fit(one, estimator="twfe")
    ct = conley_taber(one, **KW, level=0.95)
    assert res.conley_taber is not None and res.conley_taber.used
    assert (res.ci_low, res.ci_high) == pytest.approx((ct.ci_low, ct.ci_high), abs=1e-12)
    assert res.estimate == pytest.approx(ct.estimate, abs=1e-10)
    assert "Conley-Taber" in res.inference.se_type
    assert res.to_dict()["conley_taber"]["used"] is True


def test_one_treated_cluster_of_several_units_gets_no_interval(one: pd.DataFrame) -> None:
    two = one.copy()
    two.loc[two["u"] == "U01", "g"] = 2016  # a second treated unit, in the same cluster as U00
    two["cl"] = np.where(two["u"].isin(["U00", "U01"]), "C0", two["u"])
    res = _fit(two, estimator="twfe", cluster="cl")
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high) and res.p_value is None
    assert res.inference.method == "none" and res.placebo is None
    assert any("one treated cluster" in w and "Fix:" in w for w in res.warnings)


def test_cli_twfe_bootstrap_is_not_run_with_one_treated_unit(one: pd.DataFrame, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "one.csv", tmp_path / "one.json"
    one.to_csv(data, index=False)
    with pytest.raises(SystemExit) as exc:
        run_cli(["estimate", "--data", str(data), "--unit", "u", "--time", "t", "--cohort", "g", "--outcome", "y",
                 "--estimator", "twfe", "--bootstrap", "99", "--seed", "1", "--json", str(out)])
    assert int(exc.value.code or 0) == 0
    captured = capsys.readouterr()
    payload = json.loads(out.read_text())
    assert "wild_bootstrap" not in payload["details"]
    assert "Wild cluster bootstrap" not in captured.out and "--bootstrap ignored" in captured.err
    assert payload["inference"]["method"] == "placebo-in-space"


def test_typed_fields_replace_details_contracts() -> None:
    from clusterpolicy.data.synthetic import simulate_region_panel

    sim = simulate_region_panel(seed=3)
    roles = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = estimate(sim.data, estimator="cs", **roles)  # type: ignore[arg-type]
    assert cs.base_period == "varying" and cs.to_dict()["base_period"] == "varying"
    assert "base_period" not in cs.details


def test_etwfe_counterfactual_mean_is_a_typed_field() -> None:
    from clusterpolicy.data.synthetic import simulate_region_panel

    sim = simulate_region_panel(n_regions=60, seed=11)
    res = estimate(sim.data, estimator="etwfe", unit="region", time="year", cohort="cohort",
                   outcome="collaborations")
    cells = pd.DataFrame(res.details["cells"])
    post = cells[cells["time"] >= cells["group"]]
    n_cell = [int(((sim.data["cohort"] == r.group) & (sim.data["year"] == r.time)).sum()) for r in post.itertuples()]
    # the observation-weighted counterfactual mean of the treated post-onset cells, recomputed from the cells
    assert res.counterfactual_mean == pytest.approx(np.average(post["mean_untreated"], weights=n_cell), rel=1e-12)
    assert res.details["proportional_effect"] == pytest.approx(res.estimate / res.counterfactual_mean, rel=1e-12)
    assert "mean_untreated_counterfactual" not in res.details
    assert res.to_dict()["counterfactual_mean"] == pytest.approx(res.counterfactual_mean)
