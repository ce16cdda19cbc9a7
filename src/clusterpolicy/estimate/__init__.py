"""Estimators for staggered policy adoption. Every estimator returns an :class:`EstimationResult`.

The front door is :func:`estimate` (``clusterpolicy.estimate.api``); :data:`ESTIMATORS` lists the estimators.
The names below are imported on first use, so that importing a light submodule (the option sets in
:mod:`clusterpolicy.estimate.literals`, used by the CLI) does not load pandas, SciPy and the estimators.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ESTIMATORS", "EstimationResult", "EstimatorSpec", "estimate"]


def __getattr__(name: str) -> Any:
    if name in ("ESTIMATORS", "EstimatorSpec", "estimate"):
        from clusterpolicy.estimate import api

        return getattr(api, name)
    if name == "EstimationResult":
        from clusterpolicy.estimate.result import EstimationResult

        return EstimationResult
    raise AttributeError(f"module 'clusterpolicy.estimate' has no attribute {name!r}")
