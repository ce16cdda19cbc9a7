"""Notebook templates: text-first MyST markdown (jupytext) or output-free ``.ipynb`` files in ``notebooks/``.

A template declares its parameters in one code cell tagged ``parameters``, as annotated assignments with typed
defaults::

    n_regions: int = 40
    outcome: Literal["y", "collaborations"] = "y"
    regions: list[str] = ["ITC4", "ITH5"]
    onset: int | None = None

Supported types: ``int``, ``float``, ``str``, ``bool``, ``list[...]`` of those, ``Literal[...]`` (the allowed
values), and ``X | None``. The manifest's parameters are checked against these before any kernel starts.

A template that reads other runs' ``results/*.json`` says so in its front matter, naming their templates::

    clusterpolicy:
      reads_results_of: [italy_did.md]

Its runs then execute after those runs (and with them, when they are stale), and their cache keys include those
runs' keys.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from clusterpolicy.errors import ManifestError

#: Parameters every template declares and the runner sets; a manifest may not set them.
RESERVED_PARAMETERS = ("run_id",)

_SCALARS = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class ParamType:
    """A parsed parameter annotation."""

    kind: str  # "int" | "float" | "str" | "bool" | "list" | "literal"
    item: ParamType | None = None  # element type of lists
    choices: tuple[Any, ...] = ()  # allowed values of Literal
    optional: bool = False

    def describe(self) -> str:
        if self.kind == "literal":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "list":
            text = f"a list of {self.item.describe() if self.item else 'values'}"
        else:
            text = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}[self.kind]
        return text + (" (or null)" if self.optional else "")

    def check(self, value: Any) -> str | None:
        """Return ``None`` if ``value`` fits, else a short reason."""
        if value is None:
            return None if self.optional else f"got null, expected {self.describe()}"
        if self.kind == "literal":
            return None if value in self.choices else f"got {value!r}, expected {self.describe()}"
        if self.kind == "list":
            if not isinstance(value, list):
                return f"got {type(value).__name__} {value!r}, expected {self.describe()}"
            for item in value:
                reason = self.item.check(item) if self.item else None
                if reason:
                    return f"list item {item!r}: {reason}"
            return None
        expected = _SCALARS[self.kind]
        if self.kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        return None if ok else f"got {type(value).__name__} {value!r}, expected {self.describe()}"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParamType
    default: Any


@dataclass(frozen=True)
class Template:
    """A notebook template and its declared parameters."""

    path: Path
    parameters: dict[str, Parameter]
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def reads_results_of(self) -> tuple[str, ...]:
        """Templates whose runs' ``results/*.json`` this template reads while it runs (front matter
        ``clusterpolicy.reads_results_of``): those runs execute first and their cache keys enter this one's."""
        value = self.metadata.get("reads_results_of") or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ManifestError(f"notebooks/{self.name}: clusterpolicy.reads_results_of must be a list of template "
                                "file names, e.g. [italy_did.md]")
        return tuple(value)

    def notebook(self) -> nbformat.NotebookNode:
        """The template as an (output-free) notebook."""
        return read_notebook(self.path)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a template (``.md`` via jupytext or ``.ipynb``) as a notebook."""
    nb: nbformat.NotebookNode
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
    else:
        nb = jupytext.read(path, fmt="md:myst")
    return nb


def _parse_annotation(node: ast.expr, where: str) -> ParamType:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = node.left, node.right
        if isinstance(right, ast.Constant) and right.value is None:
            inner = _parse_annotation(left, where)
        elif isinstance(left, ast.Constant) and left.value is None:
            inner = _parse_annotation(right, where)
        else:
            raise ManifestError(f"{where}: only 'X | None' unions are supported in parameter annotations")
        return ParamType(inner.kind, inner.item, inner.choices, optional=True)
    if isinstance(node, ast.Name) and node.id in _SCALARS:
        return ParamType(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id == "list":
            return ParamType("list", item=_parse_annotation(node.slice, where))
        if node.value.id == "Literal":
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return ParamType("literal", choices=tuple(ast.literal_eval(e) for e in elts))
    raise ManifestError(
        f"{where}: unsupported parameter annotation '{ast.unparse(node)}'; use int, float, str, bool, "
        "list[...], Literal[...] or X | None"
    )


def parse_parameters(source: str, where: str) -> dict[str, Parameter]:
    """Parse a ``parameters`` cell into typed parameters (every statement must be ``name: type = default``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ManifestError(f"{where}: the parameters cell is not valid Python ({err.msg}, line {err.lineno})") from err
    params: dict[str, Parameter] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            name = stmt.target.id
            ptype = _parse_annotation(stmt.annotation, f"{where}, parameter '{name}'")
            try:
                default = ast.literal_eval(stmt.value)
            except ValueError as err:
                raise ManifestError(f"{where}, parameter '{name}': the default must be a literal value") from err
            reason = ptype.check(default)
            if reason:
                raise ManifestError(f"{where}, parameter '{name}': default does not match its type ({reason})")
            params[name] = Parameter(name, ptype, default)
        else:
            raise ManifestError(
                f"{where}: line {stmt.lineno} of the parameters cell is not a typed default like "
                "'name: int = 3'; keep only typed parameters there"
            )
    return params


def parameters_cell(nb: nbformat.NotebookNode) -> tuple[int, nbformat.NotebookNode] | None:
    """Index and cell of the (first) code cell tagged ``parameters``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return index, cell
    return None


def load_template(path: Path) -> Template:
    """Read a template and its parameters; errors name the file."""
    if not path.exists():
        raise ManifestError(f"template {path} does not exist; check the 'template' entry in notebooks/runs.yaml")
    nb = read_notebook(path)
    found = parameters_cell(nb)
    if found is None:
        raise ManifestError(f"{path}: no code cell tagged 'parameters'; add one with typed defaults")
    params = parse_parameters(found[1].source, str(path))
    missing = [p for p in RESERVED_PARAMETERS if p not in params]
    if missing:
        raise ManifestError(f"{path}: the parameters cell must declare {', '.join(missing)} (e.g. run_id: str = \"preview\")")
    meta = dict(nb.metadata.get("clusterpolicy", {}))
    return Template(path=path, parameters=params, metadata=meta)
