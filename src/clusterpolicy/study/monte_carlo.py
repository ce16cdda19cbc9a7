"""Study rules of the Monte Carlo page (``notebooks/monte_carlo.md``): how the estimators perform on SIMULATED
panels with a known truth.

:func:`load_monte_carlo` reads and checks the table ``benchmarks/monte_carlo.py`` writes
(``data/simulation/monte_carlo.csv``, with its ``.json`` sidecar); :func:`monte_carlo_values` turns it into a frozen
:class:`MonteCarloValues` whose scalar fields are the page's published keys
(:func:`clusterpolicy.report.glue.publish_fields`) and whose frame fields (``not_published()``) are the
tables the page shows and the frame :func:`clusterpolicy.report.context_figures.mc_coverage_figure` draws.

Estimands (all SIMULATED): coverage is the share of replications whose nominal 95 % interval contains the
design's truth (see the benchmark's docstring for each design's truth), with Monte Carlo standard error
``sqrt(p (1 - p) / R)``; band coverage is the share in which a uniform event-study band covers the true effect at
every event time of the band. Assumption: the table was produced by the committed command (the check below
verifies the columns and the SIMULATED label, not the numbers).

Nothing is estimated here: every number is read from the simulation table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.errors import DataValidationError
from clusterpolicy.report.glue import not_published

#: Columns the page needs from ``monte_carlo.csv``.
MC_COLUMNS = ("design", "estimator", "truth_mean", "bias", "bias_mcse", "rmse", "sd_estimate", "mean_se",
              "coverage_95", "coverage_mcse", "share_infinite_ci", "band_coverage_95", "band_coverage_mcse",
              "pointwise_joint_coverage_95", "mean_band_event_times", "n_reps", "n_ok", "data")

#: The command that produces the table (quoted in error messages).
MC_COMMAND = ("python benchmarks/monte_carlo.py --reps 500 --seed 20240 --out data/simulation/monte_carlo.csv "
              "--workers 2")

#: Coverage goal of the inference issue for 95 % intervals in the few-cluster design: close enough to the nominal
#: level that a reader can take the interval at its word (a Monte Carlo SE at 500 replications is about 0.01).
COVERAGE_GOAL = (0.92, 0.97)

def _resolve(path: str | None) -> Path:
    from clusterpolicy.paths import data_dir, project_root

    p = Path(path) if path else data_dir() / "simulation" / "monte_carlo.csv"
    return project_root() / p if path and not p.is_absolute() else p


def load_monte_carlo(path: str | None = None) -> pd.DataFrame:
    """Read and validate the Monte Carlo summary table (SIMULATION), default ``data/simulation/monte_carlo.csv``.

    Raises
    ------
    DataValidationError
        One line naming the file and how to produce it, if it is missing; or as :func:`check_monte_carlo`.
    """
    p = _resolve(path)
    if not p.is_file():
        raise DataValidationError(f"{p} is missing; produce it with `{MC_COMMAND}` (see data/simulation/README.md), "
                                  "then re-run this page.")
    return check_monte_carlo(pd.read_csv(p, keep_default_na=False, na_values=[""]), str(p))


def check_monte_carlo(mc: pd.DataFrame, path: str) -> pd.DataFrame:
    """Validate the Monte Carlo summary (``data/simulation/monte_carlo.csv``) and return it.

    Raises
    ------
    DataValidationError
        If columns are missing or any row is not labelled ``SIMULATED``.
    """
    missing = [c for c in MC_COLUMNS if c not in mc.columns]
    if missing:
        raise DataValidationError(f"{path} lacks column(s) {', '.join(missing)}; regenerate it with "
                                  "`python benchmarks/monte_carlo.py` (see data/simulation/README.md).")
    bad = mc["data"].astype(str) != "SIMULATED"
    if bad.any():
        raise DataValidationError(f"{path}, column data: row(s) {', '.join(str(i + 1) for i in mc.index[bad][:5])} "
                                  "are not labelled SIMULATED; this table may hold only simulation results.")
    return mc


def load_monte_carlo_meta(path: str | None = None) -> dict[str, Any]:
    """The ``.json`` sidecar of the table (the run's arguments); ``{}`` when absent (older tables)."""
    p = _resolve(path).with_suffix(".json")
    if not p.is_file():
        return {}
    meta: dict[str, Any] = json.loads(p.read_text())
    return meta


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def _cell(mc: pd.DataFrame, design: str, estimator: str, column: str) -> float | None:
    """One number of the table (``None`` when the row is absent or reports no such number)."""
    hit = mc.loc[(mc["design"] == design) & (mc["estimator"] == estimator), column]
    return _num(hit.iloc[0]) if len(hit) else None


def _se_ratio(mc: pd.DataFrame, design: str, estimator: str) -> float | None:
    """Mean reported SE over the spread of the estimates (1 when the SE is right on average)."""
    se, sd = _cell(mc, design, estimator, "mean_se"), _cell(mc, design, estimator, "sd_estimate")
    return se / sd if se is not None and sd else None


def _goal_text(coverage: float | None, mcse: float | None) -> str:
    """Where a coverage lies against :data:`COVERAGE_GOAL`, in words (allowing two Monte Carlo SEs)."""
    if coverage is None:
        return "not computed"
    low, high = COVERAGE_GOAL
    slack = 2 * (mcse or 0.0)
    if low <= coverage <= high:
        return "within the goal range"
    if coverage < low:
        return ("below the goal range, but within two Monte Carlo standard errors of it" if coverage + slack >= low
                else "below the goal range")
    return ("above the goal range (conservative), but within two Monte Carlo standard errors of it"
            if coverage - slack <= high else "above the goal range (conservative)")


@dataclass(frozen=True)
class MonteCarloValues:
    """Published keys of the Monte Carlo page (SIMULATION).

    General keys count designs, rows and failures and list the intervals that under-cover (coverage more than two
    Monte Carlo SEs below nominal). Row keys ``<design>_<estimator>_<quantity>`` are the numbers the prose quotes
    (``coverage``: of the 95 % interval; ``band_coverage`` / ``joint_coverage``: of the uniform band / of all
    pointwise intervals at once; ``se_ratio``: mean SE over the SD of the estimates). ``cs_*_goal_text`` place
    the few-cluster CS coverages against :data:`COVERAGE_GOAL`. The full table is an exhibit (``table``).
    """

    nominal_pct: float
    n_designs: int
    n_estimators: int
    n_rows: int
    max_reps: int
    total_failed: int
    n_undercover: int
    undercover_list: str
    typical_coverage_mcse: float | None
    n_band_rows: int
    band_coverage_min: float | None
    band_coverage_max: float | None
    joint_coverage_min: float | None
    joint_coverage_max: float | None
    band_undercover_list: str
    goal_low: float
    goal_high: float
    n_ri_permutations: int | None
    cs_ri_goal_text: str
    cs_boot_goal_text: str
    region_twfe_truth: float | None
    region_twfe_bias: float | None
    region_cs_notyet_bias: float | None
    region_cs_never_boot_band_coverage: float | None
    region_cs_never_boot_joint_coverage: float | None
    region_sa_boot_band_coverage: float | None
    region_imputation_boot_band_coverage: float | None
    firm_poisson_coverage: float | None
    firm_etwfe_coverage: float | None
    firm_imputation_coverage: float | None
    few_clusters_twfe_coverage: float | None
    few_clusters_twfe_wcr_coverage: float | None
    few_clusters_twfe_ri_coverage: float | None
    few_clusters_cs_never_coverage: float | None
    few_clusters_cs_never_normal_coverage: float | None
    few_clusters_cs_never_boot_coverage: float | None
    few_clusters_cs_never_welch_coverage: float | None
    few_clusters_cs_never_ri_coverage: float | None
    few_clusters_cs_never_ri_coverage_mcse: float | None
    few_clusters_cs_never_ri_share_infinite: float | None
    few_clusters_cs_never_ri_reps: int | None
    few_clusters_cs_never_se_ratio: float | None
    few_clusters_cs_never_boot_band_coverage: float | None
    few_clusters_sa_boot_band_coverage: float | None
    few_clusters_imputation_boot_band_coverage: float | None
    single_unit_twfe_coverage: float | None
    single_unit_twfe_share_infinite: float | None
    table: pd.DataFrame = not_published()
    bands: pd.DataFrame = not_published()
    coverage: pd.DataFrame = not_published()
    undercover: pd.DataFrame = not_published()


def monte_carlo_values(mc: pd.DataFrame, *, nominal: float = 0.95, meta: dict[str, Any] | None = None
                       ) -> MonteCarloValues:
    """The page's numbers and tables from the checked simulation table ``mc`` (and its sidecar ``meta``)."""
    meta = meta or {}
    cov = mc.dropna(subset=["coverage_95"])
    # An interval "under-covers" when its coverage is more than two Monte Carlo SEs below the nominal level.
    under = cov[cov["coverage_95"] < nominal - 2 * cov["coverage_mcse"]]
    bands = mc.dropna(subset=["band_coverage_95"])
    band_under = bands[bands["band_coverage_95"] < nominal - 2 * bands["band_coverage_mcse"]]
    table = mc[["design", "estimator", "truth_mean", "bias", "bias_mcse", "rmse", "sd_estimate", "mean_se",
                "coverage_95", "coverage_mcse", "share_infinite_ci", "n_ok"]].rename(
        columns={"truth_mean": "truth", "bias_mcse": "bias MC SE", "sd_estimate": "SD of estimates",
                 "mean_se": "mean SE", "coverage_95": "coverage", "coverage_mcse": "coverage MC SE",
                 "share_infinite_ci": "unbounded CI share", "n_ok": "reps"})
    band_table = bands[["design", "estimator", "mean_band_event_times", "band_coverage_95", "band_coverage_mcse",
                        "pointwise_joint_coverage_95", "n_ok"]].rename(
        columns={"mean_band_event_times": "event times in band", "band_coverage_95": "band coverage",
                 "band_coverage_mcse": "band MC SE", "pointwise_joint_coverage_95": "pointwise joint coverage",
                 "n_ok": "reps"})
    n_ri = meta.get("n_ri_permutations")
    ri_reps = _cell(mc, "few_clusters", "cs_never_ri", "n_ok")

    def c(design: str, estimator: str, column: str = "coverage_95") -> float | None:
        return _cell(mc, design, estimator, column)

    def lst(frame: pd.DataFrame, column: str) -> str:
        return "; ".join(f"{r['estimator']} ({r['design']}, {100 * r[column]:.0f} %)"
                         for r in frame.to_dict("records")) or "none"

    def extreme(frame: pd.DataFrame, column: str, how: str) -> float | None:
        return _num(getattr(frame[column], how)()) if len(frame) else None

    band, joint = "band_coverage_95", "pointwise_joint_coverage_95"
    return MonteCarloValues(
        nominal_pct=100 * nominal, n_designs=int(mc["design"].nunique()),
        n_estimators=int(mc["estimator"].nunique()), n_rows=int(len(mc)), max_reps=int(mc["n_ok"].max()),
        total_failed=int((mc["n_reps"] - mc["n_ok"]).sum()), n_undercover=int(len(under)),
        undercover_list=lst(under, "coverage_95"),
        typical_coverage_mcse=_num(cov["coverage_mcse"].median()) if len(cov) else None,
        n_band_rows=int(len(bands)), band_coverage_min=extreme(bands, band, "min"),
        band_coverage_max=extreme(bands, band, "max"), joint_coverage_min=extreme(bands, joint, "min"),
        joint_coverage_max=extreme(bands, joint, "max"), band_undercover_list=lst(band_under, band),
        goal_low=COVERAGE_GOAL[0], goal_high=COVERAGE_GOAL[1],
        n_ri_permutations=int(n_ri) if n_ri is not None else None,
        cs_ri_goal_text=_goal_text(c("few_clusters", "cs_never_ri"), c("few_clusters", "cs_never_ri", "coverage_mcse")),
        cs_boot_goal_text=_goal_text(c("few_clusters", "cs_never_boot"),
                                     c("few_clusters", "cs_never_boot", "coverage_mcse")),
        region_twfe_truth=c("region", "twfe", "truth_mean"), region_twfe_bias=c("region", "twfe", "bias"),
        region_cs_notyet_bias=c("region", "cs_notyet", "bias"),
        region_cs_never_boot_band_coverage=c("region", "cs_never_boot", band),
        region_cs_never_boot_joint_coverage=c("region", "cs_never_boot", joint),
        region_sa_boot_band_coverage=c("region", "sa_boot", band),
        region_imputation_boot_band_coverage=c("region", "imputation_boot", band),
        firm_poisson_coverage=c("firm", "poisson"), firm_etwfe_coverage=c("firm", "etwfe"),
        firm_imputation_coverage=c("firm", "imputation"),
        few_clusters_twfe_coverage=c("few_clusters", "twfe"), few_clusters_twfe_wcr_coverage=c("few_clusters", "twfe_wcr"),
        few_clusters_twfe_ri_coverage=c("few_clusters", "twfe_ri"),
        few_clusters_cs_never_coverage=c("few_clusters", "cs_never"),
        few_clusters_cs_never_normal_coverage=c("few_clusters", "cs_never_normal"),
        few_clusters_cs_never_boot_coverage=c("few_clusters", "cs_never_boot"),
        few_clusters_cs_never_welch_coverage=c("few_clusters", "cs_never_welch"),
        few_clusters_cs_never_ri_coverage=c("few_clusters", "cs_never_ri"),
        few_clusters_cs_never_ri_coverage_mcse=c("few_clusters", "cs_never_ri", "coverage_mcse"),
        few_clusters_cs_never_ri_share_infinite=c("few_clusters", "cs_never_ri", "share_infinite_ci"),
        few_clusters_cs_never_ri_reps=int(ri_reps) if ri_reps is not None else None,
        few_clusters_cs_never_se_ratio=_se_ratio(mc, "few_clusters", "cs_never"),
        few_clusters_cs_never_boot_band_coverage=c("few_clusters", "cs_never_boot", band),
        few_clusters_sa_boot_band_coverage=c("few_clusters", "sa_boot", band),
        few_clusters_imputation_boot_band_coverage=c("few_clusters", "imputation_boot", band),
        single_unit_twfe_coverage=c("single_unit", "twfe"),
        single_unit_twfe_share_infinite=c("single_unit", "twfe", "share_infinite_ci"),
        table=table, bands=band_table, coverage=cov, undercover=under,
    )


def monte_carlo_study(path: str | None = None, *, nominal: float = 0.95) -> MonteCarloValues:
    """Load and check the simulation table at ``path`` (default ``data/simulation/monte_carlo.csv``) and compute
    the page's values."""
    return monte_carlo_values(load_monte_carlo(path), nominal=nominal, meta=load_monte_carlo_meta(path))
