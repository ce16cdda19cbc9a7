"""Seeded synthetic panels with a known, documented true effect, used to validate every estimator.

Everything produced here is **simulated**; frames carry ``attrs["simulated"] = True`` and figures and tables made
from them must say so. Two generators:

* :func:`simulate_region_panel`: a region x year panel (continuous and count outcome);
* :func:`simulate_firm_panel`: a firm x year panel of firm-institute collaboration counts, firms nested in
  Italian NUTS 2 regions, staggered cluster membership by region following the shape of the real policy calendar;
  :func:`write_simulation` writes it with its truth and a JSON sidecar (what ``clusterpolicy simulate`` does).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from clusterpolicy.fsutil import atomic_write_text


@dataclass(frozen=True)
class SimulatedPanel:
    """A simulated panel and its truth.

    Attributes
    ----------
    data
        One row per unit and period.
    truth
        The true ATT(g,t) for every treated cohort ``group`` and period ``time``, with ``event_time = time - group``
        and the count outcome's true log rate ratio ``log_rr``.
    """

    data: pd.DataFrame
    truth: pd.DataFrame

    def true_att(self) -> float:
        """True simple ATT: the average of the unit-level effects over treated post-onset observations."""
        post = self.data[(self.data["cohort"] > 0) & (self.data["year"] >= self.data["cohort"])]
        merged = post.merge(self.truth, left_on=["cohort", "year"], right_on=["group", "time"])
        return float(merged["att"].mean())

    def true_event_study(self) -> pd.DataFrame:
        """True average effect by event time, weighting cohorts by their number of units (as CS aggregation)."""
        post = self.data[(self.data["cohort"] > 0)]
        merged = post.merge(self.truth, left_on=["cohort", "year"], right_on=["group", "time"])
        out: Any = merged.groupby("event_time", as_index=False)["att"].mean()  # a DataFrame (as_index=False)
        return out


def true_effect(event_time: np.ndarray, cohort_scale: np.ndarray, effect: float, dynamic: float) -> np.ndarray:
    """The true effect of the simulated policy.

    ``tau(g, e) = effect * cohort_scale[g] * (1 + dynamic * e)`` for event time ``e >= 0`` and 0 before onset:
    the effect starts at ``effect`` (times the cohort's scale) in the onset year and grows by ``dynamic * effect``
    a year. No anticipation.
    """
    e = np.asarray(event_time, dtype=float)
    return np.where(e >= 0, effect * cohort_scale * (1.0 + dynamic * e), 0.0)


def simulate_region_panel(
    *,
    n_regions: int = 40,
    first_year: int = 2005,
    last_year: int = 2020,
    cohorts: tuple[int, ...] = (2009, 2012, 2014, 2017),
    treated_share: float = 0.5,
    effect: float = 0.10,
    dynamic: float = 0.10,
    heterogeneity: float = 0.5,
    noise_sd: float = 0.05,
    base_count: float = 20.0,
    seed: int = 2024,
) -> SimulatedPanel:
    """Simulate a region x year panel with staggered policy adoption and a known effect.

    Model (continuous outcome ``y``, e.g. log R&D personnel)::

        y_it = a_i + b_t + c_i * (t - first_year) / 50 + tau(g_i, t - g_i) + eps_it

    with region effects ``a_i ~ N(0, 1)``, a common trend ``b_t`` (random walk), small region trends ``c_i`` and
    ``eps_it ~ N(0, noise_sd^2)``. Parallel trends hold in expectation. The count outcome ``collaborations`` is
    ``Poisson(base_count * exp(a_i / 2 + b_t + tau))``, so ``tau`` is its log rate ratio.

    The true effect ``tau`` is documented in :func:`true_effect`; cohort ``g`` (the first treated year) gets scale
    ``1 + heterogeneity * (k - (K - 1) / 2) / K`` for the ``k``-th of ``K`` cohorts (earlier cohorts smaller when
    ``heterogeneity > 0``), which makes two-way fixed effects biased while Callaway-Sant'Anna is not.

    Parameters
    ----------
    n_regions
        Number of regions.
    first_year, last_year
        Panel years (inclusive).
    cohorts
        Possible onset years; treated regions are spread evenly over them.
    treated_share
        Share of regions ever treated (the rest are never treated, ``cohort = 0``).
    effect, dynamic, heterogeneity
        Parameters of the true effect (see :func:`true_effect`).
    noise_sd
        Idiosyncratic noise of ``y``.
    base_count
        Mean yearly count of collaborations of an average untreated region.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same panel.

    Returns
    -------
    SimulatedPanel
        ``data`` with columns ``region, year, cohort, post, y, collaborations, x`` and ``truth`` with the true
        ATT(g,t).
    """
    if not 0 < treated_share <= 1:
        raise ValueError("treated_share must be in (0, 1]")
    if any(not first_year < g <= last_year for g in cohorts):
        raise ValueError(f"every cohort must lie in ({first_year}, {last_year}]")
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    regions = np.array([f"R{i:02d}" for i in range(1, n_regions + 1)])
    n_treated = int(round(treated_share * n_regions))
    cohort_of = np.zeros(n_regions, dtype=int)
    treated_idx = rng.permutation(n_regions)[:n_treated]
    cohort_of[np.sort(treated_idx)] = np.resize(np.array(cohorts, dtype=int), n_treated)
    k = len(cohorts)
    scales = {g: 1.0 + heterogeneity * (i - (k - 1) / 2) / k for i, g in enumerate(sorted(cohorts))}

    a = rng.normal(0.0, 1.0, n_regions)
    c = rng.normal(0.0, 1.0, n_regions)
    b = np.cumsum(rng.normal(0.02, 0.03, years.size))
    x = rng.normal(0.0, 1.0, n_regions)

    unit = np.repeat(np.arange(n_regions), years.size)
    year = np.tile(years, n_regions)
    cohort = cohort_of[unit]
    event_time = np.where(cohort > 0, year - cohort, -1)
    scale = np.array([scales.get(g, 0.0) for g in cohort])
    tau = np.where(cohort > 0, true_effect(event_time, scale, effect, dynamic), 0.0)
    t_index = year - first_year
    y = a[unit] + b[t_index] + c[unit] * t_index / 50 + tau + rng.normal(0.0, noise_sd, unit.size)
    mu = base_count * np.exp(a[unit] / 2 + b[t_index] + tau)
    counts = rng.poisson(mu)

    data = pd.DataFrame({
        "region": regions[unit],
        "year": year,
        "cohort": cohort,
        "post": ((cohort > 0) & (year >= cohort)).astype(int),
        "y": y,
        "collaborations": counts,
        "x": x[unit],
    })
    truth_rows = []
    for g in sorted(set(cohort_of[cohort_of > 0])):
        for t in years:
            e = t - g
            att = float(true_effect(np.array([e]), np.array([scales[g]]), effect, dynamic)[0])
            truth_rows.append({"group": int(g), "time": int(t), "event_time": int(e), "att": att, "log_rr": att})
    truth = pd.DataFrame(truth_rows, columns=["group", "time", "event_time", "att", "log_rr"])
    data.attrs["simulated"] = True
    truth.attrs["simulated"] = True
    return SimulatedPanel(data=data, truth=truth)


# ==============================================================================================================
# Firm-level generator


#: Regions of the firm-level simulation, in the order they are used (``n_regions`` takes the first ones):
#: NUTS 2016 code, name and the simulated cohort (first year of cluster membership, 0 = never treated). The
#: treated cohorts follow the proposed onset years of the research dossier's policy calendar (Piemonte 2009,
#: Toscana/Umbria/Abruzzo 2011, Trento 2013, Lombardia 2014, FVG 2015, Veneto 2016, Emilia-Romagna 2017); the
#: order alternates treated and never-treated regions so that any prefix has both. In the simulation the other
#: regions are never treated: this is a feature of the **simulated** design, not a claim about those regions.
REGION_CALENDAR: tuple[tuple[str, str, int], ...] = (
    ("ITC1", "Piemonte", 2009),
    ("ITC3", "Liguria", 0),
    ("ITI1", "Toscana", 2011),
    ("ITI4", "Lazio", 0),
    ("ITC4", "Lombardia", 2014),
    ("ITF3", "Campania", 0),
    ("ITH4", "Friuli-Venezia Giulia", 2015),
    ("ITG1", "Sicilia", 0),
    ("ITH3", "Veneto", 2016),
    ("ITI3", "Marche", 0),
    ("ITH5", "Emilia-Romagna", 2017),
    ("ITF4", "Puglia", 0),
    ("ITI2", "Umbria", 2011),
    ("ITF5", "Basilicata", 0),
    ("ITF1", "Abruzzo", 2011),
    ("ITG2", "Sardegna", 0),
    ("ITH2", "Provincia Autonoma di Trento", 2013),
    ("ITF2", "Molise", 0),
    ("ITC2", "Valle d'Aosta", 0),
    ("ITF6", "Calabria", 0),
    ("ITH1", "Provincia Autonoma di Bolzano", 0),
)

Family = Literal["poisson", "negbin"]
FAMILIES: tuple[str, ...] = ("poisson", "negbin")
#: Fixed float format of the written CSV files (determinism: same seed -> same bytes).
FLOAT_FORMAT = "%.10g"


@dataclass(frozen=True)
class SimulatedFirmPanel(SimulatedPanel):
    """A simulated firm panel, its truth and the parameters that produced it.

    Attributes
    ----------
    data
        One row per firm and year: ``firm_id, region, year, cohort, post, n_institutes, employees,
        collaborations`` (plus ``mu0, y0`` when simulated with ``potential_outcomes=True``).
    truth
        One row per treated cohort ``group`` and year ``time``: ``event_time``, the true log rate ratio
        ``log_rr``, ``rate_ratio = exp(log_rr)``, the level effect ``att`` (expected extra collaborations per firm
        and year), the expected untreated mean ``mean_y0`` and the number of firms ``n_firms``.
    params
        The generator's arguments (JSON-serialisable).
    """

    params: dict[str, Any] = field(default_factory=dict)


def cohort_scale(cohort: int, cohorts: tuple[int, ...], heterogeneity: float) -> float:
    """Scale ``s_g`` of cohort ``g``'s effect: ``1 + heterogeneity * (g_mid - g) / (g_max - g_min)``.

    ``g_mid`` is the midpoint of the earliest and latest cohorts, so with ``heterogeneity > 0`` earlier cohorts
    gain more (older, more mature cluster organisations) and the scales average about 1. A single cohort has
    scale 1.
    """
    lo, hi = min(cohorts), max(cohorts)
    if hi == lo:
        return 1.0
    return 1.0 + heterogeneity * ((lo + hi) / 2 - cohort) / (hi - lo)


def firm_true_log_rr(event_time: np.ndarray, scale: np.ndarray | float, effect: float, ramp: int) -> np.ndarray:
    """True log rate ratio ``tau(g, e) = effect * s_g * min(1, (e + 1) / ramp)`` for ``e >= 0``, else 0.

    The effect builds up linearly over the first ``ramp`` years of membership and then stays at
    ``effect * s_g``; there is no anticipation (``tau = 0`` before onset).
    """
    e = np.asarray(event_time, dtype=float)
    return np.where(e >= 0, effect * np.asarray(scale, dtype=float) * np.minimum(1.0, (e + 1.0) / ramp), 0.0)


def simulate_firm_panel(
    *,
    n_firms: int = 2000,
    n_regions: int = 21,
    family: Family = "negbin",
    first_year: int = 2005,
    last_year: int = 2020,
    effect: float = 0.20,
    heterogeneity: float = 0.5,
    ramp: int = 3,
    base_rate: float = 0.5,
    dispersion: float = 0.5,
    firm_sd: float = 0.6,
    region_sd: float = 0.2,
    selection: float = 0.15,
    institute_elasticity: float = 0.3,
    seed: int = 2024,
    potential_outcomes: bool = False,
) -> SimulatedFirmPanel:
    r"""Simulate yearly counts of firm-institute collaborations with staggered regional cluster policies.

    **SIMULATED data.** Firms ``i`` are nested in regions ``r(i)`` (Italian NUTS 2 codes from
    :data:`REGION_CALENDAR`); region ``r`` joins the cluster policy in year ``g_r`` (its cohort; 0 = never).

    Data-generating process (untreated rate ``mu0`` and observed count ``Y``):

    .. math::

        \log \mu^0_{it} = \log(\text{base\_rate}) + \alpha_i + \rho_{r} + \beta \log K_{r} + \gamma_t

        \mu_{it} = \mu^0_{it} \exp\{\tau(g_r, t - g_r)\, D_{it}\}, \qquad D_{it} = 1[g_r > 0,\ t \ge g_r]

        Y_{it} \sim \text{Poisson}(\mu_{it}) \quad\text{or}\quad
        Y_{it} \sim \text{Poisson}(\mu_{it} \nu_{it}),\ \nu_{it} \sim \text{Gamma}(1/\phi, \phi)

    with

    * firm effect ``alpha_i = 0.3 (log E_i - log 20) + N(0, firm_sd^2)``, employees
      ``E_i = max(1, round(exp(N(log 20, 1))))``;
    * region effect ``rho_r = N(0, region_sd^2) + selection * 1[g_r > 0]``: treated regions collaborate more *in
      level* (selection on levels, absorbed by firm fixed effects; trends stay parallel);
    * ``K_r = 1 + Poisson(4 R w_r)`` knowledge institutes (universities, research centres) in region ``r``,
      ``w_r`` the region's share of firms, elasticity ``beta = institute_elasticity``;
    * year effects ``gamma_t``: a random walk with drift 0.03 and sd 0.05, ``gamma_{first_year} = 0``;
    * negative binomial (NB2) with ``Var(Y | mu) = mu + phi mu^2``, ``phi = dispersion``.

    **True effect** (heterogeneous by cohort, dynamic in event time ``e = t - g``, no anticipation):

    .. math::

        \tau(g, e) = \text{effect} \cdot s_g \cdot \min\{1, (e + 1) / \text{ramp}\}\ (e \ge 0),
        \qquad \tau(g, e) = 0\ (e < 0)

    with ``s_g`` from :func:`cohort_scale`. ``tau`` is the log rate ratio: ``E[Y(1)] / E[Y(0)] = exp(tau)`` for
    every firm in cohort ``g`` in year ``t``. The level ATT is

    .. math::

        ATT(g, t) = \frac{1}{N_g} \sum_{i: g_{r(i)} = g} \mu^0_{it} (e^{\tau(g, t - g)} - 1),

    the expected number of extra collaborations per treated firm and year, conditional on the simulated firm,
    region and year effects (the sample's ATT in expectation over the count noise). Both are in ``truth``.

    Parameters
    ----------
    n_firms
        Number of firms (at least ``n_regions``; every region gets one firm, the rest by region weight).
    n_regions
        Number of regions, 2 to 21 (the first ``n_regions`` of :data:`REGION_CALENDAR`).
    family
        ``"poisson"`` or ``"negbin"`` (negative binomial NB2).
    first_year, last_year
        Panel years, inclusive. Cohorts outside ``(first_year, last_year]`` are coded never treated.
    effect, heterogeneity, ramp
        The true effect (see above): long-run log rate ratio of an average cohort, cohort spread, build-up years.
    base_rate
        Untreated yearly collaborations of a median firm in the first year (before region effects).
    dispersion
        NB2 dispersion ``phi`` (ignored for Poisson).
    firm_sd, region_sd, selection, institute_elasticity
        Spread of firm and region effects, level advantage of treated regions, elasticity to institutes.
    seed
        Seed of :func:`numpy.random.default_rng`; the same arguments give the same panel.
    potential_outcomes
        Also return ``mu0`` (the untreated expected count) and ``y0`` (a draw of the untreated count from an
        independent stream) for checking the truth; never written by :func:`write_simulation`.

    Returns
    -------
    SimulatedFirmPanel

    Examples
    --------
    >>> sim = simulate_firm_panel(n_firms=300, n_regions=6, seed=1)
    >>> sorted(sim.data["cohort"].unique().tolist())
    [0, 2009, 2011, 2014]
    >>> bool((sim.truth.loc[sim.truth["event_time"] < 0, "att"] == 0).all())
    True
    """
    _check_firm_args(n_firms=n_firms, n_regions=n_regions, family=family, first_year=first_year,
                     last_year=last_year, ramp=ramp, base_rate=base_rate, dispersion=dispersion)
    params = {k: v for k, v in locals().items() if k not in {"potential_outcomes"}}
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    calendar = REGION_CALENDAR[:n_regions]
    codes = np.array([c for c, _, _ in calendar])
    region_cohort = np.array([g if first_year < g <= last_year else 0 for _, _, g in calendar], dtype=int)
    cohorts = tuple(sorted(set(region_cohort[region_cohort > 0].tolist())))

    # Regions: size weights, firms per region (at least one each), institutes, effects.
    weights = np.exp(rng.normal(0.0, 0.5, n_regions))
    weights /= weights.sum()
    firms_per_region = 1 + rng.multinomial(n_firms - n_regions, weights)
    institutes = 1 + rng.poisson(4.0 * n_regions * weights)
    rho = rng.normal(0.0, region_sd, n_regions) + selection * (region_cohort > 0)
    gamma = np.concatenate([[0.0], np.cumsum(rng.normal(0.03, 0.05, years.size - 1))])

    # Firms.
    firm_region = np.repeat(np.arange(n_regions), firms_per_region)
    employees = np.maximum(1, np.round(np.exp(rng.normal(math.log(20), 1.0, n_firms)))).astype(int)
    alpha = 0.3 * (np.log(employees) - math.log(20)) + rng.normal(0.0, firm_sd, n_firms)

    # Firm-years.
    firm = np.repeat(np.arange(n_firms), years.size)
    year = np.tile(years, n_firms)
    region = firm_region[firm]
    cohort = region_cohort[region]
    event_time = year - cohort
    treated_now = (cohort > 0) & (event_time >= 0)
    scales = np.array([cohort_scale(g, cohorts, heterogeneity) if g > 0 else 0.0 for g in region_cohort])
    tau = np.where(treated_now, firm_true_log_rr(event_time, scales[region], effect, ramp), 0.0)
    log_mu0 = (math.log(base_rate) + alpha[firm] + rho[region] + institute_elasticity * np.log(institutes[region])
               + gamma[year - first_year])
    mu0 = np.exp(log_mu0)
    y = _draw_counts(rng, mu0 * np.exp(tau), family, dispersion)

    width = len(str(n_firms))
    data = pd.DataFrame({
        "firm_id": np.array([f"F{i:0{width}d}" for i in range(1, n_firms + 1)])[firm],
        "region": codes[region],
        "year": year,
        "cohort": cohort,
        "post": treated_now.astype(int),
        "n_institutes": institutes[region],
        "employees": employees[firm],
        "collaborations": y,
    })
    if potential_outcomes:
        # An independent stream, so that asking for potential outcomes does not change the observed data.
        y0 = _draw_counts(np.random.default_rng([seed, 1]), mu0, family, dispersion)
        data["mu0"] = mu0
        data["y0"] = y0
    truth = _firm_truth(cohort, year, mu0, years, cohorts, heterogeneity, effect, ramp)
    data.attrs["simulated"] = True
    truth.attrs["simulated"] = True
    return SimulatedFirmPanel(data=data, truth=truth, params=params)


def _check_firm_args(*, n_firms: int, n_regions: int, family: str, first_year: int, last_year: int, ramp: int,
                     base_rate: float, dispersion: float) -> None:
    from clusterpolicy.errors import UserInputError

    if not 2 <= n_regions <= len(REGION_CALENDAR):
        raise UserInputError(f"regions={n_regions} is not allowed; use 2 to {len(REGION_CALENDAR)} (Italian NUTS 2 "
                             "regions of the simulated policy calendar).")
    if n_firms < n_regions:
        raise UserInputError(f"firms={n_firms} is fewer than regions={n_regions}; every region needs a firm: raise "
                             "the number of firms.")
    if family not in FAMILIES:
        raise UserInputError(f"family={family!r} is not allowed; use 'poisson' or 'negbin'.")
    if last_year - first_year < 1:
        raise UserInputError(f"years {first_year}-{last_year}: a panel needs at least two years.")
    if ramp < 1:
        raise UserInputError(f"ramp={ramp} is not allowed; use a whole number of years >= 1.")
    if not base_rate > 0 or not dispersion > 0:
        raise UserInputError("base_rate and dispersion must be > 0.")


def _draw_counts(rng: np.random.Generator, mu: np.ndarray, family: str, dispersion: float) -> np.ndarray:
    if family == "negbin":
        # NB2 as a Poisson-Gamma mixture: E[nu] = 1, Var[nu] = dispersion -> Var(Y) = mu + dispersion * mu^2.
        mu = mu * rng.gamma(1.0 / dispersion, dispersion, mu.size)
    return rng.poisson(mu).astype(np.int64)


def _firm_truth(cohort: np.ndarray, year: np.ndarray, mu0: np.ndarray, years: np.ndarray, cohorts: tuple[int, ...],
                heterogeneity: float, effect: float, ramp: int) -> pd.DataFrame:
    frame = pd.DataFrame({"group": cohort, "time": year, "mu0": mu0})
    frame = frame[frame["group"] > 0]
    cells = frame.groupby(["group", "time"], sort=True)["mu0"].agg(["mean", "size"]).reset_index()
    scale = np.array([cohort_scale(int(g), cohorts, heterogeneity) for g in cells["group"]])
    event_time = (cells["time"] - cells["group"]).to_numpy()
    log_rr = firm_true_log_rr(event_time, scale, effect, ramp)
    truth = pd.DataFrame({
        "group": cells["group"].astype("int64"),
        "time": cells["time"].astype("int64"),
        "event_time": event_time.astype("int64"),
        "att": cells["mean"].to_numpy() * np.expm1(log_rr),
        "log_rr": log_rr,
        "rate_ratio": np.exp(log_rr),
        "mean_y0": cells["mean"].to_numpy(),
        "n_firms": cells["size"].astype("int64"),
    })
    assert set(truth["time"]) <= set(years.tolist())
    return truth


def simulation_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """Where :func:`write_simulation` writes: ``X.csv``, ``X.truth.csv`` and the sidecar ``X.meta.json``."""
    out = Path(out)
    stem = out.name[: -len(".csv")] if out.name.lower().endswith(".csv") else out.name
    return {"data": out, "truth": out.with_name(f"{stem}.truth.csv"), "meta": out.with_name(f"{stem}.meta.json")}


def write_simulation(sim: SimulatedFirmPanel, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write a simulated firm panel, its truth and a JSON sidecar, each atomically.

    The CSV files carry no comment lines (CSV has none); that they are **simulated** is stated in the sidecar
    (``"simulated": true``) and should be in the file name. Same panel -> byte-identical files.

    Returns
    -------
    dict
        ``{"data": path, "truth": path, "meta": path}``.
    """
    from clusterpolicy import __version__

    paths = simulation_paths(out)
    data = sim.data.drop(columns=[c for c in ("mu0", "y0") if c in sim.data.columns])
    truth = sim.truth
    post = data[data["post"] == 1].merge(truth, left_on=["cohort", "year"], right_on=["group", "time"])
    meta = {
        "simulated": True,
        "note": "SIMULATED data from clusterpolicy's firm-level generator; not observations of real firms.",
        "generator": "clusterpolicy.data.synthetic.simulate_firm_panel",
        "clusterpolicy_version": __version__,
        "parameters": sim.params,
        "files": {"data": paths["data"].name, "truth": paths["truth"].name},
        "panel_roles": {"unit": "firm_id", "time": "year", "cohort": "cohort", "outcome": "collaborations",
                        "cluster": "region", "count": True},
        "true_effect": {
            "log_rr": "tau(g,e) = effect * s_g * min(1, (e+1)/ramp) for e >= 0, else 0; "
                      "s_g = 1 + heterogeneity * ((g_min+g_max)/2 - g) / (g_max - g_min)",
            "att": "mean over cohort-g firms of mu0_it * (exp(tau) - 1), extra collaborations per firm-year",
            "simple_att": round(float(post["att"].mean()), 10),
            "simple_log_rr": round(float(post["log_rr"].mean()), 10),
        },
        "regions": [{"code": c, "name": n, "cohort": int(data.loc[data["region"] == c, "cohort"].iloc[0])}
                    for c, n, _ in REGION_CALENDAR[: sim.params["n_regions"]]],
    }
    atomic_write_text(paths["data"], data.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT))
    atomic_write_text(paths["truth"], truth.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT))
    atomic_write_text(paths["meta"], json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return paths


