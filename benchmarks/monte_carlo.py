"""Monte Carlo study of the estimators on SIMULATED panels with a known truth: bias, RMSE and 95 % CI coverage.

Usage::

    python benchmarks/monte_carlo.py --reps 500 --seed 20240 --out data/simulation/monte_carlo.csv --workers 2
    python benchmarks/monte_carlo.py --reps 20 --out /tmp/mc.csv            # quick mode (tests)

Designs (all data SIMULATED by :mod:`clusterpolicy.data.synthetic`):

``region``
    ``simulate_region_panel`` defaults: 40 regions, 2005-2020, half treated in four cohorts, effect growing with
    event time and heterogeneous across cohorts (so static TWFE is biased by construction). Truth: the simple ATT,
    the observation-weighted mean of the true effect over treated post-adoption region-years (``true_att``); the
    count outcome's truth is the same mean of the true log rate ratio.
``few_clusters``
    10 regions, 3 treated (cohorts 2009, 2012, 2014), constant effect 0.10 (TWFE unbiased). Compares the
    conventional cluster-robust interval with the wild cluster bootstrap (WCR, all 1,024 Rademacher sign patterns,
    interval by test inversion).
``single_unit``
    30 regions, one treated from 2015, constant effect 0.10: synthetic control (no standard error; bias/RMSE only)
    versus TWFE with a single treated cluster.
``firm``
    ``simulate_firm_panel``: 400 firms in 21 regions (negative binomial counts), policy at region level, standard
    errors clustered by region. Truths: mean true log rate ratio (``poisson``) and mean true level ATT, expected
    extra collaborations per treated firm-year (``etwfe``, ``cs``, ``imputation`` on the count). Slow, so it
    runs ``--firm-reps`` replications (default ``min(--reps, 200)``; coverage MC SE ~0.015).

Coverage is the share of replications whose 95 % interval contains the truth; its Monte Carlo standard error is
``sqrt(p (1 - p) / R)`` (about 0.01 at R = 500 and p = 0.95, so 0.95 and 0.90 are told apart). Replication ``r`` of
every design uses the seed ``seeds[r]`` drawn from ``numpy.random.default_rng(--seed)``: same arguments, same table
(byte for byte), whatever the number of workers.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing as mp
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.fsutil import atomic_write_text

logger = logging.getLogger("monte_carlo")

DESIGNS = ("region", "few_clusters", "single_unit", "firm")
FLOAT_FORMAT = "%.6f"


# ------------------------------------------------------------------------------------------------ one replication
def _row(design: str, rep: int, estimator: str, outcome: str, estimand: str, truth: float,
         fn: Callable[[], Any]) -> dict[str, Any]:
    """Run one estimator; record estimate, SE and CI or the failure (never a silent number)."""
    base = {"design": design, "rep": rep, "estimator": estimator, "outcome": outcome, "estimand": estimand,
            "truth": truth, "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "error": ""}
    try:
        res = fn()
    except Exception as err:  # counted as a failure in the summary table, with the message kept
        base["error"] = f"{type(err).__name__}: {err}"[:300]
        return base
    base.update({"estimate": float(res.estimate), "se": float(res.se), "ci_low": float(res.ci_low),
                 "ci_high": float(res.ci_high)})
    return base


def _post_cells(data: pd.DataFrame, time: str = "year") -> pd.DataFrame:
    return data[(data["cohort"] > 0) & (data[time] >= data["cohort"])]


def run_region(rep: int, seed: int) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate.api import estimate

    sim = simulate_region_panel(seed=seed)
    d, truth = sim.data, sim.true_att()
    kw = {"unit": "region", "time": "year", "cohort": "cohort"}
    simple = "simple ATT (mean true effect over treated post region-years)"
    specs = [
        ("twfe", "y", {}, simple),
        ("cs_notyet", "y", {"estimator": "cs", "control": "notyet"}, simple),
        ("cs_never", "y", {"estimator": "cs", "control": "never"}, simple),
        ("sa", "y", {}, simple),
        ("imputation", "y", {}, simple),
        ("poisson", "collaborations", {}, "mean true log rate ratio over treated post region-years"),
    ]
    rows = []
    for name, outcome, extra, estimand in specs:
        args = {"estimator": name, **extra}
        rows.append(_row("region", rep, name, outcome, estimand, truth,
                         lambda a=args, o=outcome: estimate(d, outcome=o, **kw, **a)))
    return rows


def run_few_clusters(rep: int, seed: int) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.inference import wild_cluster_bootstrap

    sim = simulate_region_panel(n_regions=10, treated_share=0.3, cohorts=(2009, 2012, 2014), heterogeneity=0.0,
                                dynamic=0.0, effect=0.10, seed=seed)
    d, truth = sim.data, sim.true_att()
    kw = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}
    estimand = "constant effect 0.10 (3 of 10 regions treated)"

    def wcr():
        res = wild_cluster_bootstrap(d, outcome="y", term="post", cluster="region", fixed_effects=["region", "year"])
        return res

    return [
        _row("few_clusters", rep, "twfe", "y", estimand, truth, lambda: estimate(d, estimator="twfe", **kw)),
        _row("few_clusters", rep, "twfe_wcr", "y", estimand, truth, wcr),
        _row("few_clusters", rep, "cs_never", "y", estimand, truth,
             lambda: estimate(d, estimator="cs", control="never", **kw)),
    ]


def run_single_unit(rep: int, seed: int) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.synth import synthetic_control

    sim = simulate_region_panel(n_regions=30, treated_share=1 / 30, cohorts=(2015,), heterogeneity=0.0,
                                dynamic=0.0, effect=0.10, seed=seed)
    d, truth = sim.data, sim.true_att()
    treated = str(d.loc[d["cohort"] > 0, "region"].iloc[0])
    estimand = "constant effect 0.10 on the single treated region"

    def synth():
        res = synthetic_control(d, unit="region", time="year", outcome="y", treated_unit=treated,
                                treatment_time=2015, placebo=False)
        return res.to_estimation_result()

    return [
        _row("single_unit", rep, "synth", "y", estimand, truth, synth),
        _row("single_unit", rep, "twfe", "y", estimand, truth,
             lambda: estimate(d, estimator="twfe", unit="region", time="year", cohort="cohort", outcome="y")),
    ]


def run_firm(rep: int, seed: int) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_firm_panel
    from clusterpolicy.estimate.api import estimate

    sim = simulate_firm_panel(n_firms=400, seed=seed)
    d = sim.data
    post = _post_cells(d).merge(sim.truth, left_on=["cohort", "year"], right_on=["group", "time"])
    truth_rr, truth_level = float(post["log_rr"].mean()), float(post["att"].mean())
    kw = {"unit": "firm_id", "time": "year", "cohort": "cohort", "outcome": "collaborations", "cluster": "region"}
    level = "mean true level ATT (extra collaborations per treated firm-year)"
    return [
        _row("firm", rep, "poisson", "collaborations", "mean true log rate ratio over treated post firm-years",
             truth_rr, lambda: estimate(d, estimator="poisson", **kw)),
        _row("firm", rep, "etwfe", "collaborations", level, truth_level, lambda: estimate(d, estimator="etwfe", **kw)),
        _row("firm", rep, "cs_notyet", "collaborations", level, truth_level,
             lambda: estimate(d, estimator="cs", control="notyet", **kw)),
        _row("firm", rep, "imputation", "collaborations", level, truth_level,
             lambda: estimate(d, estimator="imputation", **kw)),
    ]


RUNNERS: dict[str, Callable[[int, int], list[dict[str, Any]]]] = {
    "region": run_region, "few_clusters": run_few_clusters, "single_unit": run_single_unit, "firm": run_firm,
}


def _task(args: tuple[str, int, int]) -> list[dict[str, Any]]:
    design, rep, seed = args
    warnings.simplefilter("ignore")  # estimator warnings (few clusters, ...) are expected here by design
    logging.getLogger("clusterpolicy").setLevel(logging.WARNING)
    return RUNNERS[design](rep, seed)


# ------------------------------------------------------------------------------------------------ aggregation
def summarise(raw: pd.DataFrame, reps: dict[str, int]) -> pd.DataFrame:
    """One row per design x estimator: bias, RMSE, coverage and its Monte Carlo SE."""
    out = []
    for (design, estimator), g in raw.groupby(["design", "estimator"], sort=True):
        ok = g[g["error"] == ""]
        err = ok["estimate"] - ok["truth"]
        has_ci = np.isfinite(ok["ci_low"]) & np.isfinite(ok["ci_high"])
        covered = (ok["ci_low"] <= ok["truth"]) & (ok["truth"] <= ok["ci_high"])
        n_ci = int(has_ci.sum())
        cov = float(covered[has_ci].mean()) if n_ci else float("nan")
        n = len(ok)
        out.append({
            "design": design, "estimator": estimator, "outcome": g["outcome"].iloc[0],
            "estimand": g["estimand"].iloc[0], "truth_mean": float(ok["truth"].mean()) if n else float("nan"),
            "mean_estimate": float(ok["estimate"].mean()) if n else float("nan"),
            "bias": float(err.mean()) if n else float("nan"),
            "bias_mcse": float(err.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "rmse": float(np.sqrt(np.mean(err**2))) if n else float("nan"),
            "sd_estimate": float(ok["estimate"].std(ddof=1)) if n > 1 else float("nan"),
            "mean_se": float(ok["se"].mean()) if n else float("nan"),
            "coverage_95": cov,
            "coverage_mcse": math.sqrt(cov * (1 - cov) / n_ci) if n_ci else float("nan"),
            "n_reps": reps[design], "n_ok": n, "n_failed": int(len(g) - n), "data": "SIMULATED",
        })
    return pd.DataFrame(out)


def run(reps: dict[str, int], seed: int, workers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All replications of the chosen designs (``reps``: design -> replications); returns (raw rows, summary)."""
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=max(reps.values()))
    tasks = [(d, r, int(seeds[r])) for d, n in reps.items() for r in range(n)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            chunks = pool.map(_task, tasks, chunksize=max(1, len(tasks) // (workers * 20)))
    else:
        chunks = [_task(t) for t in tasks]
    raw = pd.DataFrame([row for chunk in chunks for row in chunk])
    raw = raw.sort_values(["design", "estimator", "rep"], kind="stable").reset_index(drop=True)
    return raw, summarise(raw, reps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=500, help="replications per design (20 = quick mode)")
    parser.add_argument("--seed", type=int, default=20240, help="master seed")
    parser.add_argument("--out", type=Path, default=Path("data/simulation/monte_carlo.csv"))
    parser.add_argument("--firm-reps", type=int, default=None,
                        help="replications of the (slow) firm design; default min(--reps, 200)")
    parser.add_argument("--designs", default=",".join(DESIGNS), help=f"comma-separated subset of {DESIGNS}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--raw", action="store_true", help="also write the per-replication rows (<out>_reps.csv)")
    args = parser.parse_args(argv)
    designs = tuple(d.strip() for d in args.designs.split(",") if d.strip())
    bad = [d for d in designs if d not in DESIGNS]
    if bad or args.reps < 2:
        parser.error(f"unknown design(s) {bad}; choose from {DESIGNS}" if bad else "--reps must be at least 2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    firm_reps = args.firm_reps if args.firm_reps is not None else min(args.reps, 200)
    reps = {d: (firm_reps if d == "firm" else args.reps) for d in designs}
    raw, summary = run(reps, args.seed, args.workers)
    atomic_write_text(args.out, summary.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    errors = raw.loc[raw["error"] != "", ["design", "estimator", "error"]].drop_duplicates(["design", "estimator"])
    meta = {
        "data": "SIMULATED", "script": "benchmarks/monte_carlo.py", "reps": reps, "seed": args.seed,
        "coverage_mcse_at_0.95": {d: round(math.sqrt(0.95 * 0.05 / n), 6) for d, n in reps.items()},
        "first_error_per_estimator": errors.to_dict("records"),
    }
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if args.raw:
        raw_path = args.out.with_name(args.out.stem + "_reps.csv")
        atomic_write_text(raw_path, raw.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    logger.info("wrote %s (%d rows) in %.0f s", args.out, len(summary), time.perf_counter() - start)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        logger.info("%s", summary[["design", "estimator", "truth_mean", "bias", "rmse", "coverage_95",
                                   "coverage_mcse", "n_failed"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
