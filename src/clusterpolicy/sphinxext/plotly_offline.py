"""Sphinx extension: serve plotly's JavaScript from the book itself, only on the pages that draw a plotly figure.

Notebook figures are written with ``include_plotlyjs=False`` (:mod:`clusterpolicy.report.interactive`), so the
pages carry no library code and no CDN address. This extension copies ``plotly.min.js`` from the installed plotly
package into the build's ``_static/`` folder and adds ``<script src="_static/plotly.min.js">`` (a relative path,
in the page head, before the figures' inline scripts run) to every page whose body holds a ``plotly-graph-div``.
The book therefore draws its interactive figures with no network.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

SCRIPT = "plotly.min.js"
MARKER = "plotly-graph-div"


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped in the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / SCRIPT
    if not path.exists():  # pragma: no cover - every plotly wheel ships it
        raise FileNotFoundError(f"{path} is missing; reinstall plotly from requirements.lock")
    return path


def add_script(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """``html-page-context``: add the local plotly script to pages with a plotly figure."""
    if MARKER in (context.get("body") or ""):
        app.add_js_file(SCRIPT)


def copy_script(app: Any, exception: Exception | None) -> None:
    """``build-finished``: copy ``plotly.min.js`` into ``_static`` (only when it changed)."""
    if exception is not None or app.builder.format != "html":
        return
    source = plotly_js_path()
    target = Path(app.outdir) / "_static" / SCRIPT
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", add_script)
    app.connect("build-finished", copy_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
