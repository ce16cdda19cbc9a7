"""Results reproduce byte for byte across BLAS thread settings: a run whose published numbers come from a
multi-threaded least-squares product is executed with one and with two BLAS threads, and the results files must be
identical (published values are rounded to 10 significant digits, far above the 1e-15 relative differences that a
different summation order can cause)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from clusterpolicy.pipeline.runner import run_pipeline
from tests.pipeline.conftest import TINY_TEMPLATE, write_project

# the tiny project's front matter, then a cell whose numbers come from BLAS products
BLAS_TEMPLATE = TINY_TEMPLATE.split("```{code-cell}")[0] + textwrap.dedent('''\
    ```{code-cell} ipython3
    :tags: [parameters]

    run_id: str = "preview"
    ```

    ```{code-cell} ipython3
    import numpy as np
    from clusterpolicy.report.glue import publish

    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, 60))
    y = x @ rng.normal(size=60) + rng.normal(size=3000)
    beta = np.linalg.solve(x.T @ x, x.T @ y)   # the products run on the BLAS threads
    publish("beta_sum", float(beta.sum()))
    publish("fit", float(np.mean((y - x @ beta) ** 2)))
    ```
    ''')


@pytest.mark.parametrize("threads", [("1", "2")])
def test_results_identical_with_one_and_two_blas_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         threads: tuple[str, str]) -> None:
    outputs = []
    for n in threads:
        root = write_project(tmp_path / f"p{n}", """\
            runs:
              - id: blas
                template: blas.md
            """)
        (root / "notebooks" / "blas.md").write_text(BLAS_TEMPLATE)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.setenv(var, n)  # the kernels inherit the environment
        assert run_pipeline(root, jobs=1, progress=False).ok
        outputs.append((root / "results" / "blas.json").read_bytes())
    assert outputs[0] == outputs[1]
