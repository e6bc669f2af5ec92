"""The Typer app with every command registered: one file per group of commands."""

from __future__ import annotations

# Imported for what importing does: each module registers its commands on ``app``.
import duologue.cli.build_cmd
import duologue.cli.turn_cmds
import duologue.cli.workspace_cmds  # noqa: F401
from duologue.cli.base import app
from duologue.cli.series_cmds import series_app

app.add_typer(series_app, name="series")

__all__ = ["app"]
