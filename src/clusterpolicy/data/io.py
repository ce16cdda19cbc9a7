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

Two readers, one result: a well-formed file (every line has the header's number of fields, no blank lines,
quotes only around whole fields on one line) is read by pandas' C parser (``engine="c"``), whose numbers are
bit for bit Python's; any other file goes through the strict, line-numbered :mod:`csv` reader, which names the
offending lines. Columns the C parser cannot type exactly as described above (text, ids with leading zeros,
decimal commas, missing tokens, ``inf``) get the same text conversion in both readers, so the frames are
identical (``attrs["reader"]`` says which one ran; ``tests/test_fast_reader.py`` compares them).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

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


def read_panel_csv(path: str | os.PathLike[str], *, strict: bool = False) -> pd.DataFrame:
    """Read a delimited text file into a DataFrame, sniffing the delimiter and the encoding.

    Parameters
    ----------
    path
        A ``.csv``/``.tsv``/``.txt`` file whose first line is a header.
    strict
        Always use the strict line-numbered reader (the fast C-parser path gives the same frame; this switch
        exists to test that and to rule the fast path out when debugging).

    Returns
    -------
    pandas.DataFrame
        One column per header field, a default ``RangeIndex``, numeric columns converted as described in the
        module docstring, ``attrs["source"]`` set to ``str(path)``, ``attrs["delimiter"]`` and
        ``attrs["encoding"]`` to what was detected, ``attrs["reader"]`` to ``"c"`` or ``"strict"``.

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
    fast = _fast_frame(text, delimiter) if first_line.start() == 0 and not strict else None
    if fast is not None:
        frame, lines, reader = fast, None, "c"
    else:
        header, rows, lines = _parse(path, text, delimiter)
        header, rows = _clean_header(path, header, rows, delimiter)
        columns = [np.asarray(c, dtype=object) for c in zip(*rows)] if rows else [np.empty(0, dtype=object)
                                                                                   for _ in header]
        frame, reader = _to_frame(header, columns, decimal_comma=delimiter in {";", "\t"}), "strict"
    frame.attrs["source"] = str(path)
    frame.attrs["delimiter"] = delimiter
    frame.attrs["encoding"] = encoding
    frame.attrs["n_rows"] = len(frame)
    frame.attrs["reader"] = reader
    if lines is not None and lines != list(range(2, len(lines) + 2)):
        frame.attrs["source_lines"] = tuple(lines)
    logger.info("read %s: %d rows, %d columns (%s-separated, %s, %s reader)", path, len(frame), frame.shape[1],
                _DELIMITER_NAMES[delimiter], encoding, reader)
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


# --------------------------------------------------------------------------------------------------------------
# the fast path: pandas' C tokenizer on well-formed files

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True
_WORDISH = _DIGIT.copy()  # digits, '.', letters (1e05) and the bytes of non-ASCII characters
_WORDISH[[46, *range(65, 91), *range(97, 123), *range(128, 256)]] = True
_EXPONENT = np.zeros(256, dtype=bool)
_EXPONENT[[69, 101]] = True
_SIGN = np.zeros(256, dtype=bool)
_SIGN[[43, 45]] = True
_SPACE = np.zeros(256, dtype=bool)  # the ASCII whitespace the C parser skips around numbers
_SPACE[[9, 10, 11, 12, 13, 32]] = True
_EXACT_INT = 2**53


def _fast_frame(text: str, delimiter: str) -> pd.DataFrame | None:
    """The frame of a well-formed file, tokenized and typed by pandas' C parser; ``None`` when the file is not
    plainly well formed, so that the strict reader finds and names the problem (or counts the blank lines).

    Well formed: no NUL; quotes, if any, only around whole fields within one line, none doubled; every line (the
    header included, none blank) has the header's number of fields; the header's names are distinct and
    non-empty; no row is empty. The C parser's numbers are Python's (correctly rounded, and it accepts a subset
    of what ``float`` accepts), so a numeric column is kept as parsed and typed by the rule of :func:`_convert`;
    when a column needs a decision the C parser does not make (ids with a leading zero such as ``007``,
    non-finite numbers, ``True``/``False``, integers beyond 2**53), every cell is tokenized as text by the same C
    parser and converted by :func:`_convert`, exactly as the strict reader's cells are.
    """
    if "\x00" in text:
        return None
    data = text.encode("utf-8")
    quoted = '"' in text
    plain = data
    if quoted:
        d = re.escape(delimiter)
        plain = re.sub(f'(?m)(?:^|(?<={d}))"[^"\\n]*"(?={d}|$)', "", text).encode("utf-8")
        if b'"' in plain:
            return None
    raw = np.frombuffer(plain, dtype=np.uint8)
    if raw[-1:].tolist() == [10]:
        raw = raw[:-1]
    # Every field separator (delimiter or newline) in one pass: the file is rectangular exactly when, with a
    # newline appended, the separators read as lines of k delimiters then one newline, k the header's count.
    separators = np.flatnonzero((raw == 10) | (raw == ord(delimiter)))
    is_end = np.append(raw[separators] == 10, True)
    n_lines = int(np.count_nonzero(is_end))
    width = is_end.size // n_lines
    if n_lines < 2 or is_end.size != n_lines * width:
        return None  # ragged rows, blank lines or a header-only file: the strict reader says which
    by_line = is_end.reshape(n_lines, width)
    if not by_line[:, -1].all() or by_line[:, :-1].any():
        return None
    header_line = text[:text.index("\n")]
    names = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter, quotechar='"'))]
    if len(names) != width or not all(names) or len(set(names)) != len(names) or len(names) < 2:
        return None
    read: dict[str, Any] = {"sep": delimiter, "header": 0, "names": list(range(len(names))), "index_col": False,
                            "na_filter": False, "engine": "c", "quotechar": '"', "skip_blank_lines": False,
                            "low_memory": False}
    try:
        table = pd.read_csv(io.BytesIO(data), encoding="utf-8", **read)
    except (ValueError, pd.errors.ParserError):  # pragma: no cover - the checks above should prevent this
        return None
    if table.shape != (n_lines - 1, len(names)):  # pragma: no cover - as above
        return None
    decimal_comma = delimiter in {";", "\t"}
    columns: dict[str, pd.Series] = {}
    leading_zero = None
    for j, name in enumerate(names):
        series = table[j]
        kind = series.dtype.kind
        if kind in "iuf":
            if leading_zero is None:
                everywhere = np.frombuffer(data, dtype=np.uint8)
                leading_zero = _has_leading_zero(everywhere) if quoted else \
                    _starts_with_zero(raw, np.concatenate(([0], separators + 1)))
            column = None if leading_zero else _typed(series.to_numpy())
            if column is None:
                return _text_frame(data, names, read, decimal_comma)
            columns[name] = column
        elif kind == "O" or isinstance(series.dtype, pd.StringDtype):
            columns[name] = _convert(series.to_numpy(dtype=object), decimal_comma=decimal_comma)
        else:  # bool (True/False) and anything else the C parser typed: decide from the text
            return _text_frame(data, names, read, decimal_comma)
    return None if _blank_rows(columns) else pd.DataFrame(columns)


def _typed(values: np.ndarray) -> pd.Series | None:
    """A C-parsed numeric column typed as :func:`_convert` types it, or ``None`` when the text is needed."""
    if values.dtype.kind == "u" or (values.dtype.kind == "i" and values.size
                                    and max(-int(values.min()), int(values.max())) >= _EXACT_INT):
        return None
    if values.dtype.kind == "i":
        return pd.Series(values.astype("int64", copy=False))
    values = values.astype("float64", copy=False)
    if not np.isfinite(values).all():
        return None  # inf / nan spellings: _convert decides
    if (values == np.round(values)).all() and (np.abs(values) < _EXACT_INT).all():
        return pd.Series(values.astype("int64"))
    return pd.Series(values)


def _starts_with_zero(raw: np.ndarray, starts: np.ndarray) -> bool:
    """Whether a cell of an unquoted file (``starts``: the byte offset of every cell) may start with a zero
    followed by a digit (``007``, ``-01``), which :func:`_convert` keeps as text; cells that start with the ASCII
    whitespace the C parser skips in numbers count too (conservative: a false alarm only costs the slower text
    conversion)."""
    starts = starts[starts < raw.size]  # an empty last cell starts at the end
    first = raw[starts]
    if _SPACE[first].any():
        return True
    signed = starts[_SIGN[first]]
    zeros = np.concatenate((starts[first == 48], signed[raw.take(signed + 1, mode="clip") == 48] + 1))
    return bool(_DIGIT[raw.take(zeros + 1, mode="clip")].any())


def _has_leading_zero(raw: np.ndarray) -> bool:
    """Whether some cell may start with a zero followed by a digit (``007``, ``-01``, ``"001"``, `` 01``), which
    :func:`_convert` keeps as text. Conservative: a false alarm only costs the slower text conversion;
    exponents (``1e05``, ``1e-05``) and digits inside numbers (``105``, ``1.05``) do not count."""
    zero = np.flatnonzero(raw[:-1] == 48)
    zero = zero[_DIGIT[raw[zero + 1]]]
    if zero.size == 0:
        return False
    if zero[0] == 0:
        return True
    before = raw[zero - 1]
    starts = ~_WORDISH[before]
    signed = _SIGN[before]
    if signed.any():
        idx = zero[signed]
        after_exponent = np.zeros(idx.size, dtype=bool)
        inner = idx >= 2
        after_exponent[inner] = _EXPONENT[raw[idx[inner] - 2]]
        starts[signed] = ~after_exponent
    return bool(starts.any())


def _text_frame(data: bytes, names: list[str], read: dict, decimal_comma: bool) -> pd.DataFrame | None:
    """Every cell as text through the C tokenizer, converted by :func:`_convert` (as the strict reader does)."""
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8", dtype=object, **read)
    columns = {name: _convert(table[j].to_numpy(dtype=object), decimal_comma=decimal_comma)
               for j, name in enumerate(names)}
    return None if _blank_rows(columns) else pd.DataFrame(columns)


def _blank_rows(columns: dict[str, pd.Series]) -> bool:
    """Whether some row is empty in every column (the strict reader skips such lines and counts them)."""
    blank: np.ndarray | None = None
    for series in columns.values():
        miss = series.isna().to_numpy()
        if not miss.any():
            return False
        blank = miss if blank is None else blank & miss
    return bool(blank is not None and blank.any())


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
    if not data or data.isspace():
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
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


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


def _to_frame(header: list[str], columns: list[np.ndarray], *, decimal_comma: bool) -> pd.DataFrame:
    """The frame from each column's text cells (object arrays), converted by :func:`_convert`."""
    return pd.DataFrame({name: _convert(values, decimal_comma=decimal_comma)
                         for name, values in zip(header, columns)})


def _convert(values: np.ndarray, *, decimal_comma: bool) -> pd.Series:
    """Numeric when every non-empty value is a number, else text with empty cells missing.

    Cells are stripped of surrounding whitespace. Text with a leading zero ("001", ISTAT and postcode style
    identifiers) stays text so that no id is altered. Written for speed, as it sees every cell of the file:
    whole-column string and numpy operations only.
    """
    arr = np.asarray(values, dtype=object)
    if arr.size:
        arr = pd.Series(arr, dtype=object).str.strip().to_numpy(dtype=object)
    empty = pd.Series(arr, dtype=object).isin(MISSING_TOKENS).to_numpy()
    tokens = bool(empty.any())
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
