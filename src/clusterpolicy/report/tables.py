"""Tables that read well on a phone: an HTML table inside a horizontally scrollable wrapper, plus a CSV copy."""

from __future__ import annotations

import html

import pandas as pd

from clusterpolicy.report.figures import save_table
from clusterpolicy.study.wording import p_text


def is_p_value_column(name: object) -> bool:
    """Whether a table column holds p-values, by its name: ``p``, ``p-value``, ``p_value`` or a name ending so
    (``placebo p-value``, ``pretrend_p_value``)."""
    text = str(name).strip().lower()
    return text in {"p", "p-value", "p value", "p_value"} or text.endswith((" p", " p-value", "_p_value", " p value"))


def format_p_values(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its p-value columns written by :func:`~clusterpolicy.study.wording.p_text`
    (``'< 0.001'`` below one in a thousand), so a table never shows 0.00082 as ``0.001``; missing stays missing."""
    columns = [c for c in frame.columns if is_p_value_column(c)]
    if not columns:
        return frame
    out = frame.copy()
    for column in columns:
        numeric = pd.to_numeric(out[column], errors="coerce")
        out[column] = pd.Series([float("nan") if pd.isna(v) else p_text(float(v)) for v in numeric], index=out.index,
                                dtype=object)  # NaN, not None, so to_html writes its na_rep
    return out


def show_table(frame: pd.DataFrame, *, run_id: str, name: str, caption: str = "", digits: int = 3,
               index: bool = False) -> None:
    """Display ``frame`` as a compact, scrollable HTML table and save it to ``_build/exhibits/<run>/<name>.csv``.

    The CSV keeps full precision; the HTML writes p-value columns (see :func:`is_p_value_column`) with the book's
    one p-value formatter and other floats with ``digits`` decimals."""
    from IPython.display import HTML, display

    save_table(frame.reset_index() if index else frame, run_id=run_id, name=name)
    body = format_p_values(frame).to_html(index=index, float_format=lambda v: f"{v:,.{digits}f}", na_rep="–", border=0,
                         classes="cp-table table")
    cap = f'<p class="cp-table-caption"><strong>{html.escape(caption)}</strong></p>' if caption else ""
    display(HTML(f'<div class="cp-table-wrap" style="overflow-x:auto;max-width:100%;">{cap}{body}</div>'))
