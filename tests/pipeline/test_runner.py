"""The runner: results files, the cache, failure isolation, and the Dask executor.

These tests execute real notebooks with papermill on a tiny throw-away project (a few seconds per kernel).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusterpolicy.pipeline.runner import run_pipeline
from tests.pipeline.conftest import write_project


def results(root: Path, run_id: str) -> dict:
    return json.loads((root / "results" / f"{run_id}.json").read_text())


def test_runs_write_results_and_unchanged_runs_are_cached(tiny_project: Path) -> None:
    first = run_pipeline(tiny_project, jobs=2, progress=False)
    assert first.ok
    assert sorted(o.status for o in first.outcomes) == ["ok", "ok", "ok"]
    assert results(tiny_project, "one")["values"] == {"doubled": 2.0, "run": "one"}
    assert results(tiny_project, "three")["values"]["doubled"] == pytest.approx(3.0, abs=0)
    assert (tiny_project / "book" / "runs" / "two.ipynb").exists()

    second = run_pipeline(tiny_project, jobs=2, progress=False)
    assert [o.status for o in second.outcomes] == ["cached", "cached", "cached"]

    # A changed parameter re-executes only that run.
    manifest = tiny_project / "notebooks" / "runs.yaml"
    manifest.write_text(manifest.read_text().replace("parameters: {x: 2}", "parameters: {x: 5}"))
    third = run_pipeline(tiny_project, jobs=2, progress=False)
    assert {o.run_id: o.status for o in third.outcomes} == {"one": "cached", "two": "ok", "three": "cached"}
    assert results(tiny_project, "two")["values"]["doubled"] == 10.0

    # Changed input data makes every run stale.
    (tiny_project / "data" / "input.csv").write_text("a,b\n1,3\n")
    fourth = run_pipeline(tiny_project, only=["one"], jobs=1, progress=False)
    assert [o.status for o in fourth.outcomes] == ["ok"]

    # A tampered output is not trusted.
    (tiny_project / "results" / "one.json").write_text("{}")
    fifth = run_pipeline(tiny_project, only=["one"], jobs=1, progress=False)
    assert [o.status for o in fifth.outcomes] == ["ok"]
    assert results(tiny_project, "one")["values"]["doubled"] == 2.0


def test_results_are_byte_identical_across_forced_reruns(tiny_project: Path) -> None:
    run_pipeline(tiny_project, only=["three"], jobs=1, progress=False)
    before = (tiny_project / "results" / "three.json").read_bytes()
    run_pipeline(tiny_project, only=["three"], jobs=1, force=True, progress=False)
    assert (tiny_project / "results" / "three.json").read_bytes() == before


def test_failing_run_is_isolated(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", """\
        runs:
          - id: good
            template: tiny.md
            parameters: {x: 4}
          - id: bad
            template: tiny.md
            parameters: {mode: fail}
        """)
    report = run_pipeline(root, jobs=2, progress=False)
    assert not report.ok
    statuses = {o.run_id: o.status for o in report.outcomes}
    assert statuses == {"good": "ok", "bad": "failed"}
    assert "deliberate failure for the test" in report.failed[0].error
    assert results(root, "good")["values"]["doubled"] == 8.0
    # The failed notebook is kept for inspection; the book page says it failed and carries no results.
    assert (root / "_build" / "failed" / "bad.ipynb").exists()
    page = (root / "book" / "runs" / "bad.ipynb").read_text()
    assert "failed" in page and "doubled" not in page
    assert not (root / "results" / "bad.json").exists()
    # A failed run is never served from the cache: the next invocation tries it again.
    again = run_pipeline(root, jobs=2, progress=False)
    assert {o.run_id: o.status for o in again.outcomes} == {"good": "cached", "bad": "failed"}


def test_dask_executor_on_local_cluster(tiny_project: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        report = run_pipeline(
            tiny_project, executor="dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert report.ok
    assert [o.status for o in report.outcomes] == ["ok", "ok", "ok"]
    assert results(tiny_project, "two")["values"]["doubled"] == 4.0
    # The Dask-made outputs are valid cache entries for a later local run.
    local = run_pipeline(tiny_project, progress=False)
    assert [o.status for o in local.outcomes] == ["cached", "cached", "cached"]


def test_kernels_are_stopped_immediately_with_a_setting_nbclient_knows() -> None:
    # execute_run asks nbclient to stop each kernel at once (a graceful stop waits about a second per run for the
    # interpreter's teardown); a value nbclient does not know would be rejected here rather than ignored.
    from nbclient import NotebookClient
    from nbformat.v4 import new_notebook

    from clusterpolicy.pipeline.execute import KERNEL_SHUTDOWN

    assert NotebookClient(new_notebook(), shutdown_kernel=KERNEL_SHUTDOWN).shutdown_kernel == "immediate"
