"""The C-parser fast path of :func:`clusterpolicy.data.io.read_panel_csv` gives the strict reader's frame.

Every good file below is read twice, by the fast path and by the strict line-numbered reader
(``strict=True``); the frames must be identical (values bit for bit, dtypes, column names, attrs other than the
reader's name). Bad files must still get the strict reader's one-line error naming the line.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.data.io import read_panel_csv
from clusterpolicy.data.schema import validate_file
from clusterpolicy.errors import DataValidationError


def both(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = read_panel_csv(path)
        slow = read_panel_csv(path, strict=True)
    assert slow.attrs["reader"] == "strict"
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert [fast[c].dtype for c in fast] == [slow[c].dtype for c in slow]
    for column in fast:
        if pd.api.types.is_float_dtype(fast[column]):  # bit for bit, signed zeros included
            assert fast[column].to_numpy().tobytes() == slow[column].to_numpy().tobytes()
    drop = {"reader"}
    assert {k: v for k, v in fast.attrs.items() if k not in drop} == \
        {k: v for k, v in slow.attrs.items() if k not in drop}
    return fast, slow


def panel_text(sep: str = ",", decimal: str = ".") -> str:
    rng = np.random.default_rng(3)
    lines = [sep.join(["firm", "year", "cohort", "y", "x"])]
    for i in range(40):
        cohort = [0, 2012, 2014, 0][i % 4]
        for year in range(2010, 2016):
            y = f"{rng.normal():.15g}".replace(".", decimal)
            x = repr(float(rng.normal() * 1e-6)).replace(".", decimal)
            lines.append(sep.join([f"F{i:03d}", str(year), str(cohort), y, x]))
    return "\n".join(lines) + "\n"


GOOD = {
    "comma": (panel_text(","), "c"),
    "semicolon-decimal-comma": (panel_text(";", ","), "c"),
    "tab": (panel_text("\t"), "c"),
    "tab-decimal-comma": (panel_text("\t", ","), "c"),
    "quoted-ids": ('firm,year,cohort,y\n"Rossi, S.p.A.",2010,0,1.5\n"Rossi, S.p.A.",2011,0,2\n'
                   '"Bianchi",2010,2011,3\n"Bianchi",2011,2011,4.25\n', "c"),
    "quoted-numbers": ('"firm","year","cohort","y"\n"A","2010","0","1.5"\n"A","2011","0","2"\n', "c"),
    "missing-values": ("firm,year,cohort,y,x\nA,2010,,1.5,NA\nA,2011,NA,,2\nB,2010,2011,.,n/a\n"
                       "B,2011,2011,#N/A,null\nC,2010,0,NaN,3\n", "c"),
    "leading-zero-ids": ("comune,year,cohort,y\n001272,2010,0,1\n001272,2011,0,2\n015146,2010,2011,3\n", "c"),
    "leading-zero-numbers": ("id,year,cohort,y\n1,2010,0,007\n1,2011,0,-01\n2,2010,0,1e-05\n", "c"),
    "exponents": ("id,year,cohort,y\n1,2010,0,1e-05\n1,2011,0,2.5E+03\n2,2010,0,-0.0\n2,2011,0,1e0001\n", "c"),
    "whole-floats": ("id,year,cohort,y\n1,2010.0,0,1.0\n1,2011.0,0,-0.0\n", "c"),
    "padded": ("firm , year,cohort,y\n A ,2010 , 0,1.5 \nA, 2011,0 , 2\n", "c"),
    "padded-leading-zero": ("id,year,cohort,y\n 01,2010,0,1\n01,2011,0,2\n", "c"),
    "infinite-and-nan-spellings": ("id,year,cohort,y\n1,2010,0,inf\n1,2011,0,-Infinity\n2,2010,0,NAN\n", "c"),
    "booleans": ("id,year,treated,y\n1,2010,True,1\n1,2011,False,2\n", "c"),
    "huge-integers": ("id,year,cohort,y\n12345678901234567890,2010,0,9007199254740993\n1,2011,0,2\n", "c"),
    "underscores": ("id,year,cohort,y\n1_000,2010,0,1_5\n2,2011,0,2\n", "c"),
    "mixed-text-numbers": ("id,year,cohort,y\n1,2010,0,1.5\nx,2011,0,abc\n", "c"),
    "mixed-decimal-styles": ("id;year;cohort;y\n1;2010;0;1,5\n1;2011;0;1.5\n", "c"),
    "unicode": ("città,anno,coorte,y\nForlì,2010,0,1\nForlì,2011,0,２\n", "c"),
    "no-final-newline": ("id,year,cohort,y\n1,2010,0,1\n1,2011,0,2", "c"),
    "crlf": ("id,year,cohort,y\r\n1,2010,0,1.5\r\n1,2011,0,2.5\r\n", "c"),
    "all-missing-column": ("id,year,cohort,y,z\n1,2010,0,1,\n1,2011,0,2,NA\n", "c"),
    # not plainly well formed: the strict reader reads them (same frame by construction)
    "blank-lines": ("id,year,cohort,y\n\n1,2010,0,1\n\n1,2011,0,2\n\n", "strict"),
    "delimiter-only-row": ("id,year,cohort,y\n1,2010,0,1\n,,,\n1,2011,0,2\n", "strict"),
    "trailing-delimiter": ("id,year,cohort,y,\n1,2010,0,1,\n1,2011,0,2,\n", "strict"),
    "multiline-quoted": ('id,year,cohort,note\n1,2010,0,"a\nb"\n1,2011,0,c\n', "strict"),
    "doubled-quotes": ('id,year,cohort,note\n1,2010,0,"say ""hi"""\n1,2011,0,c\n', "strict"),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_fast_and_strict_frames_are_identical(tmp_path, name):
    text, reader = GOOD[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode("utf-8"))
    fast, _ = both(path)
    assert fast.attrs["reader"] == reader


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings(tmp_path, encoding):
    path = tmp_path / "enc.csv"
    path.write_bytes("città;anno;coorte;y\nForlì;2010;0;1,5\nForlì;2011;0;2\n".encode(encoding))
    fast, _ = both(path)
    assert fast.attrs["reader"] == "c"
    assert fast["città"].tolist() == ["Forlì", "Forlì"] and fast["y"].tolist() == [1.5, 2.0]


def test_random_files_agree(tmp_path):
    """Random cells from a pool of awkward tokens, several delimiters: same frame, or the same error."""
    rng = np.random.default_rng(11)
    pool = ["1", "2.5", "-3", "007", "-01", "0", "1e-05", "1,5", " 2 ", "NA", "", ".", "abc", "inf", "nan",
            "True", "1_000", "12345678901234567890", "+.5", "5.", "2,25", "x y", "２", '"q,1"', '"7"', "1E3",
            "  ", "n/a", "-0.0", "9007199254740993"]
    for k in range(150):
        sep = [",", ";", "\t"][k % 3]
        n_cols, n_rows = int(rng.integers(2, 5)), int(rng.integers(1, 6))
        lines = [sep.join(f"c{j}" for j in range(n_cols))]
        for _ in range(n_rows):
            cells = [pool[int(rng.integers(len(pool)))] for _ in range(n_cols)]
            if sep != ",":
                cells = [c.replace('"q,1"', "q") for c in cells]
            lines.append(sep.join(cells))
        path = tmp_path / f"r{k}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        errors = []
        for strict in (False, True):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    read_panel_csv(path, strict=strict)
            except DataValidationError as err:
                errors.append(str(err))
        if errors:
            assert len(errors) == 2 and errors[0] == errors[1], path.read_text()
        else:
            both(path)


BAD = [
    ("ragged", "id,year,cohort,y\n1,2010,0,1\n1,2011,0\n2,2010,0,1,9\n",
     "2 row(s) have a different number of fields than the header's 4 (comma-separated): line(s) 3, 4 with 3, 5 "
     "field(s)"),
    ("duplicate-names", "id,year,year,y\n1,2010,0,1\n1,2011,0,2\n", "column name 'year' appears twice"),
    ("nameless-with-values", "id,,cohort,y\n1,2010,0,1\n1,2011,0,2\n", "column 2 of the header has no name"),
]


@pytest.mark.parametrize("name,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_files_get_the_strict_error(tmp_path, name, text, message):
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as fast_err:
        read_panel_csv(path)
    with pytest.raises(DataValidationError) as strict_err:
        read_panel_csv(path, strict=True)
    assert str(fast_err.value) == str(strict_err.value)
    assert str(fast_err.value).startswith(f"{path}: ") and "\n" not in str(fast_err.value)
    if message:
        assert message in str(fast_err.value)


def test_bad_value_in_fast_read_file_names_the_line(tmp_path):
    """A well-formed file (fast path) with a bad value: validation still names the line, column and fix."""
    text = panel_text(",").splitlines()
    text[7] = text[7].rsplit(",", 2)[0] + ",12 kg," + text[7].rsplit(",", 1)[1]
    path = tmp_path / "bad-value.csv"
    path.write_text("\n".join(text) + "\n")
    assert read_panel_csv(path).attrs["reader"] == "c"
    with pytest.raises(DataValidationError, match=r"column 'y': non-numeric outcome on line\(s\) 8 .*'12 kg'"):
        validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y")


def test_blank_lines_keep_their_line_numbers(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("id,year,cohort,y\n\n1,2010,0,1\n\n1,2011,0,x\n")
    frame = read_panel_csv(path)
    assert frame.attrs["reader"] == "strict" and frame.attrs["source_lines"] == (3, 5)
