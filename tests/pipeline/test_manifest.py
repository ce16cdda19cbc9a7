"""Manifest validation: every mistake is one line naming the run and the parameter, before any kernel starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterpolicy.errors import ManifestError
from clusterpolicy.pipeline.manifest import load_manifest
from tests.pipeline.conftest import write_project

ROOT = Path(__file__).resolve().parents[2]


def manifest_with(tmp_path: Path, runs: str) -> Path:
    return write_project(tmp_path / "p", "runs:\n" + runs)


@pytest.mark.parametrize(
    ("runs", "pattern"),
    [
        ("  - id: a\n    template: tiny.md\n    parameters: {y: 1}\n", r"run 'a': unknown parameter 'y'.*known: label, mode, scale, x"),
        ("  - id: a\n    template: tiny.md\n    parameters: {x: '3'}\n", r"run 'a': parameter 'x' got str '3', expected an integer"),
        ("  - id: a\n    template: tiny.md\n    parameters: {x: 1.5}\n", r"parameter 'x' got float 1.5, expected an integer"),
        ("  - id: a\n    template: tiny.md\n    parameters: {x: true}\n", r"parameter 'x' got bool True"),
        ("  - id: a\n    template: tiny.md\n    parameters: {mode: triple}\n", r"parameter 'mode' got 'triple', expected one of 'double', 'fail'"),
        ("  - id: a\n    template: tiny.md\n    parameters: {scale: null}\n", r"parameter 'scale' got null"),
        ("  - id: a\n    template: tiny.md\n    parameters: {run_id: b}\n", r"parameter 'run_id' is set by the runner"),
        ("  - id: a\n    template: nope.md\n", r"run 'a': template notebooks/nope.md does not exist"),
        ("  - id: a\n    template: tiny.md\n  - id: a\n    template: tiny.md\n", r"run id 'a' appears twice"),
        ("  - id: Bad_Id\n    template: tiny.md\n", r"run #1 has id 'Bad_Id'"),
        ("  - id: a\n    template: tiny.md\n    params: {x: 1}\n", r"unknown key\(s\) params"),
        ("  - id: a\n", r"run 'a' needs a 'template'"),
        ("  - id: a\n    template: tiny.md\n    section: S\n  - id: b\n    template: tiny.md\n    section: T\n"
         "  - id: c\n    template: tiny.md\n    section: S\n", r"run 'c' is in section 'S', which an earlier run"),
    ],
)
def test_bad_manifest_entries_give_one_line_errors(tmp_path: Path, runs: str, pattern: str) -> None:
    root = manifest_with(tmp_path, runs)
    with pytest.raises(ManifestError, match=pattern) as info:
        load_manifest(root)
    assert "\n" not in str(info.value)


def test_optional_and_float_parameters_accept_valid_values(tmp_path: Path) -> None:
    root = manifest_with(tmp_path, "  - id: a\n    template: tiny.md\n    parameters: {scale: 2, label: null, mode: fail}\n")
    run = load_manifest(root).runs[0]
    assert run.resolved_parameters() == {"run_id": "a", "x": 1, "scale": 2, "mode": "fail", "label": None}


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    root = manifest_with(tmp_path, "  - id: a\n    template: tiny.md\n")
    (root / "notebooks" / "runs.yaml").write_text("runs:\n  - id: a\n   template: [\n")
    with pytest.raises(ManifestError, match=r"not valid YAML at line \d"):
        load_manifest(root)


def test_template_without_parameters_cell_is_rejected(tmp_path: Path) -> None:
    root = manifest_with(tmp_path, "  - id: a\n    template: bare.md\n")
    (root / "notebooks" / "bare.md").write_text("---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n```{code-cell} ipython3\nx = 1\n```\n")
    with pytest.raises(ManifestError, match=r"no code cell tagged 'parameters'"):
        load_manifest(root)


def test_untyped_parameter_is_rejected(tmp_path: Path) -> None:
    root = manifest_with(tmp_path, "  - id: a\n    template: untyped.md\n")
    (root / "notebooks" / "untyped.md").write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n"
        "```{code-cell} ipython3\n:tags: [parameters]\n\nrun_id: str = 'x'\nn = 3\n```\n"
    )
    with pytest.raises(ManifestError, match=r"line 2 of the parameters cell is not a typed default"):
        load_manifest(root)


def test_project_manifest_is_valid() -> None:
    manifest = load_manifest(ROOT)
    assert len(manifest.runs) >= 3
    assert len({run.template.name for run in manifest.runs}) >= 2


def test_every_committed_results_file_has_a_run() -> None:
    """A results file no run produces is stale: nothing rebuilds it, yet `verify` compares it and pages can glue it."""
    manifest = load_manifest(ROOT)
    run_ids = {run.id for run in manifest.runs}
    stale = sorted(p.name for p in (ROOT / "results").glob("*.json") if p.stem not in run_ids)
    assert stale == [], f"results/ holds files no run in notebooks/runs.yaml produces; `git rm` them: {stale}"
