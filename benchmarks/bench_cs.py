"""Time Callaway-Sant'Anna on a large simulated staggered panel: our API and CLI versus csdid 0.4.3 directly.

Usage::

    python benchmarks/bench_cs.py [--units 50000] [--periods 10] [--repeat 3] [--seed 1] [--json out.json]

The panel is **simulated** (unit effects, a common trend, staggered cohorts at periods 4, 6 and 8, a constant
effect of 0.5, a quarter never treated). Both implementations run the same specification: never-treated controls,
doubly robust, no covariates, analytic SEs (csdid ``bstrap=False``), ATT(g,t) plus the simple aggregation.
Timings are the best of ``--repeat`` runs (wall clock); the CLI time includes reading and validating the CSV and
writing the JSON, so it is reported separately from the in-memory API time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def simulate(units: int, periods: int, seed: int) -> pd.DataFrame:
    """Simulated staggered panel (see module docstring)."""
    rng = np.random.default_rng(seed)
    cohorts = np.array([0, 4, 6, 8])
    g = rng.choice(cohorts, units)
    unit = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    gg = g[unit]
    y = rng.normal(size=units)[unit] + 0.1 * t + np.where((gg > 0) & (t >= gg), 0.5, 0.0) + rng.normal(size=unit.size)
    return pd.DataFrame({"id": unit, "t": t, "g": gg, "y": y})


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_api(data: pd.DataFrame):
    from clusterpolicy.estimate import estimate

    return estimate(data, estimator="cs", unit="id", time="t", cohort="g", outcome="y", control="never", method="dr")


def run_csdid(data: pd.DataFrame):
    from csdid.att_gt import ATTgt

    # csdid prints its summary tables; keep the benchmark's stdout to the JSON summary
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = ATTgt(yname="y", gname="g", idname="id", tname="t", data=data, control_group=["nevertreated"])
        model.fit(est_method="dr", bstrap=False)
        agg = model.aggte(typec="simple", bstrap=False)
    return model, agg


def run_cli(csv: Path, out: Path) -> dict:
    exe = Path(sys.executable).with_name("clusterpolicy")
    cmd = [str(exe), "estimate", "--data", str(csv), "--unit", "id", "--time", "t", "--cohort", "g", "--outcome",
           "y", "--estimator", "cs", "--json", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    data = simulate(args.units, args.periods, args.seed)
    t_api, res = best_of(lambda: run_api(data), args.repeat)
    t_csdid, (model, _) = best_of(lambda: run_csdid(data), args.repeat)
    theirs = np.asarray(model.results["att"], dtype=float)
    ours = res.group_time.sort_values(["group", "time"])["estimate"].to_numpy()
    max_diff = float(np.max(np.abs(ours - theirs)))
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "panel.csv"
        data.to_csv(csv, index=False)
        t_cli, cli_res = best_of(lambda: run_cli(csv, Path(tmp) / "out.json"), args.repeat)
    summary = {
        "units": args.units, "periods": args.periods, "rows": len(data), "repeat": args.repeat,
        "seconds_api": round(t_api, 3), "seconds_csdid": round(t_csdid, 3), "seconds_cli": round(t_cli, 3),
        "ratio_api_over_csdid": round(t_api / t_csdid, 3), "ratio_cli_over_csdid": round(t_cli / t_csdid, 3),
        "max_abs_diff_att_gt_vs_csdid": max_diff, "simple_att": res.estimate, "simple_att_se": res.se,
        "cli_simple_att": cli_res["overall"]["estimate"], "note": "simulated panel; best-of-repeat wall clock",
    }
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
