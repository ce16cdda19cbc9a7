"""The demonstration pages on SIMULATED data (``notebooks/describe_simulated.md`` and ``twfe_simulated.md``): a
staggered panel with a known effect, and the static TWFE estimate against that truth.

Every number here is SIMULATED (:func:`clusterpolicy.data.synthetic.simulate_region_panel`); none describes a real
region. Estimand of :func:`twfe_simulated`: the static TWFE coefficient on ``1[treated and at/after onset]``,
compared with the true simple ATT (the average of the unit-level effects over treated post-onset observations).
TWFE recovers it when the effect is the same for every cohort and period (parallel trends hold by construction);
with effects that differ by cohort and grow over time its implicit weights can be negative and it can miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusterpolicy.data.synthetic import SimulatedPanel, simulate_region_panel
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.report.glue import not_published

ROLES: dict[str, Any] = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}


@dataclass(frozen=True)
class DescribeValues:
    """Published keys of ``describe_simulated.md`` (SIMULATED)."""

    n_regions: int
    n_years: int
    n_treated: int
    true_att: float
    cohort_sizes: pd.DataFrame = not_published()
    panel: pd.DataFrame = not_published()


def describe_simulated(*, seed: int, n_regions: int, treated_share: float, effect: float) -> DescribeValues:
    """The simulated panel of the demonstration: its size, treated regions, true ATT and regions per cohort."""
    sim = simulate_region_panel(n_regions=n_regions, treated_share=treated_share, effect=effect, seed=seed)
    panel = sim.data
    units = panel.drop_duplicates("region")
    return DescribeValues(
        n_regions=int(panel["region"].nunique()), n_years=int(panel["year"].nunique()),
        n_treated=int((units["cohort"] > 0).sum()), true_att=sim.true_att(),
        cohort_sizes=units.groupby("cohort").size().rename("regions").to_frame(), panel=panel,
    )


@dataclass(frozen=True)
class TwfeValues:
    """Published keys of ``twfe_simulated.md`` (SIMULATED): the static TWFE estimate (``twfe_*``), the truth, the
    bias and whether the interval covers the truth."""

    twfe_estimate: float
    twfe_se: float
    twfe_ci_low: float
    twfe_ci_high: float
    twfe_p_value: float | None
    twfe_n_obs: int
    twfe_n_units: int
    true_att: float
    bias: float
    truth_in_ci: bool
    static: EstimationResult = not_published()
    event_study: EstimationResult = not_published()
    simulation: SimulatedPanel = not_published()
    table: pd.DataFrame = not_published()


def twfe_simulated(*, seed: int, n_regions: int, effect: float, dynamic: float, heterogeneity: float) -> TwfeValues:
    """Simulate a panel with the given effect heterogeneity and dynamics, estimate static and event-study TWFE,
    and compare the static estimate with the true ATT."""
    sim = simulate_region_panel(n_regions=n_regions, effect=effect, dynamic=dynamic, heterogeneity=heterogeneity,
                                seed=seed)
    static = estimate(sim.data, estimator="twfe", **ROLES)
    dynamic_es = estimate(sim.data, estimator="twfe_es", **ROLES)
    truth = sim.true_att()
    table = pd.DataFrame([
        {"quantity": "TWFE estimate", "value": static.estimate, "se": static.se},
        {"quantity": "True average effect (simulated)", "value": truth, "se": float("nan")},
    ])
    return TwfeValues(
        twfe_estimate=static.estimate, twfe_se=static.se, twfe_ci_low=static.ci_low, twfe_ci_high=static.ci_high,
        twfe_p_value=static.p_value, twfe_n_obs=static.n_obs, twfe_n_units=static.n_units, true_att=truth,
        bias=static.estimate - truth, truth_in_ci=bool(static.ci_low <= truth <= static.ci_high),
        static=static, event_study=dynamic_es, simulation=sim, table=table,
    )


__all__ = ["DescribeValues", "TwfeValues", "describe_simulated", "twfe_simulated"]
