"""Runs that read other runs' results (a template's ``reads_results_of``): they execute after those runs, their
cache keys follow them, and a failed upstream run stops them instead of letting them read stale results."""

from __future__ import annotations

import json
import textwrap
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from clusterpolicy.errors import ManifestError
from clusterpolicy.pipeline.cache import manifest_keys
from clusterpolicy.pipeline.manifest import load_manifest
from clusterpolicy.pipeline.runner import _in_dependency_order, run_pipeline
from tests.pipeline.conftest import THREE_RUNS, TINY_TEMPLATE, write_project

# Sums what the tiny runs published: right only if it runs after them, on their current results. (The tiny
# template's header, with the declaration added.)
READER_TEMPLATE = TINY_TEMPLATE.split("```{code-cell}")[0].replace(
    "clusterpolicy:\n", "clusterpolicy:\n  reads_results_of: [tiny.md]\n") + textwrap.dedent('''\
    ```{code-cell} ipython3
    :tags: [parameters]

    run_id: str = "preview"
    ```

    ```{code-cell} ipython3
    import json
    from pathlib import Path
    from clusterpolicy.report.glue import publish

    total = sum(json.loads(Path(f"results/{r}.json").read_text())["values"]["doubled"] for r in ("one", "two"))
    publish("total", total)
    ```
    ''')

# The tiny project's runs with the reader first: only the declared dependency can make it wait.
RUNS = THREE_RUNS.replace("    runs:\n", "    runs:\n      - id: reader\n        template: reader.md\n")


def project(root: Path) -> Path:
    write_project(root, RUNS)
    (root / "notebooks" / "reader.md").write_text(READER_TEMPLATE)
    return root


def total(root: Path) -> float:
    return float(json.loads((root / "results" / "reader.json").read_text())["values"]["total"])


def set_x(root: Path, old: str, new: str) -> None:
    manifest = root / "notebooks" / "runs.yaml"
    manifest.write_text(manifest.read_text().replace(old, new))


def test_reader_runs_after_its_upstream_and_follows_its_changes(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    first = run_pipeline(root, jobs=2, progress=False)
    assert first.ok and total(root) == 6.0  # 2*1 + 2*2, read after both ran (no results existed before)

    # A changed upstream parameter makes the reader stale too; selecting only the reader runs its stale upstream
    # first (as make builds prerequisites), and the untouched upstream run stays cached.
    set_x(root, "parameters: {x: 2}", "parameters: {x: 5}")
    second = run_pipeline(root, only=["reader"], jobs=2, progress=False)
    assert {o.run_id: o.status for o in second.outcomes} == {"reader": "ok", "two": "ok"}
    assert total(root) == 12.0
    third = run_pipeline(root, jobs=2, progress=False)
    assert {o.status for o in third.outcomes} == {"cached"}

    # A failed upstream run: the reader is not executed and says why; its old results are not refreshed.
    set_x(root, "parameters: {x: 1}", "parameters: {x: 1, mode: fail}")
    fourth = run_pipeline(root, jobs=2, progress=False)
    status = {o.run_id: o for o in fourth.outcomes}
    assert status["one"].status == "failed" and status["reader"].status == "failed"
    assert "reads the results of run 'one', which failed" in status["reader"].error
    assert status["two"].status == "cached"


def test_keys_follow_upstream_runs_only(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    before = manifest_keys(load_manifest(root), "env")
    set_x(root, "parameters: {x: 2}", "parameters: {x: 7}")
    after = manifest_keys(load_manifest(root), "env")
    assert after["one"] == before["one"]
    assert after["two"] != before["two"] and after["reader"] != before["reader"]


def test_bad_or_circular_declarations_are_one_line_errors(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    reader = root / "notebooks" / "reader.md"
    reader.write_text(READER_TEMPLATE.replace("[tiny.md]", "[tiny_typo.md]"))
    with pytest.raises(ManifestError, match=r"reader\.md: reads_results_of names 'tiny_typo\.md'"):
        load_manifest(root)
    reader.write_text(READER_TEMPLATE)
    tiny = root / "notebooks" / "tiny.md"
    tiny.write_text(TINY_TEMPLATE.replace("clusterpolicy:\n", "clusterpolicy:\n  reads_results_of: [reader.md]\n"))
    with pytest.raises(ManifestError, match="in a cycle"):
        manifest_keys(load_manifest(root), "env")


def test_scheduler_submits_readers_last_and_skips_them_after_a_failure() -> None:
    submitted: list[str] = []
    outcome = {"a": "failed", "b": "ok"}

    def submit(spec: dict[str, Any]) -> Future:
        submitted.append(spec["run_id"])
        future: Future = Future()
        future.set_result({"run_id": spec["run_id"], "status": outcome.get(spec["run_id"], "ok"), "duration": 1.0})
        return future

    specs = [{"run_id": "reads-a", "after": ["a"]}, {"run_id": "reads-reader", "after": ["reads-a"]},
             {"run_id": "reads-b", "after": ["b"]}, {"run_id": "a", "after": []}, {"run_id": "b", "after": []}]
    results = list(_in_dependency_order(specs, submit, lambda futures: futures[:1]))
    assert submitted == ["a", "b", "reads-b"]  # one finished future at a time, as a pool reports them
    by_id = {r["run_id"]: r for r in results}
    assert by_id["reads-b"]["status"] == "ok"
    assert by_id["reads-a"]["status"] == by_id["reads-reader"]["status"] == "failed"
    assert "run 'reads-a', which failed" in by_id["reads-reader"]["error"]
