"""One front door to every estimator: :func:`estimate` dispatches on ``estimator`` and always returns an
:class:`~clusterpolicy.estimate.result.EstimationResult`.

This signature is relied upon by the inference, power, synthetic-control and Monte Carlo code; keep it stable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clusterpolicy.errors import UserInputError
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
    uses_control, uses_covariates, uses_method, uses_ssc, uses_bootstrap
        Whether ``control``, ``covariates``, ``method``, ``ssc`` and the multiplier ``bootstrap`` apply.
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
    default_control: str | None = None
    options: tuple[str, ...] = ("level", "df_mode")

    def load(self) -> Callable[..., EstimationResult]:
        import importlib

        module, attr = self.func.split(":")
        return getattr(importlib.import_module(module), attr)


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
                             _E + "counts:poisson", options=("level", "df_mode", "event_study")),
    "etwfe": EstimatorSpec("etwfe", "Wooldridge (2023) extended TWFE Poisson: ATT(g,t) on the count scale",
                           _E + "counts:etwfe_poisson", uses_control=True, default_control="notyet"),
    "negbin": EstimatorSpec("negbin", "negative binomial (NB2) with cohort and period effects; overdispersion tests",
                            _E + "counts:negbin"),
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
    bootstrap
        :class:`~clusterpolicy.estimate.bootstrap.BootstrapSpec` (draws, weights, seed) for the clustered
        multiplier bootstrap with uniform event-study bands (``cs``, ``sa``, ``imputation``, ``did2s``,
        ``twfe_es``); ``None`` for analytic standard errors.
    **options
        Estimator-specific: ``level`` (confidence level, all), ``df_mode`` (``"t"``, the default t(G-1) rule, or
        ``"normal"``; all), ``pretrends`` (imputation), ``event_study`` (poisson).

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
    kwargs: dict[str, Any] = {"unit": unit, "time": time, "cohort": cohort, "outcome": outcome, "cluster": cluster}
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
        kwargs["covariates"] = covariates
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
        kwargs["bootstrap"] = bootstrap
    if "df_mode" in options:
        check_literal(options["df_mode"], DFMode, "df_mode")
    logger.info("estimating %s on %s", estimator, outcome)
    return spec.load()(df, **kwargs, **options)
