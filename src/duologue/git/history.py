"""Reading commits and their trees from git objects alone: what ``verify`` needs, in a
clone or in a bare repository (a shared remote's ``pre-receive`` hook has no work tree).

Everything is read through one ``git cat-file --batch`` that GitPython keeps open, plus
one ``diff-tree`` or ``ls-tree`` where a commit's changes or a folder are asked for: the
cost follows the commits asked about, never the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from duologue.errors import GitFailure, InvalidInput
from duologue.git.repository import (
    EMPTY_TREE,
    QUIET_ENV,
    TreeChange,
    parse_trailers,
    parse_tree_changes,
)

MAX_RANGE_COMMITS = 100_000
"""Commits one verify reads at the most: a push of more is refused rather than read."""
MAX_BLOB_BYTES = 4 * 1024 * 1024
"""A file verify reads whole at the most (a post, a series.toml): larger is refused."""
REGULAR_FILE_MODES = ("100644", "100755")


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit as verify reads it."""

    sha: str
    parents: tuple[str, ...]
    author_email: str
    subject: str
    trailers: dict[str, str]

    @property
    def short(self) -> str:
        return self.sha[:10]


class History:
    """A repository's objects, bare or not."""

    def __init__(self, path: Path) -> None:
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise GitFailure(
                f"{path} is not inside a git repository; run verify in a clone or a bare "
                "repository."
            ) from None
        self.bare = self._repo.bare
        self.git_dir = Path(self._repo.git_dir)
        self.top = None if self.bare else Path(str(self._repo.working_tree_dir))

    def close(self) -> None:
        self._repo.close()

    def run(self, *args: str) -> str:
        return str(
            self._repo.git.execute(
                ["git", *args], env=dict(QUIET_ENV), strip_newline_in_stdout=False
            )
        )

    def resolve(self, rev: str) -> str | None:
        try:
            return self.run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}").strip() or None
        except GitCommandError:
            return None

    def has_object(self, sha: str) -> bool:
        try:
            self.run("cat-file", "-e", sha)
        except GitCommandError:
            return False
        return True

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.run("merge-base", "--is-ancestor", ancestor, descendant)
        except GitCommandError:
            return False
        return True

    def current_branch(self) -> str | None:
        try:
            return self.run("symbolic-ref", "-q", "HEAD").strip() or None
        except GitCommandError:
            return None

    def remote_default_branches(self) -> set[str]:
        """The branches (``refs/heads/x``) the clone's remotes publish from, as their
        ``refs/remotes/<remote>/HEAD`` say (``git clone`` sets it); ``main`` and ``master``
        when no remote says."""
        out = self.run("for-each-ref", "--format=%(refname)%09%(symref)", "refs/remotes/")
        found: set[str] = set()
        for line in out.splitlines():
            name, _, target = line.partition("\t")
            if name.endswith("/HEAD") and target:
                remote = name.removeprefix("refs/remotes/").removesuffix("/HEAD")
                found.add("refs/heads/" + target.removeprefix(f"refs/remotes/{remote}/"))
        return found or {"refs/heads/main", "refs/heads/master"}

    def upstream(self) -> str | None:
        """The current branch's upstream (``refs/remotes/origin/main``), if it has one."""
        try:
            return (
                self.run("rev-parse", "-q", "--symbolic-full-name", "@{upstream}").strip() or None
            )
        except GitCommandError:
            return None

    def commits(self, *revisions: str) -> list[Commit]:
        """The commits ``git rev-list`` gives for ``revisions``, oldest first (parents
        before children)."""
        try:
            out = self.run(
                "log",
                "--reverse",
                "--topo-order",
                f"--max-count={MAX_RANGE_COMMITS + 1}",
                "--format=%x1e%H%x1f%P%x1f%ae%x1f%s%x1f%B",
                *revisions,
                "--",
            )
        except GitCommandError as error:
            shown = " ".join(revisions)
            reason = (error.stderr or "").strip().splitlines()
            why = f" ({reason[0].removeprefix('fatal: ')})" if reason else ""
            raise InvalidInput(
                f"{shown!r} is not a revision range git knows{why}; give one like "
                "origin/main..HEAD."
            ) from None
        found: list[Commit] = []
        for record in out.split("\x1e"):
            if "\x1f" not in record:
                continue
            sha, parents, email, subject, body = record.split("\x1f", 4)
            found.append(Commit(sha, tuple(parents.split()), email, subject, parse_trailers(body)))
        if len(found) > MAX_RANGE_COMMITS:
            raise InvalidInput(
                f"the range holds more than {MAX_RANGE_COMMITS:,} commits; verify a shorter one."
            )
        return found

    def changes(self, parent: str | None, commit: str) -> list[TreeChange]:
        """Every path ``commit`` changed against ``parent`` (None: the empty tree), without
        rename detection: a rename is a deletion and an addition."""
        out = self.run("diff-tree", "-r", "-z", "--no-renames", parent or EMPTY_TREE, commit)
        return parse_tree_changes(out)

    def tree_of(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").strip()

    def merged_tree(self, one: str, other: str) -> str | None:
        """The tree git's own merge of two commits gives, or None when it cannot merge them
        by itself (a conflict; histories that share nothing)."""
        try:
            out = self.run("merge-tree", "--write-tree", "--no-messages", one, other)
        except GitCommandError as error:
            if "--write-tree" in str(error.stderr) or "usage: git merge-tree" in str(error.stderr):
                raise GitFailure(
                    "verify judges a merge with `git merge-tree --write-tree`, which needs git "
                    "2.38 or later; update git and verify again."
                ) from None
            return None
        return out.split("\n", 1)[0].strip() or None

    def entries(self, commit: str, folder: str) -> dict[str, tuple[str, str]]:
        """Name → (mode, sha) of what lies directly in ``folder`` at ``commit``."""
        if commit == EMPTY_TREE:
            return {}
        try:
            out = self.run("ls-tree", "-z", commit, "--", folder.rstrip("/") + "/")
        except GitCommandError:  # a commit this repository does not have
            return {}
        found: dict[str, tuple[str, str]] = {}
        for record in out.split("\0"):
            meta, tab, path = record.partition("\t")
            if tab:
                mode, _kind, sha = meta.split()
                found[path.rsplit("/", 1)[-1]] = (mode, sha)
        return found

    def entry(self, commit: str, path: str) -> tuple[str, str] | None:
        """(mode, sha) of ``path`` at ``commit``, or None: one ``ls-tree`` of that path
        alone, whatever else its folder holds."""
        try:
            out = self.run("ls-tree", "-z", commit, "--", path)
        except GitCommandError:  # a commit this repository does not have
            return None
        for record in out.split("\0"):
            meta, tab, name = record.partition("\t")
            if tab and name == path:
                mode, _kind, sha = meta.split()
                return mode, sha
        return None

    def blob(self, sha: str, shown: str) -> bytes:
        """The blob ``sha``, bounded: ``InvalidInput`` naming ``shown`` when it is too big."""
        try:
            info = self._repo.odb.info(bytes.fromhex(sha))
        except (ValueError, BadName, GitCommandError):
            raise InvalidInput(f"{shown}: git has no object {sha[:10]}.") from None
        if info.size > MAX_BLOB_BYTES:
            raise InvalidInput(
                f"{shown}: is {info.size:,} bytes, more than verify reads "
                f"({MAX_BLOB_BYTES // (1024 * 1024)} MiB)."
            )
        return bytes(self._repo.odb.stream(bytes.fromhex(sha)).read())
