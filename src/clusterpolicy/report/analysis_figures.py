"""Standard figures of the analyses of Italian regions: event studies side by side (static and interactive, drawn
from one plan, in English or Italian), inference methods compared, and the specification curve.

Like :mod:`clusterpolicy.report.figures`, these read result frames and never estimate. Titles are passed in by the
caller (built from results with :func:`clusterpolicy.study.wording.finding_title`).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from matplotlib.typing import ColorType as Colour

from clusterpolicy.report.theme import CONTROL, NEUTRAL, PALETTE, TREATED
from clusterpolicy.study.wording import figure_words

_MARKERS = ["o", "s", "^", "D"]
#: Characters per line of an event-study title (about the width of the axes at the theme's title size).
TITLE_WIDTH = 75
#: matplotlib marker -> plotly symbol (hollow variant for the reference period)
_SYMBOLS = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond"}


def _has(frame: pd.DataFrame, low: str, high: str) -> bool:
    """Whether ``frame`` carries a band ``low``-``high`` with at least one finite value."""
    return low in frame and high in frame and bool(np.isfinite(frame[[low, high]].to_numpy(dtype=float)).any())


@dataclass(frozen=True)
class EventStudyPlan:
    """What an event-study figure shows, drawn by :func:`event_studies_figure` (static) and
    :func:`event_studies_plotly` (interactive), so both show the same thing. Build it with
    :func:`event_study_plan`."""

    series: list[tuple[str, pd.DataFrame, np.ndarray, Colour, str]]  # (label, frame in window, dodged x, colour, marker)
    title: str
    ylabel: str
    xlabel: str
    reference: int | None
    lang: str


def event_study_plan(
    studies: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    window: tuple[int, int] | None = None,
    reference: int | None = -1,
    xlabel: str | None = None,
    colours: Sequence[Colour] | None = None,
    dodge: bool = True,
    lang: str = "en",
) -> EventStudyPlan:
    """Several event studies on one axis, dodged horizontally so that their intervals do not overlap.

    Parameters
    ----------
    studies
        ``{legend label: frame}`` with columns ``event_time, estimate`` and, where available, ``ci_low, ci_high``
        (pointwise intervals, drawn as error bars) and ``uniform_low, uniform_high`` (uniform sup-t bands, drawn
        as wide pale bars behind); drawn in order with ``colours`` (default: the theme's, first = ``TREATED``
        blue, second = ``CONTROL`` orange).
    window
        ``(first, last)`` event times to show.
    reference
        Event time marked as the reference period (a hollow point at zero is drawn for studies lacking it).
    xlabel
        Axis title; default the language's event-time axis (:data:`clusterpolicy.study.wording.FIGURE_WORDS`).
    dodge
        Shift the studies sideways (off for studies that never share an event time).
    lang
        Language of the fixed text ('en' or 'it'; Italian also writes decimal commas). ``title``, ``ylabel`` and
        the legend labels are passed in already in that language.
    """
    palette = list(colours) if colours is not None else [TREATED, CONTROL, *PALETTE[3:]]
    k = len(studies)
    offsets = np.linspace(-0.18, 0.18, k) if k > 1 and dodge else np.zeros(max(k, 1))
    series = []
    for i, (label, frame) in enumerate(studies.items()):
        es = frame.sort_values("event_time")
        if window is not None:
            es = es[(es["event_time"] >= window[0]) & (es["event_time"] <= window[1])]
        x = es["event_time"].to_numpy(dtype=float) + offsets[i]
        series.append((label, es, x, palette[i % len(palette)], _MARKERS[i % len(_MARKERS)]))
    return EventStudyPlan(series=series, title=title, ylabel=ylabel,
                          xlabel=xlabel or figure_words(lang)["event_time_axis"], reference=reference, lang=lang)


def _needs_reference(es: pd.DataFrame, reference: int) -> bool:
    return reference not in set(es["event_time"].astype(int))


def _decimal_comma(ax: plt.Axes) -> None:
    """Italian figures write decimals with a comma (and a true minus sign)."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace("-", "\u2212").replace(".", ",")))


def event_studies_figure(plan: EventStudyPlan) -> plt.Figure:
    """The event studies of ``plan`` (:func:`event_study_plan`) as a matplotlib figure: the static twin of
    :func:`event_studies_plotly`, for print, screen readers and the PNG exhibits."""
    words, reference = figure_words(plan.lang), plan.reference
    fig, ax = plt.subplots(figsize=(8, 4.4))
    ax.axhline(0, color=NEUTRAL, linewidth=1)
    ax.axvline(-0.5, color=NEUTRAL, linewidth=1, linestyle=":")
    for label, es, x, colour, marker in plan.series:
        if _has(es, "uniform_low", "uniform_high"):
            ax.vlines(x, es["uniform_low"], es["uniform_high"], color=colour, alpha=0.25, linewidth=6,
                      label=words["uniform_legend"].format(label=label))
        if _has(es, "ci_low", "ci_high"):
            ax.errorbar(x, es["estimate"], yerr=[es["estimate"] - es["ci_low"], es["ci_high"] - es["estimate"]],
                        fmt=marker, color=colour, capsize=2.5, markersize=5, linewidth=1.2, label=label)
        else:
            ax.plot(x, es["estimate"], marker, color=colour, markersize=5, label=label)
        if reference is not None and _needs_reference(es, reference):
            ax.plot([reference + (x[0] - es["event_time"].iloc[0] if len(es) else 0.0)], [0.0], marker=marker,
                    markerfacecolor="white", color=colour, linestyle="none")
    ax.set_xlabel(plan.xlabel)
    ax.set_ylabel(plan.ylabel)
    # the findings' titles are long: wrapped, they stay within the axes instead of widening the saved PNG
    ax.set_title("\n".join(textwrap.wrap(plan.title, TITLE_WIDTH)), loc="left")
    ax.legend(frameon=False, loc="best", fontsize=9)
    if plan.lang == "it":
        _decimal_comma(ax)
    return fig


def event_studies_plotly(plan: EventStudyPlan) -> Any:
    """The event studies of ``plan`` (:func:`event_study_plan`) as an interactive plotly figure, the twin of
    :func:`event_studies_figure`.

    Hover shows the event time, the estimate and, where the frame has them, the pointwise interval and the
    uniform (sup-t) band. Each study and each uniform band is a legend entry that toggles on its own.
    """
    import plotly.graph_objects as go

    words, reference, lang = figure_words(plan.lang), plan.reference, plan.lang
    fig = go.Figure()
    for label, es, x, colour, marker in plan.series:
        hex_colour = to_hex(colour)
        has_ci, has_uniform = _has(es, "ci_low", "ci_high"), _has(es, "uniform_low", "uniform_high")
        cols = {c: es[c].to_numpy(dtype=float) if c in es else np.full(len(es), np.nan)
                for c in ("ci_low", "ci_high", "uniform_low", "uniform_high")}
        # x is dodged, so the hover reads the true event time from customdata[0]
        custom = np.column_stack([es["event_time"].to_numpy(dtype=float), *cols.values()])
        hover = f"{words['event_time']}: %{{customdata[0]:.0f}}<br>{words['estimate']}: %{{y:.3g}}"
        if has_ci:
            hover += "<br>" + words["pointwise"].format(lo="%{customdata[1]:.3g}", hi="%{customdata[2]:.3g}")
        if has_uniform:
            hover += "<br>" + words["uniform"].format(lo="%{customdata[3]:.3g}", hi="%{customdata[4]:.3g}")
        if has_uniform:
            fig.add_trace(go.Scatter(
                x=x, y=es["estimate"], mode="markers", marker={"opacity": 0, "color": hex_colour},
                name=words["uniform_legend"].format(label=label), legendgroup=f"{label} uniform", hoverinfo="skip",
                error_y={"type": "data", "symmetric": False, "array": cols["uniform_high"] - es["estimate"],
                         "arrayminus": es["estimate"] - cols["uniform_low"], "color": hex_colour, "thickness": 6,
                         "width": 0},
                opacity=0.3))
        error_y = ({"type": "data", "symmetric": False, "array": cols["ci_high"] - es["estimate"],
                    "arrayminus": es["estimate"] - cols["ci_low"], "color": hex_colour, "thickness": 1.5, "width": 3}
                   if has_ci else None)
        fig.add_trace(go.Scatter(
            x=x, y=es["estimate"], mode="markers", name=label, legendgroup=label,
            marker={"color": hex_colour, "size": 8, "symbol": _SYMBOLS[marker]}, error_y=error_y,
            customdata=custom, hovertemplate=hover + f"<extra>{html.escape(label, quote=False)}</extra>"))
        if reference is not None and _needs_reference(es, reference):
            shift = x[0] - es["event_time"].iloc[0] if len(es) else 0.0
            fig.add_trace(go.Scatter(
                x=[reference + shift], y=[0.0], mode="markers", name=label, legendgroup=label, showlegend=False,
                marker={"color": "white", "size": 8, "symbol": _SYMBOLS[marker],
                        "line": {"color": hex_colour, "width": 1.5}},
                hovertemplate=f"{words['event_time']}: {reference}<br>{words['reference']}<extra></extra>"))
    fig.add_hline(y=0, line={"color": to_hex(NEUTRAL), "width": 1})
    fig.add_vline(x=-0.5, line={"color": to_hex(NEUTRAL), "width": 1, "dash": "dot"})
    # plotly titles never wrap; the findings' titles are long, so break them for narrow screens
    lines = textwrap.wrap(plan.title, TITLE_WIDTH) or [""]
    fig.update_layout(
        height=400 + 16 * len(lines), autosize=True, margin={"l": 60, "r": 10, "t": 30 + 18 * len(lines), "b": 60},
        template="plotly_white", title={"text": "<br>".join(html.escape(t, quote=False) for t in lines),
                                        "font": {"size": 12}},
        showlegend=True, hovermode="closest", legend={"orientation": "h", "y": -0.28},
        separators=",." if lang == "it" else ".,",
        xaxis={"title": {"text": html.escape(plan.xlabel, quote=False)}, "dtick": 1},
        yaxis={"title": {"text": html.escape(plan.ylabel, quote=False)}})
    return fig


def inference_figure(table: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Confidence intervals and p-values of one coefficient under several inference methods.

    ``table`` needs columns ``method, estimate, ci_low, ci_high, p_value``; one row per method, drawn top to
    bottom. Methods without an interval (e.g. randomisation inference, which tests the sharp null) show the point
    estimate only. The p-value is printed at the right of each row.
    """
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.75 * len(table)))
    ax.axvline(0, color=NEUTRAL, linewidth=1)
    y = np.arange(len(table))[::-1]
    for yi, rec, colour in zip(y, table.to_dict("records"), [TREATED, CONTROL, *PALETTE[2:]]):
        has_ci = np.isfinite(rec["ci_low"]) and np.isfinite(rec["ci_high"])
        if has_ci:
            ax.plot([rec["ci_low"], rec["ci_high"]], [yi, yi], color=colour, linewidth=2.5, solid_capstyle="butt")
        ax.plot([rec["estimate"]], [yi], "o", color=colour, markersize=7)
        ax.annotate(f"p = {rec['p_value']:.3f}", xy=(1.01, yi), xycoords=("axes fraction", "data"), va="center",
                    fontsize=10)
    ax.set_yticks(y, list(table["method"]))
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    return fig


def specification_curve_figure(
    frame: pd.DataFrame,
    *,
    choices: Sequence[str],
    title: str,
    ylabel: str,
    labels: Mapping[str, Mapping[object, str]] | None = None,
    alpha: float = 0.05,
) -> plt.Figure:
    """The specification curve: sorted estimates with confidence intervals (top) and the choices behind each
    estimate as an indicator matrix (bottom), after Simonsohn, Simmons and Nelson (2020).

    Parameters
    ----------
    frame
        One row per estimated specification with ``estimate, ci_low, ci_high, p_value`` and the ``choices``
        columns.
    choices
        Choice columns to show below the curve, top to bottom.
    labels
        Optional display names for option values, ``{choice: {value: label}}``; their order is the row order.
    alpha
        Significance level for colouring: blue = significant and positive, orange = significant and negative,
        grey = not significant.
    """
    labels = labels or {}
    data = frame.sort_values(["estimate", "spec_id"] if "spec_id" in frame else ["estimate"]).reset_index(drop=True)
    x = np.arange(len(data))
    sig = (data["p_value"] < alpha).to_numpy()
    colour = np.where(sig & (data["estimate"] > 0), "pos", np.where(sig & (data["estimate"] < 0), "neg", "ns"))
    palette = {"pos": TREATED, "neg": CONTROL, "ns": NEUTRAL}
    rows = []
    for c in choices:
        present = list(pd.unique(frame[c]))
        ordered = [v for v in labels.get(c, {}) if v in present]  # the labels' order first, then the rest
        rows += [(c, v) for v in ordered + [v for v in present if v not in ordered]]
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 4.2 + 0.22 * len(rows)),
        gridspec_kw={"height_ratios": [3.0, max(1.2, 0.22 * len(rows))], "hspace": 0.05},
    )
    top.axhline(0, color="black", linewidth=0.8)
    for key, name in (("ns", "not significant"), ("neg", "significant, negative"), ("pos", "significant, positive")):
        m = colour == key
        if not m.any():
            continue
        top.vlines(x[m], data.loc[m, "ci_low"], data.loc[m, "ci_high"], color=palette[key], alpha=0.35,
                   linewidth=0.8)
        top.scatter(x[m], data.loc[m, "estimate"], s=6, color=palette[key], label=f"{name} ({int(m.sum())})",
                    zorder=3)
    top.set_ylabel(ylabel)
    top.set_title(title, loc="left")
    top.legend(frameon=False, fontsize=9, loc="upper left", markerscale=2.5)
    ticks = []
    for i, (c, v) in enumerate(rows):
        m = (data[c] == v).to_numpy()
        bottom.scatter(x[m], np.full(int(m.sum()), i), marker="|", s=30, color=np.array([palette[k] for k in colour[m]]),
                       linewidths=0.8)
        ticks.append(f"{c.replace('_', ' ')}: {labels.get(c, {}).get(v, v)}")
    bottom.set_yticks(range(len(rows)), ticks, fontsize=8)
    bottom.set_ylim(len(rows) - 0.5, -0.5)
    bottom.set_xlabel("Specifications, sorted by estimate")
    bottom.grid(False)
    for i, (c, _) in enumerate(rows[:-1]):
        if rows[i + 1][0] != c:
            bottom.axhline(i + 0.5, color=NEUTRAL, linewidth=0.6)
    return fig


def leave_one_out_figure(table: pd.DataFrame, *, full: float, title: str, xlabel: str,
                         treated: Sequence[str] = ()) -> plt.Figure:
    """The estimate without each region (one row per region left out), with the full-sample estimate as a line.

    ``table`` needs columns ``region, estimate, ci_low, ci_high``; regions in ``treated`` are drawn in the treated
    colour, the others in the control colour. Rows without an estimate are skipped.
    """
    data = table.dropna(subset=["estimate"]).sort_values("estimate").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.28 * max(len(data), 1)))
    ax.axvline(0, color=NEUTRAL, linewidth=1)
    ax.axvline(full, color="black", linewidth=1, linestyle="--", label="all regions")
    y = np.arange(len(data))
    colours = [TREATED if r in set(treated) else CONTROL for r in data["region"]]
    finite = np.isfinite(data["ci_low"]) & np.isfinite(data["ci_high"])
    for yi, rec, colour, has_ci in zip(y, data.to_dict("records"), colours, finite):
        if has_ci:
            ax.plot([rec["ci_low"], rec["ci_high"]], [yi, yi], color=colour, linewidth=1.2, alpha=0.6)
        ax.plot([rec["estimate"]], [yi], "o", color=colour, markersize=5)
    ax.set_yticks(y, [f"without {r}" for r in data["region"]], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(axis="y", visible=False)
    return fig
