"""Run the manifest: decide what is stale, execute it on a local process pool or a Dask cluster, record
provenance.

Failure isolation: a failing run keeps its failed notebook under ``_build/failed/``, its book page says it
failed, the other runs continue, and :attr:`PipelineReport.ok` is false (the CLI exits non-zero).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from clusterpolicy.errors import UserInputError
from clusterpolicy.fsutil import atomic_write_json
from clusterpolicy.pipeline.cache import Layout, environment_digest, is_fresh, manifest_keys, read_state
from clusterpolicy.pipeline.execute import execute_run
from clusterpolicy.pipeline.lock import project_lock
from clusterpolicy.pipeline.manifest import Manifest, Run, load_manifest

log = logging.getLogger(__name__)

Executor = Literal["local", "dask"]
PROVENANCE_FILE = Path(".cache") / "provenance.json"


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "ok" | "failed" | "cached"
    duration: float
    error: str = ""

    @property
    def from_cache(self) -> bool:
        return self.status == "cached"


@dataclass
class PipelineReport:
    outcomes: list[RunOutcome] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def executed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status in ("ok", "failed")]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        cached = sum(o.from_cache for o in self.outcomes)
        lines = [
            f"{len(self.outcomes)} run(s): {len(self.executed) - len(self.failed)} executed, {cached} from cache, "
            f"{len(self.failed)} failed ({self.wall_time:.1f} s)"
        ]
        lines += [f"  FAILED {o.run_id}: {o.error}" for o in self.failed]
        return "\n".join(lines)


def _spec(root: Path, run: Run, key: str, threads: int, after: list[str]) -> dict[str, Any]:
    return {
        "after": after,
        "run_id": run.id,
        "root": str(root),
        "template_path": str(run.template.path),
        "template_name": run.template.name,
        "title": run.title,
        "description": run.description,
        "parameters": run.resolved_parameters(),
        "cell_timeout": run.cell_timeout,
        "key": key,
        "threads": threads,
    }


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, by the parent, which stops the workers; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_dependency_order(specs: list[dict[str, Any]], submit: Callable[[dict[str, Any]], Any],
                         wait_first: Callable[[list[Any]], Iterable[Any]]) -> Iterator[dict[str, Any]]:
    """Submit every spec once the runs it reads from (``spec["after"]``, the stale ones of this invocation) have
    finished, in manifest order otherwise; yield the results as they arrive.

    A run whose upstream failed is not executed (it would read stale or missing results): it is reported failed,
    naming the upstream run. ``submit`` returns a future; ``wait_first`` returns the finished ones of a list.
    """
    waiting = {spec["run_id"]: spec for spec in specs}
    unfinished = set(waiting)
    failed: set[str] = set()
    running: dict[Any, str] = {}

    def release() -> list[dict[str, Any]]:
        skipped = []
        changed = True
        while changed:  # a skipped run can release (skip) its own readers in turn
            changed = False
            for run_id, spec in list(waiting.items()):
                broken = [up for up in spec["after"] if up in failed]
                if broken:
                    del waiting[run_id]
                    unfinished.discard(run_id)
                    failed.add(run_id)
                    skipped.append({"run_id": run_id, "status": "failed", "duration": 0.0,
                                    "error": f"not run: it reads the results of run '{broken[0]}', which failed"})
                    changed = True
                elif not any(up in unfinished for up in spec["after"]):
                    del waiting[run_id]
                    running[submit(spec)] = run_id
        return skipped

    yield from release()
    while running:
        for future in wait_first(list(running)):
            run_id = running.pop(future)
            result: dict[str, Any] = future.result()
            unfinished.discard(run_id)
            if result["status"] != "ok":
                failed.add(run_id)
            yield result
        yield from release()


def _local_results(specs: list[dict[str, Any]], jobs: int) -> Iterator[dict[str, Any]]:
    # "spawn": workers start clean (no inherited threads or open kernels) on every platform.
    context = multiprocessing.get_context("spawn")
    # Workers inherit "ignore SIGINT" from the moment they exist (a Ctrl-C during their start-up would otherwise
    # print tracebacks); the parent's own handler is restored right after they are started.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_sigint)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        yield from _in_dependency_order(
            specs, lambda spec: pool.submit(execute_run, spec),
            lambda futures: wait_futures(futures, return_when=FIRST_COMPLETED).done)
    except BaseException:
        # Interrupted: stop the workers now. Their kernels notice the parent is gone and exit; unfinished runs
        # wrote no cache record, so the next invocation executes them again.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


def _dask_results(specs: list[dict[str, Any]], scheduler: str) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client
        from distributed import wait as dask_wait
    except ImportError as err:  # pragma: no cover - distributed is in the lock
        raise UserInputError("the Dask executor needs 'distributed'; install the lock file") from err
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise UserInputError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}); start one with "
            "'dask scheduler' and 'dask worker ADDR', or use --executor local"
        ) from err
    try:
        yield from _in_dependency_order(
            specs,
            lambda spec: client.submit(execute_run, spec, key=f"clusterpolicy-run-{spec['run_id']}-{spec['key'][:12]}",
                                       pure=False),
            lambda futures: dask_wait(futures, return_when="FIRST_COMPLETED").done)
    finally:
        client.close()


def run_pipeline(
    root: Path,
    *,
    only: Iterable[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    executor: Executor = "local",
    scheduler: str | None = None,
    progress: bool = True,
    manifest: Manifest | None = None,
    on_outcome: Callable[[RunOutcome], None] | None = None,
) -> PipelineReport:
    """Execute every stale run of the manifest (or the ``only`` ones) and return what happened.

    Parameters
    ----------
    root
        Project root.
    only
        Run ids to consider; default all.
    jobs
        Parallel local workers (default: the number of cores).
    force
        Execute even runs whose cache key is unchanged.
    executor, scheduler
        ``"local"`` (a process pool) or ``"dask"`` (an existing ``distributed`` scheduler at ``scheduler``).

    Holds the project lock (:mod:`clusterpolicy.pipeline.lock`) throughout, so two invocations in one checkout
    never interleave their writes.
    """
    with project_lock(root):
        return _run_pipeline(root, only=only, jobs=jobs, force=force, executor=executor, scheduler=scheduler,
                             progress=progress, manifest=manifest, on_outcome=on_outcome)


def _run_pipeline(
    root: Path,
    *,
    only: Iterable[str] | None,
    jobs: int | None,
    force: bool,
    executor: Executor,
    scheduler: str | None,
    progress: bool,
    manifest: Manifest | None,
    on_outcome: Callable[[RunOutcome], None] | None,
) -> PipelineReport:
    started = time.perf_counter()
    manifest = manifest or load_manifest(root)
    runs = manifest.select(list(only) if only else None)
    if executor == "dask" and not scheduler:
        raise UserInputError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if executor not in ("local", "dask"):
        raise UserInputError(f"unknown executor '{executor}'; use local or dask")
    layout = Layout(root)
    # Scratch notebooks of an earlier, interrupted invocation are never results: remove them.
    shutil.rmtree(root / "_build" / "work", ignore_errors=True)
    env = environment_digest(root)
    keys = manifest_keys(manifest, env)
    stale = [run for run in runs if force or not is_fresh(layout, run, keys[run.id])]
    # As make builds prerequisites: a stale run's stale upstream runs execute first even when not selected, or it
    # would read their old results under a key that already names the new ones.
    frontier = list(stale)
    while frontier:
        for up in manifest.upstream(frontier.pop()):
            if up not in stale and not is_fresh(layout, up, keys[up.id]):
                stale.append(up)
                frontier.append(up)
    order = {run.id: i for i, run in enumerate(manifest.runs)}
    stale.sort(key=lambda run: order[run.id])
    stale_ids = {run.id for run in stale}
    report = PipelineReport()
    for run in runs:
        if run not in stale:
            state = read_state(layout, run.id) or {}
            outcome = RunOutcome(run.id, "cached", float(state.get("duration_s", 0.0)))
            report.outcomes.append(outcome)

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(stale) or 1))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    specs = [_spec(root, run, keys[run.id], threads, [up.id for up in manifest.upstream(run) if up.id in stale_ids])
             for run in stale]
    states = {spec["run_id"]: "queued" for spec in specs}
    bar = tqdm(
        total=len(specs), desc="runs", unit="run", disable=not progress or not specs, file=sys.stderr,
        dynamic_ncols=True,
    )
    symbol = {"queued": "…", "ok": "✓", "failed": "✗"}

    def show() -> None:
        bar.set_postfix_str(" ".join(f"{rid}{symbol[s]}" for rid, s in states.items()), refresh=True)

    show()
    if specs:
        results = _local_results(specs, jobs) if executor == "local" else _dask_results(specs, scheduler or "")
        try:
            for result in results:
                outcome = RunOutcome(result["run_id"], result["status"], result["duration"], result.get("error", ""))
                states[outcome.run_id] = outcome.status
                report.outcomes.append(outcome)
                bar.update(1)
                show()
                if on_outcome:
                    on_outcome(outcome)
                if outcome.status == "failed":
                    bar.write(f"run {outcome.run_id} FAILED: {outcome.error}", file=sys.stderr)
        finally:
            bar.close()
    report.outcomes.sort(key=lambda o: order[o.run_id])
    report.wall_time = time.perf_counter() - started
    record_provenance(root, manifest, report, keys, executor)
    return report


def record_provenance(
    root: Path, manifest: Manifest, report: PipelineReport, keys: dict[str, str], executor: str
) -> None:
    """Merge this invocation's outcomes into ``.cache/provenance.json`` (read by the reproducibility appendix)."""
    path = root / PROVENANCE_FILE
    try:
        import json

        previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (ValueError, OSError):
        previous = {}
    runs = previous.get("runs", {})
    for outcome in report.outcomes:
        run = manifest.get(outcome.run_id)
        runs[outcome.run_id] = {
            "template": f"notebooks/{run.template.name}",
            "parameters": {k: v for k, v in run.resolved_parameters().items() if k != "run_id"},
            "status": outcome.status if outcome.status != "cached" else "ok",
            "from_cache": outcome.from_cache,
            "duration_s": outcome.duration,
            "key": keys.get(outcome.run_id, ""),
            "error": outcome.error,
        }
    known = {run.id for run in manifest.runs}
    runs = {rid: rec for rid, rec in sorted(runs.items()) if rid in known}
    atomic_write_json(path, {"executor": executor, "runs": runs})
