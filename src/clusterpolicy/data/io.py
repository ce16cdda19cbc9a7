"""Read user panel files robustly, with one-line, fixable error messages.

:func:`read_panel_csv` accepts what spreadsheets and statistical offices actually produce: comma-, semicolon-
(the Italian Excel default) or tab-separated text, UTF-8 with or without a byte-order mark, UTF-16 with a BOM
("Unicode text" from Excel) and, failing UTF-8, Windows-1252 / Latin-1 (with a warning). In semicolon- and
tab-separated files a decimal comma (``1,5``) is read as a decimal point when a whole column is otherwise numeric.

Cells holding only ``NA``, ``N/A``, ``NaN``, ``null``, ``#N/A`` or ``.`` count as empty (missing). Columns in
which every non-empty value is a number become numeric (``int64`` when all are whole numbers and none is
missing, else ``float64``); other columns stay text, and so do ids with a leading zero such as ``001``. Nothing
else is interpreted: which column is the unit, time, cohort or outcome is decided by
:func:`clusterpolicy.data.schema.validate_panel`, which also reports bad values by their line in the file.

Line numbers: line 1 is the header, so the ``k``-th data row (0-based position ``k`` in the returned frame) is on
line ``k + 2`` unless blank lines or quoted multi-line cells intervene; then the frame carries the true line of
every row in ``df.attrs["source_lines"]`` (a tuple of ints), which :func:`row_lines` reads.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.errors import ClusterPolicyWarning, DataValidationError

logger = logging.getLogger(__name__)

#: Delimiters we sniff, in order of preference when the header is ambiguous.
DELIMITERS = (";", "\t", ",")
_DELIMITER_NAMES = {";": "semicolon", "\t": "tab", ",": "comma"}
#: A number written with a decimal comma (no thousands separator): 1,5  -2,25  ,5  3  1,5e3
_DECIMAL_COMMA = re.compile(r"^[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?$")
_SNIFF_BYTES = 8192
#: Cell contents read as missing (besides the empty cell): what R, Stata, Excel and SQL exports write.
MISSING_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "#N/A", "."})


class EncodingFallbackWarning(ClusterPolicyWarning):
    """The file was not valid UTF-8 and was decoded as Windows-1252 or Latin-1."""


def read_panel_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a delimited text file into a DataFrame, sniffing the delimiter and the encoding.

    Parameters
    ----------
    path
        A ``.csv``/``.tsv``/``.txt`` file whose first line is a header.

    Returns
    -------
    pandas.DataFrame
        One column per header field, a default ``RangeIndex``, numeric columns converted as described in the
        module docstring, ``attrs["source"]`` set to ``str(path)``, ``attrs["delimiter"]`` and
        ``attrs["encoding"]`` to what was detected.

    Raises
    ------
    DataValidationError
        One line naming the file: missing, a directory, unreadable, empty (0 bytes, blank or header only),
        binary, no recognisable delimiter, blank or duplicate column names, or ragged rows (with line numbers).

    Warns
    -----
    EncodingFallbackWarning
        When the file is not UTF-8 and was decoded as Windows-1252 (or Latin-1).
    """
    path = Path(path)
    text, encoding = _decode(path, _read_bytes(path))
    first_line = re.search(r"^.*\S.*$", text, flags=re.MULTILINE)  # the header: first non-blank line
    if first_line is None:
        raise DataValidationError(f"{path}: the file is empty (only blank lines); export the panel with a header "
                                  "row and one row per unit and period.")
    header_line = first_line.group(0)
    delimiter = _sniff_delimiter(path, header_line)
    header, rows, lines = _parse(path, text, delimiter)
    header, rows = _clean_header(path, header, rows, delimiter)
    frame = _to_frame(header, rows, decimal_comma=delimiter in {";", "\t"})
    frame.attrs["source"] = str(path)
    frame.attrs["delimiter"] = delimiter
    frame.attrs["encoding"] = encoding
    frame.attrs["n_rows"] = len(frame)
    if lines != list(range(2, len(rows) + 2)):
        frame.attrs["source_lines"] = tuple(lines)
    logger.info("read %s: %d rows, %d columns (%s-separated, %s)", path, len(frame), frame.shape[1],
                _DELIMITER_NAMES[delimiter], encoding)
    return frame


def is_as_read(df: pd.DataFrame) -> bool:
    """Whether ``df`` still has the rows of the file it was read from, in file order (so lines can be named).

    ``attrs`` survive filtering and sorting, so this also checks the row count and the default index.
    """
    index = df.index
    return ("source" in df.attrs and df.attrs.get("n_rows") == len(df) and isinstance(index, pd.RangeIndex)
            and index.start == 0 and index.step == 1)


def row_lines(df: pd.DataFrame, positions: np.ndarray | list[int]) -> list[int]:
    """Line numbers in the source file (header = line 1) of the rows at 0-based ``positions`` of a frame from
    :func:`read_panel_csv` (see :func:`is_as_read`)."""
    source = df.attrs.get("source_lines")
    if source is not None and len(source) == len(df):
        return [int(source[p]) for p in positions]
    return [int(p) + 2 for p in positions]


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            near = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() in {".csv", ".tsv", ".txt"})
            if near:
                hint = f" (files there: {', '.join(near[:5])}{' ...' if len(near) > 5 else ''})"
        raise DataValidationError(f"{path}: file not found{hint}; check the path.")
    if path.is_dir():
        raise DataValidationError(f"{path}: is a folder, not a file; give the path of the CSV file.")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataValidationError(f"{path}: cannot be read ({err.strerror}); check its permissions.") from err
    if not data.strip():
        kind = "0 bytes" if not data else "only blank lines"
        raise DataValidationError(f"{path}: the file is empty ({kind}); export the panel with a header row and "
                                  "one row per unit and period.")
    return data


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    # UTF-16 is what Excel writes as "Unicode text"; it must be recognised before the NUL-byte binary test.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return _normalise_newlines(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError as err:
            raise DataValidationError(f"{path}: starts with a UTF-16 mark but is not valid UTF-16 "
                                      f"(byte {err.start}); re-save it as CSV UTF-8.") from err
    if b"\x00" in data[:_SNIFF_BYTES] or _looks_binary(data[:_SNIFF_BYTES]):
        raise DataValidationError(f"{path}: is not a text file (binary content, e.g. .xlsx, .parquet or .zip); "
                                  "save it as CSV (comma, semicolon or tab separated).")
    try:
        return _normalise_newlines(data.decode("utf-8-sig")), "utf-8"
    except UnicodeDecodeError as err:
        first_bad = err.start
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        line = data.count(b"\n", 0, first_bad) + 1
        message = (f"{path}: not valid UTF-8 (first bad byte on line {line}); read it as {encoding}. "
                   "Check accented names, or re-save the file as CSV UTF-8.")
        logger.info(message)
        warnings.warn(message, EncodingFallbackWarning, stacklevel=3)
        return _normalise_newlines(text), encoding
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _looks_binary(head: bytes) -> bool:
    """Many control characters (other than tab/newline/CR/form feed) mean binary content."""
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(2, len(head) // 100)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _sniff_delimiter(path: Path, header_line: str) -> str:
    """Choose the delimiter that occurs most often in the header, outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties resolved by DELIMITERS order
    if counts[best] == 0:
        shown = header_line if len(header_line) <= 60 else header_line[:57] + "..."
        raise DataValidationError(f"{path}: the header line {shown!r} has no comma, semicolon or tab, so there is "
                                  "only one column; save the file as comma-, semicolon- or tab-separated CSV.")
    return best


def _parse(path: Path, text: str, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Split ``text`` into header and rows with the csv module, remembering each row's line in the file.

    Blank lines (or lines of empty fields, as spreadsheets write) are skipped but counted.
    """
    records, starts = _records(path, text, delimiter)
    keep = [k for k, r in enumerate(records) if r and "".join(r).strip()]
    header = records[keep[0]]
    body = keep[1:]
    widths = np.fromiter((len(records[k]) for k in body), dtype=np.int64, count=len(body))
    bad = np.flatnonzero(widths != len(header))
    if bad.size:
        lines = [starts[body[i]] for i in bad]
        found = sorted({int(w) for w in widths[bad]})
        raise DataValidationError(
            f"{path}: {bad.size} row(s) have a different number of fields than the header's {len(header)} "
            f"({_DELIMITER_NAMES[delimiter]}-separated): line(s) {_first(lines)} with "
            f"{', '.join(map(str, found))} field(s); fix those rows (a stray "
            f"{_DELIMITER_NAMES[delimiter]} inside a value must be quoted).")
    if not body:
        raise DataValidationError(f"{path}: has a header but no data rows; export the panel with one row per unit "
                                  "and period.")
    return header, [records[k] for k in body], [starts[k] for k in body]


def _records(path: Path, text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """All records and the line each starts on. Without quotes a record is a line (fast path)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', strict=False)
    try:
        if '"' not in text:
            records = list(reader)
            return records, list(range(1, len(records) + 1))
        records, starts, start = [], [], 1
        for record in reader:  # quoted cells may span lines: track where each record starts
            records.append(record)
            starts.append(start)
            start = reader.line_num + 1
        return records, starts
    except csv.Error as err:
        raise DataValidationError(f"{path}: cannot parse line {reader.line_num} ({err}); check for an unclosed "
                                  'quote (").') from err


def _clean_header(path: Path, header: list[str], rows: list[list[str]], delimiter: str,
                  ) -> tuple[list[str], list[list[str]]]:
    """Strip names; drop nameless all-empty columns (trailing delimiters from Excel); refuse other problems."""
    names = [h.strip() for h in header]
    keep = []
    for j, name in enumerate(names):
        if name:
            keep.append(j)
            continue
        if any(row[j].strip() for row in rows):
            raise DataValidationError(f"{path}: column {j + 1} of the header has no name but holds values; give it "
                                      "a name in the header line.")
    seen: dict[str, int] = {}
    for j in keep:
        if names[j] in seen:
            raise DataValidationError(f"{path}: column name {names[j]!r} appears twice in the header (columns "
                                      f"{seen[names[j]] + 1} and {j + 1}); rename one of them.")
        seen[names[j]] = j
    if len(keep) < 2:
        raise DataValidationError(f"{path}: found a single named column; a panel needs unit, time, cohort and "
                                  f"outcome columns ({_DELIMITER_NAMES[delimiter]}-separated).")
    if len(keep) == len(names):
        return names, rows
    return [names[j] for j in keep], [[row[j] for j in keep] for row in rows]


def _to_frame(header: list[str], rows: list[list[str]], *, decimal_comma: bool) -> pd.DataFrame:
    columns = list(zip(*rows)) if rows else [() for _ in header]
    return pd.DataFrame({name: _convert(values, decimal_comma=decimal_comma)
                         for name, values in zip(header, columns)})


def _convert(values: tuple[str, ...], *, decimal_comma: bool) -> pd.Series:
    """Numeric when every non-empty value is a number, else text with empty cells missing.

    Text with a leading zero ("001", ISTAT and postcode style identifiers) stays text so that no id is altered.
    Written for speed, as it sees every cell of the file: whole-column string and numpy operations, Python
    loops only where a column has padding.
    """
    if any(v[:1].isspace() or v[-1:].isspace() for v in values):
        values = tuple(v.strip() for v in values)
    arr = np.asarray(values, dtype=object)
    tokens = set(values) & MISSING_TOKENS
    empty = pd.Series(arr).isin(tokens).to_numpy() if tokens else np.zeros(arr.size, dtype=bool)
    nonempty = arr[~empty] if tokens else arr
    if nonempty.size == 0:
        return pd.Series(np.full(arr.size, np.nan))
    numbers = _fast_numbers(nonempty, decimal_comma=decimal_comma)
    if numbers is None:
        text = pd.Series(arr, dtype="str")
        return text.where(~empty, pd.NA) if tokens else text
    if not tokens and np.isfinite(numbers).all() and (numbers == np.round(numbers)).all() \
            and (np.abs(numbers) < 2**53).all():
        return pd.Series(numbers.astype("int64"))
    out = np.full(arr.size, np.nan)
    out[~empty] = numbers
    return pd.Series(out)


_LEADING_ZERO = re.compile(r"(?m)^[+-]?0\d")
_DECIMAL_COMMA_LINES = re.compile(r"(?:[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?\n)*")


def _fast_numbers(values: np.ndarray, *, decimal_comma: bool) -> np.ndarray | None:
    """float64 values of the strings in ``values`` if every one is a plain number (else ``None``).

    Ids with leading zeros and Python-only spellings (``1_000``) count as text.
    """
    joined = "\n".join(values.tolist())
    if "_" in joined or _LEADING_ZERO.search(joined):
        return None
    try:
        return values.astype(np.float64)
    except ValueError:
        pass
    if decimal_comma and "," in joined and _DECIMAL_COMMA_LINES.fullmatch(joined + "\n"):
        return np.asarray(joined.replace(",", ".").split("\n"), dtype=object).astype(np.float64)
    return None


def parse_numbers(values: pd.Series, *, decimal_comma: bool = False) -> pd.Series:
    """Parse text to float64; unparseable values become NaN ("inf" parses to inf).

    With ``decimal_comma=True`` and every value written with a decimal comma or as an integer (``1,5``, ``2``),
    the commas are read as decimal points. Mixed styles (``1,5`` next to ``1.5``) are not guessed at: the
    comma values stay unparseable so that validation reports them.
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("str").str.strip()
    numeric = pd.to_numeric(text, errors="coerce").astype("float64")
    if decimal_comma and numeric.isna().any() and text.str.match(_DECIMAL_COMMA).all():
        numeric = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    return numeric


def _first(items: list[int], k: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:k])
    return shown + (f" (and {len(items) - k} more)" if len(items) > k else "")
