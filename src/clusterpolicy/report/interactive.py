"""Interactive figures that work offline: a plotly figure with a static PNG fallback.

:func:`interactive_html` renders a plotly figure WITHOUT its JavaScript (``include_plotlyjs=False``): the book
serves ``plotly.min.js`` from its own ``_static`` folder (:mod:`clusterpolicy.sphinxext.plotly_offline` copies it
from the installed plotly and adds it to the pages that hold a plotly figure), so no page loads a script from the
network. Every interactive figure carries a matplotlib PNG with alt text: screen readers and print read the PNG;
screens show the PNG too when scripts do not run.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import matplotlib.pyplot as plt

from clusterpolicy.report.figures import write_figure

#: Marker class of the figure wrapper; the Sphinx extension looks for plotly's own ``plotly-graph-div``.
FIGURE_CLASS = "cp-figure cp-interactive"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["toImage"]}

_STYLE = (
    "<style>"
    ".cp-interactive:not(.cp-js) .cp-plotly{display:none}"
    ".cp-interactive.cp-js .cp-static{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);}"
    "@media print{.cp-interactive .cp-plotly{display:none!important}"
    ".cp-interactive .cp-static{position:static!important;width:auto!important;height:auto!important;"
    "clip:auto!important}}"
    "</style>"
)


def interactive_html(figure: Any, static: plt.Figure, *, run_id: str, name: str, alt: str,
                     caption: str = "") -> str:
    """The HTML of an interactive figure: plotly div (no library code), PNG fallback with ``alt``, caption.

    The PNG is also saved as ``_build/exhibits/<run_id>/<name>.png``. ``figure`` is a ``plotly.graph_objects``
    figure; its div id is fixed (``plotly-<run_id>-<name>``) so re-executed notebooks are identical.
    """
    if not alt.strip():
        raise ValueError("every figure needs alt text")
    png = base64.b64encode(write_figure(static, run_id=run_id, name=name)[1]).decode("ascii")
    div = figure.to_html(include_plotlyjs=False, full_html=False, div_id=f"plotly-{run_id}-{name}",
                         config=PLOTLY_CONFIG, default_width="100%")
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    mark = ("<script>(function(s){var f=s.closest('figure');"
            "if(window.Plotly&&f){f.classList.add('cp-js');}})(document.currentScript);</script>")
    # The mark runs before the plotly div is parsed, so the div is visible (and measured) when plotly draws.
    return (f'{_STYLE}<figure class="{FIGURE_CLASS}" id="fig-{html.escape(name)}">{mark}'
            f'<div class="cp-plotly" aria-hidden="true" style="width:100%">{div}</div>'
            f'<img class="cp-static" src="data:image/png;base64,{png}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:100%;height:auto;" />{caption_html}</figure>')


def show_interactive(figure: Any, static: plt.Figure, *, run_id: str, name: str, alt: str, caption: str = "",
                     glue_as: str | None = None) -> None:
    """Display :func:`interactive_html` in a notebook; with ``glue_as``, also glue the same HTML under that key
    so a book page can show the figure with ``{glue}`` (and ``:doc:`` naming the run page)."""
    from IPython.display import HTML, display

    out = HTML(interactive_html(figure, static, run_id=run_id, name=name, alt=alt, caption=caption))
    display(out)
    if glue_as:
        from myst_nb import glue

        glue(glue_as, out, display=False)
