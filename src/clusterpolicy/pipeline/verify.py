"""``clusterpolicy verify``: re-execute every run from scratch in a temporary copy of the project and compare each
published number in ``results/`` with the rerun.

Tolerances: numbers must agree to ``rtol`` relative and ``atol`` absolute difference (defaults 2e-9 and 1e-12);
strings, booleans and integers must be equal. Published floats are rounded to 10 significant digits
(:func:`clusterpolicy.fsutil.round_sig`), so a seeded rerun on the same lock normally writes byte-identical
files; the only difference floating-point noise (about 1e-15 relative) can still cause is one unit in the 10th
significant digit, for a value that lies on a rounding boundary, which is at most 1e-9 relative. The default
``rtol`` of 2e-9 (:data:`clusterpolicy.fsutil.VERIFY_RTOL`) accepts exactly that and reports any larger change.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clusterpolicy.fsutil import VERIFY_RTOL
from clusterpolicy.pipeline.runner import run_pipeline

DEFAULT_RTOL = VERIFY_RTOL
DEFAULT_ATOL = 1e-12
#: What a rerun needs from the project; outputs and environments are left behind.
_COPY_IGNORE = shutil.ignore_patterns(".venv", "_build", ".cache", ".git", "runs", "__pycache__", "*.egg-info",
                                      ".pytest_cache", "results")


@dataclass(frozen=True)
class Comparison:
    run_id: str
    key: str
    published: Any
    rerun: Any
    ok: bool
    note: str = ""


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return bool(a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rtol, atol) for k in a)
    return bool(a == b)


def compare_results(published_dir: Path, rerun_dir: Path, *, rtol: float = DEFAULT_RTOL,
                    atol: float = DEFAULT_ATOL) -> list[Comparison]:
    """Compare every value of every published results file with the rerun's."""
    rows: list[Comparison] = []
    for path in sorted(published_dir.glob("*.json")):
        run_id = path.stem
        published = json.loads(path.read_text(encoding="utf-8")).get("values", {})
        other = rerun_dir / path.name
        if not other.exists():
            rows.append(Comparison(run_id, "*", "published", None, False, "rerun produced no results"))
            continue
        rerun = json.loads(other.read_text(encoding="utf-8")).get("values", {})
        for key in sorted(set(published) | set(rerun)):
            if key not in rerun:
                rows.append(Comparison(run_id, key, published[key], None, False, "missing in rerun"))
            elif key not in published:
                rows.append(Comparison(run_id, key, None, rerun[key], False, "not published"))
            else:
                rows.append(Comparison(run_id, key, published[key], rerun[key],
                                       _close(published[key], rerun[key], rtol, atol)))
    return rows


def identical_files(published_dir: Path, rerun_dir: Path) -> dict[str, bool]:
    """Whether each published results file is byte-identical to the rerun's (the determinism promise)."""
    return {
        path.stem: (rerun_dir / path.name).exists() and (rerun_dir / path.name).read_bytes() == path.read_bytes()
        for path in sorted(published_dir.glob("*.json"))
    }


def verify(root: Path, *, jobs: int | None = None, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
           keep: Path | None = None, progress: bool = True) -> tuple[list[Comparison], list[str]]:
    """Rerun everything in a scratch copy of ``root``; return the comparisons and the ids of failed runs.

    Each comparison's ``note`` says "byte-identical" when the whole results file matched byte for byte."""
    scratch_parent = Path(tempfile.mkdtemp(prefix="clusterpolicy-verify-")) if keep is None else keep
    scratch = scratch_parent / "project"
    try:
        shutil.copytree(root, scratch, ignore=_COPY_IGNORE, symlinks=True)
        # runs/ is ignored everywhere by the copy; the templates' folder must come along.
        shutil.copytree(root / "notebooks", scratch / "notebooks", dirs_exist_ok=True)
        report = run_pipeline(scratch, jobs=jobs, force=True, progress=progress)
        comparisons = compare_results(root / "results", scratch / "results", rtol=rtol, atol=atol)
        same = identical_files(root / "results", scratch / "results")
        comparisons = [
            Comparison(c.run_id, c.key, c.published, c.rerun, c.ok,
                       c.note or ("byte-identical" if same.get(c.run_id) else "")) for c in comparisons
        ]
        return comparisons, [o.run_id for o in report.failed]
    finally:
        if keep is None:
            shutil.rmtree(scratch_parent, ignore_errors=True)


def format_table(rows: list[Comparison]) -> str:
    def show(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 24 else text[:21] + "..."

    lines = [f"{'run':32} {'value':28} {'published':>24} {'rerun':>24}  result"]
    for row in rows:
        verdict = f"ok ({row.note})" if row.ok and row.note else ("ok" if row.ok else f"MISMATCH {row.note}".strip())
        lines.append(f"{row.run_id:32} {row.key:28} {show(row.published):>24} {show(row.rerun):>24}  {verdict}")
    return "\n".join(lines)
