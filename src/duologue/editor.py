"""Opening a new draft in the user's editor, only when a person is at a terminal."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path


def maybe_open_editor(path: Path) -> None:
    """Run ``$VISUAL``/``$EDITOR`` on ``path`` when stdin and stdout are a terminal."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not command or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    subprocess.run([*shlex.split(command), str(path)], check=False)
