"""SPEC §7 end to end: a bare shared remote with duologue's pre-receive hook (or a clone
with its pre-push hook) refuses every push that breaks the turn rules, whoever pushes
with plain git, and lets the pushes duologue makes through."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import git, make_clone_identity, run_duologue
from tests.integration.conftest import Pair, copied_pair, new_draft, ok, pair_template, refused

S = "series/slow-work"


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pair whose series Ana opened (turn 1, handed off; Ben has synced): Ben's turn."""
    return pair_template(tmp_path_factory, "honest")


def _start(template: Path, folder: Path, where: str) -> Pair:
    pair = copied_pair(template, folder)
    if where == "server":
        ok(pair.ana, "hooks", "install", "--server", str(pair.remote))
    else:
        for clone in (pair.ana, pair.ben):
            ok(clone, "hooks", "install")
    new_draft(pair.ana, "Opening", "Ben, here is how I plan a quiet week.")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    return pair


@pytest.fixture(params=["server", "clone"])
def pair(request: pytest.FixtureRequest, opened: Path, tmp_path: Path) -> Pair:
    return _start(opened, tmp_path, request.param)


@pytest.fixture
def served(opened: Path, tmp_path: Path) -> Pair:
    """The pair with only the server's hook: for the cases no clone hook sees."""
    return _start(opened, tmp_path, "server")


def hand_written(clone: Path, turn: int, author: str) -> None:
    """A post written and committed with plain git, the way duologue would name it."""
    date = datetime.now(UTC).replace(microsecond=0).isoformat()
    (clone / S / f"{turn:04d}-by-hand.md").write_text(
        f"---\ntitle: By hand\nauthor: {author}\ndate: {date}\nturn: {turn}\n"
        f"in_reply_to: {turn - 1}\n---\nWritten without duologue.\n"
    )
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", f"slow-work #{turn}: by hand")


def push_refused(clone: Path, *args: str) -> str:
    """A plain ``git push`` that the hook refuses: what git printed, the remote unmoved."""
    before = git(clone, "ls-remote", "origin", "refs/heads/main")
    result = git_push(clone, *args)
    assert result.returncode != 0, result.stderr
    assert git(clone, "ls-remote", "origin", "refs/heads/main") == before
    assert "Traceback" not in result.stderr
    return result.stderr


def git_push(clone: Path, *args: str):  # type: ignore[no-untyped-def]
    import os
    import subprocess

    return subprocess.run(
        ["git", "push", "origin", "main", *args],
        cwd=clone, capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip


def test_turns_published_with_duologue_pass(pair: Pair) -> None:
    new_draft(pair.ben, "Answer", "Ana, [[#1]] was right.")
    out = ok(pair.ben, "publish", "slow-work", "--push")
    assert "slow-work: now Ana Lima's (ana) turn." in out
    ok(pair.ana, "sync")
    new_draft(pair.ana, "Third", "Ben, thank you.")
    ok(pair.ana, "publish", "slow-work", "--push")
    assert "3 commit(s) keep the turn rules" in ok(pair.ana, "verify", "HEAD~3..HEAD")


def test_an_out_of_turn_post_pushed_with_plain_git_is_refused(pair: Pair) -> None:
    hand_written(pair.ana, 2, "ana")
    said = push_refused(pair.ana)
    assert "turn 2 is by ana, but it was Ben Okafor's (ben) turn" in said
    assert "slow-work: it is Ben Okafor's (ben) turn, for turn 2." in said


def test_a_post_committed_by_someone_else_is_refused(pair: Pair) -> None:
    make_clone_identity(pair.ana, "Ana Lima", "ana@example.com")
    hand_written(pair.ana, 2, "ben")  # Ben's post, in Ben's name, committed by Ana
    said = push_refused(pair.ana)
    assert "the commit's author is <ana@example.com>, but turn 2 is by Ben Okafor" in said
    assert "it is Ben Okafor's (ben) turn" in said


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("author: ana", "author: ben", "`author` of a published post, which never change"),
        ("turn: 1", "turn: 2", "`turn` is 2 but the file name says 1"),
        ("date: ", "", "`date` of a published post, which never change"),
    ],
)
def test_a_changed_fixed_field_of_a_published_post_is_refused(
    pair: Pair, old: str, new: str, field: str
) -> None:
    (post,) = (pair.ana / S).glob("0001-*.md")
    text = post.read_text()
    if field.startswith("`date`"):
        lines = [line for line in text.splitlines() if not line.startswith("date: ")]
        lines.insert(3, "date: 2026-01-01T00:00:00+00:00")
        text = "\n".join(lines) + "\n"
    else:
        text = text.replace(old, new, 1)
    post.write_text(text)
    git(pair.ana, "commit", "-q", "-am", "fix turn 1")
    said = push_refused(pair.ana)
    assert field in said
    assert "it is Ben Okafor's (ben) turn" in said


def test_an_edit_without_amend_is_refused(pair: Pair) -> None:
    (post,) = (pair.ana / S).glob("0001-*.md")
    post.write_text(post.read_text().replace("quiet week", "calm week"))
    git(pair.ana, "commit", "-q", "-am", "typo")
    assert "without a later `updated` date" in push_refused(pair.ana)


def test_a_deleted_post_is_refused(pair: Pair) -> None:
    (post,) = (pair.ana / S).glob("0001-*.md")
    git(pair.ana, "rm", "-q", str(post))
    git(pair.ana, "commit", "-q", "-m", "drop turn 1")
    said = push_refused(pair.ana)
    assert "a published post is never deleted or renamed" in said
    assert "it is Ben Okafor's (ben) turn" in said


def test_a_force_push_that_rewrites_published_history_is_refused(pair: Pair) -> None:
    git(pair.ana, "commit", "-q", "--amend", "-m", "slow-work #1: Opening (reworded)")
    said = push_refused(pair.ana, "--force")
    assert "rewrites published history" in said
    assert "slow-work: it is Ben Okafor's (ben) turn, for turn 2." in said


def test_a_forced_publish_passes(pair: Pair) -> None:
    new_draft(pair.ana, "Second thought", "Ben, one more thing.")
    ok(pair.ana, "publish", "slow-work", "--force", "--push")
    assert "Duologue-Forced: true" in git(pair.remote, "log", "-1", "--format=%B", "main")


def test_an_amend_and_a_retract_pass(pair: Pair) -> None:
    (post,) = (pair.ana / S).glob("0001-*.md")
    post.write_text(post.read_text().replace("quiet week", "calm week"))
    ok(pair.ana, "amend", "slow-work", "1", "--no-edit")
    ok(pair.ana, "handoff")
    ok(pair.ana, "retract", "slow-work", "1", "--reason", "Said better later.")
    ok(pair.ana, "handoff")
    subjects = git(pair.remote, "log", "-2", "--format=%s", "main").splitlines()
    assert subjects == ["slow-work #1: withdrawn", "slow-work #1: amended"]


def test_verify_json_names_commit_path_and_rule(served: Pair) -> None:
    hand_written(served.ana, 2, "ana")
    result = run_duologue(served.ana, "verify", "--json")
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert [(v["path"], v["rule"]) for v in found] == [(f"{S}/0002-by-hand.md", "turn-order")]
    assert found[0]["commit"] == git(served.ana, "rev-parse", "HEAD").strip()


def test_verify_runs_in_the_bare_remote(served: Pair) -> None:
    out = ok(served.remote, "verify")
    assert out.strip().endswith("keep the turn rules")


def test_a_plain_git_pull_after_a_race_is_settled_by_one_sync(served: Pair) -> None:
    """Ana publishes turn 2 out of turn while Ben publishes it in turn and hands off first;
    Ana's plain `git pull` merges both. One `duologue sync` puts it right."""
    new_draft(served.ana, "Mine too", "Ben, I could not wait.")
    ok(served.ana, "publish", "slow-work", "--force")
    new_draft(served.ben, "Answer", "Ana, [[#1]] was right.")
    ok(served.ben, "publish", "slow-work", "--push")
    git(served.ana, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert len(list((served.ana / S).glob("0002-*.md"))) == 2
    status = ok(served.ana, "status")
    assert "two posts with turn 2" in status and "duologue sync" in status
    said = push_refused(served.ana)
    assert "this merge leaves two posts with turn 2" in said

    out = ok(served.ana, "sync")
    assert "reached the remote first as turn 2" in out
    (kept,) = (served.ana / S).glob("0002-*.md")
    assert kept.name == "0002-answer.md"
    (draft,) = (served.ana / "drafts/slow-work").glob("*.md")
    assert "I could not wait." in draft.read_text()
    assert "in_reply_to: 2" in draft.read_text()
    refs = git(served.ana, "for-each-ref", "--format=%(refname)", "refs/duologue/unpublished/")
    assert refs.strip().startswith("refs/duologue/unpublished/slow-work-")
    assert git(served.ana, "status", "--porcelain", "--untracked-files=no") == ""
    assert "Ana, [[#1]] was right." in kept.read_text()
    ok(served.ana, "check")


def test_an_existing_hook_is_never_overwritten_silently(served: Pair) -> None:
    hook = served.ben / ".git/hooks/pre-push"
    hook.write_text("#!/bin/sh\necho mine\n")
    said = refused(served.ben, "hooks", "install")
    assert "was not written by duologue" in said
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    out = ok(served.ben, "hooks", "install", "--replace")
    assert "kept as" in out
    assert (
        served.ben / ".git/hooks/pre-push.before-duologue"
    ).read_text() == "#!/bin/sh\necho mine\n"
    assert "duologue-verify" in hook.read_text()


@pytest.fixture
def unguarded(opened: Path, tmp_path: Path) -> Pair:
    """The pair without any hook: what plain git lets through, check must still see."""
    pair = copied_pair(opened, tmp_path)
    new_draft(pair.ana, "Opening", "Ben, here is how I plan a quiet week.")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    return pair


def test_check_reports_a_post_committed_by_someone_else(unguarded: Pair) -> None:
    hand_written(unguarded.ana, 2, "ben")  # in Ben's name, committed by Ana
    assert git_push(unguarded.ana).returncode == 0  # nothing on the remote stops it
    ok(unguarded.ben, "sync")
    said = refused(unguarded.ben, "check")
    out = run_duologue(unguarded.ben, "check").stdout
    assert "0002-by-hand.md: error: its commit" in out
    assert "was made by <ana@example.com>, but the post is by Ben Okafor <ben@example.com>" in out
    assert said.startswith("error: 1 error(s) found")


def test_a_forced_commit_by_its_author_is_no_error(unguarded: Pair) -> None:
    new_draft(unguarded.ana, "Again", "Ben, one more.")
    ok(unguarded.ana, "publish", "slow-work", "--force", "--push")
    ok(unguarded.ben, "sync")
    ok(unguarded.ben, "check")


def _feeds(clone: Path) -> tuple[bytes, bytes]:
    ok(clone, "build")
    out = clone / "public/slow-work"
    return (out / "atom.xml").read_bytes(), (out / "feed.xml").read_bytes()


def test_feeds_carry_the_amended_date_and_the_tombstone(unguarded: Pair) -> None:
    import xml.etree.ElementTree as ElementTree

    import feedparser

    ana = unguarded.ana
    new_draft(ana, "Second", "Ben, about [[#1]] again.", "--as", "ana")
    ok(ana, "publish", "slow-work", "--force")
    (first,) = (ana / S).glob("0001-*.md")
    first.write_text(first.read_text().replace("quiet week", "calm week"))
    ok(ana, "amend", "slow-work", "1", "--no-edit")
    atom, _ = _feeds(ana)
    entry = next(e for e in feedparser.parse(atom).entries if e.id.endswith("/1"))
    assert entry.updated_parsed > entry.published_parsed
    assert "calm week" in entry.content[0].value
    assert "updated:" in first.read_text() and "date:" in first.read_text()
    page = (ana / "public/slow-work" / first.name.replace(".md", ".html")).read_text()
    assert "Updated <time" in page

    ok(ana, "retract", "slow-work", "1", "--reason", "Said better in turn 2.")
    assert "calm week" not in first.read_text()
    assert "calm week" in git(ana, "show", "HEAD~1:" + f"{S}/{first.name}")
    atom, rss = _feeds(ana)
    ns = {"atom": "http://www.w3.org/2005/Atom", "at": "http://purl.org/atompub/tombstones/1.0"}
    root = ElementTree.fromstring(atom)
    (tomb,) = root.findall("at:deleted-entry", ns)
    series_id = root.find("atom:id", ns).text  # type: ignore[union-attr]
    assert tomb.get("ref") == f"{series_id}/1"
    assert tomb.find("at:comment", ns).text == "Said better in turn 2."  # type: ignore[union-attr]
    assert [e.id for e in feedparser.parse(atom).entries] == [f"{series_id}/2"]
    assert [e.id for e in feedparser.parse(rss).entries] == [f"{series_id}/2"]
    second = next((ana / "public/slow-work").glob("0002-*.html")).read_text()
    assert ">Opening</a>" in second  # [[#1]] still shows its title
    page = (ana / "public/slow-work" / first.name.replace(".md", ".html")).read_text()
    assert "Withdrawn by its author" in page and "calm week" not in page
    ok(ana, "check")
    assert "keep the turn rules" in ok(ana, "verify")


def test_only_the_author_amends_or_retracts(unguarded: Pair) -> None:
    said = refused(unguarded.ben, "retract", "slow-work", "1")
    assert "only a post's author retracts it (you are ben)" in said
    said = refused(unguarded.ben, "amend", "slow-work", "1", "--no-edit")
    assert "only a post's author amends it" in said


def test_amend_without_changes_and_retract_over_edits_refuse(unguarded: Pair) -> None:
    from tests.integration.conftest import snapshot

    before = snapshot(unguarded.ana)
    assert "nothing to amend" in refused(unguarded.ana, "amend", "slow-work", "1", "--no-edit")
    assert snapshot(unguarded.ana) == before
    (first,) = (unguarded.ana / S).glob("0001-*.md")
    first.write_text(first.read_text() + "\nA line nobody committed.\n")
    said = refused(unguarded.ana, "retract", "slow-work", "1")
    assert "has changes that are not committed" in said
    assert "A line nobody committed." in first.read_text()
