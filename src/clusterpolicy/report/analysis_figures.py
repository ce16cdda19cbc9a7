"""Standard figures of the analyses of Italian regions: two event studies side by side, inference methods
compared, and the specification curve.

Like :mod:`clusterpolicy.report.figures`, these read result frames and never estimate. Titles are passed in by the
caller (built from results with :func:`clusterpolicy.study.wording.finding_title`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clusterpolicy.report.theme import CONTROL, NEUTRAL, PALETTE, TREATED


def event_studies_figure(
    studies: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    window: tuple[int, int] | None = None,
    reference: int | None = -1,
) -> plt.Figure:
    """Several event studies on one axis, dodged horizontally so their intervals do not overlap.

    Parameters
    ----------
    studies
        ``{legend label: frame}`` with columns ``event_time, estimate, ci_low, ci_high``; drawn in order with
        the theme's colours (first = ``TREATED`` blue, second = ``CONTROL`` orange).
    window
        ``(first, last)`` event times to show.
    reference
        Event time marked as the reference period (a hollow point at zero is drawn for studies lacking it).
    """
    fig, ax = plt.subplots(figsize=(8, 4.4))
    ax.axhline(0, color=NEUTRAL, linewidth=1)
    ax.axvline(-0.5, color=NEUTRAL, linewidth=1, linestyle=":")
    colours = [TREATED, CONTROL, *PALETTE[3:]]
    markers = ["o", "s", "^", "D"]
    k = len(studies)
    offsets = np.linspace(-0.18, 0.18, k) if k > 1 else np.zeros(1)
    for i, (label, frame) in enumerate(studies.items()):
        es = frame.sort_values("event_time")
        if window is not None:
            es = es[(es["event_time"] >= window[0]) & (es["event_time"] <= window[1])]
        x = es["event_time"].to_numpy(dtype=float) + offsets[i]
        ax.errorbar(x, es["estimate"], yerr=[es["estimate"] - es["ci_low"], es["ci_high"] - es["estimate"]],
                    fmt=markers[i % len(markers)], color=colours[i % len(colours)], capsize=2.5, markersize=5,
                    linewidth=1.2, label=label)
        if reference is not None and reference not in set(es["event_time"].astype(int)):
            ax.plot([reference + offsets[i]], [0.0], marker=markers[i % len(markers)], markerfacecolor="white",
                    color=colours[i % len(colours)], linestyle="none")
    ax.set_xlabel("Years since the policy started (event time; dotted line = start)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, loc="best", fontsize=9)
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
