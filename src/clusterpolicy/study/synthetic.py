"""Emilia-Romagna's Clust-ER (2017): synthetic control, synthetic DiD and DiD over two justified donor pools.

Emilia-Romagna was already treated before 2017: the Regional High Technology Network (LR 7/2002) and the Tecnopoli
(from 2009) are rows of the audited calendar. The 2017 "onset" therefore measures what the Clust-ER associations
added on top of earlier policies, not the effect of a cluster policy against none. The earlier programmes are read
from the calendar and published (``earlier_programmes``) so that every page says so.

The rules (applied by code here; the template ``notebooks/synthetic_control.md`` states them):

* **Outcome.** Business R&D personnel (Eurostat, full-time equivalents), log, minus each region's own pre-onset
  mean (so that a large region can be matched by a convex combination of smaller ones; unit fixed effects make
  the demeaning irrelevant for DiD and synthetic DiD), 2007-2019, regions observed in every year.
* **Onset.** The ``start_year`` of the cited calendar row (``policy_id``, default ``ith5-clust-er-2017``).
* **Donor pool "centre_north"** (:func:`centre_north_pool`): Centre-North Italian regions that start no regional
  cluster programme from :data:`QUIET_YEARS` years before the onset to the end of the window under *every*
  definition (:data:`POOL_DEFINITIONS`): status ``never``, or a first treated year before that band or after the
  window. Why earlier programmes are allowed: Emilia-Romagna itself carries earlier programmes (the High
  Technology Network, the Tecnopoli), so the estimand is what Clust-ER added on top of earlier policies, and a donor
  with its own earlier programme is in the same position; a donor whose programme starts
  in the last pre-onset years or after the onset would move its path exactly where the comparison is made. A
  region with status ``unknown`` under any definition is excluded (its start cannot be dated, so it may fall in
  the band). Every excluded Centre-North region is listed with its reason.
* **Donor pool "eu_similar"** (:func:`eu_similar_pool`): regions of other European countries observed in every
  year, the :data:`EU_NEIGHBOURS` nearest to the treated region on two pre-onset structural features, each
  standardised over the candidates: mean business R&D intensity (business R&D expenditure, per cent of GDP) and
  the mean business share of R&D personnel. Regions lacking either feature are not candidates. Their own
  cluster policies are not audited: they are "similar in R&D structure", not "untreated".
* **Methods.** Synthetic control (Abadie, Diamond and Hainmueller 2010; matched on every pre-onset outcome),
  synthetic difference-in-differences (Arkhangelsky et al. 2021) and plain DiD (equal weights), each on each
  pool. Each publishes its estimate and a placebo p-value, never an analytic interval. SC: rank of the post/pre
  RMSPE ratio (a studentised statistic by construction). DiD: placebos in space studentised by each region's
  pre-period residual SD (Ferman and Pinto 2019). Synthetic DiD: the same studentisation, each estimate (actual and
  placebo) divided by the SD of its own pre-onset gap to its synthetic comparison, so a noisy donor does not
  dominate the ranking; the unstudentised rank is kept for comparison.
* **Result.** The synthetic control and synthetic DiD estimates are reported as a range across methods and pools:
  minimum, maximum and whether the sign flips. Plain DiD (equal donor weights, the weakest counterfactual of the
  three) is reported separately, never inside that range. No single number is "the" effect.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clusterpolicy.data.calendar import ITALIAN_NUTS2
from clusterpolicy.data.loaders import load_rd_panel
from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.synth import SynthResult, synthetic_control
from clusterpolicy.estimate.synthdid import synthetic_did
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.panel import macro_group
from clusterpolicy.study.single_region import (
    CalendarOnset,
    earlier_programmes,
    onset_from_calendar,
    p_text,
    placebo_verdict,
)
from clusterpolicy.study.treatments import cohort_table

OUTCOME = "rd_personnel_bes_fte"
WINDOW = (2007, 2019)
DEFAULT_POLICY = "ith5-clust-er-2017"
#: Definitions under which a Centre-North donor must start no programme in the band around the onset.
POOL_DEFINITIONS = ("T1", "T2")
#: Pre-onset years in which a Centre-North donor must start no programme (see the module docstring).
QUIET_YEARS = 3
#: Methods whose estimates form the reported range (plain DiD is reported beside it).
RANGE_METHODS = ("sc", "sdid")
#: Size of the EU pool: nearest neighbours on the structural features.
EU_NEIGHBOURS = 15
#: Structural features of the EU pool (pre-onset means).
FEATURES = {"business_rd_intensity": "business R&D expenditure, % of GDP",
            "business_share_rd_personnel": "business share of R&D personnel"}
POOLS = {"centre_north": "Centre-North Italian regions with no new programme around the onset",
         "eu_similar": "European regions with a similar R&D structure"}
POOL_SHORT = {"centre_north": "Centre-North Italy", "eu_similar": "European, similar R&D"}
METHOD_NAMES = {"sc": "synthetic control", "sdid": "synthetic DiD", "did": "DiD"}
DEFAULT_SEED = 2024
DEFAULT_REPLICATIONS = 50


# ================================================================================================================
# Panel and donor pools
# ================================================================================================================
def synth_panel(rd: pd.DataFrame, onset: int, window: tuple[int, int] = WINDOW,
                outcome: str = OUTCOME) -> pd.DataFrame:
    """Balanced NUTS2 x year panel: ``nuts2, country, year, value, y, cohort`` with ``y = log(value)`` minus the
    region's pre-``onset`` mean; only NUTS2 regions (four-character codes, no aggregates) with a positive value in
    every year of the window present in the data; ``cohort`` is 0 (set by the caller for the treated region)."""
    d = rd.loc[(rd["year"] >= window[0]) & (rd["year"] <= window[1]), ["nuts2", "country", "year", outcome]]
    d = d[(d["nuts2"].str.len() == 4) & (d["country"] != "EA")].dropna(subset=[outcome])
    d = d[d[outcome] > 0].rename(columns={outcome: "value"})
    n_years = d.groupby("nuts2")["year"].nunique()
    full = n_years[n_years == d["year"].nunique()].index
    d = d[d["nuts2"].isin(full)].sort_values(["nuts2", "year"]).reset_index(drop=True)
    logv: Any = np.log(d["value"].astype(float))  # a Series (numpy-typed as an array by the stubs)
    d["y"] = logv - logv.where(d["year"] < onset).groupby(d["nuts2"]).transform("mean")
    d["cohort"] = 0
    return d


@dataclass(frozen=True)
class DonorPool:
    """A donor pool, the rule that picked it, and the candidates it left out (with reasons)."""

    name: str
    label: str
    rule: str
    donors: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)


def centre_north_pool(panel: pd.DataFrame, treated: str, onset: int, window: tuple[int, int] = WINDOW,
                      definitions: tuple[str, ...] = POOL_DEFINITIONS, quiet_years: int = QUIET_YEARS) -> DonorPool:
    """Centre-North Italian regions that start no programme from ``onset - quiet_years`` to the end of the window
    under every definition (module docstring).

    ``table``: every Centre-North region other than the treated one, ``nuts2, region, donor, reason``.
    """
    tables = {d: cohort_table(d).set_index("nuts2") for d in definitions}
    observed = set(panel["nuts2"])
    band = (onset - quiet_years, window[1])
    rows = []
    for code, name in ITALIAN_NUTS2.items():
        if code == treated or macro_group(code) != "centre_north":
            continue
        reasons, earlier = [], []
        for d, t in tables.items():
            status = str(t["status"].loc[code]) if code in t.index else "unknown"
            cohort = t["cohort"].loc[code] if code in t.index else None
            if status == "unknown":
                reasons.append(f"start cannot be dated under {d}")
            elif status == "treated" and not pd.isna(cohort) and band[0] <= int(cohort) <= band[1]:
                reasons.append(f"starts a programme in {int(cohort)} under {d}")
            elif status == "treated" and not pd.isna(cohort) and int(cohort) < band[0]:
                earlier.append(f"earlier programme from {int(cohort)} under {d}")
        if code not in observed:
            reasons.append("business R&D personnel not observed in every year")
        quiet = f"no programme starts in {band[0]}-{band[1]} under {' or '.join(definitions)}"
        rows.append({"nuts2": code, "region": name, "donor": not reasons,
                     "reason": "; ".join(reasons) or "; ".join([quiet, *earlier])})
    table = pd.DataFrame(rows)
    donors = tuple(sorted(table.loc[table["donor"], "nuts2"]))
    if len(donors) < 2:
        raise UserInputError(f"the Centre-North rule leaves {len(donors)} donor(s); a synthetic control needs two.")
    rule = (f"Centre-North Italian regions that start no regional cluster programme from {band[0]} "
            f"({quiet_years} years before the onset) to {band[1]} under {' or '.join(definitions)}; an earlier "
            "programme is allowed, as the treated region had its own; regions whose start cannot be dated are "
            "excluded")
    return DonorPool("centre_north", POOLS["centre_north"], rule, donors, table)


def structural_features(rd: pd.DataFrame, onset: int, window: tuple[int, int] = WINDOW) -> pd.DataFrame:
    """Pre-onset means per region of :data:`FEATURES` (index ``nuts2``; NaN where not observed)."""
    pre = rd[(rd["year"] >= window[0]) & (rd["year"] < onset)]
    share = pre["rd_personnel_bes_fte"] / pre["rd_personnel_total_fte"]
    frame = pd.DataFrame({"nuts2": pre["nuts2"], "business_rd_intensity": pre["gerd_bes_pc_gdp"],
                          "business_share_rd_personnel": share})
    return frame.groupby("nuts2")[list(FEATURES)].mean()


def eu_similar_pool(rd: pd.DataFrame, panel: pd.DataFrame, treated: str, onset: int, *,
                    k: int = EU_NEIGHBOURS, window: tuple[int, int] = WINDOW) -> DonorPool:
    """The ``k`` non-Italian regions nearest to ``treated`` on standardised pre-onset :data:`FEATURES`.

    ``table``: every candidate, ``nuts2, country, <features>, distance, donor`` sorted by distance (ties by code).
    """
    feats = structural_features(rd, onset, window)
    if treated not in feats.index or feats.loc[treated].isna().any():
        raise UserInputError(f"{treated}: structural features not observed before {onset}.")
    countries = panel.drop_duplicates("nuts2").set_index("nuts2")["country"]
    cand = [c for c in countries.index if countries[c] != "IT" and c in feats.index
            and not feats.loc[c].isna().any()]
    if len(cand) < k:
        raise UserInputError(f"only {len(cand)} European candidate regions have both features; lower k={k}.")
    x = feats.loc[cand]
    z = (x - x.mean()) / x.std(ddof=1)
    z1 = (feats.loc[treated] - x.mean()) / x.std(ddof=1)
    dist = np.sqrt(((z - z1) ** 2).sum(axis=1))
    table = x.assign(country=countries.loc[cand].to_numpy(), distance=dist.to_numpy()).reset_index()
    table = table.sort_values(["distance", "nuts2"], kind="mergesort").reset_index(drop=True)
    table["donor"] = table.index < k
    donors = tuple(sorted(table.loc[table["donor"], "nuts2"]))
    rule = (f"the {k} regions of other European countries (of {len(cand)} observed in every year with both "
            "features) nearest to the treated region on pre-onset business R&D intensity and business share of "
            "R&D personnel (standardised Euclidean distance)")
    first_cols = ["nuts2", "country", *FEATURES, "distance", "donor"]
    return DonorPool("eu_similar", POOLS["eu_similar"], rule, donors, table[first_cols])


# ================================================================================================================
# Methods
# ================================================================================================================
@dataclass(frozen=True)
class MethodEstimate:
    """One method on one pool: estimate (log points), placebo p-value and pre-period fit; no interval."""

    method: str
    pool: str
    estimate: float
    p_value: float | None
    p_rule: str
    n_placebos: int
    pre_rmse: float | None
    weights: pd.Series = field(repr=False)
    placebo_se: float | None = None
    p_value_unstudentised: float | None = None


def _sub(panel: pd.DataFrame, treated: str, donors: tuple[str, ...], onset: int) -> pd.DataFrame:
    d = panel[panel["nuts2"].isin([treated, *donors])].copy()
    d["cohort"] = np.where(d["nuts2"] == treated, onset, 0)
    return d


def run_sc(panel: pd.DataFrame, treated: str, pool: DonorPool, onset: int) -> tuple[MethodEstimate, SynthResult]:
    """Synthetic control on every pre-onset outcome; p-value: rank of the post/pre RMSPE ratio."""
    res = synthetic_control(_sub(panel, treated, pool.donors, onset), unit="nuts2", time="year", outcome="y",
                            treated_unit=treated, treatment_time=onset, donors=list(pool.donors))
    return MethodEstimate("sc", pool.name, float(res.att), res.p_value,
                          "rank of the post/pre RMSPE ratio among the treated region and the placebos",
                          int(res.n_placebos_used), float(res.pre_rmspe), res.weights), res


def run_did(panel: pd.DataFrame, treated: str, pool: DonorPool, onset: int) -> MethodEstimate:
    """Static DiD (equal weights); p-value: the single-treated rule's studentised placebos in space."""
    data = _sub(panel, treated, pool.donors, onset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        res = estimate(data, estimator="twfe", unit="nuts2", time="year", cohort="cohort", outcome="y")
    pl = res.placebo.to_dict() if res.placebo is not None else {}
    wide = data.pivot(index="year", columns="nuts2", values="y")
    pre = wide.index < onset
    gap = wide[treated] - wide[list(pool.donors)].mean(axis=1)
    pre_gap = gap[pre] - gap[pre].mean()
    w = pd.Series(1 / len(pool.donors), index=pd.Index(pool.donors, name="nuts2"), name="weight")
    return MethodEstimate("did", pool.name, float(res.estimate), res.p_value,
                          "studentised placebos in space (Ferman-Pinto)", int(pl.get("n_placebos", 0)),
                          float(np.sqrt((pre_gap**2).mean())), w)


# ================================================================================================================
# The study
# ================================================================================================================
@dataclass(frozen=True)
class Analysis:
    """Objects behind the published values."""

    onset: CalendarOnset
    panel: pd.DataFrame
    pools: dict[str, DonorPool]
    estimates: tuple[MethodEstimate, ...]
    sc: dict[str, SynthResult]


def analyse(policy_id: str = DEFAULT_POLICY, *, k: int = EU_NEIGHBOURS, seed: int = DEFAULT_SEED,
            replications: int = DEFAULT_REPLICATIONS, rd: pd.DataFrame | None = None) -> Analysis:
    """Every method on every pool (module docstring)."""
    on = onset_from_calendar(policy_id)
    rd = load_rd_panel() if rd is None else rd
    panel = synth_panel(rd, on.year)
    if on.nuts2 not in set(panel["nuts2"]):
        raise UserInputError(f"{on.nuts2}: business R&D personnel not observed in every year of {WINDOW}.")
    pools = {"centre_north": centre_north_pool(panel, on.nuts2, on.year),
             "eu_similar": eu_similar_pool(rd, panel, on.nuts2, on.year, k=k)}
    ests: list[MethodEstimate] = []
    sc: dict[str, SynthResult] = {}
    for name, pool in pools.items():
        m, res = run_sc(panel, on.nuts2, pool, on.year)
        ests.append(m)
        sc[name] = res
        ests.extend(run_sdid(panel, on.nuts2, pool, on.year, seed=seed, replications=replications))
        ests.append(run_did(panel, on.nuts2, pool, on.year))
    return Analysis(onset=on, panel=panel, pools=pools, estimates=tuple(ests), sc=sc)


def run_sdid(panel: pd.DataFrame, treated: str, pool: DonorPool, onset: int, *, seed: int = DEFAULT_SEED,
             replications: int = DEFAULT_REPLICATIONS) -> list[MethodEstimate]:
    """Synthetic DiD (Arkhangelsky et al. 2021). p-value: rank of the studentised ``|estimate / pre SD|`` among
    the in-space placebos (each donor treated in turn, fitted on the other donors; needs at least two donors left),
    where ``pre SD`` is the root mean square of the unit's demeaned pre-onset gap to its synthetic comparison, as
    the single-region pages studentise by the pre-period residual SD (Ferman and Pinto 2019).
    ``p_value_unstudentised`` ranks ``|estimate|``. ``placebo_se``: the seeded placebo standard error of the method
    (Algorithm 4), reported beside it, never turned into an interval.
    """
    data = _sub(panel, treated, pool.donors, onset)
    roles: dict[str, Any] = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}
    fit = synthetic_did(data, **roles, method="sdid", inference=None)
    notes: list[str] = []
    try:
        se: float | None = float(synthetic_did(data, **roles, method="sdid", inference="placebo",
                                               replications=replications, seed=seed).se)
    except EstimationError as err:
        se = None
        notes.append(f"placebo SE not computable: {str(err).splitlines()[0]}")
    def pre_sd(paths: pd.DataFrame) -> float:
        pre = paths[paths["time"] < onset]
        gap = pre["treated"] - pre["synthetic"]
        return float(np.sqrt(((gap - gap.mean()) ** 2).mean()))

    placebo_estimates: list[float] = []
    placebo_stats: list[float] = []
    for j in pool.donors:
        others = data[data["nuts2"] != treated]
        others = others.assign(cohort=np.where(others["nuts2"] == j, onset, 0))
        try:
            pf = synthetic_did(others, **roles, method="sdid", inference=None)
        except EstimationError as err:
            notes.append(f"placebos not computable: {str(err).splitlines()[0]}")
            placebo_estimates, placebo_stats = [], []
            break
        placebo_estimates.append(float(pf.estimate))
        sd_j = pre_sd(pf.paths)
        placebo_stats.append(float(pf.estimate) / sd_j if sd_j > 0 else math.inf)
    own_sd = pre_sd(fit.paths)
    p = p_raw = None
    if placebo_estimates:
        def rank(stats: list[float], observed: float) -> float:
            arr = np.abs(np.array(stats))
            return float((1 + np.sum(arr >= abs(observed) * (1 - 1e-12))) / (arr.size + 1))

        observed = float(fit.estimate) / own_sd if own_sd > 0 else math.inf
        p = rank(placebo_stats, observed)
        p_raw = rank(placebo_estimates, float(fit.estimate))
    w = fit.unit_weights.set_index("unit")["weight"].rename_axis("nuts2").rename("weight")
    rule = ("rank of |estimate / pre-onset gap SD| among in-space placebos (studentised, Ferman-Pinto)"
            + (f" ({'; '.join(dict.fromkeys(notes))})" if notes else ""))
    return [MethodEstimate("sdid", pool.name, float(fit.estimate), p, rule, len(placebo_estimates), own_sd, w,
                           placebo_se=se, p_value_unstudentised=p_raw)]


def percent(log_points: float | None) -> float | None:
    """``100 (exp(b) - 1)``: a log-point gap as a per-cent difference."""
    return None if log_points is None or not math.isfinite(log_points) else 100 * math.expm1(log_points)


@dataclass(frozen=True)
class EstimateRange:
    """The range of estimates across methods and pools."""

    low: float
    high: float
    low_label: str
    high_label: str
    sign_flips: bool
    n_estimates: int

    @classmethod
    def of(cls, estimates: tuple[MethodEstimate, ...]) -> EstimateRange:
        if not estimates:
            raise EstimationError("no estimate to summarise.")
        lo = min(estimates, key=lambda e: e.estimate)
        hi = max(estimates, key=lambda e: e.estimate)

        def label(e: MethodEstimate) -> str:
            return f"{METHOD_NAMES[e.method]}, {POOLS[e.pool]}"

        return cls(low=lo.estimate, high=hi.estimate, low_label=label(lo), high_label=label(hi),
                   sign_flips=bool(lo.estimate < 0 < hi.estimate), n_estimates=len(estimates))

    def covers(self, value: float) -> bool:
        return self.low - 1e-12 <= value <= self.high + 1e-12


def _top(weights: pd.Series, names: Mapping[Any, str], n: int = 4) -> str:
    top = weights[weights > 1e-6].sort_values(ascending=False, kind="mergesort").head(n)
    return ", ".join(f"{names.get(u, u)} {w:.2f}" for u, w in top.items())


@dataclass(frozen=True)
class Published:
    """The published keys of a run of ``notebooks/synthetic_control.md``.

    Per method and pool: ``<method>_<pool>_estimate`` (log points), ``_percent``, ``_p_value``, ``_p_text``,
    ``_n_placebos``, ``_pre_rmse``; ``None`` for a method that was not computed. No key holds an interval.
    """

    policy_id: str
    region: str
    policy: str
    onset_year: int
    earlier_programmes: str
    n_earlier_programmes: int
    htn_year: int | None
    tecnopoli_year: int | None
    outcome_label: str
    first_year: int
    last_year: int
    n_pre_years: int
    n_post_years: int
    centre_north_rule: str
    centre_north_n_donors: int
    centre_north_donors: str
    centre_north_excluded: str
    eu_similar_rule: str
    eu_similar_n_donors: int
    eu_similar_donors: str
    methods: str
    range_low: float
    range_high: float
    range_low_percent: float | None
    range_high_percent: float | None
    range_low_label: str
    range_high_label: str
    sign_flips: bool
    sign_text: str
    n_estimates: int
    range_methods: str
    did_low: float
    did_high: float
    did_low_percent: float | None
    did_high_percent: float | None
    did_sign_text: str
    sdid_available: bool
    values: dict[str, Any] = not_published(default_factory=dict)
    estimates: pd.DataFrame = not_published(default_factory=pd.DataFrame)
    centre_north_table: pd.DataFrame = not_published(default_factory=pd.DataFrame)
    eu_similar_table: pd.DataFrame = not_published(default_factory=pd.DataFrame)


def _name_map(panel: pd.DataFrame) -> dict[str, str]:
    return {**{c: c for c in panel["nuts2"].unique()}, **ITALIAN_NUTS2}


def method_keys(estimates: tuple[MethodEstimate, ...]) -> dict[str, Any]:
    """``<method>_<pool>_<quantity>`` for every method and pool (``None`` where not computed)."""
    out: dict[str, Any] = {}
    for method in METHOD_NAMES:
        for pool in POOLS:
            e = next((x for x in estimates if x.method == method and x.pool == pool), None)
            key = f"{method}_{pool}"
            out[f"{key}_estimate"] = e.estimate if e else None
            out[f"{key}_percent"] = percent(e.estimate) if e else None
            out[f"{key}_p_value"] = e.p_value if e else None
            out[f"{key}_p_text"] = p_text(e.p_value) if e else "not computed"
            out[f"{key}_n_placebos"] = e.n_placebos if e else None
            out[f"{key}_smallest_possible_p"] = 1 / (e.n_placebos + 1) if e and e.n_placebos else None
            out[f"{key}_pre_rmse"] = e.pre_rmse if e else None
            out[f"{key}_verdict"] = (placebo_verdict(e.p_value, 1 / (e.n_placebos + 1) if e.n_placebos else None)
                                     if e else "not computed")
    return out


def published(a: Analysis) -> Published:
    """Published keys and exhibit tables of :func:`analyse`."""
    on, names = a.onset, _name_map(a.panel)
    earlier = earlier_programmes(on.nuts2, on.year)
    earlier_rows: list[Any] = list(earlier.itertuples())
    years = sorted(int(y) for y in a.panel["year"].unique())

    def first_year_of(pattern: str) -> int | None:
        hit = earlier[earlier["policy_id"].str.contains(pattern)]
        return int(hit["start_year"].iloc[0]) if not hit.empty else None

    rng = EstimateRange.of(tuple(e for e in a.estimates if e.method in RANGE_METHODS))
    did = EstimateRange.of(tuple(e for e in a.estimates if e.method == "did"))
    cn, eu = a.pools["centre_north"], a.pools["eu_similar"]
    excl = cn.table[~cn.table["donor"]]
    table = pd.DataFrame([{
        "method": METHOD_NAMES[e.method], "pool": POOL_SHORT[e.pool], "estimate": e.estimate,
        "percent": percent(e.estimate), "placebo p-value": e.p_value, "placebos": e.n_placebos,
        "pre-period RMSE": e.pre_rmse,
        "placebo p (unstudentised)": e.p_value_unstudentised, "placebo SE (synthetic DiD)": e.placebo_se, "largest weights": _top(e.weights, names), "p-value rule": e.p_rule}
        for e in a.estimates])
    return Published(
        policy_id=on.policy_id, region=ITALIAN_NUTS2.get(on.nuts2, on.region), policy=on.policy,
        onset_year=on.year,
        earlier_programmes="; ".join(f"{r.policy} (from {int(r.start_year)})" for r in earlier_rows),
        n_earlier_programmes=len(earlier), htn_year=first_year_of("htn"), tecnopoli_year=first_year_of("tecnopoli"),
        outcome_label="Business R&D personnel (log, minus the region's pre-onset mean)",
        first_year=years[0], last_year=years[-1], n_pre_years=sum(y < on.year for y in years),
        n_post_years=sum(y >= on.year for y in years),
        centre_north_rule=cn.rule, centre_north_n_donors=len(cn.donors),
        centre_north_donors=", ".join(names.get(c, c) for c in cn.donors),
        centre_north_excluded="; ".join(f"{r.region} ({r.reason})" for r in excl.itertuples()),
        eu_similar_rule=eu.rule, eu_similar_n_donors=len(eu.donors), eu_similar_donors=", ".join(eu.donors),
        methods=", ".join(dict.fromkeys(METHOD_NAMES[e.method] for e in a.estimates)),
        range_low=rng.low, range_high=rng.high, range_low_percent=percent(rng.low),
        range_high_percent=percent(rng.high), range_low_label=rng.low_label, range_high_label=rng.high_label,
        sign_flips=rng.sign_flips,
        sign_text=("the sign flips: some synthetic-control or synthetic-DiD estimates put the region above its "
                   "counterfactual, others below" if rng.sign_flips else
                   "every synthetic-control and synthetic-DiD estimate puts the region "
                   + ("above" if rng.low > 0 else "below") + " its counterfactual"),
        n_estimates=rng.n_estimates, range_methods=" and ".join(METHOD_NAMES[m] for m in RANGE_METHODS),
        did_low=did.low, did_high=did.high, did_low_percent=percent(did.low), did_high_percent=percent(did.high),
        did_sign_text=("the sign differs between the pools" if did.sign_flips else
                       "both pools put the region " + ("above" if did.low > 0 else "below")
                       + " its equal-weight comparison"),
        sdid_available=any(e.method == "sdid" for e in a.estimates),
        values=method_keys(a.estimates), estimates=table,
        centre_north_table=cn.table, eu_similar_table=eu.table,
    )


def placebo_gaps(a: Analysis, pool: str) -> pd.DataFrame:
    """Gap paths ``unit, time, gap`` of the synthetic control on ``pool``: the treated region and each donor fitted
    on the other donors (one remaining donor is its own synthetic control)."""
    res, donors = a.sc[pool], list(a.pools[pool].donors)
    frames = [res.path.assign(unit=res.treated_unit)[["unit", "time", "gap"]]]
    wide = a.panel.pivot(index="year", columns="nuts2", values="y")
    for j in donors:
        others = [u for u in donors if u != j]
        if len(others) == 1:
            gap = wide[j] - wide[others[0]]
            frames.append(pd.DataFrame({"unit": j, "time": wide.index, "gap": gap.to_numpy()}))
            continue
        pr = synthetic_control(a.panel, unit="nuts2", time="year", outcome="y", treated_unit=j,
                               treatment_time=a.onset.year, donors=others, placebo=False)
        frames.append(pr.path.assign(unit=j)[["unit", "time", "gap"]])
    return pd.concat(frames, ignore_index=True)


__all__ = ["QUIET_YEARS", "RANGE_METHODS", "Analysis", "DonorPool", "EstimateRange", "MethodEstimate", "Published",
           "analyse", "centre_north_pool",
           "eu_similar_pool", "method_keys", "placebo_gaps", "published", "synth_panel"]
