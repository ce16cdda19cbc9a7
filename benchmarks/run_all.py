"""Every benchmark of the project in one run, reported as ratios against peers measured in the same run.

Usage::

    .venv/bin/python benchmarks/run_all.py                   # everything (about 15 minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py --skip-book       # without the two `clusterpolicy book` builds
    .venv/bin/python benchmarks/run_all.py --quick           # small sizes, to check the script itself

What is measured (targets from the hardening issue; a target is a goal, not a test):

==========================  =====================================================  ==========================
benchmark                   compared with                                          target
==========================  =====================================================  ==========================
CS-DiD, 50k units x 10      csdid 0.4.3 (same specification, analytic SEs)         ratio <= 1
TWFE, 1M rows               pyfixest ``feols``, linearmodels ``PanelOLS``          <= 2x fastest peer
Poisson FE, 1M rows         pyfixest ``fepois``                                    <= 2x fastest peer
peak RSS at 1M rows         (absolute, each estimator in a fresh process)          <= 2 GB
specification grid          the same grid on 1 vs 2 Dask workers                   >= 1.7x faster with 2
book, clean build           (absolute, a scratch copy of the project)              <= 120 s
book, no-change rebuild     (absolute, same copy, nothing changed)                 <= 10 s
==========================  =====================================================  ==========================

All panels are **simulated** except the specification grid, which uses the committed real panel. Timings are
wall clock, best of ``--repeat``. The table is printed and written to ``benchmarks/results/last_run.md`` (and
``.json``), replacing the previous run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_cs  # noqa: E402  (sibling scripts, importable once HERE is on the path)
import bench_fe  # noqa: E402


def _row(benchmark: str, ours: float, peer: float | None, peer_name: str, target: str, met: bool,
         unit: str = "s", detail: str = "") -> dict:
    return {"benchmark": benchmark, "ours": round(ours, 3), "peer": None if peer is None else round(peer, 3),
            "peer_name": peer_name, "ratio": None if not peer else round(ours / peer, 3), "unit": unit,
            "target": target, "met": bool(met), "detail": detail}


def bench_cs_did(units: int, periods: int, repeat: int) -> list[dict]:
    data = bench_cs.simulate(units, periods, seed=1)
    t_ours, res = bench_cs.best_of(lambda: bench_cs.run_api(data), repeat)
    t_csdid, (model, _) = bench_cs.best_of(lambda: bench_cs.run_csdid(data), repeat)
    diff = float(np.max(np.abs(res.group_time.sort_values(["group", "time"])["estimate"].to_numpy()
                               - np.asarray(model.results["att"], dtype=float))))
    return [_row(f"CS-DiD ATT(g,t) + simple ATT, {units:,} units x {periods}", t_ours, t_csdid, "csdid",
                 "ratio <= 1", t_ours <= t_csdid, detail=f"largest ATT(g,t) difference {diff:.1e}")]


def bench_fixed_effects(rows: int, periods: int, repeat: int) -> list[dict]:
    out = []
    for task, impls in bench_fe.TASKS.items():
        measured = {impl: bench_fe.measure(task, impl, rows, periods, repeat) for impl in impls}
        peers = {k: v for k, v in measured.items() if k != "clusterpolicy"}
        fastest = min(peers, key=lambda k: peers[k]["seconds"])
        ours = measured["clusterpolicy"]
        out.append(_row(f"{'TWFE' if task == 'twfe' else 'Poisson FE'}, {rows:,} rows", ours["seconds"],
                        peers[fastest]["seconds"], fastest, "<= 2x fastest peer",
                        ours["seconds"] <= 2 * peers[fastest]["seconds"],
                        detail="; ".join(f"{k} {v['seconds']:.2f} s" for k, v in measured.items())))
        out.append(_row(f"peak RSS, {'TWFE' if task == 'twfe' else 'Poisson FE'}, {rows:,} rows",
                        ours["peak_rss_mb"], peers[fastest]["peak_rss_mb"], fastest, "<= 2048 MB",
                        ours["peak_rss_mb"] <= 2048, unit="MB",
                        detail="; ".join(f"{k} {v['peak_rss_mb']:.0f} MB" for k, v in measured.items())))
    return out


def bench_grid(n_specs: int | None) -> list[dict]:
    """The book's specification grid on a Dask LocalCluster of 1 and of 2 single-threaded worker processes.

    Each cluster is started and warmed up (imports, inputs loaded once per worker) before the clock starts, so the
    ratio measures how the grid itself scales; the start-up cost is reported in the detail column.
    """
    from distributed import Client, LocalCluster

    from clusterpolicy.estimate.grid import build_specs, estimate_spec, run_grid

    choices = {"outcome": ["rd_personnel_bes_fte", "researchers_bes_fte", "gerd_bes_mio_eur"],
               "transform": ["log", "per_capita", "level"], "coding": ["onset", "legal_act", "first_funding"],
               "control": ["notyet", "never"], "estimator": ["cs", "twfe", "imputation", "sa"],
               "window": ["2007-2019", "2011-2019"], "anticipation": [0, 1, 2]}
    specs = build_specs(choices)[:n_specs]
    seconds, startup, frames = {}, {}, {}
    for workers in (1, 2):
        start = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.gather(client.map(estimate_spec, specs[: 2 * workers], pure=False))  # warm every worker
            startup[workers] = time.perf_counter() - start
            start = time.perf_counter()
            frames[workers] = run_grid(specs, estimate_spec, executor="dask", scheduler=cluster.scheduler_address)
            seconds[workers] = time.perf_counter() - start
    same = frames[1].equals(frames[2])
    speedup = seconds[1] / seconds[2]
    return [_row(f"specification grid, {len(specs)} specs, 2 Dask workers (peer: 1 worker)", seconds[2],
                 seconds[1], "1 worker", ">= 1.7x faster with 2", speedup >= 1.7,
                 detail=f"speed-up {speedup:.2f}x; identical results: {same}; cluster start-up and warm-up "
                        f"{startup[1]:.1f} s (1 worker), {startup[2]:.1f} s (2 workers), not timed")]


def bench_book() -> list[dict]:
    """Clean and no-change `clusterpolicy book` on a scratch copy (the repository's own build is left alone)."""
    exe = Path(sys.executable).with_name("clusterpolicy")
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        copy = Path(tmp) / "project"
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
        for name in files.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, copy / name)
        env = {**os.environ, "CLUSTERPOLICY_ROOT": str(copy)}
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run([str(exe), "book", "-q"], cwd=copy, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return [_row("book, clean build (all runs executed)", times[0], None, "", "<= 120 s", times[0] <= 120),
            _row("book, no-change rebuild", times[1], times[0], "clean build", "<= 10 s", times[1] <= 10)]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"# Benchmarks, last run ({meta['date']})", "",
             f"Machine: {meta['cpus']} CPUs, Python {meta['python']}, {meta['platform']}. Simulated panels except "
             "the specification grid. Ratio = ours / peer (below 1 is faster than the peer).", "",
             "| benchmark | ours | peer | ratio | target | met | detail |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        peer = "" if r["peer"] is None else f"{r['peer']} {r['unit']} ({r['peer_name']})"
        ratio = "" if r["ratio"] is None else f"{r['ratio']}"
        lines.append(f"| {r['benchmark']} | {r['ours']} {r['unit']} | {peer} | {ratio} | {r['target']} | "
                     f"{'yes' if r['met'] else 'NO'} | {r['detail']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks the script, not the targets)")
    parser.add_argument("--skip-book", action="store_true", help="skip the clean and no-change book builds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "last_run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sizes = dict(units=2_000, rows=50_000, specs=12, repeat=1) if args.quick else \
        dict(units=50_000, rows=1_000_000, specs=None, repeat=args.repeat)
    rows: list[dict] = []
    for name, step in [("CS-DiD", lambda: bench_cs_did(sizes["units"], 10, sizes["repeat"])),
                       ("fixed effects", lambda: bench_fixed_effects(sizes["rows"], 10, sizes["repeat"])),
                       ("grid", lambda: bench_grid(sizes["specs"])),
                       ("book", None if args.skip_book else bench_book)]:
        if step is None:
            continue
        start = time.perf_counter()
        rows += step()
        print(f"[bench] {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(terse=True), "quick": args.quick}
    text = markdown(rows, meta)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
