"""What commands share that needs no Typer: the line and exit code a failure gives, and
the workspace around the current folder.

The Typer app (``duologue.cli.typer_app``) reports every failure through ``failure``,
and so does a bare ``duologue build`` (``duologue.cli.bare_build``), which runs without
importing Typer at all.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duologue.model import Settings


def failure(error: BaseException) -> tuple[str, int] | None:
    """``(error line, exit code)`` for what a command raised, or None when it must go on up:
    anything but an ``Exception`` or an interrupt, what ``duologue.cli.edges`` answers
    itself (Ctrl-C in the real process, a closed output), and with ``DUOLOGUE_DEBUG=1``
    set, duologue's own errors and its bugs (to show where they come from)."""
    from duologue.cli.edges import answered_here
    from duologue.errors import DuologueError, os_error_message
    from duologue.visible import printable  # a message may quote a hostile name or path

    if answered_here(error):  # Ctrl-C, a closed pipe: the same for every command
        return None
    debug = os.environ.get("DUOLOGUE_DEBUG") == "1"
    if isinstance(error, DuologueError):
        return None if debug else (f"error: {printable(error.message)}", error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        return "error: interrupted.", 130
    if isinstance(error, OSError) and not debug:  # a full disk, a read-only folder...
        return f"error: {printable(os_error_message(error))}", 1
    if isinstance(error, Exception):  # a bug in duologue: still one sentence, not a traceback
        if debug:
            return None
        return (
            f"error: duologue failed unexpectedly ({type(error).__name__}: "
            f"{printable(str(error))}); "
            "run again with DUOLOGUE_DEBUG=1 to see where, and please report it.",
            1,
        )
    return None


def workspace_here() -> Settings:
    """The workspace around the current folder, after repairing an interrupted publish or
    sync; refused when a sparse checkout hides part of it."""
    from duologue.git.sparse import refuse_hidden_files
    from duologue.git.transaction import repair_if_interrupted
    from duologue.workspace import open_workspace

    settings = open_workspace()
    repaired = repair_if_interrupted(settings.root)
    if repaired:
        from duologue.visible import printable

        print(f"note: {printable(repaired)}", file=sys.stderr, flush=True)
    refuse_hidden_files(settings.root)
    return settings
