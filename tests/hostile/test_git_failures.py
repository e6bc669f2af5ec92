"""The git boundary failing for real: remotes that are missing, empty, unrelated, behind
or refusing (a pre-receive hook, a stale lock on the server, a post-receive hook that
drops or breaks what was pushed), and a clone whose own git is in the way (a stale
lock, an immutable folder, staged changes, merges sync cannot replay, a path git
refuses). Real repositories in ``tmp_path``, the real CLI in a subprocess; where only a
rare machine reaches a branch, the pure functions of ``duologue.git.failures`` get real
git stderr, and the ``Repository`` methods no command calls get real clones."""

from __future__ import annotations

import errno
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from git import Git as GitCommand
from git.exc import GitCommandError

from duologue.errors import GitFailure
from duologue.git.failures import (
    BRANCH_MOVED,
    HOOK_OUTPUT_CHARS,
    HOOK_OUTPUT_LINES,
    classify_git_stderr,
    explained,
    first_line_of,
    hook_output_text,
    stderr_text,
)
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

ANA_WORDS = "ANA'S LETTER: every one of these words must survive."
BEN_WORDS = "BEN'S ANSWER: every one of these words must survive too."


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pair`` made once, copied for each test."""
    return pair_template(tmp_path_factory, "git-failures")


@pytest.fixture
def pair(template: Path, tmp_path: Path) -> Pair:
    return copied_pair(template, tmp_path)


def sentence(clone: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``refused``, and the refusal is one line: one ``error:`` sentence."""
    stderr = refused(clone, *args, env=env)
    assert stderr.count("\n") == 1, stderr
    return stderr


def state(clone: Path) -> dict[str, str]:
    """``snapshot`` without the private ref a fetch may leave (it holds no one's words)."""
    found = snapshot(clone)
    found["refs"] = "\n".join(
        line for line in found["refs"].splitlines() if "refs/duologue/incoming/" not in line
    )
    return found


def write_hook(repo: Path, name: str, body: str) -> None:
    hook = repo / "hooks" / name
    hook.write_text(f"#!/bin/sh\n{body}")
    hook.chmod(0o755)


def remote_main(pair: Pair) -> str:
    return git(pair.remote, "rev-parse", "refs/heads/main").strip()


def head(clone: Path) -> str:
    return git(clone, "rev-parse", "HEAD").strip()


def commit_file(clone: Path, name: str, text: str) -> str:
    (clone / name).write_text(text)
    git(clone, "add", name)
    git(clone, "commit", "-qm", f"add {name}")
    return head(clone)


def describe(clone: Path, line: str) -> None:
    toml = clone / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text() + line)
    git(clone, "commit", "-qam", f"describe: {line.strip()}")


def ana_posts_the_opening(pair: Pair) -> str:
    """Ana publishes turn 1 and hands it off; the post's path."""
    new_draft(pair.ana, "Opening", f"Ben,\n\n{ANA_WORDS}")
    ok(pair.ana, "publish", "slow-work", "--push")
    return git(pair.ana, "show", "--name-only", "--format=", "HEAD").strip()


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """``chattr +i``: even root cannot create a file in ``folder`` (EPERM)."""
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


# -- remotes that are not there, or hold nothing, or something else ---------------------


def test_a_remote_url_naming_a_missing_folder_is_refused_and_nothing_moves(
    pair: Pair, tmp_path: Path
) -> None:
    draft = new_draft(pair.ana, "Opening", f"Ben,\n\n{ANA_WORDS}")
    ok(pair.ana, "publish", "slow-work")
    gone = tmp_path / "moved-away.git"
    git(pair.ana, "remote", "set-url", "origin", str(gone))
    before = state(pair.ana)

    error = sentence(pair.ana, "sync")
    assert error.startswith("error: could not fetch from 'origin': "), error
    assert str(gone) in error and "does not appear to be a git repository" in error
    assert state(pair.ana) == before
    error = sentence(pair.ana, "handoff")
    assert error.startswith("error: could not push to 'origin': "), error
    assert str(gone) in error and "does not appear to be a git repository" in error
    assert state(pair.ana) == before
    assert not draft.exists() and ANA_WORDS in git(pair.ana, "show", "HEAD")

    git(pair.ana, "remote", "set-url", "origin", str(pair.remote))
    ok(pair.ana, "handoff")
    assert remote_main(pair) == head(pair.ana)


def test_a_remote_url_naming_a_missing_folder_says_what_to_do(pair: Pair, tmp_path: Path) -> None:
    git(pair.ana, "remote", "set-url", "origin", str(tmp_path / "moved-away.git"))
    for command in ("sync", "handoff"):
        error = sentence(pair.ana, command)
        assert "fatal:" not in error, error
        assert "git remote" in error, error


def test_sync_from_an_empty_remote_says_there_is_nothing_yet(pair: Pair, tmp_path: Path) -> None:
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    git(pair.ben, "remote", "add", "fresh", str(empty))
    before = snapshot(pair.ben)

    out = ok(pair.ben, "sync", "--remote", "fresh")
    assert "fresh has no main yet; run `duologue handoff` to share yours." in out
    assert snapshot(pair.ben) == before  # no private ref left behind either

    ok(pair.ben, "handoff", "--remote", "fresh")
    assert git(empty, "rev-parse", "main").strip() == head(pair.ben)
    assert "already up to date with fresh" in ok(pair.ben, "sync", "--remote", "fresh")


def test_a_remote_with_an_unrelated_history_is_refused_and_nothing_moves(
    pair: Pair, tmp_path: Path
) -> None:
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    carl = tmp_path / "carl"
    carl.mkdir()
    git(carl, "init", "-q")
    make_clone_identity(carl, "Carl Berg", "carl@example.com")
    ok(carl, "init", "--title", "Other letters")  # another `duologue init`: no shared commit
    git(carl, "push", "-q", str(other), "main")
    theirs = git(other, "rev-parse", "main").strip()
    new_draft(pair.ana, "Opening", f"Ben,\n\n{ANA_WORDS}")
    ok(pair.ana, "publish", "slow-work")
    git(pair.ana, "remote", "add", "carl", str(other))
    before = snapshot(pair.ana)

    error = sentence(pair.ana, "sync", "--remote", "carl")
    assert "your branch and the remote's share no history; nothing was changed." in error
    assert snapshot(pair.ana) == before  # the fetched history is not kept under a ref
    error = sentence(pair.ana, "handoff", "--remote", "carl")
    assert "the remote moved on" in error and "duologue sync" in error
    assert git(other, "rev-parse", "main").strip() == theirs
    assert snapshot(pair.ana) == before
    assert ANA_WORDS in git(pair.ana, "show", "HEAD")


def test_a_clone_with_no_commits_is_told_to_clone_and_has_nothing_to_hand_off(
    pair: Pair, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    make_clone_identity(fresh, "Ben Okafor", "ben@example.com")
    (fresh / "duologue.toml").write_text((pair.ana / "duologue.toml").read_text())
    for folder in ("series", "drafts"):
        (fresh / folder).mkdir()
    git(fresh, "remote", "add", "origin", str(pair.remote))
    remote_before = remote_main(pair)

    error = sentence(fresh, "sync")
    assert "this clone has no commits yet; clone the shared repository instead." in error
    assert git(fresh, "for-each-ref") == ""  # not even the private fetch ref is left

    # Ignored, the workspace passes handoff's "nothing uncommitted" look; git has no commit.
    (fresh / ".git" / "info" / "exclude").write_text("duologue.toml\nseries/\n")
    assert "there are no commits to hand off yet." in sentence(fresh, "handoff")
    assert remote_main(pair) == remote_before
    assert (fresh / "duologue.toml").exists()


# -- pushes the remote refuses, or takes and then loses -------------------------------------


def test_a_handoff_behind_the_remote_is_told_to_sync_and_keeps_the_commit(pair: Pair) -> None:
    commit_file(pair.ben, "BEN.md", f"{BEN_WORDS}\n")
    ok(pair.ben, "handoff")
    bens = remote_main(pair)
    notes = commit_file(pair.ana, "NOTES.md", f"{ANA_WORDS}\n")
    before = snapshot(pair.ana)

    error = sentence(pair.ana, "handoff")
    assert "the remote moved on: 'origin' has posts you do not have yet." in error
    assert "`duologue sync`, then `duologue handoff` again" in error
    assert remote_main(pair) == bens
    assert snapshot(pair.ana) == before and head(pair.ana) == notes

    ok(pair.ana, "sync")
    ok(pair.ana, "handoff")
    assert git(pair.remote, "log", "--format=%s", "-2", "main").split("\n")[:2] == [
        "add NOTES.md",
        "add BEN.md",
    ]


def test_a_pre_receive_hook_refusal_shows_its_output_bounded(pair: Pair) -> None:
    commit_file(pair.ana, "NOTES.md", f"{ANA_WORDS}\n")
    write_hook(
        pair.remote,
        "pre-receive",
        'printf "policy: bell\\007 esc\\033]0;owned\\007 end\\n"\n'
        'for n in $(seq 2 60); do echo "policy line $n"; done\nexit 1\n',
    )
    remote_before = remote_main(pair)
    mine = head(pair.ana)

    error = refused(pair.ana, "handoff")
    assert error.startswith("error: 'origin' refused the push: [remote rejected] (pre-receive")
    assert "moved on" not in error
    assert "remote: policy: bell? esc?]0;owned? end" in error  # control characters as ?
    assert "\x1b" not in error and "\x07" not in error
    assert "\n  remote: policy line 2\n  remote: policy line 3" in error  # lines, not "\\n"
    shown = re.findall(r"policy line (\d+)", error)
    assert shown == [str(n) for n in range(2, HOOK_OUTPUT_LINES + 1)]  # 40 lines, no more
    assert error.rstrip().endswith("…")
    assert remote_main(pair) == remote_before and head(pair.ana) == mine

    (pair.remote / "hooks" / "pre-receive").unlink()
    ok(pair.ana, "handoff")
    assert remote_main(pair) == mine


def test_a_remote_that_drops_the_pushed_branch_is_reported(pair: Pair) -> None:
    write_hook(
        pair.remote,
        "post-receive",
        "while read old new ref; do\n"
        "  git update-ref refs/backup/refs/heads/main $new\n"
        "  git update-ref -d $ref\n"
        "done\n",
    )
    mine = commit_file(pair.ana, "NOTES.md", "my own notes\n")
    error = sentence(pair.ana, "handoff")
    assert "'origin' does not show the pushed commit (it has nothing)" in error
    assert "run `duologue sync` and try again." in error
    assert head(pair.ana) == mine
    assert git(pair.remote, "rev-parse", "refs/backup/refs/heads/main").strip() == mine


def test_a_remote_that_breaks_right_after_the_push_is_reported(pair: Pair) -> None:
    write_hook(pair.remote, "post-receive", "cat > /dev/null\nmv HEAD HEAD.gone\n")
    mine = commit_file(pair.ana, "NOTES.md", "my own notes\n")
    error = sentence(pair.ana, "handoff")
    assert error.startswith("error: could not confirm the push with 'origin': "), error
    assert "does not appear to be a git repository" in error
    assert head(pair.ana) == mine

    (pair.remote / "HEAD.gone").rename(pair.remote / "HEAD")
    (pair.remote / "hooks" / "post-receive").unlink()
    assert remote_main(pair) == mine  # the push itself had gone through
    ok(pair.ana, "handoff")


def test_a_stale_lock_on_the_remote_shows_what_the_remote_said(pair: Pair) -> None:
    lock = pair.remote / "refs" / "heads" / "main.lock"
    lock.write_text("")
    remote_before = remote_main(pair)
    mine = commit_file(pair.ana, "NOTES.md", "my own notes\n")

    error = refused(pair.ana, "handoff")
    assert error.startswith("error: 'origin' refused the push: [remote rejected]"), error
    assert "remote: error: cannot lock ref 'refs/heads/main'" in error and "main.lock" in error
    assert "moved on" not in error  # the branch did not move: nobody else got there
    assert remote_main(pair) == remote_before and head(pair.ana) == mine

    # And when the remote cannot even be asked again whether it moved.
    lock.unlink()
    write_hook(
        pair.remote,
        "pre-receive",
        "cat > /dev/null\ntouch refs/heads/main.lock\nmv HEAD HEAD.gone\n",
    )
    error = refused(pair.ana, "handoff")
    assert error.startswith("error: 'origin' refused the push: [remote rejected]"), error
    assert "moved on" not in error
    (pair.remote / "HEAD.gone").rename(pair.remote / "HEAD")
    (pair.remote / "hooks" / "pre-receive").unlink()
    lock.unlink()
    assert remote_main(pair) == remote_before
    ok(pair.ana, "handoff")
    assert remote_main(pair) == mine


# -- the clone's own git in the way ---------------------------------------------------------


def test_a_stale_index_lock_stops_sync_before_anything_moves(pair: Pair) -> None:
    post = ana_posts_the_opening(pair)
    lock = pair.ben / ".git" / "index.lock"
    lock.write_text("")
    before = snapshot(pair.ben)

    error = sentence(pair.ben, "sync")
    assert "another git process is running here (.git/index.lock exists)" in error
    assert "remove the lock if no git is running" in error
    assert snapshot(pair.ben) == before  # not even fetched: origin/main did not move
    assert not (pair.ben / post).exists()

    lock.unlink()
    ok(pair.ben, "sync")
    assert (pair.ben / post).read_text() == (pair.ana / post).read_text()


def test_staged_changes_to_a_file_sync_would_change_are_kept(pair: Pair) -> None:
    describe(pair.ana, "# Ana's description\n")
    ok(pair.ana, "handoff")
    toml = pair.ben / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text() + "# Ben's staged note\n")
    git(pair.ben, "add", str(toml))
    staged = git(pair.ben, "diff", "--cached")
    before = state(pair.ben)

    error = sentence(pair.ben, "sync")
    assert "your local changes would be overwritten" in error
    assert "series/slow-work/series.toml has staged changes" in error
    assert "commit or stash them, then run `duologue sync` again." in error
    assert state(pair.ben) == before and git(pair.ben, "diff", "--cached") == staged
    assert "# Ben's staged note" in toml.read_text()


def test_a_folder_git_may_not_write_in_is_named_as_a_permission_problem(pair: Pair) -> None:
    draft = new_draft(pair.ana, "Opening", f"Ben,\n\n{ANA_WORDS}")
    text = draft.read_text()
    before = snapshot(pair.ana)
    with immutable(pair.ana / ".git" / "refs" / "heads"):
        error = sentence(pair.ana, "publish", "slow-work")
    assert "git could not move the branch main to the new commit: permission denied" in error
    assert "Operation not permitted" in error and "the branch moved" not in error
    assert "make the repository's .git folder writable for you, then try again." in error
    assert snapshot(pair.ana) == before and draft.read_text() == text
    ok(pair.ana, "publish", "slow-work")


def test_a_stale_lock_on_the_private_fetch_ref_is_named_as_a_lock(pair: Pair) -> None:
    post = ana_posts_the_opening(pair)
    lock = pair.ben / ".git" / "refs" / "duologue" / "incoming" / "origin" / "main.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    before = state(pair.ben)
    error = sentence(pair.ben, "sync")
    assert state(pair.ben) == before and not (pair.ben / post).exists()
    assert ".." not in error, error
    assert "stale lock" in error and str(lock) in error, error


def test_a_stale_lock_on_the_tracking_ref_is_named_as_a_lock(pair: Pair) -> None:
    post = ana_posts_the_opening(pair)
    lock = pair.ben / ".git" / "refs" / "remotes" / "origin" / "main.lock"
    lock.write_text("")
    error = sentence(pair.ben, "sync")
    # Nothing is lost: the branch moved and Ana's post is in Ben's work tree.
    assert head(pair.ben) == remote_main(pair)
    assert (pair.ben / post).read_text() == (pair.ana / post).read_text()
    assert "stale lock" in error and str(lock) in error, error
    assert "run the command again" not in error, error
    lock.unlink()
    assert "finished an interrupted sync" in run_duologue(pair.ben, "status").stderr
    assert git(pair.ben, "status", "--porcelain") == ""


def test_a_stale_index_lock_while_finishing_an_interrupted_sync_is_named(pair: Pair) -> None:
    post = ana_posts_the_opening(pair)
    killed = run_duologue(pair.ben, "sync", env={"DUOLOGUE_FAULT": "sync-after-drafts-placed"})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    lock = pair.ben / ".git" / "index.lock"
    lock.write_text("")
    error = sentence(pair.ben, "status")
    assert (pair.ben / post).read_text() == (pair.ana / post).read_text()
    assert "stale lock" in error and "remove" in error, error
    assert "run any duologue command to try again" not in error, error
    lock.unlink()
    assert "finished an interrupted sync" in run_duologue(pair.ben, "status").stderr
    assert git(pair.ben, "status", "--porcelain") == ""


# -- histories sync must not take apart -----------------------------------------------------


def plumbing(cwd: Path, *args: str, stdin: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_pushed_ntfs_alias_of_the_git_folder_is_refused(pair: Pair) -> None:
    config = plumbing(pair.ben, "hash-object", "-w", "--stdin", stdin="[core]\n\thooksPath = /x\n")
    inner = plumbing(pair.ben, "mktree", stdin=f"100644 blob {config}\tconfig\n")
    tree = plumbing(
        pair.ben, "mktree", stdin=git(pair.ben, "ls-tree", "HEAD") + f"040000 tree {inner}\tgit~1\n"
    )
    commit = git(pair.ben, "commit-tree", tree, "-p", "HEAD", "-m", "hostile").strip()
    git(pair.ben, "push", "-q", "origin", f"{commit}:refs/heads/main")
    assert "invalid path 'git~1/config'" in subprocess.run(
        ["git", "read-tree", "-n", "-m", "-u", "HEAD", commit],
        cwd=pair.ben, capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip
    before = state(pair.ana)
    error = sentence(pair.ana, "sync")
    assert "'git~1/config'" in error, error
    assert state(pair.ana) == before
    assert not (pair.ana / "git~1").exists()


def test_a_pushed_name_held_twice_is_refused_before_anything_moves(pair: Pair) -> None:
    """A crafted tree holding ``notes`` as a symlink and as a folder (``notes/evil``):
    git read-tree lets it through, git fsck calls it duplicateEntries. sync refuses it
    whole, instead of stopping halfway after the branch moved."""
    target = plumbing(pair.ben, "hash-object", "-w", "--stdin", stdin="/tmp")
    evil = plumbing(pair.ben, "hash-object", "-w", "--stdin", stdin="evil\n")
    inner = plumbing(pair.ben, "mktree", stdin=f"100644 blob {evil}\tevil\n")
    listing = git(pair.ben, "ls-tree", "HEAD")
    tree = plumbing(
        pair.ben,
        "mktree",
        "--missing",
        stdin=listing + f"120000 blob {target}\tnotes\n040000 tree {inner}\tnotes\n",
    )
    assert git(pair.ben, "ls-tree", tree).count("\tnotes\n") == 2  # the name, twice
    commit = git(pair.ben, "commit-tree", tree, "-p", "HEAD", "-m", "hostile").strip()
    git(pair.ben, "push", "-q", "origin", f"{commit}:refs/heads/main")
    before = state(pair.ana)
    error = sentence(pair.ana, "sync")
    assert "'notes' both as a file and as a folder" in error, error
    assert state(pair.ana) == before
    assert not (pair.ana / "notes").exists() and not (pair.ana / "notes").is_symlink()
    assert "finished an interrupted sync" not in run_duologue(pair.ana, "status").stderr


def merge_with_a_resolved_conflict(clone: Path) -> None:
    git(clone, "checkout", "-q", "-b", "side")
    describe(clone, "# from the side\n")
    git(clone, "checkout", "-q", "main")
    describe(clone, "# from main\n")
    git(clone, "merge", "-q", "side", "-m", "merge side", check=False)  # conflicts
    toml = clone / "series" / "slow-work" / "series.toml"
    resolved = re.sub(
        r"<<<<<<< HEAD\n(.*?)=======\n(.*?)>>>>>>> side\n", r"\1\2", toml.read_text(), flags=re.S
    )
    toml.write_text(resolved)
    git(clone, "commit", "-qam", "merge side, conflict resolved")


def merge_an_unrelated_history(clone: Path) -> None:
    git(clone, "checkout", "-q", "--orphan", "notes")
    git(clone, "rm", "-rqf", ".")
    (clone / "IDEAS.txt").write_text("ideas from an old notebook\n")
    git(clone, "add", "IDEAS.txt")
    git(clone, "commit", "-qm", "old notebook")
    git(clone, "checkout", "-q", "main")
    git(clone, "merge", "-q", "--allow-unrelated-histories", "-m", "merge notebook", "notes")


@pytest.mark.parametrize("make_merge", [merge_with_a_resolved_conflict, merge_an_unrelated_history])
def test_a_merge_sync_cannot_replay_is_refused_and_changes_nothing(
    pair: Pair, make_merge: Callable[[Path], None]
) -> None:
    make_merge(pair.ana)
    commit_file(pair.ben, "BEN.md", "ben's file\n")
    ok(pair.ben, "handoff")
    before = state(pair.ana)
    error = sentence(pair.ana, "sync")
    assert "your merge commit" in error and "nothing was changed" in error
    assert "git pull --rebase=merges" in error
    unrelated = make_merge is merge_an_unrelated_history
    assert ("share no history" in error) == unrelated
    assert ("a resolved conflict, or a third side" in error) == (not unrelated)
    assert state(pair.ana) == before
    assert not (pair.ana / "BEN.md").exists()


def test_a_committed_draft_that_lost_its_turn_goes_back_where_it_was(pair: Pair) -> None:
    draft = new_draft(pair.ben, "Me first", f"Ana,\n\n{BEN_WORDS}", "--as", "ben")
    git(pair.ben, "add", str(draft))
    git(pair.ben, "commit", "-qm", "keep my draft safe")
    ok(pair.ben, "publish", "slow-work", "--force")
    assert not draft.exists()
    ana_posts_the_opening(pair)

    out = ok(pair.ben, "sync")
    shown = draft.relative_to(pair.ben).as_posix()
    assert f'your "Me first" is back in {shown} as a reply to #1' in out
    assert BEN_WORDS in draft.read_text() and "in_reply_to: 1" in draft.read_text()
    assert [p.name for p in draft.parent.iterdir()] == [draft.name]
    assert git(pair.ben, "status", "--porcelain") == f" M {shown}\n"
    assert BEN_WORDS not in "".join(
        p.read_text() for p in (pair.ben / "series" / "slow-work").glob("*.md")
    )
    ok(pair.ben, "check")


# -- a workspace outside any git repository -------------------------------------------------


def test_a_workspace_outside_git_checks_and_finds_the_author_from_global_git(
    pair: Pair, tmp_path: Path
) -> None:
    new_draft(pair.ben, "Me first", f"Ana,\n\n{BEN_WORDS}", "--as", "ben")
    ok(pair.ben, "publish", "slow-work", "--force")
    copy = tmp_path / "copy"
    shutil.copytree(pair.ben, copy, ignore=shutil.ignore_patterns(".git"))

    # No history to read Duologue-Forced from: a warning, not an error or a traceback.
    result = run_duologue(copy, "check", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert '"level": "warning"' in result.stdout and "0001-me-first.md" in result.stdout
    assert '"level": "error"' not in result.stdout

    unknown = run_duologue(copy, "status", "--json")
    assert unknown.returncode == 0 and '"your_turn": null' in unknown.stdout
    config = tmp_path / "global.gitconfig"
    config.write_text("[user]\n\temail = BEN@example.com\n")
    known = run_duologue(copy, "status", "--json", env={"GIT_CONFIG_GLOBAL": str(config)})
    assert known.returncode == 0, known.stderr
    assert '"you": "ben"' in known.stdout and '"your_turn": false' in known.stdout

    for command in ("sync", "handoff"):
        assert f"{copy} is not inside a git repository" in sentence(copy, command)


# -- duologue.git.failures, with what git really prints --------------------------------------


def failed(cwd: Path, *args: str) -> GitCommandError:
    """The GitCommandError GitPython raises for a real git command that fails."""
    with pytest.raises(GitCommandError) as caught:
        GitCommand(str(cwd)).execute(["git", *args])
    return caught.value


def test_a_ref_update_that_lost_the_race_says_the_branch_moved(pair: Pair) -> None:
    now = head(pair.ana)
    parent = git(pair.ana, "rev-parse", "HEAD^").strip()
    error = failed(pair.ana, "update-ref", "refs/heads/main", parent, parent)
    stderr = stderr_text(error)  # as git_failure reads it
    assert "but expected" in stderr
    assert classify_git_stderr(stderr, "move the branch", ref_update=True) == BRANCH_MOVED
    plain = classify_git_stderr(stderr, "move the branch")
    assert re.fullmatch(
        r"git could not move the branch: update_ref failed for ref 'refs/heads/main': "
        r"cannot lock ref 'refs/heads/main': is at [0-9a-f]{40} but expected [0-9a-f]{40}\.",
        plain,
    ), plain
    assert classify_git_stderr("", "do it") == "git could not do it: git failed."
    assert head(pair.ana) == now


def test_first_line_of_reads_gitpythons_stderr_and_falls_back_to_the_status(
    tmp_path: Path,
) -> None:
    error = failed(tmp_path, "rev-parse", "--verify", "no-such-commit")
    assert first_line_of(error).startswith("fatal: not a git repository")
    git(tmp_path, "init", "-q")
    quiet = failed(tmp_path, "rev-parse", "-q", "--verify", "no-such-commit")
    assert first_line_of(quiet) == f"git exited with status {quiet.status}"
    hinted = GitCommandError(["git", "x"], 1, b"hint: try this\nhint:\nfatal: the cause\n")
    assert first_line_of(hinted) == "fatal: the cause"


def test_a_stale_index_lock_is_named_as_the_cause(pair: Pair) -> None:
    (pair.ben / ".git" / "index.lock").write_text("")
    locked = failed(pair.ben, "read-tree", "-m", "-u", "HEAD", "HEAD")
    assert "index.lock exists, so another git process" in classify_git_stderr(
        stderr_text(locked), "update the work tree"
    )


def test_hook_output_is_bounded_and_shows_control_characters_as_question_marks() -> None:
    many = "\n".join(f"line {n}" for n in range(1, 101))
    shown = hook_output_text(many).split("\n")
    assert len(shown) == HOOK_OUTPUT_LINES + 1 and shown[-1] == "  …"
    assert shown[0] == "  line 1" and shown[HOOK_OUTPUT_LINES - 1] == "  line 40"
    long = hook_output_text("x" * (3 * HOOK_OUTPUT_CHARS))
    assert long == "  " + "x" * HOOK_OUTPUT_CHARS
    assert hook_output_text("\x1b[2Jcleared\r\x07\tok\n\n") == "  ?[2Jcleared??\tok"
    assert hook_output_text("") == ""


def test_explained_turns_a_file_system_error_into_one_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "object"
    with pytest.raises(GitFailure) as caught, explained("write the object"):
        missing.write_bytes(b"data")
    assert caught.value.message == (
        f"git could not write the object: {missing}: it does not exist; check the path, "
        "then run the command again."
    )
    with pytest.raises(GitFailure) as full, explained("write the object"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert "the disk is full; free some space" in full.value.message
