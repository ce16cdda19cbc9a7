"""The one atomic writer (mode from the umask, no debris on failure) and the published precision."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from clusterpolicy import fsutil
from clusterpolicy.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text, dumps_json, round_floats
from clusterpolicy.pipeline.verify import DEFAULT_RTOL, compare_results


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_get_the_umask_mode(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    assert fsutil.current_umask() == mask
    atomic_write_text(tmp_path / "a.txt", "hello\n")
    atomic_write_bytes(tmp_path / "sub" / "b.bin", b"\x00\x01")
    atomic_write_json(tmp_path / "c.json", {"b": 1, "a": [1.5]})
    for name in ("a.txt", "sub/b.bin", "c.json"):
        assert _mode(tmp_path / name) == expected, name
    # Replacing an existing file gives the same mode, whatever the old one had.
    (tmp_path / "a.txt").chmod(0o600)
    atomic_write_text(tmp_path / "a.txt", "again\n")
    assert _mode(tmp_path / "a.txt") == expected
    assert (tmp_path / "c.json").read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "results.json"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(fsutil.os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_unserialisable_payload_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    atomic_write_json(target, {"x": 1})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"x": float("nan")})  # allow_nan=False
    assert json.loads(target.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_every_atomic_writer_is_the_shared_one() -> None:
    """No module keeps a private copy of the temp-file-and-rename dance."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("src", "benchmarks"):
        for path in (root / folder).rglob("*.py"):
            if path == root / "src" / "clusterpolicy" / "fsutil.py":
                continue
            text = path.read_text(encoding="utf-8")
            if "mkstemp" in text or "NamedTemporaryFile" in text:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_values_differing_in_the_16th_digit_serialise_identically() -> None:
    a = 0.1 + 0.2                  # 0.30000000000000004
    b = 0.3
    assert a != b
    assert dumps_json(round_floats({"x": a})) == dumps_json(round_floats({"x": b})) == '{\n  "x": 0.3\n}\n'
    x = 1234.567890123456
    y = x * (1 + 3e-16)
    assert x != y and dumps_json(round_floats([x])) == dumps_json(round_floats([y]))
    # Structure and non-floats are kept; ints stay ints, booleans stay booleans.
    assert round_floats({"n": 3, "ok": True, "s": "a", "none": None, "l": (1.23456789012345, 2)}) == {
        "n": 3, "ok": True, "s": "a", "none": None, "l": [1.23456789, 2]}
    assert fsutil.round_sig(-0.000123456789012345) == -0.0001234567890
    assert fsutil.round_sig(6.02214076543e23) == 6.022140765e23
    assert fsutil.round_sig(0.0) == 0.0


def test_numpy_values_are_rounded_too() -> None:
    np = pytest.importorskip("numpy")
    assert round_floats({"x": np.float64(0.1) + np.float64(0.2)}) == {"x": 0.3}
    assert type(round_floats(np.float32(1.5))) is float


def test_verify_accepts_the_rounding_and_rejects_a_real_change(tmp_path: Path) -> None:
    pub, rerun = tmp_path / "pub", tmp_path / "rerun"
    pub.mkdir(), rerun.mkdir()
    # A value on a rounding boundary: noise flips the 10th digit by one unit.
    published = {"boundary": 1.000000001, "big": 9.999999999e5, "real": 0.1234567891}
    rerun_values = {"boundary": 1.000000002, "big": 9.999999998e5, "real": 0.1234567991}
    (pub / "a.json").write_text(dumps_json({"values": round_floats(published)}))
    (rerun / "a.json").write_text(dumps_json({"values": round_floats(rerun_values)}))
    rows = {r.key: r for r in compare_results(pub, rerun)}
    assert rows["boundary"].ok and rows["big"].ok
    assert not rows["real"].ok                   # a change in the 8th digit is real
    assert DEFAULT_RTOL == fsutil.VERIFY_RTOL == 2e-9


def test_published_glue_values_use_the_same_rounding() -> None:
    np = pytest.importorskip("numpy")
    from clusterpolicy.report.glue import _plain

    assert _plain({"a": np.float64(0.1) + np.float64(0.2), "b": [1 / 3, np.nan], "n": np.int64(7)}) == {
        "a": 0.3, "b": [0.3333333333, None], "n": 7}
