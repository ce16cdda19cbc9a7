"""TWFE and Poisson fixed effects on a large simulated panel: clusterpolicy versus pyfixest and linearmodels,
measured side by side in one process, reported as ratios to the fastest peer. Also peak memory (RSS) of each
estimator, each measured in a fresh child process so one's allocations do not hide another's.

Usage::

    python benchmarks/bench_fe.py [--rows 1000000] [--periods 10] [--repeat 3] [--json out.json]

The panel is **simulated**: ``rows / periods`` units, staggered cohorts, unit and period effects, a count outcome
drawn from a Poisson model and a continuous one with normal noise.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def simulate(rows: int, periods: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = rows // periods
    g = rng.choice(np.array([0, 4, 6, 8]), units)
    unit = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    gg = g[unit]
    d = ((gg > 0) & (t >= gg)).astype(float)
    a = rng.normal(scale=0.5, size=units)[unit]
    y = a + 0.05 * t + 0.2 * d + rng.normal(size=unit.size)
    count = rng.poisson(np.exp(0.5 + a + 0.02 * t + 0.1 * d))
    return pd.DataFrame({"id": unit, "t": t, "g": gg, "d": d, "y": y, "count": count})


def ours_twfe(df: pd.DataFrame) -> float:
    from clusterpolicy.estimate import estimate

    return estimate(df, estimator="twfe", unit="id", time="t", cohort="g", outcome="y").estimate


def ours_poisson(df: pd.DataFrame) -> float:
    from clusterpolicy.estimate import estimate

    # Peers fit the static coefficient only, so the event study (on by default) is switched off here too.
    return estimate(df, estimator="poisson", unit="id", time="t", cohort="g", outcome="count",
                    event_study=False).estimate


def pyfixest_twfe(df: pd.DataFrame) -> float:
    import pyfixest as pf

    return float(pf.feols("y ~ d | id + t", data=df, vcov={"CRV1": "id"}).coef()["d"])


def pyfixest_poisson(df: pd.DataFrame) -> float:
    import pyfixest as pf

    return float(pf.fepois("count ~ d | id + t", data=df, vcov={"CRV1": "id"}).coef()["d"])


def linearmodels_twfe(df: pd.DataFrame) -> float:
    from linearmodels.panel import PanelOLS

    data = df.set_index(["id", "t"])
    res = PanelOLS(data["y"], data[["d"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    return float(res.params["d"])


TASKS: dict[str, dict[str, Callable[[pd.DataFrame], float]]] = {
    "twfe": {"clusterpolicy": ours_twfe, "pyfixest": pyfixest_twfe, "linearmodels": linearmodels_twfe},
    "poisson": {"clusterpolicy": ours_poisson, "pyfixest": pyfixest_poisson},
}


def _child(task: str, impl: str, rows: int, periods: int, repeat: int, queue: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    df = simulate(rows, periods)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = TASKS[task][impl]
    fn(df.head(periods * 200))  # warm-up (imports, JIT compilation)
    best, value = float("inf"), float("nan")
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(df)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"task": task, "impl": impl, "seconds": best, "estimate": value,
               "peak_rss_mb": peak / 1024, "rss_growth_mb": (peak - before) / 1024})


def measure(task: str, impl: str, rows: int, periods: int, repeat: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(task, impl, rows, periods, repeat, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [measure(task, impl, args.rows, args.periods, args.repeat) for task in TASKS for impl in TASKS[task]]
    frame = pd.DataFrame(results)
    frame["ratio_to_fastest_peer"] = np.nan
    for _task, group in frame.groupby("task"):
        fastest_peer = group.loc[group["impl"] != "clusterpolicy", "seconds"].min()
        frame.loc[group.index, "ratio_to_fastest_peer"] = group["seconds"] / fastest_peer
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
