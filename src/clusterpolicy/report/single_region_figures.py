"""Figures of single-region analyses: the placebo distribution with the treated region highlighted, an event
study drawn without intervals, and the range of estimates across methods and donor pools.

Like the other report modules, these draw frames produced by the study modules and never estimate.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from clusterpolicy.report.theme import CONTROL, NEUTRAL, PALETTE, TREATED


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


def point_event_study_figure(es: pd.DataFrame, *, title: str, ylabel: str) -> plt.Figure:
    """Event-study point estimates (``event_time, estimate``) without intervals: with one treated region no
    interval is valid, so none is drawn."""
    frame = es.sort_values("event_time")
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.axhline(0, color=NEUTRAL, linewidth=1)
    ax.axvline(-0.5, color=NEUTRAL, linewidth=1, linestyle=":")
    pre = frame[frame["event_time"] < 0]
    post = frame[frame["event_time"] >= 0]
    ax.plot(pre["event_time"], pre["estimate"], "o", color=CONTROL, label="Before the onset (placebo years)")
    ax.plot(post["event_time"], post["estimate"], "o", color=TREATED, label="From the onset")
    ax.set_xlabel("Years since the onset (dotted line = onset)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=9)
    return fig


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


__all__ = ["estimate_range_figure", "placebo_distribution_figure", "point_event_study_figure"]
