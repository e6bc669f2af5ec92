"""The Typer app with every command registered: one file per group of commands."""

from __future__ import annotations

from duologue.cli import build_cmd, series_cmds, turn_cmds, workspace_cmds  # noqa: F401 - they register their commands
from duologue.cli.base import app

app.add_typer(series_cmds.series_app, name="series")

__all__ = ["app"]
