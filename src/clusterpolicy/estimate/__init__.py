"""Estimators for staggered policy adoption. Every estimator returns an :class:`EstimationResult`.

The front door is :func:`estimate` (``clusterpolicy.estimate.api``); :data:`ESTIMATORS` lists the estimators.
"""

from clusterpolicy.estimate.api import ESTIMATORS, EstimatorSpec, estimate
from clusterpolicy.estimate.result import EstimationResult

__all__ = ["ESTIMATORS", "EstimationResult", "EstimatorSpec", "estimate"]
