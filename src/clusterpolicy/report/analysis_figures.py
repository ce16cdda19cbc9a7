"""Standard figures of the analyses of Italian regions: two event studies side by side, inference methods
compared, and the specification curve.

Like :mod:`clusterpolicy.report.figures`, these read result frames and never estimate. Titles are passed in by the
caller (built from results with :func:`clusterpolicy.report.wording.finding_title`).
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


# ================================================================================================================
# Headline numbers and the plain-language summary (read results; never estimate)
# ================================================================================================================
_ESTIMATOR_NAMES = {
    "cs": "Callaway-Sant'Anna", "sa": "Sun-Abraham", "imputation": "imputation (Borusyak-Jaravel-Spiess)",
    "poisson": "Poisson fixed effects", "etwfe": "extended TWFE Poisson (Wooldridge)", "twfe": "two-way fixed effects",
}


def estimator_name(estimator: str) -> str:
    """Display name of an estimator."""
    return _ESTIMATOR_NAMES.get(estimator, estimator)


def p_text(p: float | None) -> str:
    """A p-value for prose: ``'< 0.001'`` below one in a thousand, else three decimals."""
    if p is None or not np.isfinite(p):
        return "not available"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def headline_values(analysis: object, panel: object) -> dict[str, object]:
    """The numbers and words a staggered-DiD run publishes, from a
    :class:`~clusterpolicy.estimate.grid.StaggeredAnalysis` and its
    :class:`~clusterpolicy.study.panel.AnalysisPanel`.

    ``percent_*`` are proportional effects in per cent: ``100 (exp(b) - 1)`` for log outcomes and Poisson log rate
    ratios; the ATT over the counterfactual mean for ETWFE Poisson; ``None`` for outcomes in levels or per capita.
    """
    from clusterpolicy.report.wording import certainty, direction, direction_it, percent_change

    main = analysis.main  # type: ignore[attr-defined]
    twfe = analysis.twfe  # type: ignore[attr-defined]
    pct = lo = hi = None
    if main.estimator == "etwfe":
        base = main.details.get("mean_untreated_counterfactual")
        if _finite(base) and base > 0:
            pct, lo, hi = (100.0 * v / base for v in (main.estimate, main.ci_low, main.ci_high))
    elif main.estimator == "poisson" or panel.transform == "log":  # type: ignore[attr-defined]
        pct, lo, hi = (percent_change(v) for v in (main.estimate, main.ci_low, main.ci_high))
    twfe_pct = None
    if twfe.estimator == "poisson" or panel.transform == "log":  # type: ignore[attr-defined]
        twfe_pct = percent_change(twfe.estimate)
    pre = analysis.pretrend  # type: ignore[attr-defined]
    sens = analysis.sensitivity  # type: ignore[attr-defined]
    ri = getattr(analysis, "randomization", None)
    cohorts = panel.cohorts  # type: ignore[attr-defined]
    names = panel.region_names  # type: ignore[attr-defined]
    return {
        "estimator": main.estimator,
        "estimator_name": estimator_name(main.estimator),
        "outcome_label": panel.label,  # type: ignore[attr-defined]
        "unit_label": panel.unit_label,  # type: ignore[attr-defined]
        "percent_change": pct, "percent_ci_low": lo, "percent_ci_high": hi,
        "direction": direction(main.ci_low, main.ci_high),
        "direction_it": direction_it(main.ci_low, main.ci_high),
        "certainty": certainty(main.p_value),
        "n_treated": panel.n_treated,  # type: ignore[attr-defined]
        "n_control": panel.n_control,  # type: ignore[attr-defined]
        "n_regions": panel.n_regions,  # type: ignore[attr-defined]
        "first_year": panel.first_year,  # type: ignore[attr-defined]
        "last_year": panel.last_year,  # type: ignore[attr-defined]
        "n_years": len(panel.years),  # type: ignore[attr-defined]
        "treated_regions": ", ".join(f"{names.get(c, c)}" for c in cohorts),
        "cohort_years": ", ".join(str(y) for y in sorted(set(cohorts.values()))),
        "first_cohort": min(cohorts.values()),
        "last_cohort": max(cohorts.values()),
        "pretrend_p_value": pre.p_value if pre is not None else None,
        "pretrend_p_text": p_text(pre.p_value) if pre is not None else "not computed",
        "pretrend_statistic": pre.statistic if pre is not None else None,
        "pretrend_df": pre.df if pre is not None else None,
        "breakdown_mbar": sens.breakdown_significance if sens is not None else None,
        "breakdown_mbar_sign": sens.breakdown_sign if sens is not None else None,
        "post_average": sens.theta if sens is not None else None,
        "placebo_p_value": ri.p_value if ri is not None else None,
        "placebo_n_assignments": ri.n_assignments if ri is not None else None,
        "placebo_rank": int(round(ri.p_value * ri.n_assignments)) if ri is not None else None,
        "twfe_percent_change": twfe_pct,
        "twfe_direction": direction(twfe.ci_low, twfe.ci_high),
        "twfe_minus_main": twfe.estimate - main.estimate,
    }


def plain_summary(values: Mapping[str, object], main: object, twfe: object) -> str:
    """A few sentences for policymakers, built only from published values (Markdown)."""
    v = values
    direction = str(v["direction"])
    what = str(v["outcome_label"])
    regions = f"{v['n_treated']} region{'s' if v['n_treated'] != 1 else ''} with a cluster policy"
    if v["percent_change"] is not None:
        size = (f"The estimate is {v['percent_change']:+.1f} per cent (confidence interval "
                f"{v['percent_ci_low']:+.1f} to {v['percent_ci_high']:+.1f} per cent).")
    else:
        size = (f"The estimate is {main.estimate:+.3g} {v['unit_label']} (confidence interval "  # type: ignore[attr-defined]
                f"{main.ci_low:+.3g} to {main.ci_high:+.3g}).")  # type: ignore[attr-defined]
    verdict = {"rose": "rose", "fell": "fell", "no clear change": "showed no clear change"}.get(direction, direction)
    pre = ""
    if v["pretrend_p_value"] is not None:
        p_pre = float(v["pretrend_p_value"])  # type: ignore[arg-type]
        p_txt = "p < 0.001" if p_pre < 0.001 else f"p = {p_pre:.3f}"
        pre = (f" Before the policies, treated and comparison regions "
               f"{'were already moving apart' if p_pre < 0.05 else 'moved broadly together'} "
               f"(pre-trend diagnostic, {p_txt}), which "
               f"{'weakens' if p_pre < 0.05 else 'supports, but does not prove,'} the comparison.")
    if v["twfe_percent_change"] is not None:
        twfe_size = f"{float(v['twfe_percent_change']):+.1f} per cent"  # type: ignore[arg-type]
    else:
        twfe_size = f"{twfe.estimate:+.3g} {v['unit_label']}"  # type: ignore[attr-defined]
    twfe_txt = f" A conventional two-way fixed-effects regression gives {twfe_size} ({v['twfe_direction']})."
    if v.get("placebo_p_value") is not None:
        twfe_txt += (f" Moving the policy to each of the {v['placebo_n_assignments']} regions in turn gives an "
                     f"effect at least this large in {v['placebo_rank']} of them (placebo p = "
                     f"{float(v['placebo_p_value']):.2f}), the more reliable test with one treated region.")  # type: ignore[arg-type]
    return (f"**{what}** in {regions} ({v['treated_regions']}; {v['first_year']}-{v['last_year']}) {verdict} "
            f"after the policy started, compared with {v['n_control']} regions without one, according to the "
            f"{v['estimator_name']} estimator. {size} Strength of evidence: {v['certainty']}.{pre}{twfe_txt} "
            "These are regional aggregates for few regions: read them as indicative, not as a precise effect.")


def estimates_table(results: Sequence[object], labels: Sequence[str]) -> pd.DataFrame:
    """A narrow table of overall estimates: label, estimate, CI, p-value, observations."""
    rows = []
    for label, res in zip(labels, results):
        rows.append({"estimator": label, "estimate": res.estimate, "ci low": res.ci_low,  # type: ignore[attr-defined]
                     "ci high": res.ci_high, "p": res.p_value, "obs": res.n_obs})  # type: ignore[attr-defined]
    return pd.DataFrame(rows, columns=["estimator", "estimate", "ci low", "ci high", "p", "obs"])


def curve_title(summary: Mapping[str, object]) -> str:
    """Title of a specification curve stating its finding, from :func:`~clusterpolicy.estimate.grid.summarise_curve`."""
    def share(key: str) -> float:
        value = summary.get(key)
        return float(value) if value is not None else 0.0  # type: ignore[arg-type]

    if share("share_negative_significant") > 0.5:
        return "Most specifications find a significantly lower outcome after cluster policies"
    if share("share_positive_significant") > 0.5:
        return "Most specifications find a significantly higher outcome after cluster policies"
    pos, neg = share("share_positive"), share("share_negative")
    if max(pos, neg) >= 0.8:
        return f"Estimates are mostly {'negative' if neg > pos else 'positive'}, but mostly not significant"
    return "The sign of the estimate depends on the specification"


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
