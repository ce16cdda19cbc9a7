"""One ``clusterpolicy run``/``book`` at a time per checkout.

Two invocations in the same project would otherwise interleave their writes to ``results/``, ``book/runs/``,
``.cache/`` and ``_build/``. :func:`project_lock` takes an exclusive ``fcntl.flock`` on ``.cache/clusterpolicy.lock``
(stdlib, Linux and macOS). The kernel releases it when the process ends, however it ends, so a crashed run never
leaves a stale lock behind. A second invocation prints once to stderr::

    another clusterpolicy run holds the lock (pid N); waiting...

and waits. With a timeout (``--lock-timeout SECONDS`` or the environment variable ``CLUSTERPOLICY_LOCK_TIMEOUT``)
it gives up after that long with a one-line :class:`~clusterpolicy.errors.UserInputError` instead.

The lock is re-entrant within a process (``book`` holds it while it calls the runner, which takes it too).
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from clusterpolicy.errors import UserInputError

LOCK_PATH = Path(".cache") / "clusterpolicy.lock"
TIMEOUT_ENV = "CLUSTERPOLICY_LOCK_TIMEOUT"
POLL_SECONDS = 0.2

#: Locks this process holds: lock file -> (open file, depth).
_held: dict[Path, tuple[int, int]] = {}


def timeout_from_env() -> float | None:
    """``CLUSTERPOLICY_LOCK_TIMEOUT`` in seconds, or ``None`` (wait for ever) when unset or empty."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UserInputError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if value < 0:
        raise UserInputError(f"{TIMEOUT_ENV}={text!r} must be zero or more seconds")
    return value


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def project_lock(root: Path, *, timeout: float | None = None, stream: TextIO | None = None) -> Iterator[None]:
    """Hold the project's lock for the duration of the ``with`` block (see the module docstring).

    ``timeout``: seconds to wait for another holder; ``None`` reads ``CLUSTERPOLICY_LOCK_TIMEOUT`` and waits for
    ever if that is unset."""
    path = (Path(root) / LOCK_PATH).resolve()
    if path in _held:
        fd, depth = _held[path]
        _held[path] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[path]
            _held[path] = (fd, depth - 1)
        return
    if timeout is None:
        timeout = timeout_from_env()
    stream = stream or sys.stderr
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC (Python's default): kernels, workers and jupyter-book never inherit the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise UserInputError(
                        f"another clusterpolicy run (pid {holder}) still holds {LOCK_PATH} after {timeout:g} s; "
                        f"wait for it to finish or raise --lock-timeout / {TIMEOUT_ENV}"
                    ) from None
                if not told:
                    stream.write(f"another clusterpolicy run holds the lock (pid {holder}); waiting...\n")
                    stream.flush()
                    told = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        _held[path] = (fd, 1)
        try:
            yield
        finally:
            del _held[path]
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
