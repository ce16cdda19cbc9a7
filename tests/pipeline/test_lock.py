"""Two clusterpolicy invocations in one checkout never interleave: the second waits for the project lock."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clusterpolicy.errors import UserInputError
from clusterpolicy.pipeline.lock import LOCK_PATH, project_lock

SRC = Path(__file__).resolve().parents[2] / "src"

#: A fake critical section: take the lock, append "start"/"end" lines around a short sleep.
WORKER = textwrap.dedent('''\
    import sys, time
    from pathlib import Path
    from clusterpolicy.pipeline.lock import project_lock
    root, name, hold = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    with project_lock(root):
        with open(root / "log.txt", "a") as log:
            log.write(f"{name} start\\n"); log.flush()
            time.sleep(hold)
            log.write(f"{name} end\\n")
''')


def _start(root: Path, name: str, hold: float, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONPATH": str(SRC), **env}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(root), name, str(hold)], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.05)


def test_second_process_waits_for_the_first(tmp_path: Path) -> None:
    first = _start(tmp_path, "first", 1.5)
    _wait_for(tmp_path / "log.txt", "first start")
    second = _start(tmp_path, "second", 0.0)
    _, err2 = second.communicate(timeout=60)
    _, err1 = first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert (tmp_path / "log.txt").read_text().splitlines() == ["first start", "first end", "second start",
                                                              "second end"]
    lines = err2.strip().splitlines()
    assert lines == [f"another clusterpolicy run holds the lock (pid {first.pid}); waiting..."]
    assert err1 == ""


def test_timeout_gives_up_with_one_line(tmp_path: Path) -> None:
    first = _start(tmp_path, "first", 3.0)
    _wait_for(tmp_path / "log.txt", "first start")
    started = time.monotonic()
    second = _start(tmp_path, "second", 0.0, CLUSTERPOLICY_LOCK_TIMEOUT="0.5")
    _, err2 = second.communicate(timeout=60)
    assert second.returncode != 0
    assert time.monotonic() - started < 2.9
    assert "still holds .cache/clusterpolicy.lock after 0.5 s" in err2
    first.communicate(timeout=60)
    assert "second" not in (tmp_path / "log.txt").read_text()


def test_in_process_timeout_and_reentrancy(tmp_path: Path) -> None:
    stream = io.StringIO()
    with project_lock(tmp_path, stream=stream):
        assert (tmp_path / LOCK_PATH).read_text().strip() == str(os.getpid())
        with project_lock(tmp_path, timeout=0):   # re-entrant: book holds it while the runner takes it
            pass
        holder = _start(tmp_path, "other", 0.0, CLUSTERPOLICY_LOCK_TIMEOUT="0")
        _, err = holder.communicate(timeout=60)
        assert holder.returncode != 0 and f"(pid {os.getpid()})" in err
    # Released: another process gets it at once.
    other = _start(tmp_path, "other", 0.0, CLUSTERPOLICY_LOCK_TIMEOUT="0")
    _, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    assert stream.getvalue() == ""


def test_bad_timeout_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTERPOLICY_LOCK_TIMEOUT", "soon")
    with pytest.raises(UserInputError, match="CLUSTERPOLICY_LOCK_TIMEOUT"), project_lock(tmp_path):
        pass
