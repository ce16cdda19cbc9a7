"""Hand-checked policy facts: the policy calendar (treatment timing), programme facts and the literature table.

The three CSV files under ``data/policy/`` are edited by people, so every load validates them and a malformed
edit fails with one line naming the file, the column, the offending rows (1-based data rows, header excluded)
and the fix. Facts and their sources come from the project's research dossier; a missing value is an empty cell,
never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from clusterpolicy.errors import DataValidationError, UserInputError
from clusterpolicy.paths import data_dir

CALENDAR_FILE = "policy_calendar.csv"
PROGRAMMES_FILE = "programmes.csv"
LITERATURE_FILE = "literature.csv"

Coding = Literal["onset", "legal_act", "first_funding"]
Confidence = Literal["low", "medium", "high"]
FillMissing = Literal["onset", "drop"]

_CODING_COLUMN = {"onset": "onset_year", "legal_act": "legal_act_year", "first_funding": "first_funding_year"}
_CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
ROLES = ("regional_policy", "common_shock", "interreg_partner")
INTERREG = ("clusterix2", "s3_4alpclusters", "inkrease")
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
# validation helpers


def _rows(mask: pd.Series) -> str:
    idx = [str(i + 1) for i in mask[mask].index[:5]]
    more = "" if mask.sum() <= 5 else f" (and {int(mask.sum()) - 5} more)"
    return ", ".join(idx) + more


def _fail(path: Path, column: str, mask: pd.Series, seen: pd.Series, problem: str, fix: str) -> None:
    values = ", ".join(repr(v) for v in seen[mask].head(3))
    raise DataValidationError(f"{path}, column {column}: row(s) {_rows(mask)} {problem} ({values}); {fix}")


def _read(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    if not path.is_file():
        raise UserInputError(f"policy file {path} is missing; restore it from git (it is part of the project).")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataValidationError(
            f"{path} is not a valid UTF-8 CSV ({str(err).splitlines()[0]}); check quoting of cells with commas."
        ) from err
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{path} lacks column(s) {', '.join(missing)}; restore the header from git (columns: {', '.join(columns)})."
        )
    return df.apply(lambda s: s.str.strip())


def _check_nonempty(df: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    for col in columns:
        bad = df[col] == ""
        if bad.any():
            raise DataValidationError(f"{path}, column {col}: row(s) {_rows(bad)} are empty; fill them in.")


def _check_allowed(df: pd.DataFrame, path: Path, column: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    bad = ~df[column].isin(allowed)
    if bad.any():
        _fail(path, column, bad, df[column], "hold values outside the allowed set",
              f"use one of {', '.join(allowed)}.")


def _to_years(df: pd.DataFrame, path: Path, columns: Iterable[str]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        text = out[col]
        ok = text.str.fullmatch(r"\d{4}") | (text == "")
        if not ok.all():
            _fail(path, col, ~ok, text, "are not four-digit years",
                  "write a year such as 2014 or leave the cell empty.")
        years = pd.to_numeric(text.where(text != ""), errors="coerce").astype("Int64")
        out_of_range = years.notna() & ((years < _YEAR_RANGE[0]) | (years > _YEAR_RANGE[1]))
        if out_of_range.any():
            _fail(path, col, out_of_range.fillna(False), text, f"are outside {_YEAR_RANGE[0]}-{_YEAR_RANGE[1]}",
                  "check the year.")
        out[col] = years
    return out


def _check_rule(df: pd.DataFrame, path: Path, column: str, bad: pd.Series, problem: str, fix: str) -> None:
    bad = bad.fillna(False).astype(bool)
    if bad.any():
        _fail(path, column, bad, df[column].astype(str), problem, fix)


# ----------------------------------------------------------------------------------------------------------------
# loaders


def validate_policy_calendar(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Validate the raw (string) calendar and return it typed (years as ``Int64``, flags as ``int``)."""
    _check_nonempty(df, path, ("nuts2", "nuts_level", "region", "country", "policy", "role", "primary",
                               "confidence", "common_shock", "code_uncertain", "source"))
    bad = ~df["nuts2"].str.fullmatch(r"[A-Z]{2}[A-Z0-9]{0,3}")
    if bad.any():
        _fail(path, "nuts2", bad, df["nuts2"], "are not NUTS codes", "write e.g. ITC4 (upper case, 2-5 characters).")
    _check_allowed(df, path, "role", ROLES)
    _check_allowed(df, path, "confidence", _CONFIDENCE_RANK)
    for flag in ("primary", "common_shock", "code_uncertain"):
        _check_allowed(df, path, flag, ("0", "1"))
    _check_allowed(df, path, "nuts_level", ("0", "1", "2"))
    out = _to_years(df, path, YEAR_COLUMNS)
    for col in ("nuts_level", "primary", "common_shock", "code_uncertain"):
        out[col] = out[col].astype("int64")
    _check_rule(out, path, "nuts_level", out["nuts2"].str.len() != out["nuts_level"] + 2,
                "do not match the length of the nuts2 code", "level 0 = 2 characters, 1 = 3, 2 = 4.")
    _check_rule(out, path, "country", out["country"] != out["nuts2"].str[:2],
                "differ from the first two letters of nuts2", "make them equal.")
    _check_rule(out, path, "common_shock", (out["common_shock"] == 1) != (out["role"] == "common_shock"),
                "disagree with role", "set common_shock=1 exactly on rows with role common_shock.")
    for prog in INTERREG:
        start, end = out[f"{prog}_start"], out[f"{prog}_end"]
        _check_rule(out, path, f"{prog}_end", start.isna() != end.isna(),
                    f"give only one of {prog}_start/{prog}_end", "fill both or neither.")
        _check_rule(out, path, f"{prog}_end", end < start, f"end before {prog}_start", "swap or correct the years.")
    primary = out[(out["role"] == "regional_policy") & (out["primary"] == 1)]
    dup = primary["nuts2"].duplicated(keep=False).reindex(out.index, fill_value=False)
    _check_rule(out, path, "primary", dup, "mark more than one primary regional policy for the same region",
                "keep primary=1 on one row per region; set the alternatives to 0.")
    return out


def load_policy_calendar(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/policy_calendar.csv``.

    One row per region and policy. ``role`` is ``regional_policy`` (a regional cluster policy; ``primary=1``
    marks the one defining the region's main treatment), ``common_shock`` (the 2012 national cluster call,
    ``nuts2 = IT``) or ``interreg_partner`` (a non-Italian partner region of an Interreg project, exposure only).
    Year columns are nullable integers; Interreg exposure is given as start/end years per programme.

    Raises
    ------
    DataValidationError
        One line naming the file, column, rows and fix when an edit breaks the format.
    """
    path = policy_dir(root) / CALENDAR_FILE
    return validate_policy_calendar(_read(path, CALENDAR_COLUMNS), path)


def load_programmes(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/programmes.csv`` (long format: programme, fact, value, unit, date, verified,
    source, note). Conflicting values are kept as separate rows, each with its own source."""
    path = policy_dir(root) / PROGRAMMES_FILE
    df = _read(path, PROGRAMME_COLUMNS)
    _check_nonempty(df, path, ("programme", "fact", "value", "source", "verified"))
    _check_allowed(df, path, "verified", ("yes", "no"))
    return df


def load_literature(root: Path | None = None) -> pd.DataFrame:
    """Load and validate ``data/policy/literature.csv`` (quantitative cluster-policy evaluations, dossier section 1);
    ``year`` is a nullable integer."""
    path = policy_dir(root) / LITERATURE_FILE
    df = _read(path, LITERATURE_COLUMNS)
    _check_nonempty(df, path, ("study", "country", "policy", "identification", "headline_effect",
                               "collaboration_outcome", "source_url"))
    _check_allowed(df, path, "collaboration_outcome", ("yes", "no"))
    _check_allowed(df, path, "section", ("1a", "1b", "1c"))
    bad = ~df["source_url"].str.match(r"https?://")
    if bad.any():
        _fail(path, "source_url", bad, df["source_url"], "are not URLs", "give the http(s) address of the source.")
    return _to_years(df, path, ("year",))


def _check_option(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UserInputError(f"{name}={value!r} is not allowed; use one of {', '.join(allowed)}.")


def treatment_cohorts(
    coding: Coding = "onset",
    *,
    root: Path | None = None,
    primary_only: bool = True,
    min_confidence: Confidence = "low",
    fill_missing: FillMissing = "onset",
    calendar: pd.DataFrame | None = None,
) -> dict[str, int]:
    """First-treated year of each Italian region under a timing coding.

    Parameters
    ----------
    coding
        ``"onset"`` (the dossier's proposed treatment onset), ``"legal_act"`` (year of the founding legal act) or
        ``"first_funding"`` (first year money reached the clusters).
    root
        Project root (default: found from the current directory).
    primary_only
        Use only each region's primary policy (default). With ``False`` the earliest year over all its
        regional-policy rows is taken (e.g. Emilia-Romagna's 2002 High Technology Network instead of Clust-ER).
    min_confidence
        Drop rows whose confidence is below this level (``"low"`` keeps all).
    fill_missing
        What to do when the chosen coding's year is empty for a row: ``"onset"`` falls back to the onset year (so
        the set of treated regions is the same under every coding), ``"drop"`` leaves the region out.
    calendar
        An already loaded calendar (for tests and notebooks); default: :func:`load_policy_calendar`.

    Returns
    -------
    dict
        ``{nuts2: year}`` sorted by region, Italian regions only. The national common shock and the non-Italian
        Interreg partners are excluded; regions with no year (e.g. Bolzano, ITH1) are absent, so treat absent
        regions as never treated or unknown as the design requires.
    """
    _check_option("coding", coding, get_args(Coding))
    _check_option("min_confidence", min_confidence, get_args(Confidence))
    _check_option("fill_missing", fill_missing, get_args(FillMissing))
    cal = load_policy_calendar(root) if calendar is None else calendar
    rows = cal[(cal["role"] == "regional_policy") & (cal["country"] == "IT") & (cal["common_shock"] == 0)
               & (cal["nuts_level"] == 2)]
    if primary_only:
        rows = rows[rows["primary"] == 1]
    rows = rows[rows["confidence"].map(_CONFIDENCE_RANK) >= _CONFIDENCE_RANK[min_confidence]]
    year = rows[_CODING_COLUMN[coding]]
    if fill_missing == "onset":
        year = year.fillna(rows["onset_year"])
    cohorts = year.groupby(rows["nuts2"]).min().dropna()
    return {str(k): int(v) for k, v in sorted(cohorts.items())}


def interreg_exposure(root: Path | None = None, *, calendar: pd.DataFrame | None = None) -> pd.DataFrame:
    """Region-level Interreg exposure: one row per NUTS code and programme with start and end year."""
    cal = load_policy_calendar(root) if calendar is None else calendar
    frames = []
    for prog in INTERREG:
        part = cal.dropna(subset=[f"{prog}_start"])[["nuts2", "country", f"{prog}_start", f"{prog}_end"]]
        part = part.drop_duplicates("nuts2").rename(columns={f"{prog}_start": "start", f"{prog}_end": "end"})
        frames.append(part.assign(programme=prog))
    out = pd.concat(frames, ignore_index=True)
    return out[["nuts2", "country", "programme", "start", "end"]].sort_values(["programme", "nuts2"],
                                                                             ignore_index=True)


