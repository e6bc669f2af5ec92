"""``sync`` against hostile co-authors and failing machines, with real repositories: a
full disk (a real small tmpfs), a read-only folder (a real read-only bind mount), a kill
at every step, a force-pushed remote, hand-made merge commits and sparse checkouts."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import git, make_clone_identity, run_duologue
from tests.integration.conftest import Pair, new_draft, ok, refused, snapshot, start_workspace

SYNC_JOURNAL = Path(".git") / "duologue-sync.json"
BEFORE_THE_BRANCH_MOVES = [
    "sync-after-fetch",
    "sync-after-journal",
    "sync-mid-staging",
    "sync-after-staged",
    "sync-after-refs-kept",
]
AFTER_THE_BRANCH_MOVES = [
    "sync-after-branch-moved",
    "sync-after-files-removed",
    "sync-mid-placing",
    "sync-after-files-placed",
    "sync-after-drafts-placed",
    "sync-after-index",
    "sync-after-tracking-ref",
]
ANA_WORDS = "ANA'S SECOND LETTER: every one of these words must survive."
BEN_WORDS = "BEN'S ANSWER: every one of these words must arrive."


def make_pair(base: Path, ben: Path | None = None) -> Pair:
    """As ``tests/integration/conftest.py``'s ``pair``, with Ben's clone where asked."""
    remote = base / "shared.git"
    git(base, "init", "-q", "--bare", str(remote))
    ana = start_workspace(base / "ana")
    git(ana, "remote", "add", "origin", str(remote))
    ok(ana, "handoff")
    ben = ben or base / "ben"
    git(ben.parent, "clone", "-q", str(remote), ben.name)
    make_clone_identity(ben, "Ben Okafor", "ben@example.com")
    return Pair(remote=remote, ana=ana, ben=ben)


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return make_pair(tmp_path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_up(filler: Path, leave: int) -> None:
    """Fill the disk holding ``filler`` completely, then free ``leave`` bytes again."""
    chunk = b"\0" * 65536
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))


def state(clone: Path) -> dict[str, str]:
    """``snapshot`` without the private ref a fetch may leave (it holds no one's words)."""
    found = snapshot(clone)
    found["refs"] = "\n".join(
        line for line in found["refs"].splitlines() if "refs/duologue/incoming/" not in line
    )
    return found


def leftovers(clone: Path) -> list[str]:
    """Temporary files or a journal a sync left behind."""
    found = [
        p.relative_to(clone).as_posix()
        for p in clone.rglob("*")
        if ".git" not in p.relative_to(clone).parts and "duologue-sync" in p.name
    ]
    if (clone / SYNC_JOURNAL).exists():
        found.append(SYNC_JOURNAL.as_posix())
    return found


def words_in(clone: Path, folder: str) -> str:
    return "".join(p.read_text() for p in sorted((clone / folder).rglob("*.md")))


# -- 5: a full disk, a read-only folder ----------------------------------------------------


def test_sync_on_a_full_disk_leaves_no_partial_file_and_works_once_space_is_freed(
    tmp_path: Path, small_disk: Path
) -> None:
    pair = make_pair(tmp_path, small_disk / "ben")
    # About 350 KB on disk, a few KB packed: the fetch fits, the post does not.
    paragraphs = (f"Paragraph {n}: slow work is patient work. " * 30 for n in range(300))
    new_draft(pair.ana, "A long letter", "Ben,\n\n" + "\n\n".join(paragraphs))
    ok(pair.ana, "publish", "slow-work", "--push")
    post = git(pair.ana, "show", "--name-only", "--format=", "HEAD").strip()
    before = snapshot(pair.ben)
    filler = small_disk / "filler"
    fill_up(filler, leave=128 * 1024)

    result = run_duologue(pair.ben, "sync")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "No space left on device" in result.stderr and post in result.stderr
    assert "Traceback" not in result.stderr and "local changes" not in result.stderr
    assert snapshot(pair.ben) == before  # no partial file, refs (origin/main too) unmoved
    assert leftovers(pair.ben) == []
    rows = ok(pair.ben, "status")
    assert "no posts yet" in rows

    filler.unlink()
    out = ok(pair.ben, "sync")
    assert "brought in 1 commit" in out
    assert (pair.ben / post).read_text() == (pair.ana / post).read_text()
    assert git(pair.ben, "status", "--porcelain", "--untracked-files=all") == ""
    ok(pair.ben, "check")


def test_sync_into_a_read_only_folder_changes_nothing_and_works_once_writable(
    pair: Pair,
) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nShall we begin?")
    ok(pair.ana, "publish", "slow-work", "--push")
    post = git(pair.ana, "show", "--name-only", "--format=", "HEAD").strip()
    folder = pair.ben / "series" / "slow-work"
    before = snapshot(pair.ben)
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        error = refused(pair.ben, "sync")
        assert "Read-only file system" in error and post in error, error
        assert "local changes" not in error
        assert snapshot(pair.ben) == before
        assert leftovers(pair.ben) == []
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    ok(pair.ben, "sync")
    assert (pair.ben / post).read_text() == (pair.ana / post).read_text()


# -- 6: killed at every step ----------------------------------------------------------------


def race(pair: Pair) -> None:
    """Ben publishes turn 2 and edits the series; Ana, not knowing, publishes turn 2 too
    and commits notes, with an untracked file and a staged one in her work tree."""
    new_draft(pair.ana, "Opening", "Ben,\n\nShall we begin?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Ben answers", f"Ana,\n\n{BEN_WORDS}")
    ok(pair.ben, "publish", "slow-work")
    toml = pair.ben / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text() + "# Ben was here\n")
    git(pair.ben, "commit", "-qam", "describe the series")
    ok(pair.ben, "handoff")
    new_draft(pair.ana, "Ana too", f"Ben,\n\n{ANA_WORDS}")
    ok(pair.ana, "publish", "slow-work", "--force")
    (pair.ana / "NOTES.md").write_text("my own notes\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "add notes")
    (pair.ana / "scratch.txt").write_text("untracked\n")
    (pair.ana / "staged.txt").write_text("staged\n")
    git(pair.ana, "add", "staged.txt")


def assert_synced(pair: Pair) -> None:
    """The whole sync happened: Ben's commits, Ana's notes on top, her post a draft."""
    ana = pair.ana
    remote = git(ana, "ls-remote", str(pair.remote), "refs/heads/main").split()[0]
    assert git(ana, "rev-parse", "refs/remotes/origin/main").strip() == remote
    assert git(ana, "rev-parse", "HEAD^").strip() == remote
    assert git(ana, "log", "-1", "--format=%s").strip() == "add notes"
    posts = sorted(p.name for p in (ana / "series" / "slow-work").glob("*.md"))
    assert posts == ["0001-opening.md", "0002-ben-answers.md"]
    for path in ("series/slow-work/0002-ben-answers.md", "series/slow-work/series.toml"):
        assert (ana / path).read_text() == git(ana, "show", f"origin/main:{path}")
    drafts = list((ana / "drafts" / "slow-work").glob("*.md"))
    assert len(drafts) == 1 and ANA_WORDS in drafts[0].read_text()
    status = sorted(git(ana, "status", "--porcelain", "--untracked-files=all").splitlines())
    assert status == [
        "?? " + drafts[0].relative_to(ana).as_posix(),
        "?? scratch.txt",
        "A  staged.txt",
    ]
    assert git(ana, "for-each-ref", "--format=%(refname)", "refs/duologue/unpublished/")
    assert git(ana, "for-each-ref", "refs/duologue/incoming/") == ""


@pytest.mark.parametrize("step", BEFORE_THE_BRANCH_MOVES + AFTER_THE_BRANCH_MOVES)
def test_sync_killed_at_each_step_loses_no_word(pair: Pair, step: str) -> None:
    race(pair)
    before = state(pair.ana)
    killed = run_duologue(pair.ana, "sync", env={"DUOLOGUE_FAULT": step})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr

    ok(pair.ana, "status")  # the next command, whichever, finishes or undoes it
    assert leftovers(pair.ana) == []
    if step in BEFORE_THE_BRANCH_MOVES:
        assert state(pair.ana) == before
        assert ANA_WORDS in words_in(pair.ana, "series")
    else:
        assert_synced(pair)
        assert ANA_WORDS in words_in(pair.ana, "drafts")
        assert ANA_WORDS not in words_in(pair.ana, "series")
        assert BEN_WORDS in words_in(pair.ana, "series")
    ok(pair.ana, "check")

    ok(pair.ana, "sync")  # and from either state the next sync ends in the same place
    assert_synced(pair)
    ok(pair.ana, "check")


# -- a hostile tree: sync writes files itself now, so it must refuse what git refuses ----


def test_a_pushed_path_git_would_not_check_out_is_refused_and_changes_nothing(
    pair: Pair,
) -> None:
    """A crafted tree (``.GIT/config``: a hooks path on a case-insensitive disk)."""

    def plumbing(*args: str, stdin: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=pair.ben, input=stdin, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    config = plumbing("hash-object", "-w", "--stdin", stdin="[core]\n\thooksPath = /tmp\n")
    inner = plumbing("mktree", stdin=f"100644 blob {config}\tconfig\n")
    tree = plumbing(
        "mktree", stdin=git(pair.ben, "ls-tree", "HEAD") + f"040000 tree {inner}\t.GIT\n"
    )
    commit = git(pair.ben, "commit-tree", tree, "-p", "HEAD", "-m", "hostile").strip()
    git(pair.ben, "push", "-q", "origin", f"{commit}:refs/heads/main")
    before = state(pair.ana)
    error = refused(pair.ana, "sync")
    assert "'.GIT/config'" in error and "local changes" not in error, error
    assert state(pair.ana) == before
    assert not (pair.ana / ".GIT").exists()


# -- 7: a force-pushed remote ---------------------------------------------------------------


def test_a_force_pushed_remote_is_refused_every_time(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Answer", "Ana,\n\nHello back.")
    ok(pair.ben, "publish", "slow-work")
    post = next((pair.ana / "series" / "slow-work").glob("0001-*.md"))
    post.write_text(post.read_text().replace("title: Opening", "title: Amended"))
    git(pair.ana, "commit", "-q", "--amend", "-a", "--no-edit")
    git(pair.ana, "push", "-q", "-f", "origin", "main")
    seen = git(pair.ben, "rev-parse", "refs/remotes/origin/main")
    before = state(pair.ben)
    for _ in range(3):
        assert "rewritten" in refused(pair.ben, "sync")
        assert git(pair.ben, "rev-parse", "refs/remotes/origin/main") == seen
        assert state(pair.ben) == before
    refused(pair.ben, "handoff")
    assert (
        "title: Opening" in next((pair.ben / "series" / "slow-work").glob("0001-*.md")).read_text()
    )


# -- 22: hand-made merge commits ------------------------------------------------------------


def describe(clone: Path, line: str) -> None:
    toml = clone / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text() + line)
    git(clone, "commit", "-qam", f"describe: {line.strip()}")


def test_a_pulled_merge_is_replayed_when_its_sides_touch_different_files(pair: Pair) -> None:
    (pair.ana / "NOTES.md").write_text("my own notes\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "add notes")
    describe(pair.ben, "# one\n")
    ok(pair.ben, "handoff")
    git(pair.ana, "pull", "-q", "--no-rebase", "--no-edit")  # a merge commit, by hand
    describe(pair.ben, "# two\n")
    ok(pair.ben, "handoff")

    out = ok(pair.ana, "sync")
    assert "replayed yours on top" in out
    assert (pair.ana / "NOTES.md").read_text() == "my own notes\n"
    toml = (pair.ana / "series" / "slow-work" / "series.toml").read_text()
    assert "# one\n" in toml and "# two\n" in toml
    assert git(pair.ana, "rev-list", "--merges", "origin/main..HEAD") == ""
    assert git(pair.ana, "log", "--format=%s", "origin/main..HEAD").split("\n")[0] == "add notes"
    assert git(pair.ana, "status", "--porcelain") == ""
    ok(pair.ana, "check")
    ok(pair.ana, "handoff")


def test_a_post_on_a_merged_side_branch_goes_back_to_drafts(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    git(pair.ana, "checkout", "-q", "-b", "side")
    new_draft(pair.ana, "Mine", f"Ben,\n\n{ANA_WORDS}")
    ok(pair.ana, "publish", "slow-work", "--force")
    git(pair.ana, "checkout", "-q", "main")
    (pair.ana / "IDEAS.md").write_text("ideas\n")
    git(pair.ana, "add", "IDEAS.md")
    git(pair.ana, "commit", "-qm", "ideas")
    git(pair.ana, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    new_draft(pair.ben, "Answer", f"Ana,\n\n{BEN_WORDS}")
    ok(pair.ben, "publish", "slow-work", "--push")

    ok(pair.ana, "sync")
    assert ANA_WORDS in words_in(pair.ana, "drafts")
    assert ANA_WORDS not in words_in(pair.ana, "series")
    assert BEN_WORDS in words_in(pair.ana, "series")
    assert (pair.ana / "IDEAS.md").read_text() == "ideas\n"
    ok(pair.ana, "check")


def test_a_merge_with_changes_of_its_own_is_refused_and_changes_nothing(pair: Pair) -> None:
    git(pair.ana, "checkout", "-q", "-b", "side")
    (pair.ana / "IDEAS.md").write_text("ideas\n")
    git(pair.ana, "add", "IDEAS.md")
    git(pair.ana, "commit", "-qm", "ideas")
    git(pair.ana, "checkout", "-q", "main")
    (pair.ana / "NOTES.md").write_text("notes\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "notes")
    git(pair.ana, "merge", "-q", "--no-ff", "--no-commit", "side")
    (pair.ana / "ONLY-IN-THE-MERGE.md").write_text("words that exist only in the merge\n")
    git(pair.ana, "add", "ONLY-IN-THE-MERGE.md")
    git(pair.ana, "commit", "-qm", "merge side, and a file of its own")
    describe(pair.ben, "# ben\n")
    ok(pair.ben, "handoff")
    before = state(pair.ana)

    error = refused(pair.ana, "sync")
    assert "merge commit" in error and "nothing was changed" in error
    assert state(pair.ana) == before
    assert (pair.ana / "ONLY-IN-THE-MERGE.md").exists()


# -- 14: sparse checkouts -------------------------------------------------------------------


def two_posts(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Answer", "Ana,\n\nHello back.")
    ok(pair.ben, "publish", "slow-work", "--push")
    ok(pair.ana, "sync")


def test_a_sparse_checkout_that_hides_posts_is_refused(pair: Pair) -> None:
    two_posts(pair)
    git(pair.ana, "sparse-checkout", "set", "--no-cone", "/*", "!/series/slow-work/0001-*")
    assert not (pair.ana / "series" / "slow-work" / "0001-opening.md").exists()
    for command in (["status"], ["check"], ["build"], ["sync"], ["status", "--json"]):
        error = refused(pair.ana, *command)
        assert "sparse checkout" in error and "series/slow-work/0001-opening.md" in error, error
        assert "git sparse-checkout disable" in error
    assert not (pair.ana / "public").exists()

    git(pair.ana, "sparse-checkout", "disable")  # its file stays behind: no false alarm
    assert (pair.ana / ".git" / "info" / "sparse-checkout").exists()
    assert "2 posts" in ok(pair.ana, "status")
    ok(pair.ana, "check")
    ok(pair.ana, "build")
    assert (pair.ana / "public" / "slow-work").is_dir()


def test_a_post_hidden_by_skip_worktree_is_refused_by_check_and_sync(pair: Pair) -> None:
    two_posts(pair)
    hidden = "series/slow-work/0001-opening.md"
    git(pair.ana, "update-index", "--skip-worktree", "--", hidden)
    (pair.ana / hidden).unlink()
    for command in ("check", "sync"):
        error = refused(pair.ana, command)
        assert "skip-worktree" in error and hidden in error, error
    git(pair.ana, "update-index", "--no-skip-worktree", "--", hidden)
    git(pair.ana, "checkout", "--", hidden)
    ok(pair.ana, "check")
    ok(pair.ana, "sync")
