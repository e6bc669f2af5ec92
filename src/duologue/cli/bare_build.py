"""``duologue build`` with no options, run without Typer.

It is the command run after every edit, and most often finds nothing to do: then
importing Typer (~40 ms) was a quarter of its time. ``duologue.cli.main`` sends exactly
``duologue build`` here; with any option, ``--help`` included, Typer parses it as
usual. Both ways do the same build (``build_summary``), print the same line, and report
a failure through the same ``duologue.cli.edges.failure``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def build_summary(out: Path | None, series: str | None, base_url: str | None) -> str:
    """Build the site of the workspace around the current folder; the line to print."""
    from duologue.cli.shared import workspace_here
    from duologue.git.transaction import build_lock
    from duologue.site.build import build_site
    from duologue.site.progress import ProgressBar

    settings = workspace_here()
    # Two builds at once would interleave writes into the output folder and the cache.
    with build_lock(settings.root), ProgressBar() as progress:
        result = build_site(
            settings, out=out, only_series=series, base_url=base_url, progress=progress
        )
    removed = f", {result.removed} removed" if result.removed else ""
    return (
        f"built {result.files} files ({result.written} written{removed}) "
        f"in {result.seconds:.2f} s → {result.out_dir}"
    )


def build_now() -> int:
    """``duologue build``: the exit code, after printing what the Typer command prints."""
    from duologue.cli.edges import failure

    try:
        # The line's own printing too, as in the Typer command (a closed pipe, say).
        print(build_summary(None, None, None), flush=True)
    except BaseException as error:
        reported = failure(error)
        if reported is None:
            raise
        print(reported[0], file=sys.stderr, flush=True)
        return reported[1]
    return 0
