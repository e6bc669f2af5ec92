"""publish, handoff and the build when things around them fail for real: a process killed
mid-write, a folder that cannot be written, a full or read-only disk, a stale git lock, the
user's own git hooks and signing key, a broken or wrongly dated series, many hand-offs at
once. Every case runs real git and the real CLI; disks are real tmpfs mounts."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.workspaces import commit_all
from tests.helpers import git, run_duologue
from tests.integration.conftest import (
    Pair,
    new_draft,
    ok,
    refused,
    snapshot,
    start_workspace,
)

TEMP_NAME = re.compile(r"\.tmp$|^duologue-index-|^tmp_obj")


def temp_files(root: Path) -> list[str]:
    """Every temporary file duologue (or git for it) could have left in the workspace."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".git/objects/") and not path.name.startswith("tmp_obj"):
            continue
        if TEMP_NAME.search(path.name):
            found.append(rel)
    return sorted(found)


def publish_env(**extra: str) -> dict[str, str]:
    return {"DUOLOGUE_LOCK_TIMEOUT": "5", **extra}


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points a test makes; unmounted afterwards, last first."""
    made: list[Path] = []
    yield made
    for path in reversed(made):
        umount(path)


def fill(folder: Path) -> None:
    """Write to ``folder`` until its file system has no byte left."""
    with (folder / "filler").open("wb") as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    # The last partial chunks: write byte by byte what still fits.
    with (folder / "filler2").open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass


def assert_clean_refusal(stderr: str) -> None:
    assert stderr.startswith("error: "), stderr
    assert "Traceback" not in stderr
    assert "unexpectedly" not in stderr, stderr


@pytest.fixture
def duo(tmp_path: Path) -> Pair:
    """Ana's workspace shared through a bare remote, and Ben's clone of it."""
    remote = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    ana = start_workspace(tmp_path / "ana")
    git(ana, "remote", "add", "origin", str(remote))
    ok(ana, "handoff")
    result = Pair(remote=remote, ana=ana, ben=tmp_path / "ben")
    result.clone("ben", "Ben Okafor", "ben@example.com")
    return result


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return start_workspace(tmp_path / "ws")


# -- 8: temporary files never outlive a kill or a failure ---------------------------------


def test_kill_between_temp_file_and_link_leaves_nothing_behind(tmp_path: Path) -> None:
    """Killed after the post's temporary file is written and before it is linked: the next
    command removes the temporary file, so handoff is not blocked by it."""
    remote = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    root = start_workspace(tmp_path / "ws")
    git(root, "remote", "add", "origin", str(remote))
    draft = new_draft(root, "Opening", "Ben,\n\nThe first letter.")
    before = snapshot(root)
    result = run_duologue(
        root, "publish", "slow-work", env=publish_env(DUOLOGUE_FAULT="after-temp-file")
    )
    assert result.returncode == -signal.SIGKILL
    assert temp_files(root), "the kill should have left the temporary post file"
    status = ok(root, "status")
    assert "slow-work" in status
    assert temp_files(root) == []
    assert snapshot(root) == before
    assert draft.exists()
    ok(root, "handoff")  # nothing untracked under series/ blocks it
    ok(root, "publish", "slow-work")
    ok(root, "handoff")
    assert temp_files(root) == []


def test_kill_during_the_commit_hooks_leaves_no_temporary_index(ws: Path) -> None:
    """A kill while the temporary index exists (the commit hooks running) leaves it in
    .git; the next writing command removes it."""
    new_draft(ws, "Opening", "Ben,\n\nThe first letter.")
    hook = ws / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nkill -9 $PPID\n")
    hook.chmod(0o755)
    result = run_duologue(ws, "publish", "slow-work", env=publish_env())
    assert result.returncode == -signal.SIGKILL
    assert any(name.startswith(".git/duologue-index-") for name in temp_files(ws))
    hook.unlink()
    ok(ws, "publish", "slow-work")
    assert temp_files(ws) == []
    ok(ws, "check")


def test_kill_after_the_journal_names_the_commit_rolls_back(ws: Path) -> None:
    """The commit object exists and the journal names it, but the branch has not moved."""
    draft = new_draft(ws, "Opening", "Ben,\n\nThe first letter.")
    before = snapshot(ws)
    result = run_duologue(
        ws, "publish", "slow-work", env=publish_env(DUOLOGUE_FAULT="after-journal-commit")
    )
    assert result.returncode == -signal.SIGKILL
    assert "undid an interrupted publish" in run_duologue(ws, "status").stderr
    assert snapshot(ws) == before
    assert draft.exists()
    assert temp_files(ws) == []


def test_a_hook_that_rewrites_the_post_and_refuses_leaves_nothing(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(
        ws, "pre-commit", 'for f in series/slow-work/0*.md; do echo x >> "$f"; done\nexit 1\n'
    )
    before = snapshot(ws)
    refused(ws, "publish", "slow-work")
    assert snapshot(ws) == before


def build_cache(root: Path) -> Path:
    return root / ".git" / "duologue" / "build-cache"


def test_build_sweeps_temporary_cache_files_of_dead_builds(ws: Path) -> None:
    ok(ws, "publish", str(new_draft(ws, "Opening", "Ben,\n\nHello.").relative_to(ws)))
    ok(ws, "build")
    cache = build_cache(ws)
    # The pid of a process that has ended: what a build killed while saving leaves.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = cache / f".bodies-slow-work.0.marshal.duologue-{dead.pid}-x1y2z3w4.tmp"
    stale.write_bytes(b"half a cache file")
    alive = cache / f".bodies-slow-work.0.marshal.duologue-{os.getpid()}-x1y2z3w4.tmp"
    alive.write_bytes(b"a build still running")
    (ws / "series" / "slow-work" / "0001-opening.md").write_text(
        (ws / "series" / "slow-work" / "0001-opening.md").read_text().replace("Hello", "Hi")
    )
    ok(ws, "build")
    assert not stale.exists()
    assert alive.exists()  # a live process's file is never touched


# -- 9: a folder publish cannot write -----------------------------------------------------


@pytest.fixture
def read_only(mounts: list[Path]) -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only for root too: a read-only bind mount of it onto itself."""

    def make(folder: Path) -> None:
        mount("--bind", str(folder), str(folder))
        mounts.append(folder)
        mount("-o", "remount,ro,bind", str(folder))

    yield make


def test_unwritable_drafts_folder_is_refused_before_the_commit(
    ws: Path, read_only: Callable[[Path], None]
) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    read_only(draft.parent)
    stderr = refused(ws, "publish", "slow-work", env=publish_env())
    assert "drafts/slow-work/ is not writable" in stderr
    assert "nothing was changed" in stderr
    assert snapshot(ws) == before
    ok(ws, "status")  # nothing blocks the next command


def test_draft_that_cannot_be_removed_after_the_commit_does_not_block(
    ws: Path,
    read_only: Callable[[Path], None],
) -> None:
    """Killed after the commit, and the drafts folder read-only when recovery finishes the
    publish: recovery says the draft is a safe leftover once, and every command works."""
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    result = run_duologue(ws, "publish", "slow-work", env=publish_env(DUOLOGUE_FAULT="after-stage"))
    assert result.returncode == -signal.SIGKILL
    read_only(draft.parent)
    first = run_duologue(ws, "status")
    assert first.returncode == 0, first.stderr
    assert "could not be removed" in first.stderr
    assert "only a copy of the published post" in first.stderr
    second = run_duologue(ws, "status")
    assert second.returncode == 0 and second.stderr == ""  # no loop, no repeated repair
    assert git(ws, "log", "-1", "--format=%s").startswith("slow-work #1: Opening")
    assert draft.exists()
    ok(ws, "check")


# -- 12: the user's hooks and signing key -------------------------------------------------


def write_hook(repo: Path, name: str, script: str) -> Path:
    """An executable hook in a clone, or in a bare repository's own hooks folder."""
    hooks = repo / ".git" / "hooks" if (repo / ".git").is_dir() else repo / "hooks"
    hook = hooks / name
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)
    return hook


def test_failing_pre_commit_hook_refuses_with_its_output(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(ws, "pre-commit", 'echo "spell check: teh is not a word" >&2\nexit 1\n')
    before = snapshot(ws)
    stderr = refused(ws, "publish", "slow-work")
    assert_clean_refusal(stderr)
    assert "pre-commit hook refused" in stderr
    assert "spell check: teh is not a word" in stderr
    assert "--no-verify" in stderr
    assert snapshot(ws) == before
    assert temp_files(ws) == []
    assert not (ws / ".git" / "duologue-publish.json").exists()
    out = ok(ws, "publish", "slow-work", "--no-verify")
    assert "published slow-work #1" in out
    assert not draft.exists()


def test_pre_commit_hook_sees_the_post_staged_and_on_disk(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    seen = ws.parent / "seen.txt"
    write_hook(
        ws,
        "pre-commit",
        f'git diff --cached --name-only > "{seen}"\n'
        f'for f in $(git diff --cached --name-only); do test -f "$f" || exit 3; done\n',
    )
    ok(ws, "publish", "slow-work")
    assert seen.read_text().split() == ["series/slow-work/0001-opening.md"]


def test_commit_msg_hook_adds_its_trailer(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(ws, "commit-msg", 'printf "Reviewed-by: The Hook <hook@example.com>\\n" >> "$1"\n')
    ok(ws, "publish", "slow-work")
    message = git(ws, "log", "-1", "--format=%B")
    assert "Reviewed-by: The Hook <hook@example.com>" in message
    assert "Duologue-Turn: 1" in message
    trailers = git(ws, "log", "-1", "--format=%(trailers:key=Reviewed-by,valueonly)")
    assert trailers.strip() == "The Hook <hook@example.com>"


def test_series_new_runs_the_hooks_and_honours_no_verify(ws: Path) -> None:
    write_hook(ws, "pre-commit", 'echo "no new series on Fridays"\nexit 1\n')
    before = git(ws, "rev-parse", "HEAD")
    args = ["series", "new", "fast-work", "--title", "Fast Work",
            "--author", "ana:Ana Lima <ana@example.com>",
            "--author", "ben:Ben Okafor <ben@example.com>"]  # fmt: skip
    stderr = refused(ws, *args)
    assert "no new series on Fridays" in stderr
    assert git(ws, "rev-parse", "HEAD") == before
    assert not (ws / "series" / "fast-work").exists()
    ok(ws, *args, "--no-verify")
    assert (ws / "series" / "fast-work" / "series.toml").exists()


@pytest.fixture
def gpg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A throwaway gpg key for Ana, in its own GNUPGHOME; returns its fingerprint."""
    assert shutil.which("gpg"), "gpg is needed for the signing tests"
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         "Ana Lima <ana@example.com>", "ed25519", "sign", "never"],
        check=True, capture_output=True,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))


def test_commit_gpgsign_signs_the_publish_commit(ws: Path, gpg_home: str) -> None:
    git(ws, "config", "user.signingkey", gpg_home)
    git(ws, "config", "commit.gpgsign", "true")
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    ok(ws, "publish", "slow-work")
    verified = subprocess.run(
        ["git", "verify-commit", "HEAD"], cwd=ws, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    assert "Good signature" in verified.stderr


def test_signing_that_fails_refuses_and_changes_nothing(ws: Path, gpg_home: str) -> None:
    git(ws, "config", "user.signingkey", "0000000000000000DEADBEEF0000000000000000")
    git(ws, "config", "commit.gpgsign", "true")
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    stderr = refused(ws, "publish", "slow-work")
    assert_clean_refusal(stderr)
    assert "signing failed" in stderr and "commit.gpgSign" in stderr
    assert snapshot(ws) == before
    assert temp_files(ws) == []


# -- 15: a series that fails check ---------------------------------------------------------


def test_publish_refuses_a_series_with_a_duplicate_turn(duo: Pair) -> None:
    ok(
        duo.ana,
        "publish",
        str(new_draft(duo.ana, "Opening", "Ben,\n\nHi.").relative_to(duo.ana)),
    )
    ok(duo.ana, "handoff")
    ok(duo.ben, "sync")
    ok(
        duo.ben,
        "publish",
        str(new_draft(duo.ben, "Ben's reply", "Ana,\n\nYes.").relative_to(duo.ben)),
    )
    ok(duo.ben, "handoff")
    # Ana answers too, out of turn, and then pulls by hand: two posts for turn 2.
    mine = new_draft(duo.ana, "Ana again", "Ben,\n\nOne more thing.", "--as", "ana")
    ok(duo.ana, "publish", str(mine.relative_to(duo.ana)), "--force")
    git(duo.ana, "pull", "-q", "--rebase", "origin", "main")
    posts = sorted(p.name for p in (duo.ana / "series" / "slow-work").glob("0002-*.md"))
    assert len(posts) == 2
    third = new_draft(duo.ana, "Third", "Ben,\n\nAnd now?", "--as", "ana")
    before = snapshot(duo.ana)
    stderr = refused(duo.ana, "publish", str(third.relative_to(duo.ana)), "--force")
    assert "series/slow-work fails `duologue check`" in stderr
    assert "turn 2 is taken twice" in stderr
    assert "duologue check" in stderr and "duologue sync" in stderr
    assert snapshot(duo.ana) == before


# -- 16 and 19: dates ----------------------------------------------------------------------


def commit_post_dated(root: Path, turn: int, author: str, date: str) -> Path:
    """A post committed with plain git, as a co-author's push can bring it."""
    path = root / "series" / "slow-work" / f"{turn:04d}-by-hand.md"
    answer = f"in_reply_to: {turn - 1}\n" if turn > 1 else ""
    path.write_text(
        f'---\ntitle: "By hand"\nauthor: {author}\ndate: {date}\nturn: {turn}\n{answer}---\n'
        "Dear friend,\n\nWritten by hand.\n"
    )
    commit_all(root, f"slow-work #{turn}: by hand")
    return path


def test_check_reports_a_post_dated_in_the_future(ws: Path) -> None:
    """A day of tolerance (clocks and time zones); years ahead is an error."""
    soon = (datetime.now(UTC) + timedelta(hours=13)).replace(microsecond=0).isoformat()
    commit_post_dated(ws, 1, "ana", soon)
    ok(ws, "check")
    commit_post_dated(ws, 2, "ben", "2031-05-01T09:00:00+00:00")
    result = run_duologue(ws, "check")
    assert result.returncode == 1
    flagged = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(flagged) == 1, result.stdout
    assert flagged[0].startswith("series/slow-work/0002-by-hand.md: error: ")
    assert "`date` 2031-05-01T09:00:00+00:00 lies more than a day in the future" in flagged[0]


def test_the_blocked_co_author_is_told_which_post_and_what_to_do(duo: Pair) -> None:
    """Ben dates his post years ahead (by hand, pushed with plain git); Ana's next publish
    names his post and its date instead of 'dates must not go backwards'."""
    ok(
        duo.ana,
        "publish",
        str(new_draft(duo.ana, "Opening", "Ben,\n\nHi.").relative_to(duo.ana)),
    )
    ok(duo.ana, "handoff")
    ok(duo.ben, "sync")
    commit_post_dated(duo.ben, 2, "ben", "2031-05-01T09:00:00+00:00")
    git(duo.ben, "push", "-q", "origin", "main")
    ok(duo.ana, "sync")
    draft = new_draft(duo.ana, "Re: by hand", "Ben,\n\nReally?")
    before = snapshot(duo.ana)
    stderr = refused(duo.ana, "publish", str(draft.relative_to(duo.ana)))
    assert "series/slow-work/0002-by-hand.md" in stderr
    assert "`date` 2031-05-01T09:00:00+00:00 lies more than a day in the future" in stderr
    assert "correct it" in stderr
    assert "backwards" not in stderr
    assert snapshot(duo.ana) == before


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((datetime.now(UTC) + timedelta(days=3)).isoformat(), "more than a day in the future"),
        ("2031-05-01T09:00:00+00:00", "more than a day in the future"),
        ("9999-12-31T23:59:59-12:00", "outside 1970-01-01 .. 2099-12-31"),
        ("1969-12-31T23:59:59+00:00", "outside 1970-01-01 .. 2099-12-31"),
        ("0001-01-01T00:00:00+00:00", "outside 1970-01-01 .. 2099-12-31"),
        ("2100-01-01T00:00:00+00:00", "outside 1970-01-01 .. 2099-12-31"),
    ],
    # Named, not shown: the first date is the clock's, and pytest-xdist's workers must
    # collect the same test ids.
    ids=["in-three-days", "in-2031", "year-9999", "1969", "year-1", "2100"],
)
def test_publish_refuses_a_date_it_cannot_honour(ws: Path, given: str, expected: str) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    stderr = refused(ws, "publish", "slow-work", "--date", given)
    assert_clean_refusal(stderr)
    assert "--date" in stderr and expected in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert snapshot(ws) == before


def test_publish_date_may_lie_at_most_a_day_ahead(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    later = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)
    assert "more than a day in the future" in refused(
        ws, "publish", "slow-work", "--date", later.isoformat()
    )
    soon = (datetime.now(UTC) + timedelta(hours=20)).replace(microsecond=0)
    ok(ws, "publish", "slow-work", "--date", soon.isoformat())
    ok(ws, "check")


def test_a_draft_dated_in_the_future_is_refused(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    draft.write_text(draft.read_text().replace("author: ana", "author: ana\ndate: 2030-01-01"))
    stderr = refused(ws, "publish", "slow-work")
    assert "drafts/slow-work/opening.md: `date` 2030-01-01T00:00:00+00:00" in stderr
    assert "more than a day in the future" in stderr


@pytest.mark.parametrize("date", ["1960-06-01T09:00:00+00:00", "2150-01-01T00:00:00+00:00"])
def test_check_reports_a_post_date_outside_the_range(ws: Path, date: str) -> None:
    commit_post_dated(ws, 1, "ana", date)
    result = run_duologue(ws, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stdout.splitlines() if "0001-by-hand.md" in line)
    assert "`date`" in line and "outside 1970-01-01 .. 2099-12-31" in line


# -- 17: git and the disk failing -----------------------------------------------------------


def test_publish_on_a_full_disk(tmp_path: Path, mounts: list[Path]) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk))
    mounts.append(disk)
    root = start_workspace(disk / "ws")
    draft = new_draft(root, "Opening", "Ben,\n\nEvery word of this must survive.")
    text = draft.read_text()
    before = snapshot(root)
    fill(disk)
    stderr = refused(root, "publish", "slow-work", env=publish_env())
    assert_clean_refusal(stderr)
    assert "the disk is full" in stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_OPTIONAL_LOCKS", "0")  # `git status` must not write on a full disk
        assert snapshot(root) == before
    assert draft.read_text() == text
    assert temp_files(root) == []
    (disk / "filler").unlink()
    ok(root, "publish", "slow-work")
    ok(root, "check")


@pytest.fixture
def objects_on_tmpfs(ws: Path, mounts: list[Path]) -> Path:
    """``.git/objects`` of ``ws`` moved onto its own small tmpfs."""
    objects = ws / ".git" / "objects"
    saved = ws.parent / "objects-copy"
    shutil.copytree(objects, saved)
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(objects))
    mounts.append(objects)
    shutil.copytree(saved, objects, dirs_exist_ok=True)
    return objects


def test_publish_when_git_objects_are_full(ws: Path, objects_on_tmpfs: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    fill(objects_on_tmpfs)
    stderr = refused(ws, "publish", "slow-work", env=publish_env())
    assert_clean_refusal(stderr)
    assert "the disk is full" in stderr and stderr.startswith("error: git could not ")
    assert snapshot(ws) == before
    assert draft.exists()
    for name in ("filler", "filler2"):
        (objects_on_tmpfs / name).unlink()
    ok(ws, "publish", "slow-work")


def test_publish_when_git_objects_are_read_only(ws: Path, objects_on_tmpfs: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    mount("-o", "remount,ro", str(objects_on_tmpfs))
    stderr = refused(ws, "publish", "slow-work", env=publish_env())
    assert_clean_refusal(stderr)
    assert "read-only file system" in stderr and stderr.startswith("error: git could not ")
    assert snapshot(ws) == before
    assert draft.exists()
    mount("-o", "remount,rw", str(objects_on_tmpfs))
    ok(ws, "publish", "slow-work")


def test_publish_with_a_stale_branch_lock(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    lock = ws / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    before = snapshot(ws)
    stderr = refused(ws, "publish", "slow-work", env=publish_env())
    assert_clean_refusal(stderr)
    assert str(lock) in stderr
    assert "another git process is running" in stderr and "stale lock" in stderr
    assert "the branch moved" not in stderr
    assert snapshot(ws) == before
    assert draft.exists()
    assert temp_files(ws) == []
    lock.unlink()
    ok(ws, "publish", "slow-work")


def test_refs_that_cannot_be_written(ws: Path, read_only: Callable[[Path], None]) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    before = snapshot(ws)
    read_only(ws / ".git" / "refs" / "heads")
    stderr = refused(ws, "publish", "slow-work", env=publish_env())
    assert_clean_refusal(stderr)
    assert "read-only file system" in stderr
    assert "the branch moved" not in stderr
    assert snapshot(ws) == before


# -- 18: hand-offs at once, and the pre-push hook ------------------------------------------


def ben_clones(duo: Pair, count: int) -> list[Path]:
    """``count`` clones of Ben's, each holding its own turn 2, not yet pushed."""
    ok(
        duo.ana,
        "publish",
        str(new_draft(duo.ana, "Opening", "Ben,\n\nHi.").relative_to(duo.ana)),
    )
    ok(duo.ana, "handoff")
    clones = []
    for number in range(count):
        clone = duo.clone(f"ben{number}", "Ben Okafor", "ben@example.com")
        draft = new_draft(clone, f"Reply {number}", f"Ana,\n\nAnswer number {number}.")
        ok(clone, "publish", str(draft.relative_to(clone)))
        clones.append(clone)
    return clones


def hand_off_at_once(clones: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    start = threading.Barrier(len(clones))
    results: list[subprocess.CompletedProcess[str] | None] = [None] * len(clones)

    def run(index: int) -> None:
        start.wait()
        results[index] = run_duologue(clones[index], "handoff")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def test_simultaneous_handoffs_all_losers_are_told_to_sync(duo: Pair) -> None:
    clones = ben_clones(duo, 6)
    # A remote that takes a second before it updates its branch (a busy server): every
    # push has sent the old value it expects before the first one lands, so the losers
    # lose at the remote's compare-and-swap ("failed to update ref"), not at the
    # advertisement ("fetch first"). Without it, which way each loses is up to the clock.
    write_hook(duo.remote, "pre-receive", "cat > /dev/null\nsleep 1\n")
    results = hand_off_at_once(clones)
    winners = [r for r in results if r.returncode == 0]
    losers = [r for r in results if r.returncode != 0]
    assert len(winners) == 1, [r.stderr for r in results]
    for loser in losers:
        assert loser.returncode == 1
        assert loser.stderr.startswith("error: the remote moved on:"), loser.stderr
        assert "duologue sync" in loser.stderr


def test_failing_pre_push_hook_shows_its_output(duo: Pair) -> None:
    draft = new_draft(duo.ana, "Opening", "Ben,\n\nHi.")
    ok(duo.ana, "publish", str(draft.relative_to(duo.ana)))
    write_hook(
        duo.ana, "pre-push", 'echo "pre-push: the link checker found 2 dead links"\nexit 1\n'
    )
    remote_before = git(duo.remote, "rev-parse", "main")
    stderr = refused(duo.ana, "handoff")
    assert_clean_refusal(stderr)
    assert "pre-push hook refused the push" in stderr
    assert "the link checker found 2 dead links" in stderr
    assert git(duo.remote, "rev-parse", "main") == remote_before


def test_a_clone_with_hooks_elsewhere(ws: Path) -> None:
    """core.hooksPath is honoured, as git honours it."""
    hooks = ws.parent / "team-hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text('#!/bin/sh\necho "team rule: no letters on Sunday"\nexit 1\n')
    (hooks / "pre-commit").chmod(0o755)
    git(ws, "config", "core.hooksPath", str(hooks))
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    stderr = refused(ws, "publish", "slow-work")
    assert "team rule: no letters on Sunday" in stderr
