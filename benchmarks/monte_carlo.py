"""Monte Carlo study of the estimators on SIMULATED panels with a known truth: bias, RMSE, 95 % CI coverage and
the simultaneous coverage of uniform event-study bands.

Usage::

    python benchmarks/monte_carlo.py --reps 500 --seed 20240 --out data/simulation/monte_carlo.csv --workers 2
    python benchmarks/monte_carlo.py --reps 20 --out /tmp/mc.csv            # quick mode (tests)
    python benchmarks/monte_carlo.py --reps 500 --seed 20240 --designs few_clusters --merge   # one design

``--merge`` replaces only the rows of the designs run and keeps the others from the existing ``--out`` (and its
``.json``). Replication ``r`` has the same seed whichever designs run (the ``r``-th draw of
``default_rng(--seed)``; a longer draw extends a shorter one), so a merged table is byte-identical to the full
run's (``tests/estimate/test_power.py`` checks it).

Inference follows the package's one rule (:mod:`clusterpolicy.estimate.result`): clustered standard errors and
t(G-1) critical values by default. Row names say what differs from that default:

``<estimator>``
    the package default (analytic clustered SE, t(G-1) critical value);
``<estimator>_normal``
    the same SE with normal critical values (``df_mode="normal"``, R ``did``'s intervals);
``<estimator>_boot``
    the clustered multiplier bootstrap (``BootstrapSpec(n_boot=999, weights="rademacher", seed=<the
    replication's seed>)``): bootstrap SE, t(G-1) pointwise intervals and a uniform sup-t band over the event
    study;
``cs_never_welch``
    investigation row (not a package option): the CS analytic SE with a Welch-Satterthwaite degrees of freedom
    computed from the treated and untreated clusters' influence contributions (:func:`_welch_df_cs`);
``twfe_wcr``
    TWFE with the null-imposed wild cluster bootstrap interval (:mod:`clusterpolicy.estimate.inference`).
``<estimator>_ri``
    the randomisation confidence interval (:func:`~clusterpolicy.estimate.inference.randomization_inference` with
    ``interval=True``): the test of a constant additive effect, which permutes adoption dates across regions,
    inverted exactly; the interval is the hull of the confidence set (an unbounded end counts as covering, see
    ``share_infinite_ci``). To keep the cost down it uses 199 random permutations seeded by the replication's seed
    (of the 720 possible assignments in the few-cluster design), not the exact enumeration; the SE column is the
    analytic one and plays no part in the interval.

Designs (all data SIMULATED by :mod:`clusterpolicy.data.synthetic`):

``region``
    ``simulate_region_panel`` defaults: 40 regions, 2005-2020, half treated in four cohorts, effect growing with
    event time and heterogeneous across cohorts (so static TWFE is biased by construction). Truth: the simple ATT,
    the observation-weighted mean of the true effect over treated post-adoption region-years (``true_att``); the
    count outcome's truth is the same mean of the true log rate ratio. Rows: ``twfe``, ``cs_notyet``,
    ``cs_never`` (+ ``_normal``, ``_boot``), ``sa``, ``imputation`` (+ ``_boot``), ``poisson``, ``cs_never_welch``.
``few_clusters``
    10 regions, 3 treated (cohorts 2009, 2012, 2014), constant effect 0.10 (TWFE unbiased). Compares the
    conventional cluster-robust interval with the wild cluster bootstrap (WCR, all 1,024 Rademacher sign patterns,
    interval by test inversion), and CS with t(9), normal, Welch and multiplier-bootstrap intervals; ``sa_boot``
    and ``imputation_boot`` add bands. ``twfe_ri`` and ``cs_never_ri`` give the randomisation intervals, which
    are exact under random assignment of adoption dates to regions (as simulated) and a constant effect (as here).
``single_unit``
    30 regions, one treated from 2015, constant effect 0.10: synthetic control (no standard error; bias/RMSE only)
    versus TWFE through the package's single-treated rule (``estimate`` -> ``single_treated_inference``: placebo-
    in-space interval, studentised by the pre-period residual SD, by test inversion). An interval with an
    infinite bound counts as covering (``share_infinite_ci``). The placebo rule refits TWFE about 100 times per
    replication, so the design runs ``--single-reps`` replications (default ``min(--reps, 100)``; coverage MC
    SE ~0.022 at 0.95).
``firm``
    ``simulate_firm_panel``: 400 firms in 21 regions (negative binomial counts), policy at region level, standard
    errors clustered by region. Truths: mean true log rate ratio (``poisson``) and mean true level ATT, expected
    extra collaborations per treated firm-year (``etwfe``, ``cs``, ``imputation`` on the count). Slow, so it
    runs ``--firm-reps`` replications (default ``min(--reps, 200)``; coverage MC SE ~0.015).

Coverage is the share of replications whose 95 % interval contains the truth; its Monte Carlo standard error is
``sqrt(p (1 - p) / R)`` (about 0.01 at R = 500 and p = 0.95, so 0.95 and 0.90 are told apart).

Band coverage (bootstrap rows): ``band_coverage_95`` is the share of replications in which the uniform band covers
the true effect at *every* event time of the band (CS and SA: all reported pre- and post-treatment event times,
true effect 0 before onset; imputation: post-treatment event times, its band's support). The true effect by event
time is :meth:`~clusterpolicy.data.synthetic.SimulatedPanel.true_event_study` (cohorts weighted by their number of
units, as the event-study aggregations). ``pointwise_joint_coverage_95`` is the same share for the pointwise 95 %
intervals at the same event times: what a reader gets by reading pointwise intervals as a band.

Replication ``r`` of every design uses the seed ``seeds[r]`` drawn from ``numpy.random.default_rng(--seed)`` (the
bootstrap rows use it as their bootstrap seed too): same arguments, same table (byte for byte), whatever the
number of workers. ``--boot-reps`` runs the bootstrap rows in the first replications only (default: all).
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
from scipy import stats

from clusterpolicy.fsutil import atomic_write_text

logger = logging.getLogger("monte_carlo")

DESIGNS = ("region", "few_clusters", "single_unit", "firm")
FLOAT_FORMAT = "%.6f"
N_BOOT = 999


# ------------------------------------------------------------------------------------------------ one replication
def _row(design: str, rep: int, estimator: str, outcome: str, estimand: str, truth: float,
         fn: Callable[[], Any], es_truth: pd.Series | None = None) -> dict[str, Any]:
    """Run one estimator; record estimate, SE and CI or the failure (never a silent number).

    With ``es_truth`` (true effect by event time) and a result whose event study carries a uniform band, also
    record whether the band covers the truth at every event time of the band (``band_covered``) and whether the
    pointwise intervals do at those same event times (``pointwise_joint_covered``).
    """
    base = {"design": design, "rep": rep, "estimator": estimator, "outcome": outcome, "estimand": estimand,
            "truth": truth, "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
            "band_covered": np.nan, "pointwise_joint_covered": np.nan, "n_band": np.nan, "error": ""}
    try:
        res = fn()
    except Exception as err:  # counted as a failure in the summary table, with the message kept
        base["error"] = f"{type(err).__name__}: {err}"[:300]
        return base
    base.update({"estimate": float(res.estimate), "se": float(res.se), "ci_low": float(res.ci_low),
                 "ci_high": float(res.ci_high)})
    es = getattr(res, "event_study", None)
    if es_truth is not None and es is not None and "uniform_low" in es.columns:
        band = es[np.isfinite(es["uniform_low"]) & np.isfinite(es["uniform_high"])]
        true = band["event_time"].map(es_truth).to_numpy(dtype=float)
        if len(band) and np.isfinite(true).all():
            base["band_covered"] = float(((band["uniform_low"] <= true) & (true <= band["uniform_high"])).all())
            base["pointwise_joint_covered"] = float(((band["ci_low"] <= true) & (true <= band["ci_high"])).all())
            base["n_band"] = float(len(band))
    return base


def _event_truth(sim: Any) -> pd.Series:
    """True effect by event time (0 before onset), cohorts weighted by their number of units."""
    return sim.true_event_study().set_index("event_time")["att"]


def _welch_df_cs(d: pd.DataFrame, *, control: str, **kw: Any) -> Any:
    """Investigation row: CS with the package's analytic SE and a Welch-Satterthwaite degrees of freedom.

    The simple ATT's variance is the sum of per-cluster influence contributions ``psi_c^2``; split it into the
    treated clusters' part ``V1`` (``G1`` clusters) and the never/not-yet-treated clusters' part ``V0`` (``G0``).
    ``df = (V1 + V0)^2 / (V1^2 / (G1 - 1) + V0^2 / (G0 - 1))`` is the Welch (1947) / Satterthwaite (1946)
    approximation, which is what the Bell-McCaffrey degrees of freedom recommended by Imbens and Kolesar (2016)
    reduce to for a difference of two cluster means. It lies between ``min(G1, G0) - 1`` and ``G - 2`` and is
    about ``G1 - 1`` when the treated clusters dominate the variance. The SE is unchanged (R did parity), only
    the critical value moves. Not part of the package: computed here from :func:`~clusterpolicy.estimate.did.att_gt`.
    """
    from dataclasses import replace

    from clusterpolicy.estimate._panel import prepare_panel
    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.bootstrap import cluster_sum
    from clusterpolicy.estimate.did import aggregate, att_gt

    res = estimate(d, estimator="cs", control=control, **kw)
    fit = att_gt(prepare_panel(d, unit=kw["unit"], time=kw["time"], cohort=kw["cohort"], outcome=kw["outcome"]),
                 control=control, method="dr")
    n = fit.n_units
    clusters = fit.clusters if fit.clusters is not None else np.arange(n)
    psi = cluster_sum(aggregate(fit, "simple").overall_influence, clusters)[:, 0] / n
    units = d.drop_duplicates(kw["unit"]).sort_values(kw["unit"])
    treated = (units[kw["cohort"]].to_numpy() > 0)
    if len(treated) != len(psi) or treated.all() or (~treated).all():
        raise ValueError("Welch df: cluster order or treated split not recognised")
    v1, v0 = float((psi[treated] ** 2).sum()), float((psi[~treated] ** 2).sum())
    g1, g0 = int(treated.sum()), int((~treated).sum())
    if not math.isclose(math.sqrt(v1 + v0), res.se, rel_tol=1e-6):
        raise ValueError(f"Welch df: contributions do not reproduce the SE ({math.sqrt(v1 + v0)} vs {res.se})")
    dof = (v1 + v0) ** 2 / (v1**2 / max(g1 - 1, 1) + v0**2 / max(g0 - 1, 1))
    inf = replace(res.inference, df=dof, critical_value=float(stats.t.ppf(0.975, dof)))
    low, high = inf.interval(res.estimate, res.se)
    return replace(res, ci_low=float(low), ci_high=float(high), inference=inf)


def _post_cells(data: pd.DataFrame, time: str = "year") -> pd.DataFrame:
    return data[(data["cohort"] > 0) & (data[time] >= data["cohort"])]


def _boot(seed: int) -> Any:
    """The bootstrap rows' request: 999 Rademacher draws, seeded by the replication's seed."""
    from clusterpolicy.estimate.bootstrap import BootstrapSpec

    return BootstrapSpec(n_boot=N_BOOT, weights="rademacher", seed=seed)


def run_region(rep: int, seed: int, boot: bool = True) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate.api import estimate

    sim = simulate_region_panel(seed=seed)
    d, truth, es_truth = sim.data, sim.true_att(), _event_truth(sim)
    kw = {"unit": "region", "time": "year", "cohort": "cohort"}
    simple = "simple ATT (mean true effect over treated post region-years)"
    cs_never = {"estimator": "cs", "control": "never"}
    cs_notyet = {"estimator": "cs", "control": "notyet"}
    specs = [
        ("twfe", "y", {}, simple),
        ("cs_notyet", "y", cs_notyet, simple),
        ("cs_never", "y", cs_never, simple),
        ("cs_notyet_normal", "y", {**cs_notyet, "df_mode": "normal"}, simple),
        ("cs_never_normal", "y", {**cs_never, "df_mode": "normal"}, simple),
        ("sa", "y", {}, simple),
        ("imputation", "y", {}, simple),
        ("poisson", "collaborations", {}, "mean true log rate ratio over treated post region-years"),
    ]
    if boot:
        specs += [
            ("cs_notyet_boot", "y", {**cs_notyet, "bootstrap": _boot(seed)}, simple),
            ("cs_never_boot", "y", {**cs_never, "bootstrap": _boot(seed)}, simple),
            ("sa_boot", "y", {"estimator": "sa", "bootstrap": _boot(seed)}, simple),
            ("imputation_boot", "y", {"estimator": "imputation", "bootstrap": _boot(seed)}, simple),
        ]
    rows = []
    for name, outcome, extra, estimand in specs:
        args = {"estimator": name, **extra}
        rows.append(_row("region", rep, name, outcome, estimand, truth,
                         lambda a=args, o=outcome: estimate(d, outcome=o, **kw, **a), es_truth))
    rows.append(_row("region", rep, "cs_never_welch", "y", simple, truth,
                     lambda: _welch_df_cs(d, control="never", outcome="y", **kw)))
    return rows


N_RI = 199


def _ri_interval(d: pd.DataFrame, seed: int, **kw: Any) -> Any:
    """The estimate with its interval replaced by the randomisation confidence set's hull (``N_RI`` random
    permutations seeded by the replication's seed)."""
    from dataclasses import replace

    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.inference import with_randomization

    roles = {k: kw.pop(k) for k in ("unit", "time", "cohort")}
    res = with_randomization(estimate(d, **roles, **kw), d, n_permutations=N_RI, seed=seed, interval=True,
                             **roles, **kw)
    ri = res.randomization or {}
    low = -math.inf if ri.get("ci_low_infinite") else ri.get("ci_low")
    high = math.inf if ri.get("ci_high_infinite") else ri.get("ci_high")
    if low is None or high is None:
        raise ValueError("randomisation interval not computed")
    return replace(res, ci_low=float(low), ci_high=float(high))


def run_few_clusters(rep: int, seed: int, boot: bool = True) -> list[dict[str, Any]]:
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.inference import wild_cluster_bootstrap

    sim = simulate_region_panel(n_regions=10, treated_share=0.3, cohorts=(2009, 2012, 2014), heterogeneity=0.0,
                                dynamic=0.0, effect=0.10, seed=seed)
    d, truth, es_truth = sim.data, sim.true_att(), _event_truth(sim)
    kw = {"unit": "region", "time": "year", "cohort": "cohort", "outcome": "y"}
    estimand = "constant effect 0.10 (3 of 10 regions treated)"

    def wcr():
        res = wild_cluster_bootstrap(d, outcome="y", term="post", cluster="region", fixed_effects=["region", "year"])
        return res

    rows = [
        _row("few_clusters", rep, "twfe", "y", estimand, truth, lambda: estimate(d, estimator="twfe", **kw)),
        _row("few_clusters", rep, "twfe_wcr", "y", estimand, truth, wcr),
        _row("few_clusters", rep, "cs_never", "y", estimand, truth,
             lambda: estimate(d, estimator="cs", control="never", **kw)),
        _row("few_clusters", rep, "cs_never_normal", "y", estimand, truth,
             lambda: estimate(d, estimator="cs", control="never", df_mode="normal", **kw)),
        _row("few_clusters", rep, "cs_never_welch", "y", estimand, truth,
             lambda: _welch_df_cs(d, control="never", **kw)),
        _row("few_clusters", rep, "twfe_ri", "y", estimand, truth,
             lambda: _ri_interval(d, seed, estimator="twfe", **kw)),
        _row("few_clusters", rep, "cs_never_ri", "y", estimand, truth,
             lambda: _ri_interval(d, seed, estimator="cs", control="never", **kw)),
    ]
    if boot:
        rows += [
            _row("few_clusters", rep, "cs_never_boot", "y", estimand, truth,
                 lambda: estimate(d, estimator="cs", control="never", bootstrap=_boot(seed), **kw), es_truth),
            _row("few_clusters", rep, "sa_boot", "y", estimand, truth,
                 lambda: estimate(d, estimator="sa", bootstrap=_boot(seed), **kw), es_truth),
            _row("few_clusters", rep, "imputation_boot", "y", estimand, truth,
                 lambda: estimate(d, estimator="imputation", bootstrap=_boot(seed), **kw), es_truth),
        ]
    return rows


def run_single_unit(rep: int, seed: int, boot: bool = True) -> list[dict[str, Any]]:
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


def run_firm(rep: int, seed: int, boot: bool = True) -> list[dict[str, Any]]:
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


RUNNERS: dict[str, Callable[[int, int, bool], list[dict[str, Any]]]] = {
    "region": run_region, "few_clusters": run_few_clusters, "single_unit": run_single_unit, "firm": run_firm,
}


def _task(args: tuple[str, int, int, bool]) -> list[dict[str, Any]]:
    design, rep, seed, boot = args
    warnings.simplefilter("ignore")  # estimator warnings (few clusters, ...) are expected here by design
    logging.getLogger("clusterpolicy").setLevel(logging.WARNING)
    return RUNNERS[design](rep, seed, boot)


# ------------------------------------------------------------------------------------------------ aggregation
def _share(flags: pd.Series) -> tuple[float, float]:
    """Share of true flags among the non-missing ones and its Monte Carlo SE (NaN, NaN when there are none)."""
    flags = flags.dropna()
    if flags.empty:
        return float("nan"), float("nan")
    p = float(flags.mean())
    return p, math.sqrt(p * (1 - p) / len(flags))


def summarise(raw: pd.DataFrame, reps: dict[str, int]) -> pd.DataFrame:
    """One row per design x estimator: bias, RMSE, coverage (pointwise and simultaneous) and Monte Carlo SEs.

    An interval with an infinite bound (placebo-in-space with few placebos) counts as covering; its share is
    ``share_infinite_ci``. Missing intervals (no SE, e.g. synth) are left out of the coverage.
    """
    out = []
    for (design, estimator), g in raw.groupby(["design", "estimator"], sort=True):
        ok = g[g["error"] == ""]
        err = ok["estimate"] - ok["truth"]
        has_ci = ok["ci_low"].notna() & ok["ci_high"].notna()
        infinite = has_ci & ~(np.isfinite(ok["ci_low"]) & np.isfinite(ok["ci_high"]))
        covered = ((ok["ci_low"] <= ok["truth"]) & (ok["truth"] <= ok["ci_high"])).astype(float)
        cov, cov_mcse = _share(covered[has_ci])
        band, band_mcse = _share(ok["band_covered"])
        joint, _ = _share(ok["pointwise_joint_covered"])
        n_ci = int(has_ci.sum())
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
            "coverage_mcse": cov_mcse,
            "share_infinite_ci": float(infinite[has_ci].mean()) if n_ci else float("nan"),
            "band_coverage_95": band,
            "band_coverage_mcse": band_mcse,
            "pointwise_joint_coverage_95": joint,
            "mean_band_event_times": float(ok["n_band"].mean()) if ok["n_band"].notna().any() else float("nan"),
            "n_reps": int(len(g)), "n_ok": n, "n_failed": int(len(g) - n), "data": "SIMULATED",
        })
    return pd.DataFrame(out)


def run(reps: dict[str, int], seed: int, workers: int,
        boot_reps: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All replications of the chosen designs (``reps``: design -> replications); returns (raw rows, summary).

    The bootstrap rows run in the first ``boot_reps`` replications of each design (all when ``None``).
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=max(reps.values()))
    tasks = [(d, r, int(seeds[r]), boot_reps is None or r < boot_reps) for d, n in reps.items() for r in range(n)]
    step = max(1, len(tasks) // 20)
    chunks = []
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            for i, chunk in enumerate(pool.imap(_task, tasks, chunksize=max(1, len(tasks) // (workers * 20))), 1):
                chunks.append(chunk)
                if i % step == 0:  # progress on stderr only; the files do not depend on it
                    logger.info("%d/%d replications done (%s)", i, len(tasks), tasks[i - 1][0])
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
    parser.add_argument("--single-reps", type=int, default=None,
                        help="replications of the single_unit design (placebo inference refits TWFE ~100 times per "
                             "replication); default min(--reps, 100)")
    parser.add_argument("--boot-reps", type=int, default=None,
                        help="replications (the first ones) that also run the multiplier-bootstrap rows; default all")
    parser.add_argument("--designs", default=",".join(DESIGNS), help=f"comma-separated subset of {DESIGNS}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--raw", action="store_true", help="also write the per-replication rows (<out>_reps.csv)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other designs' rows of the existing --out (and .json); replace only these")
    args = parser.parse_args(argv)
    designs = tuple(d.strip() for d in args.designs.split(",") if d.strip())
    bad = [d for d in designs if d not in DESIGNS]
    if bad or args.reps < 2:
        parser.error(f"unknown design(s) {bad}; choose from {DESIGNS}" if bad else "--reps must be at least 2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    firm_reps = args.firm_reps if args.firm_reps is not None else min(args.reps, 200)
    single_reps = args.single_reps if args.single_reps is not None else min(args.reps, 100)
    reps = {d: {"firm": firm_reps, "single_unit": single_reps}.get(d, args.reps) for d in designs}
    raw, summary = run(reps, args.seed, args.workers, args.boot_reps)
    errors = raw.loc[raw["error"] != "", ["design", "estimator", "error"]].drop_duplicates(["design", "estimator"])
    first_errors = errors.to_dict("records")
    all_reps = dict(reps)
    if args.merge and args.out.exists():
        old = pd.read_csv(args.out, keep_default_na=False, na_values=[""])
        summary = pd.concat([old[~old["design"].isin(designs)], summary], ignore_index=True)
        summary = summary.sort_values(["design", "estimator"], kind="stable").reset_index(drop=True)
        old_meta = json.loads(args.out.with_suffix(".json").read_text())
        if old_meta.get("seed") != args.seed or old_meta.get("boot_reps") != args.boot_reps:
            parser.error(f"--merge: {args.out} was made with another --seed or --boot-reps; rerun every design")
        all_reps = {**{d: n for d, n in old_meta["reps"].items() if d not in designs}, **reps}
        first_errors = sorted([e for e in old_meta["first_error_per_estimator"] if e["design"] not in designs]
                              + first_errors, key=lambda e: (e["design"], e["estimator"]))
    atomic_write_text(args.out, summary.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    meta = {
        "data": "SIMULATED", "script": "benchmarks/monte_carlo.py", "reps": all_reps, "seed": args.seed,
        "boot_reps": args.boot_reps, "n_boot": N_BOOT, "boot_weights": "rademacher", "n_ri_permutations": N_RI,
        "coverage_mcse_at_0.95": {d: round(math.sqrt(0.95 * 0.05 / n), 6) for d, n in all_reps.items()},
        "first_error_per_estimator": first_errors,
    }
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if args.raw:
        raw_path = args.out.with_name(args.out.stem + "_reps.csv")
        atomic_write_text(raw_path, raw.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    logger.info("wrote %s (%d rows) in %.0f s", args.out, len(summary), time.perf_counter() - start)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        logger.info("%s", summary[["design", "estimator", "truth_mean", "bias", "rmse", "sd_estimate", "mean_se",
                                   "coverage_95", "coverage_mcse", "band_coverage_95", "pointwise_joint_coverage_95",
                                   "share_infinite_ci", "n_failed"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
