"""``clusterpolicy data``: build the derived data from raw sources, and fetch the full official data.

The commands only parse options and call the library (:mod:`clusterpolicy.data.build`,
:mod:`clusterpolicy.data.fetch`); user mistakes surface as :class:`~clusterpolicy.errors.UserInputError`,
which :func:`clusterpolicy.cli.main.run_cli` prints as one line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from clusterpolicy.errors import UserInputError

data_app = typer.Typer(
    name="data",
    help="Build the committed derived data from raw sources, or fetch and build the full CORDIS data.",
    no_args_is_help=True,
)


def _default_raw() -> Path:
    from clusterpolicy.paths import project_root

    return project_root().parent / "shared" / "data" / "raw"


def _default_out() -> Path:
    from clusterpolicy.paths import data_dir

    return data_dir() / "derived"


@data_app.command("build")
def build(
    raw: Annotated[
        Path | None,
        typer.Option("--raw", help="Folder with the raw sources (default: <project>/../shared/data/raw)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: data/derived; with --full: <FULL>/derived)."),
    ] = None,
    full: Annotated[
        Path | None,
        typer.Option("--full", help="Build the EU-wide panel from the official CORDIS exports in this folder "
                                    "(as downloaded by `clusterpolicy data fetch`) instead of the raw folder."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Build derived data files, their codebook and checksum manifest (deterministic: rebuilds are identical)."""
    from clusterpolicy.data.build import build_derived, build_full

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    if full is not None:
        if raw is not None:
            raise UserInputError("--raw and --full exclude each other; give one source folder.")
        report = build_full(full, out if out is not None else Path(full) / "derived")
    else:
        report = build_derived(raw if raw is not None else _default_raw(),
                               out if out is not None else _default_out())
    typer.echo(report.summary())


@data_app.command("fetch")
def fetch(
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Download folder (default: $CLUSTERPOLICY_CACHE or ~/.cache/clusterpolicy)."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Fetch only these exports (repeatable): fp7, h2020, horizon."),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Download the official CORDIS project and organisation exports (FP7, H2020, Horizon Europe)."""
    from clusterpolicy.data.fetch import fetch as fetch_exports

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = fetch_exports(only or None, cache, progressbar=progress)
    for name, path in paths.items():
        typer.echo(f"{name}: {path}")
    folder = next(iter(paths.values())).parent
    typer.echo(f"next: clusterpolicy data build --full {folder}")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    app.add_typer(data_app, name="data")
