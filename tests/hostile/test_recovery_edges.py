"""The corners of recovery and locking, with real git and the real CLI: a workspace whose
``.git`` is a file (a linked worktree, a separate git folder, a broken pointer), a lock
another command holds, journals a crash or a disk left corrupt or out of step with the
work tree, a half-written post that cannot be removed, and ``sync`` in a subfolder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import git, make_clone_identity, run_duologue
from tests.integration.conftest import (
    Pair,
    copied_pair,
    new_draft,
    ok,
    pair_template,
    refused,
    snapshot,
)

PUBLISH_JOURNAL = "duologue-publish.json"
SYNC_JOURNAL = "duologue-sync.json"
BUSY = (
    "error: another duologue command is working in this workspace; wait for it to finish "
    "and try again.\n"
)
FIRST_POST = "series/slow-work/0001-opening.md"
QUICK_TIMEOUT = {"DUOLOGUE_LOCK_TIMEOUT": "0.5"}


def one_error(stderr: str) -> str:
    """``stderr`` is exactly one ``error: …`` sentence, not a crash; returns it."""
    assert "Traceback" not in stderr, stderr
    assert "unexpectedly" not in stderr, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr


def killed(root: Path, step: str, *args: str) -> None:
    """``duologue publish`` (or ``args``) killed for real at the fault point ``step``."""
    command = args or ("publish", "slow-work")
    result = run_duologue(root, *command, env={"DUOLOGUE_FAULT": step})
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr


@contextlib.contextmanager
def lock_held(git_dir: Path) -> Iterator[int]:
    """``duologue.lock`` held the way a running duologue holds it: an exclusive flock."""
    fd = os.open(git_dir / "duologue.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pair`` made once, copied for each test."""
    return pair_template(tmp_path_factory, "recovery-edges")


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Path:
    """Ana's workspace on its own (no remote): two commits, the Slow Work series."""
    root = tmp_path / "ws"
    shutil.copytree(template / "ana", root, symlinks=True)
    git(root, "remote", "remove", "origin")
    return root


@pytest.fixture
def pair(template: Path, tmp_path: Path) -> Pair:
    return copied_pair(template, tmp_path)


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only for root too: a read-only bind mount of it onto itself."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        for args in (["--bind", str(folder), str(folder)], ["-o", "remount,ro,bind", str(folder)]):
            result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
            # .ci/run runs the tests as root with mount installed: a failure here is real.
            assert result.returncode == 0, f"mount {' '.join(args)}: {result.stderr.strip()}"
            if args[0] == "--bind":
                made.append(folder)

    yield make
    for folder in reversed(made):
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


# -- a workspace whose .git is a file ---------------------------------------------------


def linked_worktree(main: Path) -> tuple[Path, Path]:
    """A linked worktree of the workspace ``main`` (real ``git worktree add``, branch
    ``side``); returns the worktree and its git folder."""
    side = main.parent / "side"
    git(main, "worktree", "add", "-q", "-b", "side", str(side))
    own = main / ".git" / "worktrees" / "side"
    assert (side / ".git").read_text().strip() == f"gitdir: {own}"
    # init and series new took the main workspace's lock; nothing in the worktree may.
    (main / ".git" / "duologue.lock").unlink()
    return side, own


def test_a_linked_worktree_keeps_lock_and_cache_in_its_own_git_folder(ws: Path) -> None:
    main = ws
    side, own = linked_worktree(main)
    main_head = git(main, "rev-parse", "HEAD")
    assert "no posts yet" in ok(side, "status")
    ok(side, "build")
    draft = new_draft(side, "Opening", "Ben,\n\nWritten in a linked worktree.")
    published = ok(side, "publish", str(draft.relative_to(side)))
    assert FIRST_POST in published

    assert (own / "duologue.lock").is_file()
    assert [p.name for p in (own / "duologue").iterdir()] == ["build-cache"]
    assert not (main / ".git" / "duologue.lock").exists()
    assert not (main / ".git" / "duologue").exists()
    assert (side / ".git").is_file()  # duologue did not turn the pointer into a folder
    assert (side / "public" / "index.html").is_file()

    assert git(side, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"
    assert git(main, "rev-parse", "HEAD") == main_head  # the main workspace's branch
    assert git(main, "rev-parse", "side") == git(side, "rev-parse", "HEAD")
    assert git(side, "status", "--porcelain", "--untracked-files=all") == ""
    assert not draft.exists()
    assert (side / FIRST_POST).read_text() == git(side, "show", f"HEAD:{FIRST_POST}")
    assert not (main / FIRST_POST).exists()


def test_a_linked_worktree_has_its_own_journal_and_lock(ws: Path) -> None:
    main = ws
    side, own = linked_worktree(main)
    draft = new_draft(side, "Opening", "Ben,\n\nInterrupted in a worktree.")
    text = draft.read_text()
    before = snapshot(side)
    killed(side, "after-journal-commit")
    assert (own / PUBLISH_JOURNAL).is_file()
    assert not (main / ".git" / PUBLISH_JOURNAL).exists()

    # The main workspace neither sees nor repairs the worktree's publish...
    in_main = run_duologue(main, "status")
    assert in_main.returncode == 0 and in_main.stderr == "", in_main.stderr
    assert (own / PUBLISH_JOURNAL).is_file()
    # ...the worktree's next command does.
    repaired = run_duologue(side, "status")
    assert repaired.returncode == 0
    assert repaired.stderr == (
        f"note: undid an interrupted publish of {FIRST_POST}; the draft is untouched.\n"
    )
    assert not (own / PUBLISH_JOURNAL).exists()
    assert snapshot(side) == before
    assert draft.read_text() == text

    # The worktree's lock is its own: held, it stops the worktree and not the main one.
    with lock_held(own):
        busy = run_duologue(
            side, "draft", "slow-work", "--no-edit", "--title", "Again", env=QUICK_TIMEOUT
        )
        elsewhere = run_duologue(
            main, "draft", "slow-work", "--no-edit", "--title", "Main", env=QUICK_TIMEOUT
        )
    assert busy.returncode == 1 and busy.stderr == BUSY
    assert not (side / "drafts" / "slow-work" / "again.md").exists()
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (main / "drafts" / "slow-work" / "main.md").is_file()


def test_a_git_file_with_a_relative_path_is_followed(ws: Path, tmp_path: Path) -> None:
    """``gitdir: ../store/ws.git``, relative to the ``.git`` file, as git reads it."""
    root = ws
    store = tmp_path / "store"
    store.mkdir()
    (root / ".git").rename(store / "ws.git")
    (root / ".git").write_text("gitdir: ../store/ws.git\n")
    (store / "ws.git" / "duologue.lock").unlink()
    assert git(root, "rev-parse", "--absolute-git-dir").strip() == str(store / "ws.git")

    draft = new_draft(root, "Opening", "Ben,\n\nKept in a git folder elsewhere.")
    killed(root, "after-branch-moved", "publish", str(draft.relative_to(root)))
    assert (store / "ws.git" / PUBLISH_JOURNAL).is_file()
    repaired = run_duologue(root, "build")
    assert repaired.returncode == 0, repaired.stderr
    assert f"finished an interrupted publish of {FIRST_POST}" in repaired.stderr
    assert not (store / "ws.git" / PUBLISH_JOURNAL).exists()
    assert (store / "ws.git" / "duologue.lock").is_file()
    assert [p.name for p in (store / "ws.git" / "duologue").iterdir()] == ["build-cache"]
    assert (root / ".git").is_file()
    assert git(root, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""


BROKEN_POINTERS = {
    "points-nowhere": b"gitdir: {nowhere}\n",
    "garbage": b"not a pointer at all\n",
    "not-utf8": b"\xff\xfe\x00gitdir",
    "empty": b"",
}


def test_a_broken_git_file_is_no_repository(ws: Path, tmp_path: Path) -> None:
    """A ``.git`` file that points nowhere or is not a pointer: git itself refuses the
    folder; duologue's read-only commands work without git (the build cache goes to the
    user's cache folder) and the changing ones refuse in one sentence."""
    root = ws
    real = tmp_path / "real.git"
    (root / ".git").rename(real)
    (real / "duologue.lock").unlink()
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    no_repository = (
        f"error: {root} is not inside a git repository; run `duologue init` there first.\n"
    )
    for name, pointer in BROKEN_POINTERS.items():
        (root / ".git").write_bytes(
            pointer.replace(b"{nowhere}", str(tmp_path).encode() + b"/gone")
        )
        assert git(root, "status", check=False) == "", name  # git: "not a git repository"
        status = run_duologue(root, "status", "--as", "ana", env=env)
        assert status.returncode == 0 and "Traceback" not in status.stderr, (name, status.stderr)
        assert "slow-work" in status.stdout and "no posts yet" in status.stdout, name
        draft = ("draft", "slow-work", "--as", "ana", "--no-edit")
        assert one_error(refused(root, *draft, env=env)) == no_repository, name
    assert not (root / "drafts" / "slow-work").exists()
    for command in (("sync",), ("handoff",)):
        assert one_error(refused(root, *command, env=env)) == no_repository, command
    build = run_duologue(root, "build", env=env)
    assert build.returncode == 0 and "Traceback" not in build.stderr, build.stderr
    assert (root / "public" / "index.html").is_file()
    assert len(list((cache / "duologue" / "build-cache").iterdir())) == 1

    (root / ".git").unlink()
    real.rename(root / ".git")
    assert not (root / ".git" / "duologue.lock").exists()  # no command took the real lock
    assert not (root / ".git" / "duologue").exists()
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "log", "--format=%s").splitlines() == [
        'slow-work: new series "Slow Work"',
        "duologue: start a workspace",
    ]


# -- the lock ------------------------------------------------------------------------------


def test_a_held_lock_makes_changing_commands_refuse_after_the_timeout(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nWaiting for the lock.")
    before = snapshot(ws)
    commands = [("draft", "slow-work", "--no-edit", "--title", "Second"), ("publish", "slow-work")]
    with lock_held(ws / ".git"):
        for args in commands:
            started = time.monotonic()
            result = run_duologue(ws, *args, env=QUICK_TIMEOUT)
            waited = time.monotonic() - started
            assert result.returncode == 1, args
            assert result.stderr == BUSY, args
            assert result.stdout == "", args
            assert waited >= 0.5, args
            assert snapshot(ws) == before, args
    ok(ws, "publish", "slow-work")  # the lock released, the same command works
    assert git(ws, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"


def test_a_lock_timeout_that_is_not_a_number_waits_the_default(ws: Path) -> None:
    """``DUOLOGUE_LOCK_TIMEOUT=soon`` means the default 30 s: the command waits for a lock
    released after 1.5 s (with a timeout of 0 it would refuse at once)."""
    with lock_held(ws / ".git") as fd:
        releaser = threading.Timer(1.5, fcntl.flock, (fd, fcntl.LOCK_UN))
        releaser.start()
        started = time.monotonic()
        result = run_duologue(
            ws, "draft", "slow-work", "--no-edit", env={"DUOLOGUE_LOCK_TIMEOUT": "soon"}
        )
        waited = time.monotonic() - started
        releaser.join()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert waited >= 1.4
    assert (ws / result.stdout.strip()).is_file()
    assert result.stdout.strip().startswith("drafts/slow-work/")


# -- the publish journal -------------------------------------------------------------------


def test_rolling_forward_restores_a_post_deleted_before_recovery(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nThese words are in the commit.")
    killed(ws, "after-branch-moved")
    post = ws / FIRST_POST
    assert post.is_file()
    post.unlink()  # gone before any duologue command ran again

    result = run_duologue(ws, "status")
    assert result.returncode == 0
    assert result.stderr == f"note: finished an interrupted publish of {FIRST_POST}.\n"
    assert post.read_text() == git(ws, "show", f"HEAD:{FIRST_POST}")
    assert "These words are in the commit." in post.read_text()
    assert not draft.exists()
    assert not (ws / ".git" / PUBLISH_JOURNAL).exists()
    assert git(ws, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(ws, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"
    ok(ws, "check")


CORRUPT_PUBLISH_JOURNALS = {
    "not-json": b'{"branch": "main", "old": ',
    "not-utf8": b"\xff\xfe{}",
    "a-list": b'["main", null, null]',
    "null": b"null",
    "missing-keys": b'{"branch": "main", "old": null}',
    "unknown-key": json.dumps(
        {
            "branch": "main",
            "old": None,
            "new": None,
            "post_path": FIRST_POST,
            "post_sha256": "0" * 64,
            "draft_path": "drafts/slow-work/opening.md",
            "draft_sha256": "0" * 64,
            "written_by": "a later duologue",
        }
    ).encode(),
}


def test_a_corrupt_publish_journal_is_cleared_and_the_next_command_works(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nA journal went bad.")
    text = draft.read_text()
    before = snapshot(ws)
    journal = ws / ".git" / PUBLISH_JOURNAL
    for name, content in CORRUPT_PUBLISH_JOURNALS.items():
        journal.write_bytes(content)
        result = run_duologue(ws, "status")
        assert result.returncode == 0, (name, result.stderr)
        assert result.stderr == "", (name, result.stderr)
        assert not journal.exists(), name
        assert snapshot(ws) == before, name
    journal.write_bytes(CORRUPT_PUBLISH_JOURNALS["not-json"])
    ok(ws, "publish", "slow-work")  # a changing command clears it as well, and works
    assert not journal.exists()
    assert git(ws, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"
    assert "A journal went bad." in (ws / FIRST_POST).read_text()
    assert text.split("\n---\n", 1)[1].strip() in (ws / FIRST_POST).read_text()
    assert git(ws, "status", "--porcelain", "--untracked-files=all") == ""


WRONG_TYPES = {
    PUBLISH_JOURNAL: {
        "branch": "main",
        "old": None,
        "new": None,
        "post_path": 7,
        "post_sha256": 7,
        "draft_path": 7,
        "draft_sha256": 7,
    },
    SYNC_JOURNAL: {
        "branch": "main",
        "old": "0" * 40,
        "new": "1" * 40,
        "token": "t",
        "files": [
            {"path": 7, "old_mode": None, "old_sha": None, "new_mode": None, "new_sha": None}
        ],
        "drafts": [],
        "folders": [],
        "kept": [],
        "tracking": "refs/remotes/origin/main",
        "fetched": "1" * 40,
        "incoming": "refs/duologue/incoming/origin/main",
    },
}


@pytest.mark.parametrize("journal_name", [PUBLISH_JOURNAL, SYNC_JOURNAL])
def test_a_journal_with_values_of_the_wrong_type_is_cleared(ws: Path, journal_name: str) -> None:
    journal = ws / ".git" / journal_name
    journal.write_text(json.dumps(WRONG_TYPES[journal_name]))
    before = snapshot(ws)
    result = run_duologue(ws, "status")
    assert result.returncode == 0, result.stderr
    assert "unexpectedly" not in result.stderr
    assert not journal.exists()
    assert snapshot(ws) == before
    ok(ws, "draft", "slow-work", "--no-edit")


def test_a_half_written_post_that_cannot_be_removed_is_named_once(
    ws: Path, read_only: Callable[[Path], None]
) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nThe commit exists, the branch never moved.")
    text = draft.read_text()
    head = git(ws, "rev-parse", "HEAD")
    killed(ws, "after-journal-commit")
    post = ws / FIRST_POST
    assert post.is_file()
    read_only(post.parent)

    first = run_duologue(ws, "status")
    assert first.returncode == 0, first.stderr
    assert first.stderr == (
        f"note: undid an interrupted publish of {FIRST_POST}; the draft is untouched. "
        f"The half-written {FIRST_POST} could not be removed (Read-only file system): "
        "it is not committed, so delete it by hand.\n"
    )
    assert not (ws / ".git" / PUBLISH_JOURNAL).exists()
    second = run_duologue(ws, "status")  # said once: no loop, no second repair
    assert second.returncode == 0 and second.stderr == "", second.stderr
    assert post.is_file()
    assert draft.read_text() == text
    assert git(ws, "rev-parse", "HEAD") == head
    assert git(ws, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        "?? drafts/slow-work/opening.md",
        f"?? {FIRST_POST}",
    ]

    subprocess.run(["umount", "-l", str(post.parent)], check=True, capture_output=True)
    post.unlink()  # as the sentence says
    ok(ws, "publish", "slow-work")
    assert git(ws, "rev-parse", "HEAD^") == head
    assert git(ws, "status", "--porcelain", "--untracked-files=all") == ""


def test_recovery_sweeps_no_temporary_file_through_a_linked_folder(
    ws: Path, tmp_path: Path
) -> None:
    """The sweep of dead processes' temporary files skips a folder under ``drafts/`` that
    is a symbolic link: what lies behind it is not the workspace's."""
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id no duologue holds any more
    name = f".opening.md.duologue-{dead.pid}-abc123.tmp"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / name).write_text("someone else's file\n")
    (ws / "drafts" / "linked").symlink_to(outside, target_is_directory=True)
    inside = ws / "drafts" / "slow-work"
    inside.mkdir(parents=True)
    (inside / name).write_text("a dead duologue's temporary file\n")

    ok(ws, "draft", "slow-work", "--no-edit")
    assert not (inside / name).exists()  # the workspace's own leftovers go
    assert (outside / name).read_text() == "someone else's file\n"


# -- the sync journal -----------------------------------------------------------------------


def race(pair: Pair) -> None:
    """Ana publishes and shares turn 1; Ben answers with turn 2 and shares it; Ana, not
    knowing, publishes a turn 2 of her own."""
    new_draft(pair.ana, "Opening", "Ben,\n\nShall we begin?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Ben answers", "Ana,\n\nBEN'S WORDS must arrive.")
    ok(pair.ben, "publish", "slow-work", "--push")
    new_draft(pair.ana, "Ana too", "Ben,\n\nANA'S WORDS must survive.")
    ok(pair.ana, "publish", "slow-work", "--force")


def sync_leftovers(clone: Path) -> list[str]:
    return sorted(
        p.relative_to(clone).as_posix()
        for p in clone.rglob("*duologue-sync*")
        if ".git" not in p.relative_to(clone).parts
    )


def test_a_corrupt_sync_journal_is_cleared_and_sync_works(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nShall we begin?")
    ok(pair.ana, "publish", "slow-work", "--push")
    before = snapshot(pair.ben)
    journal = pair.ben / ".git" / SYNC_JOURNAL
    whole = {
        "branch": "main",
        "old": "0" * 40,
        "new": "1" * 40,
        "token": "t",
        "files": [],
        "drafts": [],
        "folders": [],
        "kept": [],
        "tracking": "refs/remotes/origin/main",
        "fetched": "1" * 40,
        "incoming": "refs/duologue/incoming/origin/main",
    }
    corrupt = {
        "not-json": b'{"branch": "main", "files": [',
        "not-utf8": b"\xff\xfe{}",
        "a-list": b"[]",
        "missing-keys": json.dumps({k: v for k, v in whole.items() if k != "files"}).encode(),
        "bad-file-entry": json.dumps({**whole, "files": [{"path": "x"}]}).encode(),
        "unknown-key": json.dumps({**whole, "written_by": "a later duologue"}).encode(),
    }
    for name, content in corrupt.items():
        journal.write_bytes(content)
        result = run_duologue(pair.ben, "status")
        assert result.returncode == 0, (name, result.stderr)
        assert result.stderr == "", (name, result.stderr)
        assert not journal.exists(), name
        assert snapshot(pair.ben) == before, name

    # A changing command clears it as well, then does its work: here, refuses to put
    # Ana's post over a file of Ben's at its path, and changes nothing.
    mine = pair.ben / FIRST_POST
    mine.write_text("Ben's own file, where Ana's post arrives\n")
    journal.write_bytes(corrupt["not-json"])
    assert one_error(refused(pair.ben, "sync")) == (
        f"error: your local changes would be overwritten ({FIRST_POST} is there but not "
        "committed); commit or stash them, then run `duologue sync` again.\n"
    )
    assert not journal.exists()
    assert mine.read_text() == "Ben's own file, where Ana's post arrives\n"
    assert git(pair.ben, "rev-parse", "HEAD") == before["head"]
    assert git(pair.ben, "for-each-ref") == before["refs"]
    # The very bytes of the incoming post are no change of Ben's: sync takes them.
    mine.write_text((pair.ana / FIRST_POST).read_text())
    ok(pair.ben, "sync")
    assert git(pair.ben, "log", "-1", "--format=%s").strip() == "slow-work #1: Opening"
    assert (pair.ben / FIRST_POST).read_text() == (pair.ana / FIRST_POST).read_text()
    assert git(pair.ben, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_interrupted_sync_whose_branch_moved_since_is_cleaned_up(pair: Pair) -> None:
    """Killed before the branch moved; then the branch moved by other hands (a plain git
    commit). The journal is out of step with the branch: recovery removes the temporary
    files and the private fetch ref, keeps the refs that hold set-aside posts, moves
    nothing else, and the next sync works."""
    race(pair)
    killed(pair.ana, "sync-after-refs-kept", "sync")
    assert sync_leftovers(pair.ana)  # the staged copies of Ben's files and the draft
    kept = git(pair.ana, "for-each-ref", "--format=%(refname) %(objectname)", "refs/duologue/")
    assert "refs/duologue/unpublished/" in kept
    (pair.ana / "NOTES.md").write_text("my own notes\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "add notes")
    head = git(pair.ana, "rev-parse", "HEAD")

    result = run_duologue(pair.ana, "status")
    assert result.returncode == 0
    assert result.stderr == (
        "note: removed what an interrupted sync left behind (the branch had moved since).\n"
    )
    assert sync_leftovers(pair.ana) == []
    assert not (pair.ana / ".git" / SYNC_JOURNAL).exists()
    assert git(pair.ana, "rev-parse", "HEAD") == head
    assert git(pair.ana, "status", "--porcelain", "--untracked-files=all") == ""
    refs = git(pair.ana, "for-each-ref", "--format=%(refname) %(objectname)", "refs/duologue/")
    assert refs.splitlines() == [
        line for line in kept.splitlines() if "refs/duologue/incoming/" not in line
    ]
    assert "ANA'S WORDS" in (pair.ana / "series" / "slow-work" / "0002-ana-too.md").read_text()

    ok(pair.ana, "sync")
    assert "BEN'S WORDS" in (pair.ana / "series" / "slow-work" / "0002-ben-answers.md").read_text()
    drafts = list((pair.ana / "drafts" / "slow-work").glob("*.md"))
    assert len(drafts) == 1 and "ANA'S WORDS" in drafts[0].read_text()
    assert git(pair.ana, "log", "-1", "--format=%s").strip() == "add notes"
    ok(pair.ana, "check")


def test_an_interrupted_sync_finishes_around_what_changed_after_the_kill(pair: Pair) -> None:
    """Killed right after the branch moved; before the next command the user deletes the
    staged temporary files and puts their own things (an edit, a link, a folder, a fifo)
    where sync was to remove Ben's deleted files. Recovery writes again from git what it
    lost, and removes only what still holds the committed text."""
    ana, ben = pair.ana, pair.ben
    (ana / "notes").mkdir()
    for name in ("edited", "link", "folder", "fifo"):
        (ana / "notes" / f"{name}.txt").write_text(f"{name}: as committed\n")
    git(ana, "add", "notes")
    git(ana, "commit", "-qm", "notes")
    race(pair)
    git(ben, "rm", "-rq", "notes")
    git(ben, "commit", "-qm", "Ben tidies the notes away")
    ok(ben, "handoff")

    killed(ana, "sync-after-branch-moved", "sync")
    staged = sync_leftovers(ana)
    assert len(staged) == 2, staged  # Ben's post, and Ana's post going back to drafts
    for rel in staged:
        (ana / rel).unlink()
    folder = ana / "notes"
    (folder / "edited.txt").write_text("edited: Ana's change after the kill\n")
    (folder / "link.txt").unlink()
    (folder / "link.txt").symlink_to("edited.txt")
    (folder / "folder.txt").unlink()
    (folder / "folder.txt").mkdir()
    (folder / "folder.txt" / "inside.txt").write_text("kept\n")
    (folder / "fifo.txt").unlink()
    os.mkfifo(folder / "fifo.txt")

    result = run_duologue(ana, "status")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "note: finished an interrupted sync.\n"
    assert sync_leftovers(ana) == []
    assert not (ana / ".git" / SYNC_JOURNAL).exists()
    ben_post = "series/slow-work/0002-ben-answers.md"
    assert (ana / ben_post).read_text() == git(ana, "show", f"origin/main:{ben_post}")
    drafts = list((ana / "drafts" / "slow-work").glob("*.md"))
    assert len(drafts) == 1 and "ANA'S WORDS" in drafts[0].read_text()
    assert not (ana / "series" / "slow-work" / "0002-ana-too.md").exists()
    assert (folder / "edited.txt").read_text() == "edited: Ana's change after the kill\n"
    assert os.readlink(folder / "link.txt") == "edited.txt"
    assert (folder / "folder.txt" / "inside.txt").read_text() == "kept\n"
    assert (folder / "fifo.txt").is_fifo()
    assert git(ana, "rev-parse", "HEAD") == git(ana, "rev-parse", "origin/main")
    assert git(ana, "diff", "--cached", "--name-only") == ""  # the index is the new commit
    assert git(ana, "ls-files", "notes") == ""
    again = run_duologue(ana, "status")
    assert again.returncode == 0 and again.stderr == "", again.stderr


# -- sync needs the whole repository -------------------------------------------------------


def test_sync_in_a_subfolder_workspace_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    make_clone_identity(repo, "Ana Lima", "ana@example.com")
    (repo / "README.md").write_text("A project that also keeps letters.\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "The project")
    remote = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    root = repo / "letters"
    root.mkdir()
    ok(root, "init", "--title", "Letters", "--base-url", "https://letters.example/")
    log = git(repo, "log", "--format=%H")
    status = git(repo, "status", "--porcelain", "--untracked-files=all")

    stderr = one_error(refused(root, "sync"))
    assert stderr == "error: sync needs the workspace at the root of its git repository.\n"
    assert git(repo, "log", "--format=%H") == log
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == status
    refs = git(repo, "for-each-ref", "--format=%(refname)").split()
    assert refs == ["refs/heads/main", "refs/remotes/origin/main"]  # nothing fetched
    assert not (repo / ".git" / SYNC_JOURNAL).exists()
