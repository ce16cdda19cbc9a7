"""The panel schema: what a user's panel file must look like, and its validation with fix-it messages.

A **panel** has one row per unit and period. Columns are named by the user and play *roles*:

============  ========  ===================================================================================
role          required  content
============  ========  ===================================================================================
unit          yes       id of the unit observed over time (firm, region...); text, never empty. When it
                        holds NUTS codes (``ITC4``, ``ITH35``) they must exist in NUTS 2016 (see below).
time          yes       the period, a whole number (a year such as ``2014``); at least two distinct periods.
cohort        yes       the first period in which the unit is treated (e.g. joined a cluster in 2014 -> 2014);
                        ``0``, an empty cell or ``NA`` mean **never treated**. Constant within a unit. Must not
                        be after the last period (that unit is never treated *within the panel*: code it 0).
                        A cohort at or before the first period ("always treated") is allowed but reported,
                        because difference-in-differences cannot use it as a treated unit.
outcome       yes       a finite number; with ``count=True`` a whole number >= 0 (e.g. collaborations a year).
covariates    no        finite numbers, no missing values.
cluster       no        the level at which standard errors are clustered (e.g. region); never empty. NUTS
                        codes are checked as for the unit.
============  ========  ===================================================================================

Each (unit, time) pair appears once. The panel may be unbalanced (reported as a warning). Other columns are
ignored and dropped from the cleaned frame.

The cleaned frame (:attr:`PanelData.data`) holds only the role columns, in the order unit, time, cohort,
outcome, covariates, cluster, sorted by unit and time with a fresh ``RangeIndex``; unit and cluster are text,
time and cohort ``int64`` (cohort 0 = never treated), outcome ``float64`` (``int64`` with ``count=True``),
covariates ``float64``. :func:`panel_schema` states this contract as a :mod:`pandera` schema (the tests check
cleaned frames against it); :func:`validate_panel` asserts the same contract on every cleaned frame with
whole-column numpy checks (pandera is imported only by :func:`panel_schema`, which keeps the CLI's start-up and
a 500k-row validation fast).

Every problem raises :class:`~clusterpolicy.errors.DataValidationError` with one line: the file, the column,
the offending rows by their line in the file (header = line 1; first five, plus the count) and the fix.

NUTS codes: a unit or cluster column is treated as NUTS codes when every value matches
``^[A-Z]{2}[0-9A-Z]{0,3}$`` and most distinct values start with a known country code. Codes are checked
against ``data/reference/nuts2016_codes.csv`` (Eurostat NUTS 2016 levels 0-3 plus the Italian NUTS 3 list,
whose Sardinian codes are NUTS 2021). Levels 0-2 are checked for every country, level 3 only for Italy, where
the list is complete.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from clusterpolicy.data.io import is_as_read, parse_numbers, read_panel_csv, row_lines
from clusterpolicy.errors import ClusterPolicyWarning, DataValidationError, EstimationError, UserInputError

if TYPE_CHECKING:
    import pandera.pandas as pa

logger = logging.getLogger(__name__)

NUTS_PATTERN = re.compile(r"^[A-Z]{2}[0-9A-Z]{0,3}$")
#: Relative path of the committed NUTS code list.
NUTS_CODES_FILE = os.path.join("reference", "nuts2016_codes.csv")
#: Fewer treated clusters than this makes cluster-robust standard errors unreliable (MacKinnon & Webb 2017).
FEW_TREATED_CLUSTERS = 10
#: How many offending line numbers a message shows.
SHOW = 5

Control = Literal["never", "notyet"]


class PanelWarning(ClusterPolicyWarning):
    """The panel is valid but has a feature that limits the analysis (always-treated units, unbalanced)."""


@dataclass(frozen=True, eq=False)
class PanelData:
    """A validated panel and the roles of its columns.

    Attributes
    ----------
    data
        The cleaned frame (see the module docstring for its exact contract).
    unit, time, cohort, outcome
        Column names of the roles.
    count
        Whether the outcome was validated as a count.
    covariates
        Covariate column names.
    cluster
        Cluster column name, or ``None`` (then units are the clusters).
    source
        Where the data came from (file path or ``"<data>"``), used in messages.
    warnings
        Non-fatal findings, one line each.
    """

    data: pd.DataFrame
    unit: str
    time: str
    cohort: str
    outcome: str
    count: bool = False
    covariates: tuple[str, ...] = ()
    cluster: str | None = None
    source: str = "<data>"
    warnings: tuple[str, ...] = field(default=())

    @property
    def periods(self) -> tuple[int, ...]:
        """Distinct periods, ascending."""
        return tuple(int(t) for t in np.unique(self.data[self.time]))

    @property
    def unit_cohorts(self) -> pd.Series:
        """Cohort of every unit (index: unit id, sorted)."""
        units = self.data[self.unit]
        values = units.to_numpy(dtype=object)
        if values.size:  # the cleaned frame is sorted by unit: take each unit's first row
            head = np.ones(values.size, dtype=bool)
            np.not_equal(values[1:], values[:-1], out=head[1:])
            heads = values[head]
            if (heads[1:] > heads[:-1]).all():
                return pd.Series(self.data[self.cohort].to_numpy()[head], name=self.cohort,
                                 index=pd.Index(heads, dtype=units.dtype, name=self.unit))
        return self.data.groupby(self.unit, sort=True)[self.cohort].first()

    @property
    def n_units(self) -> int:
        """Number of units."""
        return int(self.data[self.unit].nunique())

    @property
    def cohort_sizes(self) -> dict[int, int]:
        """Number of units in each treated cohort (cohort 0, never treated, excluded), by cohort."""
        counts: Any = self.unit_cohorts.value_counts()  # Any: pandas-stubs types the labels as Hashable
        return {int(g): int(n) for g, n in sorted(counts.items()) if g != 0}

    @property
    def n_never_treated(self) -> int:
        """Number of never-treated units (cohort 0)."""
        return int((self.unit_cohorts == 0).sum())

    def summary(self) -> str:
        """A few human-readable lines: units, periods, cohorts and their sizes, warnings."""
        periods = self.periods
        cohorts = ", ".join(f"{g} ({n})" for g, n in self.cohort_sizes.items()) or "none"
        lines = [
            f"OK {self.source}: {len(self.data)} rows, {self.n_units} units, {len(periods)} periods "
            f"({periods[0]}-{periods[-1]}), outcome {self.outcome!r}{' (count)' if self.count else ''}",
            f"  treated cohorts (units): {cohorts}",
            f"  never treated: {self.n_never_treated} unit{'' if self.n_never_treated == 1 else 's'}",
        ]
        if self.covariates:
            lines.append(f"  covariates: {', '.join(self.covariates)}")
        if self.cluster:
            lines.append(f"  clusters ({self.cluster}): {self.data[self.cluster].nunique()}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def panel_schema(*, unit: str, time: str, cohort: str, outcome: str, count: bool = False,
                 covariates: Sequence[str] = (), cluster: str | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a *cleaned* panel (the frame in :attr:`PanelData.data`).

    Parameters are the column names of the roles (see the module docstring).
    """
    import pandera.pandas as pa

    finite = pa.Check(lambda s: pd.Series(np.isfinite(s.to_numpy(dtype="float64")), index=s.index), name="finite",
                      error="must be a finite number")
    outcome_checks = [finite]
    if count:
        outcome_checks.append(pa.Check.ge(0, error="a count must be >= 0"))
    columns = {
        unit: pa.Column("str", pa.Check.str_length(min_value=1), nullable=False,
                        description="unit id (firm, region, ...)"),
        time: pa.Column("int64", description="period, e.g. year"),
        cohort: pa.Column("int64", pa.Check.ge(0), description="first treated period; 0 = never treated"),
        outcome: pa.Column("int64" if count else "float64", outcome_checks, description="outcome"),
    }
    for name in covariates:
        columns[name] = pa.Column("float64", finite, description="covariate")
    if cluster is not None:
        columns[cluster] = pa.Column("str", pa.Check.str_length(min_value=1), nullable=False,
                                     description="cluster for standard errors")
    one_cohort = pa.Check(lambda df: (df.groupby(unit)[cohort].nunique() == 1).all(), name="cohort_constant",
                          error="cohort must be constant within a unit")
    return pa.DataFrameSchema(columns, checks=[one_cohort], unique=[unit, time], strict=True, ordered=True,
                              coerce=False, name="clusterpolicy panel")


def validate_file(path: str | os.PathLike[str], **roles) -> PanelData:
    """Read ``path`` with :func:`~clusterpolicy.data.io.read_panel_csv` and validate it.

    ``roles`` are the keyword arguments of :func:`validate_panel` (``unit``, ``time``, ``cohort``, ``outcome``,
    ``count``, ``covariates``, ``cluster``); ``source`` is set to ``path``.
    """
    frame = read_panel_csv(path)
    return validate_panel(frame, source=str(path), **roles)


def validate_panel(df: pd.DataFrame, *, unit: str, time: str, cohort: str, outcome: str, count: bool = False,
                   covariates: Iterable[str] = (), cluster: str | None = None, source: str = "<data>",
                   extra: Iterable[str] = ()) -> PanelData:
    """Check a panel against the schema (module docstring) and return the cleaned panel.

    Parameters
    ----------
    df
        The panel, e.g. from :func:`~clusterpolicy.data.io.read_panel_csv`. Not modified.
    unit, time, cohort, outcome
        Names of the columns holding these roles.
    count
        Validate the outcome as a count (whole numbers >= 0).
    covariates
        Names of numeric covariate columns.
    cluster
        Name of the cluster column for standard errors, if any.
    source
        Name used in messages (the file path).
    extra
        Further label columns to keep (e.g. randomisation strata): non-empty text in every row.

    Returns
    -------
    PanelData
        The cleaned frame, the roles and the warnings (also emitted as :class:`PanelWarning`).

    Raises
    ------
    DataValidationError
        One line naming ``source``, the column, the offending lines and the fix.
    UserInputError
        When the roles themselves are inconsistent (the same column given twice).
    """
    covariates = tuple(covariates)
    roles = _check_roles(df, source, unit=unit, time=time, cohort=cohort, outcome=outcome,
                         covariates=covariates, cluster=cluster)
    if len(df) == 0:
        raise DataValidationError(f"{source}: the panel has no rows; provide one row per unit and period.")
    ctx = _Ctx(df, source, decimal_comma=df.attrs.get("delimiter") in {";", "\t"})
    found: list[str] = []

    units, unit_codes = _clean_ids(ctx, unit, "unit id", "give every row its unit id", codes=True)
    times = _clean_integers(ctx, time, "time", "use whole periods such as 2014")
    _check_duplicates(ctx, unit, time, units, unit_codes, times)
    periods = np.sort(pd.unique(times))
    if periods.size < 2:
        raise DataValidationError(f"{source}: column {time!r}: only one period ({int(periods[0])}) in "
                                  f"{len(df)} row(s); a panel needs at least two periods per unit.")
    y = _clean_outcome(ctx, outcome, count)
    cohorts = _clean_cohort(ctx, cohort, units, unit_codes, times, found)
    covs = {name: _clean_number(ctx, name, "covariate", "fill or drop those rows, or drop the covariate")
            for name in covariates}
    clusters = _clean_ids(ctx, cluster, "cluster", "give every row its cluster (e.g. the region code)") \
        if cluster is not None else None
    for name, ids in ((unit, units), (cluster, clusters)):
        if ids is not None and name is not None:
            _check_nuts(ctx, name, ids)
    _note_balance(units, unit_codes, periods, found)

    data = {unit: units, time: times, cohort: cohorts, outcome: y, **covs}
    if cluster is not None and clusters is not None:
        data[cluster] = clusters
    for name in extra:
        if name not in df.columns:
            raise DataValidationError(f"{source}: column {name!r} not found; available columns: "
                                      f"{', '.join(map(str, df.columns))}. Fix: pass an existing column.")
        if name not in data:
            data[name] = _clean_ids(ctx, name, "label", "give every row its label").astype("str")
    # sorted by unit (text order) and time: (unit, time) pairs are unique, so the order is fully determined
    order = np.lexsort((times, _text_rank(units, unit_codes)))
    clean = pd.DataFrame({name: np.asarray(values)[order] for name, values in data.items()})
    clean[unit] = clean[unit].astype("str")
    if cluster is not None:
        clean[cluster] = clean[cluster].astype("str")
    clean.attrs = {"source": source, **({"simulated": True} if df.attrs.get("simulated") else {})}
    _assert_contract(clean, count=count, **roles)
    for message in found:
        logger.info(message)
        warnings.warn(message, PanelWarning, stacklevel=2)
    return PanelData(data=clean, count=count, source=source, warnings=tuple(found), **roles)


def check_design(panel: PanelData, *, control: Control = "never") -> tuple[str, ...]:
    """Check that the panel can identify a staggered difference-in-differences effect.

    Parameters
    ----------
    panel
        A validated panel.
    control
        ``"never"``: compare with never-treated units (cohort 0); ``"notyet"``: also with units not yet treated.

    Returns
    -------
    tuple of str
        Warnings that do not prevent estimation: a single treated unit, few treated clusters, cohorts without
        not-yet-treated comparisons.

    Raises
    ------
    EstimationError
        No treated units; every treated unit treated from the first period; no never-treated units with
        ``control="never"``; no comparison units at all with ``control="notyet"``.
    UserInputError
        ``control`` is not ``"never"`` or ``"notyet"``.
    """
    if control not in ("never", "notyet"):
        raise UserInputError(f"control={control!r} is not allowed; use 'never' or 'notyet'.")
    src, col = panel.source, panel.cohort
    g = panel.unit_cohorts
    first = panel.periods[0]
    treated = g[g > 0]
    if treated.empty:
        raise EstimationError(f"{src}: column {col!r}: no treated units (every cohort is 0, never treated); "
                              "set each treated unit's cohort to its first treated period.")
    usable = treated[treated > first]
    if usable.empty:
        raise EstimationError(f"{src}: column {col!r}: all {len(treated)} treated units are treated from the first "
                              f"period ({first}), so none is observed untreated; DiD needs treated units with "
                              "pre-treatment periods: add earlier years or check the cohorts.")
    never = int((g == 0).sum())
    notes: list[str] = []
    if control == "never" and never == 0:
        raise EstimationError(f"{src}: column {col!r}: no never-treated units (cohort 0) to compare with "
                              "(control='never'); use control 'notyet' (--control notyet) or add never-treated "
                              "units.")
    if control == "notyet" and never == 0:
        lacking = [int(c) for c in sorted(usable.unique()) if not (g > c).any()]
        if len(lacking) == usable.nunique():
            raise EstimationError(f"{src}: column {col!r}: no never-treated or not-yet-treated units to compare "
                                  "with; every cohort lacks a comparison group.")
        if lacking:
            notes.append(f"cohort(s) {', '.join(map(str, lacking))} have no not-yet-treated comparison units and "
                         "no never-treated units: their effects cannot be estimated.")
    if len(usable) == 1:
        notes.append(f"a single treated unit ({usable.index[0]}): the effect rests on one unit; inference from "
                     "clustered standard errors is unreliable, prefer randomisation inference or synthetic "
                     "control.")
    cluster_col = panel.cluster or panel.unit
    treated_clusters = panel.data.loc[panel.data[panel.unit].isin(usable.index), cluster_col].nunique()
    if len(usable) > 1 and treated_clusters < FEW_TREATED_CLUSTERS:  # one unit is reported above
        notes.append(f"only {treated_clusters} treated cluster(s) in {cluster_col!r} (fewer than "
                     f"{FEW_TREATED_CLUSTERS}): cluster-robust standard errors over-reject; use the wild cluster "
                     "bootstrap or randomisation inference.")
    return tuple(notes)


# --------------------------------------------------------------------------------------------------------------
# internals


class _Ctx:
    """The frame being validated and how to name its rows in messages."""

    def __init__(self, df: pd.DataFrame, source: str, *, decimal_comma: bool) -> None:
        self.df = df
        self.source = source
        self.decimal_comma = decimal_comma

    def where(self, positions: np.ndarray) -> str:
        """'line(s) 3, 7' for frames as read from a file (header = line 1), else 0-based row positions."""
        shown = positions[:SHOW]
        if is_as_read(self.df):
            label, numbers = "line(s)", row_lines(self.df, shown)
        else:
            label, numbers = "row position(s)", [int(p) for p in shown]
        more = f" (and {positions.size - SHOW} more)" if positions.size > SHOW else ""
        return f"{label} {', '.join(map(str, numbers))}{more}"

    def fail(self, column: str, problem: str, mask: np.ndarray, fix: str,
             values: Sequence[Any] | pd.Series | None = None) -> None:
        positions = np.flatnonzero(mask)
        seen = ""
        if values is not None:
            uniq = list(dict.fromkeys(_fmt(v) for v in values))
            seen = f"; values: {', '.join(repr(v) for v in uniq[:SHOW])}{', ...' if len(uniq) > SHOW else ''}"
        raise DataValidationError(f"{self.source}: column {column!r}: {problem} on {self.where(positions)} "
                                  f"({positions.size} row(s) in all{seen}); {fix}.")


def _fmt(value) -> str:
    """A cell as the user wrote it, as far as we can tell: 2016.0 -> '2016'."""
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _check_roles(df: pd.DataFrame, source: str, **roles) -> dict:
    named = [(role, name) for role, name in roles.items() if role != "covariates" and name is not None]
    named += [("covariate", name) for name in roles["covariates"]]
    for role, name in named:
        if not isinstance(name, str) or not name.strip():
            raise UserInputError(f"{source}: the {role} column name must be a non-empty text, got {name!r}.")
    seen: dict[str, str] = {}
    for role, name in named:
        if role == "cluster" and name == roles["unit"]:
            continue  # clustering on the unit itself is the usual default
        if name in seen:
            raise UserInputError(f"{source}: column {name!r} is given both as {seen[name]} and as {role}; each "
                                 "role needs its own column.")
        seen[name] = role
    columns = [str(c) for c in df.columns]
    missing = [(role, name) for role, name in named if name not in df.columns]
    if missing:
        parts = []
        for role, name in missing:
            guess = _closest(name, columns)
            parts.append(f"{name!r} ({role}{f', did you mean {guess!r}?' if guess else ''})")
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise DataValidationError(f"{source}: column{'s' if len(missing) > 1 else ''} not found: "
                                  f"{'; '.join(parts)}; the file has columns {shown}; pass the right column "
                                  "name(s).")
    return {"unit": roles["unit"], "time": roles["time"], "cohort": roles["cohort"], "outcome": roles["outcome"],
            "covariates": roles["covariates"], "cluster": roles["cluster"]}


def _closest(name: str, columns: list[str]) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    if name.lower().strip() in lowered:
        return lowered[name.lower().strip()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _stripped_text(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values as stripped text (object array), the mask of missing or blank cells, and an integer code per row
    that is equal for equal texts (-1 where missing).

    Works on the distinct values only (ids repeat once per period), which keeps large panels fast.
    """
    miss = series.isna().to_numpy(copy=True)
    values = series.to_numpy(dtype=object) if miss.any() or not pd.api.types.is_numeric_dtype(series) \
        else series.to_numpy()
    codes, uniques = pd.factorize(values[~miss]) if miss.any() else pd.factorize(values)
    if pd.api.types.is_integer_dtype(series) and not miss.any():
        as_text = np.asarray(uniques).astype(str).astype(object).tolist()  # str() of each integer, vectorised
    elif pd.api.types.is_float_dtype(series):
        as_text = [str(int(u)) if float(u).is_integer() else str(u) for u in uniques]
    else:
        as_text = [str(u).strip() for u in uniques]
    unique_text = np.asarray(as_text, dtype=object)
    text_codes, _ = pd.factorize(unique_text) if len(as_text) else (np.empty(0, dtype=np.int64), None)
    text = unique_text[codes] if len(as_text) else np.empty(0, dtype=object)
    out = np.full(values.size, "", dtype=object)
    out[~miss] = text
    row_codes = np.full(values.size, -1, dtype=np.int64)
    row_codes[~miss] = text_codes[codes] if len(as_text) else row_codes[~miss]
    blank = out == ""
    miss |= blank
    row_codes[blank] = -1
    return out, miss, row_codes


def _missing(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series):
        return series.isna().to_numpy(copy=True)
    return _stripped_text(series)[1]


def _clean_ids(ctx: _Ctx, column: str, what: str, fix: str, *, codes: bool = False):
    """Stripped, non-empty ids; with ``codes=True`` also an integer code per row (equal for equal ids)."""
    values, miss, row_codes = _stripped_text(ctx.df[column])
    if miss.any():
        ctx.fail(column, f"empty {what}", miss, fix)
    return (values, row_codes) if codes else values


def _text_rank(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per row, the rank of its text among the distinct texts in Python's string order (the order of
    ``sort_values`` on a text column)."""
    if codes.size == 0:
        return codes
    distinct = np.empty(int(codes.max()) + 1, dtype=object)
    distinct[codes] = values
    rank = np.empty(distinct.size, dtype=np.int64)
    rank[np.argsort(distinct, kind="stable")] = np.arange(distinct.size)
    return rank[codes]


def _assert_contract(clean: pd.DataFrame, *, unit: str, time: str, cohort: str, outcome: str, count: bool,
                     covariates: Sequence[str], cluster: str | None) -> None:
    """The contract of :func:`panel_schema`, asserted with whole-column checks (a failure is a bug in the
    cleaning, not a user error). Uniqueness of (unit, time) and constant cohorts were checked while cleaning."""
    expected = list(dict.fromkeys([unit, time, cohort, outcome, *covariates, *([cluster] if cluster else [])]))
    problems = []
    if list(clean.columns)[:len(expected)] != expected:  # extra label columns (e.g. strata) follow the roles
        problems.append(f"columns {list(clean.columns)} do not start with {expected}")
    for name in (unit, *([cluster] if cluster is not None else [])):
        column = clean[name]
        values = column.to_numpy(dtype=object)
        if not pd.api.types.is_string_dtype(column.dtype) or pd.isna(values).any() or (values == "").any():
            problems.append(f"{name!r} is not non-empty text")
    for name in (time, cohort):
        if clean[name].dtype != np.int64:
            problems.append(f"{name!r} is not int64")
    if (clean[cohort].to_numpy() < 0).any():
        problems.append(f"{cohort!r} has negative values")
    y = clean[outcome]
    if y.dtype != (np.int64 if count else np.float64) or not np.isfinite(y.to_numpy(dtype="float64")).all() or \
            (count and (y.to_numpy() < 0).any()):
        problems.append(f"{outcome!r} breaks the outcome contract")
    for name in covariates:
        if clean[name].dtype != np.float64 or not np.isfinite(clean[name].to_numpy()).all():
            problems.append(f"{name!r} is not finite float64")
    if problems:
        raise AssertionError(f"cleaned panel violates its schema: {'; '.join(problems)}")


def _parse(ctx: _Ctx, column: str, what: str, fix_missing: str) -> np.ndarray:
    """Float values of ``column``; refuse text, empty cells and non-finite numbers."""
    series = ctx.df[column]
    miss = _missing(series)
    values = parse_numbers(series.where(~miss, "0") if not pd.api.types.is_numeric_dtype(series) else series,
                           decimal_comma=ctx.decimal_comma).to_numpy(dtype="float64", copy=True)
    values[miss] = np.nan
    text = np.isnan(values) & ~miss
    if text.any():
        ctx.fail(column, f"non-numeric {what}", text, "write plain numbers (decimal point, or decimal comma in "
                 "semicolon files; no units or thousands separators)", series[text])
    if miss.any():
        ctx.fail(column, f"empty {what}", miss, fix_missing)
    bad = ~np.isfinite(values)
    if bad.any():
        ctx.fail(column, f"non-finite {what} (inf)", bad, "replace infinite values by finite numbers or drop those "
                 "rows", series[bad])
    return values


def _clean_integers(ctx: _Ctx, column: str, what: str, fix: str) -> np.ndarray:
    values = _parse(ctx, column, what, "every row needs its period; fill or drop those rows")
    frac = values != np.round(values)
    if frac.any():
        ctx.fail(column, f"non-integer {what}", frac, fix, ctx.df[column][frac])
    return values.astype("int64")


def _clean_number(ctx: _Ctx, column: str, what: str, fix_missing: str) -> np.ndarray:
    return _parse(ctx, column, what, fix_missing)


def _clean_outcome(ctx: _Ctx, column: str, count: bool) -> np.ndarray:
    values = _parse(ctx, column, "outcome", "fill the missing outcomes or drop those rows")
    if not count:
        return values
    negative = values < 0
    if negative.any():
        ctx.fail(column, "negative count", negative, "a count outcome must be >= 0; check the values or drop --count",
                 ctx.df[column][negative])
    frac = values != np.round(values)
    if frac.any():
        ctx.fail(column, "non-integer count", frac, "a count outcome must be a whole number; round it or drop "
                 "--count to treat it as continuous", ctx.df[column][frac])
    return values.astype("int64")


def _clean_cohort(ctx: _Ctx, column: str, units: np.ndarray, unit_codes: np.ndarray, times: np.ndarray,
                  found: list[str]) -> np.ndarray:
    series = ctx.df[column]
    miss = _missing(series)
    values = parse_numbers(series.where(~miss, "0") if not pd.api.types.is_numeric_dtype(series) else series,
                           decimal_comma=ctx.decimal_comma).to_numpy(dtype="float64", copy=True)
    values[miss] = 0.0  # empty / NA = never treated
    text = np.isnan(values)
    fix = "write the first treated period (e.g. 2014), or 0 / empty for never treated"
    if text.any():
        ctx.fail(column, "non-numeric cohort", text, fix, series[text])
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        ctx.fail(column, "cohort is not a whole period >= 0", bad, fix, series[bad])
    cohorts = values.astype("int64")
    first, last = int(times.min()), int(times.max())
    if (cohorts == 1).any() and set(np.unique(cohorts)) <= {0, 1} and first > 1:
        ctx.fail(column, "holds a 0/1 treatment dummy, not the first treated period", cohorts == 1,
                 f"give each treated unit the period it was first treated (between {first} and {last}) and 0 "
                 "for never treated")
    by_unit = pd.Series(cohorts).groupby(unit_codes, sort=False)
    varying = (by_unit.transform("min") != by_unit.transform("max")).to_numpy()
    if varying.any():
        names = list(dict.fromkeys(units[varying]))
        ctx.fail(column, f"cohort changes within unit(s) {', '.join(map(repr, names[:SHOW]))}"
                 f"{' ...' if len(names) > SHOW else ''}", varying,
                 "the cohort is the unit's first treated period and must be the same on all its rows")
    late = cohorts > last
    if late.any():
        ctx.fail(column, f"cohort after the last period {last}", late,
                 "a unit first treated after the panel ends is never treated within the panel: set its cohort to 0",
                 series[late])
    always = (cohorts > 0) & (cohorts <= first)
    if always.any():
        n_units = len(set(units[always]))
        found.append(f"column {column!r}: {n_units} unit(s) treated from the first period (cohort <= {first}, "
                     f"{ctx.where(np.flatnonzero(always))}); DiD cannot use them as treated units (no "
                     "pre-treatment period).")
    return cohorts


def _check_duplicates(ctx: _Ctx, unit: str, time: str, units: np.ndarray, unit_codes: np.ndarray,
                      times: np.ndarray) -> None:
    time_codes, periods = pd.factorize(times)
    dup = pd.Series(unit_codes * max(len(periods), 1) + time_codes).duplicated(keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)[0]
        ctx.fail(f"{unit}+{time}", f"duplicate unit-period rows (e.g. {units[first]!r} in {int(times[first])})", dup,
                 "keep one row per unit and period (aggregate or drop the duplicates)")


def _note_balance(units: np.ndarray, unit_codes: np.ndarray, periods: np.ndarray, found: list[str]) -> None:
    """Warn about units missing periods. (unit, time) pairs are unique here, so rows per unit = periods."""
    per_unit = np.bincount(unit_codes)
    short = int((per_unit < periods.size).sum())
    if short:
        found.append(f"unbalanced panel: {short} of {per_unit.size} unit(s) miss some of the {periods.size} "
                     "periods; estimators use the observed rows.")
    single = per_unit == 1
    if single.any():
        names = min(units[single[unit_codes]])
        found.append(f"{int(single.sum())} unit(s) observed in a single period (e.g. {names!r}); they carry no "
                     "within-unit information.")


@lru_cache(maxsize=1)
def nuts_codes() -> frozenset[str] | None:
    """The committed NUTS code list, or ``None`` when the project's data folder cannot be found."""
    from clusterpolicy.paths import data_dir

    try:
        path = data_dir() / NUTS_CODES_FILE
    except UserInputError:
        return None
    if not path.exists():
        logger.warning("NUTS code list %s not found; NUTS codes are not checked", path)
        return None
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frozenset(table["code"])


def _check_nuts(ctx: _Ctx, column: str, ids: np.ndarray) -> None:
    known = nuts_codes()
    if known is None:
        return
    distinct = pd.unique(ids)
    if not all(NUTS_PATTERN.match(v) for v in distinct):
        return
    countries = {c[:2] for c in known}
    if np.mean([v[:2] in countries for v in distinct]) <= 0.5:
        return  # e.g. short firm codes that happen to match the pattern
    checkable = [v for v in distinct if len(v) <= 4 or v.startswith("IT")]
    unknown = sorted(v for v in checkable if v not in known)
    if not unknown:
        return
    hint = ""
    if any(v.startswith("ITD") for v in unknown):
        hint = " (ITD codes are NUTS 2006: Veneto is ITH3, Emilia-Romagna ITH5 in NUTS 2016)"
    ctx.fail(column, f"unknown NUTS code(s){hint}", np.isin(ids, unknown),
             f"use NUTS 2016 codes (list: data/{NUTS_CODES_FILE.replace(os.sep, '/')}) and check the spelling",
             unknown)
