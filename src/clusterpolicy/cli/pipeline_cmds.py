"""Commands that run the manifest and build the book: ``run``, ``book``, ``profile``, ``exhibits``, ``status``."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer

from clusterpolicy.fsutil import VERIFY_RTOL
from clusterpolicy.paths import project_root


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


INTERRUPTED_EXIT = 130


def _interrupted() -> typer.Exit:
    typer.echo("interrupted: finished runs are kept; run the command again to continue", err=True)
    return typer.Exit(code=INTERRUPTED_EXIT)


def register(app: typer.Typer) -> None:
    """Add the pipeline commands to ``app``."""

    @app.command("run")
    def run_command(
        only: Annotated[list[str] | None, typer.Option("--only", help="Run only these ids (repeatable).")] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Parallel local workers (default: cores).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Execute even runs whose inputs are unchanged.")] = False,
        executor: Annotated[str, typer.Option("--executor", help="local (process pool) or dask.")] = "local",
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        lock_timeout: Annotated[float | None, typer.Option(
            "--lock-timeout", min=0, help="Seconds to wait for another clusterpolicy run in this checkout before "
            "giving up (default: $CLUSTERPOLICY_LOCK_TIMEOUT, else wait).")] = None,
    ) -> None:
        """Execute the stale runs of notebooks/runs.yaml with papermill (unchanged runs are skipped)."""
        from clusterpolicy.pipeline.lock import project_lock
        from clusterpolicy.pipeline.runner import run_pipeline

        _setup_logging(False)
        root = project_root()
        try:
            with project_lock(root, timeout=lock_timeout):
                report = run_pipeline(root, only=only, jobs=jobs, force=force, executor=executor,  # type: ignore[arg-type]
                                      scheduler=scheduler, progress=not quiet)
        except KeyboardInterrupt:
            raise _interrupted() from None
        typer.echo(report.summary())
        if not report.ok:
            raise typer.Exit(code=1)

    @app.command("book")
    def book_command(
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Parallel local workers.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Re-execute every run.")] = False,
        executor: Annotated[str, typer.Option("--executor", help="local or dask.")] = "local",
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address.")] = None,
        all_pages: Annotated[bool, typer.Option("--all", help="Rebuild every HTML page, not only changed ones.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        lock_timeout: Annotated[float | None, typer.Option(
            "--lock-timeout", min=0, help="Seconds to wait for another clusterpolicy run in this checkout before "
            "giving up (default: $CLUSTERPOLICY_LOCK_TIMEOUT, else wait).")] = None,
    ) -> None:
        """Execute stale runs, then build the HTML book into _build/html (warnings are errors)."""
        from clusterpolicy.pipeline import book
        from clusterpolicy.pipeline.exhibits import update_readme
        from clusterpolicy.pipeline.lock import project_lock
        from clusterpolicy.pipeline.manifest import load_manifest
        from clusterpolicy.pipeline.runner import run_pipeline

        _setup_logging(False)
        started = time.perf_counter()
        root = project_root()
        manifest = load_manifest(root)
        try:
            with project_lock(root, timeout=lock_timeout):
                report = run_pipeline(root, jobs=jobs, force=force, executor=executor,  # type: ignore[arg-type]
                                      scheduler=scheduler, progress=not quiet, manifest=manifest)
                typer.echo(report.summary())
                update_readme(root, manifest)
                book.prepare(root, manifest)
                book.jupyter_book_build(root, all_pages=all_pages)
        except KeyboardInterrupt:
            raise _interrupted() from None
        typer.echo(f"book: {root / '_build' / 'html' / 'index.html'} ({time.perf_counter() - started:.1f} s)")
        if not report.ok:
            typer.echo("error: some runs failed; their pages say so and show no results", err=True)
            raise typer.Exit(code=1)

    @app.command("profile")
    def profile_command(
        codes: Annotated[list[str], typer.Argument(help="NUTS2 codes of the Eurostat data, e.g. ITF4 AT32.")],
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Parallel local workers.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Add a regional profile run per code to notebooks/runs.yaml (section Regions) and run them."""
        from clusterpolicy.errors import UserInputError
        from clusterpolicy.pipeline.profiles import add_profile_runs
        from clusterpolicy.pipeline.runner import run_pipeline

        _setup_logging(False)
        root = project_root()
        try:
            ids = add_profile_runs(root, codes)
        except UserInputError as err:
            raise typer.BadParameter(str(err), param_hint="CODES") from err
        try:
            report = run_pipeline(root, only=ids, jobs=jobs, progress=not quiet)
        except KeyboardInterrupt:
            raise _interrupted() from None
        typer.echo(report.summary())
        typer.echo("profiles: " + ", ".join(ids) + " (build the book with 'clusterpolicy book')")
        if not report.ok:
            raise typer.Exit(code=1)

    @app.command("exhibits")
    def exhibits_command(
        write: Annotated[bool, typer.Option("--write", help="Rewrite the table in README.md.")] = False,
        check: Annotated[bool, typer.Option("--check", help="Exit 1 if README.md's table is out of date.")] = False,
    ) -> None:
        """Print (or write into README.md) the table mapping each figure and table to its run and output file."""
        from clusterpolicy.pipeline.exhibits import exhibits_markdown, update_readme
        from clusterpolicy.pipeline.manifest import load_manifest

        root = project_root()
        manifest = load_manifest(root)
        if check:
            if not update_readme(root, manifest, check=True):
                typer.echo("README.md's exhibit table is out of date; run 'clusterpolicy exhibits --write'", err=True)
                raise typer.Exit(code=1)
            typer.echo("README.md's exhibit table is current")
        elif write:
            update_readme(root, manifest)
            typer.echo("README.md exhibit table updated")
        else:
            typer.echo(exhibits_markdown(root, manifest), nl=False)

    @app.command("verify")
    def verify_command(
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Parallel local workers.")] = None,
        rtol: Annotated[float, typer.Option("--rtol", help="Relative tolerance for numbers (default: two units in "
                                            "the 10th significant digit, the published precision).")] = VERIFY_RTOL,
        atol: Annotated[float, typer.Option("--atol", help="Absolute tolerance for numbers.")] = 1e-12,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Re-execute every run from scratch in a temporary folder and compare each published number."""
        from clusterpolicy.pipeline.verify import format_table, verify

        comparisons, failed = verify(project_root(), jobs=jobs, rtol=rtol, atol=atol, progress=not quiet)
        typer.echo(format_table(comparisons))
        bad = [c for c in comparisons if not c.ok]
        identical = {c.run_id for c in comparisons if c.note == "byte-identical"}
        runs = {c.run_id for c in comparisons}
        typer.echo(f"{len(identical)} of {len(runs)} results file(s) byte-identical to the rerun")
        typer.echo(f"{len(comparisons)} published value(s) compared (rtol={rtol:g}, atol={atol:g}): "
                   f"{len(comparisons) - len(bad)} match, {len(bad)} differ; {len(failed)} run(s) failed")
        if bad or failed or not comparisons:
            raise typer.Exit(code=1)

    @app.command("status")
    def status_command() -> None:
        """List the runs of the manifest and whether each is fresh, stale or failed."""
        from clusterpolicy.pipeline.cache import Layout, environment_digest, is_fresh, manifest_keys, read_state
        from clusterpolicy.pipeline.manifest import load_manifest

        root = project_root()
        manifest = load_manifest(root)
        layout = Layout(root)
        keys = manifest_keys(manifest, environment_digest(root))
        for run in manifest.runs:
            state = read_state(layout, run.id) or {}
            fresh = is_fresh(layout, run, keys[run.id])
            label = "fresh" if fresh else ("failed" if state.get("status") == "failed" else "stale")
            typer.echo(f"{run.id:40s} {label:7s} {run.template.name}")
