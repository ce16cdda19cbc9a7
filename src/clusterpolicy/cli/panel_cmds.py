"""Panel commands: ``clusterpolicy validate`` (check a user's panel file) and ``clusterpolicy simulate``
(write a seeded, **simulated** firm panel with its true effects). See :mod:`clusterpolicy.data.schema` and
:func:`clusterpolicy.data.synthetic.simulate_firm_panel`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from clusterpolicy.errors import UserInputError

if TYPE_CHECKING:
    from clusterpolicy.data.synthetic import Family


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def validate(
    file: Path = typer.Argument(..., help="Panel CSV (comma, semicolon or tab separated)."),
    unit: str = typer.Option(..., "--unit", help="Column with the unit id (firm, region)."),
    time: str = typer.Option(..., "--time", help="Column with the period (whole number, e.g. year)."),
    cohort: str = typer.Option(..., "--cohort", help="Column with the first treated period; 0/empty = never."),
    outcome: str = typer.Option(..., "--outcome", help="Column with the outcome."),
    count: bool = typer.Option(False, "--count", help="The outcome is a count (whole numbers >= 0)."),
    covariates: str = typer.Option("", "--covariates", help="Comma-separated numeric covariate columns."),
    cluster: str | None = typer.Option(None, "--cluster", help="Column to cluster standard errors on."),
) -> None:
    """Check a panel file against the documented schema and print a short summary."""
    from clusterpolicy.data.io import EncodingFallbackWarning
    from clusterpolicy.data.schema import check_design, validate_file
    from clusterpolicy.errors import EstimationError

    # Warnings are part of the summary; keep Python's warning lines off stderr.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = validate_file(file, unit=unit, time=time, cohort=cohort, outcome=outcome, count=count,
                              covariates=_split(covariates), cluster=cluster)
    typer.echo(panel.summary())
    for warning in caught:
        if issubclass(warning.category, EncodingFallbackWarning):
            typer.echo(f"  warning: {warning.message}")
    # The file is valid; what it can identify is a separate question, reported as notes.
    shown: set[str] = set()
    for control in ("never", "notyet"):
        try:
            notes = [f"note: {note}" for note in check_design(panel, control=control)]
        except EstimationError as err:
            notes = [f"note (--control {control}): cannot estimate: {str(err).split(': ', 1)[-1]}"]
        for note in notes:
            if note not in shown:
                shown.add(note)
                typer.echo(f"  {note}")


def simulate(
    seed: int = typer.Option(..., "--seed", help="Random seed; the same seed gives byte-identical files."),
    out: Path = typer.Option(..., "--out", help="Data CSV to write, e.g. simulated_firms.csv."),
    firms: int = typer.Option(2000, "--firms", help="Number of firms."),
    regions: int = typer.Option(21, "--regions", help="Number of Italian NUTS 2 regions (2-21)."),
    family: str = typer.Option("negbin", "--family", help="Count model: poisson or negbin."),
) -> None:
    """Write a SIMULATED firm x year panel of collaboration counts, its true ATT(g,t) and a JSON sidecar."""
    from clusterpolicy.data.synthetic import simulate_firm_panel, simulation_paths, write_simulation

    if not out.name.lower().endswith(".csv"):
        raise UserInputError(f"--out {out}: the data file must end in .csv (e.g. simulated_firms.csv).")
    if not out.parent.is_dir():
        raise UserInputError(f"--out {out}: folder {out.parent} does not exist; create it or choose another path.")
    for path in simulation_paths(out).values():
        if path.is_dir():
            raise UserInputError(f"--out {out}: {path} is a folder; choose another file name.")
    # any other string is rejected, with its one-line error, by simulate_firm_panel
    sim = simulate_firm_panel(n_firms=firms, n_regions=regions, family=cast("Family", family.strip().lower()),
                              seed=seed)
    paths = write_simulation(sim, out)
    typer.echo(f"SIMULATED data ({firms} firms, {regions} regions, {family}, seed {seed}):")
    typer.echo(f"  data:  {paths['data']}")
    typer.echo(f"  truth: {paths['truth']}  (true ATT(g,t): log rate ratio and level)")
    typer.echo(f"  meta:  {paths['meta']}  (parameters; \"simulated\": true)")
    if "sim" not in out.name.lower():
        typer.echo(f"  note: consider a file name that says it is simulated, e.g. simulated_{out.name}")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``simulate`` to ``app``."""
    app.command("validate")(validate)
    app.command("simulate")(simulate)
