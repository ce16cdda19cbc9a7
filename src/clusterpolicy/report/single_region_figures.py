"""Figures of single-region analyses: the placebo distribution with the treated region highlighted, an event
study drawn without intervals (static and interactive, through the book's one event-study pair), and the range of estimates across methods and donor pools.

Like the other report modules, these draw frames produced by the study modules and never estimate.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from clusterpolicy.report.analysis_figures import event_studies_figure, event_studies_plotly, event_study_plan
from clusterpolicy.report.theme import CONTROL, NEUTRAL, PALETTE, TREATED
from clusterpolicy.study.wording import figure_words


def placebo_distribution_figure(placebos: pd.DataFrame, *, value: str = "statistic", title: str,
                                xlabel: str) -> plt.Figure:
    """Horizontal bars, one per region (``region``, ``role`` = ``treated``/``placebo`` and ``value`` columns),
    sorted by absolute value; the treated region in the treated colour, placebos grey."""
    frame = placebos.assign(_abs=placebos[value].abs()).sort_values("_abs", kind="mergesort")
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(frame) + 1.6))
    colours = [TREATED if r == "treated" else NEUTRAL for r in frame["role"]]
    labels = [f"{n} (treated)" if r == "treated" else n for n, r in zip(frame["region"], frame["role"], strict=True)]
    ax.barh(labels, frame[value], color=colours)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return fig


def point_event_study_series(es: pd.DataFrame, *, lang: str = "en") -> dict[str, pd.DataFrame]:
    """Event-study point estimates (``event_time, estimate``) split into placebo years and years from the onset,
    as ``{legend label: frame}`` for the event-study pair of :mod:`clusterpolicy.report.analysis_figures`."""
    words = figure_words(lang)
    frame = es.sort_values("event_time")
    return {words["before_onset"]: frame[frame["event_time"] < 0], words["from_onset"]: frame[frame["event_time"] >= 0]}


def _point_kwargs(lang: str) -> dict[str, Any]:
    # Placebo years in the control colour, years from the onset in the treated one; the two never share an event
    # time, so no dodge; no reference period is drawn because none is imposed on a single region's path.
    return {"colours": [CONTROL, TREATED], "dodge": False, "reference": None,
            "xlabel": figure_words(lang)["onset_axis"], "lang": lang}


def point_event_study_figure(es: pd.DataFrame, *, title: str, ylabel: str, lang: str = "en") -> plt.Figure:
    """Event-study point estimates (``event_time, estimate``) without intervals: with one treated region no
    interval is valid, so none is drawn. Static twin of :func:`point_event_study_plotly`."""
    return event_studies_figure(event_study_plan(point_event_study_series(es, lang=lang), title=title, ylabel=ylabel,
                                                 **_point_kwargs(lang)))


def point_event_study_plotly(es: pd.DataFrame, *, title: str, ylabel: str, lang: str = "en") -> Any:
    """The interactive version of :func:`point_event_study_figure` (hover: event time and estimate)."""
    return event_studies_plotly(event_study_plan(point_event_study_series(es, lang=lang), title=title, ylabel=ylabel,
                                                 **_point_kwargs(lang)))


def estimate_range_figure(table: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """One point per (method, pool) estimate (columns ``method, pool, estimate``); the shaded band spans their
    range; no intervals."""
    frame = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(frame) + 1.6))
    labels = [f"{m}, {p}" for m, p in zip(frame["method"], frame["pool"], strict=True)]
    pools = list(dict.fromkeys(frame["pool"]))
    colours = [PALETTE[pools.index(p) % len(PALETTE)] for p in frame["pool"]]
    ax.axvspan(frame["estimate"].min(), frame["estimate"].max(), color=NEUTRAL, alpha=0.15, linewidth=0)
    ax.scatter(frame["estimate"], range(len(frame)), color=colours, zorder=3)
    ax.set_yticks(range(len(frame)), labels)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return fig


__all__ = ["estimate_range_figure", "placebo_distribution_figure", "point_event_study_figure",
           "point_event_study_plotly", "point_event_study_series"]
