"""The GitPython boundary: every git call duologue makes lives here.

Commits are built with plumbing through GitPython's command interface (a
temporary index, ``write-tree``, ``commit-tree``, then ``update-ref <branch> <new>
<old>``) because ``index.commit()`` commits as root without an identity, makes
empty commits, ignores ``index.lock`` and moves the branch without checking
where it pointed. Nothing here returns a GitPython object: callers get shas,
paths and duologue's own small dataclasses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError
from gitdb.base import IStream

from duologue.errors import GitFailure, HookFailed, InvalidInput, PushRejected
from duologue.git.failures import (
    check_remote_url,
    explained,
    first_line_of,
    git_failure,
    hook_output_text,
    local_cause,
    remote_failure,
    stderr_text,
)

# GitPython logs push errors as warnings; we report them ourselves, in one sentence.
logging.getLogger("git").addHandler(logging.NullHandler())
logging.getLogger("git").propagate = False

ZERO_SHA = "0" * 40
TEMP_INDEX_PREFIX = "duologue-index-"
"""Temporary index files (``.git/duologue-index-<pid>-<random>``) made while building a tree."""
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""git's well-known empty tree (the "parent" of a root commit)."""
NETWORK_TIMEOUT_SECONDS = 120.0
# Never wait on a password prompt; ssh must fail rather than ask.
QUIET_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GCM_INTERACTIVE": "never",
    # Defence in depth behind check_remote_url: git itself refuses other transports.
    "GIT_ALLOW_PROTOCOL": "file:https:ssh",
}
BATCH_SSH = "ssh -o BatchMode=yes"
"""ssh that fails instead of asking for a password, unless the user chose their own ssh."""
TRAILER = re.compile(r"^(?P<key>Duologue-[A-Za-z-]+):\s*(?P<value>.*)$", re.M)


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What duologue needs to know about one commit."""

    sha: str
    subject: str
    trailers: dict[str, str]
    added: tuple[str, ...] = ()
    """Paths the commit added (relative to the repository root)."""
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


class Repository:
    """One git repository, opened once per command."""

    def __init__(self, path: Path) -> None:
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise GitFailure(
                f"{path} is not inside a git repository; run `duologue init` there first."
            ) from None
        if self._repo.working_tree_dir is None:
            raise GitFailure(f"{path} is a bare repository; duologue needs a working tree.")
        self.root = Path(self._repo.working_tree_dir)
        self.git_dir = Path(self._repo.git_dir)

    # -- low level -------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        strip: bool = True,
    ) -> str:
        """``git <args>``; raises ``GitCommandError``. Output as text."""
        merged = dict(QUIET_ENV)
        if env:
            merged.update(env)
        result = self._repo.git.execute(
            ["git", *args],
            env=merged,
            kill_after_timeout=timeout,
            strip_newline_in_stdout=strip,
        )
        return str(result)

    def network_env(self) -> dict[str, str]:
        """QUIET_ENV plus a batch-mode ssh when the user has not configured one."""
        env = dict(QUIET_ENV)
        if not (
            os.environ.get("GIT_SSH_COMMAND")
            or os.environ.get("GIT_SSH")
            or self.config("core.sshCommand")
        ):
            env["GIT_SSH_COMMAND"] = BATCH_SSH
        return env

    def try_run(self, *args: str, env: Mapping[str, str] | None = None) -> str | None:
        try:
            return self.run(*args, env=env)
        except GitCommandError:
            return None

    # -- state -----------------------------------------------------------------------------

    def config(self, key: str) -> str | None:
        value = self.try_run("config", "--get", key)
        return value.strip() if value else None

    def user_email(self) -> str | None:
        return os.environ.get("GIT_COMMITTER_EMAIL") or self.config("user.email")

    def committer(self) -> Person:
        """git's own identity; a clear error when it is missing."""
        name = os.environ.get("GIT_COMMITTER_NAME") or self.config("user.name")
        email = self.user_email()
        if not name or not email:
            raise GitFailure(
                'git does not know who you are: run `git config user.name "Your Name"` and '
                "`git config user.email you@example.com` in this repository, then try again."
            )
        return Person(name, email)

    def branch(self) -> str:
        """The current branch's full ref; refuses a detached HEAD."""
        ref = self.try_run("symbolic-ref", "-q", "HEAD")
        if not ref:
            raise GitFailure(
                "HEAD is detached (not on a branch); run `git switch <branch>` first, "
                "then try again."
            )
        return ref.strip()

    def head(self) -> str | None:
        """The sha HEAD points at, or None on a branch with no commits yet."""
        value = self.try_run("rev-parse", "-q", "--verify", "HEAD^{commit}")
        return value.strip() if value else None

    def resolve(self, rev: str) -> str | None:
        value = self.try_run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}")
        return value.strip() if value else None

    def operation_in_progress(self) -> str | None:
        markers = {
            "MERGE_HEAD": "a merge",
            "rebase-merge": "a rebase",
            "rebase-apply": "a rebase or am",
            "CHERRY_PICK_HEAD": "a cherry-pick",
            "REVERT_HEAD": "a revert",
            "BISECT_LOG": "a bisect",
        }
        for marker, what in markers.items():
            if (self.git_dir / marker).exists():
                return what
        return None

    def preflight(self) -> str:
        """Everything that must hold before duologue writes; returns the branch ref."""
        busy = self.operation_in_progress()
        if busy:
            raise GitFailure(
                f"git is in the middle of {busy}; finish it or abort it (e.g. `git rebase "
                "--abort`) before running duologue."
            )
        if (self.git_dir / "index.lock").exists():
            raise GitFailure(
                "another git process is running here (.git/index.lock exists); wait for it, "
                "or remove the lock if no git is running."
            )
        return self.branch()

    def changed_paths(self, *pathspecs: str) -> list[str]:
        """Paths under ``pathspecs`` whose work-tree state differs from HEAD: modified,
        staged, deleted or untracked (not ignored)."""
        out = self.run(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--",
            *pathspecs,
            strip=False,
        )
        entries = out.split("\0")
        found: list[str] = []
        index = 0
        while index < len(entries):
            entry = entries[index]
            index += 1
            if len(entry) < 4:
                continue
            found.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy is followed by its source path
                index += 1
        return found

    def in_tree(self, rev: str, path: str) -> bool:
        return self.try_run("cat-file", "-e", f"{rev}:{path}") is not None

    def read_blob(self, rev: str, path: str) -> bytes:
        out = self._repo.git.execute(
            ["git", "cat-file", "blob", f"{rev}:{path}"],
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=QUIET_ENV,
        )
        return bytes(out)

    def list_tree(self, rev: str, folder: str) -> list[str]:
        out = self.try_run("ls-tree", "-r", "--name-only", "-z", rev, "--", folder)
        return [p for p in (out or "").split("\0") if p]

    # -- writing commits -------------------------------------------------------------------

    def store_blob(self, data: bytes) -> str:
        stream = IStream(b"blob", len(data), BytesIO(data))
        return str(self._repo.odb.store(stream).hexsha.decode("ascii"))

    @contextmanager
    def _temporary_index(self) -> Iterator[dict[str, str]]:
        """An environment pointing git at a fresh index file, removed afterwards."""
        handle, index_path = tempfile.mkstemp(
            prefix=f"{TEMP_INDEX_PREFIX}{os.getpid()}-", dir=self.git_dir
        )
        os.close(handle)
        os.unlink(index_path)  # git wants to create it itself
        try:
            yield {"GIT_INDEX_FILE": index_path}
        finally:
            if os.path.exists(index_path):
                os.unlink(index_path)

    def build_tree(self, base: str | None, changes: Mapping[str, bytes | None]) -> str:
        """The tree of ``base`` with ``changes`` applied (None removes), via a temporary index."""
        with self.staged_index(base, changes) as env:
            return self.write_tree(env)

    @contextmanager
    def temporary_index(self) -> Iterator[dict[str, str]]:
        """The environment of a fresh, empty index of our own (the real one untouched)."""
        with self._temporary_index() as env:
            yield env

    @contextmanager
    def staged_index(
        self, base: str | None, changes: Mapping[str, bytes | None]
    ) -> Iterator[dict[str, str]]:
        """A temporary index holding ``base`` with ``changes`` applied: the environment that
        points git (and the commit hooks) at it, as ``git commit <paths>`` does."""
        with self._temporary_index() as env:
            with explained("stage the new files in a temporary index"):
                if base:
                    self.run("read-tree", base, env=env)
                else:
                    self.run("read-tree", "--empty", env=env)
                for path, data in changes.items():
                    if data is None:
                        self.run("update-index", "--force-remove", "--", path, env=env)
                    else:
                        sha = self.store_blob(data)
                        self.run(
                            "update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", env=env
                        )
            yield env

    def write_tree(self, env: Mapping[str, str]) -> str:
        """The tree object of the (temporary) index ``env`` points at."""
        with explained("write the commit's tree to .git/objects"):
            return self.run("write-tree", env=env).strip()

    # -- what `git commit` honours: hooks and signing -------------------------------------

    def hook_path(self, name: str) -> Path | None:
        """The executable hook ``name`` as git would run it (core.hooksPath honoured)."""
        found = self.try_run("rev-parse", "--git-path", f"hooks/{name}")
        if not found:
            return None
        path = Path(found.strip())
        path = path if path.is_absolute() else self.root / path
        return path if path.is_file() and os.access(path, os.X_OK) else None

    def refuse_paths_git_refuses(self, commit: str) -> None:
        """Raise ``GitFailure`` when ``commit``'s tree holds a path git itself would not
        check out: ``.git`` in any spelling (``.GIT``, ``.git ``, the NTFS short name
        ``git~1``; HFS's forms where core.protectHFS is on, as on macOS), ``..``.
        ``read-tree -n`` applies git's own rules without writing an index, so the list is
        git's, not ours to keep up to date. (A name held twice, as a file and a folder,
        passes it: ``sync_journal`` refuses that.)"""
        try:
            self.run("read-tree", "-n", commit)
        except GitCommandError as error:
            invalid = re.search(r"invalid path '(?P<path>[^'\n]*)'", str(error.stderr))
            if invalid is None:
                raise git_failure(error, "read the incoming commit's tree") from None
            raise GitFailure(
                f"the remote's history holds a file named {invalid['path']!r}, which git "
                "itself would not check out; nothing was changed. Ask your co-author to "
                "remove it."
            ) from None

    def run_hook(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run the hook ``name`` as git runs it (in the work tree's root, no input); its
        output. Raises ``HookFailed`` with that output when it exits non-zero."""
        import subprocess

        path = self.hook_path(name)
        if path is None:
            return ""
        merged = {**os.environ, "GIT_EDITOR": ":", **(env or {})}
        try:
            done = subprocess.run(
                [str(path), *args],
                cwd=self.root,
                env=merged,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except OSError as error:
            raise HookFailed(
                f"the {name} hook ({path}) could not be run ({error.strerror}); fix it or "
                "make it executable, or skip the hooks with --no-verify."
            ) from None
        output = done.stdout.decode("utf-8", "replace")
        if done.returncode != 0:
            said = hook_output_text(output)
            raise HookFailed(
                f"the {name} hook refused the commit (exit status {done.returncode}), so "
                "nothing was changed; fix what it reports, or skip the hooks with --no-verify."
                + (" It said:" if said else " It printed nothing."),
                detail=said,
            )
        return output

    def commit_hooks(self, env: Mapping[str, str], message: str, verify: bool) -> tuple[str, str]:
        """What ``git commit -m`` runs before it commits the index ``env`` names: pre-commit
        and commit-msg (unless ``verify`` is False, as ``--no-verify``), prepare-commit-msg
        always. Returns the message as the hooks left it, and their output."""
        outputs: list[str] = []
        if verify:
            outputs.append(self.run_hook("pre-commit", env=env))
        names = ("prepare-commit-msg", "commit-msg") if verify else ("prepare-commit-msg",)
        if not any(self.hook_path(name) for name in names):
            return message, "".join(outputs)
        from duologue.files import write_atomic

        message_file = self.git_dir / "COMMIT_EDITMSG"  # where git commit keeps it too
        write_atomic(message_file, message)
        outputs.append(self.run_hook("prepare-commit-msg", str(message_file), "message", env=env))
        if verify:
            outputs.append(self.run_hook("commit-msg", str(message_file), env=env))
        try:
            edited = message_file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise HookFailed(
                f"the commit message the hooks left in {message_file} cannot be read ({error}); "
                "nothing was changed."
            ) from None
        # git's "whitespace" clean-up for a message given with -m.
        lines = [line.rstrip() for line in edited.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if not lines:
            raise HookFailed(
                "the commit-msg hook left an empty commit message, so nothing was changed; "
                "fix the hook, or skip the hooks with --no-verify."
            )
        return "\n".join(lines) + "\n", "".join(outputs)

    def wants_signature(self) -> bool:
        """``commit.gpgSign`` as ``git commit`` reads it (``git commit-tree`` ignores it)."""
        value = self.try_run("config", "--type=bool", "--get", "commit.gpgSign")
        return (value or "").strip() == "true"

    def tree_of(self, rev: str) -> str:
        return self.run("rev-parse", f"{rev}^{{tree}}").strip()

    def make_commit(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: Person,
        author_date: str | None = None,
        committer: Person | None = None,
        sign: bool | None = None,
        committer_date: str | None = None,
    ) -> str:
        """A commit object (no ref moves); signed when ``sign`` is True, or when it is None
        and ``commit.gpgSign`` is set, as ``git commit`` would."""
        who = committer or self.committer()
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        if author_date:
            env["GIT_AUTHOR_DATE"] = author_date
        if committer_date:
            env["GIT_COMMITTER_DATE"] = committer_date
        signing = self.wants_signature() if sign is None else sign
        args = ["commit-tree", *(["-S"] if signing else []), tree]
        for parent in parents:
            args += ["-p", parent]
        args += ["-m", message]
        with explained("write the commit", signing=signing):
            return self.run(*args, env=env).strip()

    def move_branch(self, branch: str, new: str, old: str | None, reason: str) -> None:
        """Point ``branch`` at ``new`` only if it still points at ``old`` (compare and swap)."""
        short = branch.removeprefix("refs/heads/")
        with explained(f"move the branch {short} to the new commit", ref_update=True):
            self.run("update-ref", "-m", reason, branch, new, old or ZERO_SHA)

    def stage_paths(self, changes: Mapping[str, str | None]) -> None:
        """Make the real index agree with HEAD for just these paths (blob sha or None)."""
        with explained("update the index (.git/index)"):
            self._stage_paths(changes)

    def _stage_paths(self, changes: Mapping[str, str | None]) -> None:
        for path, sha in changes.items():
            if sha is None:
                self.run("update-index", "--force-remove", "--", path)
            elif self.run("hash-object", "--", path).strip() == sha:
                # From the file itself, so the index records its stat data too; --cacheinfo
                # alone leaves the entry looking modified to read-tree and merge.
                self.run("update-index", "--add", "--", path)
            else:
                self.run("update-index", "--add", "--cacheinfo", f"100644,{sha},{path}")

    def blob_sha(self, rev: str, path: str) -> str | None:
        value = self.try_run("rev-parse", "-q", "--verify", f"{rev}:{path}")
        return value.strip() if value else None

    def commit_files(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        author: Person,
        verify: bool = True,
    ) -> str:
        """ONE commit on the current branch holding exactly ``changes``; the index is updated
        for those paths only, so anything else the user staged stays staged and out of it.
        The commit hooks run as for ``git commit`` (``verify=False``: ``--no-verify``)."""
        branch = self.preflight()
        committer = self.committer()
        old = self.head()
        with self.staged_index(old, changes) as env:
            if old and self.write_tree(env) == self.tree_of(old):
                raise GitFailure("there is nothing new to commit.")
            message, _output = self.commit_hooks(env, message, verify)
            tree = self.write_tree(env)
        new = self.make_commit(tree, [old] if old else [], message, author, committer=committer)
        self.move_branch(branch, new, old, f"duologue: {message.splitlines()[0]}")
        self.stage_paths({path: self.blob_sha(new, path) for path in changes})
        self.run_post_commit()
        return new

    def run_post_commit(self) -> str:
        """git runs post-commit after a commit and ignores how it exits; so does duologue."""
        try:
            return self.run_hook("post-commit")
        except HookFailed:
            return ""

    def sweep_temporary_files(self) -> None:
        """Remove the temporary index files duologue processes no longer alive left in the
        git folder (git's own ``.lock`` beside them included)."""
        from duologue.files import process_alive

        try:
            names = os.listdir(self.git_dir)
        except OSError:
            return
        for name in names:
            if not name.startswith(TEMP_INDEX_PREFIX):
                continue
            pid = name.removeprefix(TEMP_INDEX_PREFIX).split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(self.git_dir / name)

    # -- reading history -------------------------------------------------------------------

    def commit_info(self, rev: str) -> CommitInfo:
        out = self.run("show", "-s", "--format=%H%x1f%s%x1f%B", rev)
        sha, subject, body = out.split("\x1f", 2)
        changes = self.run(
            "diff-tree", "--no-commit-id", "-r", "--name-status", "-z", "--root", rev, strip=False
        )
        added: list[str] = []
        removed: list[str] = []
        parts = [p for p in changes.split("\0") if p]
        for status, path in zip(parts[::2], parts[1::2], strict=False):
            if status.startswith("A"):
                added.append(path)
            elif status.startswith("D"):
                removed.append(path)
        return CommitInfo(
            sha=sha,
            subject=subject,
            trailers=parse_trailers(body),
            added=tuple(added),
            removed=tuple(removed),
        )

    def commits_between(self, base: str, tip: str) -> list[str]:
        """Commits reachable from ``tip`` but not ``base``, oldest first."""
        out = self.run("rev-list", "--reverse", "--topo-order", f"{base}..{tip}")
        return [line for line in out.splitlines() if line]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.run("merge-base", "--is-ancestor", ancestor, descendant)
        except GitCommandError:
            return False
        return True

    def merge_base(self, a: str, b: str) -> str | None:
        value = self.try_run("merge-base", a, b)
        return value.strip() if value else None

    def added_by(self, folder: str) -> dict[str, AddedBy]:
        """Path → the commit that added it, for every path under ``folder`` (merges do not
        count: a merge adds nothing of its own)."""
        if self.head() is None:
            return {}
        out = self.run(
            "log",
            "--diff-filter=A",
            "--name-only",
            "-z",
            "--format=%x1e%h%x1f%ae%x1f%(trailers:key=Duologue-Forced,valueonly)%x1f"
            "%(trailers:key=Duologue-Import,valueonly)%x1f",
            "--",
            folder,
            strip=False,
        )
        found: dict[str, AddedBy] = {}
        for record in out.split("\x1e"):
            fields = record.split("\x1f")
            if len(fields) != 5:
                continue
            short, email, forced, imported, files = fields
            paths = [path.strip("\n") for path in files.split("\0") if path.strip("\n")]
            posts = sum(1 for path in paths if path.endswith(".md"))
            forced_flag = forced.strip().lower() == "true"
            added = AddedBy(short, email, forced_flag, bool(imported.strip()), posts)
            for path in paths:
                if path not in found:  # the newest adding commit comes first
                    found[path] = added
        return found

    # -- remotes ---------------------------------------------------------------------------

    def upstream(self, branch: str, remote: str | None) -> tuple[str, str]:
        """(remote name, remote branch ref) to sync with and hand off to."""
        short = branch.removeprefix("refs/heads/")
        configured_remote = self.config(f"branch.{short}.remote")
        name = remote or configured_remote or "origin"
        if name.startswith("-"):
            raise InvalidInput(f"remote name {name!r} starts with '-'; name a real remote.")
        merge = self.config(f"branch.{short}.merge") if name == configured_remote else None
        remotes = (self.try_run("remote") or "").split()
        if name not in remotes:
            hint = f" (remotes here: {', '.join(remotes)})" if remotes else ""
            raise GitFailure(
                f"there is no git remote {name!r}{hint}; add the shared repository with "
                f"`git remote add {name} URL` first."
            )
        url = self.run("remote", "get-url", "--", name).strip()
        check_remote_url(url, name)
        return name, merge or branch

    @staticmethod
    def tracking_ref(remote: str, remote_branch: str) -> str:
        return f"refs/remotes/{remote}/{remote_branch.removeprefix('refs/heads/')}"

    def remote_sha(self, remote: str, remote_branch: str) -> str | None:
        out = self.run(
            "ls-remote",
            "--",
            remote,
            remote_branch,
            timeout=NETWORK_TIMEOUT_SECONDS,
            env=self.network_env(),
        )
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == remote_branch:
                return sha
        return None

    def push(self, remote: str, branch: str, remote_branch: str) -> str:
        """Push ``branch``; returns the sha the remote now has. Raises ``PushRejected``."""
        local = self.head()
        if local is None:
            raise GitFailure("there are no commits to hand off yet.")
        # Plain `git push --porcelain`, not GitPython's push: that drops what a pre-push hook
        # prints, and what the remote says beside a refusal.
        status, out, err = self._repo.git.execute(
            ["git", "push", "--porcelain", remote, f"{branch}:{remote_branch}"],
            env={**QUIET_ENV, **self.network_env()},
            kill_after_timeout=NETWORK_TIMEOUT_SECONDS,
            with_extended_output=True,
            with_exceptions=False,
        )
        self._check_push(remote, remote_branch, local, status, str(out), str(err))
        try:
            confirmed = self.remote_sha(remote, remote_branch)
        except GitCommandError as error:
            raise GitFailure(
                f"could not confirm the push with {remote!r}: {first_line_of(error)}."
            ) from None
        if confirmed != local:
            raise GitFailure(
                f"{remote!r} does not show the pushed commit (it has {confirmed or 'nothing'}); "
                "run `duologue sync` and try again."
            )
        short = branch.removeprefix("refs/heads/")
        if not self.config(f"branch.{short}.remote"):
            self.run("config", f"branch.{short}.remote", remote)
            self.run("config", f"branch.{short}.merge", remote_branch)
        return confirmed

    def push_ref(self, remote: str, ref: str) -> None:
        """Push ``ref`` to the same name on ``remote``, never forced."""
        local = self.resolve(ref)
        if local is None:
            raise GitFailure(f"there is no {ref} to push.")
        status, out, err = self._repo.git.execute(
            ["git", "push", "--porcelain", remote, f"{ref}:{ref}"],
            env={**QUIET_ENV, **self.network_env()},
            kill_after_timeout=NETWORK_TIMEOUT_SECONDS,
            with_extended_output=True,
            with_exceptions=False,
        )
        self._check_push(remote, ref, local, status, str(out), str(err))

    def _check_push(
        self, remote: str, remote_branch: str, local: str, status: int, out: str, err: str
    ) -> None:
        """Raise the right error for a push that did not go through; nothing when it did."""
        moved_on = PushRejected(
            f"the remote moved on: {remote!r} has posts you do not have yet. Run "
            "`duologue sync`, then `duologue handoff` again."
        )
        refused: str | None = None
        for line in out.splitlines():
            flag, _, rest = line.partition("\t")
            if flag != "!" or ":" not in rest:
                continue
            summary = rest.partition("\t")[2].strip()
            if summary.startswith("[rejected]"):
                raise moved_on
            refused = summary
        said = [
            line.strip()
            for line in (out + "\n" + err).splitlines()
            if line.strip()
            and not line.startswith(("To ", "!\t", "=\t", " \t", "*\t", "+\t", "hint:"))
            and line.strip() != "Done"
            and not line.startswith("error: failed to push some refs")
        ]
        if refused is not None:
            lowered = (refused + " " + err).lower()
            if ("failed to update ref" in lowered or "cannot lock ref" in lowered) and (
                self._remote_moved(remote, remote_branch, local)
            ):
                # Two hand-offs at once: the other one updated the branch between our look
                # at it and our update (receive-pack's compare-and-swap lost).
                raise moved_on
            remote_lines = [line for line in said if line.startswith("remote:")]
            raise GitFailure(
                f"{remote!r} refused the push: {refused}.",
                detail=hook_output_text("\n".join(remote_lines)) if remote_lines else "",
            )
        if status == 0:
            return
        output = hook_output_text("\n".join(said))
        if self.hook_path("pre-push") is not None:
            raise HookFailed(
                "the pre-push hook refused the push, so nothing was pushed; fix what it "
                "reports, then run `duologue handoff` again."
                + (" It said:" if output else " It printed nothing."),
                detail=output,
            )
        reason = "\n".join(said) if said else f"fatal: git push exited with status {status}"
        raise GitFailure(remote_failure(reason, remote, "push to"))

    def _remote_moved(self, remote: str, remote_branch: str, local: str) -> bool:
        """Whether the remote's branch now holds a commit our branch does not contain."""
        try:
            now = self.remote_sha(remote, remote_branch)
        except GitCommandError:
            return False
        return (
            now is not None
            and now != local
            and not (self.resolve(now) is not None and self.is_ancestor(now, local))
        )

    # -- moving the work tree --------------------------------------------------------------

    def merge_commit_onto(self, commit: str, onto: str) -> str | None:
        """The tree of ``commit``'s change replayed on ``onto``, or None on a conflict.

        A three-way ``read-tree -m`` of (parent, onto, commit) into a temporary index: no work
        tree or real index is touched, and it runs on any git (``merge-tree --merge-base``
        needs git 2.40). It merges whole files, not lines: a file both sides changed is a
        conflict, which for posts (one file per turn) is what a person should look at anyway.
        """
        parent = self.try_run("rev-parse", "-q", "--verify", f"{commit}^")
        base = parent.strip() if parent else EMPTY_TREE
        with self._temporary_index() as env:
            self.run("read-tree", "-m", "-i", "--aggressive", base, onto, commit, env=env)
            try:
                return self.run("write-tree", env=env).strip()
            except GitCommandError:  # unmerged entries: both sides changed the same file
                return None

    def replay(self, commit: str, onto: str) -> str | None:
        """``commit`` cherry-picked onto ``onto`` as a new commit object, or None on conflict."""
        tree = self.merge_commit_onto(commit, onto)
        if tree is None:
            return None
        fmt = self.run("show", "-s", "--format=%an%x1f%ae%x1f%aI%x1f%B", commit, strip=False)
        name, email, date, message = fmt.split("\x1f", 3)
        return self.make_commit(
            tree, [onto], message.rstrip("\n") + "\n", Person(name, email), date
        )

    @staticmethod
    def incoming_ref(remote: str, remote_branch: str) -> str:
        """Where ``sync`` fetches to: a private ref, so the remote-tracking ref moves only
        once the fetched history is accepted (a refused force-push stays refused)."""
        return f"refs/duologue/incoming/{remote}/{remote_branch.removeprefix('refs/heads/')}"

    def fetch_into(self, remote: str, remote_branch: str, ref: str) -> str | None:
        """Fetch one branch into ``ref`` and nothing else (``--refmap=`` stops git from
        updating the remote-tracking ref on its own); the sha, or None if the remote has
        no such branch."""
        try:
            self.run(
                "fetch",
                "--no-tags",
                "--no-recurse-submodules",
                "--no-write-fetch-head",
                "--refmap=",
                remote,
                f"+{remote_branch}:{ref}",
                timeout=NETWORK_TIMEOUT_SECONDS,
                env=self.network_env(),
            )
        except GitCommandError as error:
            if "couldn't find remote ref" in first_line_of(error).lower():
                self.delete_ref(ref)
                return None
            raise GitFailure(remote_failure(error, remote, "fetch from")) from None
        return self.resolve(ref)

    def set_ref(self, ref: str, new: str, reason: str = "duologue: sync") -> None:
        try:
            self.run("update-ref", "-m", reason, ref, new)
        except GitCommandError as error:
            raise GitFailure(
                local_cause(stderr_text(error), f"update {ref}")
                or f"git could not update {ref} ({first_line_of(error)}); run the command again."
            ) from None

    def delete_ref(self, ref: str) -> None:
        self.try_run("update-ref", "-d", ref)

    def parents(self, rev: str) -> list[str]:
        return self.run("rev-list", "--parents", "-n", "1", rev).split()[1:]

    def replayable_between(self, base: str, tip: str) -> tuple[list[str], list[str]]:
        """Commits reachable from ``tip`` but not ``base``: (the non-merge ones, oldest
        first; the merge commits)."""
        singles = self.run("rev-list", "--reverse", "--topo-order", "--no-merges", f"{base}..{tip}")
        merges = self.run("rev-list", "--merges", f"{base}..{tip}")
        return singles.split(), merges.split()

    def share_history(self, one: str, other: str) -> bool:
        """Whether two commits have a common ancestor."""
        return self.try_run("merge-base", one, other) is not None

    def merged_tree(self, ours: str, theirs: str) -> str | None:
        """The tree a whole-file three-way merge of two commits gives, or None when a file
        changed on both sides (or they have no single merge base)."""
        bases = (self.try_run("merge-base", "--all", ours, theirs) or "").split()
        if len(bases) != 1:
            return None
        with self._temporary_index() as env:
            try:
                self.run("read-tree", "-m", "-i", "--aggressive", bases[0], ours, theirs, env=env)
                return self.run("write-tree", env=env).strip()
            except GitCommandError:
                return None

    def tree_changes(self, old: str, new: str) -> list[TreeChange]:
        """Every path whose entry differs between two commits (no rename detection)."""
        return parse_tree_changes(
            self.run("diff-tree", "-r", "-z", "--no-renames", old, new, strip=False)
        )

    def index_entries(self) -> dict[str, tuple[str, str, int]]:
        """The real index: path → (mode, blob sha, stage)."""
        out = self.run("ls-files", "-s", "-z", strip=False)
        entries: dict[str, tuple[str, str, int]] = {}
        for record in out.split("\0"):
            meta, tab, path = record.partition("\t")
            if not tab:
                continue
            mode, sha, stage = meta.split()
            entries[path] = (mode, sha, max(int(stage), entries.get(path, ("", "", 0))[2]))
        return entries

    def set_index_entries(self, entries: Mapping[str, tuple[str, str] | None]) -> None:
        """Make the real index hold exactly these (mode, sha) entries (None removes the
        path), in one ``update-index``, then record the files' stat data."""
        import subprocess

        records = [
            f"{entry[0] if entry else '0'} {entry[1] if entry else ZERO_SHA}\t{path}"
            for path, entry in entries.items()
        ]
        data = "".join(f"{record}\0" for record in records).encode("utf-8", "surrogateescape")
        command = ["git", "update-index", "-z", "--index-info"]
        process = self._repo.git.execute(
            command, istream=subprocess.PIPE, as_process=True, env=dict(QUIET_ENV)
        )
        popen = process.proc
        assert popen is not None  # a process that was just started
        _, stderr = popen.communicate(data)
        if popen.returncode:
            failed = GitCommandError(command, popen.returncode, stderr)
            raise GitFailure(
                local_cause(stderr_text(failed), "update its index")
                or f"git could not update its index ({first_line_of(failed)}); run any "
                "duologue command to try again."
            )
        self.try_run("update-index", "-q", "--refresh")

    def copy_blob(self, sha: str, handle: BinaryIO) -> None:
        """Write blob ``sha`` to an open file, a piece at a time (a pushed file may be big)."""
        _, raw_kind, size, stream = self._repo.git.stream_object_data(sha)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else str(raw_kind)
        if kind != "blob":
            raise GitFailure(f"object {sha[:10]} is a {kind}, not a file; refusing to write it.")
        left = size
        while left > 0:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                break
            handle.write(chunk)
            left -= len(chunk)

    def work_file_sha(self, path: str) -> str | None:
        """The blob git would store for the work-tree file ``path`` (its clean filters and
        line-end settings applied), or None when git cannot read it."""
        value = self.try_run("hash-object", "--", path)
        return value.strip() if value else None

    def sparse_checkout_on(self) -> bool:
        return (
            self.try_run("config", "--bool", "--get", "core.sparseCheckout") or ""
        ).strip() == "true"

    def skip_worktree_paths(self, *pathspecs: str) -> list[str]:
        """Tracked paths git keeps out of the work tree (skip-worktree: sparse checkouts)."""
        out = self.run("ls-files", "-t", "-z", "--", *pathspecs, strip=False)
        return [record[2:] for record in out.split("\0") if record.startswith("S ")]


def parse_trailers(message: str) -> dict[str, str]:
    """``Duologue-*`` trailers of a commit message as a dict."""
    return {m["key"]: m["value"].strip() for m in TRAILER.finditer(message)}


def is_inside_repository(path: Path) -> bool:
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    try:
        git.Repo(existing, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return False
    return True


def require_global_identity() -> None:
    """Before ``git init`` of a new repository: git must know who commits (env or global)."""
    cmd = git.Git()
    found = []
    for key, env in (("user.name", "GIT_COMMITTER_NAME"), ("user.email", "GIT_COMMITTER_EMAIL")):
        value = os.environ.get(env)
        if not value:
            try:
                value = str(cmd.execute(["git", "config", "--get", key])).strip()
            except GitCommandError:
                value = ""
        found.append(value)
    if not all(found):
        raise GitFailure(
            'git does not know who you are: run `git config --global user.name "Your Name"` '
            "and `git config --global user.email you@example.com`, then try again."
        )


def init_repository(path: Path) -> bool:
    """``git init`` at ``path`` unless it is already inside a repository; True if created."""
    if is_inside_repository(path):
        return False
    git.Repo.init(path)
    return True


def git_user_email(path: Path) -> str | None:
    """git's user.email as seen from ``path`` (repository config, then global)."""
    if os.environ.get("GIT_COMMITTER_EMAIL"):
        return os.environ["GIT_COMMITTER_EMAIL"]
    try:
        return Repository(path).config("user.email")
    except GitFailure:
        try:
            value = git.Git().execute(["git", "config", "--get", "user.email"])
        except GitCommandError:
            return None
        return str(value).strip() or None


def added_by_lookup(root: Path) -> Callable[[], dict[str, AddedBy]]:
    """For ``check``: a lazy lookup of the commit that added each post (relative to
    ``root``): who made it, and whether it was forced or an import."""

    def lookup() -> dict[str, AddedBy]:
        try:
            repo = Repository(root)
        except GitFailure:
            return {}
        prefix = root.resolve().relative_to(repo.root.resolve()).as_posix()
        folder = "series" if prefix == "." else f"{prefix}/series"
        strip = "" if prefix == "." else prefix + "/"
        return {p.removeprefix(strip): added for p, added in repo.added_by(folder).items()}

    return lookup


@dataclass(frozen=True, slots=True)
class AddedBy:
    """The commit that added a file, as ``check`` needs it."""

    short: str
    email: str
    """The commit's author e-mail."""
    forced: bool
    """It carried ``Duologue-Forced: true``."""
    imported: bool
    """It carried ``Duologue-Import`` (SPEC §10)."""
    posts: int
    """How many ``.md`` files it added there: a turn adds one."""


def parse_tree_changes(out: str) -> list[TreeChange]:
    """``git diff-tree -r -z --no-renames`` output as ``TreeChange`` rows."""
    parts = out.split("\0")
    changes: list[TreeChange] = []
    for meta, path in zip(parts[::2], parts[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _status = meta[1:].split(" ", 4)
        changes.append(
            TreeChange(
                path=path,
                old_mode=None if old_mode == "000000" else old_mode,
                old_sha=None if old_mode == "000000" else old_sha,
                new_mode=None if new_mode == "000000" else new_mode,
                new_sha=None if new_mode == "000000" else new_sha,
            )
        )
    return changes


@dataclass(frozen=True, slots=True)
class TreeChange:
    """One path whose entry differs between two commits; ``None`` where it is absent."""

    path: str
    old_mode: str | None
    old_sha: str | None
    new_mode: str | None
    new_sha: str | None
