"""Before a read-only command looks at the workspace, finish or undo an interrupted
``publish`` or ``sync`` (see ``journal`` and ``sync_journal``). Costs two stats when
there is nothing to repair."""

from __future__ import annotations

from pathlib import Path

from duologue.gitdir import JOURNAL_NAME, SYNC_JOURNAL_NAME, find_git_dir


def repair_if_interrupted(root: Path) -> str | None:
    """A sentence saying what was repaired, or None."""
    git_dir = find_git_dir(root)
    if git_dir is None or not (
        (git_dir / JOURNAL_NAME).exists() or (git_dir / SYNC_JOURNAL_NAME).exists()
    ):
        return None
    from duologue.gitops import Repository
    from duologue.journal import recover_interrupted
    from duologue.lock import workspace_lock

    repo = Repository(root)
    with workspace_lock(repo.git_dir):
        return recover_interrupted(repo)
