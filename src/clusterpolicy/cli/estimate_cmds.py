"""``clusterpolicy estimate``: validate a panel file and estimate a policy effect with one estimator.

The command is a thin layer: the schema validation (:mod:`clusterpolicy.data.schema`) turns bad input into one
line and exit code 2, :func:`clusterpolicy.estimate.api.estimate` does the work, and the result is written as
``EstimationResult.to_dict()`` JSON (sorted keys, written atomically) with a short summary on stdout.
"""

from __future__ import annotations

import enum
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from clusterpolicy.errors import ClusterPolicyWarning, UserInputError
from clusterpolicy.estimate.literals import (
    SSC,
    BootWeights,
    ControlGroup,
    CSMethod,
    DFMode,
    EstimatorName,
    SynthInference,
    choices,
)
from clusterpolicy.fsutil import atomic_write_json, json_safe


def choice(alias: Any, name: str) -> type[enum.Enum]:
    """A CLI choice type (a string enum, which typer shows as a choice) built from a ``Literal`` alias of
    :mod:`clusterpolicy.estimate.literals`: one source of truth for every option set."""
    # mypy reads the functional Enum API with computed members as an instance, not a class: hence the ignore
    return enum.Enum(name, {value: value for value in choices(alias)}, type=str)  # type: ignore[return-value]


if TYPE_CHECKING:
    # The enums are built at run time from the literals; their members are str instances equal to their values, so
    # to a type checker each choice type is its Literal alias.
    EstimatorChoice = EstimatorName
    ControlChoice = ControlGroup
    MethodChoice = CSMethod
    SSCChoice = SSC
    DFChoice = DFMode
    WeightsChoice = BootWeights
    SynthInferenceChoice = SynthInference
else:
    EstimatorChoice = choice(EstimatorName, "EstimatorChoice")
    ControlChoice = choice(ControlGroup, "ControlChoice")
    MethodChoice = choice(CSMethod, "MethodChoice")
    SSCChoice = choice(SSC, "SSCChoice")
    DFChoice = choice(DFMode, "DFChoice")
    WeightsChoice = choice(BootWeights, "WeightsChoice")
    SynthInferenceChoice = choice(SynthInference, "SynthInferenceChoice")


def _value(option: Any) -> Any:
    return option.value if isinstance(option, enum.Enum) else option


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as canonical JSON (sorted keys) atomically; see :func:`clusterpolicy.fsutil.atomic_write_json`."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserInputError(f"--json {path}: folder {str(path.parent)!r} does not exist. Fix: create it first.")
    atomic_write_json(path, json_safe(payload))


def _load_panel(data: Path, *, unit: str, time: str, cohort: str, outcome: str, covariates: tuple[str, ...],
                cluster: str | None, count: bool, control: ControlGroup,
                extra: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
    """Read and validate the file through the project's panel schema; return the cleaned frame and the design
    warnings."""
    from clusterpolicy.data.schema import check_design, validate_file

    if not data.exists():
        raise UserInputError(f"--data {data}: file not found. Fix: pass the path of a CSV panel.")
    panel = validate_file(data, unit=unit, time=time, cohort=cohort, outcome=outcome, count=count,
                          covariates=covariates, cluster=cluster, extra=extra)
    design = check_design(panel, control=control)
    return panel.data, tuple(design)


def estimate_command(
    data: Path = typer.Option(..., "--data", help="Panel file (CSV; one row per unit and period)."),
    unit: str = typer.Option(..., "--unit", help="Unit id column."),
    time: str = typer.Option(..., "--time", help="Period column (whole numbers, e.g. years)."),
    cohort: str = typer.Option(..., "--cohort", help="First treated period; 0 or empty = never treated."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
    estimator: EstimatorChoice = typer.Option(..., "--estimator",
                                              help="The estimator (see 'Estimators' in the README)."),
    control: ControlChoice | None = typer.Option(None, "--control",
                                                 help="Comparison group of cs and etwfe (cs default never; etwfe "
                                                      "notyet)."),
    covariates: str = typer.Option("", "--covariates", help="Comma-separated covariate columns (cs, twfe, sa)."),
    method: MethodChoice = typer.Option("dr", "--method", help="cs only: reg, ipw or dr."),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster column (default: the unit)."),
    ssc: SSCChoice = typer.Option("fixest", "--ssc",
                                  help="Small-sample convention for twfe/twfe_es/sa."),
    df_mode: DFChoice = typer.Option("t", "--df",
                                     help="Critical values: t (t(G-1), the default rule) or normal (R did's)."),
    level: float = typer.Option(0.95, "--level", min=0.5, max=0.999, help="Confidence level."),
    bootstrap: int = typer.Option(0, "--bootstrap", min=0, help=(
        "Bootstrap draws: the clustered multiplier bootstrap with uniform event-study bands (cs, sa, imputation, "
        "did2s, twfe_es), the wild cluster bootstrap (twfe), the placebo/bootstrap replications (sc, sdid).")),
    boot_weights: WeightsChoice = typer.Option("rademacher", "--boot-weights",
                                               help="Bootstrap weights."),
    synth_inference: SynthInferenceChoice | None = typer.Option(
        None, "--synth-inference", help="sc/sdid inference (default: placebo with one treated unit, else jackknife "
                                        "where possible, else bootstrap; --bootstrap N alone means bootstrap)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the bootstrap and the randomisation inference "
                                                          "(sc/sdid: a fixed default seed when not given)."),
    ri: int = typer.Option(0, "--ri", min=0, help="Randomisation inference: permutations of the adoption dates."),
    ri_strata: str | None = typer.Option(None, "--ri-strata", help="Permute adoption dates within this column."),
    bacon: bool = typer.Option(False, "--bacon", help="Goodman-Bacon decomposition of the static TWFE coefficient."),
    leave_one_out: bool = typer.Option(False, "--leave-one-out",
                                       help="Re-estimate without each unit (or cluster) and report the range."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the result (JSON)."),
) -> None:
    """Estimate the effect of a staggered policy on OUTCOME and write the result as JSON."""
    from clusterpolicy.estimate.api import ESTIMATORS, estimate
    from clusterpolicy.estimate.bootstrap import BootstrapSpec

    estimator, method, ssc, df_mode = _value(estimator), _value(method), _value(ssc), _value(df_mode)
    control, boot_weights, synth_inference = _value(control), _value(boot_weights), _value(synth_inference)
    if synth_inference is not None and not ESTIMATORS[estimator].uses_replications:
        raise UserInputError(f"--synth-inference applies to --estimator sc or sdid, not {estimator}; drop it.")
    spec = ESTIMATORS[estimator]
    if bootstrap and not (spec.uses_bootstrap or estimator == "twfe" or spec.uses_replications):
        raise UserInputError(f"--bootstrap does not apply to --estimator {estimator}; it is available for "
                             f"{', '.join(n for n, e in ESTIMATORS.items() if e.uses_bootstrap)}, twfe, sc and sdid.")
    if bacon and estimator != "twfe":
        raise UserInputError("--bacon decomposes the static TWFE coefficient; use it with --estimator twfe.")
    if not json_out.parent.exists():
        raise UserInputError(f"--json {json_out}: folder {json_out.parent} does not exist; create it or pass "
                             "another path.")
    covs = tuple(c.strip() for c in covariates.split(",") if c.strip())
    design_control: ControlGroup = control or ("notyet" if estimator == "etwfe" else "never")
    if estimator not in ("cs", "etwfe", "sa", "sc", "sdid") and control is None:
        design_control = "notyet"  # regression estimators use every untreated observation as a comparison
    options: dict[str, Any] = {"level": level, "df_mode": df_mode}
    boot = None
    if bootstrap and spec.uses_bootstrap:
        boot = BootstrapSpec(n_boot=bootstrap, weights=boot_weights, seed=seed)
    if spec.uses_replications:
        options.update(replications=bootstrap or 200, seed=seed, synth_inference=synth_inference)
    # Project warnings are shown once as "warning: ..." lines instead of Python's file:line format.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusterPolicyWarning)
        frame, design_warnings = _load_panel(data, unit=unit, time=time, cohort=cohort, outcome=outcome,
                                             covariates=covs, cluster=cluster, count=estimator == "negbin",
                                             control=design_control, extra=(ri_strata,) if ri_strata else ())
        if estimator in ("poisson", "etwfe", "negbin"):
            negative = frame.loc[frame[outcome] < 0, [unit, time, outcome]]
            if len(negative):
                examples = ", ".join(f"{r[unit]}/{r[time]}={float(r[outcome]):g}" for _, r in negative.head(3).iterrows())
                raise UserInputError(
                    f"{data}: column '{outcome}' has {len(negative)} negative value(s) ({examples}); --estimator "
                    f"{estimator} models a non-negative count or rate. Fix: use the count itself, or a linear "
                    "estimator (twfe, cs, sa, imputation) for an outcome that can be negative."
                )
        if spec.uses_replications and bootstrap and synth_inference is None:
            from clusterpolicy.estimate.api import _treated_clusters

            # --bootstrap N asks for the unit bootstrap; with one treated unit only the placebo exists (N draws)
            if _treated_clusters(frame, unit=unit, time=time, cohort=cohort, cluster=None) > 1:
                options["synth_inference"] = "bootstrap"
        kwargs: dict[str, Any] = {"estimator": estimator, "outcome": outcome, "control": control,
                                  "covariates": covs, "method": method, "cluster": cluster, "ssc": ssc,
                                  "bootstrap": boot, **options}
        result = estimate(frame, unit=unit, time=time, cohort=cohort, **kwargs)
        if ri:
            from clusterpolicy.estimate.inference import NONLINEAR_ESTIMATORS, with_randomization

            # The confidence set by test inversion needs an estimator linear in the outcome; for the others the
            # p-value (a test of no effect at all) is still exact, and the JSON simply has no ri_ci_* keys.
            linear = estimator not in NONLINEAR_ESTIMATORS
            if not linear:
                typer.echo(f"note: --estimator {estimator} is not linear in the outcome: randomisation p-value "
                           "only, no randomisation confidence interval.", err=True)
            result = with_randomization(result, frame, unit=unit, time=time, cohort=cohort, n_permutations=ri,
                                        seed=seed, strata=ri_strata, interval=linear, **kwargs)
    shown = [str(w.message) for w in caught if issubclass(w.category, ClusterPolicyWarning)]
    for message in dict.fromkeys([*shown, *design_warnings]):
        if message not in result.warnings:  # the summary below prints the result's own warnings
            typer.echo(f"warning: {message}", err=True)
    payload = result.to_dict()
    if bootstrap and estimator == "twfe" and result.inference.method != "analytic":
        # the one-treated-unit (or cluster) rule replaced the analytic interval; a wild cluster bootstrap
        # resamples the same single treated score and is no more valid, so it is not run
        typer.echo("warning: --bootstrap ignored: with one treated unit or cluster no bootstrap interval is valid; "
                   "the p-value comes from placebos in space.", err=True)
    elif bootstrap and estimator == "twfe":
        from clusterpolicy.estimate.inference import wild_cluster_bootstrap

        wcb = wild_cluster_bootstrap(frame.assign(_d=_treated(frame, time, cohort)), outcome=outcome, term="_d",
                                     cluster=cluster or unit, fixed_effects=(unit, time), n_boot=bootstrap,
                                     weights=boot_weights, seed=seed,
                                     conf_level=level)
        payload["details"]["wild_bootstrap"] = wcb.to_dict()
    if bacon:
        from clusterpolicy.estimate._panel import prepare_panel
        from clusterpolicy.estimate.diagnostics import bacon_decomposition

        panel = prepare_panel(frame, unit=unit, time=time, cohort=cohort, outcome=outcome, covariates=covs)
        payload["bacon"] = bacon_decomposition(panel).to_dict()
    if leave_one_out:
        from clusterpolicy.estimate.diagnostics import leave_one_out as loo

        def refit(sub: Any) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return estimate(sub, unit=unit, time=time, cohort=cohort, **{**kwargs, "bootstrap": None})

        payload["leave_one_out"] = loo(frame, refit, unit=unit, cluster=cluster).to_dict()
    payload["details"]["source"] = {"data": str(data), "estimator": estimator}
    payload["details"]["design_warnings"] = list(design_warnings)
    write_json_atomic(json_out, payload)
    typer.echo(result.summary())
    if "wild_bootstrap" in payload["details"]:
        wb = payload["details"]["wild_bootstrap"]
        typer.echo(f"Wild cluster bootstrap: p = {wb['p_value']:.4g}; {level:.0%} CI {wb['ci_low']:.6g} to "
                   f"{wb['ci_high']:.6g} ({wb['n_boot']} draws)")
    if "leave_one_out" in payload:
        lo = payload["leave_one_out"]
        typer.echo(f"Leave-one-out: estimates from {lo['min']:.6g} (without {lo['argmin']}) to "
                   f"{lo['max']:.6g} (without {lo['argmax']})")
    if "bacon" in payload:
        typer.echo(f"Goodman-Bacon: {len(payload['bacon']['comparisons'])} comparisons; weights by type: "
                   + ", ".join(f"{r['type']} {r['weight']:.3f}" for r in payload["bacon"]["summary"]))
    typer.echo(f"Wrote {json_out}")


def _treated(frame: Any, time: str, cohort: str) -> Any:
    g = frame[cohort].fillna(0)
    return ((g > 0) & (frame[time] >= g)).astype(float)


def register(app: typer.Typer) -> None:
    """Add ``estimate`` to ``app``."""
    app.command("estimate")(estimate_command)
