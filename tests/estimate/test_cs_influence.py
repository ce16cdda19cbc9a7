"""Callaway-Sant'Anna: influence functions of the aggregated tables, the closed-form no-covariate path, and
agreement with the Python peer diff-diff (dev-only; skipped when it is not installed)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.estimate._panel import prepare_panel, request_for
from clusterpolicy.estimate.did import _TWO_BY_TWO, aggregate, att_gt, callaway_santanna

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "did_mpdta"
MPDTA = dict(unit="countyreal", time="year", cohort="first.treat", outcome="lemp")
SIM = dict(unit="id", time="t", cohort="g", outcome="y")
KINDS = ("simple", "dynamic", "group", "calendar")


def simulate(units: int, periods: int, seed: int) -> pd.DataFrame:
    """The panel of benchmarks/bench_cs.py: staggered cohorts 4, 6, 8 and never treated, effect 0.5."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([0, 4, 6, 8]), units)
    unit = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    gg = g[unit]
    y = rng.normal(size=units)[unit] + 0.1 * t + np.where((gg > 0) & (t >= gg), 0.5, 0.0) + rng.normal(size=unit.size)
    return pd.DataFrame({"id": unit, "t": t, "g": gg, "y": y})


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(REF / "mpdta.csv")


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    data = simulate(2000, 10, 1)
    return data.assign(cl=data["id"] % 60)


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("covariates", [(), ("lpop",)])
def test_table_influence_gives_the_reported_ses(mpdta: pd.DataFrame, control: str, covariates: tuple) -> None:
    fit = att_gt(prepare_panel(mpdta, **MPDTA, covariates=covariates), control=control)
    for kind in KINDS:
        agg = aggregate(fit, kind)
        psi = agg.table_influence
        assert psi.shape == (fit.n_units, len(agg.table))
        if kind == "simple":
            continue
        n = psi.shape[0]
        vcov = psi.T @ psi / n**2
        assert_allclose(np.diag(vcov), agg.table["se"].to_numpy() ** 2, rtol=0, atol=1e-12)
    dyn = aggregate(fit, "dynamic")
    pos = dyn.table["key"].to_numpy() >= 0
    assert_allclose(dyn.table_influence[:, pos].mean(axis=1), dyn.overall_influence, rtol=0, atol=1e-12)


def test_table_influence_clustered(sim: pd.DataFrame) -> None:
    fit = att_gt(prepare_panel(sim, **SIM, cluster="cl"))
    agg = aggregate(fit, "dynamic")
    psi = agg.table_influence
    summed = pd.DataFrame(psi).groupby(fit.clusters).sum().to_numpy()
    vcov = summed.T @ summed / psi.shape[0] ** 2
    assert_allclose(np.sqrt(np.diag(vcov)), agg.table["se"].to_numpy(), rtol=1e-12, atol=0)


def _reference_event_study(fit) -> tuple[np.ndarray, np.ndarray]:
    """The event-study influence matrix as grid.cs_event_study built it (dense R ``wif``), for comparison."""
    ok = np.isfinite(fit.att)
    group, t, att, inf = fit.group[ok], fit.time[ok], fit.att[ok], fit.influence[:, ok]
    g_unit = fit.unit_cohort
    glist = np.sort(np.unique(group))
    pgg = np.array([(g_unit == g).mean() for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    ev = t - group
    est, cols = [], []
    for e in np.sort(np.unique(ev)):
        which = np.flatnonzero(ev == e)
        w = pg[which] / pg[which].sum()
        ind = (g_unit[:, None] == group[which][None, :]).astype(float) - pg[which][None, :]
        total = pg[which].sum()
        wif = ind / total - ind.sum(axis=1)[:, None] * (pg[which] / total**2)[None, :]
        est.append(float(att[which] @ w))
        cols.append(inf[:, which] @ w + wif @ att[which])
    return np.asarray(est), np.column_stack(cols)


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_dynamic_influence_matches_the_dense_reference(mpdta: pd.DataFrame, control: str) -> None:
    """Same numbers as the event-study covariance grid.cs_event_study re-derived (psi' psi / n^2), and as the
    front door's ``event_study_vcov``."""
    fit = att_gt(prepare_panel(mpdta, **MPDTA), control=control)
    agg = aggregate(fit, "dynamic")
    est, psi_ref = _reference_event_study(fit)
    n = psi_ref.shape[0]
    assert_allclose(agg.table["estimate"].to_numpy(), est, rtol=0, atol=1e-14)
    assert_allclose(agg.table_influence, psi_ref, rtol=0, atol=1e-11)
    psi = agg.table_influence
    ours = psi.T @ psi / n**2
    assert_allclose(ours, psi_ref.T @ psi_ref / n**2, rtol=1e-12, atol=1e-18)
    res = callaway_santanna(request_for(mpdta, **MPDTA), control=control)
    assert_allclose(res.event_study_vcov.to_numpy(), ours, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control", ["never", "notyet"])
def test_closed_form_cells_equal_the_general_2x2_estimator(sim: pd.DataFrame, method: str, control: str) -> None:
    fit = att_gt(prepare_panel(sim, **SIM), method=method, control=control)
    y = sim.pivot(index="id", columns="t", values="y").to_numpy()
    g_unit = sim.groupby("id")["g"].first().to_numpy().astype(float)
    times = np.arange(1, 11, dtype=float)
    n = g_unit.size
    for j, (g, t) in enumerate(zip(fit.group, fit.time)):
        ti = int(np.flatnonzero(times == t)[0])
        base = int(np.flatnonzero(times < g)[-1]) if g <= t else ti - 1
        treat = g_unit == g
        ctrl = (g_unit == 0) if control == "never" else (g_unit == 0) | ((g_unit > t) & (g_unit != g))
        sub = treat | ctrl
        att, inf = _TWO_BY_TWO[method](y[sub, ti] - y[sub, base], treat[sub].astype(float), np.ones((sub.sum(), 1)))
        full = np.zeros(n)
        full[sub] = n / sub.sum() * inf
        assert abs(att - fit.att[j]) < 1e-12
        assert_allclose(fit.influence[:, j], full, rtol=0, atol=1e-10)


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_matches_diff_diff(sim: pd.DataFrame, control: str) -> None:
    """Same model in diff-diff 3.13 (dev-only peer): ATT(g,t), overall ATT, event study and their SEs."""
    dd = pytest.importorskip("diff_diff")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = dd.CallawaySantAnna(control_group="never_treated" if control == "never" else "not_yet_treated",
                                  estimation_method="dr", n_bootstrap=0, base_period="varying")
        theirs = est.fit(sim, outcome="y", unit="id", time="t", first_treat="g")
        their_es = theirs.aggregate("event_study")
    res = callaway_santanna(request_for(sim, **SIM), control=control)
    gt = res.group_time
    keys = list(zip(gt["group"].astype(int), gt["time"].astype(int)))
    assert_allclose(gt["estimate"], [theirs.group_time_effects[k]["effect"] for k in keys], rtol=0, atol=1e-10)
    assert_allclose(gt["se"], [theirs.group_time_effects[k]["se"] for k in keys], rtol=0, atol=1e-10)
    assert abs(res.estimate - theirs.overall_att) < 1e-10
    assert abs(res.se - theirs.overall_se) < 1e-10
    frame = pd.DataFrame({"att": np.asarray(their_es.att, float), "se": np.asarray(their_es.se, float)},
                         index=np.asarray(their_es.event_time, int)).loc[res.event_study["event_time"]]
    assert_allclose(res.event_study["estimate"], frame["att"], rtol=0, atol=1e-10)
    assert_allclose(res.event_study["se"], frame["se"], rtol=0, atol=1e-10)
