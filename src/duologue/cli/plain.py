"""What commands share that needs no Typer: the line and exit code a failure gives, and
the workspace around the current folder.

The Typer app (``duologue.cli.base``) reports every failure through ``failure``, and so
does the quick path of a bare ``duologue build`` (``duologue.cli.quick``), which runs
without importing Typer at all.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duologue.model import Settings


def failure(error: BaseException) -> tuple[str, int] | None:
    """``(error line, exit code)`` for what a command raised, or None when it must go on up:
    anything but an ``Exception`` or an interrupt, and with ``DUOLOGUE_DEBUG=1`` set,
    duologue's own errors and its bugs (to show where they come from)."""
    from duologue.errors import DuologueError

    debug = os.environ.get("DUOLOGUE_DEBUG") == "1"
    if isinstance(error, DuologueError):
        return None if debug else (f"error: {error.message}", error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        return "error: interrupted.", 130
    if isinstance(error, OSError) and not debug:
        from duologue.files import describe_os_error

        sentence = describe_os_error(error)  # a full disk, a read-only or unwritable file
        if sentence is not None:
            return f"error: {sentence}", 1
    if isinstance(error, Exception):  # a bug in duologue: still one sentence, not a traceback
        if debug:
            return None
        return (
            f"error: duologue failed unexpectedly ({type(error).__name__}: {error}); "
            "run again with DUOLOGUE_DEBUG=1 to see where, and please report it.",
            1,
        )
    return None


def workspace_here() -> Settings:
    """The workspace around the current folder, after repairing an interrupted publish."""
    from duologue.repair import repair_if_interrupted
    from duologue.workspace import open_workspace

    settings = open_workspace()
    repaired = repair_if_interrupted(settings.root)
    if repaired:
        print(f"note: {repaired}", file=sys.stderr, flush=True)
    return settings
