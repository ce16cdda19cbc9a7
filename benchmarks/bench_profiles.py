"""Time to build regional profiles for the NUTS2 regions of the Eurostat data: local process pool vs a two-worker
Dask cluster.

Usage::

    .venv/bin/python benchmarks/bench_profiles.py                 # a subset: 12 regions spread over the codes
    .venv/bin/python benchmarks/bench_profiles.py --limit 0       # every NUTS2 region of the Eurostat data
    .venv/bin/python benchmarks/bench_profiles.py --limit 0 --json benchmarks/results/profiles.json \
        --md benchmarks/results/profiles.md

Each executor runs the same profile runs (template ``notebooks/region_profile.md``, one run per region, all
forced) in its own scratch copy of the project (``data``, ``notebooks``, ``results``, ``src`` and the lock), so
the project's own ``results/`` and cache are untouched. The Dask cluster is a ``distributed.LocalCluster`` with two
single-threaded worker processes on this machine, reached through ``clusterpolicy``'s ``--executor dask`` path
(:func:`clusterpolicy.pipeline.runner.run_pipeline` with ``executor="dask"``). Wall clock of the whole set and per
run are reported; every run must succeed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COPY = ("data", "notebooks", "results", "src", "_config.yml", "requirements.lock", "pyproject.toml")


def scratch_project(target: Path) -> Path:
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def profile_manifest(root: Path, codes: list[str]):
    from clusterpolicy.pipeline.manifest import load_manifest

    lines = ["runs:"]
    for code in codes:
        lines += [f"  - id: region-{code.lower()}", "    template: region_profile.md", f'    title: "{code}"',
                  "    section: Regions", "    parameters:", f"      nuts2: {code}"]
    path = root / "notebooks" / "bench_profiles.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_manifest(root, path)


def time_executor(executor: str, codes: list[str], jobs: int) -> dict:
    from clusterpolicy.pipeline.runner import run_pipeline

    with tempfile.TemporaryDirectory(prefix=f"bench-profiles-{executor}-") as tmp:
        root = scratch_project(Path(tmp))
        manifest = profile_manifest(root, codes)
        os.environ["CLUSTERPOLICY_ROOT"] = str(root)
        cluster = client = None
        scheduler = None
        if executor == "dask":
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            scheduler = cluster.scheduler_address
        try:
            started = time.perf_counter()
            report = run_pipeline(root, manifest=manifest, force=True, jobs=jobs, executor=executor,  # type: ignore[arg-type]
                                  scheduler=scheduler, progress=False)
            wall = time.perf_counter() - started
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        durations = [o.duration for o in report.outcomes]
        return {"executor": executor, "workers": 2 if executor == "dask" else jobs, "runs": len(codes),
                "failed": [o.run_id for o in report.failed], "wall_s": round(wall, 2),
                "per_run_mean_s": round(sum(durations) / len(durations), 2) if durations else None,
                "per_run_max_s": round(max(durations), 2) if durations else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12, help="regions to profile (0: every NUTS2 region)")
    parser.add_argument("--jobs", type=int, default=2, help="local pool workers")
    parser.add_argument("--executors", default="local,dask")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(HERE))
    from bench_cs import machine_note, report

    from clusterpolicy.data.loaders import load_rd_panel

    rd = load_rd_panel()
    all_codes = sorted(c for c in set(rd["nuts2"]) if len(c) == 4)
    # A subset spread evenly over the sorted codes (so over countries), always with one Italian region.
    codes = all_codes if args.limit == 0 else all_codes[::max(1, len(all_codes) // args.limit)][:args.limit]
    rows = [time_executor(ex.strip(), codes, args.jobs) for ex in args.executors.split(",") if ex.strip()]
    for r in rows:
        r["extrapolated_all_s"] = round(r["wall_s"] / len(codes) * len(all_codes), 1)
    walls = {r["executor"]: r["wall_s"] for r in rows}
    summary = {
        "date": _dt.date.today().isoformat(), "machine": machine_note(),
        "note": f"{len(codes)} of {len(all_codes)} NUTS2 regions", "n_all": len(all_codes), "n_profiled": len(codes),
        "n_italian": sum(c.startswith("IT") for c in codes), "codes": codes, "rows": rows,
        "ratio_dask_over_local": round(walls["dask"] / walls["local"], 3) if {"dask", "local"} <= walls.keys() else None,
    }
    report(summary, args.json, args.md, markdown)
    if any(r["failed"] for r in rows):
        sys.exit("some profile runs failed; see the messages above")


def markdown(s: dict) -> str:
    lines = [f"# Regional profiles for the NUTS2 regions of the Eurostat data ({s['date']})", "",
             f"Machine: {s['machine']}.", "",
             f"{s['n_profiled']} of {s['n_all']} NUTS2 regions ({s['n_italian']} Italian), one forced profile run each "
             "(template `notebooks/region_profile.md`), in a scratch copy of the project. Produced by "
             "`python benchmarks/bench_profiles.py`.", "",
             "| executor | workers | profiles | wall (s) | mean per run (s) | max per run (s) | all regions, extrapolated (s) "
             "| failed |", "|---|---|---|---|---|---|---|---|"]
    for r in s["rows"]:
        lines.append(f"| {r['executor']} | {r['workers']} | {r['runs']} | {r['wall_s']} | {r['per_run_mean_s']} | "
                     f"{r['per_run_max_s']} | {r['extrapolated_all_s']} | {len(r['failed'])} |")
    if s["ratio_dask_over_local"] is not None:
        lines += ["", f"Ratio of wall times, two-worker Dask cluster / local pool: {s['ratio_dask_over_local']}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
