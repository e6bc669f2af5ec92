"""The Typer app and its shared helpers; every failure becomes a message and an exit code
here, through ``duologue.cli.plain.failure``."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from duologue.cli.plain import failure, workspace_here

__all__ = ["app", "print_json", "workspace_here"]


class DuologueGroup(TyperGroup):
    """Runs every command; turns a ``DuologueError`` (or a bug) into ``error: …`` and its
    exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BaseException as error:
            reported = failure(error)
            if reported is None:
                raise
            typer.echo(reported[0], err=True)
            raise typer.Exit(reported[1]) from None


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

    from duologue.visible import json_printable  # the same data; no raw U+202E on a terminal

    sys.stdout.write(json_printable(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")
