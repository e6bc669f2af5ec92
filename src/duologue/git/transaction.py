"""The way into the clone for every command that changes it.

``changing`` opens the repository, holds the workspace lock and, before the command does
anything, finishes or undoes a ``publish`` or ``sync`` that a crash interrupted (see
``publish_journal`` and ``sync_journal``). ``repair_if_interrupted`` does the same repair
for read-only commands and costs two ``stat`` calls when there is nothing to repair.
``build_lock`` is the build's lock: the same file, taken without opening the repository,
so a build neither loads GitPython nor interleaves its writes with another build's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.git.folder import JOURNAL_NAME, SYNC_JOURNAL_NAME, find_git_dir

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import Repository


@contextmanager
def changing(root: Path, *, whole_repository: bool = False) -> Iterator[Repository]:
    """The repository holding the workspace at ``root``, the lock held and any interrupted
    publish or sync repaired. ``whole_repository`` refuses a workspace that is not the
    top of its repository (``sync`` moves the whole work tree)."""
    from duologue.git.publish_journal import sweep_after

    with locked(root, whole_repository=whole_repository) as repo:
        if recover_interrupted(repo) is None:
            sweep_after(repo, None)
        yield repo


@contextmanager
def locked(root: Path, *, whole_repository: bool = False) -> Iterator[Repository]:
    """The repository holding ``root`` with the lock held and nothing repaired: for
    ``init`` and ``series new``, which run before (or instead of) any publish."""
    from duologue.errors import GitFailure
    from duologue.git.lock import workspace_lock
    from duologue.git.repository import Repository

    repo = Repository(root)
    if whole_repository and repo.root.resolve() != root.resolve():
        raise GitFailure("sync needs the workspace at the root of its git repository.")
    with workspace_lock(repo.git_dir):
        yield repo


def build_lock(root: Path) -> AbstractContextManager[object]:
    """The workspace lock for a build, or nothing to hold outside any repository."""
    folder = find_git_dir(root)
    if folder is None:
        return nullcontext()
    from duologue.git.lock import workspace_lock

    return workspace_lock(folder)


def repair_if_interrupted(root: Path) -> str | None:
    """Repair an interrupted publish or sync of the workspace at ``root``; a sentence
    saying what was done, or None."""
    git_dir = find_git_dir(root)
    if git_dir is None or not (
        (git_dir / JOURNAL_NAME).exists() or (git_dir / SYNC_JOURNAL_NAME).exists()
    ):
        return None
    with locked(root) as repo:
        return recover_interrupted(repo)


def recover_interrupted(repo: Repository) -> str | None:
    """Finish or undo an interrupted publish, then an interrupted sync (the lock held);
    what was done, or None."""
    from duologue.git.publish_journal import recover
    from duologue.git.sync_journal import recover_sync

    done = [message for message in (recover(repo), recover_sync(repo)) if message]
    return " ".join(done) or None
