"""``clusterpolicy estimate`` end to end: reference numbers through the CLI, JSON format, determinism, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from clusterpolicy.cli.main import run_cli

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
MPDTA = REF / "did_mpdta" / "mpdta.csv"
FEW = REF / "did2s_imputation" / "fewclusters_panel.csv"
#: Linear estimators reproduce R to machine precision; CLI JSON keeps full float precision.
ATOL = 1e-8


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        run_cli(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _mpdta_args(estimator: str, out: Path) -> list[str]:
    return ["estimate", "--data", str(MPDTA), "--unit", "countyreal", "--time", "year", "--cohort", "first.treat",
            "--outcome", "lemp", "--estimator", estimator, "--json", str(out)]


def test_cli_cs_reproduces_r_did_simple_att(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cs.json"
    code, stdout, _ = _run(_mpdta_args("cs", out), capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert_allclose([res["overall"]["estimate"], res["overall"]["se"]], [-0.039951275155177, 0.0120340127701854],
                    atol=ATOL, rtol=0)
    assert res["estimator"] == "cs" and res["outcome"] == "lemp"
    assert res["n_obs"] == 2500 and res["n_units"] == 500
    assert len(res["group_time"]) == 12 and set(res["group_time"][0]) == {"group", "time", "estimate", "se"}
    assert {e["event_time"] for e in res["event_study"]} == {-3, -2, -1, 0, 1, 2, 3}
    assert {"estimate", "se", "ci_low", "ci_high"} <= set(res["overall"])
    assert "Estimate:  -0.0399513" in stdout and "Wrote" in stdout


def test_cli_sun_abraham_matches_fixest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sa.json"
    code, _, _ = _run(_mpdta_args("sa", out), capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert_allclose([res["overall"]["estimate"], res["overall"]["se"]], [-0.0399512751551743, 0.011796277441754],
                    atol=ATOL, rtol=0)


def test_cli_output_is_byte_identical_and_sorted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    args = ["--covariates", "lpop", "--method", "ipw", "--control", "notyet"]
    assert _run(_mpdta_args("cs", a) + args, capsys)[0] == 0
    assert _run(_mpdta_args("cs", b) + args, capsys)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    payload = json.loads(a.read_text())
    assert list(payload) == sorted(payload)
    from clusterpolicy.estimate import estimate

    lib = estimate(pd.read_csv(MPDTA), estimator="cs", unit="countyreal", time="year", cohort="first.treat",
                   outcome="lemp", covariates=["lpop"], method="ipw", control="notyet")
    assert payload["overall"]["estimate"] == pytest.approx(lib.estimate, abs=1e-14)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


def test_cli_twfe_wild_bootstrap_few_clusters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """10 clusters, 3 treated: fixest SE and the fwildclusterboot WCR p-value (full enumeration of 1,024 sign
    patterns), both from tests/data/reference/wild_bootstrap/wcb_reference.csv."""
    out = tmp_path / "twfe.json"
    args = ["estimate", "--data", str(FEW), "--unit", "firm", "--time", "year", "--cohort", "first_treat",
            "--outcome", "y", "--estimator", "twfe", "--cluster", "cluster", "--bootstrap", "9999", "--seed", "1",
            "--json", str(out)]
    code, stdout, _ = _run(args, capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert_allclose([res["overall"]["estimate"], res["overall"]["se"]], [0.455475804597695, 0.280620842072451],
                    atol=ATOL, rtol=0)
    assert res["details"]["wild_bootstrap"]["p_value"] == pytest.approx(0.3046875, abs=1e-12)
    assert any("only 10 clusters" in w for w in res["warnings"])
    assert "Wild cluster bootstrap: p = 0.3047" in stdout


@pytest.mark.parametrize(("extra", "message"), [
    (["--outcome", "lempx"], "column not found: 'lempx'"),
    (["--estimator", "ols"], "'ols' is not one of"),
    (["--method", "logit"], "'logit' is not one of"),
    (["--ri-strata", "nope"], "column 'nope' not found"),
])
def test_cli_user_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                            message: str) -> None:
    args = _mpdta_args("cs", tmp_path / "x.json")
    flag, value = extra
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += extra
    code, _, err = _run(args, capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _mpdta_args("cs", tmp_path / "x.json")
    args[args.index("--data") + 1] = str(tmp_path / "nope.csv")
    code, _, err = _run(args, capsys)
    assert code == 2 and "nope.csv" in err and "Traceback" not in err


def test_cli_cs_bootstrap_and_ri_are_seeded_and_byte_identical(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for name in ("a.json", "b.json"):
        args = _mpdta_args("cs", tmp_path / name) + ["--bootstrap", "199", "--seed", "11", "--ri", "19"]
        code, stdout, _ = _run(args, capsys)
        assert code == 0, stdout
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    res = json.loads(outs[0])
    inf = res["inference"]
    assert inf["method"] == "multiplier bootstrap" and inf["n_boot"] == 199 and inf["seed"] == 11
    assert inf["uniform_critical_value"] >= inf["critical_value"]  # a band is wider than pointwise intervals
    assert all(r["uniform_low"] <= r["ci_low"] for r in res["event_study"])
    assert 0 < res["overall"]["ri_p_value"] <= 1 and res["randomization"]["n_permutations"] == 19
    # cs is linear in the outcome: --ri also inverts the test into a randomisation interval (ends may be unbounded)
    ri = res["randomization"]
    assert ri["ci_level"] == 0.95 and "ri_ci_low" in res["overall"] and "ri_ci_high" in res["overall"]
    assert ri["ci_low_infinite"] or res["overall"]["ri_ci_low"] <= res["overall"]["estimate"]
    assert ri["ci_high_infinite"] or res["overall"]["estimate"] <= res["overall"]["ri_ci_high"]
    ci = (res["overall"]["ci_low"], res["overall"]["ci_high"])
    est, se = res["overall"]["estimate"], res["overall"]["se"]
    assert ci[0] == pytest.approx(est - inf["critical_value"] * se, rel=1e-12)


def test_cli_df_normal_gives_r_did_intervals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(_mpdta_args("cs", tmp_path / "n.json") + ["--df", "normal"], capsys)
    assert code == 0
    res = json.loads((tmp_path / "n.json").read_text())
    assert res["inference"]["df"] is None
    assert res["inference"]["critical_value"] == pytest.approx(1.959963984540054, rel=1e-12)


def test_cli_bacon_sums_to_twfe_and_leave_one_out_by_cluster(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(_mpdta_args("twfe", tmp_path / "b.json") + ["--bacon"], capsys)
    assert code == 0
    res = json.loads((tmp_path / "b.json").read_text())
    total = sum(r["weight"] * r["estimate"] for r in res["bacon"]["comparisons"])
    assert total == pytest.approx(res["overall"]["estimate"], abs=1e-10)
    panel = REF / "wild_bootstrap" / "fewclusters_panel.csv"
    args = ["estimate", "--data", str(panel), "--unit", "firm", "--time", "year", "--cohort", "first_treat",
            "--outcome", "y", "--estimator", "twfe", "--cluster", "cluster", "--leave-one-out",
            "--json", str(tmp_path / "l.json")]
    code, stdout, _ = _run(args, capsys)
    assert code == 0 and "Leave-one-out" in stdout
    loo = json.loads((tmp_path / "l.json").read_text())["leave_one_out"]
    assert len(loo["leave_one_out"]) == 10  # one row per cluster left out
    assert loo["min"] <= loo["max"] and loo["range"] == pytest.approx(loo["max"] - loo["min"], abs=1e-12)


def test_cli_sdid_and_sc_reproduce_proposition_99(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Arkhangelsky et al. (2021), Table 1: SDID -15.60, synthdid's SC -19.6 (tolerances as in test_synthdid)."""
    prop99 = pd.read_csv(REF / "synthdid" / "california_prop99.csv", sep=";")
    first = prop99[prop99["treated"] == 1].groupby("State")["Year"].min()
    prop99["cohort"] = prop99["State"].map(first).fillna(0).astype(int)
    path = tmp_path / "prop99.csv"
    prop99.drop(columns="treated").to_csv(path, index=False)
    for estimator, expected, tol in (("sdid", -15.60, 0.01), ("sc", -19.6, 0.15)):
        out = tmp_path / f"{estimator}.json"
        args = ["estimate", "--data", str(path), "--unit", "State", "--time", "Year", "--cohort", "cohort",
                "--outcome", "PacksPerCapita", "--estimator", estimator, "--bootstrap", "20", "--seed", "3",
                "--json", str(out)]
        code, stdout, _ = _run(args, capsys)
        assert code == 0, stdout
        res = json.loads(out.read_text())
        assert res["overall"]["estimate"] == pytest.approx(expected, abs=tol)
        assert res["inference"]["method"] == "placebo" and res["inference"]["seed"] == 3
