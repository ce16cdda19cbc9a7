"""Offline: with the network cut (a fresh network namespace holding only loopback), running the analyses works;
only `clusterpolicy data fetch` needs the network, and it fails with one clear sentence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import write_project


def _can_cut_network() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return "this machine does not allow network namespaces (unshare -n)"
    return None


REASON = _can_cut_network()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def offline(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "ip link set lo up && exec \"$@\""
    return subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", *command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_network_really_is_cut(tmp_path: Path) -> None:
    probe = offline([sys.executable, "-c", "import socket; socket.create_connection(('pypi.org', 443), timeout=3)"],
                    tmp_path, dict(os.environ))
    assert probe.returncode != 0


def test_runs_execute_offline(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", """\
        runs:
          - id: one
            template: tiny.md
            parameters: {x: 3}
        """)
    env = {**os.environ, "CLUSTERPOLICY_ROOT": str(root)}
    done = offline([sys.executable, "-m", "clusterpolicy.cli.main", "run", "--quiet"], root, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (root / "results" / "one.json").exists()


def test_fetch_offline_fails_with_one_sentence(tmp_path: Path) -> None:
    env = {**os.environ, "CLUSTERPOLICY_ROOT": str(Path(__file__).resolve().parents[2])}
    done = offline([sys.executable, "-m", "clusterpolicy.cli.main", "data", "fetch", "--cache", str(tmp_path),
                    "--no-progress"], tmp_path, env)
    assert done.returncode != 0
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
