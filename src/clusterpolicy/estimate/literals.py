"""Option sets of the estimators as ``Literal`` aliases, checked by one validator (pattern of pyfixest's
``internals/literals.py``). The CLI builds its choice types from these aliases, so an option exists in one place."""

from __future__ import annotations

from typing import Any, Literal, get_args

from clusterpolicy.errors import UserInputError

EstimatorName = Literal["twfe", "twfe_es", "cs", "sa", "imputation", "did2s", "poisson", "etwfe", "negbin", "sc",
                        "sdid"]
ControlGroup = Literal["notyet", "never"]
CSMethod = Literal["dr", "ipw", "reg"]
SSC = Literal["fixest", "linearmodels"]
CSAggregation = Literal["simple", "dynamic", "group", "calendar"]
#: Critical values: ``"t"`` = Student t with G - 1 degrees of freedom (the project's rule), ``"normal"`` = R did's.
DFMode = Literal["t", "normal"]
#: Multiplier / wild bootstrap weights (mean 0, variance 1).
BootWeights = Literal["rademacher", "mammen", "webb"]
#: Inference of the synthetic estimators.
SynthInference = Literal["placebo", "jackknife", "bootstrap"]
#: Estimators of the synthetic family sharing one weight solver (synthdid's ``sdid``, ``sc`` and plain ``did``).
SynthMethod = Literal["sdid", "sc", "did"]
#: p-value of the wild cluster bootstrap (fwildclusterboot's ``p_val_type``).
PValueType = Literal["two-tailed", "equal-tailed"]
#: Statistic and alternative of randomisation inference (``inference.randomization_inference``).
RIStatistic = Literal["estimate", "t"]
RIAlternative = Literal["two-sided", "greater", "less"]
SensitivityRestriction = Literal["rm", "sd"]
SensitivityTarget = Literal["first", "average"]


def choices(alias: Any) -> tuple[str, ...]:
    """The options of a ``Literal`` alias, in order (for CLI choice types and messages)."""
    return tuple(str(a) for a in get_args(alias))


def check_literal(value: Any, alias: Any, name: str) -> Any:
    """Return ``value`` if it is one of ``alias``'s options, else raise a one-line :class:`UserInputError`.

    Parameters
    ----------
    value
        The value the user passed.
    alias
        A ``typing.Literal`` alias from this module.
    name
        The parameter's name, used in the message.
    """
    allowed = get_args(alias)
    if value not in allowed:
        raise UserInputError(
            f"{name}={value!r} is not a valid option; use one of {', '.join(repr(a) for a in allowed)}."
        )
    return value
