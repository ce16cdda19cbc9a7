"""Specification grids and the staggered-DiD analysis they run on Italian regions.

Three layers, each usable alone:

* :func:`build_specs` and :func:`run_grid` -- a function-level grid: every combination of a set of choices, minus
  the indefensible ones, run through any picklable function serially, on a local process pool, or on a Dask
  cluster, returned as one tidy frame in the order of the specifications (whatever the order of completion).
* :func:`estimate_spec` -- one specification of the Italian analysis (outcome x transform x coding x control x
  estimator x window x anticipation) estimated on the real panel and returned as one tidy row.
* :func:`staggered_analysis` -- everything the staggered-DiD template shows for one design: the headline
  estimate, the heterogeneity-robust event study with its covariance, the TWFE counterpart, a pre-trend diagnostic
  and a Rambachan-Roth relative-magnitudes breakdown value.

Every event study carries its covariance (``EstimationResult.event_study_vcov``), which the pre-trend test and the
sensitivity bounds use.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import multiprocessing
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clusterpolicy.errors import ClusterPolicyWarning, EstimationError, UserInputError
from clusterpolicy.estimate.api import estimate
from clusterpolicy.estimate.inference import RandomizationResult, randomization_inference
from clusterpolicy.estimate.result import EstimationResult
from clusterpolicy.estimate.sensitivity import (
    PretrendTest,
    SensitivityResult,
    pretrend_test,
    relative_magnitudes_bounds,
)

logger = logging.getLogger(__name__)

GridExecutor = Literal["local", "dask"]
SpecFn = Callable[[dict[str, Any]], Mapping[str, Any]]

#: Estimators whose comparison group is fixed: the only ``control`` value that is not a duplicate. (TWFE also
#: compares with already-treated units, which is what goes wrong with it; "notyet" is its closest label.)
FIXED_CONTROL: dict[str, str] = {"twfe": "notyet", "sa": "never", "imputation": "notyet", "did2s": "notyet",
                                 "poisson": "notyet"}
LINEAR_ESTIMATORS = ("cs", "sa", "imputation", "did2s", "twfe")
COUNT_ESTIMATORS = ("poisson", "etwfe")
#: First year with business R&D expenditure and with population (per-capita outcomes) for Italian regions.
EXPENDITURE_FROM = 2011
POPULATION_FROM = 2011
#: Event-time window used for the pre-trend diagnostic and the sensitivity bounds (sparse horizons beyond it rest
#: on one or two regions).
PRE_WINDOW, POST_WINDOW = 5, 5

ROLES = {"unit": "nuts2", "time": "year", "cohort": "cohort", "outcome": "y"}


# ================================================================================================================
# Grid: build and run
# ================================================================================================================
def parse_window(window: str) -> tuple[int, int]:
    """``"2007-2019"`` -> ``(2007, 2019)``."""
    try:
        lo, hi = (int(part) for part in str(window).split("-"))
    except ValueError as err:
        raise UserInputError(f"window={window!r} is not of the form 'YYYY-YYYY' (e.g. '2007-2019').") from err
    if lo >= hi:
        raise UserInputError(f"window={window!r} must start before it ends.")
    return lo, hi


def indefensible_reason(spec: Mapping[str, Any]) -> str | None:
    """Why a combination of choices should not be estimated, or ``None`` if it is defensible.

    Rules (each applies only when the spec has the keys it needs):

    * business R&D expenditure is observed from 2011: windows starting earlier are left out;
    * per-capita outcomes need population, observed from 2011;
    * count outcomes (H2020) cannot be logged (zeros); Poisson-type estimators model the log mean themselves, so
      they take the outcome in levels (or per capita), never logged;
    * linear estimators are not applied to counts in this grid (Poisson-type estimators are);
    * estimators with a fixed comparison group appear once, under :data:`FIXED_CONTROL`, not once per control.
    """
    from clusterpolicy.study.panel import is_count_outcome

    outcome = spec.get("outcome")
    transform = spec.get("transform")
    estimator = spec.get("estimator")
    lo = None
    if "window" in spec:
        lo, _ = parse_window(spec["window"])
    elif "first_year" in spec:
        lo = int(spec["first_year"])
    if lo is not None and isinstance(outcome, str) and outcome.startswith("gerd_") and lo < EXPENDITURE_FROM:
        return f"business R&D expenditure is observed from {EXPENDITURE_FROM}"
    if lo is not None and transform == "per_capita" and lo < POPULATION_FROM:
        return f"population (per-capita outcomes) is observed from {POPULATION_FROM}"
    if isinstance(outcome, str) and is_count_outcome(outcome):
        if transform == "log":
            return "counts with zeros cannot be logged"
        if estimator in LINEAR_ESTIMATORS:
            return "counts are estimated with Poisson-type estimators"
    if estimator in COUNT_ESTIMATORS and transform == "log":
        return "Poisson-type estimators take the outcome in levels"
    if estimator in FIXED_CONTROL and "control" in spec and spec["control"] != FIXED_CONTROL[estimator]:
        return f"{estimator} has a fixed comparison group (listed once, as control={FIXED_CONTROL[estimator]!r})"
    return None


def build_specs(
    choices: Mapping[str, Sequence[Any]],
    *,
    rule: Callable[[Mapping[str, Any]], str | None] | None = indefensible_reason,
) -> list[dict[str, Any]]:
    """Every combination of ``choices`` (in the order of the keys and of each list), minus indefensible ones.

    Parameters
    ----------
    choices
        ``{choice name: list of options}``, e.g. ``{"outcome": [...], "estimator": ["cs", "twfe"]}``.
    rule
        ``rule(spec) -> reason | None``; specs with a reason are dropped. Default :func:`indefensible_reason`;
        ``None`` keeps every combination.

    Returns
    -------
    list of dict
        The specifications, in deterministic order (the first key varies slowest).

    Raises
    ------
    UserInputError
        If ``choices`` is empty or a choice has no options or repeated options.

    Examples
    --------
    >>> build_specs({"a": [1, 2], "b": ["x", "y"]}, rule=None)
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    if not choices:
        raise UserInputError("choices is empty; give at least one choice with a list of options.")
    names = list(choices)
    for name in names:
        opts = choices[name]
        if isinstance(opts, (str, bytes)) or not isinstance(opts, Sequence) or len(opts) == 0:
            raise UserInputError(f"choice {name!r} must be a non-empty list of options, got {opts!r}.")
        if len({repr(o) for o in opts}) != len(opts):
            raise UserInputError(f"choice {name!r} lists an option twice ({list(opts)!r}); list each option once.")
    specs = []
    for combo in itertools.product(*(choices[n] for n in names)):
        spec = dict(zip(names, combo))
        if rule is None or rule(spec) is None:
            specs.append(spec)
    return specs


def _check_row(row: Any, index: int) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise UserInputError(f"the grid function returned {type(row).__name__} for specification {index}; it must "
                             "return a mapping (a tidy row).")
    return dict(row)


def _run_local(specs: list[dict[str, Any]], fn: SpecFn, jobs: int | None) -> list[Any]:
    if not jobs or jobs == 1 or len(specs) <= 1:
        return [fn(spec) for spec in specs]
    # "spawn": workers start clean (no threads inherited from a notebook kernel); map() keeps the input order.
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(specs) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(fn, specs, chunksize=chunk))


def _apply_batch(batch: list[dict[str, Any]], fn: SpecFn) -> list[Any]:
    return [fn(spec) for spec in batch]


def _run_dask(specs: list[dict[str, Any]], fn: SpecFn, jobs: int | None, scheduler: str | None) -> list[Any]:
    from distributed import Client, LocalCluster

    def gather(client: Any) -> list[Any]:
        # Batches, not one task per spec: a spec takes tens of milliseconds, about what the scheduler spends per
        # task, and on a small machine the scheduler shares the cores with the workers.
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (jobs or 1))
        size = max(1, math.ceil(len(specs) / (n_workers * 8)))
        batches = [specs[i:i + size] for i in range(0, len(specs), size)]
        futures = client.map(_apply_batch, batches, fn=fn, pure=False)
        return [row for batch in client.gather(futures) for row in batch]

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise UserInputError(
                f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}); start one with "
                "'dask scheduler' and 'dask worker ADDR', or use executor='local'."
            ) from err
        with client:
            return gather(client)
    with LocalCluster(n_workers=jobs or 2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return gather(client)


def run_grid(
    specs: Sequence[Mapping[str, Any]],
    fn: SpecFn,
    *,
    executor: GridExecutor = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run ``fn`` on every specification and return one tidy frame, one row per specification.

    Parameters
    ----------
    specs
        Specifications (dicts of choices), e.g. from :func:`build_specs`.
    fn
        ``fn(spec) -> mapping`` returning the row's results; must be picklable (a module-level function) for the
        process pool and Dask.
    executor
        ``"local"``: serially when ``jobs`` is ``None`` or 1, else on a process pool of ``jobs`` workers;
        ``"dask"``: ``distributed.Client(scheduler).map``; with ``scheduler=None`` a temporary local cluster of
        ``jobs`` single-threaded worker processes is started and closed.
    jobs
        Worker processes (local pool, or the temporary Dask cluster).
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``); only with ``executor="dask"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``spec_id``, the spec's choices, then ``fn``'s keys; rows in the order of ``specs`` (so the
        result is the same whatever the executor, the number of workers or the order of completion).

    Raises
    ------
    UserInputError
        For an unknown executor, a bad ``jobs`` value, a scheduler given to the local executor, an unreachable
        scheduler, or ``fn`` returning something that is not a mapping.
    """
    if executor not in ("local", "dask"):
        raise UserInputError(f"executor={executor!r} is not valid; use 'local' or 'dask'.")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise UserInputError(f"jobs={jobs!r} must be a positive integer (or None).")
    if executor == "local" and scheduler:
        raise UserInputError("scheduler is only used with executor='dask'; drop it or set executor='dask'.")
    spec_list = [dict(s) for s in specs]
    if not spec_list:
        return pd.DataFrame(columns=["spec_id"])
    raw = _run_local(spec_list, fn, jobs) if executor == "local" else _run_dask(spec_list, fn, jobs, scheduler)
    rows = []
    for i, (spec, out) in enumerate(zip(spec_list, raw)):
        result = _check_row(out, i)
        rows.append({"spec_id": i, **spec, **{k: v for k, v in result.items() if k not in spec}})
    return pd.DataFrame(rows)


# ================================================================================================================
# Event studies relative to a universal base period
# ================================================================================================================
def to_universal_base(es: pd.DataFrame, vcov: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-express varying-base pre-period placebos relative to ``e = -1`` (a universal base).

    With a varying base, the pre-period coefficient at ``e < 0`` is a one-period change (``Y_{g+e} - Y_{g+e-1}``,
    treated minus control). Relative to ``e = -1`` the level at ``e <= -2`` is minus the sum of the changes from
    ``e + 1`` to ``-1``; ``e = -1`` itself becomes the reference (dropped). Post-period coefficients are unchanged
    (their base is ``g - 1`` already). The map is linear, so the covariance is ``A V A'``. Exact for a fixed
    comparison group and fixed cohort composition across event times; otherwise an approximation (cohorts enter
    and leave the dynamic aggregation at long horizons).
    """
    times = [int(t) for t in es["event_time"]]
    pre = [t for t in times if t < 0]
    if -1 not in pre:
        raise EstimationError("to_universal_base: the event study has no coefficient at e = -1.")
    missing = [t for t in range(min(pre), 0) if t not in pre]
    if missing:
        raise EstimationError(f"to_universal_base: pre-period event times {missing} are missing.")
    out_times = [t for t in times if t != -1]
    A = np.zeros((len(out_times), len(times)))
    pos = {t: i for i, t in enumerate(times)}
    for r, t in enumerate(out_times):
        if t >= 0:
            A[r, pos[t]] = 1.0
        else:
            for k in range(t + 1, 0):
                A[r, pos[k]] = -1.0
    b = A @ es.set_index("event_time").loc[times, "estimate"].to_numpy()
    V = A @ vcov.loc[times, times].to_numpy() @ A.T
    se = np.sqrt(np.diag(V))
    frame = pd.DataFrame({"event_time": out_times, "estimate": b, "se": se})
    return frame, pd.DataFrame(V, index=out_times, columns=out_times)


def _window(es: pd.DataFrame, vcov: pd.DataFrame | None, pre: int, post: int) -> tuple[pd.DataFrame, Any]:
    keep = es[(es["event_time"] >= -pre) & (es["event_time"] <= post)].reset_index(drop=True)
    if vcov is None:
        return keep, None
    idx = [int(t) for t in keep["event_time"]]
    return keep, vcov.loc[idx, idx]


# ================================================================================================================
# The staggered analysis of one design
# ================================================================================================================
@dataclass(frozen=True)
class StaggeredAnalysis:
    """What the staggered-DiD template reports for one design.

    Attributes
    ----------
    main
        The headline estimate from the chosen estimator.
    twfe
        Static TWFE (linear outcomes) or static Poisson (counts) on the same panel: the conventional comparison.
    robust_es, twfe_es
        Event studies: heterogeneity-robust (CS for linear outcomes, ETWFE Poisson for counts) and TWFE-style
        (TWFE or Poisson relative-time dummies, reference ``e = -1``).
    robust_es_label, twfe_es_label
        Legend labels.
    pretrend
        Joint Wald test of the pre-period coefficients in ``[-PRE_WINDOW, -1]`` (a diagnostic), or ``None``.
    sensitivity
        Rambachan-Roth relative-magnitudes bounds (plug-in approximation), or ``None``.
    randomization
        For a single treated region: exact randomisation (placebo-in-space) inference moving the treatment to
        every region of the panel in turn and re-estimating with the headline estimator, or ``None``.
    warnings
        Plain-language warnings for the reader (few treated regions, pre-periods, estimator warnings).
    """

    main: EstimationResult
    twfe: EstimationResult
    robust_es: pd.DataFrame
    twfe_es: pd.DataFrame
    robust_es_label: str
    twfe_es_label: str
    pretrend: PretrendTest | None
    sensitivity: SensitivityResult | None
    randomization: RandomizationResult | None = None
    warnings: tuple[str, ...] = field(default=())


def _quiet_estimate(df: pd.DataFrame, msgs: list[str], **kwargs: Any) -> EstimationResult:
    """``estimate`` with its warnings collected into ``msgs`` (they are shown once, in the warnings section)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        res = estimate(df, **ROLES, **kwargs)
    msgs.extend(f"{kwargs['estimator']}: {w}" for w in res.warnings)
    return res


def _main_kwargs(estimator: str, control: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"estimator": estimator}
    if estimator in ("cs", "etwfe"):
        kwargs["control"] = control
    return kwargs


def staggered_analysis(panel: Any, *, estimator: str = "cs", control: str = "notyet") -> StaggeredAnalysis:
    """Estimate one design on an :class:`~clusterpolicy.study.panel.AnalysisPanel`.

    Linear outcomes: headline from ``estimator`` (``cs``, ``sa``, ``imputation``); event study from CS with
    ``control`` and from TWFE; pre-trend test on the CS placebos (varying base: every one-period pre-change is
    zero under parallel pre-trends) with their covariance; relative-magnitudes bounds on the CS event study
    re-expressed relative to ``e = -1`` (:func:`to_universal_base`). Counts: headline from ``poisson`` or
    ``etwfe``; event study from ETWFE Poisson with never-treated controls (its pre-period placebos are relative to
    ``g - 1``) and from the Poisson event study; tests with the ETWFE event-study covariance.

    Raises
    ------
    UserInputError
        For an estimator that does not fit the outcome type.
    """
    data = panel.data
    msgs: list[str] = []
    if panel.is_count:
        if estimator not in COUNT_ESTIMATORS + ("cs",):
            raise UserInputError(f"estimator={estimator!r} is not used for the count outcome {panel.outcome!r}; use "
                                 "'poisson' or 'etwfe'.")
    elif estimator in COUNT_ESTIMATORS and panel.transform == "log":
        raise UserInputError(f"estimator={estimator!r} models the log of the mean itself; use transform='level' "
                             "or a linear estimator ('cs', 'sa', 'imputation').")
    main = _quiet_estimate(data, msgs, **_main_kwargs(estimator, control))
    pre = post = None
    if panel.is_count or estimator in COUNT_ESTIMATORS:
        twfe = _quiet_estimate(data, [], estimator="poisson")
        has_never = bool((data["cohort"] == 0).any())
        robust = _quiet_estimate(data, [], estimator="etwfe", control="never" if has_never else "notyet")
        robust_es, robust_vcov = robust.event_study, robust.event_study_vcov
        robust_label = ("ETWFE Poisson (never-treated controls)" if has_never
                        else "ETWFE Poisson (not-yet-treated controls)")
        twfe_es = twfe.event_study
        twfe_label = "Poisson with relative-time dummies (TWFE-style)"
        sens_es, sens_vcov = robust_es[["event_time", "estimate", "se"]], robust_vcov
        pre_es, pre_vcov, reference = sens_es, robust_vcov, -1
    else:
        twfe = _quiet_estimate(data, [], estimator="twfe")
        robust = main if estimator == "cs" else _quiet_estimate(data, [], estimator="cs", control=control)
        robust_es, robust_vcov = robust.event_study, robust.event_study_vcov
        robust_label = f"Callaway-Sant'Anna ({'not-yet-treated' if control == 'notyet' else 'never-treated'} controls)"
        twfe_es = _quiet_estimate(data, [], estimator="twfe_es").event_study
        twfe_label = "TWFE event study"
        pre_es, pre_vcov, reference = robust_es, robust_vcov, -10_000  # varying base: -1 is a placebo too
        try:
            sens_es, sens_vcov = to_universal_base(robust_es, robust_vcov)
        except EstimationError as err:
            msgs.append(f"sensitivity bounds not computed: {err}")
            sens_es = sens_vcov = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterPolicyWarning)
        win_es, win_vcov = _window(pre_es, pre_vcov, PRE_WINDOW, POST_WINDOW)
        try:
            pre = pretrend_test(win_es, vcov=win_vcov, reference=reference)
        except EstimationError as err:
            msgs.append(f"pre-trend diagnostic not computed: {err}")
        if sens_es is not None:
            s_es, s_vcov = _window(sens_es, sens_vcov, PRE_WINDOW, POST_WINDOW)
            try:
                post = relative_magnitudes_bounds(s_es, vcov=s_vcov)
            except EstimationError as err:
                msgs.append(f"relative-magnitudes bounds not computed: {err}")
    ri = None
    if panel.n_treated == 1:
        kwargs = _main_kwargs(estimator, control)

        def refit(frame: pd.DataFrame) -> EstimationResult:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ClusterPolicyWarning)
                return estimate(frame, **ROLES, **kwargs)

        try:
            ri = randomization_inference(data, refit, unit=ROLES["unit"], cohort=ROLES["cohort"], exact=True)
        except EstimationError as err:
            msgs.append(f"placebo-in-space inference not computed: {err}")
    msgs = _reader_warnings(panel, pre, post) + list(dict.fromkeys(msgs))
    return StaggeredAnalysis(main=main, twfe=twfe, robust_es=robust_es, twfe_es=twfe_es,
                             robust_es_label=robust_label, twfe_es_label=twfe_label, pretrend=pre,
                             sensitivity=post, randomization=ri, warnings=tuple(msgs))


def _reader_warnings(panel: Any, pre: PretrendTest | None, sens: SensitivityResult | None) -> list[str]:
    out = []
    n_t, n_c = panel.n_treated, panel.n_control
    if n_t == 1:
        out.append("Only one treated region: its effect cannot be told apart from anything else that happened to "
                   "that region at the same time, and analytic standard errors (and the pre-trend test built on "
                   "them) with one treated cluster are not reliable; the placebo-in-space p-value, which moves the "
                   f"policy to each of the {panel.n_regions} regions in turn, is the better guide (its smallest "
                   f"possible value is 1/{panel.n_regions}).")
    elif n_t < 10:
        out.append(f"Only {n_t} treated regions and {n_c} comparison regions: cluster-robust standard errors rely on "
                   "many clusters and tend to be too small here; see the few-cluster inference page.")
    cohort_sizes = pd.Series(panel.cohorts).value_counts()
    singles = int((cohort_sizes == 1).sum())
    if singles:
        out.append(f"{singles} of {cohort_sizes.size} adoption cohorts hold a single region, so cohort-level "
                   "effects are one region's experience.")
    table = panel.cohort_table()
    thin = table[table["pre years"] < 2]
    if not thin.empty:
        out.append(f"{', '.join(thin['region'])} {'has' if len(thin) == 1 else 'have'} fewer than two pre-treatment "
                   "years in the window, so parallel pre-trends cannot be checked for "
                   f"{'it' if len(thin) == 1 else 'them'}.")
    if pre is not None and pre.p_value < 0.05:
        out.append("The pre-trend diagnostic rejects parallel pre-trends at the 5 per cent level: treated and "
                   "comparison regions were already diverging before the policies.")
    if sens is not None and sens.breakdown_significance == 0:
        out.append("The estimate is not significant even under exact parallel trends (breakdown value 0).")
    out.extend(panel.notes)
    return out


# ================================================================================================================
# One specification of the Italian analysis
# ================================================================================================================
@functools.lru_cache(maxsize=1)
def _inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The committed inputs, loaded once per process (workers reuse them across specifications)."""
    from clusterpolicy.data.loaders import load_h2020_italy, load_rd_panel
    from clusterpolicy.data.policy import load_policy_calendar

    return load_rd_panel(), load_h2020_italy(), load_policy_calendar()


def estimate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Estimate one specification of the Italian analysis on the real panel and return a tidy row.

    ``spec`` keys: ``outcome``, ``transform`` (``log``/``per_capita``/``level``), ``coding``, ``control``
    (``notyet``/``never``, used by ``cs`` and ``etwfe``), ``estimator`` (``cs``, ``twfe``, ``sa``,
    ``imputation``, ``did2s``, ``poisson``, ``etwfe``), ``window`` (``"YYYY-YYYY"``), ``anticipation`` (years) and
    optionally ``treated`` (list of NUTS2). The estimate's meaning depends on the estimator (CS: simple ATT;
    TWFE: the static coefficient; SA, imputation: average effect on treated observations); all are effects on the
    transformed outcome.

    Returns
    -------
    dict
        ``estimate, se, ci_low, ci_high, p_value, n_obs, n_treated, n_control, status`` (``"ok"`` or
        ``"not estimable: <reason>"`` when the data cannot identify the specification, e.g. no treated region
        with a pre-period; the numbers are then missing) and ``percent, percent_ci_low, percent_ci_high`` (the
        effect on a common per-cent scale, :func:`to_percent`).
    """
    from clusterpolicy.study.panel import analysis_panel

    rd, h2020, calendar = _inputs()
    lo, hi = parse_window(spec.get("window", "2007-2019"))
    row: dict[str, Any] = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                           "p_value": np.nan, "n_obs": 0, "n_treated": 0, "n_control": 0, "status": "",
                           "percent": np.nan, "percent_ci_low": np.nan, "percent_ci_high": np.nan}
    try:
        panel = analysis_panel(spec["outcome"], transform=spec.get("transform", "log"),
                               coding=spec.get("coding", "onset"), treated=spec.get("treated") or None,
                               first_year=lo, last_year=hi, anticipation=int(spec.get("anticipation", 0)),
                               rd=rd, h2020=h2020, calendar=calendar)
        estimator = spec.get("estimator", "cs")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClusterPolicyWarning)
            res = estimate(panel.data, **ROLES, **_main_kwargs(estimator, spec.get("control", "notyet")))
    except (EstimationError, UserInputError) as err:
        row["status"] = f"not estimable: {str(err).splitlines()[0]}"
        return row
    row.update(estimate=res.estimate, se=res.se, ci_low=res.ci_low, ci_high=res.ci_high,
               p_value=res.p_value if res.p_value is not None else np.nan, n_obs=res.n_obs,
               n_treated=panel.n_treated, n_control=panel.n_control, status="ok")
    row.update(zip(("percent", "percent_ci_low", "percent_ci_high"),
                   to_percent((res.estimate, res.ci_low, res.ci_high), panel)))
    return row


def pre_adoption_mean(panel: Any) -> float:
    """Mean transformed outcome of the treated regions in the year before each one's adoption."""
    data = panel.data
    pre = data[(data["cohort"] > 0) & (data["year"] == data["cohort"] - 1)]
    return float(pre["y"].mean()) if not pre.empty else float("nan")


def to_percent(values: Sequence[float], panel: Any) -> tuple[float, ...]:
    """Effects on a common per-cent scale, so that specifications on different scales can be sorted together.

    Log outcomes: ``100 (exp(b) - 1)``. Levels and per-capita outcomes: ``100 b / m`` with ``m`` the treated
    regions' mean outcome in the year before adoption (:func:`pre_adoption_mean`). Signs and significance are
    unchanged by the rescaling.
    """
    vals = np.asarray(values, dtype=float)
    if panel.transform == "log":
        return tuple(float(v) for v in 100.0 * np.expm1(vals))
    base = pre_adoption_mean(panel)
    return tuple(float(v) for v in 100.0 * vals / base)


def summarise_curve(frame: pd.DataFrame, *, alpha: float = 0.05) -> dict[str, Any]:
    """Counts and shares of a specification curve: how many estimates are positive/negative, significant.

    Shares are over the estimated specifications (``status == "ok"``).
    """
    ok = frame[frame["status"] == "ok"]
    n = len(ok)
    sig = ok["p_value"] < alpha
    pos, neg = ok["estimate"] > 0, ok["estimate"] < 0

    def share(mask: pd.Series) -> float | None:
        return float(mask.mean()) if n else None

    return {
        "n_specs": int(len(frame)), "n_estimated": n, "n_not_estimable": int(len(frame) - n),
        "share_positive": share(pos), "share_negative": share(neg),
        "share_positive_significant": share(pos & sig), "share_negative_significant": share(neg & sig),
        "share_significant": share(sig),
        "median_estimate": float(ok["estimate"].median()) if n else None,
        "median_percent": float(ok["percent"].median()) if n and "percent" in ok else None,
        "min_estimate": float(ok["estimate"].min()) if n else None,
        "max_estimate": float(ok["estimate"].max()) if n else None,
    }


__all__ = [
    "FIXED_CONTROL", "StaggeredAnalysis", "build_specs", "estimate_spec", "indefensible_reason",
    "parse_window", "pre_adoption_mean", "run_grid", "staggered_analysis", "summarise_curve",
    "to_percent", "to_universal_base",
]

