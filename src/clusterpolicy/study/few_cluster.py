"""Few-cluster inference on the Italian panel (``notebooks/few_cluster_inference.md``): one coefficient judged by
clustered standard errors, the restricted wild cluster bootstrap and randomisation inference.

Estimands: the static TWFE coefficient on ``1[treated and at/after onset]`` (a convenient target for inference, not
the best estimate of the effect: its weights can be negative when effects differ by cohort) and the
Callaway-Sant'Anna ATT with not-yet-treated controls. Assumptions: parallel trends on the chosen scale and no
anticipation for the estimates; the bootstrap and CR1 test a zero coefficient with any heterogeneity and rest on
about twenty clusters; randomisation inference tests the sharp null of no effect in any region and year, with
adoption years exchangeable across regions (within macro-areas for the CS variant). Seeded: the same inputs give
the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from clusterpolicy.estimate.api import BoundEstimate, estimate
from clusterpolicy.estimate.bootstrap import BootstrapSpec
from clusterpolicy.estimate.inference import randomization_inference, wild_cluster_bootstrap, with_randomization
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.panel import AnalysisPanel, analysis_panel
from clusterpolicy.study.wording import certainty, direction

ROLES: dict[str, Any] = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}


@dataclass(frozen=True)
class FewClusterValues:
    """Published keys of ``few_cluster_inference.md``; the comparison table and the fitted objects are not
    published (the template draws them)."""

    n_clusters: int
    n_treated: int
    n_control: int
    first_year: int
    last_year: int
    outcome_label: str
    twfe_estimate: float
    cr1_se: float
    cr1_ci_low: float
    cr1_ci_high: float
    cr1_p_value: float | None
    wcb_p_value: float
    wcb_ci_low: float
    wcb_ci_high: float
    wcb_weights: str
    wcb_full_enumeration: bool
    wcb_n_boot: int
    ri_t_p_value: float
    ri_estimate_p_value: float
    ri_n_permutations: int
    ri_n_assignments: int
    direction_cr1: str
    direction_wcb: str
    certainty_wcb: str
    max_p_value: float
    min_p_value: float
    wcb_ci_ratio: float
    cs_estimate: float
    cs_p_value: float | None
    cs_boot_p_value: float | None
    cs_ri_p_value: float | None
    table: pd.DataFrame = not_published()
    panel: AnalysisPanel = not_published()
    fits: dict[str, Any] = not_published()


def few_cluster_study(*, outcome: str, transform: str, definition: str, first_year: int, last_year: int,
                      n_boot: int, n_permutations: int, max_enumeration_clusters: int, seed: int) -> FewClusterValues:
    """Estimate the static TWFE coefficient and the CS ATT on one Italian panel and judge their uncertainty seven
    ways (CR1 with t(G-1); wild cluster bootstrap, Rademacher with every sign pattern when ``2^G`` is small enough,
    else Webb weights; randomisation inference on the t-statistic and on the coefficient; CS with the rule's
    interval, the multiplier bootstrap and randomisation within macro-areas)."""
    panel = analysis_panel(outcome, transform=cast(Any, transform), definition=definition, first_year=first_year,
                           last_year=last_year)
    data = panel.data.assign(post=((panel.data["cohort"] > 0)
                                   & (panel.data["year"] >= panel.data["cohort"])).astype(float))
    n_clusters = panel.n_regions
    # estimate(frame, estimator="twfe", **ROLES) with its arguments bound: randomisation inference then prepares
    # the panel once and refits only the permuted treatment (same numbers, a fraction of the time).
    fit = BoundEstimate(estimator="twfe", **ROLES)
    conventional = fit(data)
    enumerate_all = n_clusters <= max_enumeration_clusters
    wcb = wild_cluster_bootstrap(data, outcome="y", term="post", cluster="nuts2", fixed_effects=["nuts2", "year"],
                                 weights="rademacher" if enumerate_all else "webb", n_boot=n_boot,
                                 full_enumeration=enumerate_all, max_enumeration_clusters=max_enumeration_clusters,
                                 seed=seed)
    ri_t = randomization_inference(data, fit, unit="nuts2", cohort="cohort", statistic="t",
                                   n_permutations=n_permutations, seed=seed)
    ri_b = randomization_inference(data, fit, unit="nuts2", cohort="cohort", statistic="estimate",
                                   n_permutations=n_permutations, seed=seed + 1)
    cs_analytic = estimate(data, estimator="cs", control="notyet", **ROLES)
    cs_boot = estimate(data, estimator="cs", control="notyet", bootstrap=BootstrapSpec(n_boot=999, seed=seed),
                       **ROLES)
    cs_ri = with_randomization(cs_analytic, data, unit="nuts2", time="year", cohort="cohort",
                               n_permutations=n_permutations, seed=seed, strata="macro_area", estimator="cs",
                               control="notyet", outcome="y")
    ri_cs = cs_ri.randomization or {}
    boot_label = ("Wild bootstrap WCR "
                  + (f"(Rademacher, {wcb.n_boot} patterns)" if wcb.full_enumeration else f"(Webb, {wcb.n_boot})"))
    table = pd.DataFrame([
        {"method": f"Clustered CR1, t({n_clusters - 1})", "estimate": conventional.estimate,
         "ci_low": conventional.ci_low, "ci_high": conventional.ci_high, "p_value": conventional.p_value},
        {"method": boot_label, "estimate": wcb.estimate, "ci_low": wcb.ci_low, "ci_high": wcb.ci_high,
         "p_value": wcb.p_value},
        {"method": f"Randomisation, t-stat ({ri_t.n_permutations})",
         "estimate": conventional.estimate, "ci_low": np.nan, "ci_high": np.nan, "p_value": ri_t.p_value},
        {"method": f"Randomisation, coefficient ({ri_b.n_permutations})",
         "estimate": conventional.estimate, "ci_low": np.nan, "ci_high": np.nan, "p_value": ri_b.p_value},
        {"method": f"Callaway-Sant'Anna, t({cs_analytic.inference.df})", "estimate": cs_analytic.estimate,
         "ci_low": cs_analytic.ci_low, "ci_high": cs_analytic.ci_high, "p_value": cs_analytic.p_value},
        {"method": f"Callaway-Sant'Anna, multiplier bootstrap ({cs_boot.inference.n_boot})",
         "estimate": cs_boot.estimate, "ci_low": cs_boot.ci_low, "ci_high": cs_boot.ci_high,
         "p_value": cs_boot.p_value},
        {"method": f"Callaway-Sant'Anna, randomisation within macro-areas ({ri_cs.get('n_permutations')})",
         "estimate": cs_analytic.estimate, "ci_low": np.nan, "ci_high": np.nan, "p_value": ri_cs.get("p_value")},
    ])
    return FewClusterValues(
        n_clusters=n_clusters, n_treated=panel.n_treated, n_control=panel.n_control, first_year=panel.first_year,
        last_year=panel.last_year, outcome_label=panel.label, twfe_estimate=conventional.estimate,
        cr1_se=conventional.se, cr1_ci_low=conventional.ci_low, cr1_ci_high=conventional.ci_high,
        cr1_p_value=conventional.p_value, wcb_p_value=wcb.p_value, wcb_ci_low=wcb.ci_low, wcb_ci_high=wcb.ci_high,
        wcb_weights=wcb.weights, wcb_full_enumeration=wcb.full_enumeration, wcb_n_boot=wcb.n_boot,
        ri_t_p_value=ri_t.p_value, ri_estimate_p_value=ri_b.p_value, ri_n_permutations=ri_t.n_permutations,
        ri_n_assignments=ri_t.n_assignments, direction_cr1=direction(conventional.ci_low, conventional.ci_high),
        direction_wcb=direction(wcb.ci_low, wcb.ci_high), certainty_wcb=certainty(wcb.p_value),
        max_p_value=float(table["p_value"].max()), min_p_value=float(table["p_value"].min()),
        wcb_ci_ratio=(wcb.ci_high - wcb.ci_low) / (conventional.ci_high - conventional.ci_low),
        cs_estimate=cs_analytic.estimate, cs_p_value=cs_analytic.p_value, cs_boot_p_value=cs_boot.p_value,
        cs_ri_p_value=ri_cs.get("p_value"), table=table, panel=panel,
        fits={"conventional": conventional, "wcb": wcb, "ri_t": ri_t, "ri_b": ri_b, "cs_analytic": cs_analytic,
              "cs_boot": cs_boot, "cs_ri": cs_ri},
    )


__all__ = ["FewClusterValues", "few_cluster_study"]
