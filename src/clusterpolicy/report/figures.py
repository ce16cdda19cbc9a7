"""Standard figures, and :func:`show_figure`, which every notebook figure goes through.

:func:`show_figure` renders a figure as an HTML ``<figure>`` with alt text and a caption (so every figure in the
book is accessible and scales to a phone screen) and saves it under ``_build/exhibits/<run>/<name>.png``.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clusterpolicy.fsutil import atomic_write_bytes
from clusterpolicy.paths import project_root
from clusterpolicy.report.theme import NEUTRAL, TREATED, TRUTH

EXHIBITS_DIR = Path("_build") / "exhibits"


def exhibit_path(run_id: str, name: str, suffix: str = ".png") -> Path:
    """Where a run's exhibit file is written."""
    return project_root() / EXHIBITS_DIR / run_id / f"{name}{suffix}"


def _png_bytes(fig: plt.Figure, lang: str | None = None) -> bytes:
    buffer = io.BytesIO()
    # No software version (the bytes stay the same across matplotlib releases); the labels' language, when given,
    # as a PNG text chunk so a test can tell an Italian figure from an English one without reading pixels.
    metadata = {"Software": None} | ({"Language": lang} if lang else {})
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()


def write_figure(fig: plt.Figure, *, run_id: str, name: str, lang: str | None = None) -> tuple[Path, bytes]:
    """Save ``fig`` as ``_build/exhibits/<run_id>/<name>.png`` (atomically, so a book build never reads half a
    file) and close it; returns the path and the PNG bytes. ``lang`` tags the PNG with its labels' language."""
    png = _png_bytes(fig, lang)
    path = exhibit_path(run_id, name)
    atomic_write_bytes(path, png)
    return path, png


def save_figure(fig: plt.Figure, *, run_id: str, name: str, lang: str | None = None) -> Path:
    """Save a figure that the run page does not show but a book page includes by path (e.g. the Italian-labelled
    figures of ``book/brief_it.md``, saved with ``lang="it"``); the page that includes it gives its alt text and
    caption."""
    return write_figure(fig, run_id=run_id, name=name, lang=lang)[0]


def show_figure(fig: plt.Figure, *, run_id: str, name: str, alt: str, caption: str = "") -> None:
    """Save ``fig`` as ``_build/exhibits/<run_id>/<name>.png`` and display it with alt text and caption.

    Returns nothing, like :func:`~clusterpolicy.report.tables.show_table`: a cell that ends with this call would
    otherwise print the saved path (``PosixPath('...')``) on the run page.

    Parameters
    ----------
    alt
        Text alternative describing what the figure shows (required: every figure in the book has one).
    caption
        Caption shown under the figure (units, source, "simulated data" where relevant).
    """
    if not alt.strip():
        raise ValueError("every figure needs alt text")
    from IPython.display import HTML, display

    _path, png = write_figure(fig, run_id=run_id, name=name)
    data = base64.b64encode(png).decode("ascii")
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    display(HTML(
        f'<figure class="cp-figure" id="fig-{html.escape(name)}">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'style="max-width:100%;height:auto;" />{caption_html}</figure>'
    ))


def save_table(frame: pd.DataFrame, *, run_id: str, name: str) -> Path:
    """Save a table as ``_build/exhibits/<run_id>/<name>.csv`` (fixed float format, for reuse)."""
    path = exhibit_path(run_id, name, ".csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


def event_study_figure(
    event_study: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    truth: pd.DataFrame | None = None,
    label: str = "Estimate with 95% CI",
) -> plt.Figure:
    """Point estimates with 95 % confidence intervals by event time; optional true effects (simulations).

    ``event_study`` needs columns ``event_time, estimate, ci_low, ci_high``; ``truth`` ``event_time, att``.
    """
    fig, ax = plt.subplots()
    es = event_study.sort_values("event_time")
    ax.axhline(0, color=NEUTRAL, linewidth=1)
    ax.axvline(-0.5, color=NEUTRAL, linewidth=1, linestyle=":")
    ax.errorbar(
        es["event_time"], es["estimate"],
        yerr=[es["estimate"] - es["ci_low"], es["ci_high"] - es["estimate"]],
        fmt="o", color=TREATED, capsize=3, label=label,
    )
    if truth is not None:
        t = truth.sort_values("event_time")
        ax.plot(t["event_time"], t["att"], color=TRUTH, linestyle="--", marker="s", markersize=4,
                label="True effect (simulated)")
    ax.set_xlabel("Years since the policy started (event time)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False)
    return fig


def trends_figure(frame: pd.DataFrame, *, x: str, y: str, hue: str, title: str, ylabel: str) -> plt.Figure:
    """Mean outcome over time by group (e.g. by adoption cohort)."""
    # Imported here, not at module level: seaborn takes about 0.6 s to import (scipy.stats) and only this figure
    # uses it.
    import seaborn as sns

    fig, ax = plt.subplots()
    means = frame.groupby([hue, x], as_index=False)[y].mean()
    sns.lineplot(data=means, x=x, y=y, hue=hue, marker="o", ax=ax)
    ax.set_xlabel(x.replace("_", " ").capitalize())
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(title=hue.replace("_", " "), frameon=False, ncols=2)
    return fig


def describe_range(values: np.ndarray | pd.Series) -> str:
    """'from A to B' for alt texts."""
    arr = np.asarray(values, dtype=float)
    return f"from {np.nanmin(arr):.3g} to {np.nanmax(arr):.3g}"
