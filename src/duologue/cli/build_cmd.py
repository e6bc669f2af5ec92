"""``duologue build``: write the site and feeds (SPEC §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from duologue.cli.base import app


@app.command()
def build(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: `output` in duologue.toml)."),
    ] = None,
    series: Annotated[
        str | None, typer.Option("--series", help="Only this series' pages and feeds.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Absolute URL the site is served from.")
    ] = None,
) -> None:
    """Write the site and feeds: pages for every post and series, RSS and Atom feeds."""
    # The same build as a bare `duologue build`, which runs without Typer (duologue.cli).
    from duologue.cli.quick import build_summary

    typer.echo(build_summary(out, series, base_url))
