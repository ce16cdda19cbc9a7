"""Tables that read well on a phone: an HTML table inside a horizontally scrollable wrapper, plus a CSV copy."""

from __future__ import annotations

import html

import pandas as pd

from clusterpolicy.report.figures import save_table


def show_table(frame: pd.DataFrame, *, run_id: str, name: str, caption: str = "", digits: int = 3,
               index: bool = False) -> None:
    """Display ``frame`` as a compact, scrollable HTML table and save it to ``_build/exhibits/<run>/<name>.csv``."""
    from IPython.display import HTML, display

    save_table(frame.reset_index() if index else frame, run_id=run_id, name=name)
    body = frame.to_html(index=index, float_format=lambda v: f"{v:,.{digits}f}", na_rep="–", border=0,
                         classes="cp-table table")
    cap = f'<p class="cp-table-caption"><strong>{html.escape(caption)}</strong></p>' if caption else ""
    display(HTML(f'<div class="cp-table-wrap" style="overflow-x:auto;max-width:100%;">{cap}{body}</div>'))
