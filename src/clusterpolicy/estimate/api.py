"""One front door to every estimator: :func:`estimate` dispatches on ``estimator`` and always returns an
:class:`~clusterpolicy.estimate.result.EstimationResult`.

This signature is relied upon by the inference, power, synthetic-control and Monte Carlo code; keep it stable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate._panel import Panel, Request, request_for, with_cohorts
from clusterpolicy.estimate.bootstrap import BootstrapSpec
from clusterpolicy.estimate.literals import SSC, ControlGroup, CSMethod, DFMode, EstimatorName, check_literal
from clusterpolicy.estimate.result import EstimationResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstimatorSpec:
    """What an estimator is and which arguments it accepts.

    Attributes
    ----------
    name, description
        Short name and a one-line description (estimand and paper).
    func
        ``module:function`` implementing it (imported lazily so the CLI starts fast).
    uses_control, uses_covariates, uses_method, uses_ssc, uses_bootstrap, uses_replications
        Whether ``control``, ``covariates``, ``method``, ``ssc``, the multiplier ``bootstrap`` and resampling
        ``replications`` apply.
    count
        The outcome must be a non-negative count or rate (checked when the panel is prepared).
    default_control
        Control group used when ``control`` is not given.
    options
        Extra keyword options accepted through ``**options``.
    """

    name: str
    description: str
    func: str
    uses_control: bool = False
    uses_covariates: bool = False
    uses_method: bool = False
    uses_ssc: bool = False
    uses_bootstrap: bool = False
    uses_replications: bool = False
    count: bool = False
    default_control: str | None = None
    options: tuple[str, ...] = ("level", "df_mode")

    def load(self) -> Callable[..., EstimationResult]:
        import importlib

        module, attr = self.func.split(":")
        func: Callable[..., EstimationResult] = getattr(importlib.import_module(module), attr)
        return func


_E = "clusterpolicy.estimate."

#: Every estimator :func:`estimate` knows, by name.
ESTIMATORS: dict[str, EstimatorSpec] = {
    "twfe": EstimatorSpec("twfe", "static two-way fixed effects: coefficient on treated-and-after (linear)",
                          _E + "twfe:twfe", uses_covariates=True, uses_ssc=True),
    "twfe_es": EstimatorSpec("twfe_es", "TWFE event study with relative-time dummies, reference period -1",
                             _E + "twfe:twfe_event_study", uses_covariates=True, uses_ssc=True,
                             uses_bootstrap=True),
    "cs": EstimatorSpec("cs", "Callaway & Sant'Anna (2021) ATT(g,t) and aggregations (R did 2.3.0)",
                        _E + "did:callaway_santanna", uses_control=True, uses_covariates=True, uses_method=True,
                        uses_bootstrap=True, default_control="never"),
    "sa": EstimatorSpec("sa", "Sun & Abraham (2021) interaction-weighted event study and ATT (fixest sunab)",
                        _E + "sunab:sun_abraham", uses_covariates=True, uses_ssc=True, uses_bootstrap=True),
    "imputation": EstimatorSpec("imputation", "Borusyak, Jaravel & Spiess (2024) imputation estimator",
                                _E + "imputation:imputation", uses_bootstrap=True,
                                options=("level", "df_mode", "pretrends")),
    "did2s": EstimatorSpec("did2s", "Gardner (2022) two-stage difference-in-differences",
                           _E + "imputation:did2s", uses_bootstrap=True),
    "poisson": EstimatorSpec("poisson", "Poisson fixed effects (PPML): log rate ratio of treated-and-after",
                             _E + "counts:poisson", count=True, options=("level", "df_mode", "event_study")),
    "etwfe": EstimatorSpec("etwfe", "Wooldridge (2023) extended TWFE Poisson: ATT(g,t) on the count scale",
                           _E + "counts:etwfe_poisson", uses_control=True, count=True, default_control="notyet"),
    "sc": EstimatorSpec("sc", "synthetic control with synthdid's weights, cohort by cohort (Abadie et al. 2010)",
                        _E + "synthdid:synth_estimator", uses_replications=True,
                        options=("level", "df_mode", "replications", "seed", "method", "synth_inference")),
    "sdid": EstimatorSpec("sdid", "synthetic difference-in-differences (Arkhangelsky et al. 2021), cohort by cohort",
                          _E + "synthdid:synth_estimator", uses_replications=True,
                          options=("level", "df_mode", "replications", "seed", "method", "synth_inference")),
    "negbin": EstimatorSpec("negbin", "negative binomial (NB2) with cohort and period effects; overdispersion tests",
                            _E + "counts:negbin", count=True),
}


def estimate(
    df: pd.DataFrame,
    *,
    estimator: EstimatorName,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    control: ControlGroup | None = None,
    covariates: Sequence[str] = (),
    method: CSMethod = "dr",
    cluster: str | None = None,
    ssc: SSC = "fixest",
    bootstrap: BootstrapSpec | None = None,
    single_treated_rule: bool = True,
    **options: Any,
) -> EstimationResult:
    """Estimate a policy effect with the named estimator.

    Parameters
    ----------
    df
        Long panel, one row per unit and period; never modified.
    estimator
        One of :data:`ESTIMATORS` (``twfe``, ``twfe_es``, ``cs``, ``sa``, ``imputation``, ``did2s``, ``poisson``,
        ``etwfe``, ``negbin``).
    unit, time, cohort, outcome
        Column names. ``cohort`` holds the first treated period; 0 or missing = never treated.
    control
        ``"never"`` or ``"notyet"`` for ``cs`` and ``etwfe``; ``None`` uses the estimator's default (``cs``:
        never, as R did; ``etwfe``: notyet, as Wooldridge). Other estimators have a fixed comparison group and
        reject a non-``None`` value.
    covariates
        Covariates (``twfe``, ``twfe_es``, ``sa``: added linearly; ``cs``: conditional parallel trends).
    method
        ``cs`` only: ``"dr"`` (default), ``"ipw"`` or ``"reg"``.
    cluster
        Cluster column (default: the unit).
    ssc
        Small-sample convention of the linear fixed-effects estimators: ``"fixest"`` (default) or
        ``"linearmodels"`` (see :mod:`clusterpolicy.estimate.twfe`).
    single_treated_rule
        With one treated unit (or cluster), replace the analytic interval by placebo-in-space inference
        (:func:`single_treated_inference`). ``False`` keeps the analytic numbers, for simulation studies that
        measure how badly they behave.
    bootstrap
        :class:`~clusterpolicy.estimate.bootstrap.BootstrapSpec` (draws, weights, seed) for the clustered
        multiplier bootstrap with uniform event-study bands (``cs``, ``sa``, ``imputation``, ``did2s``,
        ``twfe_es``); ``None`` for analytic standard errors.
    **options
        Estimator-specific: ``level`` (confidence level, all), ``df_mode`` (``"t"``, the default t(G-1) rule, or
        ``"normal"``; all), ``pretrends`` (imputation), ``event_study`` (poisson), ``replications``, ``seed`` and
        ``synth_inference`` (sc, sdid: see :func:`~clusterpolicy.estimate.synthdid.synth_estimator`).

    Returns
    -------
    EstimationResult

    Raises
    ------
    UserInputError
        For an unknown estimator or option, or an option the estimator does not use.

    Examples
    --------
    >>> from clusterpolicy.data.synthetic import simulate_region_panel
    >>> sim = simulate_region_panel(seed=3)
    >>> res = estimate(sim.data, estimator="twfe", unit="region", time="year", cohort="cohort", outcome="y")
    >>> res.estimator
    'twfe'
    """
    check_literal(estimator, EstimatorName, "estimator")
    spec = ESTIMATORS[estimator]
    check_literal(method, CSMethod, "method")
    check_literal(ssc, SSC, "ssc")
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise UserInputError(
            f"option(s) {', '.join(unknown)} not accepted by estimator {estimator!r}; it accepts "
            f"{', '.join(spec.options)}."
        )
    kwargs: dict[str, Any] = {}
    if control is not None:
        check_literal(control, ControlGroup, "control")
        if not spec.uses_control:
            raise UserInputError(
                f"control={control!r} does not apply to estimator {estimator!r} (its comparison group is fixed); "
                "use 'cs' or 'etwfe' to choose the control group, or leave control unset."
            )
    if spec.uses_control:
        kwargs["control"] = control or spec.default_control
    if covariates:
        if not spec.uses_covariates:
            raise UserInputError(
                f"estimator {estimator!r} does not take covariates (got {', '.join(covariates)}); use 'cs', 'twfe', "
                "'twfe_es' or 'sa', or drop the covariates."
            )
    if spec.uses_method:
        kwargs["method"] = method
    elif method != "dr":
        raise UserInputError(f"method={method!r} applies only to estimator 'cs'.")
    if spec.uses_ssc:
        kwargs["ssc"] = ssc
    elif ssc != "fixest":
        raise UserInputError(f"ssc={ssc!r} applies only to 'twfe', 'twfe_es' and 'sa'.")
    if bootstrap is not None:
        if not spec.uses_bootstrap:
            with_boot = ", ".join(n for n, s in ESTIMATORS.items() if s.uses_bootstrap)
            raise UserInputError(
                f"the multiplier bootstrap is not available for estimator {estimator!r}; use one of {with_boot} "
                "(for 'twfe', the wild cluster bootstrap of clusterpolicy.estimate.inference)."
            )
    shared = {k: options.pop(k) for k in ("level", "df_mode") if k in options}
    check_literal(shared.get("df_mode", "t"), DFMode, "df_mode")
    if spec.uses_replications:
        options = {**options, "method": estimator}
    roles: dict[str, Any] = {"unit": unit, "time": time, "cohort": cohort, "outcome": outcome, "covariates": covariates,
             "cluster": cluster, "count": spec.count}

    def fit(frame: pd.DataFrame) -> EstimationResult:
        # one panel preparation and validation for every estimator
        return spec.load()(request_for(frame, **roles, bootstrap=bootstrap, **shared), **kwargs, **options)

    logger.debug("estimating %s on %s", estimator, outcome)
    result = fit(df)
    if single_treated_rule and not spec.uses_replications and _treated_clusters(
            df, unit=unit, time=time, cohort=cohort, cluster=cluster) == 1:
        result = single_treated_inference(result, df, unit=unit, time=time, cohort=cohort, cluster=cluster,
                                          refit=fit)
    return result


class BoundEstimate:
    """:func:`estimate` with every argument but the data bound: ``BoundEstimate(estimator="twfe", unit=...)(df)``
    is ``estimate(df, estimator="twfe", unit=...)``.

    Randomisation inference and power simulations take such an object wherever they take a ``fit(df)`` callable.
    Being told the estimator and its arguments, not only a black box, they can ask :meth:`refitter` for a prepared
    refit of ``df`` that changes only the cohorts or only the outcome, and skip the per-fit preparation that those
    changes leave the same (see :class:`clusterpolicy.estimate.twfe.TwfeRefit`). The numbers are those of
    :func:`estimate`. ``quiet=True`` silences :class:`~clusterpolicy.errors.ClusterPolicyWarning` (refits repeat
    the warnings of the first fit).
    """

    def __init__(self, *, quiet: bool = False, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.quiet = quiet

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"BoundEstimate({args}, quiet={self.quiet})"

    def __call__(self, df: pd.DataFrame) -> EstimationResult:
        if not self.quiet:
            return estimate(df, **self.kwargs)
        import warnings

        from clusterpolicy.errors import ClusterPolicyWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClusterPolicyWarning)
            return estimate(df, **self.kwargs)

    def refitter(self, df: pd.DataFrame) -> Refitter | None:
        """A prepared refit of ``df`` whose results equal ``self`` on ``df`` with new cohorts or a new outcome, or
        ``None`` when this estimator and these arguments have none (then call ``self`` on each modified frame).

        Covered, when the one-treated-unit rule cannot apply (``single_treated_rule=False``, or clusters are units
        and ``df`` does not have exactly one treated unit: permuting cohorts across units keeps that count) and
        without ``bootstrap``:

        * ``twfe`` (fixest convention, no covariates): new cohorts and new outcomes
          (:class:`~clusterpolicy.estimate.twfe.TwfeRefit`);
        * ``cs``, ``imputation`` and ``etwfe``: new cohorts; the panel is prepared once and only its timing columns are
          replaced (:func:`~clusterpolicy.estimate._panel.with_cohorts`), then the estimator runs as usual, or only
          up to its headline estimate when that is all the caller needs (for ``etwfe``, a numpy IRLS of the same
          Poisson model, :func:`~clusterpolicy.estimate.counts.etwfe_estimate`).

        ``df`` is fitted once in full first, so invalid arguments fail here exactly as in :func:`estimate`.
        """
        import warnings

        from clusterpolicy.errors import ClusterPolicyWarning

        kw = dict(self.kwargs)
        name = kw.pop("estimator", None)
        roles = {k: kw.pop(k, None) for k in ("unit", "time", "cohort", "outcome", "cluster")}
        shared = {k: kw.pop(k) for k in ("level", "df_mode") if k in kw}
        single_rule = kw.pop("single_treated_rule", True)
        covariates = kw.pop("covariates", ())
        covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
        control, method = kw.pop("control", None), kw.pop("method", "dr")
        pretrends = kw.pop("pretrends", None) if name == "imputation" else None
        if name not in ("twfe", "cs", "imputation", "etwfe") or kw.pop("ssc", "fixest") != "fixest" or kw.pop("bootstrap", None):
            return None
        if kw or any(roles[k] is None for k in ("unit", "time", "cohort", "outcome")):
            return None  # options no prepared refit knows, or a missing role: estimate() reports it
        if name == "twfe" and covariates:
            return None
        unit, time, cohort, outcome = (str(roles[k]) for k in ("unit", "time", "cohort", "outcome"))
        cluster = roles["cluster"]
        if single_rule and (
            (cluster is not None and cluster != unit)
            or _treated_clusters(df, unit=unit, time=time, cohort=cohort, cluster=None) == 1):
            return None
        self(df)  # validates the arguments and the data as estimate() does (and raises as it does)
        with warnings.catch_warnings():
            if self.quiet:
                warnings.simplefilter("ignore", ClusterPolicyWarning)
            request = request_for(df, unit=unit, time=time, cohort=cohort, outcome=outcome, covariates=covariates,
                                  cluster=cluster, **shared)
            impl: _Refit
            if name == "twfe":
                from clusterpolicy.estimate.twfe import TwfeRefit

                impl = TwfeRefit(request)
            elif name == "cs":
                from clusterpolicy.estimate.did import callaway_santanna, cs_estimate

                ctrl = cast(ControlGroup, control or ESTIMATORS["cs"].default_control)

                def run_cs(req: Request) -> EstimationResult:
                    return callaway_santanna(req, control=ctrl, method=method)

                def estimate_cs(req: Request) -> float:
                    return cs_estimate(req, control=ctrl, method=method)

                impl = _PanelRefit(request, run_cs, estimate_cs, quiet=self.quiet)
            elif name == "etwfe":
                from clusterpolicy.estimate.counts import etwfe_estimate, etwfe_poisson

                ctrl_e = cast(ControlGroup, control or ESTIMATORS["etwfe"].default_control)

                def run_etwfe(req: Request) -> EstimationResult:
                    return etwfe_poisson(req, control=ctrl_e)

                def estimate_etwfe(req: Request) -> float:
                    return etwfe_estimate(req, control=ctrl_e)

                impl = _PanelRefit(request, run_etwfe, estimate_etwfe, quiet=self.quiet)
            else:
                from clusterpolicy.estimate.imputation import imputation, imputation_estimate

                def run_imputation(req: Request) -> EstimationResult:
                    return imputation(req, pretrends=pretrends)

                impl = _PanelRefit(request, run_imputation, imputation_estimate, quiet=self.quiet)
        # Row of ``df`` behind each panel row (prepare_panel sorts by unit and time and drops missing outcomes).
        keys = pd.MultiIndex.from_frame(df[[unit, time]])
        rows = keys.get_indexer(pd.MultiIndex.from_frame(impl.panel.data[[unit, time]]))
        return Refitter(impl, rows, len(df))


class _Refit(Protocol):
    """A prepared estimator on one panel; arrays are one value per panel row, in the panel's order."""

    @property
    def panel(self) -> Panel: ...

    def with_cohorts(self, cohorts: np.ndarray, *, estimate_only: bool = False) -> EstimationResult | float: ...

    def with_outcome(self, y: np.ndarray) -> EstimationResult | None: ...


class _PanelRefit:
    """An estimator that reads the prepared panel (``run(request)``), refitted with new cohorts: the panel is
    prepared once and only its timing columns are replaced; ``estimate_only(request)`` is the same estimator
    stopped at its headline estimate."""

    def __init__(self, request: Request, run: Callable[[Request], EstimationResult],
                 estimate_only: Callable[[Request], float], *, quiet: bool) -> None:
        self._request, self._run, self._estimate_only, self._quiet = request, run, estimate_only, quiet

    @property
    def panel(self) -> Panel:
        return self._request.panel

    def with_cohorts(self, cohorts: np.ndarray, *, estimate_only: bool = False) -> EstimationResult | float:
        import warnings
        from dataclasses import replace

        from clusterpolicy.errors import ClusterPolicyWarning

        with warnings.catch_warnings():
            if self._quiet:
                warnings.simplefilter("ignore", ClusterPolicyWarning)
            request = replace(self._request, panel=with_cohorts(self._request.panel, cohorts))
            return self._estimate_only(request) if estimate_only else self._run(request)

    def with_outcome(self, y: np.ndarray) -> EstimationResult | None:
        return None


class Refitter:
    """Refits of one prepared frame: :meth:`with_cohorts` and :meth:`with_outcome` take one value per row of the
    frame given to :meth:`BoundEstimate.refitter` (in its row order) and return what the bound estimator gives on
    that frame with the column replaced."""

    def __init__(self, impl: _Refit, rows: np.ndarray, n_rows: int) -> None:
        self._impl = impl
        self._rows = rows
        self._n_rows = n_rows

    def with_cohorts(self, cohorts: np.ndarray, *, estimate_only: bool = False) -> EstimationResult | float:
        """The result, or with ``estimate_only=True`` possibly only its ``estimate`` (a float)."""
        values = pd.to_numeric(pd.Series(cohorts), errors="coerce").to_numpy(dtype=float)
        if values.size != self._n_rows:
            raise UserInputError(f"Refitter: {values.size} cohorts for {self._n_rows} rows.")
        return self._impl.with_cohorts(values[self._rows], estimate_only=estimate_only)

    def with_outcome(self, outcome: np.ndarray) -> EstimationResult | None:
        """``None`` when the sample would change (a missing value now, or a row the first fit dropped) or the
        estimator has no outcome refit: call the bound estimator on the frame then."""
        values = np.asarray(outcome, dtype=float)
        if values.size != self._n_rows or self._rows.size != self._n_rows or not np.all(np.isfinite(values)):
            return None
        return self._impl.with_outcome(values[self._rows])


def _treated_clusters(df: pd.DataFrame, *, unit: str, time: str, cohort: str, cluster: str | None) -> int:
    """Number of clusters holding a unit first treated inside the observed periods."""
    g = pd.to_numeric(df[cohort], errors="coerce").fillna(0)
    t = pd.to_numeric(df[time], errors="coerce")
    treated = (g > 0) & (g <= t.max())
    return int(df.loc[treated, cluster or unit].nunique())


def single_treated_inference(
    result: EstimationResult, df: pd.DataFrame, *, unit: str, time: str, cohort: str, cluster: str | None,
    refit: Callable[[pd.DataFrame], EstimationResult],
) -> EstimationResult:
    """The rule for one treated unit (or cluster): no analytic or bootstrap interval, placebo-in-space inference.

    Cluster-robust standard errors rest on the treated cluster's own score, which is zero (or one number) when a
    single cluster is treated, so analytic intervals under-cover badly (our Monte Carlo: 30 % coverage of nominal
    95 %); the multiplier bootstrap resamples the same scores and inherits the failure, so its pointwise intervals,
    uniform bands and sup-t critical value are removed too (the SE stays, for reference only).

    With one treated *unit* the p-value comes from placebos in space, studentised by each unit's pre-period
    residual standard deviation (Ferman and Pinto 2019; :func:`~clusterpolicy.estimate.few_treated.
    placebo_in_space`), re-running the same estimator with the policy moved to every control unit
    (:attr:`EstimationResult.placebo`). Assumption: the placebo units' statistics are exchangeable with the treated
    unit's under no effect. With at least 10 controls the Conley-Taber (2011) interval of the static DiD
    coefficient is computed (:attr:`EstimationResult.conley_taber`; assumption: the treated unit's error
    distribution is that of the controls). It is the published interval when it is an interval for the result's
    own estimate (static TWFE, whose coefficient is that static DiD coefficient); otherwise the interval inverts
    the placebo test under a constant effect. ``inference.se_type`` names which.

    With one treated cluster of several units neither placebo over units (units of a cluster are not
    independent) nor a clustered interval is valid: no interval and no p-value, and a one-line warning says why.
    """
    import math
    import warnings
    from dataclasses import replace

    from clusterpolicy.errors import ClusterPolicyWarning, EstimationError
    from clusterpolicy.estimate.few_treated import conley_taber, placebo_in_space
    from clusterpolicy.estimate.result import ConleyTaberInterval, PlaceboSummary

    nan = float("nan")
    es = result.event_study
    if es is not None:
        es = es.assign(ci_low=nan, ci_high=nan)
        if "uniform_low" in es:
            es = es.assign(uniform_low=nan, uniform_high=nan)
    # nothing resampled from the treated cluster's scores is published: no bootstrap band or critical value
    cleared = replace(result.inference, critical_value=nan, df=None, uniform_critical_value=None)
    if cluster is not None and cluster != unit and df.loc[pd.to_numeric(df[cohort], errors="coerce").fillna(0) > 0,
                                                         unit].nunique() > 1:
        msg = (f"one treated cluster ({cluster!r}) holding several treated units: no interval or p-value is valid "
               "(clustered SEs need several treated clusters; placebos over units ignore the clustering). Fix: "
               "compare clusters (aggregate the panel to one row per cluster and period) to get placebo inference")
        return replace(result, ci_low=nan, ci_high=nan, p_value=None, event_study=es,
                       inference=replace(cleared, method="none", se_type=msg),
                       warnings=(*result.warnings, msg))
    notes = ["one treated unit: analytic and bootstrap standard errors and intervals are not valid; "
             "the p-value comes from placebos in space"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClusterPolicyWarning)
            placebo = placebo_in_space(df, refit, unit=unit, time=time, cohort=cohort, outcome=result.outcome,
                                       level=result.inference.level,
                                       shift="multiplicative" if result.estimator in ("poisson", "negbin")
                                       else "additive")
    except (EstimationError, UserInputError) as err:
        inference = replace(cleared, method="none",
                            se_type=f"one treated unit; placebo inference not possible: {err}")
        return replace(result, ci_low=nan, ci_high=nan, p_value=None, inference=inference, event_study=es,
                       warnings=(*result.warnings, notes[0].split(";")[0] + f"; placebos not possible ({err})"))
    summary = PlaceboSummary(
        p_value=placebo.p_value, p_value_unstudentised=placebo.p_value_unstudentised,
        n_placebos=placebo.n_placebos, statistic=placebo.statistic,
        ci_low=placebo.ci_low if math.isfinite(placebo.ci_low) else None,
        ci_high=placebo.ci_high if math.isfinite(placebo.ci_high) else None)
    ct_interval: ConleyTaberInterval | None = None
    if placebo.n_placebos >= 10:
        try:
            ct = conley_taber(df, unit=unit, time=time, cohort=cohort, outcome=result.outcome,
                              level=result.inference.level)
            # the CT interval is about the static DiD coefficient: publish it only where that is our estimate
            same = result.estimator == "twfe" and math.isclose(ct.estimate, result.estimate, rel_tol=1e-8,
                                                                 abs_tol=1e-10)
            ct_interval = ConleyTaberInterval(estimate=ct.estimate, ci_low=ct.ci_low, ci_high=ct.ci_high,
                                              n_controls=ct.n_controls, used=same)
        except (EstimationError, UserInputError) as err:
            notes.append(f"Conley-Taber interval not computed: {err}")
    se_type = placebo.method + "; p-value from the placebo ranks; "
    if ct_interval is not None and ct_interval.used:
        low, high = ct_interval.ci_low, ct_interval.ci_high
        se_type += "interval: Conley-Taber (2011) from the controls' residuals"
    else:
        low, high = placebo.ci_low, placebo.ci_high
        se_type += "interval: inverting the placebo test under a constant effect"
    shown = "the multiplier bootstrap's SE" if result.inference.n_boot else "the analytic SE"
    inference = replace(cleared, method="placebo-in-space", se_type=se_type + f"; {shown} is shown for reference only")
    return replace(result, ci_low=low, ci_high=high, p_value=placebo.p_value, inference=inference, event_study=es,
                   placebo=summary, conley_taber=ct_interval,
                   warnings=(*result.warnings, *placebo.warnings, *notes))
