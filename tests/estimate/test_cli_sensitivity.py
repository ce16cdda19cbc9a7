"""``clusterpolicy sensitivity`` end to end on a hand-built estimate JSON (the HonestDiD Medicaid event study)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from clusterpolicy.cli.main import run_cli

# TWFE event study of the HonestDiD README (see tests/data/reference/honestdid/ATTRIBUTION.md): event times
# -6..-2 and 0, 1 (2008-2012, 2014, 2015; reference 2013 = -1), pyfixest CRV1 by state, 43 states.
BETA = [-0.00528534, -0.01129732, -0.00267598, -0.00141931, 0.00033968, 0.04644686, 0.06920618]
VCOV = [
    [7.48848471e-05, 6.03987552e-05, 4.44461869e-05, 3.38576560e-05, 4.32801351e-05, 4.76588218e-05, 2.42512954e-05],
    [6.03987552e-05, 7.26649906e-05, 3.78932812e-05, 2.86657631e-05, 4.54332134e-05, 4.42885269e-05, 2.82465579e-05],
    [4.44461869e-05, 3.78932812e-05, 5.05205072e-05, 2.67367795e-05, 2.77819383e-05, 3.06064542e-05, 9.63754802e-06],
    [3.38576560e-05, 2.86657631e-05, 2.67367795e-05, 4.00322178e-05, 2.41286087e-05, 2.38086937e-05, 2.92390191e-06],
    [4.32801351e-05, 4.54332134e-05, 2.77819383e-05, 2.41286087e-05, 5.46266539e-05, 3.68253532e-05, 9.72297779e-06],
    [4.76588218e-05, 4.42885269e-05, 3.06064542e-05, 2.38086937e-05, 3.68253532e-05, 8.37567403e-05, 6.32140330e-05],
    [2.42512954e-05, 2.82465579e-05, 9.63754802e-06, 2.92390191e-06, 9.72297779e-06, 6.32140330e-05, 1.07123582e-04],
]
TIMES = [-6, -5, -4, -3, -2, 0, 1]


def _estimate_json(path: Path, **drop: bool) -> Path:
    rows = [{"event_time": t, "estimate": b, "se": float(np.sqrt(VCOV[i][i]))} for i, (t, b) in
            enumerate(zip(TIMES, BETA))]
    rows.append({"event_time": -1, "estimate": None, "se": None})  # reference row as the estimate command writes it
    payload = {"estimator": "twfe_es", "event_study": rows,
               "event_study_vcov": {"event_time": TIMES, "matrix": VCOV}, "inference": {"n_clusters": 43}}
    if drop.get("vcov"):
        del payload["event_study_vcov"]
    path.write_text(json.dumps(payload))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        run_cli(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_cli_sensitivity_sd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _estimate_json(tmp_path / "est.json")
    out = tmp_path / "sens.json"
    code, stdout, _ = _run(["sensitivity", "--from", str(src), "--restriction", "sd", "--grid", "0,0.01,0.02,0.03",
                            "--json", str(out)], capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert [r["m"] for r in res["rows"]] == [0, 0.01, 0.02, 0.03]
    # published HonestDiD README values (3 significant digits)
    assert [round(r["lb"], 4) for r in res["rows"]] == pytest.approx([0.0259, 0.0132, 0.00286, -0.00714], abs=1e-3)
    assert res["rows"][0]["method"] == "FLCI" and res["restriction"] == "sd" and res["target"] == "first"
    assert 0.02 < res["breakdown"] < 0.03
    assert res["pre_times"] == [-6, -5, -4, -3, -2] and res["post_times"] == [0, 1]
    b, V = np.array(BETA[:5]), np.array(VCOV)[:5, :5]
    w = float(b @ np.linalg.solve(V, b))
    assert res["pretrend"]["chi2"] == pytest.approx(w, rel=1e-9)
    assert res["pretrend"]["f_stat"] == pytest.approx(w / 5, rel=1e-9) and res["pretrend"]["df_denom"] == 42
    assert "breakdown M" in stdout and "Wrote" in stdout
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_sensitivity_rm_average(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _estimate_json(tmp_path / "est.json")
    out = tmp_path / "rm.json"
    code, stdout, _ = _run(["sensitivity", "--from", str(src), "--restriction", "rm", "--grid", "0,1",
                            "--target", "average", "--level", "0.9", "--json", str(out)], capsys)
    assert code == 0
    res = json.loads(out.read_text())
    assert res["method"] == "C-LF" and res["target"] == "average" and res["l_vec"] == [0.5, 0.5]
    (r0, r1) = res["rows"]
    assert r1["lb"] <= r0["lb"] and r1["ub"] >= r0["ub"]
    assert res["breakdown"] is None and res["level"] == 0.9


@pytest.mark.parametrize("case, fragment", [("missing", "file not found"), ("novcov", "event_study_vcov"),
                                            ("badmatrix", "shape"), ("nopost", "no post-periods")])
def test_cli_sensitivity_errors(case: str, fragment: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "est.json"
    if case == "novcov":
        _estimate_json(src, vcov=True)
    elif case == "badmatrix":
        payload = json.loads(_estimate_json(src).read_text())
        payload["event_study_vcov"]["matrix"] = payload["event_study_vcov"]["matrix"][:3]
        src.write_text(json.dumps(payload))
    elif case == "nopost":
        payload = json.loads(_estimate_json(src).read_text())
        payload["event_study"] = [r for r in payload["event_study"] if r["event_time"] < 0]
        payload["event_study_vcov"] = {"event_time": TIMES[:5], "matrix": [row[:5] for row in VCOV[:5]]}
        src.write_text(json.dumps(payload))
    out = tmp_path / "out.json"
    code, _, err = _run(["sensitivity", "--from", str(tmp_path / "nope.json") if case == "missing" else str(src),
                         "--restriction", "sd", "--grid", "0,0.01", "--json", str(out)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("option, value", [("--restriction", "xx"), ("--target", "last")])
def test_cli_sensitivity_choices_come_from_the_literals(option: str, value: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from clusterpolicy.estimate.literals import SensitivityRestriction, SensitivityTarget, choices

    src = _estimate_json(tmp_path / "est.json")
    args = {"--restriction": "sd", "--target": "first", option: value}
    code, _, err = _run(["sensitivity", "--from", str(src), "--grid", "0,0.01", "--json", str(tmp_path / "o.json"),
                         *[x for kv in args.items() for x in kv]], capsys)
    allowed = choices(SensitivityRestriction if option == "--restriction" else SensitivityTarget)
    assert code == 2 and f"'{value}' is not one of" in err
    assert all(a in err for a in allowed)


def test_cli_sensitivity_rm_by_linear_programs_equals_vertex_enumeration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Long post windows are solved by linear programs (as R HonestDiD does) instead of enumerating the dual
    vertices; forcing that path on the Medicaid event study gives the same Delta-RM sets and breakdown."""
    import clusterpolicy.estimate.honestdid as honestdid

    src = _estimate_json(tmp_path / "est.json")
    outs = []
    for name, max_bases in (("verts.json", honestdid.MAX_DUAL_BASES), ("lp.json", 0)):
        monkeypatch.setattr(honestdid, "MAX_DUAL_BASES", max_bases)
        out = tmp_path / name
        code, _, err = _run(["sensitivity", "--from", str(src), "--restriction", "rm", "--grid", "0,0.5,1",
                             "--json", str(out)], capsys)
        assert code == 0, err
        outs.append(json.loads(out.read_text()))
    assert outs[0]["rows"] == outs[1]["rows"] and outs[0]["breakdown"] == outs[1]["breakdown"]


def test_cli_sensitivity_from_imputation_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An imputation estimate JSON (leads from BJS's separate pre-trend test, vcov over post-periods only) gives
    one line naming the estimators with a joint covariance."""
    from clusterpolicy.data.synthetic import simulate_region_panel
    from clusterpolicy.estimate import estimate

    sim = simulate_region_panel(seed=3)
    res = estimate(sim.data, estimator="imputation", unit="region", time="year", cohort="cohort", outcome="y")
    assert res.event_study is not None and (res.event_study["event_time"] < 0).any()
    src = tmp_path / "imp.json"
    src.write_text(json.dumps(res.to_dict()))
    code, _, err = _run(["sensitivity", "--from", str(src), "--restriction", "sd", "--grid", "0",
                         "--json", str(tmp_path / "o.json")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "separate pre-trend test" in lines[0] and "twfe_es" in lines[0]
