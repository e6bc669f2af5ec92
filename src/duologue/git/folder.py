"""The git folder of a workspace, found without GitPython: a few ``stat`` calls.

The quick commands (``build``, ``status``) and the repair check that runs before every
read-only command need the git folder before they know whether to open the repository
at all. It is the nearest ``.git`` at or above the workspace — a folder, or a file that
points to one (``gitdir: …``, as worktrees and submodules write) — which is where
GitPython's ``search_parent_directories`` finds it too, so a workspace that ``init``
made in a subfolder of a repository takes the same lock, journals and cache in every
command. It imports nothing but ``contextlib`` and ``pathlib``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

DOT_GIT = ".git"

# What duologue keeps in the git folder, where git never looks and no commit carries it.
LOCK_NAME = "duologue.lock"
"""The lock every command that changes the clone (and the build) holds: ``duologue.lock``."""
JOURNAL_NAME = "duologue-publish.json"
"""An interrupted ``publish``'s journal (``duologue.git.publish_journal``)."""
SYNC_JOURNAL_NAME = "duologue-sync.json"
"""An interrupted ``sync``'s journal (``duologue.git.sync_journal``)."""
STATE_FOLDER = "duologue"
"""The build cache's folder."""


def find_git_dir(root: Path) -> Path | None:
    """The git folder of the repository holding ``root``, or None outside any."""
    for folder in (root, *root.parents):
        dot_git = folder / DOT_GIT
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            return _pointed_to(dot_git)
    return None


def owns_git_dir(root: Path) -> bool:
    """``root`` is the top of its repository's work tree (its ``.git`` is its own)."""
    return (root / DOT_GIT).exists()


def _pointed_to(dot_git: Path) -> Path | None:
    """The folder a ``.git`` file names (``gitdir: <path>``, relative to the file)."""
    with contextlib.suppress(OSError, UnicodeDecodeError, IndexError):
        first = dot_git.read_text("utf-8").splitlines()[0]
        if first.startswith("gitdir:"):
            target = Path(first.removeprefix("gitdir:").strip())
            target = target if target.is_absolute() else dot_git.parent / target
            if target.is_dir():
                return target
    return None
