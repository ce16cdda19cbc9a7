"""The audited cluster-policy calendar of all 21 Italian NUTS2 regions (``data/policy/cluster_policies.csv``).

One row per region and cluster-type policy generation, plus explicit ``none_found`` rows that record what was
searched when nothing was found. The file is edited by hand, so every load validates it and a malformed edit fails
with ONE line naming the file, the line number in the file (the header is line 1; a quoted cell spanning several
lines shifts the count, which is taken from the CSV reader), the column and the fix. The codebook is
``data/policy/CALENDAR.md``; the treatment rules that map this file to cohorts live in
:mod:`clusterpolicy.study.treatments`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.paths import data_dir

CLUSTER_POLICIES_FILE = "cluster_policies.csv"

#: Italian NUTS2 regions (NUTS 2016) and their names as written in the calendar.
ITALIAN_NUTS2: dict[str, str] = {
    "ITC1": "Piemonte",
    "ITC2": "Valle d'Aosta",
    "ITC3": "Liguria",
    "ITC4": "Lombardia",
    "ITF1": "Abruzzo",
    "ITF2": "Molise",
    "ITF3": "Campania",
    "ITF4": "Puglia",
    "ITF5": "Basilicata",
    "ITF6": "Calabria",
    "ITG1": "Sicilia",
    "ITG2": "Sardegna",
    "ITH1": "Provincia Autonoma di Bolzano/Bozen",
    "ITH2": "Provincia Autonoma di Trento",
    "ITH3": "Veneto",
    "ITH4": "Friuli-Venezia Giulia",
    "ITH5": "Emilia-Romagna",
    "ITI1": "Toscana",
    "ITI2": "Umbria",
    "ITI3": "Marche",
    "ITI4": "Lazio",
}

_MACRO_BY_PREFIX = {"ITC": "north_west", "ITH": "north_east", "ITI": "centre", "ITF": "south", "ITG": "islands"}
#: ISTAT macro-area of each region (``south`` + ``islands`` = Mezzogiorno; the rest = Centre-North).
MACRO_AREA: dict[str, str] = {code: _MACRO_BY_PREFIX[code[:3]] for code in ITALIAN_NUTS2}
MEZZOGIORNO = ("south", "islands")

#: Allowed ``kind`` values. ``none_found`` rows record a search that found nothing.
KINDS = (
    "miur_district",                   # (a) MIUR technology districts 2002-2010 (and Region-ministry districts)
    "pon_district_lab",                # (b) PON R&C 2007-13 high-technology districts and public-private labs
    "regional_poles_2007_13",          # (c) pre-S3 regional poles, clusters, networks and district laws
    "regional_clusters_2014_20",       # (c) regional poles/clusters under POR FESR 2014-20
    "s3_law_recognition",              # (e) S3-era regional cluster laws and recognitions
    "national_cluster_participation",  # (d) regional counterparts of / participation in the 2012 national clusters
    "interreg",                        # Interreg partnerships (exposure only)
    "none_found",
)
#: Kinds a ``none_found`` row may declare as searched.
SEARCHABLE_KINDS = tuple(k for k in KINDS if k not in ("none_found", "interreg"))
CONFIDENCE = ("high", "medium", "low")
YES_NO = ("yes", "no", "unknown")
COLUMNS = (
    "policy_id", "nuts2", "region", "macro_area", "kind", "policy", "start_year", "end_year", "legal_act",
    "legal_act_year", "selects_named_clusters", "dedicated_funding", "confidence", "source_url", "searched_kinds",
    "checked", "note", "open_item",
)
#: Wording in ``note`` (and, except on ``none_found`` rows, in ``legal_act``) that marks a fact as missing,
#: inferred or unverified. Such a row, and every low-confidence row, must say in ``open_item`` what is open, so the
#: codebook's generated "Open items" list cannot miss it.
OPEN_WORDING = re.compile(
    r"not (?:retrieved|found|established|identified|confirmed|proven|verified)|inferred|unverified|upper bound|"
    r"unclear|unresolved|unconfirmed", re.IGNORECASE)
YEAR_COLUMNS = ("start_year", "end_year", "legal_act_year")
YEAR_RANGE = (1990, 2035)
URL_SEPARATOR = " ; "
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_YEAR = re.compile(r"\d{4}")


def cluster_policies_path(root: Path | None = None) -> Path:
    """``<project>/data/policy/cluster_policies.csv``."""
    return data_dir(root) / "policy" / CLUSTER_POLICIES_FILE


def _fail(path: Path, line: int | None, column: str, problem: str, fix: str) -> NoReturn:
    where = f"line {line}, " if line is not None else ""
    raise DataValidationError(f"{path}, {where}column {column}: {problem}; {fix}")


def _read_records(path: Path, columns: Sequence[str] = COLUMNS) -> list[tuple[int, dict[str, str]]]:
    """Read the CSV and return ``(first line of the record, {column: stripped cell})`` pairs.

    Shared by every hand-edited file under ``data/policy`` (:mod:`clusterpolicy.data.policy` passes its own
    ``columns``): a missing header column, a ragged row or bad quoting fails with the file and line number.
    """
    if not path.is_file():
        raise UserInputError(f"policy file {path} is missing; restore it from git (it is part of the project).")
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                _fail(path, 1, "(header)", "the file is empty", f"restore the header: {','.join(columns)}.")
            header = [h.strip() for h in header]
            missing = [c for c in columns if c not in header]
            if missing:
                _fail(path, 1, ", ".join(missing), "missing from the header",
                      f"restore the header from git (columns: {','.join(columns)}).")
            records = []
            previous_end = reader.line_num
            for cells in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    _fail(path, start, "(row)", f"has {len(cells)} cells but the header has {len(header)}",
                          "quote cells that contain commas and check for a missing or extra separator.")
                records.append((start, {h: c.strip() for h, c in zip(header, cells)}))
    except UnicodeDecodeError as err:
        raise DataValidationError(f"{path} is not UTF-8 ({err.reason} at byte {err.start}); save it as UTF-8.") from err
    except csv.Error as err:
        raise DataValidationError(f"{path}, line {reader.line_num}: not a valid CSV ({err}); check the quoting.") from err
    return records


#: Public names of the shared line-number helpers (used by :mod:`clusterpolicy.data.policy`).
read_records = _read_records
fail_at = _fail


def _check_record(path: Path, line: int, rec: dict[str, str]) -> None:
    def fail(column: str, problem: str, fix: str) -> None:
        _fail(path, line, column, f"{problem} ({rec.get(column, '')!r})", fix)

    if not _SLUG.fullmatch(rec["policy_id"]):
        fail("policy_id", "is not a lower-case slug", "write e.g. itc1-poli-2009 (letters, digits and hyphens).")
    code = rec["nuts2"]
    if code not in ITALIAN_NUTS2:
        fail("nuts2", "is not an Italian NUTS2 (2016) code", f"use one of {', '.join(ITALIAN_NUTS2)}.")
    if rec["region"] != ITALIAN_NUTS2[code]:
        fail("region", f"does not match nuts2 {code}", f"write {ITALIAN_NUTS2[code]!r}.")
    if rec["macro_area"] != MACRO_AREA[code]:
        fail("macro_area", f"does not match nuts2 {code}", f"write {MACRO_AREA[code]!r}.")
    if rec["kind"] not in KINDS:
        fail("kind", "is not an allowed kind", f"use one of {', '.join(KINDS)}.")
    if not rec["policy"]:
        fail("policy", "is empty", "name the policy (or, for none_found rows, what was not found).")
    for col in ("selects_named_clusters", "dedicated_funding"):
        if rec[col] not in YES_NO:
            fail(col, "is not yes/no/unknown", "write yes, no or unknown.")
    if rec["confidence"] not in CONFIDENCE:
        fail("confidence", "is not an allowed confidence", "write high, medium or low (see CALENDAR.md).")
    for col in YEAR_COLUMNS:
        value = rec[col]
        if value and not _YEAR.fullmatch(value):
            fail(col, "is not a four-digit year", "write a year such as 2014, or leave the cell empty if unknown.")
        if value and not YEAR_RANGE[0] <= int(value) <= YEAR_RANGE[1]:
            fail(col, f"is outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]}", "check the year.")
    if rec["start_year"] and rec["end_year"] and int(rec["end_year"]) < int(rec["start_year"]):
        fail("end_year", f"is before start_year {rec['start_year']}", "swap or correct the years.")
    if rec["kind"] == "none_found":
        searched = [k.strip() for k in rec["searched_kinds"].split(";") if k.strip()]
        if not searched:
            fail("searched_kinds", "is empty on a none_found row",
                 f"list the kinds searched, separated by ';' (from {', '.join(SEARCHABLE_KINDS)}).")
        bad = [k for k in searched if k not in SEARCHABLE_KINDS]
        if bad:
            fail("searched_kinds", f"names unknown kind(s) {', '.join(bad)}", f"use {', '.join(SEARCHABLE_KINDS)}.")
        if not rec["checked"]:
            fail("checked", "is empty on a none_found row", "say what was searched (queries, sources).")
    else:
        if not rec["source_url"]:
            fail("source_url", f"is empty on a {rec['kind']} row",
                 f"give the source address(es), separated by '{URL_SEPARATOR.strip()}'.")
        if rec["searched_kinds"]:
            fail("searched_kinds", "is set on a row that is not none_found", "leave it empty.")
    if not rec["open_item"] and needs_open_item(rec):
        fail("open_item", "is empty although the row is low-confidence or its note/legal_act says a fact is not "
             "found, inferred or unverified", "say in one line what is still open (it is listed in CALENDAR.md).")
    if rec["source_url"]:
        for url in rec["source_url"].split(URL_SEPARATOR):
            if not re.match(r"https?://\S+$", url.strip()):
                fail("source_url", f"has an entry that is not an http(s) address: {url.strip()!r}",
                     f"write full addresses separated by '{URL_SEPARATOR}'.")


def needs_open_item(rec: dict[str, str] | pd.Series) -> bool:
    """Whether a calendar row must name an open item: it is low-confidence, or its ``note`` (and, except on
    ``none_found`` rows, whose ``legal_act`` is always 'not found', its ``legal_act``) uses :data:`OPEN_WORDING`."""
    text = rec["note"] if rec["kind"] == "none_found" else f"{rec['legal_act']} {rec['note']}"
    return rec["confidence"] == "low" or bool(OPEN_WORDING.search(text))


def validate_cluster_policies(records: list[tuple[int, dict[str, str]]], path: Path) -> pd.DataFrame:
    """Validate raw records (from the CSV) and return the typed table (years as ``Int64``, plus ``line``)."""
    seen: dict[str, int] = {}
    for line, rec in records:
        _check_record(path, line, rec)
        pid = rec["policy_id"]
        if pid in seen:
            _fail(path, line, "policy_id", f"duplicates {pid!r} of line {seen[pid]}", "give each row a unique id.")
        seen[pid] = line
    present = {rec["nuts2"] for _, rec in records}
    absent = [c for c in ITALIAN_NUTS2 if c not in present]
    if absent:
        names = ", ".join(f"{c} {ITALIAN_NUTS2[c]}" for c in absent)
        _fail(path, None, "nuts2", f"no line has region(s) {names}",
              "add at least one row per region (a none_found row saying what was checked if nothing was found).")
    df = pd.DataFrame([rec for _, rec in records], columns=list(COLUMNS))
    for col in YEAR_COLUMNS:
        df[col] = pd.to_numeric(df[col].where(df[col] != ""), errors="raise").astype("Int64")
    df.insert(0, "line", pd.Series([line for line, _ in records], dtype="int64"))
    return df


def load_cluster_policies(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate the audited calendar.

    Parameters
    ----------
    path
        The CSV to read (default: ``data/policy/cluster_policies.csv`` of the project).

    Returns
    -------
    pandas.DataFrame
        One row per calendar line, the columns of :data:`COLUMNS` (years as nullable ``Int64``) plus ``line``, the
        line of the record in the file.

    Raises
    ------
    DataValidationError
        One line naming the file, the line, the column and the fix when an edit breaks the format.
    """
    p = cluster_policies_path() if path is None else Path(path)
    return validate_cluster_policies(_read_records(p), p)
