"""Time Callaway-Sant'Anna on a large simulated staggered panel: ours (front door, API, CLI) versus csdid 0.4.3 and
diff-diff 3.13 (``CallawaySantAnna``).

Usage::

    python benchmarks/bench_cs.py [--units 50000] [--periods 10] [--repeat 5] [--seed 1] [--control never]
                                  [--json out.json] [--md out.md] [--no-cli]

The panel is **simulated** (unit effects, a common trend, staggered cohorts at periods 4, 6 and 8, a constant
effect of 0.5, a quarter never treated). Every implementation runs the same specification: never-treated (or
not-yet-treated, ``--control notyet``) controls, doubly robust, no covariates, analytic SEs (csdid
``bstrap=False``, diff-diff ``n_bootstrap=0``), ATT(g,t) plus the overall (simple) ATT and the event study
(dynamic aggregation). Ours goes through the public front door :func:`clusterpolicy.estimate.did.callaway_santanna`
(which also computes the group and calendar aggregations).

Timings: the implementations are run **interleaved** in one process (ours, diff-diff, csdid, ours, ...), and each
keeps the best of ``--repeat`` wall-clock runs, so that load from other processes on a shared machine hits all of
them alike; the ratios (ours / peer) are the numbers to read. The CLI time includes reading and validating the CSV
and writing the JSON, so it is reported separately from the in-memory times.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.fsutil import atomic_write_text


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


def run_api(data: pd.DataFrame, control: str = "never"):
    from clusterpolicy.estimate import estimate

    return estimate(data, estimator="cs", unit="id", time="t", cohort="g", outcome="y", control=control, method="dr")


def run_ours(data: pd.DataFrame, control: str = "never"):
    """The public front door: ATT(g,t), the overall (simple) ATT, the event study (and group/calendar)."""
    from clusterpolicy.estimate._panel import request_for
    from clusterpolicy.estimate.did import callaway_santanna

    return callaway_santanna(request_for(data, unit="id", time="t", cohort="g", outcome="y"), control=control,
                             method="dr")


def run_csdid(data: pd.DataFrame, control: str = "never", dynamic: bool = False):
    from csdid.att_gt import ATTgt

    # csdid prints its summary tables; keep the benchmark's stdout to the JSON summary
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = ATTgt(yname="y", gname="g", idname="id", tname="t", data=data,
                      control_group=["nevertreated" if control == "never" else "notyettreated"])
        model.fit(est_method="dr", bstrap=False)
        agg = model.aggte(typec="simple", bstrap=False)
        if dynamic:
            # aggte returns the model itself and overwrites ``atte``: copy the simple result first
            simple = {k: agg.atte[k] for k in ("overall_att", "overall_se")}
            dyn = model.aggte(typec="dynamic", bstrap=False)
            return model, simple, {k: np.array(v, copy=True) for k, v in dyn.atte.items()
                                   if k in ("egt", "att_egt", "se_egt")}
    return model, agg


def run_diffdiff(data: pd.DataFrame, control: str = "never"):
    """diff-diff 3.13 ``CallawaySantAnna``: same model; returns (fit with ATT(g,t) and overall ATT, event study)."""
    from diff_diff import CallawaySantAnna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CallawaySantAnna(control_group="never_treated" if control == "never" else "not_yet_treated",
                               estimation_method="dr", n_bootstrap=0, base_period="varying")
        fit = est.fit(data, outcome="y", unit="id", time="t", first_treat="g")
        es = fit.aggregate("event_study")
    return fit, es


def run_cli(csv: Path, out: Path) -> dict:
    exe = Path(sys.executable).with_name("clusterpolicy")
    cmd = [str(exe), "estimate", "--data", str(csv), "--unit", "id", "--time", "t", "--cohort", "g", "--outcome",
           "y", "--estimator", "cs", "--json", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads(out.read_text())


def interleaved(fns: dict, repeat: int) -> tuple[dict[str, float], dict[str, object]]:
    """Best wall clock of each function over ``repeat`` rounds, running them in turn within each round."""
    best = {k: np.inf for k in fns}
    outs: dict[str, object] = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            start = time.perf_counter()
            outs[k] = fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best, outs


def compare(res, dd_fit, dd_es, cs_model, cs_agg, cs_dyn) -> dict[str, float]:
    """Largest absolute differences of ours against diff-diff and csdid (ATT(g,t), SEs, overall, event study)."""
    gt = res.group_time.sort_values(["group", "time"])
    keys = list(zip(gt["group"].astype(int), gt["time"].astype(int)))
    dd_att = np.array([dd_fit.group_time_effects[k]["effect"] for k in keys])
    dd_se = np.array([dd_fit.group_time_effects[k]["se"] for k in keys])
    es = res.event_study.set_index("event_time")
    dd_frame = pd.DataFrame({"e": np.asarray(dd_es.event_time, int), "att": np.asarray(dd_es.att, float),
                             "se": np.asarray(dd_es.se, float)}).set_index("e")
    dd_frame = dd_frame.loc[es.index]
    cs_att = np.asarray(cs_model.results["att"], dtype=float)
    cs_se = np.asarray(cs_model.results["se"], dtype=float)
    cs_e = pd.DataFrame({"e": np.asarray(cs_dyn["egt"], int), "att": np.asarray(cs_dyn["att_egt"], float),
                         "se": np.asarray(cs_dyn["se_egt"], float).ravel()}).set_index("e").loc[es.index]

    def mx(a, b) -> float:
        return float(np.nanmax(np.abs(np.asarray(a, float) - np.asarray(b, float))))

    return {
        "diffdiff_att_gt": mx(gt["estimate"], dd_att), "diffdiff_att_gt_se": mx(gt["se"], dd_se),
        "diffdiff_overall": abs(res.estimate - dd_fit.overall_att),
        "diffdiff_overall_se": abs(res.se - dd_fit.overall_se),
        "diffdiff_event_study": mx(es["estimate"], dd_frame["att"]),
        "diffdiff_event_study_se": mx(es["se"], dd_frame["se"]),
        "csdid_att_gt": mx(gt["estimate"], cs_att), "csdid_att_gt_se": mx(gt["se"], cs_se),
        "csdid_overall": abs(res.estimate - float(cs_agg["overall_att"])),
        "csdid_overall_se": abs(res.se - float(cs_agg["overall_se"])),
        "csdid_event_study": mx(es["estimate"], cs_e["att"]), "csdid_event_study_se": mx(es["se"], cs_e["se"]),
    }


def machine_note() -> str:
    return (f"{os.cpu_count()} CPUs (shared with other jobs: timings are noisy, read the ratios), "
            f"Python {platform.python_version()}, {platform.platform()}")


def report(summary: dict, json_path: Path | None, md_path: Path | None, to_markdown) -> None:
    """Print ``summary`` and write it as JSON and markdown, each file atomically (never half-written)."""
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, text + "\n")
    if md_path:
        atomic_write_text(md_path, to_markdown(summary))


def panel_parser(doc: str | None) -> argparse.ArgumentParser:
    """Arguments every simulated-panel benchmark takes: panel size, repeats, seed and where to report."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    return parser


def main() -> None:
    parser = panel_parser(__doc__)
    parser.add_argument("--control", choices=["never", "notyet"], default="never")
    parser.add_argument("--no-cli", action="store_true")
    args = parser.parse_args()

    import csdid
    import diff_diff

    data = simulate(args.units, args.periods, args.seed)
    ctrl = args.control
    best, outs = interleaved({
        "ours": lambda: run_ours(data, ctrl),
        "diffdiff": lambda: run_diffdiff(data, ctrl),
        "csdid": lambda: run_csdid(data, ctrl, dynamic=True),
    }, args.repeat)
    res = outs["ours"]
    dd_fit, dd_es = outs["diffdiff"]
    cs_model, cs_agg, cs_dyn = outs["csdid"]
    diffs = compare(res, dd_fit, dd_es, cs_model, cs_agg, cs_dyn)
    summary = {
        "date": _dt.date.today().isoformat(), "machine": machine_note(),
        "units": args.units, "periods": args.periods, "rows": len(data), "repeat": args.repeat, "control": ctrl,
        "task": "ATT(g,t) (DR, no covariates, analytic SEs) + overall ATT + event study",
        "peers": {"diff_diff": diff_diff.__version__, "csdid": getattr(csdid, "__version__", "0.4.3")},
        "seconds_best": {k: round(v, 4) for k, v in best.items()},
        "ratio_ours_over_diffdiff": round(best["ours"] / best["diffdiff"], 3),
        "ratio_ours_over_csdid": round(best["ours"] / best["csdid"], 3),
        "max_abs_diff": diffs, "simple_att": res.estimate, "simple_att_se": res.se,
        "note": "simulated panel; interleaved runs in one process, best-of-repeat wall clock; ratio = ours / peer",
    }
    if not args.no_cli:
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "panel.csv"
            data.to_csv(csv, index=False)
            t_cli, cli_res = best_of(lambda: run_cli(csv, Path(tmp) / "out.json"), min(args.repeat, 3))
        summary["seconds_cli"] = round(t_cli, 3)
        summary["cli_simple_att"] = cli_res["overall"]["estimate"]
    report(summary, args.json, args.md, markdown)


def markdown(s: dict) -> str:
    d = s["max_abs_diff"]
    lines = [
        f"# Callaway-Sant'Anna versus Python peers ({s['date']})", "",
        f"Machine: {s['machine']}.", "",
        f"Simulated panel, {s['units']:,} units x {s['periods']} periods ({s['rows']:,} rows), control "
        f"`{s['control']}`; task: {s['task']}. Interleaved runs, best of {s['repeat']}. "
        "Ratio = ours / peer (below 1: ours is faster).", "",
        "| peer | version | ratio ours / peer |", "|---|---|---|",
        f"| diff-diff `CallawaySantAnna` | {s['peers']['diff_diff']} | {s['ratio_ours_over_diffdiff']} |",
        f"| csdid `ATTgt` | {s['peers']['csdid']} | {s['ratio_ours_over_csdid']} |", "",
        "Largest absolute differences of our numbers from the peers':", "",
        "| quantity | diff-diff | csdid |", "|---|---|---|",
    ]
    for q in ("att_gt", "att_gt_se", "overall", "overall_se", "event_study", "event_study_se"):
        lines.append(f"| {q} | {d['diffdiff_' + q]:.1e} | {d['csdid_' + q]:.1e} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
