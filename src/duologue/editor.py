"""Opening a new draft in the user's editor, only when a person is at a terminal."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from duologue.errors import InvalidInput


def maybe_open_editor(path: Path) -> None:
    """Run ``$VISUAL``/``$EDITOR`` on ``path`` when stdin and stdout are a terminal."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not command or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    try:
        argv = shlex.split(command)
        subprocess.run([*argv, str(path)], check=False)
    except (OSError, ValueError) as error:
        raise InvalidInput(
            f"could not start your editor {command!r} ({error}); the draft is saved at {path}, "
            "open it yourself or fix $EDITOR."
        ) from None
