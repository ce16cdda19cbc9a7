"""The project's one atomic file writer, canonical JSON and the precision of published numbers.

Stdlib only, so library code (data builders, the CLI, benchmarks) can import it without the pipeline's heavy
dependencies.

Atomic writes
    :func:`atomic_write_bytes` writes to a temporary file in the target's folder, flushes it to disk and renames it
    over the target, so a reader sees either the old file or the whole new one, never half of it; a failure at
    any point removes the temporary file and leaves the old file untouched. The temporary file is created by
    :func:`tempfile.mkstemp` (mode 0600, so no other user can read a half-written file) and given the mode an
    ordinary ``open()`` would have created, ``0o666 & ~umask``, before the rename.

Published precision
    :func:`round_sig` rounds a float to :data:`PUBLISHED_SIGNIFICANT_DIGITS` (10) significant digits;
    :func:`round_floats` applies it to every float in a JSON-like structure. Every number published to
    ``results/*.json`` goes through it, so the files are byte-identical across machines and BLAS builds: the
    arithmetic noise of floating-point sums is about 1e-15 relative (a few units in the 16th digit), six orders of
    magnitude below the last published digit, while 10 digits are far more than any number in the book needs
    (estimates and p-values are shown with 2 to 4 digits). A rerun can still differ from the published file by
    one unit in the 10th digit when a value lies within the noise of a rounding boundary; that is why
    ``clusterpolicy verify`` compares with a relative tolerance of :data:`VERIFY_RTOL`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Significant digits of every number published to ``results/*.json``.
PUBLISHED_SIGNIFICANT_DIGITS = 10
#: Relative tolerance of ``clusterpolicy verify``: two units in the 10th significant digit. Two roundings of the
#: same number to 10 significant digits differ by at most one unit there (at most 1e-9 relative); any real change
#: of a published number larger than that is reported.
VERIFY_RTOL = 2e-9


def current_umask() -> int:
    """The process's umask, read without changing it where the platform allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode ``0o666 & ~umask`` (see the module docstring).

    Creates the parent folder if needed."""
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8, exactly as given (no newline translation), atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars into Python numbers and non-finite floats into ``None`` (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, no NaN/inf, UTF-8 text, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as canonical JSON (:func:`dumps_json`) atomically."""
    atomic_write_text(path, dumps_json(payload))


def round_sig(value: float, digits: int = PUBLISHED_SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (correctly rounded decimal, half to even).

    Zero and non-finite values are returned unchanged."""
    if value == 0.0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits - 1}e}")


def round_floats(obj: Any, digits: int = PUBLISHED_SIGNIFICANT_DIGITS) -> Any:
    """Apply :func:`round_sig` to every float in a JSON-like structure (dicts, lists, tuples); numpy float
    scalars count as floats. Integers, booleans, strings and ``None`` are left as they are."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return round_sig(obj, digits)
    if isinstance(obj, Mapping):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    item = getattr(obj, "item", None)  # numpy scalars, without importing numpy
    if callable(item) and getattr(obj, "shape", None) == ():
        return round_floats(item(), digits)
    return obj


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
