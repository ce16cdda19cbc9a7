"""ClusteriX 2.0: could its collaboration target be detected? (template ``notebooks/clusterix.md``).

ClusteriX 2.0 aimed to raise firm-knowledge-institute collaborations in its partner **regions** by a fixed
percentage (``data/policy/programmes.csv``). The study asks what effect the closest public measure, Horizon 2020
projects joining a firm and a university or research centre, could have revealed, at two levels:

* **countries** (:func:`country_power`): the partner countries' national counts, a two-way fixed-effects
  difference-in-differences on log counts, power simulated by block-resampling the real country panel
  (:func:`clusterpolicy.estimate.power.simulate_power`). A regional rise is diluted at this level.
* **regions** (:func:`regional_power`): the Italian NUTS2 panel, where the one Italian partner region (from
  :func:`clusterpolicy.data.policy.interreg_exposure`) is compared with the other Italian regions, for the
  any-partner and the intraregional (firm and institute of the same region) counts.

Rules (each one a parameter of :func:`clusterix_study`, set in ``notebooks/runs.yaml``):

* window 2015-2020: 2014 holds only the first H2020 projects (a few dozen in Italy) and 2021 is incomplete;
* the partner set is the ``clusterix2`` rows of :func:`~clusterpolicy.data.policy.interreg_exposure`;
* the first project start year the programme could move is ``onset_year`` (projects are proposed about a year
  before they start);
* an effect is a proportional rise (``delta`` a log ratio, ``exp(delta) - 1`` per cent), tested two-sided at 5 %
  with 80 % power;
* at the regional level the proportional effect is estimated as a TWFE difference-in-differences on log counts over
  the regions with a project in every year. Poisson fixed effects, the natural count model, were tried and fail
  here: the intraregional counts separate (zero years), and resampling *level* residuals from regions with
  hundreds of projects onto one with ten (what ``simulate_power(scale="multiplicative")`` does) makes the treated
  region's simulated noise unrealistically large. Log residuals are proportional and closer to exchangeable;
* an outcome whose count in the treated region has a zero year (the intraregional count) gets only the
  single-unit Poisson bound: a proportional rise of nothing is nothing.

With a single treated region the conventional cluster-robust test is not valid (the treated cluster's own score
is zero, so its noise never enters the standard error) and over-rejects (the simulated size at zero effect shows by
how much), so the effect at which it rejects 80 % of the time is no MDE. The regional MDE reported is therefore the
size-corrected one, ``(z_{1-alpha/2} + z_power)`` times the simulated spread of the estimates under no effect: what
a test knowing the estimator's true spread would detect, a lower bound for any valid test. The package's
rule for one treated unit is the placebo-in-space test (:func:`clusterpolicy.estimate.few_treated.placebo_in_space`):
the treated region's estimate is ranked among the estimates obtained by moving the policy to every control region.
Its power is computed here from the real panel's placebo estimates (:func:`placebo_power`): the treated region's
noise is drawn from the placebo estimates (exchangeability) and the test rejects at level ``alpha`` only if
``(1 + #{j : |b_j| >= |b + delta|}) / (J + 1) <= alpha``. With ``J`` placebos the smallest attainable p-value is
``1 / (J + 1)``; when that exceeds ``alpha`` no effect of any size can be declared significant.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: stats.norm.ppf calls special.ndtri, without stats' half-second import.
from scipy import special

from clusterpolicy.data.policy import interreg_exposure
from clusterpolicy.errors import ClusterPolicyWarning, UserInputError
from clusterpolicy.estimate.api import BoundEstimate
from clusterpolicy.estimate.few_treated import placebo_in_space
from clusterpolicy.estimate.power import PowerResult, simulate_power
from clusterpolicy.report.glue import not_published
from clusterpolicy.study.alpine import resolve_code

logger = logging.getLogger(__name__)

#: Outcome columns of ``h2020_italy_nuts2.csv`` analysed at the regional level: key -> (column, label).
REGIONAL_OUTCOMES: dict[str, tuple[str, str]] = {
    "any": ("coparticipation_projects", "any partner (firm or institute in the region, the other anywhere)"),
    "intraregional": ("coparticipation_projects_intraregional", "firm and institute of the same region"),
}

PROGRAMME = "clusterix2"


# ----------------------------------------------------------------------------------------------------------------
# Partners
# ----------------------------------------------------------------------------------------------------------------
def clusterix_partners(exposure: pd.DataFrame | None = None) -> pd.DataFrame:
    """ClusteriX 2.0 partner regions: the ``clusterix2`` rows of :func:`interreg_exposure` (``nuts2, country,
    programme, start, end``)."""
    exp = interreg_exposure() if exposure is None else exposure
    part = exp[exp["programme"] == PROGRAMME].reset_index(drop=True)
    if part.empty:
        raise UserInputError("interreg_exposure() has no 'clusterix2' rows; check data/policy.")
    return part


# ----------------------------------------------------------------------------------------------------------------
# Country panel and per-partner arithmetic
# ----------------------------------------------------------------------------------------------------------------
def country_panel(countries: pd.DataFrame, *, groups: Sequence[str] = ("eu15", "eu13"), first_year: int,
                  last_year: int, treated: Mapping[str, int]) -> pd.DataFrame:
    """Country x year H2020 panel with a ``cohort`` column (first treated year; 0 = never) for power analysis.

    Keeps the countries of ``groups`` plus any treated country, only complete start years in the window.
    """
    unknown = sorted(set(treated) - set(countries["country"]))
    if unknown:
        raise UserInputError(f"treated countries {unknown} are not in h2020_country_year.csv; use CORDIS country "
                             "codes (EL = Greece, UK).")
    d = countries[(countries["year"] >= first_year) & (countries["year"] <= last_year)
                  & (countries["year_complete"] == 1)]
    d = d[d["country_group"].isin(groups) | d["country"].isin(list(treated))]
    return d.assign(cohort=d["country"].map(dict(treated)).fillna(0).astype(int)).reset_index(drop=True)


def national_share(rd: pd.DataFrame, code: str, *, column: str = "rd_personnel_total_fte",
                   years: Sequence[int] = ()) -> tuple[float, int | None]:
    """Share of a region (NUTS1 or NUTS2 code) in its country's total of ``column``, and the year used.

    Uses the latest year (among ``years`` if given) in which every NUTS2 region under ``code`` has the value; the
    denominator is the sum over the country's regions reported that year (NUTS revisions mean a country's rows
    change code over time, e.g. HU10 -> HU11/HU12). ``(nan, None)`` if the region is never observed. A proxy for
    how much of a country's activity a partner region holds, to translate a regional effect into a national one.
    """
    code = resolve_code(rd, code)
    country = rd[(rd["country"] == code[:2])].dropna(subset=[column])
    if years:
        country = country[country["year"].isin(list(years))]
    members_all = set(rd.loc[rd["nuts2"].str.startswith(code), "nuts2"])
    best: Any = None  # a year of the panel
    for year, part in country.groupby("year"):
        if members_all and members_all <= set(part["nuts2"]):
            best = year
    if best is None:
        return float("nan"), None
    part = country[country["year"] == best]
    share = part.loc[part["nuts2"].str.startswith(code), column].sum() / part[column].sum()
    return float(share), int(best)


def yoy_log_sd(values: Sequence[float] | pd.Series) -> float:
    """Standard deviation of year-on-year log changes (ddof=1): the typical proportional year-to-year swing.

    NaN if fewer than three positive values (two changes are needed for a standard deviation).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size < 3:
        return float("nan")
    return float(np.std(np.diff(np.log(v)), ddof=1))


def poisson_mde_single_unit(mean_count: float, *, n_pre: int, n_post: int, alpha: float = 0.05,
                            power: float = 0.8) -> float:
    """Smallest proportional rise in a single unit's yearly count detectable by a before/after comparison when
    the only noise is Poisson noise (a lower bound on any real design's MDE).

    With ``n_pre`` years before and ``n_post`` after at mean ``mean_count`` per year, the log ratio of the
    post to the pre mean has standard error about ``sqrt(1/(mean n_pre) + 1/(mean n_post))`` (delta method), and
    the MDE on the log scale is ``(z_{1-alpha/2} + z_power)`` times that (Bloom, 1995). Returned as a proportion
    (``exp(mde_log) - 1``; 0.05 = +5 %). Real series have extra-Poisson year-to-year swings and need a control
    group, so the true MDE is larger.
    """
    if mean_count <= 0 or n_pre < 1 or n_post < 1:
        raise UserInputError(f"poisson_mde_single_unit needs mean_count > 0 and at least one year on each side; got "
                             f"mean_count={mean_count}, n_pre={n_pre}, n_post={n_post}.")
    se = math.sqrt(1.0 / (mean_count * n_pre) + 1.0 / (mean_count * n_post))
    z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))
    return math.expm1(z * se)


def partner_table(partners: pd.DataFrame, *, countries: pd.DataFrame, italy: pd.DataFrame, rd: pd.DataFrame,
                  names: Mapping[str, str], target: float, first_year: int, last_year: int, onset_year: int,
                  outcome: str) -> pd.DataFrame:
    """One row per partner: mean projects per year, the extra projects a rise of ``target`` implies, the typical
    year-to-year swing (projects), the region's share of national R&D personnel, and the single-unit Poisson MDE.

    Italian partners are measured in the regional panel (``coparticipation_projects``), the others by their whole
    country's ``outcome``.
    """
    n_pre = sum(1 for y in range(first_year, last_year + 1) if y < onset_year)
    n_post = sum(1 for y in range(first_year, last_year + 1) if y >= onset_year)
    span = countries["year"].between(first_year, last_year) & (countries["year_complete"] == 1)
    rows = []
    for rec in partners.sort_values("nuts2").to_dict("records"):
        code = rec["nuts2"]
        name = names.get(code, code)
        if rec["country"] == "IT":
            series = italy.loc[(italy["nuts2"] == code) & italy["year"].between(first_year, last_year),
                               "coparticipation_projects"]
            level, label = "region (placed participants)", f"{name} ({code})"
        else:
            series = countries.loc[span & (countries["country"] == rec["country"]), outcome]
            level, label = "country only", f"{rec['country']} national (for {code})"
        mean = float(series.mean())
        share, _ = national_share(rd, code, years=range(2011, 2020))
        rows.append({
            "partner": f"{name} ({code})", "data": level, "label": label,
            "projects/yr": mean, "target extra/yr": target * mean, "yoy swing/yr": yoy_log_sd(series) * mean,
            "region share %": 100 * share if rec["country"] != "IT" else float("nan"),
            "MDE alone %": 100 * poisson_mde_single_unit(mean, n_pre=n_pre, n_post=n_post),
        })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------------
# Regional power
# ----------------------------------------------------------------------------------------------------------------
def regional_panel(italy: pd.DataFrame, *, treated: str, onset_year: int, first_year: int, last_year: int,
                   column: str) -> pd.DataFrame:
    """Italian NUTS2 x year panel of ``column`` with ``y = log(count)``, ``cohort`` (``onset_year`` for
    ``treated``, 0 otherwise).

    Only regions with a positive count in every year of the window are kept (the log needs it; Poisson fixed
    effects, which would keep zeros, separate on these small counts and cannot be fitted on every resampled
    panel). Raises if the treated region itself has a zero year.
    """
    d = italy[italy["year"].between(first_year, last_year)][["nuts2", "year", column]].copy()
    if treated not in set(d["nuts2"]):
        raise UserInputError(f"treated region {treated!r} is not in the Italian H2020 panel; use a NUTS2 code.")
    positive = d.groupby("nuts2")[column].min() > 0
    if not positive.get(treated, False):
        raise UserInputError(f"{treated} has a year with no '{column}' projects in {first_year}-{last_year}; a log "
                             "(proportional) effect cannot be simulated for it.")
    d = d[d["nuts2"].isin(positive[positive].index)]
    d = d.assign(y=np.log(d[column].astype(float)), cohort=np.where(d["nuts2"] == treated, onset_year, 0))
    return d.sort_values(["nuts2", "year"]).reset_index(drop=True)


#: Static TWFE on ``y`` with cluster-robust SEs and t(G-1) p-values, *without* the one-treated-unit rule: the
#: conventional test whose power is simulated (its size shows how far it over-rejects). Bound, not wrapped in a
#: function, so :func:`simulate_power` can prepare the panel once and refit only the simulated outcome.
conventional_fit = BoundEstimate(estimator="twfe", unit="nuts2", time="year", cohort="cohort", outcome="y",
                                 single_treated_rule=False, quiet=True)


def placebo_power(estimates: Sequence[float] | pd.Series, deltas: Sequence[float], *, alpha: float = 0.05,
                  target_power: float = 0.8) -> tuple[pd.DataFrame, float]:
    """Power of the placebo-in-space test at each effect, and its MDE, from the ``J`` placebo estimates.

    For each effect ``delta`` and each placebo ``k`` (a draw of the treated region's noise, by exchangeability),
    the treated estimate is ``b_k + delta`` and the test rejects if ``(1 + #{j : |b_j| >= |b_k + delta|}) / (J + 1)
    <= alpha`` (all ``J`` placebos as reference; counting ``k`` itself is slightly conservative). Power is the
    share of draws that reject, with Monte Carlo-style SE ``sqrt(p (1 - p) / J)``. The MDE is the first crossing
    of ``target_power`` (linear interpolation), ``inf`` if ``1 / (J + 1) > alpha`` (the test can never reject),
    NaN if the grid does not reach it.
    """
    b = np.asarray(estimates, dtype=float)
    b = b[np.isfinite(b)]
    J = b.size
    if J < 2:
        raise UserInputError(f"placebo_power needs at least 2 finite placebo estimates, got {J}.")
    absb = np.abs(b)
    rows = []
    for delta in sorted(float(x) for x in deltas):
        obs = np.abs(b + delta)
        exceed = (absb[None, :] >= obs[:, None] - 1e-12).sum(axis=1)
        p = (1 + exceed) / (J + 1)
        power = float(np.mean(p <= alpha + 1e-12))
        rows.append({"delta": delta, "power": power, "mc_se": math.sqrt(power * (1 - power) / J)})
    table = pd.DataFrame(rows)
    if 1 / (J + 1) > alpha:
        return table, math.inf
    d, pw = table["delta"].to_numpy(), table["power"].to_numpy()
    for i in range(1, d.size):
        if pw[i - 1] < target_power <= pw[i]:
            return table, float(d[i - 1] + (target_power - pw[i - 1]) * (d[i] - d[i - 1]) / (pw[i] - pw[i - 1]))
    return table, (float(d[0]) if d.size and pw[0] >= target_power else float("nan"))


@dataclass(frozen=True)
class RegionalPower:
    """Detectability of a rise in one treated region against the other Italian regions, for one outcome.

    ``simulated`` is the conventional test's power curve (None when the outcome has zero years in the treated
    region); ``placebo`` the placebo-in-space power table; percentages are ``100 * (exp(delta) - 1)``.
    """

    outcome: str
    treated: str
    mean_count: float
    total_count: float
    n_regions: int
    n_placebos: int
    placebo_min_p: float
    mde_pct: float
    mde_nominal_pct: float
    mde_mcse_pct: float
    size_at_zero: float
    mde_placebo_pct: float
    poisson_bound_pct: float
    simulated: PowerResult | None = field(repr=False)
    placebo: pd.DataFrame | None = field(repr=False)


def regional_power(italy: pd.DataFrame, *, treated: str, column: str, onset_year: int, first_year: int,
                   last_year: int, deltas: Sequence[float], n_sims: int, seed: int, alpha: float = 0.05,
                   target_power: float = 0.8) -> RegionalPower:
    """MDE of a proportional rise in ``treated``'s yearly ``column`` count (see the module docstring).

    ``mde_pct`` (the headline) is the size-corrected MDE ``(z_{1-alpha/2} + z_power) * SD`` with SD the spread of
    the TWFE estimates over block-resampled panels at zero effect (Bloom, 1995): what a test that knew the
    estimator's true sampling spread would detect; any valid test with one treated region (which must estimate
    that spread from the controls) can do no better, so it is a lower bound. Its Monte Carlo SE uses
    ``SE(SD) = SD / sqrt(2 (n_sims - 1))``. ``mde_nominal_pct`` is where the conventional cluster-robust test
    reaches 80 % rejections; that test over-rejects (``size_at_zero``), so the number is not an MDE of a valid
    test and is reported only to show it. ``mde_placebo_pct`` is the placebo-in-space test's MDE (``inf`` when it
    can never reject at ``alpha``); ``poisson_bound_pct`` the single-unit Poisson bound (counting noise only).
    When the treated region has a year without projects, only the Poisson bound is computed.
    """
    part = italy[(italy["nuts2"] == treated) & italy["year"].between(first_year, last_year)][column]
    mean, total = float(part.mean()), float(part.sum())
    n_pre = sum(1 for y in range(first_year, last_year + 1) if y < onset_year)
    n_post = last_year - first_year + 1 - n_pre
    bound = 100 * poisson_mde_single_unit(mean, n_pre=n_pre, n_post=n_post, alpha=alpha,
                                          power=target_power) if mean > 0 else math.inf
    if float(part.min()) <= 0:
        logger.info("%s has zero-count years for %s: only the Poisson bound is computed", treated, column)
        return RegionalPower(outcome=column, treated=treated, mean_count=mean, total_count=total, n_regions=0,
                             n_placebos=0, placebo_min_p=math.nan, mde_pct=math.inf, mde_nominal_pct=math.inf,
                             mde_mcse_pct=math.nan, size_at_zero=math.nan,
                             mde_placebo_pct=math.inf, poisson_bound_pct=bound, simulated=None, placebo=None)
    panel = regional_panel(italy, treated=treated, onset_year=onset_year, first_year=first_year,
                           last_year=last_year, column=column)
    sim = simulate_power(panel, unit="nuts2", time="year", cohort="cohort", outcome="y", deltas=deltas,
                         n_sims=n_sims, alpha=alpha, target_power=target_power, scale="additive",
                         fit=conventional_fit, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        plac = placebo_in_space(panel, unit="nuts2", time="year", cohort="cohort", outcome="y",
                                statistic="estimate", level=1 - alpha)
    ptab, pmde = placebo_power(plac.placebos["estimate"], deltas, alpha=alpha, target_power=target_power)
    tab = sim.table
    size = float(tab.loc[tab["delta"] == 0, "power"].iloc[0]) if (tab["delta"] == 0).any() else math.nan
    return RegionalPower(
        outcome=column, treated=treated, mean_count=mean, total_count=total, n_regions=int(panel["nuts2"].nunique()),
        n_placebos=int(plac.n_placebos), placebo_min_p=1 / (plac.n_placebos + 1),
        mde_pct=100 * math.expm1(sim.analytic_mde_sd),
        mde_nominal_pct=100 * math.expm1(sim.mde) if np.isfinite(sim.mde) else sim.mde,
        mde_mcse_pct=100 * math.exp(sim.analytic_mde_sd) * sim.analytic_mde_sd / math.sqrt(2 * (n_sims - 1)),
        size_at_zero=size,
        mde_placebo_pct=100 * math.expm1(pmde) if np.isfinite(pmde) else pmde, poisson_bound_pct=bound,
        simulated=sim, placebo=ptab)


# ----------------------------------------------------------------------------------------------------------------
# The study
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterixStudy:
    """Published keys of the ClusteriX run (each field glued under its own name; tables are not glued)."""

    # the target and the partners
    target_pct: float
    n_partner_regions: int
    n_partner_countries: int
    partner_countries: str
    onset_year: int
    # country-level power (TWFE on log counts, partner countries treated)
    n_countries_panel: int
    n_treated_in_panel: int
    countries_dropped_zero: str
    n_years_panel: int
    mde_log: float
    mde_pct: float
    mde_is_simulated: bool
    mde_analytic_pct: float
    mde_over_target: float
    size_at_zero: float
    power_near_target: float
    power_near_target_delta_pct: float
    power_near_target_mcse: float
    n_sims: int
    target_power_pct: float
    alpha_pct: float
    # partner by partner
    bolzano_projects_per_year: float
    bolzano_target_extra: float
    bolzano_mde_alone_pct: float
    min_country_target_extra: float
    max_country_target_extra: float
    median_swing_over_target: float
    min_mde_alone_pct: float
    median_region_share_pct: float
    n_partners_share_known: int
    treated_scale_needed: float
    n_swing_larger: int
    # regional power (Italian NUTS2 panel, the Italian partner region treated)
    regional_treated: str
    regional_first_year: int
    regional_last_year: int
    n_regions_regional: int
    mde_regional_pct: float
    mde_regional_any_pct: float
    mde_regional_intraregional_pct: float
    mde_regional_over_country: float
    mde_regional_over_target: float
    mde_regional_nominal_pct: float
    size_at_zero_regional: float
    power_regional_near_target: float
    power_regional_near_target_mcse: float
    mde_regional_mcse_pct: float
    n_sims_regional: int
    n_placebos_regional: int
    placebo_min_p: float
    placebo_can_reject: bool
    mde_regional_placebo_pct: float
    regional_placebo_text: str
    bound_regional_any_pct: float
    bound_regional_intraregional_pct: float
    regional_intraregional_total: float
    regional_intraregional_per_year: float
    regional_any_per_year: float
    # verdict
    evaluable: bool
    verdict: str
    verdict_regional: str
    # exhibits (not glued)
    country_power: PowerResult = not_published()
    regional: dict[str, RegionalPower] = not_published()
    partners: pd.DataFrame = not_published()
    partner_rows: pd.DataFrame = not_published()
    country_panel: pd.DataFrame = not_published()


def _near(table: pd.DataFrame, delta: float) -> pd.Series:
    return table.iloc[int(np.argmin(np.abs(table["delta"].to_numpy() - delta)))]


def clusterix_study(*, countries: pd.DataFrame, italy: pd.DataFrame, rd: pd.DataFrame, target_pct: float,
                    names: Mapping[str, str] | None = None, exposure: pd.DataFrame | None = None,
                    onset_year: int = 2017, first_year: int = 2015, last_year: int = 2020,
                    outcome: str = "coparticipation_projects_domestic",
                    deltas: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4), n_sims: int = 200,
                    regional_deltas: Sequence[float] = (0.0, 0.2, 0.4, 0.6),
                    n_sims_regional: int = 100, seed: int = 20160401, alpha: float = 0.05,
                    target_power: float = 0.8) -> ClusterixStudy:
    """Run the ClusteriX study: country-level and regional-level detectability of the programme's target.

    Parameters
    ----------
    countries, italy, rd
        ``h2020_country_year.csv``, ``h2020_italy_nuts2.csv`` and ``eurostat_rd_nuts2.csv`` (loaders).
    target_pct
        The programme's target rise in per cent (``programmes.csv``).
    names
        NUTS code -> short region name for labels (codes are used when missing).
    exposure
        :func:`interreg_exposure` output (read when ``None``).
    deltas, regional_deltas
        Log-ratio grids of the country and regional simulations (each should bracket its MDE).
    n_sims, n_sims_regional, seed
        Simulated panels per effect size and the seed (:func:`numpy.random.default_rng`).
    """
    names = dict(names or {})
    target = target_pct / 100
    partners = clusterix_partners(exposure)
    partner_countries = sorted(set(partners["country"]) - {"IT"})
    italian = sorted(partners.loc[partners["country"] == "IT", "nuts2"])
    if len(italian) != 1:
        raise UserInputError(f"the regional analysis needs exactly one Italian ClusteriX partner region, found "
                             f"{italian}; extend it to several treated regions before using it.")
    treated = italian[0]
    onsets = {c: onset_year for c in partner_countries}

    # countries
    panel = country_panel(countries, first_year=first_year, last_year=last_year, treated=onsets)
    panel = panel[panel["country"] != "IT"]  # Italy's only partner is one region: neither treated nor a clean control
    positive = panel.groupby("country")[outcome].min()
    panel = panel[panel["country"].isin(positive[positive > 0].index)].assign(y=lambda d: np.log(d[outcome]))
    dropped = sorted(set(positive.index) - set(panel["country"]))
    power = simulate_power(panel, unit="country", time="year", cohort="cohort", outcome="y", deltas=deltas,
                           n_sims=n_sims, alpha=alpha, target_power=target_power, seed=seed)
    tab = power.table
    at_target = _near(tab, math.log1p(target))
    mde = power.mde if np.isfinite(power.mde) else power.analytic_mde_sd
    mde_pct = 100 * math.expm1(mde)

    # partner by partner
    ptab = partner_table(partners, countries=countries, italy=italy, rd=rd, names=names, target=target,
                         first_year=first_year, last_year=last_year, onset_year=onset_year, outcome=outcome)
    it_row = ptab[ptab["partner"].str.contains(treated)].iloc[0]
    abroad = ptab[ptab["data"] == "country only"]

    # regions
    regional = {key: regional_power(italy, treated=treated, column=col, onset_year=onset_year,
                                    first_year=first_year, last_year=last_year, deltas=regional_deltas,
                                    n_sims=n_sims_regional, seed=seed, alpha=alpha, target_power=target_power)
                for key, (col, _) in REGIONAL_OUTCOMES.items()}
    anyr, intra = regional["any"], regional["intraregional"]
    if anyr.simulated is None or anyr.placebo is None:
        raise UserInputError(f"{treated} has a start year without any '{REGIONAL_OUTCOMES['any'][0]}' project in "
                             f"{first_year}-{last_year}; the regional simulation needs a positive count every year. "
                             "Narrow the window or drop the regional analysis.")
    rtab = anyr.simulated.table
    near_r = _near(rtab, math.log1p(target))
    can_reject = anyr.placebo_min_p <= alpha
    placebo_text = (f"the placebo test reaches 80 % power only for a rise of about {anyr.mde_placebo_pct:.0f} %"
                    if np.isfinite(anyr.mde_placebo_pct) else
                    (f"with {anyr.n_placebos} comparison regions the smallest p-value the placebo test can give is "
                     f"{anyr.placebo_min_p:.3f}, above {alpha:g}, so no effect of any size can be declared "
                     "significant" if not can_reject else
                     "the placebo test does not reach 80 % power on the simulated grid"))
    evaluable = mde_pct <= target_pct
    evaluable_regional = bool(np.isfinite(anyr.mde_placebo_pct) and anyr.mde_placebo_pct <= target_pct
                              and anyr.mde_pct <= target_pct)
    return ClusterixStudy(
        target_pct=float(target_pct), n_partner_regions=int(len(partners)),
        n_partner_countries=len(partner_countries), partner_countries=", ".join(partner_countries),
        onset_year=int(onset_year),
        n_countries_panel=int(panel["country"].nunique()),
        n_treated_in_panel=int(panel.loc[panel["cohort"] > 0, "country"].nunique()),
        countries_dropped_zero=", ".join(dropped), n_years_panel=int(panel["year"].nunique()),
        mde_log=float(mde), mde_pct=float(mde_pct), mde_is_simulated=bool(np.isfinite(power.mde)),
        mde_analytic_pct=100 * math.expm1(power.analytic_mde_sd), mde_over_target=float(mde_pct / target_pct),
        size_at_zero=float(tab.loc[tab["delta"] == 0, "power"].iloc[0]) if (tab["delta"] == 0).any() else math.nan,
        power_near_target=float(at_target["power"]), power_near_target_delta_pct=100 * math.expm1(at_target["delta"]),
        power_near_target_mcse=float(at_target["mc_se"]), n_sims=int(n_sims),
        target_power_pct=100 * target_power, alpha_pct=100 * alpha,
        bolzano_projects_per_year=float(it_row["projects/yr"]), bolzano_target_extra=float(it_row["target extra/yr"]),
        bolzano_mde_alone_pct=float(it_row["MDE alone %"]),
        min_country_target_extra=float(abroad["target extra/yr"].min()),
        max_country_target_extra=float(abroad["target extra/yr"].max()),
        median_swing_over_target=float((ptab["yoy swing/yr"] / ptab["target extra/yr"]).median()),
        min_mde_alone_pct=float(ptab["MDE alone %"].min()),
        median_region_share_pct=float(ptab["region share %"].median()),
        n_partners_share_known=int(ptab["region share %"].notna().sum()),
        treated_scale_needed=float((mde_pct / target_pct) ** 2),
        n_swing_larger=int((ptab["yoy swing/yr"] > ptab["target extra/yr"]).sum()),
        regional_treated=f"{names.get(treated, treated)} ({treated})", regional_first_year=int(first_year),
        regional_last_year=int(last_year), n_regions_regional=anyr.n_regions,
        mde_regional_pct=float(anyr.mde_pct), mde_regional_any_pct=float(anyr.mde_pct),
        mde_regional_intraregional_pct=float(intra.mde_pct),
        mde_regional_over_country=float(anyr.mde_pct / mde_pct), mde_regional_over_target=float(anyr.mde_pct / target_pct),
        size_at_zero_regional=float(anyr.size_at_zero), power_regional_near_target=float(near_r["power"]),
        power_regional_near_target_mcse=float(near_r["mc_se"]), mde_regional_mcse_pct=float(anyr.mde_mcse_pct),
        mde_regional_nominal_pct=float(anyr.mde_nominal_pct),
        n_sims_regional=int(n_sims_regional), n_placebos_regional=anyr.n_placebos,
        placebo_min_p=float(anyr.placebo_min_p), placebo_can_reject=bool(can_reject),
        mde_regional_placebo_pct=float(anyr.mde_placebo_pct), regional_placebo_text=placebo_text,
        bound_regional_any_pct=float(anyr.poisson_bound_pct),
        bound_regional_intraregional_pct=float(intra.poisson_bound_pct),
        regional_intraregional_total=float(intra.total_count),
        regional_intraregional_per_year=float(intra.mean_count), regional_any_per_year=float(anyr.mean_count),
        evaluable=bool(evaluable),
        verdict="can be evaluated with these data" if evaluable else "cannot be evaluated with these data",
        verdict_regional=("can be evaluated in the partner region with these data" if evaluable_regional else
                          "cannot be evaluated in the partner region with these data"),
        country_power=power, regional=regional, partners=partners, partner_rows=ptab, country_panel=panel,
    )
