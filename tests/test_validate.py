"""Reading and validating user panel files: every malformed panel gives one line `error: ...` and exit 2."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.cli.main import run_cli
from clusterpolicy.data.io import EncodingFallbackWarning, read_panel_csv
from clusterpolicy.data.schema import PanelWarning, check_design, panel_schema, validate_file, validate_panel
from clusterpolicy.errors import DataValidationError, EstimationError, UserInputError

HEADER = ["firm", "year", "cohort", "y", "x", "region"]
ROLES = ["--unit", "firm", "--time", "year", "--cohort", "cohort", "--outcome", "y"]


def good_rows() -> list[list[str]]:
    """4 firms x 4 years (2010-2013); A, B first treated in 2012, C and D never (0 and empty)."""
    spec = {"A": ("2012", "ITC4"), "B": ("2012", "ITH3"), "C": ("0", "ITH5"), "D": ("", "ITC1")}
    rows = []
    for k, (firm, (cohort, region)) in enumerate(spec.items()):
        for year in range(2010, 2014):
            rows.append([firm, str(year), cohort, str(k + year - 2009), f"{0.25 * k:.2f}", region])
    return rows


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        run_cli(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# ---- malformed panels through the CLI: (name, mutate rows, extra args, column named, regex on the message) ----

def _set(row: int, col: str, value: str):
    def mutate(rows):
        rows[row][HEADER.index(col)] = value
        return rows
    return mutate


def _cohort_of(firm: str, value: str):
    def mutate(rows):
        for r in rows:
            if r[0] == firm:
                r[2] = value
        return rows
    return mutate


def _first_rows_cohort(value: str):
    def mutate(rows):
        rows[0][2] = value  # only the first row of firm A changes
        return rows
    return mutate


MALFORMED = [
    ("misspelled_time", lambda r: r, ["--unit", "firm", "--time", "yeer", "--cohort", "cohort", "--outcome", "y"],
     "yeer", r"did you mean 'year'"),
    ("case_outcome", lambda r: r, ["--unit", "firm", "--time", "year", "--cohort", "cohort", "--outcome", "Y"],
     "'Y'", r"did you mean 'y'"),
    ("empty_unit", _set(5, "firm", ""), [], "firm", r"empty unit id on line\(s\) 7 "),
    ("duplicate_unit_time", _set(1, "year", "2010"), [], "firm", r"duplicate unit-period rows .*line\(s\) 2, 3 "),
    ("non_numeric_outcome", _set(3, "y", "abc"), [], "'y'", r"non-numeric outcome on line\(s\) 5 .*'abc'"),
    ("infinite_outcome", _set(2, "y", "inf"), [], "'y'", r"non-finite outcome .*line\(s\) 4 "),
    ("empty_outcome", _set(8, "y", ""), [], "'y'", r"empty outcome on line\(s\) 10 "),
    ("non_integer_time", _set(4, "year", "2010.5"), [], "'year'", r"non-integer time on line\(s\) 6 "),
    ("non_numeric_time", _set(4, "year", "2010a"), [], "'year'", r"non-numeric time on line\(s\) 6 "),
    ("negative_count", _set(6, "y", "-1"), ["--count"], "'y'", r"negative count on line\(s\) 8 "),
    ("fractional_count", _set(6, "y", "1.5"), ["--count"], "'y'", r"non-integer count on line\(s\) 8 "),
    ("cohort_changes", _first_rows_cohort("2011"), [], "'cohort'", r"cohort changes within unit\(s\) 'A'"),
    ("cohort_after_panel", _cohort_of("C", "2016"), [], "'cohort'",
     r"after the last period 2013 .*set its cohort to 0"),
    ("non_numeric_cohort", _cohort_of("C", "yes"), [], "'cohort'", r"non-numeric cohort .*'yes'"),
    ("negative_cohort", _cohort_of("C", "-2012"), [], "'cohort'", r"not a whole period >= 0"),
    ("cohort_dummy", lambda r: [row[:2] + [("1" if row[2] == "2012" else "0")] + row[3:] for row in r], [],
     "'cohort'", r"0/1 treatment dummy"),
    ("cluster_missing", _set(9, "region", ""), ["--cluster", "region"], "'region'", r"empty cluster on line\(s\) 11 "),
    ("covariate_text", _set(0, "x", "n/d"), ["--covariates", "x"], "'x'", r"non-numeric covariate .*'n/d'"),
    ("covariate_missing", _set(0, "x", "NA"), ["--covariates", "x"], "'x'", r"empty covariate on line\(s\) 2 "),
    ("unknown_nuts_unit", lambda r: [["ITD5" if row[5] == "ITH5" else row[5]] + row[1:] for row in r],
     ["--unit", "firm", "--time", "year", "--cohort", "cohort", "--outcome", "y"], "'firm'",
     r"unknown NUTS code.*NUTS 2006.*'ITD5'"),
    ("unknown_nuts_cluster", _set(12, "region", "ITZ9"), ["--cluster", "region"], "'region'",
     r"unknown NUTS code.*line\(s\) 14 .*'ITZ9'"),
    ("one_period", lambda r: [row for row in r if row[1] == "2010"], [], "'year'", r"only one period \(2010\)"),
    ("same_column_twice", lambda r: r, ["--covariates", "y"], "'y'", r"given both as outcome and as covariate"),
]


@pytest.mark.parametrize("name,mutate,extra,column,pattern", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_panel_gives_one_line_error(tmp_path, capsys, name, mutate, extra, column, pattern):
    path = write(tmp_path / f"{name}.csv", mutate(good_rows()))
    args = ["validate", str(path), *(extra if extra and extra[0] == "--unit" else ROLES + extra)]
    code, out, err = cli(args, capsys)
    line = assert_one_line_error(code, err, f"{name}.csv", column)
    assert pd.Series([line]).str.contains(pattern, regex=True).iloc[0], line
    assert "OK" not in out


def test_there_are_at_least_14_distinct_malformed_panels():
    assert len({m[0] for m in MALFORMED}) >= 14


# ---- file-level problems (no column involved): named file, line numbers, one line ------------------------------

@pytest.mark.parametrize("content,pattern", [
    (b"", r"the file is empty \(0 bytes\)"),
    (b"\n\n  \n", r"the file is empty \(only blank lines\)"),
    (b"firm,year,cohort,y\n", r"header but no data rows"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary", r"not a text file"),
    (b"firm year cohort y\nA 2010 0 1\n", r"no comma, semicolon or tab"),
    (b"firm,year,cohort,y\nA,2010,0,1\nA,2011,0\nB,2010,0,1,7\nB,2011,0,2\n",
     r"2 row\(s\) have a different number of fields than the header's 4.*line\(s\) 3, 4 "),
    (b"firm,year,year,y\nA,2010,0,1\n", r"column name 'year' appears twice"),
    (b"firm,,cohort,y\nA,2010,0,1\n", r"column 2 of the header has no name"),
])
def test_file_level_errors(tmp_path, capsys, content, pattern):
    path = tmp_path / "panel.csv"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=pattern):
        read_panel_csv(path)
    code, _, err = cli(["validate", str(path), *ROLES], capsys)
    assert_one_line_error(code, err, "panel.csv")


def test_missing_file_names_path_and_neighbours(tmp_path, capsys):
    write(tmp_path / "panel_2020.csv", good_rows())
    code, _, err = cli(["validate", str(tmp_path / "panel2020.csv"), *ROLES], capsys)
    assert_one_line_error(code, err, "panel2020.csv", "file not found", "panel_2020.csv")


def test_line_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("firm,year,cohort,y\nA,2010,0,1\n\nA,2011,0,x\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"line\(s\) 4 "):
        validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y")


def test_many_offending_rows_shows_first_five_and_count(tmp_path):
    rows = good_rows()
    for r in rows:
        r[3] = "-1"
    path = write(tmp_path / "neg.csv", rows)
    with pytest.raises(DataValidationError, match=r"line\(s\) 2, 3, 4, 5, 6 \(and 11 more\) \(16 row\(s\) in all"):
        validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y", count=True)


# ---- files that must read and validate ---------------------------------------------------------------------------

ITALIAN = (
    "\ufeffregione;anno;anno_adesione;collaborazioni;spesa_rs\n"
    "ITC4;2012;2014;12;1,5\n"
    "ITC4;2013;2014;14;1,75\n"
    "ITC4;2014;2014;19;2\n"
    "ITC4;2015;2014;21;2,25\n"
    "ITH3;2012;;7;0,5\n"
    "ITH3;2013;;8;0,5\n"
    "ITH3;2014;;8;0,75\n"
    "ITH3;2015;;9;0,5\n"
    "ITH5;2012;0;10;3\n"
    "ITH5;2013;0;11;3,5\n"
    "ITH5;2014;0;11;3,25\n"
    "ITH5;2015;0;12;3\n"
)


def test_italian_semicolon_file_validates(tmp_path, capsys):
    path = tmp_path / "regioni.csv"
    path.write_text(ITALIAN, encoding="utf-8")
    frame = read_panel_csv(path)
    assert frame.attrs["delimiter"] == ";"
    assert list(frame.columns)[0] == "regione"  # BOM removed
    np.testing.assert_allclose(frame["spesa_rs"].iloc[:4], [1.5, 1.75, 2.0, 2.25], rtol=0, atol=0)
    code, out, err = cli(["validate", str(path), "--unit", "regione", "--time", "anno", "--cohort", "anno_adesione",
                          "--outcome", "collaborazioni", "--count", "--covariates", "spesa_rs",
                          "--cluster", "regione"], capsys)
    assert code == 0, err
    assert err == ""
    assert "3 units, 4 periods (2012-2015)" in out
    assert "treated cohorts (units): 2014 (1)" in out
    assert "never treated: 2 units" in out
    assert "single treated unit" in out  # design note


def test_latin1_file_is_read_with_a_warning(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("firm;year;cohort;y;city\nA;2010;0;1;Forlì\nA;2011;0;2;Forlì\n".encode("cp1252"))
    with pytest.warns(EncodingFallbackWarning, match=r"latin.csv: not valid UTF-8 .*line 2"):
        frame = read_panel_csv(path)
    assert frame["city"].tolist() == ["Forlì", "Forlì"]
    assert frame.attrs["encoding"] == "cp1252"


def test_tab_separated_utf16_and_quoted_fields(tmp_path):
    tab = tmp_path / "excel.txt"
    tab.write_bytes("firm\tyear\tcohort\ty\nA\t2010\t0\t1,5\nA\t2011\t0\t2\n".encode("utf-16"))
    frame = read_panel_csv(tab)
    assert frame.attrs["delimiter"] == "\t" and frame.attrs["encoding"] == "utf-16"
    assert frame["y"].tolist() == [1.5, 2.0]
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('firm,year,cohort,y\n"Rossi, S.p.A.",2010,0,1\n"Rossi, S.p.A.",2011,0,2\n', encoding="utf-8")
    assert read_panel_csv(quoted)["firm"].tolist() == ["Rossi, S.p.A.", "Rossi, S.p.A."]


def test_ids_with_leading_zeros_stay_text(tmp_path):
    path = tmp_path / "istat.csv"
    path.write_text("comune,year,cohort,y\n001272,2010,0,1\n001272,2011,0,2\n", encoding="utf-8")
    assert read_panel_csv(path)["comune"].tolist() == ["001272", "001272"]


def test_mixed_decimal_styles_are_not_guessed(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("firm;year;cohort;y\nA;2010;0;1,5\nA;2011;0;1.5\nB;2010;0;1\nB;2011;0;2\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"non-numeric outcome on line\(s\) 2 "):
        validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y")


# ---- validate_panel: the cleaned frame and warnings -------------------------------------------------------------

def test_cleaned_frame_contract(tmp_path):
    path = write(tmp_path / "good.csv", good_rows())
    panel = validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y", count=True,
                          covariates=["x"], cluster="region")
    data = panel.data
    assert list(data.columns) == ["firm", "year", "cohort", "y", "x", "region"]
    assert data["cohort"].dtype == "int64" and data["year"].dtype == "int64" and data["y"].dtype == "int64"
    assert data.groupby("firm")["cohort"].first().to_dict() == {"A": 2012, "B": 2012, "C": 0, "D": 0}
    assert panel.cohort_sizes == {2012: 2} and panel.n_never_treated == 2 and panel.periods == (2010, 2011, 2012, 2013)
    assert panel.warnings == ()
    panel_schema(unit="firm", time="year", cohort="cohort", outcome="y", count=True, covariates=["x"],
                 cluster="region").validate(data)


def test_validate_panel_does_not_mutate_and_reports_positions():
    frame = pd.DataFrame({"u": ["a", "a", "b", "b"], "t": [1.0, 2.0, 1.0, 2.0], "g": [np.nan, np.nan, 2, 2],
                          "y": [1.0, 2.0, 3.0, np.inf]})
    before = frame.copy()
    with pytest.raises(DataValidationError, match=r"<data>: column 'y': non-finite outcome .*row position\(s\) 3 "):
        validate_panel(frame, unit="u", time="t", cohort="g", outcome="y")
    pd.testing.assert_frame_equal(frame, before)
    with pytest.warns(PanelWarning) as record:
        ok = validate_panel(frame.iloc[:3], unit="u", time="t", cohort="g", outcome="y")
    messages = sorted(str(w.message) for w in record)
    assert messages[0].startswith("1 unit(s) observed in a single period (e.g. 'b')")
    assert messages[1].startswith("unbalanced panel: 1 of 2 unit(s)")
    assert ok.data["g"].tolist() == [0, 0, 2] and ok.data["t"].tolist() == [1, 2, 1]


def test_always_treated_and_unbalanced_are_warnings(tmp_path):
    rows = _cohort_of("C", "2009")(good_rows())[:-1]  # C treated before the panel starts; D misses 2013
    path = write(tmp_path / "warn.csv", rows)
    with pytest.warns(PanelWarning) as record:
        panel = validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y")
    messages = [str(w.message) for w in record]
    assert any("1 unit(s) treated from the first period (cohort <= 2010" in m for m in messages)
    assert any("unbalanced panel: 1 of 4 unit(s)" in m for m in messages)
    assert len(panel.warnings) == 2


# ---- check_design ------------------------------------------------------------------------------------------------

def _panel(cohorts: dict[str, int], cluster: dict[str, str] | None = None):
    rows = [{"u": u, "t": t, "g": g, "y": 1.0, "c": (cluster or {}).get(u, u)}
            for u, g in cohorts.items() for t in range(2010, 2014)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PanelWarning)
        return validate_panel(pd.DataFrame(rows), unit="u", time="t", cohort="g", outcome="y",
                              cluster="c" if cluster else None, source="design.csv")


def test_check_design_errors():
    with pytest.raises(EstimationError, match=r"design.csv: column 'g': no treated units"):
        check_design(_panel({"a": 0, "b": 0}))
    with pytest.raises(EstimationError, match=r"all 2 treated units are treated from the first period \(2010\)"):
        check_design(_panel({"a": 2010, "b": 2009, "c": 0}))
    with pytest.raises(EstimationError, match=r"no never-treated units .*--control notyet"):
        check_design(_panel({"a": 2011, "b": 2012}), control="never")
    with pytest.raises(EstimationError, match=r"no never-treated or not-yet-treated units"):
        check_design(_panel({"a": 2012, "b": 2012}), control="notyet")
    with pytest.raises(UserInputError, match=r"control='both' is not allowed"):
        check_design(_panel({"a": 2012, "b": 0}), control="both")


def test_check_design_warnings():
    notes = check_design(_panel({"a": 2011, "b": 2012}), control="notyet")
    assert any("cohort(s) 2012 have no not-yet-treated" in n for n in notes)
    assert any("a single treated unit (a)" in n for n in check_design(_panel({"a": 2012, "b": 0})))
    clustered = _panel({f"f{i}": (2012 if i < 6 else 0) for i in range(12)},
                       cluster={f"f{i}": ("ITC4" if i < 3 else "ITH3" if i < 6 else "ITH5") for i in range(12)})
    notes = check_design(clustered)
    assert notes == (next(n for n in notes if "only 2 treated cluster(s) in 'c'" in n),)
    many = _panel({f"f{i}": (2012 if i < 12 else 0) for i in range(24)})
    assert check_design(many) == ()


# ---- NUTS detection and the CLI's warning lines -----------------------------------------------------------------

def test_nuts_reference_list_and_detection(tmp_path):
    from clusterpolicy.data.schema import nuts_codes
    from clusterpolicy.data.synthetic import REGION_CALENDAR

    codes = nuts_codes()
    assert codes is not None and {c for c, _, _ in REGION_CALENDAR} <= codes
    assert {"ITH35", "ITG25", "ITG2D", "DE21", "IT"} <= codes and "ITD5" not in codes and "ITXX" not in codes
    # firm ids that only happen to fit the pattern are not NUTS codes: no check, no error
    rows = [[f"F{k}", str(y), "0" if k % 2 else "2012", "1"] for k in range(4) for y in (2010, 2011, 2012)]
    path = write(tmp_path / "firms.csv", rows, header=["firm", "year", "cohort", "y"])
    assert validate_file(path, unit="firm", time="year", cohort="cohort", outcome="y").n_units == 4


def test_cli_prints_encoding_warning_in_summary(tmp_path, capsys):
    path = tmp_path / "cp1252.csv"
    rows = "".join(f"{u};{y};{g};{y - 2009};Forlì\n" for u, g in (("A", 2011), ("B", 0)) for y in (2010, 2011, 2012))
    path.write_bytes(("firm;year;cohort;y;city\n" + rows).encode("cp1252"))
    code, out, err = cli(["validate", str(path), *ROLES], capsys)
    assert code == 0 and err == ""
    assert "warning: " in out and "not valid UTF-8" in out and "read it as cp1252" in out


def test_filtered_frames_report_positions_not_lines(tmp_path):
    rows = good_rows()
    rows[6][3] = "-1"
    frame = read_panel_csv(write(tmp_path / "f.csv", rows))
    with pytest.raises(DataValidationError, match=r"line\(s\) 8 "):
        validate_panel(frame, unit="firm", time="year", cohort="cohort", outcome="y", count=True, source="f.csv")
    subset = frame[frame["firm"] != "A"]  # attrs survive filtering, file lines no longer map to positions
    with pytest.raises(DataValidationError, match=r"row position\(s\) 2 "):
        validate_panel(subset.reset_index(drop=True), unit="firm", time="year", cohort="cohort", outcome="y",
                       count=True, source="f.csv")
