"""`clusterpolicy simulate`: seeded, byte-identical, labelled SIMULATED, valid under the panel schema."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clusterpolicy.cli.main import run_cli
from clusterpolicy.data.schema import validate_file


def cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        run_cli(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def simulate(tmp_path, capsys, name="simulated_firms.csv", *extra):
    out = tmp_path / name
    code, stdout, err = cli(["simulate", "--seed", "11", "--out", str(out), "--firms", "300", "--regions", "9",
                             *extra], capsys)
    assert code == 0, err
    return out, stdout


def test_simulate_writes_data_truth_and_sidecar(tmp_path, capsys):
    out, stdout = simulate(tmp_path, capsys)
    assert "SIMULATED" in stdout
    truth_path, meta_path = tmp_path / "simulated_firms.truth.csv", tmp_path / "simulated_firms.meta.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, truth_path.name, meta_path.name])
    data, truth = pd.read_csv(out), pd.read_csv(truth_path)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["simulated"] is True and "SIMULATED" in meta["note"]
    assert meta["parameters"]["seed"] == 11 and meta["parameters"]["n_firms"] == 300
    assert list(data.columns) == ["firm_id", "region", "year", "cohort", "post", "n_institutes", "employees",
                                  "collaborations"]
    assert data["firm_id"].nunique() == 300 and data["region"].nunique() == 9
    assert sorted(data["cohort"].unique()) == [0, 2009, 2011, 2014, 2015, 2016]
    # truth covers every treated cohort and year, is zero before onset
    assert len(truth) == 5 * 16
    assert (truth.loc[truth["event_time"] < 0, ["att", "log_rr"]] == 0).all().all()
    assert (truth.loc[truth["event_time"] >= 0, "att"] > 0).all()
    # the sidecar's simple ATT is the firm-year average of the truth over treated post-onset rows
    post = data[data["post"] == 1].merge(truth, left_on=["cohort", "year"], right_on=["group", "time"])
    assert meta["true_effect"]["simple_att"] == pytest.approx(post["att"].mean(), rel=1e-8)


def test_same_seed_gives_byte_identical_files(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    simulate(a, capsys)
    simulate(b, capsys)
    for name in ("simulated_firms.csv", "simulated_firms.truth.csv", "simulated_firms.meta.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tmp_path / "c"
    c.mkdir()
    code, _, err = cli(["simulate", "--seed", "12", "--out", str(c / "simulated_firms.csv"), "--firms", "300",
                        "--regions", "9"], capsys)
    assert code == 0, err
    assert (c / "simulated_firms.csv").read_bytes() != (a / "simulated_firms.csv").read_bytes()


def test_simulated_file_passes_validation(tmp_path, capsys):
    out, _ = simulate(tmp_path, capsys, "simulated_firms.csv", "--family", "poisson")
    panel = validate_file(out, unit="firm_id", time="year", cohort="cohort", outcome="collaborations", count=True,
                          covariates=["employees", "n_institutes"], cluster="region")
    assert panel.n_units == 300 and panel.periods[0] == 2005 and panel.periods[-1] == 2020
    code, stdout, err = cli(["validate", str(out), "--unit", "firm_id", "--time", "year", "--cohort", "cohort",
                             "--outcome", "collaborations", "--count", "--cluster", "region"], capsys)
    assert code == 0 and err == ""
    assert "300 units, 16 periods (2005-2020)" in stdout
    assert "only 5 treated cluster(s) in 'region'" in stdout


def test_file_name_suggestion(tmp_path, capsys):
    _, stdout = simulate(tmp_path, capsys, "firms.csv")
    assert "simulated_firms.csv" in stdout


@pytest.mark.parametrize("args,needle", [
    (["--firms", "5", "--regions", "9"], "firms=5 is fewer than regions=9"),
    (["--regions", "30"], "regions=30 is not allowed"),
    (["--regions", "1"], "regions=1 is not allowed"),
    (["--family", "zip"], "family='zip' is not allowed"),
])
def test_bad_parameters_are_one_line_errors(tmp_path, capsys, args, needle):
    code, _, err = cli(["simulate", "--seed", "1", "--out", str(tmp_path / "s.csv"), *args], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and err.startswith("error: ") and needle in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("out,needle", [("s.txt", "must end in .csv"), ("nowhere/s.csv", "does not exist")])
def test_bad_output_paths(tmp_path, capsys, out, needle):
    code, _, err = cli(["simulate", "--seed", "1", "--out", str(tmp_path / out)], capsys)
    assert code == 2 and err.startswith("error: --out") and needle in err and err.strip().count("\n") == 0
