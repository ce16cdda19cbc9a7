"""Context, data, single-programme and methods exhibits: the policy timeline, programme and literature tables,
data-coverage and macro-area figures, synthetic-control figures, and the ClusteriX 2.0 and Alpine benchmark figures
(their calculations live in :mod:`clusterpolicy.study.clusterix` and :mod:`clusterpolicy.study.alpine`).

The context and data pages' numbers and frames are prepared by :mod:`clusterpolicy.study.context` and
:mod:`clusterpolicy.study.data_overview`; their figures here only draw the frames they are given
(:func:`policy_timeline_figure`, :func:`link_table_html`, :func:`coverage_figure`, :func:`start_year_figure`,
:func:`region_year_heatmap`, :func:`region_lines_figure`, :func:`macro_area_figure`). The other figures draw
estimator results or study frames for one or two templates each (:func:`synth_path_figure`,
:func:`placebo_gap_figure`, :func:`rmspe_ratio_figure`, :func:`power_curve_figure`, :func:`benchmark_figure`,
:func:`mc_coverage_figure`).

Figures never recompute an estimate: they draw the result objects or tidy frames they are given. Nothing here
reads files except through :mod:`clusterpolicy.data`; nothing is simulated except where a docstring says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# short_region_name, fact, fact_values and source_label are re-exported for the templates that import them here
from clusterpolicy.data.policy import fact, fact_values, short_region_name, source_label  # noqa: F401
from clusterpolicy.report.theme import CONTROL, NEUTRAL, PALETTE, TREATED, TRUTH

if TYPE_CHECKING:
    from clusterpolicy.estimate.synth import SynthResult

#: Colour of each calendar kind in the timeline (colour-blind palette; Interreg bars in grey-blue).
KIND_COLORS: dict[str, object] = {
    "miur_district": PALETTE[7],
    "pon_district_lab": PALETTE[4],
    "regional_poles_2007_13": PALETTE[0],
    "regional_clusters_2014_20": PALETTE[2],
    "s3_law_recognition": PALETTE[1],
    "national_cluster_participation": PALETTE[5],
    "interreg": PALETTE[9],
}
#: Marker fill per confidence level: filled = high, half-filled = medium, open = low.
CONFIDENCE_FILL = {"high": "full", "medium": "left", "low": "none"}


# ----------------------------------------------------------------------------------------------------------------
# Policy files: the calendar timeline and link tables
# ----------------------------------------------------------------------------------------------------------------
def policy_timeline_figure(timeline: pd.DataFrame, *, national_call_year: int | None = None,
                           kind_labels: Mapping[str, str] | None = None, first_year: int = 2000,
                           last_year: int = 2022, title: str = "") -> plt.Figure:
    """Every policy generation of every region on one line per region, coloured by kind.

    ``timeline`` is :func:`clusterpolicy.study.context.timeline_frame` (``label, y, kind, start_year, end_year,
    confidence``). Dated rows are markers at ``start_year`` whose fill shows the confidence (filled high,
    half-filled medium, open low); ``interreg`` rows are bars over their running years; a region whose rows are all
    ``none_found`` is marked "none found"; undated rows are listed at the left margin. ``national_call_year`` draws
    the 2012 national cluster call (a common shock) as a dashed line.
    """
    labels = dict(kind_labels or {})
    n = int(timeline["y"].max()) + 1 if not timeline.empty else 1
    fig, ax = plt.subplots(figsize=(7.5, 0.34 * n + 2.6))
    seen: set[str] = set()
    stacked: dict[tuple[int, int], int] = {}
    for rec in timeline.to_dict("records"):
        kind, y = rec["kind"], rec["y"]
        if kind == "none_found":
            continue
        color = KIND_COLORS.get(kind, NEUTRAL)
        key = labels.get(kind, kind)
        if kind == "interreg" and pd.notna(rec["start_year"]):
            end = rec["end_year"] if pd.notna(rec["end_year"]) else rec["start_year"]
            ax.barh(y, end - rec["start_year"] + 1, left=rec["start_year"] - 0.5, height=0.35, color=color,
                    alpha=0.6, label=None if key in seen else key)
            seen.add(key)
            continue
        if pd.isna(rec["start_year"]):
            ax.text(first_year + 0.2, y, "undated", va="center", fontsize=7, color=color)
            continue
        # several rows of one region in the same year are stacked slightly so that none hides another
        k = stacked.get((y, int(rec["start_year"])), 0)
        stacked[(y, int(rec["start_year"]))] = k + 1
        ax.plot([rec["start_year"]], [y + 0.22 * k], linestyle="none", marker="o", markersize=7, color=color,
                markeredgecolor=color, fillstyle=CONFIDENCE_FILL.get(rec["confidence"], "none"),
                label=None if key in seen else key)
        seen.add(key)
    only_none = timeline.groupby("y")["kind"].agg(lambda k: set(k) == {"none_found"})
    for y in only_none[only_none].index:
        ax.text(first_year + 0.2, y, "none found", va="center", fontsize=8, color=NEUTRAL)
    if national_call_year is not None:
        ax.axvline(national_call_year, color=NEUTRAL, linestyle="--", linewidth=1,
                   label="National cluster call (all regions)")
    ticks = timeline.drop_duplicates("y").sort_values("y")
    ax.set_yticks(ticks["y"].tolist(), ticks["label"].tolist())
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(first_year - 0.5, last_year + 0.5)
    ax.set_xlabel("Start year")
    for conf, fill in CONFIDENCE_FILL.items():
        ax.plot([], [], linestyle="none", marker="o", color=NEUTRAL, fillstyle=fill, label=f"{conf} confidence")
    if title:
        ax.set_title(title, loc="left")
    handles, lbls = ax.get_legend_handles_labels()
    fig.legend(handles, lbls, loc="lower center", ncols=2, frameon=False, fontsize=8)
    rows = math.ceil(len(lbls) / 2)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, min((0.2 * rows + 0.2) / height, 0.4), 1, 1))
    return fig


def _links_html(source: str) -> str:
    import html

    parts = []
    for label, url in source_label(source):
        parts.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>' if url
                     else html.escape(label))
    return "; ".join(parts)


def link_table_html(frame: pd.DataFrame, *, link_column: str = "source", url_column: str = "url",
                    caption: str = "") -> str:
    """HTML of ``frame`` (without ``url_column``) whose ``link_column`` cells are links to ``url_column``.

    Scrollable on phones like :func:`clusterpolicy.report.tables.show_table`; every other cell is escaped.
    """
    import html

    shown = [c for c in frame.columns if c != url_column]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown)
    body = []
    for rec in frame.to_dict("records"):
        cells = []
        for c in shown:
            if c == link_column:
                cells.append(f"<td>{_links_html(rec[url_column])}</td>")
            else:
                v = rec[c]
                missing = v is None or (isinstance(v, float) and math.isnan(v))
                cells.append(f"<td>{html.escape('–' if missing else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<p class="cp-table-caption"><strong>{html.escape(caption)}</strong></p>' if caption else ""
    rows = "".join(body)
    return (f'<div class="cp-table-wrap" style="overflow-x:auto;max-width:100%;">{cap}'
            f'<table class="cp-table table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')


# ----------------------------------------------------------------------------------------------------------------
# Data overview figures
# ----------------------------------------------------------------------------------------------------------------
def coverage_figure(coverage: pd.DataFrame) -> plt.Figure:
    """Share of Italian H2020 participations placed in a region, by project start year (bars), with the share of
    participations whose organisation is in the June-2017 list (line)."""
    fig, ax = plt.subplots()
    cov = coverage.sort_values("year")
    colors = [TREATED if c == 1 else NEUTRAL for c in cov["year_complete"]]
    ax.bar(cov["year"], 100 * cov["coverage_national"], color=colors, label="Placed in a region")
    ax.plot(cov["year"], 100 * cov["share_in_list"], color=CONTROL, marker="o",
            label="Organisation in the June-2017 list")
    ax.set_ylim(0, 105)
    ax.set_ylabel("Share of Italian participations (%)")
    ax.set_xlabel("Project start year")
    low_row: Any = cov["coverage_national"].idxmin()
    low = cov.loc[low_row]
    ax.set_title(f"Regional placement covers {100 * cov['coverage_national'].min():.0f}-"
                 f"{100 * cov['coverage_national'].max():.0f} % of participations "
                 f"(lowest in {int(low['year'])})", loc="left")
    ax.legend(frameon=False, loc="lower left")
    return fig


def start_year_figure(start_years: pd.DataFrame, *, title: str) -> plt.Figure:
    """Italian H2020 projects per start year (bars: all projects; dark: firm-institute co-participation projects),
    incomplete start years in grey, with the share placed in a region (line, right axis).

    ``start_years`` is :func:`clusterpolicy.study.data_overview.start_year_table`."""
    d = start_years.sort_values("year")
    fig, ax = plt.subplots()
    light = [NEUTRAL if c != 1 else PALETTE[9] for c in d["complete"]]
    ax.bar(d["year"], d["projects"], color=light, label="Projects with an Italian participant")
    ax.bar(d["year"], d["coparticipation_projects"], width=0.5, color=TREATED,
           label="... of which firm-institute co-participation")
    ax.set_xlabel("Project start year")
    ax.set_ylabel("Projects")
    bx = ax.twinx()
    bx.plot(d["year"], 100 * d["coverage"], color=CONTROL, marker="o", label="Placed in a region (%, right)")
    bx.set_ylim(0, 105)
    bx.set_ylabel("Participations placed in a region (%)")
    bx.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = bx.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15),
              ncols=2)
    ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


def macro_area_figure(macro: pd.DataFrame, *, title: str, base_year: int) -> plt.Figure:
    """Two panels by macro-area: business R&D personnel indexed to ``base_year`` = 100 (left) and H2020
    co-participation projects per million inhabitants (right, levels).

    ``macro`` is :func:`clusterpolicy.study.data_overview.macro_area_series` (``label, series, year, value,
    index``); missing years are gaps."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 4.2))
    labels = list(dict.fromkeys(macro["label"]))
    colors = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    for (series, lab), part in macro.groupby(["series", "label"], sort=False):
        target, col = (ax, "index") if series == "bes_personnel" else (bx, "value")
        years = part["year"].to_numpy()
        full = np.arange(years.min(), years.max() + 1)
        y = pd.Series(part[col].to_numpy(dtype=float), index=years).reindex(full)
        style = "-" if lab in ("South", "Islands") else "--"
        target.plot(full, y, color=colors[lab], linestyle=style, marker="o", markersize=3, linewidth=1.8,
                    label=lab)
    ax.axhline(100, color=NEUTRAL, linewidth=0.8)
    ax.set_title(f"Business R&D personnel ({base_year} = 100)", loc="left", fontsize=10)
    ax.set_xlabel("Year")
    ax.set_ylabel("Index")
    bx.set_title("H2020 firm-institute projects per million people", loc="left", fontsize=10)
    bx.set_xlabel("Project start year")
    bx.set_ylabel("Projects per million inhabitants")
    handles, lbls = ax.get_legend_handles_labels()
    fig.legend(handles, lbls, loc="lower center", ncols=len(lbls), frameon=False, fontsize=9)
    fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=12)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    return fig


def region_year_heatmap(frame: pd.DataFrame, *, value: str, title: str, cbar_label: str,
                        row: str = "label", col: str = "year", fmt: str = "d", log: bool = False) -> plt.Figure:
    """Heat map of ``value`` by ``row`` (regions) and ``col`` (years), cells annotated."""
    # Imported here, not at module level: seaborn takes about 0.6 s to import (scipy.stats) and only this figure
    # and ``figures.trends_figure`` use it.
    import seaborn as sns
    from matplotlib.colors import LogNorm

    wide = frame.pivot(index=row, columns=col, values=value)
    wide = wide.loc[wide.mean(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(wide) + 1.6))
    norm = LogNorm(vmin=max(float(np.nanmin(wide.to_numpy())), 1.0), vmax=float(np.nanmax(wide.to_numpy()))) \
        if log else None
    annot = wide.round(0).astype("Int64").astype(str).replace("<NA>", "") if fmt == "d" else True
    sns.heatmap(wide.astype(float), ax=ax, cmap="mako_r", norm=norm, annot=annot if fmt == "d" else True,
                fmt="" if fmt == "d" else fmt, annot_kws={"fontsize": 7}, cbar_kws={"label": cbar_label},
                linewidths=0.3, linecolor="white")
    ax.grid(False)
    ax.set_xlabel(col.capitalize())
    ax.set_ylabel("")
    ax.set_title(title, loc="left")
    return fig


def region_lines_figure(frame: pd.DataFrame, *, value: str, highlight: Iterable[str], title: str, ylabel: str,
                        unit_col: str = "label", base_year: int | None = None, log: bool = False) -> plt.Figure:
    """Each unit's ``value`` over ``year``; highlighted units coloured and labelled, the others thin grey lines.

    With ``base_year`` each series is indexed to that year = 100 (units without a positive base value are
    skipped); with ``log`` the y axis is logarithmic. Gaps in a series (missing years) are left as gaps.
    """
    fig, ax = plt.subplots()
    hl: list[Any] = list(highlight)  # compared with the group keys
    base = frame[frame["year"] == base_year].set_index(unit_col)[value] if base_year is not None else None
    for u, part in frame.sort_values("year").groupby(unit_col, sort=True):
        years = part["year"].to_numpy()
        y = part[value].to_numpy(dtype=float)
        if base is not None:
            if u not in base.index or not np.isfinite(base[u]) or base[u] <= 0:
                continue
            y = 100 * y / float(base[u])
        # reindex to consecutive years so a missing year shows as a gap, not an interpolated segment
        full = np.arange(years.min(), years.max() + 1)
        yy = pd.Series(y, index=years).reindex(full).to_numpy()
        if u in hl:
            ax.plot(full, yy, color=PALETTE[hl.index(u) % len(PALETTE)], linewidth=2.2, marker="o", markersize=3,
                    label=u)
        else:
            ax.plot(full, yy, color=NEUTRAL, linewidth=0.8, alpha=0.6)
    if base_year is not None:
        ax.axhline(100, color=NEUTRAL, linewidth=0.8)
    if log:
        ax.set_yscale("log")
    ax.plot([], [], color=NEUTRAL, linewidth=0.8, label="Other regions")
    ax.set_xlabel("Year")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8, ncols=2)
    return fig


# ----------------------------------------------------------------------------------------------------------------
# Synthetic control: figures
# ----------------------------------------------------------------------------------------------------------------
def synth_path_figure(result: SynthResult, *, title: str, ylabel: str, treated_label: str) -> plt.Figure:
    """Treated region against its synthetic control over time; the policy year marked."""
    path = result.path
    fig, ax = plt.subplots()
    ax.plot(path["time"], path["treated"], color=TREATED, marker="o", linewidth=2, label=treated_label)
    ax.plot(path["time"], path["synthetic"], color=CONTROL, linestyle="--", marker="s", markersize=4,
            label="Synthetic control")
    ax.axvline(result.treatment_time - 0.5, color=NEUTRAL, linestyle=":", linewidth=1)
    ax.set_xlabel("Year")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False)
    return fig


def placebo_gap_figure(paths: pd.DataFrame, *, treated: str, treatment_time: int, title: str,
                       ylabel: str) -> plt.Figure:
    """Gap (treated minus synthetic) over time for the treated region (highlighted) and every placebo (grey)."""
    fig, ax = plt.subplots()
    for u, part in paths.groupby("unit", sort=True):
        if u == treated:
            continue
        ax.plot(part["time"], part["gap"], color=NEUTRAL, linewidth=0.9, alpha=0.6)
    tr = paths[paths["unit"] == treated]
    ax.plot(tr["time"], tr["gap"], color=TREATED, linewidth=2.4, label=f"{treated} (treated)")
    ax.plot([], [], color=NEUTRAL, label="Placebo regions")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(treatment_time - 0.5, color=NEUTRAL, linestyle=":", linewidth=1)
    ax.set_xlabel("Year")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False)
    return fig


def rmspe_ratio_figure(result: SynthResult, *, title: str) -> plt.Figure:
    """Post/pre RMSPE ratios of the treated region and every placebo, sorted; the treated bar highlighted."""
    assert result.placebos is not None, "the RMSPE-ratio figure needs a result with placebos"
    pl = result.placebos[["unit", "rmspe_ratio"]]
    frame = pd.concat([pl, pd.DataFrame({"unit": [result.treated_unit], "rmspe_ratio": [result.rmspe_ratio]})],
                      ignore_index=True).sort_values(["rmspe_ratio", "unit"], kind="mergesort")
    fig, ax = plt.subplots(figsize=(7.5, 0.24 * len(frame) + 1.6))
    colors = [TREATED if u == result.treated_unit else NEUTRAL for u in frame["unit"]]
    ax.barh(frame["unit"], frame["rmspe_ratio"], color=colors)
    ax.set_xlabel("Post-policy RMSPE / pre-policy RMSPE")
    ax.set_title(title, loc="left")
    ax.tick_params(axis="y", labelsize=8)
    return fig


# ----------------------------------------------------------------------------------------------------------------
# ClusteriX 2.0: detectability figures
# ----------------------------------------------------------------------------------------------------------------
def power_curve_figure(table: pd.DataFrame, *, target: float, mde: float | None, title: str,
                       target_power: float = 0.8, target_label: str = "Programme target") -> plt.Figure:
    """Simulated power against the effect size in per cent (``delta`` a log ratio), with MC error bars, the
    programme's target effect and the target power."""
    fig, ax = plt.subplots()
    pct = 100 * np.expm1(table["delta"].to_numpy(dtype=float))
    ax.errorbar(pct, table["power"], yerr=1.96 * table["mc_se"], fmt="o-", color=TREATED, capsize=3,
                label="Simulated power (95% MC interval)")
    ax.axhline(target_power, color=NEUTRAL, linestyle="--", linewidth=1, label=f"{target_power:.0%} power")
    ax.axvline(100 * target, color=TRUTH, linestyle=":", linewidth=1.5, label=target_label)
    if mde is not None and np.isfinite(mde):
        ax.axvline(100 * math.expm1(mde), color=CONTROL, linestyle="-.", linewidth=1.2,
                   label="Minimum detectable effect")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("True effect on the count (%)")
    ax.set_ylabel("Share of simulations rejecting no effect")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


def target_vs_noise_figure(frame: pd.DataFrame, *, title: str) -> plt.Figure:
    """Per partner: extra projects per year implied by the target (dark) against the typical year-to-year swing
    (light), both in projects per year. ``frame`` needs ``label, target_extra, yoy_swing``."""
    f = frame.sort_values("yoy_swing", kind="mergesort")
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(f) + 1.6))
    y = np.arange(len(f))
    ax.barh(y + 0.2, f["yoy_swing"], height=0.4, color=NEUTRAL, label="Typical year-to-year swing")
    ax.barh(y - 0.2, f["target_extra"], height=0.4, color=TREATED, label="Extra projects the target implies")
    ax.set_yticks(y, f["label"])
    ax.set_xlabel("Projects per year")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return fig


# ----------------------------------------------------------------------------------------------------------------
# Alpine benchmark figure
# ----------------------------------------------------------------------------------------------------------------
def benchmark_figure(rel: pd.DataFrame, *, indicators: Mapping[str, tuple[str, str]], labels: Mapping[str, str],
                     highlight: Iterable[str] = (), title: str) -> plt.Figure:
    """Small multiples, one per indicator (``indicators``: name -> (label, unit), in panel order): each region's
    value relative to the partner median (=100) over time, from the ``relative`` column of ``rel``."""
    spec = dict(indicators)
    shown = [i for i in spec if i in set(rel["indicator"])]
    fig, axes = plt.subplots(len(shown), 1, figsize=(7.5, 3.0 * len(shown)), sharex=True, squeeze=False)
    hl = set(highlight)
    codes = sorted(set(rel["nuts2"]))
    colors = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(codes)}
    for ax, ind in zip(axes[:, 0], shown, strict=True):
        part = rel[(rel["indicator"] == ind)].dropna(subset=["relative"])
        code: Any  # a region code (pandas-stubs types group keys as any scalar)
        for code, p in part.groupby("nuts2", sort=True):
            ax.plot(p["year"], p["relative"], marker="o", markersize=4, color=colors[code],
                    linewidth=2.2 if code in hl else 1.0, linestyle="-" if code in hl else "--",
                    label=labels.get(code, code))
        ax.axhline(100, color="black", linewidth=0.8)
        name, unit = spec[ind]
        ax.set_ylabel("% of median")
        ax.set_title(f"{name} ({unit}), relative to the partner median", loc="left", fontsize=10)
    axes[-1, 0].set_xlabel("Year")
    handles, lbls = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, lbls, loc="lower center", ncols=3, frameon=False, fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=12)
    fig.tight_layout(rect=(0, 0.1, 1, 0.97))
    return fig


# ----------------------------------------------------------------------------------------------------------------
# Monte Carlo (SIMULATION)
# ----------------------------------------------------------------------------------------------------------------
# The table is read and checked by :mod:`clusterpolicy.study.monte_carlo`; this module only draws it.


def mc_coverage_figure(mc: pd.DataFrame, *, nominal: float = 0.95, title: str) -> plt.Figure:
    """SIMULATION: coverage of nominal 95 % intervals per design and estimator, with +-1.96 MC standard errors."""
    d = mc.dropna(subset=["coverage_95"]).sort_values(["design", "estimator"], kind="mergesort")
    labels = d["design"] + ": " + d["estimator"]
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(d) + 1.6))
    y = np.arange(len(d))
    ax.errorbar(d["coverage_95"], y, xerr=1.96 * d["coverage_mcse"], fmt="o", color=TREATED, capsize=3)
    ax.axvline(nominal, color=TRUTH, linestyle="--", label=f"Nominal {nominal:.0%}")
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("Coverage of the confidence interval (SIMULATED data)")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, loc="lower left")
    return fig

