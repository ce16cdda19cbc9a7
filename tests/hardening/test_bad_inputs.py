"""The bad-input suite: malformed inputs across `validate`, `estimate`, the run manifest and the data builder.

Every case must exit non-zero with ONE line on stderr that names the file, column or parameter and says how to
fix it; no traceback; and no output file left behind, complete or half-written.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pipeline.conftest import write_project

SHARED_RAW = Path(__file__).resolve().parents[3] / "shared" / "data" / "raw"


def good_panel(n_units: int = 12, years: range = range(2010, 2018)) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n_units):
        cohort = [0, 0, 0, 0, 2013, 2014, 2015, 2013, 0, 2014, 0, 2015][i % 12]
        for t in years:
            rows.append({"region": f"R{i:02d}", "year": t, "cohort": cohort,
                         "y": float(rng.normal() + (0.3 if cohort and t >= cohort else 0)),
                         "count": int(rng.poisson(5)), "cl": f"C{i % 6}", "x": float(rng.normal())})
    return pd.DataFrame(rows)


@dataclass
class Case:
    name: str
    args: list[str]
    must_mention: tuple[str, ...]


def write(tmp: Path, name: str, frame: pd.DataFrame | None = None, text: str | bytes | None = None) -> Path:
    path = tmp / name
    if frame is not None:
        frame.to_csv(path, index=False)
    elif isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    return path


ROLES = ["--unit", "region", "--time", "year", "--cohort", "cohort", "--outcome", "y"]


def panel_cases(tmp: Path) -> list[Case]:
    base = good_panel()
    cases = []

    def add(name: str, command: str, frame: pd.DataFrame | None = None, text: str | bytes | None = None,
            extra: list[str] | None = None, mention: tuple[str, ...] = (), roles: list[str] | None = None) -> None:
        path = write(tmp, f"{name}.csv", frame, text)
        args = [command, str(path)] if command == "validate" else [command, "--data", str(path)]
        args += roles if roles is not None else ROLES
        args += extra or []
        if command == "estimate":
            args += ["--json", str(tmp / f"{name}.out.json")]
        cases.append(Case(name, args, (path.name, *mention)))

    add("empty-file", "validate", text="")
    add("header-only", "validate", text="region,year,cohort,y\n")
    add("pipe-delimited", "validate", text="region|year|cohort|y\nA|2010|0|1.0\nA|2011|0|2.0\n")
    add("binary-garbage", "validate", text=bytes(range(256)) * 8)
    add("ragged-rows", "validate", text="region,year,cohort,y\nA,2010,0,1.0\nA,2011,0\nB,2010,0,1.0,9\n")
    add("missing-column", "validate", base.drop(columns="y"), mention=("'y'",))
    add("misspelled-column", "validate", base.rename(columns={"region": "regoin"}), mention=("regoin",))
    add("duplicate-rows", "validate", pd.concat([base, base.head(2)]), mention=("region",))
    add("non-numeric-outcome", "validate", base.assign(y=base["y"].astype(str).where(base.index != 3, "n/a?")),
        mention=("'y'",))
    add("infinite-outcome", "validate", base.assign(y=base["y"].where(base.index != 5, np.inf)), mention=("'y'",))
    add("negative-count", "validate", base.assign(count=base["count"].where(base.index != 4, -2)),
        extra=["--count"], roles=["--unit", "region", "--time", "year", "--cohort", "cohort", "--outcome", "count"],
        mention=("'count'",))
    add("cohort-outside-panel", "validate", base.assign(cohort=base["cohort"].replace(2015, 2030)),
        mention=("'cohort'",))
    add("cohort-changes-within-unit", "validate",
        base.assign(cohort=base["cohort"].where(base.index != 33, 2016)), mention=("'cohort'",))
    add("nan-in-cluster", "validate", base.assign(cl=base["cl"].where(base.index != 2, None)),
        extra=["--cluster", "cl"], mention=("'cl'",))
    add("empty-unit-id", "validate", base.assign(region=base["region"].where(base.index != 6, "")),
        mention=("'region'",))
    add("text-covariate", "estimate", base.assign(x="abc"), extra=["--estimator", "cs", "--covariates", "x"],
        mention=("'x'",))
    add("all-treated-first-period", "estimate", base.assign(cohort=2010), extra=["--estimator", "cs"])
    add("no-never-treated", "estimate", base.assign(cohort=base["cohort"].replace(0, 2016)),
        extra=["--estimator", "cs", "--control", "never"], mention=("never",))
    # one treated unit is no longer refused (placebo-in-space inference replaces the interval); a bootstrap for an
    # estimator without one is
    add("bootstrap-for-poisson", "estimate", base, extra=["--estimator", "poisson", "--bootstrap", "99"])
    cases[-1].must_mention = ("--bootstrap", "poisson")
    add("negative-count-poisson", "estimate", base.assign(y=base["y"] - 10), extra=["--estimator", "poisson"],
        mention=("'y'",))
    add("unknown-estimator", "estimate", base, extra=["--estimator", "ols2"], mention=("--estimator",))
    cases[-1].must_mention = ("--estimator",)
    return cases


def manifest_cases(tmp: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    cases = []
    for name, runs, mention in [
        ("unknown-parameter", "runs:\n  - id: a\n    template: tiny.md\n    parameters: {xx: 1}\n", ("'a'", "'xx'")),
        ("wrong-type", "runs:\n  - id: a\n    template: tiny.md\n    parameters: {x: 'five'}\n", ("'a'", "'x'")),
        ("missing-template", "runs:\n  - id: a\n    template: gone.md\n", ("'a'", "gone.md")),
        ("bad-yaml", "runs:\n  - id: a\n   template: [\n", ("runs.yaml",)),
    ]:
        root = write_project(tmp / name, "runs:\n  - id: a\n    template: tiny.md\n")
        (root / "notebooks" / "runs.yaml").write_text(runs)
        cases.append((name, root, mention))
    return cases


def run(args: list[str], *, cwd: Path, env_root: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if env_root is not None:
        env["CLUSTERPOLICY_ROOT"] = str(env_root)
    return subprocess.run([sys.executable, "-m", "clusterpolicy.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(done: subprocess.CompletedProcess[str], mentions: tuple[str, ...]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for needle in mentions:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def test_suite_has_at_least_twenty_cases(tmp_path: Path) -> None:
    assert len(panel_cases(tmp_path)) + len(manifest_cases(tmp_path)) + 3 >= 20


@pytest.mark.parametrize("index", range(21))
def test_bad_panel_inputs(tmp_path: Path, index: int) -> None:
    case = panel_cases(tmp_path)[index]
    done = run(case.args, cwd=tmp_path)
    assert_one_line_error(done, case.must_mention)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".json") or p.name.endswith(".tmp")]
    assert leftovers == [], f"{case.name}: output left behind: {leftovers}"


@pytest.mark.parametrize("index", range(4))
def test_bad_manifests(tmp_path: Path, index: int) -> None:
    name, root, mention = manifest_cases(tmp_path)[index]
    done = run(["run", "--quiet"], cwd=root, env_root=root)
    assert_one_line_error(done, mention)
    assert not (root / "results").exists(), f"{name}: a kernel ran despite an invalid manifest"


def test_data_build_missing_raw_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run(["data", "build", "--raw", str(tmp_path / "nowhere"), "--out", str(out)], cwd=tmp_path)
    assert_one_line_error(done, ("nowhere",))
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(not SHARED_RAW.exists(), reason="the shared raw data folder is not beside the project")
def test_data_build_missing_raw_file_and_truncated_gzip(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(SHARED_RAW, raw)
    (raw / "italy_geography_keys" / "comuni.json").unlink()
    out = tmp_path / "out"
    done = run(["data", "build", "--raw", str(raw), "--out", str(out)], cwd=tmp_path)
    assert_one_line_error(done, ("comuni.json",))
    assert not out.exists() or not any(out.iterdir())

    shutil.copy(SHARED_RAW / "italy_geography_keys" / "comuni.json", raw / "italy_geography_keys" / "comuni.json")
    gz = raw / "cordis_h2020_participations" / "h2020.csv.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 3])
    done = run(["data", "build", "--raw", str(raw), "--out", str(out)], cwd=tmp_path)
    assert_one_line_error(done, ("h2020.csv.gz",))
    assert not out.exists() or not any(p.suffix == ".csv" for p in out.iterdir())


def test_gzip_module_really_rejects_truncation() -> None:
    # Guards the test above: a third of a gzip stream must not decompress silently.
    payload = gzip.compress(b"x" * 100_000)
    with pytest.raises(EOFError):
        gzip.decompress(payload[: len(payload) // 3])
