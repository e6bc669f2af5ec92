"""Making ``publish`` all or nothing, even when the process is killed midway.

Before the branch moves, publish writes a small journal in the git folder naming
the old and new commits and the files it touches. Every duologue command that
writes enters through ``duologue.git.transaction``, which takes the workspace lock and
first finishes or undoes an interrupted publish: if the branch holds the new commit the remaining steps are completed
(roll forward); if it still holds the old one the half-written post is removed
(roll back). The draft is only ever removed after the commit that holds its text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from duologue.faults import fault_point
from duologue.files import relative, sweep_temp_files, write_atomic
from duologue.git.folder import JOURNAL_NAME
from duologue.git.records import well_typed
from duologue.git.repository import Repository


@dataclass(frozen=True, slots=True)
class PublishJournal:
    branch: str
    old: str | None
    new: str | None
    """None until the commit object exists (the post file is written, and the commit hooks
    run, before it): recovery then always rolls back."""
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


def _file_sha(path: Path) -> str | None:
    try:
        return sha256_of(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError):
        return None


def finish_publish(repo: Repository, journal: PublishJournal) -> str | None:
    """The steps after the branch moved: index, draft removal, journal. Returns a sentence
    when the draft had to be left where it was (its folder would not let it go): the post is
    committed, so the leftover is only a copy, and no later command tries again."""
    assert journal.new is not None
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
    left: str | None = None
    if _file_sha(draft) == journal.draft_sha256:
        try:
            draft.unlink()
        except OSError as error:
            left = (
                f"{journal.post_path} is committed, but its draft {journal.draft_path} could not "
                f"be removed ({error.strerror}); the draft is only a copy of the published "
                "post now, so delete it by hand once its folder is writable."
            )
    fault_point("after-draft-removed")
    clear_journal(repo)
    return left


def sweep_after(repo: Repository, journal: PublishJournal | None) -> None:
    """Remove the temporary files killed duologue processes left: in the git folder, at the
    workspace root, in every series and drafts folder, and (old-style names included) beside
    the files an interrupted publish was writing."""
    repo.sweep_temporary_files()
    sweep_temp_files(repo.git_dir)
    folders = {repo.root}
    for top in ("series", "drafts"):
        folder = repo.root / top
        folders.add(folder)
        with contextlib.suppress(OSError):
            folders.update(entry for entry in folder.iterdir() if entry.is_dir())
    named: dict[Path, set[str]] = {}
    if journal is not None:
        for rel in (journal.post_path, journal.draft_path):
            path = repo.root / rel
            named.setdefault(path.parent, set()).add(path.name)
            folders.add(path.parent)
    for folder in folders:
        if folder.is_symlink():
            continue
        sweep_temp_files(folder, frozenset(named.get(folder, ())))


def recover(repo: Repository) -> str | None:
    """Finish or undo an interrupted publish; a sentence saying which, or None."""
    path = journal_path(repo)
    if not path.exists():
        return None
    try:
        journal = PublishJournal(**json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError):
        journal = None
    if journal is None or not well_typed(journal):
        clear_journal(repo)
        return None
    current = repo.resolve(journal.branch)
    if journal.new is not None and current == journal.new:
        left = finish_publish(repo, journal)
        sweep_after(repo, journal)
        done = f"finished an interrupted publish of {journal.post_path}."
        return f"{done} {left}" if left else done
    post = repo.root / journal.post_path
    untracked = not (current and repo.in_tree(current, journal.post_path))
    kept = ""
    if untracked and _file_sha(post) == journal.post_sha256:
        try:
            post.unlink()
        except OSError as error:
            # Never a loop: say so once, and let the person remove it.
            kept = (
                f" The half-written {relative(post, repo.root)} could not be removed "
                f"({error.strerror}): it is not committed, so delete it by hand."
            )
    clear_journal(repo)
    sweep_after(repo, journal)
    return f"undid an interrupted publish of {journal.post_path}; the draft is untouched.{kept}"
