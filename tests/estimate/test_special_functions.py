"""The estimators call scipy.special instead of scipy.stats (whose import costs about half a second per run):
the special functions below are what scipy.stats' distributions call internally, so the results are bit-identical.
This pins that down, for the arguments the code passes, in case a scipy release changes either side."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from clusterpolicy.estimate.result import critical_value, p_value, quantile

PROBS = np.array([1e-12, 0.025, 0.05, 0.1, 0.5, 0.8, 0.9, 0.95, 0.975, 1 - 1e-12])
XS = np.array([0.0, 1e-8, 0.3, 1.0, 1.96, 2.5, 7.0, 40.0])
DFS = [1, 2, 4, 11, 19, 42, 200]


def test_normal():
    assert np.array_equal(special.ndtri(PROBS), stats.norm.ppf(PROBS))
    assert np.array_equal(special.ndtr(XS), stats.norm.cdf(XS))
    assert np.array_equal(special.ndtr(-XS), stats.norm.sf(XS))
    assert np.array_equal(special.ndtr(-XS), stats.norm.cdf(-XS))


@pytest.mark.parametrize("df", DFS)
def test_t_chi2_f(df):
    assert np.array_equal(special.stdtrit(df, PROBS), stats.t.ppf(PROBS, df))
    assert np.array_equal(special.stdtr(df, -XS), stats.t.sf(XS, df))
    assert np.array_equal(special.chdtrc(df, XS), stats.chi2.sf(XS, df))
    assert np.array_equal(special.fdtrc(df, 7, XS), stats.f.sf(XS, df, 7))


@pytest.mark.parametrize("df", [None, *DFS])
def test_result_helpers(df):
    dist = stats.norm if df is None else stats.t(df)
    assert quantile(0.8, df) == dist.ppf(0.8)
    assert critical_value(0.95, df) == dist.ppf(0.975)
    assert p_value(0.3, 0.2, df) == 2 * dist.sf(0.3 / 0.2)
