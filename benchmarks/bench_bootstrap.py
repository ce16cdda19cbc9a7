"""Cost of the clustered multiplier bootstrap (999 draws, uniform bands included) relative to the analytic
Callaway-Sant'Anna fit on the same simulated 50k-unit x 10-period panel (the target: at most 3x).

Usage::

    python benchmarks/bench_bootstrap.py [--units 50000] [--periods 10] [--repeat 5] [--draws 999]
                                         [--json benchmarks/results/bootstrap.json]

Both fits go through :func:`clusterpolicy.estimate.api.estimate` (panel preparation included); they run
interleaved in one process and each keeps its best of ``--repeat`` runs, so machine load hits both alike. The panel
is **simulated** (``bench_cs.simulate``). Also checks that the same seed gives identical bootstrap results.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cs import interleaved, machine_note, simulate  # noqa: E402

from clusterpolicy.fsutil import atomic_write_json, atomic_write_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--draws", type=int, default=999)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from clusterpolicy.estimate.api import estimate
    from clusterpolicy.estimate.bootstrap import BootstrapSpec

    data = simulate(args.units, args.periods, 1)
    roles = {"unit": "id", "time": "t", "cohort": "g", "outcome": "y", "estimator": "cs", "control": "never"}
    spec = BootstrapSpec(n_boot=args.draws, seed=7)
    best, outs = interleaved({
        "analytic": lambda: estimate(data, **roles),
        "bootstrap": lambda: estimate(data, **roles, bootstrap=spec),
    }, args.repeat)
    again = estimate(data, **roles, bootstrap=spec)
    same = outs["bootstrap"].to_dict() == again.to_dict()
    ratio = best["bootstrap"] / best["analytic"]
    out = {
        "date": _dt.date.today().isoformat(), "machine": machine_note(), "units": args.units,
        "periods": args.periods, "draws": args.draws, "repeat": args.repeat,
        "seconds_analytic": round(best["analytic"], 4), "seconds_bootstrap": round(best["bootstrap"], 4),
        "ratio_bootstrap_to_analytic": round(ratio, 3), "target": "<= 3", "met": bool(ratio <= 3),
        "same_seed_identical": bool(same),
        "uniform_critical_value": outs["bootstrap"].inference.uniform_critical_value,
    }
    print(out)
    if args.json:
        atomic_write_json(args.json, out)
        atomic_write_text(args.json.with_suffix(".md"), (
            f"# Multiplier bootstrap cost ({out['date']})\n\n{out['machine']}\n\n"
            f"Simulated panel {args.units:,} units x {args.periods} periods; Callaway-Sant'Anna (never-treated "
            f"controls) through `estimate()`, best of {args.repeat} interleaved runs.\n\n"
            "| fit | seconds |\n|---|---|\n"
            f"| analytic | {out['seconds_analytic']} |\n| {args.draws} multiplier draws + uniform bands | "
            f"{out['seconds_bootstrap']} |\n\nRatio bootstrap / analytic: **{out['ratio_bootstrap_to_analytic']}** "
            f"(target <= 3: {'met' if out['met'] else 'not met'}). Same seed, identical JSON: {same}.\n"))


if __name__ == "__main__":
    main()
