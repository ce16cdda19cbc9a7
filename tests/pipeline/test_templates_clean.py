"""Templates in git are text-clean: no outputs, and a parameters cell with typed defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clusterpolicy.pipeline.templates import load_template, parameters_cell, read_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TEMPLATES = sorted(p for p in NOTEBOOKS.iterdir() if p.suffix in (".md", ".ipynb"))


def test_there_are_templates() -> None:
    assert len(TEMPLATES) >= 2


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_has_no_outputs(path: Path) -> None:
    if path.suffix == ".ipynb":
        raw = json.loads(path.read_text())
        for cell in raw["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, path
    else:
        nb = read_notebook(path)
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_has_typed_parameters_cell(path: Path) -> None:
    nb = read_notebook(path)
    assert parameters_cell(nb) is not None, f"{path.name} has no cell tagged 'parameters'"
    template = load_template(path)  # raises on untyped or non-literal defaults
    assert "run_id" in template.parameters
    assert all(p.type.kind for p in template.parameters.values())
