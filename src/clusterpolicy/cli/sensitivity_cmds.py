"""``clusterpolicy sensitivity``: Rambachan-Roth robust bounds from an estimate JSON.

Reads the ``clusterpolicy estimate --json`` format -- a top-level ``event_study`` list of rows
``{event_time, estimate, se, ...}`` and a top-level ``event_study_vcov`` ``{"event_time": [...], "matrix":
[[...]]}`` (reference period excluded) -- and writes the robust
confidence sets of :mod:`clusterpolicy.estimate.honestdid` over a grid of ``M``/``Mbar``, the breakdown value, and
the joint pre-trend Wald test on the same pre-periods (with its F version on ``G - 1`` denominator degrees of
freedom when the JSON has ``inference.n_clusters``).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from clusterpolicy.cli.estimate_cmds import _value, choice
from clusterpolicy.errors import ClusterPolicyWarning, UserInputError
from clusterpolicy.estimate.literals import SensitivityRestriction, SensitivityTarget
from clusterpolicy.fsutil import atomic_write_json, json_safe

if TYPE_CHECKING:
    # run-time enums built from the literals (see clusterpolicy.cli.estimate_cmds.choice)
    RestrictionChoice = SensitivityRestriction
    TargetChoice = SensitivityTarget
else:
    RestrictionChoice = choice(SensitivityRestriction, "RestrictionChoice")
    TargetChoice = choice(SensitivityTarget, "TargetChoice")


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON (sorted keys, no NaN) atomically with the umask's mode (:mod:`clusterpolicy.fsutil`)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserInputError(f"--json {path}: folder {str(folder)!r} does not exist; create it or pass another path.")
    if path.is_dir():
        raise UserInputError(f"--json {path}: is a folder; pass a file name such as sensitivity.json.")
    atomic_write_json(path, json_safe(payload))


def _parse_grid(grid: str) -> list[float]:
    try:
        values = [float(part) for part in grid.split(",") if part.strip()]
    except ValueError:
        raise UserInputError(f"--grid {grid!r}: use comma-separated numbers >= 0, e.g. 0,0.5,1.") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise UserInputError(f"--grid {grid!r}: use comma-separated numbers >= 0, e.g. 0,0.5,1.")
    return values


def _parse_window(window: str) -> tuple[int, int] | None:
    if window.strip().lower() == "all":
        return None
    try:
        pre, post = (int(part) for part in window.split(","))
    except ValueError:
        raise UserInputError(f"--window {window!r}: use PRE,POST (e.g. 5,5) or all.") from None
    if pre < 1 or post < 0:
        raise UserInputError(f"--window {window!r}: PRE must be at least 1 and POST at least 0.")
    return pre, post


def load_event_study(path: Path, reference: int = -1, window: tuple[int, int] | None = None) -> dict[str, Any]:
    """Read an estimate JSON and return the HonestDiD inputs (see :func:`~clusterpolicy.estimate.honestdid.
    event_study_inputs`) plus ``n_clusters`` (or ``None``)."""
    import numpy as np

    from clusterpolicy.estimate.honestdid import event_study_inputs

    if not path.is_file():
        raise UserInputError(f"--from {path}: file not found; pass the JSON written by 'clusterpolicy estimate --json'.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserInputError(f"--from {path}: not valid JSON ({err.msg if hasattr(err, 'msg') else err}); pass the "
                             "file written by 'clusterpolicy estimate --json'.") from None
    if not isinstance(data, dict):
        raise UserInputError(f"--from {path}: expected a JSON object with 'event_study' and 'event_study_vcov'.")
    rows = data.get("event_study")
    if not isinstance(rows, list) or not rows:
        raise UserInputError(f"--from {path}: no 'event_study' rows; estimate with an event-study estimator "
                             "(e.g. --estimator twfe_es).")
    vc = data.get("event_study_vcov")
    if not isinstance(vc, dict) or "event_time" not in vc or "matrix" not in vc:
        raise UserInputError(f"--from {path}: no 'event_study_vcov' with 'event_time' and 'matrix'; the bounds need "
                             "the covariance of the event-study estimates.")
    try:
        vc_times = [int(t) for t in vc["event_time"]]
        matrix = np.array(vc["matrix"], dtype=float)
    except (TypeError, ValueError):
        raise UserInputError(f"--from {path}: 'event_study_vcov' is malformed; 'event_time' must be whole numbers "
                             "and 'matrix' a square list of lists of numbers.") from None
    n = len(vc_times)
    if matrix.shape != (n, n):
        raise UserInputError(f"--from {path}: 'event_study_vcov.matrix' has shape {matrix.shape} but "
                             f"'event_time' has {n} entries; it must be {n}x{n}.")
    est: dict[int, float] = {}
    for row in rows:
        if not isinstance(row, dict) or "event_time" not in row:
            raise UserInputError(f"--from {path}: every 'event_study' row needs 'event_time' and 'estimate'.")
        value = row.get("estimate")
        if value is None:
            continue  # e.g. the normalised reference period
        est[int(row["event_time"])] = float(value)
    missing = [t for t in vc_times if t not in est]
    if missing:
        raise UserInputError(f"--from {path}: event times {missing} are in 'event_study_vcov' but have no estimate "
                             "in 'event_study'.")
    estimates = [est[t] for t in vc_times]
    if not any(t < reference for t in vc_times) and any(t < reference for t in est):
        # e.g. imputation: its leads are Borusyak-Jaravel-Spiess's separate pre-trend regression on untreated rows,
        # whose covariance with the post-period estimates is not estimated; the bounds need that joint covariance
        raise UserInputError(f"--from {path}: the {data.get('estimator', 'estimate')!r} pre-period rows come from a "
                             "separate pre-trend test and are not in 'event_study_vcov' (no joint covariance with "
                             "the post-periods). Fix: estimate the event study with --estimator cs, sa or twfe_es.")
    if data.get("base_period") == "varying":
        # Callaway-Sant'Anna's pre-period rows are one-period placebo changes: re-express them relative to e = -1
        # exactly as the library does (clusterpolicy.estimate.sensitivity.to_universal_base)
        import pandas as pd

        from clusterpolicy.errors import EstimationError
        from clusterpolicy.estimate.sensitivity import to_universal_base

        frame = pd.DataFrame({"event_time": vc_times, "estimate": estimates, "se": np.sqrt(np.diag(matrix))})
        try:
            frame, vcov = to_universal_base(frame, pd.DataFrame(matrix, index=vc_times, columns=vc_times))
        except EstimationError as err:
            raise UserInputError(f"--from {path}: {err}") from err
        vc_times, estimates, matrix = list(vcov.index), list(frame["estimate"]), vcov.to_numpy()
    if window is not None:
        keep = [i for i, t in enumerate(vc_times) if -window[0] <= t <= window[1]]
        vc_times, estimates = [vc_times[i] for i in keep], [estimates[i] for i in keep]
        matrix = np.asarray(matrix)[np.ix_(keep, keep)]
    betahat, sigma, num_pre, num_post, pre, post = event_study_inputs(vc_times, estimates, matrix, reference)
    n_clusters = None
    inference = data.get("inference")
    if isinstance(inference, dict) and inference.get("n_clusters") is not None:
        n_clusters = int(inference["n_clusters"])
    return {"betahat": betahat, "sigma": sigma, "num_pre": num_pre, "num_post": num_post, "pre_times": pre,
            "post_times": post, "n_clusters": n_clusters}


def sensitivity_command(
    source: Path = typer.Option(..., "--from", help="Estimate JSON (written by 'clusterpolicy estimate --json')."),
    restriction: RestrictionChoice = typer.Option(..., "--restriction", help="rm (relative magnitudes, C-LF) or sd (smoothness, "
                                                                "FLCI)."),
    grid: str = typer.Option(..., "--grid", help="Comma-separated Mbar (rm) or M (sd) values, e.g. 0,0.5,1."),
    target: TargetChoice = typer.Option("first", "--target", help="first (first post-period) or average (of post-periods)."),
    level: float = typer.Option(0.95, "--level", help="Confidence level, e.g. 0.95."),
    reference: int = typer.Option(-1, "--reference", help="The omitted (normalised) event time."),
    window: str = typer.Option("all", "--window", help="Event times used by the test and the bounds: PRE,POST "
                                                       "(from -PRE to POST); 'all' keeps every event time."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the bounds (JSON)."),
) -> None:
    """Rambachan-Roth (2023) robust bounds for an event study, with the breakdown value and pre-trend test."""
    from clusterpolicy.estimate.honestdid import HONESTDID_VERSION, pretrend_wald, sensitivity_bounds

    restriction, target = _value(restriction), _value(target)
    if not (0.5 <= level < 1):
        raise UserInputError(f"--level {level}: use a confidence level between 0.5 and 1, e.g. 0.95.")
    values = _parse_grid(grid)
    folder = json_out.parent if str(json_out.parent) else Path(".")
    if not folder.is_dir():
        raise UserInputError(f"--json {json_out}: folder {str(folder)!r} does not exist; create it or pass another "
                             "path.")
    inputs = load_event_study(source, reference, _parse_window(window))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusterPolicyWarning)
        res = sensitivity_bounds(inputs["betahat"], inputs["sigma"], inputs["num_pre"], inputs["num_post"], values,
                                 restriction=restriction, target=target, alpha=1 - level)
    num_pre = inputs["num_pre"]
    wald = pretrend_wald(inputs["betahat"][:num_pre], inputs["sigma"][:num_pre, :num_pre], inputs["n_clusters"])
    out = res.to_dict()
    payload = {
        "rows": out["rows"],
        "breakdown": out["breakdown"],
        "restriction": restriction,
        "target": target,
        "l_vec": out["l_vec"],
        "level": level,
        "original": out["original"],
        "pre_times": [int(t) for t in inputs["pre_times"]],
        "post_times": [int(t) for t in inputs["post_times"]],
        "pretrend": wald.to_dict(),
        "source": str(source),
        "method": "C-LF" if restriction == "rm" else "FLCI",
        "honestdid_version": HONESTDID_VERSION,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, ClusterPolicyWarning)],
    }
    write_json_atomic(json_out, payload)
    name = "Mbar" if restriction == "rm" else "M"
    typer.echo(f"Rambachan-Roth bounds ({payload['method']}, Delta^{restriction.upper()}), target: {target} "
               f"post-period effect, {level:.0%} level; pre-periods {payload['pre_times']}")
    typer.echo(f"  {'Original':>8}  [{res.original[0]:.6g}, {res.original[1]:.6g}]")
    for m, lb, ub, _ in res.rows:
        typer.echo(f"  {name}={m:<6g}  [{lb:.6g}, {ub:.6g}]")
    bd = "not reached on the grid" if res.breakdown is None else f"{res.breakdown:.4g}"
    typer.echo(f"  breakdown {name}: {bd}")
    f_part = "" if wald.f_stat is None else f"; F({wald.df}, {wald.df_denom}) = {wald.f_stat:.4g}, p = {wald.f_p_value:.4g}"
    typer.echo(f"  pre-trend Wald: chi2({wald.df}) = {wald.chi2:.4g}, p = {wald.p_value:.4g}{f_part} (diagnostic only)")
    for message in payload["warnings"]:
        typer.echo(f"warning: {message}", err=True)
    typer.echo(f"Wrote {json_out}")


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` to ``app``."""
    app.command("sensitivity")(sensitivity_command)
