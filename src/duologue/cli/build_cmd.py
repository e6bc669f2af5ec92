"""``duologue build``: write the site and feeds (SPEC §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from duologue.cli.base import app, workspace_here


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
    from contextlib import nullcontext

    from duologue.lock import workspace_lock
    from duologue.site.build import build_site
    from duologue.site.cache import git_dir
    from duologue.site.progress import ProgressBar

    settings = workspace_here()
    folder = git_dir(settings.root)
    # Two builds at once would interleave writes into the output folder and the cache.
    with workspace_lock(folder) if folder else nullcontext(), ProgressBar() as progress:
        result = build_site(
            settings, out=out, only_series=series, base_url=base_url, progress=progress
        )
    removed = f", {result.removed} removed" if result.removed else ""
    typer.echo(
        f"built {result.files} files ({result.written} written{removed}) "
        f"in {result.seconds:.2f} s → {result.out_dir}"
    )
