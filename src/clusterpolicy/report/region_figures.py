"""Figures of the regional profiles and the Regions landing page: plotly (interactive) and matplotlib (PNG
fallback) versions of the same data. They read tidy frames from :mod:`clusterpolicy.study.region_profile` and
compute nothing. The profiles' cohort event study is drawn by the book's one event-study pair,
:func:`clusterpolicy.report.analysis_figures.event_studies_plotly` and its static twin."""

from __future__ import annotations

import html
import json
import math
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.colors import to_hex

from clusterpolicy.report.tables import sort_script
from clusterpolicy.report.theme import NEUTRAL, TREATED

SERIES_STYLE = {  # column -> (legend label template, colour, plotly dash, matplotlib linestyle)
    "region": ("{region}", to_hex(TREATED), "solid", "-"),
    "national_median": ("National median", to_hex(NEUTRAL), "dash", "--"),
    "group_median": ("{group}", "#56B4E9", "dot", ":"),
}


def _panels(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(str(label), g.sort_values("year")) for label, g in frame.groupby("label", sort=False)]


def _title(label: str, g: pd.DataFrame) -> str:
    unit = str(g["unit"].iloc[0]) if "unit" in g and len(g) else ""
    return f"{label[:1].upper()}{label[1:]}" + (f" ({unit})" if unit else "")


def series_plotly(frame: pd.DataFrame, *, region: str, ncols: int = 2, height_per_row: int = 260) -> Any:
    """Small multiples, one panel per indicator (``label``), the region and its two benchmark medians in each;
    one legend entry per series toggles it in every panel."""
    from plotly.subplots import make_subplots

    panels = _panels(frame)
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[_title(lbl, g) for lbl, g in panels],
                        vertical_spacing=0.16 if nrows > 1 else 0.1, horizontal_spacing=0.1)
    for i, (_, g) in enumerate(panels):
        row, col = i // ncols + 1, i % ncols + 1
        for column, (label, colour, dash, _) in SERIES_STYLE.items():
            name = label.format(region=region, group=str(g["group"].iloc[0]))
            fig.add_scatter(x=g["year"], y=g[column], mode="lines+markers", name=name, legendgroup=column,
                            showlegend=i == 0, line={"color": colour, "dash": dash}, marker={"size": 5},
                            hovertemplate="%{x}: %{y:.3g}<extra>" + html.escape(name) + "</extra>",
                            row=row, col=col)
    fig.update_layout(height=height_per_row * nrows + 80, margin={"l": 40, "r": 10, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.08}, template="plotly_white", font={"size": 11})
    fig.update_annotations(font_size=11)
    return fig


def series_static(frame: pd.DataFrame, *, region: str, ncols: int = 2) -> plt.Figure:
    """The matplotlib version of :func:`series_plotly` (the PNG fallback)."""
    panels = _panels(frame)
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (label, g) in zip(axes.flat, panels):
        for column, (name, colour, _, style) in SERIES_STYLE.items():
            ax.plot(g["year"], g[column], linestyle=style, marker="o", markersize=3, color=colour,
                    label=name.format(region=region, group=str(g["group"].iloc[0])))
        ax.set_title(_title(label, g), loc="left", fontsize=9)
        ax.tick_params(labelsize=8)
    axes.flat[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


PARTNER_PANELS = {"Italian region": "Partner Italian regions", "country": "Partner countries outside Italy"}


def _partner_panels(top: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    # Largest bar on top: horizontal bars are drawn bottom-up, so reverse the ranked order.
    return [(title, top[top["level"] == level].iloc[::-1]) for level, title in PARTNER_PANELS.items()
            if (top["level"] == level).any()]


def partners_plotly(top: pd.DataFrame, *, region: str, bar_height: int = 22) -> Any:
    """Two horizontal bar charts side by side: the region's top partner Italian regions and countries, by projects
    (``top`` from :func:`clusterpolicy.study.region_profile.top_partners`); hover adds the firm-institute count."""
    from plotly.subplots import make_subplots

    panels = _partner_panels(top)
    fig = make_subplots(rows=1, cols=max(len(panels), 1), subplot_titles=[t for t, _ in panels],
                        horizontal_spacing=0.22)
    for i, (_, g) in enumerate(panels):
        fig.add_bar(x=g["projects"], y=g["name"], orientation="h", marker={"color": to_hex(TREATED)},
                    customdata=g[["projects_firm_institute"]].to_numpy(), showlegend=False, row=1, col=i + 1,
                    hovertemplate=("%{y}: %{x} projects with " + html.escape(region) + "'s firms or institutes "
                                   "(%{customdata[0]} pairing a firm with an institute)<extra></extra>"))
        fig.update_xaxes(title_text="Projects", row=1, col=i + 1)
    rows = max((len(g) for _, g in panels), default=1)
    fig.update_layout(height=bar_height * rows + 140, margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      template="plotly_white", font={"size": 11})
    fig.update_annotations(font_size=11)
    return fig


def partners_static(top: pd.DataFrame, *, region: str) -> plt.Figure:
    """The matplotlib version of :func:`partners_plotly` (the PNG fallback)."""
    panels = _partner_panels(top)
    rows = max((len(g) for _, g in panels), default=1)
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(9, 0.3 * rows + 1.2), squeeze=False)
    for ax, (title, g) in zip(axes.flat, panels):
        ax.barh(g["name"], g["projects"], color=TREATED)
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_xlabel(f"Projects with {region}'s firms or institutes", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def tile_map_plotly(table: pd.DataFrame, *, indicator: str, label: str, link_prefix: str = "runs/") -> Any:
    """Tile-grid map: one square per region at its grid position (``col``, ``row``), coloured by ``indicator``,
    labelled with a link to the region's profile (``link_prefix + page + '.html'``); hover shows the value."""
    import plotly.graph_objects as go

    values = table[indicator]
    text = [f'<a href="{link_prefix}{p}.html" style="color:#000">{html.escape(str(c))}</a>'
            for p, c in zip(table["page"], table["nuts2"])]
    hover = [f"{r}: {v:.3g}" if pd.notna(v) else f"{r}: not available" for r, v in zip(table["region"], values)]
    fig = go.Figure(go.Scatter(
        x=table["col"], y=-table["row"], mode="markers+text", text=text, textfont={"size": 10},
        hovertext=hover, hoverinfo="text", name=label,
        marker={"symbol": "square", "size": 40, "color": values, "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": "value", "side": "right"}, "thickness": 12},
                "line": {"color": "#ffffff", "width": 1}},
    ))
    fig.update_layout(height=520, autosize=True, margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
                      xaxis={"visible": False, "range": [-0.7, 6.2]},
                      yaxis={"visible": False, "range": [-9.7, 0.7], "scaleanchor": "x"}, showlegend=False,
                      title={"text": label, "font": {"size": 12}})
    return fig


def tile_map_static(table: pd.DataFrame, *, indicator: str, label: str) -> plt.Figure:
    """The matplotlib version of :func:`tile_map_plotly`."""
    fig, ax = plt.subplots(figsize=(5, 7))
    values = table[indicator].astype(float)
    lo, hi = values.min(), values.max()
    cmap = plt.get_cmap("viridis")
    for row in table.itertuples():
        v: float = float(getattr(row, indicator))
        col, r = float(row.col), float(row.row)  # type: ignore[arg-type]
        colour = "#dddddd" if pd.isna(v) else cmap(0.0 if hi == lo else (v - lo) / (hi - lo))
        ax.add_patch(plt.Rectangle((col - 0.45, -r - 0.45), 0.9, 0.9, color=colour))
        ax.text(col, -r, str(row.nuts2), ha="center", va="center", fontsize=7,
                color="white" if pd.notna(v) and hi > lo and (v - lo) / (hi - lo) < 0.6 else "black")
    ax.set_xlim(-0.7, 6.2)
    ax.set_ylim(-9.7, 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(label, loc="left", fontsize=9)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi))
    fig.colorbar(sm, ax=ax, shrink=0.5)
    return fig


def sortable_table_html(table: pd.DataFrame, columns: dict[str, str], *, table_id: str, link_prefix: str = "runs/",
                        digits: int = 2) -> str:
    """A plain HTML table (the region name links to its profile) whose headers sort it (click or Enter)."""
    head = "".join(f'<th scope="col">{html.escape(lbl)}</th>' for lbl in ["Region", *columns.values()])
    rows = []
    for r in table.to_dict("records"):
        cells = [f'<td data-v="{html.escape(str(r["region"]))}"><a href="{link_prefix}{r["page"]}.html">'
                 f'{html.escape(str(r["region"]))}</a> ({r["nuts2"]})</td>']
        for col in columns:
            v = r[col]
            if isinstance(v, float) and math.isnan(v):
                cells.append('<td data-v="">–</td>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                shown = f"{v:,.{digits}f}" if isinstance(v, float) else str(v)
                cells.append(f'<td data-v="{json.dumps(float(v))}" style="text-align:right">{shown}</td>')
            else:
                cells.append(f'<td data-v="{html.escape(str(v))}">{html.escape(str(v))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="cp-table-wrap" style="overflow-x:auto;max-width:100%;">'
            f'<table id="{table_id}" class="cp-table table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>' + sort_script(table_id))
