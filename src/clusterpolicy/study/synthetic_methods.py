"""The published per-method keys of the Emilia-Romagna synthetic-control page (``notebooks/synthetic_control.md``).

A thin wrapper over :func:`clusterpolicy.study.synthetic.method_keys` (whose rules, donor pools and estimators stay
in :mod:`clusterpolicy.study.synthetic`): the same ``<method>_<pool>_<quantity>`` keys, each declared as a field so
a number on a page greps to its field here, published whole by the template. Estimands and assumptions: those of
:mod:`clusterpolicy.study.synthetic` (the post-onset gap in log business R&D personnel between the region and its
counterfactual; placebo p-values, no analytic interval with one treated region).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from clusterpolicy.errors import UserInputError


@dataclass(frozen=True)
class MethodValues:
    """Estimate, per-cent effect, placebo p-value (and its wording), number of placebos, smallest attainable
    p-value, pre-period fit and verdict of every method (synthetic control ``sc``, synthetic DiD ``sdid``, equally
    weighted DiD ``did``) on every donor pool (``centre_north``, ``eu_similar``)."""

    sc_centre_north_estimate: float | None
    sc_centre_north_percent: float | None
    sc_centre_north_p_value: float | None
    sc_centre_north_p_text: str
    sc_centre_north_n_placebos: int | None
    sc_centre_north_smallest_possible_p: float | None
    sc_centre_north_pre_rmse: float | None
    sc_centre_north_verdict: str
    sc_eu_similar_estimate: float | None
    sc_eu_similar_percent: float | None
    sc_eu_similar_p_value: float | None
    sc_eu_similar_p_text: str
    sc_eu_similar_n_placebos: int | None
    sc_eu_similar_smallest_possible_p: float | None
    sc_eu_similar_pre_rmse: float | None
    sc_eu_similar_verdict: str
    sdid_centre_north_estimate: float | None
    sdid_centre_north_percent: float | None
    sdid_centre_north_p_value: float | None
    sdid_centre_north_p_text: str
    sdid_centre_north_n_placebos: int | None
    sdid_centre_north_smallest_possible_p: float | None
    sdid_centre_north_pre_rmse: float | None
    sdid_centre_north_verdict: str
    sdid_eu_similar_estimate: float | None
    sdid_eu_similar_percent: float | None
    sdid_eu_similar_p_value: float | None
    sdid_eu_similar_p_text: str
    sdid_eu_similar_n_placebos: int | None
    sdid_eu_similar_smallest_possible_p: float | None
    sdid_eu_similar_pre_rmse: float | None
    sdid_eu_similar_verdict: str
    did_centre_north_estimate: float | None
    did_centre_north_percent: float | None
    did_centre_north_p_value: float | None
    did_centre_north_p_text: str
    did_centre_north_n_placebos: int | None
    did_centre_north_smallest_possible_p: float | None
    did_centre_north_pre_rmse: float | None
    did_centre_north_verdict: str
    did_eu_similar_estimate: float | None
    did_eu_similar_percent: float | None
    did_eu_similar_p_value: float | None
    did_eu_similar_p_text: str
    did_eu_similar_n_placebos: int | None
    did_eu_similar_smallest_possible_p: float | None
    did_eu_similar_pre_rmse: float | None
    did_eu_similar_verdict: str


def method_values(values: dict[str, Any]) -> MethodValues:
    """``values`` (the ``values`` dict of :func:`clusterpolicy.study.synthetic.published`) as a frozen dataclass.

    Raises
    ------
    UserInputError
        If a key is missing or not declared (a method or pool added to ``study/synthetic.py``): declare it here.
    """
    names = {f.name for f in fields(MethodValues)}
    missing, extra = sorted(names - set(values)), sorted(set(values) - names)
    if missing or extra:
        raise UserInputError(f"synthetic-control keys do not match MethodValues (missing {missing}, undeclared "
                             f"{extra}); declare them in src/clusterpolicy/study/synthetic_methods.py.")
    return MethodValues(**values)


__all__ = ["MethodValues", "method_values"]
