"""The README's "Your own panel" section runs as written: its commands are read from the README and executed with
the CLI entry point, in a temporary folder, on the shipped simulated example panel."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from clusterpolicy.cli.main import run_cli
from clusterpolicy.data.synthetic import simulate_region_panel

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- own-panel:start -->")[1].split("<!-- own-panel:end -->")[0]
    block = block.split("```bash")[1].split("```")[0].replace("\\\n", " ")
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_example_panel_is_the_documented_simulation() -> None:
    shipped = (ROOT / "data" / "examples" / "simulated_regions.csv").read_text(encoding="utf-8")
    rebuilt = simulate_region_panel(seed=2024).data.to_csv(index=False, float_format="%.6f", lineterminator="\n")
    assert shipped == rebuilt


def test_readme_own_panel_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    commands = _commands()
    assert [c[:2] for c in commands] == [["clusterpolicy", "validate"], ["clusterpolicy", "estimate"],
                                        ["clusterpolicy", "sensitivity"]]
    for cmd in commands:
        args = [str(ROOT / a) if a.startswith("data/") else a for a in cmd[1:]]
        with pytest.raises(SystemExit) as info:
            run_cli(args)
        out = capsys.readouterr()
        assert info.value.code == 0, out.err
    estimate = json.loads((tmp_path / "cs.json").read_text())
    assert estimate["inference"]["method"] == "multiplier bootstrap"
    assert 0 < estimate["overall"]["ri_p_value"] <= 1
    # as the README says: cs is linear in the outcome, so --ri also gives the randomisation interval
    ri, overall = estimate["randomization"], estimate["overall"]
    assert ri["ci_low_infinite"] or overall["ri_ci_low"] <= overall["estimate"]
    assert ri["ci_high_infinite"] or overall["estimate"] <= overall["ri_ci_high"]
    bounds = json.loads((tmp_path / "rr.json").read_text())
    assert [r["m"] for r in bounds["rows"]] == [0.0, 0.5, 1.0] and bounds["pretrend"]["df_denom"] == 39
