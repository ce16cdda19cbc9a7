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


_SORT_FILTER_SCRIPT = """<script>
(function(){var t=document.getElementById('%(id)s'),f=document.getElementById('%(id)s-filter');if(!t)return;
t.querySelectorAll('th').forEach(function(th,i){th.style.cursor='pointer';th.setAttribute('tabindex','0');
th.setAttribute('aria-sort','none');
function go(){var asc=th.getAttribute('aria-sort')!=='ascending';
t.querySelectorAll('th').forEach(function(h){h.setAttribute('aria-sort','none');});
th.setAttribute('aria-sort',asc?'ascending':'descending');
var rows=Array.from(t.tBodies[0].rows);rows.sort(function(a,b){
var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
return asc?c:-c;});rows.forEach(function(r){t.tBodies[0].appendChild(r);});}
th.addEventListener('click',go);th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});});
if(f)f.addEventListener('input',function(){var words=f.value.toLowerCase().split(/\\s+/).filter(Boolean);
Array.from(t.tBodies[0].rows).forEach(function(r){var s=r.textContent.toLowerCase();
r.style.display=words.every(function(w){return s.indexOf(w)>=0;})?'':'none';});});})();
</script>"""


def sort_script(table_id: str) -> str:
    """The script that makes table ``table_id``'s headings sort it (click or Enter) and, when the page has an input
    ``<table_id>-filter``, filters its rows by the typed words. One script for every sortable table of the book."""
    return _SORT_FILTER_SCRIPT % {"id": table_id}


def sortable_html(frame: pd.DataFrame, columns: dict[str, str], *, table_id: str, digits: int = 2,
                  filter_label: str = "Filter rows (all words must match)") -> str:
    """A plain HTML table of ``columns`` (``{column: heading}``) whose headings sort it (click or Enter) and whose
    rows a text box filters (every typed word must appear in the row). Numbers sort as numbers; missing values
    show as a dash; infinite values as the infinity sign."""
    head = "".join(f'<th scope="col">{html.escape(lbl)}</th>' for lbl in columns.values())
    rows = []
    for r in frame.to_dict("records"):
        cells = []
        for col in columns:
            v = r[col]
            if isinstance(v, float) and v != v:  # NaN
                cells.append('<td data-v="">–</td>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                x = float(v)
                shown = ("∞" if x > 0 else "-∞") if abs(x) == float("inf") else (
                    f"{x:,.{digits}f}" if isinstance(v, float) else str(v))
                key = "1e308" if x == float("inf") else "-1e308" if x == float("-inf") else repr(x)
                cells.append(f'<td data-v="{key}" style="text-align:right">{shown}</td>')
            else:
                cells.append(f'<td data-v="{html.escape(str(v))}">{html.escape(str(v))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    box = (f'<label for="{table_id}-filter">{html.escape(filter_label)}: </label>'
           f'<input id="{table_id}-filter" type="search" style="margin-bottom:0.5em">')
    return (f'<div class="cp-table-wrap" style="overflow-x:auto;max-width:100%;">{box}'
            f'<table id="{table_id}" class="cp-table table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>' + sort_script(table_id))
