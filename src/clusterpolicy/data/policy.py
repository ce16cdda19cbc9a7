"""Hand-checked policy facts outside the audited calendar: non-Italian Interreg partners and the national common
shock (``policy_calendar.csv``), programme facts (``programmes.csv``) and the literature table (``literature.csv``).

Italian regional policies and the Italian Interreg partnerships live in ONE file, the audited calendar
``data/policy/cluster_policies.csv`` (:mod:`clusterpolicy.data.calendar`); the treatment rules that turn it into
cohorts are in :mod:`clusterpolicy.study.treatments`.

The three CSV files here are edited by people, so every load validates them and a malformed edit fails with one
line naming the file, the LINE number in the file (the header is line 1; read with the CSV reader shared with
:mod:`clusterpolicy.data.calendar`, so a quoted cell spanning lines is counted correctly), the column, the value
seen and the fix. Facts and their sources come from the project's research dossier; a missing value is an empty
cell, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from clusterpolicy.data.calendar import fail_at, load_cluster_policies, read_records
from clusterpolicy.errors import DataValidationError
from clusterpolicy.paths import data_dir

CALENDAR_FILE = "policy_calendar.csv"
PROGRAMMES_FILE = "programmes.csv"
LITERATURE_FILE = "literature.csv"

_CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
ROLES = ("regional_policy", "common_shock", "interreg_partner")
INTERREG = ("clusterix2", "s3_4alpclusters", "inkrease")
#: How an ``interreg`` row of ``cluster_policies.csv`` names its programme in its ``policy_id`` slug.
INTERREG_SLUGS = {"clusterix2": "clusterix2", "s3_4alpclusters": "s3-4alpclusters", "inkrease": "inkrease"}
YEAR_COLUMNS = ("onset_year", "legal_act_year", "first_funding_year",
                *(f"{p}_{end}" for p in INTERREG for end in ("start", "end")))
CALENDAR_COLUMNS = ("nuts2", "nuts_level", "region", "country", "policy", "role", "primary", *YEAR_COLUMNS[:3],
                    "legal_act", "confidence", "common_shock", "code_uncertain", *YEAR_COLUMNS[3:], "source", "note")
PROGRAMME_COLUMNS = ("programme", "fact", "value", "unit", "date", "verified", "source", "note")
LITERATURE_COLUMNS = ("study", "year", "venue", "country", "policy", "unit", "identification", "headline_effect",
                      "collaboration_outcome", "collaboration_note", "section", "source_url")
_YEAR_RANGE = (1980, 2035)


def policy_dir(root: Path | None = None) -> Path:
    """The folder of the hand-checked policy files, ``<project>/data/policy``."""
    return data_dir(root) / "policy"


# ----------------------------------------------------------------------------------------------------------------
# validation helpers: every check reports the first offending LINE of the file (header = line 1)


def _fail(df: pd.DataFrame, path: Path, column: str, mask: pd.Series, problem: str, fix: str) -> None:
    """Raise for the rows in ``mask``: the first offending line, its value, and how many other lines fail."""
    mask = mask.fillna(False).astype(bool)
    lines = df.loc[mask, "line"].tolist()
    value = df.loc[mask, column].iloc[0] if column in df.columns else ""
    value = "" if pd.isna(value) else str(value)
    others = "" if len(lines) == 1 else f" (also line(s) {', '.join(str(n) for n in lines[1:6])}" + \
        (" and more)" if len(lines) > 6 else ")")
    fail_at(path, int(lines[0]), column, f"{problem} ({value!r}){others}", fix)


def _read(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    """Read a policy file as strings (cells stripped) with its ``line`` numbers, through the shared CSV reader."""
    columns = tuple(columns)
    records = read_records(path, columns)
    df = pd.DataFrame([rec for _, rec in records])
    if df.empty:
        df = pd.DataFrame(columns=list(columns))
    df.insert(0, "line", [line for line, _ in records])
    return df.reset_index(drop=True)


def _check_nonempty(df: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    for col in columns:
        bad = df[col] == ""
        if bad.any():
            _fail(df, path, col, bad, "is empty", "fill it in.")


def _check_allowed(df: pd.DataFrame, path: Path, column: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    bad = ~df[column].isin(allowed)
    if bad.any():
        _fail(df, path, column, bad, "is not an allowed value", f"use one of {', '.join(allowed)}.")


def _to_years(df: pd.DataFrame, path: Path, columns: Iterable[str]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        text = out[col]
        ok = text.str.fullmatch(r"\d{4}") | (text == "")
        if not ok.all():
            _fail(out, path, col, ~ok, "is not a four-digit year", "write a year such as 2014 or leave the cell empty.")
        years = pd.to_numeric(text.where(text != ""), errors="coerce").astype("Int64")
        out_of_range = years.notna() & ((years < _YEAR_RANGE[0]) | (years > _YEAR_RANGE[1]))
        if out_of_range.any():
            _fail(out, path, col, out_of_range, f"is outside {_YEAR_RANGE[0]}-{_YEAR_RANGE[1]}", "check the year.")
        out[col] = years
    return out


def _check_rule(df: pd.DataFrame, path: Path, column: str, bad: pd.Series, problem: str, fix: str) -> None:
    bad = bad.fillna(False).astype(bool)
    if bad.any():
        _fail(df, path, column, bad, problem, fix)


# ----------------------------------------------------------------------------------------------------------------
# loaders


def validate_policy_calendar(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Validate the raw (string) calendar, with its ``line`` column, and return it typed (years as ``Int64``,
    flags as ``int``)."""
    _check_nonempty(df, path, ("nuts2", "nuts_level", "region", "country", "policy", "role", "primary",
                               "confidence", "common_shock", "code_uncertain", "source"))
    bad = ~df["nuts2"].str.fullmatch(r"[A-Z]{2}[A-Z0-9]{0,3}")
    if bad.any():
        _fail(df, path, "nuts2", bad, "is not a NUTS code", "write e.g. AT12 (upper case, 2-5 characters).")
    _check_allowed(df, path, "role", ROLES)
    _check_allowed(df, path, "confidence", _CONFIDENCE_RANK)
    for flag in ("primary", "common_shock", "code_uncertain"):
        _check_allowed(df, path, flag, ("0", "1"))
    _check_allowed(df, path, "nuts_level", ("0", "1", "2"))
    out = _to_years(df, path, YEAR_COLUMNS)
    for col in ("nuts_level", "primary", "common_shock", "code_uncertain"):
        out[col] = out[col].astype("int64")
    _check_rule(out, path, "nuts_level", out["nuts2"].str.len() != out["nuts_level"] + 2,
                "does not match the length of the nuts2 code", "level 0 = 2 characters, 1 = 3, 2 = 4.")
    _check_rule(out, path, "country", out["country"] != out["nuts2"].str[:2],
                "differs from the first two letters of nuts2", "make them equal.")
    _check_rule(out, path, "common_shock", (out["common_shock"] == 1) != (out["role"] == "common_shock"),
                "disagrees with role", "set common_shock=1 exactly on rows with role common_shock.")
    _check_rule(out, path, "country", (out["country"] == "IT") & (out["role"] != "common_shock"),
                "is an Italian region in the old calendar",
                "Italian regional policies and Interreg partnerships live in data/policy/cluster_policies.csv "
                "(see CALENDAR.md); move the row there and delete it here.")
    for prog in INTERREG:
        start, end = out[f"{prog}_start"], out[f"{prog}_end"]
        _check_rule(out, path, f"{prog}_end", start.isna() != end.isna(),
                    f"is given without {prog}_start or missing while {prog}_start is set", "fill both or neither.")
        _check_rule(out, path, f"{prog}_end", end < start, f"is before {prog}_start", "swap or correct the years.")
    primary = out[(out["role"] == "regional_policy") & (out["primary"] == 1)]
    dup = primary["nuts2"].duplicated(keep=False).reindex(out.index, fill_value=False)
    _check_rule(out, path, "primary", dup, "marks a second primary regional policy for the same region",
                "keep primary=1 on one row per region; set the alternatives to 0.")
    return out


def load_policy_calendar(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/policy_calendar.csv``: what the audited calendar does not hold.

    One row per NUTS code and role: ``common_shock`` (the 2012 national cluster call, ``nuts2 = IT``) or
    ``interreg_partner`` (a non-Italian partner region of an Interreg project, exposure only). Italian regional
    policies live in ``cluster_policies.csv`` (:func:`clusterpolicy.data.calendar.load_cluster_policies`); an
    Italian regional row here is an error. Year columns are nullable integers; Interreg exposure is given as
    start/end years per programme. ``line`` is the row's line in the file.

    Raises
    ------
    DataValidationError
        One line naming the file, the line, the column and the fix when an edit breaks the format.
    """
    path = policy_dir(root) / CALENDAR_FILE
    return validate_policy_calendar(_read(path, CALENDAR_COLUMNS), path)


def load_programmes(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/programmes.csv`` (long format: programme, fact, value, unit, date, verified,
    source, note, plus ``line``). Conflicting values are kept as separate rows, each with its own source."""
    path = policy_dir(root) / PROGRAMMES_FILE
    df = _read(path, PROGRAMME_COLUMNS)
    _check_nonempty(df, path, ("programme", "fact", "value", "source", "verified"))
    _check_allowed(df, path, "verified", ("yes", "no"))
    return df


def load_literature(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/literature.csv`` (quantitative cluster-policy evaluations, dossier section 1);
    ``year`` is a nullable integer, ``line`` the row's line in the file."""
    path = policy_dir(root) / LITERATURE_FILE
    df = _read(path, LITERATURE_COLUMNS)
    _check_nonempty(df, path, ("study", "country", "policy", "identification", "headline_effect",
                               "collaboration_outcome", "source_url"))
    _check_allowed(df, path, "collaboration_outcome", ("yes", "no"))
    _check_allowed(df, path, "section", ("1a", "1b", "1c"))
    bad = ~df["source_url"].str.match(r"https?://")
    if bad.any():
        _fail(df, path, "source_url", bad, "is not a URL", "give the http(s) address of the source.")
    return _to_years(df, path, ("year",))


def interreg_programme(policy_id: str) -> str | None:
    """The :data:`INTERREG` programme an ``interreg`` row of ``cluster_policies.csv`` belongs to (from its slug)."""
    hits = [prog for prog, slug in INTERREG_SLUGS.items() if slug in policy_id]
    return hits[0] if len(hits) == 1 else None


def interreg_exposure(root: Path | None = None, *, calendar: pd.DataFrame | None = None,
                      cluster_policies: pd.DataFrame | None = None) -> pd.DataFrame:
    """Region-level Interreg exposure: one row per NUTS code and programme with start and end year.

    Italian partners come from the ``interreg`` rows of the audited calendar (``cluster_policies.csv``; the
    programme is read from the row's ``policy_id`` slug, :data:`INTERREG_SLUGS`), the non-Italian partners from
    ``policy_calendar.csv``. Columns ``nuts2, country, programme, start, end`` (years as ``Int64``), sorted by
    programme and code.

    Parameters
    ----------
    root
        Project root (default: found from the current directory).
    calendar, cluster_policies
        Already loaded files (for tests and notebooks); default: loaded from ``root``.

    Raises
    ------
    DataValidationError
        If an ``interreg`` row of ``cluster_policies.csv`` names no known programme in its ``policy_id``, or has
        no start or end year.
    """
    cal = load_policy_calendar(root) if calendar is None else calendar
    audited = load_cluster_policies(policy_dir(root) / "cluster_policies.csv") if cluster_policies is None \
        else cluster_policies
    frames = []
    prog: str | None
    for prog in INTERREG:
        part = cal.dropna(subset=[f"{prog}_start"])[["nuts2", "country", f"{prog}_start", f"{prog}_end"]]
        part = part.drop_duplicates("nuts2").rename(columns={f"{prog}_start": "start", f"{prog}_end": "end"})
        frames.append(part.assign(programme=prog))
    italian = audited[audited["kind"] == "interreg"]
    path = policy_dir(root) / "cluster_policies.csv"
    for rec in italian.to_dict("records"):
        prog = interreg_programme(rec["policy_id"])
        line = int(rec["line"]) if "line" in rec else None
        if prog is None:
            fail_at(path, line, "policy_id", f"interreg row {rec['policy_id']!r} names no known programme",
                    f"put one of {', '.join(INTERREG_SLUGS.values())} in the policy_id slug.")
        if pd.isna(rec["start_year"]) or pd.isna(rec["end_year"]):
            fail_at(path, line, "end_year", f"interreg row {rec['policy_id']!r} lacks its start or end year",
                    "fill start_year and end_year (the project's running years).")
        frames.append(pd.DataFrame([{"nuts2": rec["nuts2"], "country": "IT", "start": rec["start_year"],
                                     "end": rec["end_year"], "programme": prog}]))
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["programme", "nuts2"])
    for col in ("start", "end"):
        out[col] = out[col].astype("Int64")
    return out[["nuts2", "country", "programme", "start", "end"]].sort_values(["programme", "nuts2"],
                                                                             ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# accessors of the policy files (shared by study modules and figures)


def short_region_name(name: str) -> str:
    """Region name without the 'Provincia Autonoma di' prefix and second-language form ('Bolzano', 'Valle d'Aosta')."""
    return re.sub(r"^Provincia Autonoma di ", "", str(name)).split("/")[0].strip()


def source_label(source: str) -> list[tuple[str, str | None]]:
    """Short link labels for a source cell: ``[(label, url or None), ...]``.

    URLs (several may be separated by `` ; ``) become the last two labels of their host (``kohesio.eu``,
    ``interregeurope.eu``); other text is kept as is.
    """
    out: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in str(source).split(" ; ")):
        if not part:
            continue
        if re.match(r"https?://", part):
            # the registrable part of the host is enough to recognise a source on a phone
            host = ".".join(urlparse(part).netloc.split(".")[-2:])
            out.append((host, part))
        else:
            out.append((part, None))
    return out


def fact(programmes: pd.DataFrame, programme: str, name: str) -> str:
    """The single value of ``name`` for ``programme`` in ``programmes.csv`` (text, as stored).

    Raises
    ------
    DataValidationError
        If the fact is missing or has several (conflicting) rows; use :func:`fact_values` for those.
    """
    rows = programmes[(programmes["programme"] == programme) & (programmes["fact"] == name)]
    if len(rows) != 1:
        raise DataValidationError(
            f"programmes.csv: expected one row for programme {programme!r}, fact {name!r}, found {len(rows)}; "
            "add the fact or read conflicting rows with fact_values().")
    return str(rows["value"].iloc[0])


def fact_values(programmes: pd.DataFrame, programme: str, name: str) -> list[tuple[str, str]]:
    """All ``(value, short source label)`` pairs for a fact, in file order (conflicting sources kept)."""
    rows = programmes[(programmes["programme"] == programme) & (programmes["fact"] == name)]
    return [(str(v), ", ".join(lbl for lbl, _ in source_label(s))) for v, s in zip(rows["value"], rows["source"],
                                                                                     strict=True)]
