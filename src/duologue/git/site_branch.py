"""The built site as one commit on a branch of its own (``gh-pages``), with git plumbing:
a temporary index filled from the output folder, ``write-tree``, ``commit-tree`` on the
branch's previous tip and ``update-ref`` that moves the branch only from where it was.
The work tree, the index and HEAD are never touched, and nothing is ever force-pushed:
each deploy is a child of the one before, as ghp-import's ``--no-history`` is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from duologue.errors import GitFailure
from duologue.git.failures import explained
from duologue.git.repository import Person, Repository


@dataclass(frozen=True, slots=True)
class Deployed:
    branch: str
    commit: str
    """The branch's tip now."""
    made: bool
    """False when the site was the same as the previous deploy's: no commit was made."""


def commit_site(
    repo: Repository,
    folder: Path,
    branch: str,
    extra: dict[str, bytes],
    message: str,
    moment: datetime,
    parent: str | None,
) -> Deployed:
    """Record ``folder`` (plus ``extra`` files at its top) as one commit on ``branch``
    whose parent is ``parent``; no commit when the tree is ``parent``'s already."""
    ref = f"refs/heads/{branch}"
    with repo.temporary_index() as env:
        with explained("record the built site in a temporary index"):
            # One `git add` of the whole folder: git hashes 10,000 files in C. The settings
            # that could make the tree depend on the machine are pinned.
            repo.run(
                "-c", "core.autocrlf=false", "-c", "core.safecrlf=false",
                "-c", "core.fileMode=true",
                f"--work-tree={folder}", "add", "--all", "--force", "--", ".",
                env=env,
            )  # fmt: skip
            for name, data in sorted(extra.items()):
                sha = repo.store_blob(data)
                repo.run("update-index", "--add", "--cacheinfo", f"100644,{sha},{name}", env=env)
        tree = repo.write_tree(env)
    if parent is not None and repo.tree_of(parent) == tree:
        return Deployed(branch, parent, made=False)
    committer = repo.committer()
    stamp = f"@{int(moment.timestamp())} +0000"  # git's raw form: read the same anywhere
    new = repo.make_commit(
        tree,
        [parent] if parent else [],
        message,
        Person(committer.name, committer.email),
        author_date=stamp,
        committer=committer,
        committer_date=stamp,
        sign=False,  # a signature carries its own time: the commit would differ each run
    )
    old = repo.resolve(ref)
    if old is not None and old != parent:
        raise GitFailure(f"{branch} moved while the site was recorded; deploy again.")
    repo.move_branch(ref, new, old, f"duologue: {message}")
    return Deployed(branch, new, made=True)
