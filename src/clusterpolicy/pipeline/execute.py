"""Execute one run with papermill. This is what a worker process (local pool or Dask worker) calls.

The function takes and returns plain dictionaries so it can be shipped to any executor. Outputs are written
atomically and the cache record last, so a run killed at any point leaves either its previous complete outputs or
nothing that the cache would trust.
"""

from __future__ import annotations

import ast
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import nbformat

from clusterpolicy.fsutil import atomic_write_bytes, atomic_write_json, round_floats
from clusterpolicy.pipeline.cache import Layout, output_checksums, write_state
from clusterpolicy.pipeline.templates import read_notebook

KERNEL_NAME = "python3"
#: How papermill (nbclient) stops a run's kernel once every cell has executed.
KERNEL_SHUTDOWN = "immediate"
GLUE_MIME_PREFIX = "application/papermill.record/"
#: Notebook metadata papermill fills with timings; dropped so executed notebooks differ only when outputs do.
_VOLATILE_PAPERMILL_KEYS = ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables")


def _kernel_environment(root: Path, threads: int) -> dict[str, str]:
    # The kernel must be this environment's Python: put its kernel specs first on the Jupyter path.
    ours = str(Path(sys.prefix) / "share" / "jupyter")
    others = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != ours]
    jupyter_path = os.pathsep.join([ours, *others])
    return {
        "JUPYTER_PATH": jupyter_path,
        "CLUSTERPOLICY_ROOT": str(root),
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        # Several runs share the machine: keep each kernel's BLAS to its share of the cores.
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "NUMBA_NUM_THREADS": str(threads),
    }


def _literal(text: str) -> Any:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, (int, float, str, bool, list, tuple, dict)) or value is None:
        return list(value) if isinstance(value, tuple) else value
    return None


def glued_values(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Every glued value whose plain-text form is a Python literal (numbers, strings, lists), by glue name.

    Figures and tables are glued too, but they are not numbers to publish, so they are left out.
    """
    values: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            text = output.get("data", {}).get(prefix + "text/plain")
            if text is None:
                continue
            value = _literal(text if isinstance(text, str) else "".join(text))
            if value is not None or str(text).strip() == "None":
                values[meta["name"]] = value
    return values


def _header_cell(spec: dict[str, Any]) -> nbformat.NotebookNode:
    params = {k: v for k, v in spec["parameters"].items() if k != "run_id"}
    rows = "\n".join(f"| `{k}` | `{v!r}` |" for k, v in sorted(params.items()))
    text = (
        f"# {spec['title']}\n\n"
        f"```{{admonition}} About this page\n:class: note\n"
        f"Run `{spec['run_id']}` of the template `notebooks/{spec['template_name']}`, executed by "
        f"`clusterpolicy run` from `notebooks/runs.yaml`. Rerun it with `clusterpolicy run --only {spec['run_id']}`.\n"
        "```\n\n"
        + (f"{spec['description']}\n\n" if spec.get("description") else "")
        + ("| parameter | value |\n|---|---|\n" + rows + "\n" if rows else "")
    )
    cell: nbformat.NotebookNode = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["clusterpolicy-header"]
    cell["id"] = "clusterpolicy-header"
    return cell


def _failure_notebook(spec: dict[str, Any], error: str) -> nbformat.NotebookNode:
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(
        f"# {spec['title']}\n\n```{{error}}\nRun `{spec['run_id']}` **failed**; it shows no results. "
        f"Error: {error}\n\nThe failed notebook is kept at `_build/failed/{spec['run_id']}.ipynb` for inspection.\n```\n"
    )]
    return nb


def _clean_for_publication(nb: nbformat.NotebookNode, spec: dict[str, Any]) -> nbformat.NotebookNode:
    pm = nb.metadata.get("papermill", {})
    for key in _VOLATILE_PAPERMILL_KEYS:
        pm.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.cells.insert(0, _header_cell(spec))
    nb.metadata["clusterpolicy"] = {"run_id": spec["run_id"], "template": spec["template_name"]}
    return nb


def execute_run(spec: dict[str, Any]) -> dict[str, Any]:
    """Execute one run described by ``spec`` and return its outcome.

    ``spec`` keys: ``run_id, root, template_path, template_name, title, description, parameters, cell_timeout,
    key, threads``. Returns ``{"run_id", "status": "ok"|"failed", "duration", "error"}``.
    """
    import papermill  # imported here: heavy, and only workers need it

    root = Path(spec["root"])
    run_id = spec["run_id"]
    layout = Layout(root)
    started = time.perf_counter()
    os.environ.update(_kernel_environment(root, int(spec.get("threads", 1))))
    work = root / "_build" / "work"
    work.mkdir(parents=True, exist_ok=True)
    scratch = work / f"{run_id}.{os.getpid()}.ipynb"
    error = ""
    try:
        source_nb = read_notebook(Path(spec["template_path"]))
        source_nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
        papermill.execute_notebook(
            source_nb,
            str(scratch),
            parameters=spec["parameters"],
            kernel_name=KERNEL_NAME,
            language="python",
            cwd=str(root),
            execution_timeout=int(spec["cell_timeout"]),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            # Every output has arrived when the last cell returns, and no notebook relies on exit hooks: a graceful
            # shutdown only waits (about 1.3 s a run) for the kernel's interpreter to tear itself down.
            shutdown_kernel=KERNEL_SHUTDOWN,
        )
        executed = nbformat.read(scratch, as_version=4)
        # Published precision: every float at 10 significant digits (see clusterpolicy.fsutil), so results/ is
        # byte-identical across machines; publish() already rounds, this also covers values glued directly.
        values = round_floats(glued_values(executed))
        published = _clean_for_publication(executed, spec)
        atomic_write_bytes(layout.executed_notebook(run_id), nbformat.writes(published).encode("utf-8"))
        atomic_write_json(layout.results(run_id), {
            "run_id": run_id,
            "template": f"notebooks/{spec['template_name']}",
            "parameters": {k: v for k, v in spec["parameters"].items() if k != "run_id"},
            "values": values,
        })
        status = "ok"
    except Exception as err:  # noqa: BLE001 - a failing notebook must not stop the other runs
        status = "failed"
        error = _describe_error(err)
        failed = layout.failed_notebook(run_id)
        failed.parent.mkdir(parents=True, exist_ok=True)
        if scratch.exists():
            os.replace(scratch, failed)
        atomic_write_bytes(
            layout.executed_notebook(run_id), nbformat.writes(_failure_notebook(spec, error)).encode("utf-8")
        )
    finally:
        scratch.unlink(missing_ok=True)
    duration = round(time.perf_counter() - started, 3)
    write_state(layout, run_id, {
        "run_id": run_id,
        "key": spec["key"],
        "status": status,
        "duration_s": duration,
        "error": error,
        "outputs": output_checksums(layout, run_id) if status == "ok" else None,
    })
    return {"run_id": run_id, "status": status, "duration": duration, "error": error}


def _describe_error(err: Exception) -> str:
    """One line: the notebook's own exception if papermill reports one, else the exception itself."""
    name = type(err).__name__
    ename = getattr(err, "ename", None)
    evalue = getattr(err, "evalue", None)
    if ename:
        cell = getattr(err, "exec_count", None)
        where = f" in cell {cell}" if cell is not None else ""
        return " ".join(f"{ename}{where}: {evalue}".split())[:500]
    text = str(err) or traceback.format_exception_only(type(err), err)[-1]
    return " ".join(f"{name}: {text}".split())[:500]
