"""The ``duologue`` command line: one Typer app, one file per group of commands.

This package imports only Typer and the standard library at start-up; each
command imports the core it needs when it runs, so ``duologue --help`` stays fast.
"""

from __future__ import annotations

from duologue.cli import build_cmd, series_cmds, turn_cmds, workspace_cmds  # noqa: F401 - build_cmd registers `build`
from duologue.cli.base import app

app.add_typer(series_cmds.series_app, name="series")


def main() -> None:
    app()


__all__ = ["app", "main", "turn_cmds", "workspace_cmds"]
