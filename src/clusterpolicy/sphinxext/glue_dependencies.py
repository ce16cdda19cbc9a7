"""Sphinx extension: rebuild a page that pastes glued outputs from a run page when that run page changes.

myst-nb's cross-page glue (``{glue:text}`runs/x.ipynb::key``` and the ``{glue}`` directive with ``:doc:``) reads
the other notebook's outputs but records no dependency on it, so an incremental build kept the old paste (e.g. the
Regions page kept a previous tile map after the ``regions-overview`` run changed). On ``env-get-outdated`` this
extension reads each prose page's source, finds the notebooks it pastes from, and marks the page outdated when one
of them was added or changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_REFERENCE = re.compile(r"([\w./-]+)\.ipynb(?:::|\s*$)", re.MULTILINE)


def referenced_docs(text: str, docname: str) -> set[str]:
    """Docnames of the notebooks a page's source pastes glue from (paths relative to the page)."""
    base = Path(docname).parent
    out = set()
    for match in _REFERENCE.finditer(text):
        ref = match.group(1)
        out.add((base / ref).as_posix() if not ref.startswith("/") else ref.lstrip("/"))
    return out


def outdated_pasters(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    touched = set(added) | set(changed)
    if not touched:
        return []
    out = []
    for docname in env.found_docs:
        if docname in touched:
            continue
        path = Path(env.doc2path(docname))
        if path.suffix != ".md" or not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if "ipynb" in text and referenced_docs(text, docname) & touched:
            out.append(docname)
    return out


def setup(app: Any) -> dict[str, Any]:
    app.connect("env-get-outdated", outdated_pasters)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
