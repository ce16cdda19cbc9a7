"""``clusterpolicy estimate``: validate a panel file and estimate a policy effect with one estimator.

The command is a thin layer: the schema validation (:mod:`clusterpolicy.data.schema`) turns bad input into one
line and exit code 2, :func:`clusterpolicy.estimate.api.estimate` does the work, and the result is written as
``EstimationResult.to_dict()`` JSON (sorted keys, written atomically) with a short summary on stdout.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import typer

from clusterpolicy.errors import ClusterPolicyWarning, UserInputError
from clusterpolicy.fsutil import atomic_write_json

CLI_ESTIMATORS = ("twfe", "twfe_es", "cs", "sa", "imputation", "did2s", "poisson", "etwfe", "negbin")


def _json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars into Python numbers and non-finite floats into ``None``."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as canonical JSON (sorted keys) atomically; see :func:`clusterpolicy.fsutil.atomic_write_json`."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserInputError(f"--json {path}: folder {str(path.parent)!r} does not exist. Fix: create it first.")
    atomic_write_json(path, _json_safe(payload))


def _load_panel(data: Path, *, unit: str, time: str, cohort: str, outcome: str, covariates: tuple[str, ...],
                cluster: str | None, count: bool, control: str) -> tuple[Any, tuple[str, ...]]:
    """Read and validate the file through the project's panel schema; return the cleaned frame and the design
    warnings."""
    from clusterpolicy.data.schema import check_design, validate_file

    if not data.exists():
        raise UserInputError(f"--data {data}: file not found. Fix: pass the path of a CSV panel.")
    panel = validate_file(data, unit=unit, time=time, cohort=cohort, outcome=outcome, count=count,
                          covariates=covariates, cluster=cluster)
    design = check_design(panel, control=control)
    return panel.data, tuple(design)


def estimate_command(
    data: Path = typer.Option(..., "--data", help="Panel file (CSV; one row per unit and period)."),
    unit: str = typer.Option(..., "--unit", help="Unit id column."),
    time: str = typer.Option(..., "--time", help="Period column (whole numbers, e.g. years)."),
    cohort: str = typer.Option(..., "--cohort", help="First treated period; 0 or empty = never treated."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
    estimator: str = typer.Option(..., "--estimator", help=f"One of: {', '.join(CLI_ESTIMATORS)}."),
    control: str | None = typer.Option(None, "--control", help="never or notyet (cs default never; etwfe notyet)."),
    covariates: str = typer.Option("", "--covariates", help="Comma-separated covariate columns (cs, twfe, sa)."),
    method: str = typer.Option("dr", "--method", help="cs only: reg, ipw or dr."),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster column (default: the unit)."),
    ssc: str = typer.Option("fixest", "--ssc", help="Small-sample convention for twfe/sa: fixest or linearmodels."),
    bootstrap: int = typer.Option(0, "--bootstrap", min=0, help="twfe only: wild cluster bootstrap draws."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the bootstrap."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the result (JSON)."),
    allow_single_treated: bool = typer.Option(
        False, "--allow-single-treated",
        help="Estimate even when only one unit is treated (its standard errors are not reliable)."),
) -> None:
    """Estimate the effect of a staggered policy on OUTCOME and write the result as JSON."""
    from clusterpolicy.estimate.api import estimate

    if estimator not in CLI_ESTIMATORS:
        raise UserInputError(f"--estimator {estimator!r} is not valid; use one of {', '.join(CLI_ESTIMATORS)}.")
    if control is not None and control not in ("never", "notyet"):
        raise UserInputError(f"--control {control!r} is not valid; use never or notyet.")
    if method not in ("reg", "ipw", "dr"):
        raise UserInputError(f"--method {method!r} is not valid; use reg, ipw or dr.")
    if bootstrap and estimator != "twfe":
        raise UserInputError(f"--bootstrap is available for --estimator twfe only (got {estimator!r}); cs, sa and "
                             "imputation report analytic SEs.")
    if not json_out.parent.exists():
        raise UserInputError(f"--json {json_out}: folder {json_out.parent} does not exist; create it or pass "
                             "another path.")
    covs = tuple(c.strip() for c in covariates.split(",") if c.strip())
    design_control = control or ("notyet" if estimator == "etwfe" else "never")
    if estimator not in ("cs", "etwfe", "sa") and control is None:
        design_control = "notyet"  # regression estimators use every untreated observation as a comparison
    # Project warnings are shown once as "warning: ..." lines instead of Python's file:line format.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusterPolicyWarning)
        frame, design_warnings = _load_panel(data, unit=unit, time=time, cohort=cohort, outcome=outcome, covariates=covs,
                            cluster=cluster, count=estimator == "negbin", control=design_control)
        if estimator in ("poisson", "etwfe", "negbin"):
            negative = frame.loc[frame[outcome] < 0, [unit, time, outcome]]
            if len(negative):
                shown = ", ".join(f"{r[unit]}/{r[time]}={float(r[outcome]):g}" for _, r in negative.head(3).iterrows())
                raise UserInputError(
                    f"{data}: column '{outcome}' has {len(negative)} negative value(s) ({shown}); --estimator "
                    f"{estimator} models a non-negative count or rate. Fix: use the count itself, or a linear "
                    "estimator (twfe, cs, sa, imputation) for an outcome that can be negative."
                )
        treated_units = frame.loc[frame[cohort] > 0, unit].unique()
        if len(treated_units) == 1 and not allow_single_treated:
            raise UserInputError(
                f"{data}: column '{cohort}' marks only one treated unit ({treated_units[0]}); clustered standard "
                "errors are not valid with one treated unit. Fix: use synthetic control with placebo inference "
                "(clusterpolicy.estimate.synth) or randomisation inference, or pass --allow-single-treated to get "
                "the point estimate anyway."
            )
        result = estimate(frame, estimator=estimator, unit=unit, time=time, cohort=cohort, outcome=outcome,
                          control=control, covariates=covs, method=method, cluster=cluster, ssc=ssc)
    shown = [str(w.message) for w in caught if issubclass(w.category, ClusterPolicyWarning)]
    for message in dict.fromkeys([*shown, *design_warnings]):
        if message not in result.warnings:  # the summary below prints the result's own warnings
            typer.echo(f"warning: {message}", err=True)
    payload = result.to_dict()
    if bootstrap:
        from clusterpolicy.estimate.twfe import wild_bootstrap_details

        payload["details"]["wild_bootstrap"] = wild_bootstrap_details(
            frame, unit=unit, time=time, cohort=cohort, outcome=outcome, cluster=cluster, n_boot=bootstrap,
            seed=seed)
    payload["details"]["source"] = {"data": str(data), "estimator": estimator}
    payload["details"]["design_warnings"] = list(design_warnings)
    write_json_atomic(json_out, payload)
    typer.echo(result.summary())
    if bootstrap:
        wb = payload["details"]["wild_bootstrap"]
        typer.echo(f"Wild cluster bootstrap: p = {wb['p_value']:.4g}; 95% CI {wb['ci_low']:.6g} to "
                   f"{wb['ci_high']:.6g} ({wb['n_boot']} draws)")
    typer.echo(f"Wrote {json_out}")


def register(app: typer.Typer) -> None:
    """Add ``estimate`` to ``app``."""
    app.command("estimate")(estimate_command)
