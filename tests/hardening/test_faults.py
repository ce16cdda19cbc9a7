"""Interrupting the runner (SIGINT or SIGKILL, at different moments) never corrupts the cache: re-running gives
exactly the results of an uninterrupted run, and a failing run never appears as a result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import write_project

SLOW_RUNS = """\
    defaults:
      cell_timeout: 120
    runs:
      - id: a
        template: slow.md
        parameters: {x: 1}
      - id: b
        template: slow.md
        parameters: {x: 2}
      - id: c
        template: slow.md
        parameters: {x: 3}
      - id: d
        template: slow.md
        parameters: {x: 4}
    """

SLOW_TEMPLATE = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    ```{code-cell} ipython3
    import time
    import numpy as np
    from clusterpolicy.report.glue import publish
    ```

    ```{code-cell} ipython3
    :tags: [parameters]

    run_id: str = "preview"
    x: int = 1
    ```

    ```{code-cell} ipython3
    time.sleep(1.0)
    rng = np.random.default_rng(x)
    publish("mean", float(rng.normal(size=1000).mean()))
    publish("x_squared", x * x)
    ```
    ''')


def make_project(parent: Path, name: str) -> Path:
    root = write_project(parent / name, SLOW_RUNS)
    (root / "notebooks" / "slow.md").write_text(SLOW_TEMPLATE)
    return root


def run_cli(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CLUSTERPOLICY_ROOT": str(root)}
    return subprocess.Popen(
        [sys.executable, "-m", "clusterpolicy.cli.main", "run", "--quiet", "--jobs", "2", *args],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )


def results_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "results").glob("*.json"))}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = make_project(tmp_path_factory.mktemp("baseline"), "p")
    proc = run_cli(root)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    return results_bytes(root)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("delay", [0.5, 3.5])
def test_interrupted_run_resumes_to_identical_results(
    tmp_path: Path, baseline: dict[str, bytes], sig: signal.Signals, delay: float
) -> None:
    root = make_project(tmp_path, "p")
    proc = run_cli(root)
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    # Every cache record left behind is complete JSON (atomic writes), never half a file.
    for state in (root / ".cache" / "runs").glob("*.json"):
        json.loads(state.read_text())
    resumed = run_cli(root)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    assert results_bytes(root) == baseline
    # And nothing is left to do.
    again = run_cli(root)
    assert again.wait(timeout=120) == 0
    assert b"0 executed, 4 from cache" in again.stdout.read()
    leftovers = list((root / "_build" / "work").glob("*.ipynb")) if (root / "_build" / "work").exists() else []
    assert leftovers == [], "scratch notebooks are cleaned up"


def test_sigint_exits_with_message(tmp_path: Path) -> None:
    root = make_project(tmp_path, "p")
    proc = run_cli(root)
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read().decode()
    assert code != 0
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
