"""Tables write p-values with the book's one formatter (``study.wording.p_text``)."""

from __future__ import annotations

import math

import pandas as pd

from clusterpolicy.report.tables import format_p_values, is_p_value_column
from clusterpolicy.study.wording import p_text


def test_p_value_columns_are_recognised_by_name() -> None:
    for name in ("p", "P", "p-value", "placebo p-value", "pretrend_p_value", "pre-trend p-value"):
        assert is_p_value_column(name), name
    for name in ("pool", "estimate", "p-value rule", "placebos", "group"):
        assert not is_p_value_column(name), name


def test_small_p_values_are_written_below_one_in_a_thousand_not_rounded() -> None:
    frame = pd.DataFrame({"choice": ["level", "log", "per_capita"], "pre-trend p-value": [0.00082, 0.62, math.nan],
                          "estimate": [0.00082, 1.0, 2.0]})
    out = format_p_values(frame)
    assert out["pre-trend p-value"].tolist()[:2] == ["< 0.001", "0.620"]
    assert pd.isna(out["pre-trend p-value"].iloc[2]), "missing stays missing (shown as a dash)"
    assert out["estimate"].tolist() == frame["estimate"].tolist(), "only p-value columns change"
    assert frame["pre-trend p-value"].iloc[0] == 0.00082, "the caller's frame is not modified"
    assert out["pre-trend p-value"].iloc[1] == p_text(0.62)
