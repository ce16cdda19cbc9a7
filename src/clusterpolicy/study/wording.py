"""Plain-language wording derived from results, so titles and briefs state the finding without typing it.

The words depend only on the estimate and its confidence interval; the numbers themselves reach the prose
through glue.
"""

from __future__ import annotations

import math


def p_text(p: float | None) -> str:
    """A p-value for prose: ``'< 0.001'`` below one in a thousand, else three decimals."""
    if p is None or not math.isfinite(p):
        return "not available"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def direction(ci_low: float | None, ci_high: float | None) -> str:
    """'rose', 'fell' or 'no clear change' from a confidence interval ('no valid interval' without one)."""
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "no valid interval"
    if ci_low > 0:
        return "rose"
    if ci_high < 0:
        return "fell"
    return "no clear change"


def direction_it(ci_low: float | None, ci_high: float | None) -> str:
    """Italian counterpart of :func:`direction` ('è aumentato', 'è diminuito', 'nessuna variazione chiara')."""
    return {
        "rose": "è aumentato",
        "fell": "è diminuito",
        "no clear change": "nessuna variazione chiara",
        "no valid interval": "nessun intervallo valido",
    }[direction(ci_low, ci_high)]


def finding_title(outcome_label: str, ci_low: float | None, ci_high: float | None, *, after: str = "after cluster policies") -> str:
    """A figure title that states the finding, e.g. 'Business R&D personnel: no clear change after cluster policies'."""
    verb = direction(ci_low, ci_high)
    if verb == "no clear change":
        return f"{outcome_label}: no clear change {after}"
    if verb == "no valid interval":
        return f"{outcome_label}: no valid interval for the effect"
    return f"{outcome_label} {verb} {after}"


def percent_change(log_effect: float | None) -> float | None:
    """Percentage change implied by an effect on the log scale (100 * (exp(b) - 1))."""
    if log_effect is None or not math.isfinite(log_effect):
        return None
    return 100.0 * math.expm1(log_effect)


def certainty(p_value: float | None) -> str:
    """A hedge for policymakers, from the p-value (not a substitute for the interval)."""
    if p_value is None or not math.isfinite(p_value):
        return "unknown"
    if p_value < 0.01:
        return "strong evidence"
    if p_value < 0.05:
        return "moderate evidence"
    if p_value < 0.10:
        return "weak evidence"
    return "no reliable evidence"
