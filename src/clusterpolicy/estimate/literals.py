"""Option sets of the estimators as ``Literal`` aliases, checked by one validator (pattern of pyfixest's
``internals/literals.py``)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from clusterpolicy.errors import UserInputError

EstimatorName = Literal["twfe", "twfe_es", "cs", "sa", "imputation", "did2s", "poisson", "etwfe", "negbin"]
ControlGroup = Literal["notyet", "never"]
CSMethod = Literal["dr", "ipw", "reg"]
SSC = Literal["fixest", "linearmodels"]
CSAggregation = Literal["simple", "dynamic", "group", "calendar"]
ETWFEControl = Literal["notyet", "never"]


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
