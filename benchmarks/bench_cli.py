"""End to end, as a researcher runs it: ``clusterpolicy estimate`` on a CSV versus short scripts that read the same
CSV with pandas and fit Callaway-Sant'Anna with csdid 0.4.3 and with diff-diff 3.13.

Usage::

    python benchmarks/bench_cli.py [--units 50000] [--periods 10] [--repeat 5] [--seed 1]
                                   [--before-src PATH] [--json out.json] [--md out.md]

The panel is the simulated one of ``bench_cs.py`` (:func:`bench_cs.simulate`), written once as a CSV. Each
contestant is a fresh **subprocess** (interpreter start-up, imports, reading the CSV, fitting, output), timed by
wall clock:

* ``ours``: ``clusterpolicy estimate --data panel.csv --unit id --time t --cohort g --outcome y --estimator cs
  --control never --json out.json`` (reads and validates the file, fits ATT(g,t) and every aggregation, writes
  the JSON, prints the summary);
* ``csdid``: ``pd.read_csv`` + ``ATTgt(...).fit(est_method="dr", bstrap=False)`` + ``aggte`` simple and dynamic;
* ``diffdiff``: ``pd.read_csv`` + ``CallawaySantAnna(estimation_method="dr", n_bootstrap=0).fit`` +
  ``aggregate("event_study")``;
* ``ours_before`` (with ``--before-src``): the CLI with ``PYTHONPATH`` pointing at another checkout's ``src``
  (e.g. the main branch), to report before/after.

A second, in-process measurement splits the time into phases (best of ``--repeat``, each phase in a fresh
subprocess so that imports are cold): start-up and imports, then reading, validating, the design checks and the
fit for ours; reading and fitting for diff-diff. This says where the remaining time goes.

They run **interleaved** (one of each per round) and each keeps its best of ``--repeat`` rounds, so that load from
other processes hits all alike; read the ratios ours / peer (below 1: ours is faster). Every contestant prints its
overall (simple) ATT, which is compared as a sanity check.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_cs import machine_note, panel_parser, report, simulate  # noqa: E402

CSDID_SCRIPT = """
import contextlib, io, sys, warnings
import pandas as pd
from csdid.att_gt import ATTgt
warnings.simplefilter("ignore")
df = pd.read_csv(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    model = ATTgt(yname="y", gname="g", idname="id", tname="t", data=df, control_group=["nevertreated"])
    model.fit(est_method="dr", bstrap=False)
    simple = float(model.aggte(typec="simple", bstrap=False).atte["overall_att"])
    model.aggte(typec="dynamic", bstrap=False)
print(simple)
"""

DIFFDIFF_SCRIPT = """
import sys, warnings
import pandas as pd
from diff_diff import CallawaySantAnna
warnings.simplefilter("ignore")
df = pd.read_csv(sys.argv[1])
fit = CallawaySantAnna(control_group="never_treated", estimation_method="dr", n_bootstrap=0).fit(
    df, outcome="y", unit="id", time="t", first_treat="g")
fit.aggregate("event_study")
print(float(fit.overall_att))
"""


def cli_command(csv: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("clusterpolicy")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "clusterpolicy.cli.main"]
    return [*head, "estimate", "--data", str(csv), "--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y",
            "--estimator", "cs", "--control", "never", "--json", str(out)]


PHASES_OURS = """
import json, sys, time
t0 = time.perf_counter()
import clusterpolicy.cli.main  # noqa: F401  (what the CLI imports: typer, the estimators, scipy, pandas)
from clusterpolicy.data.io import read_panel_csv
from clusterpolicy.data.schema import check_design, validate_panel
from clusterpolicy.estimate.api import estimate
t1 = time.perf_counter()
frame = read_panel_csv(sys.argv[1]); t2 = time.perf_counter()
panel = validate_panel(frame, unit="id", time="t", cohort="g", outcome="y"); t3 = time.perf_counter()
check_design(panel, control="never"); t4 = time.perf_counter()
estimate(panel.data, estimator="cs", unit="id", time="t", cohort="g", outcome="y", control="never"); t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "read": t2 - t1, "validate": t3 - t2, "design": t4 - t3, "fit": t5 - t4}))
"""

PHASES_DIFFDIFF = """
import json, sys, time, warnings
t0 = time.perf_counter()
import pandas as pd
from diff_diff import CallawaySantAnna
t1 = time.perf_counter()
warnings.simplefilter("ignore")
df = pd.read_csv(sys.argv[1]); t2 = time.perf_counter()
fit = CallawaySantAnna(control_group="never_treated", estimation_method="dr", n_bootstrap=0).fit(
    df, outcome="y", unit="id", time="t", first_treat="g")
fit.aggregate("event_study"); t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "read": t2 - t1, "fit": t3 - t2}))
"""


def phases(script: Path, csv: Path, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Best of ``repeat`` fresh subprocesses, phase by phase."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        done = subprocess.run([sys.executable, str(script), str(csv)], env=env, capture_output=True, text=True,
                              check=True)
        for k, v in json.loads(done.stdout.splitlines()[-1]).items():
            best[k] = round(min(best.get(k, float("inf")), v), 3)
    return best


def run(cmd: list[str], env: dict[str, str], out: Path | None = None) -> tuple[float, float]:
    """Wall-clock seconds of one subprocess, and the overall ATT it reports."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    att = json.loads(out.read_text())["overall"]["estimate"] if out else float(done.stdout.split()[-1])
    return seconds, float(att)


def main() -> None:
    parser = panel_parser(__doc__)
    parser.add_argument("--before-src", type=Path, default=None,
                        help="src folder of another checkout, run as 'ours_before'")
    args = parser.parse_args()

    import csdid
    import diff_diff

    env = dict(os.environ, PYTHONWARNINGS="ignore")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv = tmp_path / "panel.csv"
        data = simulate(args.units, args.periods, args.seed)
        data.to_csv(csv, index=False)
        scripts = {}
        for name, text in (("csdid", CSDID_SCRIPT), ("diffdiff", DIFFDIFF_SCRIPT)):
            scripts[name] = tmp_path / f"peer_{name}_script.py"
            scripts[name].write_text(text)
        contestants = {
            "ours": (cli_command(csv, tmp_path / "ours.json"), env, tmp_path / "ours.json"),
            "csdid": ([sys.executable, str(scripts["csdid"]), str(csv)], env, None),
            "diffdiff": ([sys.executable, str(scripts["diffdiff"]), str(csv)], env, None),
        }
        if args.before_src:
            before_env = dict(env, PYTHONPATH=str(args.before_src.resolve()))
            contestants["ours_before"] = (cli_command(csv, tmp_path / "before.json"), before_env,
                                          tmp_path / "before.json")
        times: dict[str, list[float]] = {k: [] for k in contestants}
        atts: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, (cmd, run_env, out) in contestants.items():
                seconds, atts[name] = run(cmd, run_env, out)
                times[name].append(round(seconds, 3))
        split = {}
        for name, text in (("ours", PHASES_OURS), ("diffdiff", PHASES_DIFFDIFF)):
            script = tmp_path / f"phases_{name}_script.py"
            script.write_text(text)
            split[name] = phases(script, csv, env, args.repeat)
    best = {k: min(v) for k, v in times.items()}
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        load = None
    summary = {
        "date": _dt.date.today().isoformat(),
        "machine": machine_note() + (f"; load average {load[0]:.1f} at the end of the runs" if load else ""),
        "units": args.units, "periods": args.periods, "rows": len(data), "repeat": args.repeat,
        "task": "end to end from a CSV: read, CS ATT(g,t) (DR, never-treated, analytic SEs), simple ATT and event "
                "study",
        "peers": {"diff_diff": diff_diff.__version__, "csdid": getattr(csdid, "__version__", "0.4.3")},
        "seconds_best": best, "seconds_all": times,
        "ratio_ours_over_csdid": round(best["ours"] / best["csdid"], 3),
        "ratio_ours_over_diffdiff": round(best["ours"] / best["diffdiff"], 3),
        "simple_att": atts, "phases_best_seconds": split,
        "max_abs_att_diff": max(abs(a - atts["ours"]) for a in atts.values()),
        "target_met": best["ours"] <= best["diffdiff"],
        "note": "each contestant a fresh subprocess; interleaved rounds; best-of-repeat wall clock; ratio = ours / peer",
    }
    if "ours_before" in best:
        summary["ratio_ours_before_over_diffdiff"] = round(best["ours_before"] / best["diffdiff"], 3)
        summary["speedup_over_before"] = round(best["ours_before"] / best["ours"], 2)
    report(summary, args.json, args.md, markdown)


def markdown(s: dict) -> str:
    b = s["seconds_best"]
    rows = [("`clusterpolicy estimate` (this branch)", "ours")]
    if "ours_before" in b:
        rows.append(("`clusterpolicy estimate` (before)", "ours_before"))
    rows += [(f"pandas + diff-diff {s['peers']['diff_diff']} script", "diffdiff"),
             (f"pandas + csdid {s['peers']['csdid']} script", "csdid")]
    lines = [
        f"# The CLI end to end versus peer scripts ({s['date']})", "",
        f"Machine: {s['machine']}.", "",
        f"Simulated panel ({s['units']:,} units x {s['periods']} periods, {s['rows']:,} rows) written as a CSV; "
        f"task: {s['task']}. Each contestant is a fresh subprocess (start-up, imports, reading, fitting, output); "
        f"interleaved rounds, best of {s['repeat']}. Produced by `python benchmarks/bench_cli.py`.", "",
        "| contestant | best (s) | all runs (s) |", "|---|---|---|",
    ]
    for label, key in rows:
        lines.append(f"| {label} | {b[key]:.2f} | {', '.join(f'{t:.2f}' for t in s['seconds_all'][key])} |")
    lines += [
        "", "| ratio | value |", "|---|---|",
        f"| ours / diff-diff script | {s['ratio_ours_over_diffdiff']} |",
        f"| ours / csdid script | {s['ratio_ours_over_csdid']} |",
    ]
    if "ours_before" in b:
        lines.append(f"| before / diff-diff script | {s['ratio_ours_before_over_diffdiff']} |")
    ph = s["phases_best_seconds"]
    lines += ["", "Where the time goes (in-process phases, best of each over fresh subprocesses, seconds):", "",
              "| phase | ours | diff-diff script |", "|---|---|---|"]
    for phase in ("imports", "read", "validate", "design", "fit"):
        lines.append(f"| {phase} | {ph['ours'].get(phase, '-')} | {ph['diffdiff'].get(phase, '-')} |")
    lines += ["", f"Target (ours no slower than the diff-diff script, ratio <= 1) met: {s['target_met']}. "
              f"Largest difference between the contestants' simple ATT: {s['max_abs_att_diff']:.1e}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
