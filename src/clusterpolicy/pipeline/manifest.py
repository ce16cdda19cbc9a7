"""The run manifest ``notebooks/runs.yaml``: the single list of what the book shows.

Format::

    defaults:
      cell_timeout: 600          # seconds per cell
    runs:
      - id: demo-describe        # lower-case letters, digits and dashes; unique
        template: describe.md    # a file in notebooks/
        title: Describe the simulated panel
        section: Demonstration   # groups run pages in the table of contents
        parameters:              # checked against the template's typed defaults
          seed: 1

Every run's parameters are validated against its template before any kernel starts; errors are one line naming
the run and the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clusterpolicy.errors import ManifestError
from clusterpolicy.pipeline.templates import RESERVED_PARAMETERS, Template, load_template

MANIFEST_PATH = Path("notebooks") / "runs.yaml"
RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
RUN_KEYS = {"id", "template", "title", "section", "parameters", "description"}
DEFAULT_CELL_TIMEOUT = 600


@dataclass(frozen=True)
class Run:
    """One run: a template executed with one set of parameters."""

    id: str
    template: Template
    title: str
    section: str
    parameters: dict[str, Any]
    description: str = ""
    cell_timeout: int = DEFAULT_CELL_TIMEOUT

    def resolved_parameters(self) -> dict[str, Any]:
        """Template defaults overridden by the manifest's parameters, plus the reserved ``run_id``."""
        values = {name: p.default for name, p in self.template.parameters.items()}
        values.update(self.parameters)
        values["run_id"] = self.id
        return values


@dataclass(frozen=True)
class Manifest:
    path: Path
    runs: tuple[Run, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def get(self, run_id: str) -> Run:
        for run in self.runs:
            if run.id == run_id:
                return run
        raise ManifestError(f"no run '{run_id}' in {self.path}; known runs: {', '.join(r.id for r in self.runs)}")

    def select(self, only: list[str] | None) -> list[Run]:
        return [self.get(run_id) for run_id in only] if only else list(self.runs)

    def upstream(self, run: Run) -> list[Run]:
        """The runs whose results ``run`` reads (every run of a template its template lists in
        ``reads_results_of``), in manifest order."""
        templates = set(run.template.reads_results_of)
        return [other for other in self.runs if other.template.name in templates and other.id != run.id]


def _validate_parameters(run_id: str, template: Template, params: Any, where: str) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ManifestError(f"{where}: run '{run_id}': 'parameters' must be a mapping of name: value")
    for name, value in params.items():
        if name in RESERVED_PARAMETERS:
            raise ManifestError(f"{where}: run '{run_id}': parameter '{name}' is set by the runner; remove it")
        if name not in template.parameters:
            known = ", ".join(sorted(p for p in template.parameters if p not in RESERVED_PARAMETERS))
            raise ManifestError(
                f"{where}: run '{run_id}': unknown parameter '{name}' for template {template.name}; known: {known}"
            )
        reason = template.parameters[name].type.check(value)
        if reason:
            raise ManifestError(f"{where}: run '{run_id}': parameter '{name}' {reason}")
    return dict(params)


def load_manifest(root: Path, path: Path | None = None) -> Manifest:
    """Read and validate the manifest (default ``<root>/notebooks/runs.yaml``)."""
    path = path or root / MANIFEST_PATH
    where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    if not path.exists():
        raise ManifestError(f"{where} does not exist; create it with a 'runs:' list")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ManifestError(f"{where} is not valid YAML{line}; fix the indentation or quoting there") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list) or not doc["runs"]:
        raise ManifestError(f"{where} must be a mapping with a non-empty 'runs:' list")
    settings = doc.get("defaults") or {}
    if not isinstance(settings, dict):
        raise ManifestError(f"{where}: 'defaults' must be a mapping")
    timeout = settings.get("cell_timeout", DEFAULT_CELL_TIMEOUT)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise ManifestError(f"{where}: defaults.cell_timeout must be a positive integer (seconds), got {timeout!r}")

    templates: dict[str, Template] = {}
    runs: list[Run] = []
    seen: set[str] = set()
    for position, entry in enumerate(doc["runs"], start=1):
        if not isinstance(entry, dict):
            raise ManifestError(f"{where}: run #{position} must be a mapping with id, template and parameters")
        run_id = entry.get("id")
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise ManifestError(
                f"{where}: run #{position} has id {run_id!r}; use lower-case letters, digits and dashes"
            )
        if run_id in seen:
            raise ManifestError(f"{where}: run id '{run_id}' appears twice; run ids must be unique")
        seen.add(run_id)
        unknown = set(entry) - RUN_KEYS
        if unknown:
            raise ManifestError(
                f"{where}: run '{run_id}': unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                f"{', '.join(sorted(RUN_KEYS))}"
            )
        template_name = entry.get("template")
        if not isinstance(template_name, str):
            raise ManifestError(f"{where}: run '{run_id}' needs a 'template' (a file in notebooks/)")
        if template_name not in templates:
            template_path = root / "notebooks" / template_name
            if not template_path.exists():
                raise ManifestError(
                    f"{where}: run '{run_id}': template notebooks/{template_name} does not exist; "
                    "check the file name"
                )
            templates[template_name] = load_template(template_path)
        template = templates[template_name]
        params = _validate_parameters(run_id, template, entry.get("parameters"), where)
        runs.append(Run(
            id=run_id,
            template=template,
            title=str(entry.get("title") or run_id),
            section=str(entry.get("section") or "Analyses"),
            parameters=params,
            description=str(entry.get("description") or ""),
            cell_timeout=timeout,
        ))
    for template in templates.values():
        for name in template.reads_results_of:
            if name == template.name or not (root / "notebooks" / name).exists():
                raise ManifestError(f"notebooks/{template.name}: reads_results_of names '{name}', which is "
                                    "not another template in notebooks/; fix the file name")
    # Each section becomes one part of the book; a section split by another would silently reorder the runs.
    closed: set[str] = set()
    for previous, run in zip((None, *runs), runs):
        if previous is not None and run.section != previous.section:
            closed.add(previous.section)
            if run.section in closed:
                raise ManifestError(
                    f"{where}: run '{run.id}' is in section '{run.section}', which an earlier run already "
                    "closed; keep the runs of one section together"
                )
    return Manifest(path=path, runs=tuple(runs), settings=settings)
