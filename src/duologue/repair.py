"""Before a read-only command looks at the workspace, finish or undo an interrupted
``publish`` (see ``journal``). Costs one stat when there is nothing to repair."""

from __future__ import annotations

from pathlib import Path

JOURNAL_NAME = "duologue-publish.json"


def repair_if_interrupted(root: Path) -> str | None:
    """A sentence saying what was repaired, or None."""
    if not (root / ".git" / JOURNAL_NAME).exists():
        return None
    from duologue.gitops import Repository
    from duologue.journal import recover
    from duologue.lock import workspace_lock

    repo = Repository(root)
    with workspace_lock(repo.git_dir):
        return recover(repo)
