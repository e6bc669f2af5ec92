"""Making ``publish`` all or nothing, even when the process is killed midway.

Before the branch moves, publish writes a small journal under the git dir naming
the old and new commits and the files it touches. Every duologue command that
writes takes the workspace lock and first finishes or undoes an interrupted
publish: if the branch holds the new commit the remaining steps are completed
(roll forward); if it still holds the old one the half-written post is removed
(roll back). The draft is only ever removed after the commit that holds its text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from duologue.files import write_atomic
from duologue.gitops import Repository
from duologue.lock import workspace_lock
from duologue.repair import JOURNAL_NAME


@dataclass(frozen=True, slots=True)
class PublishJournal:
    branch: str
    old: str | None
    new: str
    post_path: str
    """Relative to the repository root."""
    post_sha256: str
    draft_path: str
    draft_sha256: str


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def journal_path(repo: Repository) -> Path:
    return repo.git_dir / JOURNAL_NAME


def write_journal(repo: Repository, journal: PublishJournal) -> None:
    write_atomic(journal_path(repo), json.dumps(asdict(journal), indent=2))


def clear_journal(repo: Repository) -> None:
    with contextlib.suppress(FileNotFoundError):
        journal_path(repo).unlink()


def fault_point(step: str) -> None:
    """Test hook: ``DUOLOGUE_FAULT=<step>`` kills this process right here, as a crash would.
    The fault-injection tests use it to prove every step is recoverable."""
    if os.environ.get("DUOLOGUE_FAULT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _file_sha(path: Path) -> str | None:
    try:
        return sha256_of(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError):
        return None


def finish_publish(repo: Repository, journal: PublishJournal) -> None:
    """The steps after the branch moved: index, draft removal, journal."""
    post = repo.root / journal.post_path
    if _file_sha(post) is None:
        write_atomic(post, repo.read_blob(journal.new, journal.post_path))
    fault_point("after-post-restored")
    repo.stage_paths(
        {
            journal.post_path: repo.blob_sha(journal.new, journal.post_path),
            journal.draft_path: None,
        }
    )
    fault_point("after-stage")
    draft = repo.root / journal.draft_path
    if _file_sha(draft) == journal.draft_sha256:
        draft.unlink()
    fault_point("after-draft-removed")
    clear_journal(repo)


def recover(repo: Repository) -> str | None:
    """Finish or undo an interrupted publish; a sentence saying which, or None."""
    path = journal_path(repo)
    if not path.exists():
        return None
    try:
        journal = PublishJournal(**json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError):
        clear_journal(repo)
        return None
    current = repo.resolve(journal.branch)
    if current == journal.new:
        finish_publish(repo, journal)
        return f"finished an interrupted publish of {journal.post_path}."
    post = repo.root / journal.post_path
    untracked = not (current and repo.in_tree(current, journal.post_path))
    if untracked and _file_sha(post) == journal.post_sha256:
        post.unlink()
    clear_journal(repo)
    return f"undid an interrupted publish of {journal.post_path}; the draft is untouched."


def recover_interrupted(repo: Repository) -> str | None:
    """Finish or undo an interrupted publish or sync (the lock held); what was done."""
    from duologue.sync_journal import recover_sync

    done = [m for m in (recover(repo), recover_sync(repo)) if m]
    return " ".join(done) or None


@contextmanager
def exclusive(repo: Repository) -> Iterator[Repository]:
    """Hold the workspace lock, after repairing any interrupted publish or sync."""
    with workspace_lock(repo.git_dir):
        recover_interrupted(repo)
        yield repo
