"""Making ``sync`` all or nothing, even when it is killed midway or the disk is full.

git's ``read-tree -u`` writes files in place, one after another: on a full disk it left
a truncated copy of the co-author's post behind, and a kill after the branch moved left
a set-aside post only under a ref. So sync moves the work tree itself, in this order:

1. the journal (``.git/duologue-sync.json``): the old and new commits, every path that
   changes, the drafts that come back and the refs that keep their commits;
2. every new file is written in full beside its target under a temporary name (this
   run's random token) and fsynced: a full disk or a read-only folder fails here, and
   everything is undone;
3. the refs that keep set-aside commits, then the branch moves (compare and swap): the
   commit point;
4. removed files go, new files are renamed into place, the drafts are linked in (never
   over an existing file), the index is updated for those paths only, and the
   remote-tracking ref moves to what was fetched; then the journal goes.

Every duologue command first recovers (``recover_sync``, through the same entry point as
an interrupted publish): with the branch on the new commit it finishes step 4, writing
again from git any file whose temporary copy is gone; with the branch where it was, it
removes the temporary files and the refs it made. A post is thus always in ``series/``
or ``drafts/``, never only under a ref, and no file is ever left half written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from duologue.errors import GitFailure, WriteFailed
from duologue.faults import fault_point
from duologue.files import write_atomic
from duologue.git.folder import SYNC_JOURNAL_NAME
from duologue.git.records import well_typed
from duologue.git.repository import Repository, TreeChange

REGULAR = "100644"
EXECUTABLE = "100755"
LINK = "120000"
WRITABLE_MODES = {REGULAR, EXECUTABLE, LINK}
"""What sync writes; a submodule (160000) or anything else is refused before it starts."""


@dataclass(frozen=True, slots=True)
class ReturnedDraft:
    """A post of ours that lost its turn, going back to ``drafts/``."""

    path: str
    """Relative to the repository root."""
    text: str
    ref: str
    """The ref that keeps its original commit (``refs/duologue/unpublished/…``)."""
    sha: str


@dataclass(frozen=True, slots=True)
class SyncJournal:
    branch: str
    old: str
    new: str
    token: str
    """Names this run's temporary files, so that nothing pushed can collide with them."""
    files: tuple[TreeChange, ...]
    drafts: tuple[ReturnedDraft, ...]
    folders: tuple[str, ...]
    """Folders made for new files, shallowest first; removed again (when empty) on undo."""
    kept: tuple[str, ...]
    """Refs this run creates (the others in ``drafts`` existed already)."""
    tracking: str
    fetched: str
    incoming: str


def journal_path(repo: Repository) -> Path:
    return repo.git_dir / SYNC_JOURNAL_NAME


def clear_journal(repo: Repository) -> None:
    with contextlib.suppress(FileNotFoundError):
        journal_path(repo).unlink()


def _load(path: Path) -> SyncJournal | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        journal = SyncJournal(
            **{
                **data,
                "files": tuple(TreeChange(**f) for f in data["files"]),
                "drafts": tuple(ReturnedDraft(**d) for d in data["drafts"]),
                "folders": tuple(data["folders"]),
                "kept": tuple(data["kept"]),
            }
        )
    except (ValueError, TypeError, KeyError):
        return None
    return journal if well_typed(journal) else None


# -- what is on disk ---------------------------------------------------------------------


def blob_sha(data: bytes, like: str) -> str:
    """git's object name for a blob holding ``data`` (SHA-256 when ``like`` is one)."""
    digest = hashlib.sha256() if len(like) == 64 else hashlib.sha1(usedforsecurity=False)
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _found(path: Path, like: str) -> tuple[str, str] | None:
    """What is at ``path``: ("file" or "link", its blob sha), ("folder", ""), ("other",
    ""), or None when nothing is there."""
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(info.st_mode):
        return "link", blob_sha(os.fsencode(os.readlink(path)), like)
    if stat.S_ISDIR(info.st_mode):
        return "folder", ""
    if not stat.S_ISREG(info.st_mode):
        return "other", ""
    digest = hashlib.sha256() if len(like) == 64 else hashlib.sha1(usedforsecurity=False)
    digest.update(b"blob %d\0" % info.st_size)
    size = 0
    with open(path, "rb") as handle:  # in pieces: a pushed file may be big
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    if size != info.st_size:  # changed while read: certainly not the file we expect
        return "file", ""
    return "file", digest.hexdigest()


def _expected(mode: str | None, sha: str | None) -> tuple[str, str] | None:
    if mode is None or sha is None:
        return None
    return ("link" if mode == LINK else "file"), sha


def _holds(
    repo: Repository, path: str, found: tuple[str, str] | None, mode: str | None, sha: str | None
) -> bool:
    """Whether the work-tree entry ``found`` at ``path`` is the blob ``sha``: byte for byte,
    or once git's clean filters have run (a CRLF checkout under ``core.autocrlf``)."""
    expected = _expected(mode, sha)
    if found is None or expected is None or found == expected:
        return found == expected
    return found[0] == expected[0] == "file" and repo.work_file_sha(path) == sha


def _unsafe(name: str) -> bool:
    """A path component git itself refuses to check out (``..``, ``.git``, ``.GIT.``,
    ``git~1``…); ``Repository.refuse_paths_git_refuses`` has git check the whole tree
    first, this is the last word before a folder is made."""
    return name in ("", ".", "..") or name.lower().rstrip(". ") in (".git", "git~1") or "\0" in name


def _folders_to_make(root: Path, path: str) -> list[str]:
    """The missing folders above ``path``; refuses a bad name or a parent that is a link
    or a file (writing through a link could land outside the workspace)."""
    parts = path.split("/")
    if any(_unsafe(part) for part in parts):
        raise GitFailure(
            f"the remote's history holds a file named {path!r}, which git itself would not "
            "check out; nothing was changed. Ask your co-author to remove it."
        )
    missing: list[str] = []
    current = root
    for depth, part in enumerate(parts[:-1], start=1):
        current = current / part
        shown = "/".join(parts[:depth])
        try:
            info = current.lstat()
        except FileNotFoundError:
            missing.append(shown)
            continue
        if stat.S_ISLNK(info.st_mode):
            raise GitFailure(
                f"{shown} is a symbolic link, and sync does not write through links; "
                "nothing was changed. Replace it with a folder, then run `duologue sync` again."
            )
        if not stat.S_ISDIR(info.st_mode):
            raise GitFailure(
                f"{shown} is a file where the remote's history has a folder; nothing was "
                "changed. Move it aside, then run `duologue sync` again."
            )
    return missing


def _in_the_way(path: str, why: str) -> GitFailure:
    return GitFailure(
        f"your local changes would be overwritten ({path} {why}); commit or stash them, "
        "then run `duologue sync` again."
    )


def _refuse_a_name_held_twice(files: list[TreeChange]) -> None:
    """A crafted tree can hold one name twice, as a file (or link) and as a folder with
    files in it; ``git read-tree`` lets it through (only ``git fsck`` objects), and
    moving the work tree would stop halfway, after the branch moved."""
    added = {change.path for change in files if change.new_mode is not None}
    for path in sorted(added):
        parent = path.rpartition("/")[0]
        while parent:
            if parent in added:
                raise GitFailure(
                    f"the remote's history holds {parent!r} both as a file and as a folder "
                    f"(with {path!r} in it), which git itself would not check out; nothing "
                    "was changed. Ask your co-author to remove it."
                )
            parent = parent.rpartition("/")[0]


def check_work_tree(
    repo: Repository, files: list[TreeChange], drafts: list[ReturnedDraft]
) -> tuple[str, ...]:
    """Refuse, before anything moves, when the change would overwrite something of the
    user's; the folders the new files need."""
    _refuse_a_name_held_twice(files)
    index = repo.index_entries()
    changed = {c.path for c in files}
    folders: list[str] = []
    for change in files:
        for mode in (change.old_mode, change.new_mode):
            if mode is not None and mode not in WRITABLE_MODES:
                raise GitFailure(
                    f"{change.path} is a git submodule (or another kind of entry duologue does "
                    "not write); nothing was changed. Sync with plain git instead."
                )
        needed = _folders_to_make(repo.root, change.path)
        if change.new_sha is not None:
            folders += needed
        old = (change.old_mode, change.old_sha, 0) if change.old_sha else None
        new = (change.new_mode, change.new_sha, 0) if change.new_sha else None
        if index.get(change.path) not in (old, new):
            raise _in_the_way(change.path, "has staged changes")
        found = _found(repo.root / change.path, change.new_sha or change.old_sha or "")
        if found is not None and not (
            _holds(repo, change.path, found, change.old_mode, change.old_sha)
            or _holds(repo, change.path, found, change.new_mode, change.new_sha)
        ):
            why = (
                "differs from your last commit" if change.old_sha else "is there but not committed"
            )
            raise _in_the_way(change.path, why)
    for draft in drafts:
        folders += _folders_to_make(repo.root, draft.path)
        if draft.path not in changed and os.path.lexists(repo.root / draft.path):
            raise _in_the_way(draft.path, "is there but not committed")
    return tuple(sorted(set(folders), key=lambda f: (f.count("/"), f)))


# -- writing -----------------------------------------------------------------------------


def _sentence(shown: str, error: OSError, moved: bool) -> str:
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        fix = "free some space on that disk"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make that folder writable"
    else:
        fix = "fix that"
    if moved:
        return (
            f"sync brought the new commits in but could not write {shown} ({reason}); {fix}, "
            "then run any duologue command to finish it."
        )
    return (
        f"could not write {shown} ({reason}); nothing was changed. {fix.capitalize()}, then "
        "run `duologue sync` again."
    )


@contextmanager
def _writing(shown: str, moved: bool) -> Iterator[None]:
    """An ``OSError`` (full disk, read-only folder) as one sentence naming the file."""
    try:
        yield
    except OSError as error:
        raise WriteFailed(_sentence(shown, error, moved)) from None


def _temp(root: Path, path: str, token: str, slot: str) -> Path:
    return (root / path).parent / f".duologue-sync-{token}-{slot}.tmp"


def _write_temp_file(temp: Path, mode: str, fill: Callable[[BinaryIO], object]) -> None:
    """A new, fully written and fsynced file at ``temp``; removed again if that fails."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        # Inside the cleanup: Ctrl-C is handled as soon as os.open returns.
        fd = os.open(temp, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o755 if mode == EXECUTABLE else 0o644)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _filler(data: bytes) -> Callable[[BinaryIO], object]:
    return lambda handle: handle.write(data)


def _write_blob_temp(
    repo: Repository, journal: SyncJournal, change: TreeChange, temp: Path
) -> None:
    assert change.new_sha is not None and change.new_mode is not None
    if change.new_mode == LINK:
        os.symlink(os.fsdecode(repo.read_blob(journal.new, change.path)), temp)
        return
    sha = change.new_sha
    _write_temp_file(temp, change.new_mode, lambda handle: repo.copy_blob(sha, handle))


def _new_files(journal: SyncJournal) -> Iterator[tuple[int, TreeChange]]:
    """The paths that get new content from git (a returned draft takes its path's place)."""
    drafts = {d.path for d in journal.drafts}
    for slot, change in enumerate(journal.files):
        if change.new_sha is not None and change.path not in drafts:
            yield slot, change


def _stage(repo: Repository, journal: SyncJournal) -> None:
    """Step 2: everything that will be renamed into place, written in full."""
    root = repo.root
    for folder in journal.folders:
        with _writing(folder, moved=False):
            (root / folder).mkdir(exist_ok=True)
    for count, (slot, change) in enumerate(_new_files(journal)):
        with _writing(change.path, moved=False):
            _write_blob_temp(
                repo, journal, change, _temp(root, change.path, journal.token, f"f{slot}")
            )
        if count == 0:
            fault_point("sync-mid-staging")
    for slot, draft in enumerate(journal.drafts):
        data = draft.text.encode("utf-8")
        with _writing(draft.path, moved=False):
            _write_temp_file(
                _temp(root, draft.path, journal.token, f"d{slot}"), REGULAR, _filler(data)
            )


def _sync_folder(folder: Path) -> None:
    """fsync a folder so the renames into it survive a power cut (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prune_empty(root: Path, folder: Path) -> None:
    """Remove folders left empty by a removal, as git does, up to the workspace root."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _link_new(temp: Path, target: Path, data: bytes) -> None:
    """Put ``temp`` at ``target`` without replacing anything: a different file already
    there keeps its place and the draft takes ``<name>-2.md``."""
    like = "0" * 40
    candidate = target
    number = 2
    while True:
        try:
            os.link(temp, candidate)
            break
        except FileExistsError:
            if _found(candidate, like) == ("file", blob_sha(data, like)):
                break
            candidate = target.with_name(f"{target.stem}-{number}{target.suffix}")
            number += 1
    os.unlink(temp)


def finish(repo: Repository, journal: SyncJournal) -> None:
    """Step 4, after the branch moved; every part can run again after a kill."""
    root = repo.root
    for change in journal.files:  # first: a folder the new tree has as a file must go
        if change.new_sha is None:
            target = root / change.path
            with _writing(change.path, moved=True):
                found = _found(target, change.old_sha or "")
                if found and _holds(repo, change.path, found, change.old_mode, change.old_sha):
                    target.unlink()
                    _prune_empty(root, target.parent)
    fault_point("sync-after-files-removed")
    touched: set[Path] = set()
    for count, (slot, change) in enumerate(_new_files(journal)):
        target = root / change.path
        temp = _temp(root, change.path, journal.token, f"f{slot}")
        with _writing(change.path, moved=True):
            if not os.path.lexists(temp):
                if _found(target, change.new_sha or "") == _expected(
                    change.new_mode, change.new_sha
                ):
                    continue  # already in place
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_blob_temp(repo, journal, change, temp)
            os.replace(temp, target)
        touched.add(target.parent)
        if count == 0:
            fault_point("sync-mid-placing")
    fault_point("sync-after-files-placed")
    for slot, draft in enumerate(journal.drafts):
        target = root / draft.path
        temp = _temp(root, draft.path, journal.token, f"d{slot}")
        data = draft.text.encode("utf-8")
        with _writing(draft.path, moved=True):
            if not os.path.lexists(temp):
                if _found(target, "0" * 40) == ("file", blob_sha(data, "0" * 40)):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_temp_file(temp, REGULAR, _filler(data))
            _link_new(temp, target, data)
        touched.add(target.parent)
    for folder in touched:
        _sync_folder(folder)
    fault_point("sync-after-drafts-placed")
    repo.set_index_entries(
        {
            c.path: (c.new_mode, c.new_sha) if c.new_mode and c.new_sha else None
            for c in journal.files
        }
    )
    fault_point("sync-after-index")
    repo.set_ref(journal.tracking, journal.fetched)
    repo.delete_ref(journal.incoming)
    fault_point("sync-after-tracking-ref")
    clear_journal(repo)


def undo(repo: Repository, journal: SyncJournal, keep_refs: bool = False) -> None:
    """Before the branch moved: remove what steps 1-3 made."""
    root = repo.root
    temps = [_temp(root, c.path, journal.token, f"f{s}") for s, c in enumerate(journal.files)]
    temps += [_temp(root, d.path, journal.token, f"d{s}") for s, d in enumerate(journal.drafts)]
    for temp in temps:
        # Only what is there: on a read-only folder even a missing file's unlink fails.
        if os.path.lexists(temp):
            temp.unlink()
    for folder in reversed(journal.folders):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()
    if not keep_refs:
        for ref in journal.kept:
            repo.delete_ref(ref)
    repo.delete_ref(journal.incoming)
    clear_journal(repo)


def move_work_tree(repo: Repository, journal: SyncJournal) -> None:
    """Steps 1-4. Before the branch moves, a failure changes nothing; after, the next
    duologue command finishes what is left."""
    with _writing(f".git/{SYNC_JOURNAL_NAME}", moved=False):
        write_atomic(journal_path(repo), json.dumps(asdict(journal), indent=2))
    fault_point("sync-after-journal")
    try:
        _stage(repo, journal)
        fault_point("sync-after-staged")
        for draft in journal.drafts:
            if draft.ref in journal.kept:
                repo.set_ref(draft.ref, draft.sha, "duologue: sync set a post aside")
        fault_point("sync-after-refs-kept")
        repo.move_branch(journal.branch, journal.new, journal.old, "duologue: sync")
    except BaseException:
        if repo.resolve(journal.branch) != journal.new:
            undo(repo, journal)
        raise
    fault_point("sync-after-branch-moved")
    finish(repo, journal)


def recover_sync(repo: Repository) -> str | None:
    """Finish or undo an interrupted sync; a sentence saying which, or None."""
    path = journal_path(repo)
    if not path.exists():
        return None
    journal = _load(path)
    if journal is None:
        clear_journal(repo)
        return None
    current = repo.resolve(journal.branch)
    if current == journal.new:
        finish(repo, journal)
        return "finished an interrupted sync."
    undo(repo, journal, keep_refs=current != journal.old)
    if current == journal.old:
        return "undid an interrupted sync; your work tree is as it was before it."
    return "removed what an interrupted sync left behind (the branch had moved since)."
