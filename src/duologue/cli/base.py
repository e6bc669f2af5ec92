"""The Typer app, shared helpers, and the one place where errors become messages and exit codes."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from duologue.model import Settings
from typer.core import TyperGroup


class DuologueGroup(TyperGroup):
    """Runs every command; turns a ``DuologueError`` into ``error: …`` and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        from duologue.errors import DuologueError

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except DuologueError as error:
            if os.environ.get("DUOLOGUE_DEBUG") == "1":
                raise
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted.", err=True)
            raise typer.Exit(130) from None
        except Exception as error:  # a bug in duologue: still one sentence, not a traceback
            if os.environ.get("DUOLOGUE_DEBUG") == "1":
                raise
            typer.echo(
                f"error: duologue failed unexpectedly ({type(error).__name__}: {error}); "
                "run again with DUOLOGUE_DEBUG=1 to see where, and please report it.",
                err=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=DuologueGroup,
    name="duologue",
    help="Publish a dialogue series: co-authors answering each other, turn by turn, through git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from duologue import __version__

        typer.echo(f"duologue {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Publish a dialogue series: co-authors answering each other, turn by turn, through git."""


def print_json(data: object) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def workspace_here() -> Settings:
    """The workspace around the current folder, after repairing an interrupted publish."""
    from duologue.repair import repair_if_interrupted
    from duologue.workspace import open_workspace

    settings = open_workspace()
    repaired = repair_if_interrupted(settings.root)
    if repaired:
        typer.echo(f"note: {repaired}", err=True)
    return settings
