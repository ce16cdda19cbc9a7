"""Shared plumbing for the raw -> derived builders: reading raw files with one-line errors, writing CSV files
deterministically and atomically, and the checksum manifest.

Determinism matters because the derived files are committed and a test rebuilds them byte for byte: rows are
sorted by the key columns, floats are written with a fixed number of decimals (trailing zeros dropped), line
endings are ``\\n`` and the encoding is UTF-8 without a byte-order mark.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.errors import UserInputError
from clusterpolicy.fsutil import atomic_write_text, sha256_file

logger = logging.getLogger("clusterpolicy.data.build")

#: Name of the checksum manifest written next to the derived files.
MANIFEST_NAME = "checksums.sha256"


@dataclass(frozen=True)
class Column:
    """Codebook entry of one derived column.

    Parameters
    ----------
    name
        Column name in the CSV file.
    unit
        Unit or value set (``"count"``, ``"million EUR"``, ``"NUTS 2016 code"``...).
    description
        What the column holds, including how it is computed.
    decimals
        Decimals written for float columns (``None`` for integer and text columns).
    """

    name: str
    unit: str
    description: str
    decimals: int | None = None


@dataclass(frozen=True)
class DerivedTable:
    """One derived file: its name, a one-paragraph description, the sources and the column codebook."""

    filename: str
    description: str
    sources: tuple[str, ...]
    columns: tuple[Column, ...]
    key: tuple[str, ...]


def require_dir(path: Path, what: str, fix: str) -> Path:
    """Return ``path`` if it is a directory, else raise a one-line :class:`UserInputError`."""
    path = Path(path)
    if not path.is_dir():
        raise UserInputError(f"{what} folder {path} does not exist; {fix}")
    return path


def require_file(path: Path, fix: str) -> Path:
    """Return ``path`` if it is a readable, non-empty file, else raise a one-line :class:`UserInputError`."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"raw file {path} is missing; {fix}")
    if path.stat().st_size == 0:
        raise UserInputError(f"raw file {path} is empty; {fix}")
    if not os.access(path, os.R_OK):
        raise UserInputError(f"raw file {path} is not readable (permissions); make it readable or {fix}")
    return path


def read_raw_csv(path: Path, fix: str, **kwargs) -> pd.DataFrame:
    """Read one raw CSV (plain or ``.gz``) and turn every read failure into a one-line :class:`UserInputError`.

    A truncated or corrupt gzip raises ``EOFError``/``zlib.error``/``gzip.BadGzipFile`` deep inside pandas; a
    wrong separator or a half-written file raises a parser error. All of them mean "replace this file".
    """
    path = require_file(path, fix)
    try:
        if path.suffix == ".gz":
            # Decompress fully first so a truncated archive fails here, not half-way through parsing.
            with gzip.open(path, "rb") as fh:
                payload = fh.read()
            return pd.read_csv(io.BytesIO(payload), **kwargs)
        return pd.read_csv(path, **kwargs)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise UserInputError(
            f"raw file {path} is a truncated or corrupt gzip archive ({err}); download it again, {fix}"
        ) from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserInputError(f"raw file {path} cannot be parsed as CSV ({first}); replace it, {fix}") from err
    except ValueError as err:
        # pandas raises ValueError for usecols that are absent: the file has the wrong layout.
        raise UserInputError(f"raw file {path} does not have the expected columns ({err}); {fix}") from err
    except OSError as err:
        raise UserInputError(f"raw file {path} cannot be read ({err.strerror or err}); {fix}") from err


def read_raw_json(path: Path, fix: str):
    """Read one raw JSON file with one-line errors."""
    path = require_file(path, fix)
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserInputError(f"raw file {path} is not valid JSON ({err}); replace it, {fix}") from err
    except OSError as err:
        raise UserInputError(f"raw file {path} cannot be read ({err.strerror or err}); {fix}") from err


def require_columns(df: pd.DataFrame, needed: Iterable[str], path: Path, fix: str) -> None:
    """Raise a one-line error naming the missing columns of a raw file."""
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise UserInputError(f"raw file {path} lacks column(s) {', '.join(missing)}; {fix}")


def _format_float(value: float, decimals: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def format_table(df: pd.DataFrame, table: DerivedTable) -> str:
    """Render ``df`` as CSV text in the codebook's column order, sorted by the key, with fixed float format."""
    names = [c.name for c in table.columns]
    extra = set(df.columns) - set(names)
    missing = set(names) - set(df.columns)
    if extra or missing:
        # A builder/codebook mismatch is a bug in this package, not a user error.
        raise RuntimeError(f"{table.filename}: columns not in codebook {sorted(extra)}, missing {sorted(missing)}")
    out = df.loc[:, names].sort_values(list(table.key), kind="mergesort").reset_index(drop=True)
    rendered = {}
    for col in table.columns:
        series = out[col.name]
        if col.decimals is not None:
            rendered[col.name] = [_format_float(float(v), col.decimals) if pd.notna(v) else "" for v in series]
        elif pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
            rendered[col.name] = [str(int(v)) if pd.notna(v) else "" for v in series]
        else:
            rendered[col.name] = ["" if pd.isna(v) else str(v) for v in series]
    frame = pd.DataFrame(rendered, columns=names)
    return frame.to_csv(index=False, lineterminator="\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, as given) to ``path`` atomically; see :func:`clusterpolicy.fsutil.atomic_write_text`."""
    atomic_write_text(path, text)


def write_table(df: pd.DataFrame, table: DerivedTable, out_dir: Path) -> Path:
    """Format and atomically write one derived table; return its path."""
    path = Path(out_dir) / table.filename
    write_text_atomic(path, format_table(df, table))
    logger.info("wrote %s (%d rows)", path, len(df))
    return path


def write_manifest(out_dir: Path, filenames: Iterable[str]) -> Path:
    """Write ``checksums.sha256`` (``sha256sum`` format, sorted by file name) for ``filenames`` in ``out_dir``."""
    out_dir = Path(out_dir)
    lines = [f"{sha256_file(out_dir / name)}  {name}\n" for name in sorted(set(filenames))]
    path = out_dir / MANIFEST_NAME
    write_text_atomic(path, "".join(lines))
    return path


def read_manifest(path: Path) -> Mapping[str, str]:
    """Parse a ``sha256sum``-format manifest into ``{filename: hexdigest}``."""
    entries: dict[str, str] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise UserInputError(
                f"{path} line {lineno} is not '<sha256>  <file>'; rebuild it with `clusterpolicy data build`."
            )
        entries[parts[1].strip().lstrip("*")] = parts[0].lower()
    return entries
