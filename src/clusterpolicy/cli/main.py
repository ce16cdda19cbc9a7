"""Entry point of the ``clusterpolicy`` command.

Each command group lives in its own module with a ``register(app)`` function, so the CLI stays a thin layer:
it parses, delegates to the library, and turns :class:`~clusterpolicy.errors.UserInputError` into one line on
stderr and a non-zero exit, with no traceback.
"""

from __future__ import annotations

import sys

import typer

try:  # typer 0.2x vendors click; its exceptions live here
    from typer._click import exceptions as cli_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as cli_exceptions  # type: ignore[no-redef]

from clusterpolicy.cli import data_cmds, estimate_cmds, panel_cmds, pipeline_cmds, sensitivity_cmds
from clusterpolicy.errors import UserInputError

app = typer.Typer(
    name="clusterpolicy",
    help="Evaluate regional cluster policies: run the analyses, build the book, validate and estimate on your data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (pipeline_cmds, data_cmds, panel_cmds, estimate_cmds, sensitivity_cmds):
    module.register(app)

#: Exit code for user errors (bad input). Bugs exit 1 with a traceback.
USER_ERROR_EXIT = 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_cli(argv: list[str] | None = None) -> None:
    """Run the CLI. User mistakes (bad options, bad files, bad parameters) become ONE line on stderr and exit
    code 2; an interrupt exits 130; anything else is a bug and keeps its traceback."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="clusterpolicy", standalone_mode=False)
    except UserInputError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except cli_exceptions.NoArgsIsHelpError as err:
        typer.echo(err.ctx.get_help() if err.ctx is not None else "clusterpolicy --help")
        sys.exit(0)
    except cli_exceptions.UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        typer.echo(f"error: {_one_line(err.format_message())}{where}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except cli_exceptions.ClickException as err:
        typer.echo(f"error: {_one_line(err.format_message())}", err=True)
        sys.exit(err.exit_code)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted: finished runs are kept; run the command again to continue", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    run_cli()
