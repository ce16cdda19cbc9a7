"""A tiny throw-away project for pipeline tests: fast templates, its own manifest and data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TINY_TEMPLATE = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    clusterpolicy:
      exhibits:
        - name: nothing
          kind: table
          caption: A tiny table
    ---

    ```{code-cell} ipython3
    from typing import Literal
    from clusterpolicy.report.glue import publish
    ```

    ```{code-cell} ipython3
    :tags: [parameters]

    run_id: str = "preview"
    x: int = 1
    scale: float = 1.0
    mode: Literal["double", "fail"] = "double"
    label: str | None = None
    ```

    ```{code-cell} ipython3
    if mode == "fail":
        raise RuntimeError("deliberate failure for the test")
    publish("doubled", 2 * x * scale)
    publish("run", run_id)
    ```
    ''')


def write_project(root: Path, runs_yaml: str) -> Path:
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "_config.yml").write_text("title: test\n")
    (root / "notebooks" / "tiny.md").write_text(TINY_TEMPLATE)
    (root / "notebooks" / "runs.yaml").write_text(textwrap.dedent(runs_yaml))
    (root / "data" / "input.csv").write_text("a,b\n1,2\n")
    (root / "requirements.lock").write_text("# test lock\n")
    return root


THREE_RUNS = """\
    defaults:
      cell_timeout: 60
    runs:
      - id: one
        template: tiny.md
        parameters: {x: 1}
      - id: two
        template: tiny.md
        parameters: {x: 2}
      - id: three
        template: tiny.md
        parameters: {x: 3, scale: 0.5}
    """


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", THREE_RUNS)
