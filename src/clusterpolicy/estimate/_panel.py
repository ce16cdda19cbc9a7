"""Small helpers shared by the estimators: input checks, treatment timing, clustered sandwiches, small-sample
factors. Pure functions; none mutates its input."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from clusterpolicy.errors import ClusterPolicyWarning, DataValidationError, EstimationError, UserInputError
from clusterpolicy.estimate.bootstrap import BootstrapSpec
from clusterpolicy.estimate.literals import DFMode

#: Event time given to never-treated units (the ``-1000`` of fixest's ``i(rel_year, ref = c(-1, -1000))``).
NEVER_EVENT_TIME = -1000


def warn(message: str, messages: list[str] | None = None) -> None:
    """Emit a :class:`ClusterPolicyWarning` and remember it for the result's ``warnings``."""
    warnings.warn(message, ClusterPolicyWarning, stacklevel=3)
    if messages is not None:
        messages.append(message)


def _preview(values: Iterable[object], k: int = 5) -> str:
    # .item() turns numpy scalars into plain Python values so messages read "-2.5", not "np.float64(-2.5)".
    vals = [v.item() if hasattr(v, "item") else v for v in values]
    head = ", ".join(repr(v) for v in vals[:k])
    return head + (f" (and {len(vals) - k} more)" if len(vals) > k else "")


@dataclass(frozen=True)
class Panel:
    """A cleaned long panel with the standard derived columns.

    Attributes
    ----------
    data
        Copy of the input restricted to the used columns plus ``_g`` (cohort, 0 = never treated, as float64),
        ``_t`` (time), ``_d`` (1 if treated and at/after onset), ``_e`` (event time, ``NEVER_EVENT_TIME`` for
        never-treated units), ``_cl`` (cluster codes), sorted by unit and time.
    unit, time, cohort, outcome
        Original column names.
    cluster
        Cluster column (defaults to ``unit``).
    warnings
        Messages about dropped rows or recoded cohorts.
    covariates
        Covariate columns kept in ``data``.
    """

    data: pd.DataFrame
    unit: str
    time: str
    cohort: str
    outcome: str
    cluster: str
    warnings: tuple[str, ...]
    covariates: tuple[str, ...] = ()

    @property
    def n_units(self) -> int:
        return int(self.data[self.unit].nunique())

    @property
    def times(self) -> np.ndarray:
        return np.sort(self.data["_t"].unique())

    @property
    def cohorts(self) -> np.ndarray:
        g = self.data["_g"].unique()
        return np.sort(g[g > 0])


def require_columns(df: pd.DataFrame, columns: dict[str, str | None]) -> None:
    """Raise :class:`UserInputError` if a named role's column is missing from ``df``."""
    for role, col in columns.items():
        if col is None:
            continue
        if col not in df.columns:
            raise UserInputError(
                f"column {col!r} given as {role} is not in the data; available columns: "
                f"{_preview(list(df.columns), 12)}. Fix: pass an existing column name."
            )


def numeric_column(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    """Column as float64, raising a one-line error that names the offending values if it is not numeric."""
    series = df[col]
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_complex_dtype(series):
        return series.astype("float64")  # already numeric: nothing to coerce, no non-numeric value to report
    converted = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & converted.isna()
    if bad.any():
        raise DataValidationError(
            f"column {col!r} ({role}) must be numeric; non-numeric values {_preview(series[bad].unique())} "
            f"in rows {_preview(list(np.flatnonzero(bad.to_numpy())))}. Fix: recode them as numbers."
        )
    return converted.astype("float64")


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """``pd.factorize(values, sort=True)[0]``, in O(n) when the values are numeric and already non-decreasing
    (the usual long panel sorted by unit); then also the flags ``values[1:] != values[:-1]``, else ``None``."""
    if values.size > 1 and isinstance(values.dtype, np.dtype) and values.dtype.kind in "if":
        arr = values.to_numpy()
        step = np.diff(arr)
        if np.all(step >= 0):  # NaN would fail this comparison (and units are checked for NaN before)
            new = step > 0
            codes = np.empty(arr.size, dtype=np.intp)
            codes[0] = 0
            np.cumsum(new, out=codes[1:])
            return codes, new
    return pd.factorize(values, sort=True)[0], None


def prepare_panel(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    count: bool = False,
) -> Panel:
    """Check and clean a long panel for estimation (never mutates ``df``).

    ``cohort`` holds the first treated period; 0 or missing means never treated. Cohorts after the last observed
    period are recoded to never treated (as R ``did`` and fixest ``sunab`` do), with a warning. Rows with a
    missing outcome or covariate are dropped with a warning.
    """
    if not isinstance(df, pd.DataFrame):
        raise UserInputError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    covariates = tuple(covariates)
    require_columns(df, {"unit": unit, "time": time, "cohort": cohort, "outcome": outcome, "cluster": cluster})
    require_columns(df, {f"covariate {c!r}": c for c in covariates})
    msgs: list[str] = []
    cluster = cluster or unit
    cols = list(dict.fromkeys([unit, time, cohort, outcome, cluster, *covariates]))
    out = df.loc[:, cols]  # copy-on-write: the result below never shares writable memory with ``df``
    if out.empty:
        raise DataValidationError("the data have no rows. Fix: pass a non-empty panel.")
    if out[unit].isna().any() or out[time].isna().any():
        rows = np.flatnonzero((out[unit].isna() | out[time].isna()).to_numpy())
        raise DataValidationError(
            f"columns {unit!r}/{time!r} (unit/time) have missing values in rows {_preview(list(rows))}. "
            "Fix: fill or drop those rows."
        )
    t = numeric_column(out, time, "time")
    y = numeric_column(out, outcome, "outcome")
    g = numeric_column(out, cohort, "cohort")
    gv = g.to_numpy(dtype="float64", copy=True)
    gv[np.isnan(gv)] = 0.0
    g = pd.Series(gv, index=out.index, copy=False)
    if (gv < 0).any():
        raise DataValidationError(
            f"column {cohort!r} (cohort) must be the first treated period or 0 for never treated; negative "
            f"values {_preview(g[g < 0].unique())}. Fix: use 0 or leave empty for never-treated units."
        )
    if count and (y < 0).any():
        # PPML needs y >= 0 only (non-integer rates are fine); negative values have no Poisson mean
        raise DataValidationError(
            f"column {outcome!r} (count outcome) must be non-negative; found {_preview(y[y < 0].unique())}. "
            "Fix: use a count, or a linear estimator for an outcome that can be negative."
        )
    covs = {c: numeric_column(out, c, f"covariate {c!r}").to_numpy() for c in covariates}
    tv, yv = t.to_numpy(), y.to_numpy()
    # Unit codes (sorted, as pd.factorize(sort=True)); duplicates and within-unit cohort changes are found by
    # comparing neighbours in (unit, time) order, which is also the output order (no pandas groupby).
    raw_u = out[unit]
    u_codes, u_new = _sorted_codes(raw_u)
    if u_codes.size > 1:
        if u_new is None:
            du = np.diff(u_codes)
            u_new, same = du > 0, du == 0
        else:
            same = ~u_new
        in_order = bool(np.all(u_new | (same & (tv[1:] > tv[:-1]))))
    else:
        in_order = True
    order = None if in_order else np.lexsort((tv, u_codes))  # stable, = sort_values(kind="stable")
    su = u_codes if order is None else u_codes[order]
    same_unit = su[1:] == su[:-1]
    if not in_order:
        st = tv[order]
        pair = same_unit & (st[1:] == st[:-1])
        if pair.any():
            dup_sorted = np.zeros(su.size, dtype=bool)
            dup_sorted[1:] |= pair
            dup_sorted[:-1] |= pair
            dup = np.zeros(su.size, dtype=bool)
            dup[order] = dup_sorted
            ex = out[[unit, time]].iloc[np.flatnonzero(dup)[:3]].to_dict("records")
            raise DataValidationError(
                f"{int(dup.sum())} rows repeat a ({unit}, {time}) pair, e.g. {ex}. Fix: keep one row per unit and "
                "period."
            )
    sg = gv if order is None else gv[order]
    changes = same_unit & (sg[1:] != sg[:-1])
    if changes.any():
        bad_codes = np.unique(su[1:][changes])
        first_row = np.full(int(u_codes.max()) + 1, u_codes.size)
        np.minimum.at(first_row, u_codes, np.arange(u_codes.size))
        bad_codes = bad_codes[np.argsort(first_row[bad_codes], kind="stable")]  # order of first appearance
        first_vals = raw_u.to_numpy()[first_row[bad_codes]]
        raise DataValidationError(
            f"column {cohort!r} (cohort) must be constant within a unit; units {_preview(list(first_vals))} have "
            "several values. Fix: give every row of a unit its first treated period."
        )
    missing = np.isnan(yv)
    for c in covariates:
        missing |= np.isnan(covs[c])
    sel = order
    if missing.any():
        warn(f"dropped {int(missing.sum())} rows with a missing outcome or covariate", msgs)
        if missing.all():
            raise DataValidationError(f"every row has a missing {outcome!r} or covariate. Fix: check the data.")
        keep = ~missing
        sel = np.flatnonzero(keep) if order is None else order[keep[order]]
        present = np.zeros(int(u_codes.max()) + 1, dtype=bool)
        present[u_codes[keep]] = True
        u_codes = (np.cumsum(present) - 1)[u_codes]  # compact codes, = factorize(sort=True) of what is left
    if sel is not None:
        tv, yv, gv, u_codes = tv[sel], yv[sel], gv[sel], u_codes[sel]
        covs = {c: v[sel] for c, v in covs.items()}
        out = out.take(sel)
    else:  # own the arrays (they may be read-only views of ``df``)
        tv, yv = tv.copy(), yv.copy()
        covs = {c: v.copy() for c, v in covs.items()}
    msgs.extend(_recode_late(gv, tv, u_codes))
    columns: dict[str, object] = {c: out[c].reset_index(drop=True) for c in cols}
    columns.update(covs)
    columns.update({
        "_t": tv, "_y": yv, **_timing_columns(gv, tv),
        "_cl": u_codes if cluster == unit else pd.factorize(out[cluster], sort=True)[0],
        "_u": u_codes,
    })
    out = pd.DataFrame(columns, copy=False)
    return Panel(data=out, unit=unit, time=time, cohort=cohort, outcome=outcome, cluster=cluster,
                 warnings=tuple(msgs), covariates=covariates)


def _late_message(n_units: int, tmax: float) -> str:
    return f"{n_units} units first treated after the last period ({tmax:g}) are treated as never treated"


def _recode_late(gv: np.ndarray, tv: np.ndarray, u_codes: np.ndarray) -> list[str]:
    """Recode (in place) cohorts after the last period to never treated; the warning, if any, as a list."""
    tmax = tv.max()
    late = gv > tmax
    if not late.any():
        return []
    message = _late_message(int(np.unique(u_codes[late]).size), tmax)
    warn(message)
    gv[late] = 0.0
    return [message]


def _timing_columns(gv: np.ndarray, tv: np.ndarray) -> dict[str, np.ndarray]:
    """The treatment-timing columns of a prepared panel from its cohorts ``gv`` (0 = never) and periods ``tv``."""
    return {"_g": gv, "_d": ((gv > 0) & (tv >= gv)).astype("float64"),
            "_e": np.where(gv > 0, tv - gv, NEVER_EVENT_TIME)}


def with_cohorts(panel: Panel, cohorts: np.ndarray) -> Panel:
    """``panel`` with its cohorts replaced (one value per panel row, constant within unit; 0 or NaN = never
    treated): what :func:`prepare_panel` returns for the same data with the new cohort column, without
    re-validating and re-sorting what the cohorts do not touch. Randomisation inference refits with it."""
    gv = np.asarray(cohorts, dtype="float64").copy()
    gv[np.isnan(gv)] = 0.0
    if gv.shape != (len(panel.data),):
        raise UserInputError(f"with_cohorts: {gv.size} cohorts for {len(panel.data)} panel rows.")
    if (gv < 0).any():
        raise DataValidationError(
            f"column {panel.cohort!r} (cohort) must be the first treated period or 0 for never treated; negative "
            f"values {_preview(np.unique(gv[gv < 0]))}. Fix: use 0 or leave empty for never-treated units.")
    data = panel.data
    tv = data["_t"].to_numpy()
    old_late = [m for m in panel.warnings if m.endswith("are treated as never treated")]
    msgs = [m for m in panel.warnings if m not in old_late] + _recode_late(gv, tv, data["_u"].to_numpy())
    new = data.assign(**{panel.cohort: np.asarray(cohorts)}, **_timing_columns(gv, tv))
    return replace(panel, data=new, warnings=tuple(msgs))


@dataclass(frozen=True)
class Request:
    """One estimation request: the panel, prepared and validated once (:func:`prepare_panel`), and the inference
    options every estimator shares. :func:`clusterpolicy.estimate.api.estimate` builds it; estimators read it.

    Attributes
    ----------
    panel
        The prepared panel (its covariates and cluster column included).
    level
        Confidence level.
    df_mode
        ``"t"`` (t(G-1) critical values, the rule) or ``"normal"``.
    bootstrap
        A :class:`~clusterpolicy.estimate.bootstrap.BootstrapSpec`, or ``None`` for analytic standard errors.
    """

    panel: Panel
    level: float = 0.95
    df_mode: DFMode = "t"
    bootstrap: BootstrapSpec | None = None

    def start(self, *, need_untreated: bool = True) -> tuple[Panel, list[str]]:
        """The panel, once checked to identify an effect, and a list of its warnings for the estimator to extend."""
        check_treatment_variation(self.panel, need_untreated=need_untreated)
        return self.panel, list(self.panel.warnings)


def request_for(df: pd.DataFrame, *, unit: str, time: str, cohort: str, outcome: str, covariates: Sequence[str] = (),
                cluster: str | None = None, count: bool = False, **options: Any) -> Request:
    """Prepare ``df`` once and wrap it with the inference ``options`` (``level``, ``df_mode``, ``bootstrap``)."""
    panel = prepare_panel(df, unit=unit, time=time, cohort=cohort, outcome=outcome, covariates=covariates,
                          cluster=cluster, count=count)
    return Request(panel=panel, **options)


def check_treatment_variation(panel: Panel, *, need_untreated: bool = True) -> None:
    """Raise :class:`EstimationError` when the data cannot identify a treatment effect."""
    d = panel.data["_d"]
    if d.sum() == 0:
        raise EstimationError(
            f"no observation is treated: column {panel.cohort!r} has no unit with a first treated period inside "
            f"the observed {panel.time!r} range. Fix: check the cohort coding (first treated period, 0 = never)."
        )
    if need_untreated and (d == 1).all():
        raise EstimationError("every observation is treated, so no comparison is possible. Fix: add untreated units.")


def fixest_ssc(n_obs: int, k: int, n_clusters: int | None) -> float:
    """Variance multiplier of R fixest's default small-sample correction.

    ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``: ``(n - 1) / (n - K) * G / (G - 1)`` where ``K``
    counts the slope coefficients plus the fixed effects that are not nested in the cluster variable.
    """
    factor = (n_obs - 1) / (n_obs - k)
    if n_clusters is not None:
        factor *= n_clusters / (n_clusters - 1)
    return factor


def nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True if every level of ``inner`` lies within a single level of ``outer``."""
    frame = pd.DataFrame({"i": inner, "o": outer})
    return bool((frame.groupby("i")["o"].nunique() <= 1).all())


def cluster_meat(scores: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Sum of outer products of cluster-summed score rows: ``sum_g s_g s_g'``."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    codes, uniq = pd.factorize(clusters, sort=True)
    summed = np.zeros((len(uniq), scores.shape[1]))
    np.add.at(summed, codes, scores)
    return summed.T @ summed


def fe_design(unit_codes: np.ndarray, time_codes: np.ndarray) -> sp.csr_matrix:
    """Sparse two-way fixed-effect design: all unit dummies plus time dummies without the first level."""
    n = unit_codes.size
    n_u = int(unit_codes.max()) + 1
    n_t = int(time_codes.max()) + 1
    rows = np.arange(n)
    units = sp.csr_matrix((np.ones(n), (rows, unit_codes)), shape=(n, n_u))
    keep = time_codes > 0
    times = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], time_codes[keep] - 1)), shape=(n, n_t - 1))
    design: sp.csr_matrix = sp.hstack([units, times], format="csr")
    return design


class SparseLS:
    """Least squares with a sparse full-rank design via a sparse LU of ``X'X`` (exact, no iteration)."""

    def __init__(self, x: sp.spmatrix) -> None:
        # Imported here: scipy.sparse.linalg costs a tenth of a second at start-up and only the fixed-effect
        # estimators (not CS, the CLI's default) reach this solver.
        from scipy.sparse.linalg import splu

        self.x = sp.csc_matrix(x)
        xtx = (self.x.T @ self.x).tocsc()
        try:
            self._lu = splu(xtx)
        except RuntimeError as err:  # singular: a unit or period has no usable observation
            raise EstimationError(
                "the fixed-effect design is singular (a unit or period has no untreated observation). "
                "Fix: drop units that are treated in every period or periods in which every unit is treated."
            ) from err

    def solve_normal(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``X'X b = rhs`` (rhs may be a matrix)."""
        return self._lu.solve(np.asarray(rhs, dtype=float))

    def fit(self, y: np.ndarray) -> np.ndarray:
        return self.solve_normal(self.x.T @ y)
