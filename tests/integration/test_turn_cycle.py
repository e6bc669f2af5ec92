"""The turn cycle between two real clones: draft → publish → handoff → sync → your turn."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import git, run_duologue
from tests.integration.conftest import Pair, new_draft, ok, refused, snapshot


def status_of(clone: Path) -> dict[str, object]:
    rows = json.loads(ok(clone, "status", "--json"))
    assert len(rows) == 1
    return rows[0]


def test_four_turns_pass_back_and_forth(pair: Pair) -> None:
    writers = [(pair.ana, "ana", "ben"), (pair.ben, "ben", "ana")] * 2
    for turn, (clone, me, other) in enumerate(writers, start=1):
        ok(clone, "sync")
        before = status_of(clone)
        assert before["your_turn"] is True and before["next_author"] == me
        draft = new_draft(
            clone, f"Letter {turn}", f"Dear friend, letter {turn}.\n\nWhat next, {other}?"
        )
        text_written = draft.read_text()
        out = ok(clone, "publish", "slow-work")
        assert f"#{turn}" in out and not draft.exists()
        ok(clone, "handoff")
        after = status_of(clone)
        assert after["posts"] == turn and after["next_author"] == other
        assert after["your_turn"] is False
        post = next((clone / "series" / "slow-work").glob(f"{turn:04d}-*.md"))
        assert f"letter {turn}." in post.read_text() and "letter" in text_written

    # The remote holds every turn, each as one commit with the trailers and the author.
    ok(pair.ana, "sync")
    log = git(pair.ana, "log", "--format=%an <%ae>|%s|%(trailers:only,unfold)%x00", "-4")
    entries = [e.strip() for e in log.split("\0") if e.strip()]
    assert [e.split("|")[1] for e in entries] == [
        f"slow-work #{n}: Letter {n}" for n in (4, 3, 2, 1)
    ]
    assert entries[0].startswith("Ben Okafor <ben@example.com>|")
    assert "Duologue-Turn: 4" in entries[0] and "Duologue-Next: ana" in entries[0]
    assert "Duologue-Author: ben" in entries[0]
    assert status_of(pair.ana)["your_turn"] is True
    thread = json.loads(ok(pair.ben, "log", "slow-work", "--json"))
    assert [p["turn"] for p in thread] == [1, 2, 3, 4]
    assert [p["in_reply_to"] for p in thread] == [None, 1, 2, 3]
    for clone in (pair.ana, pair.ben):
        ok(clone, "check")


def test_publish_commit_holds_exactly_the_post_and_the_draft_removal(pair: Pair) -> None:
    draft = new_draft(pair.ana, "Opening", "Ben,\n\nShall we begin?")
    git(pair.ana, "add", str(draft))
    git(pair.ana, "commit", "-qm", "keep my draft safe")
    ok(pair.ana, "publish", str(draft.relative_to(pair.ana)))
    changes = git(pair.ana, "show", "--no-renames", "--name-status", "--format=", "HEAD").split(
        "\n"
    )
    assert sorted(c for c in changes if c) == [
        "A\tseries/slow-work/0001-opening.md",
        "D\tdrafts/slow-work/opening.md",
    ]
    assert git(pair.ana, "status", "--porcelain") == ""


def test_out_of_turn_is_refused_and_changes_nothing(pair: Pair) -> None:
    draft = new_draft(pair.ben, "Too eager", "Ana,\n\nMe first?", "--as", "ben")
    before = snapshot(pair.ben)
    error = refused(pair.ben, "publish", "slow-work")
    assert "it is ana's turn" in error and "--force" in error
    assert snapshot(pair.ben) == before
    assert draft.exists()


def test_force_publishes_out_of_turn_and_says_so(pair: Pair) -> None:
    new_draft(pair.ben, "Too eager", "Ana,\n\nMe first?")
    out = ok(pair.ben, "publish", "slow-work", "--force")
    assert "--force" in out
    trailers = git(pair.ben, "log", "-1", "--format=%(trailers:only,unfold)")
    assert "Duologue-Forced: true" in trailers
    # A forced post is not flagged as out of rotation by check.
    checked = json.loads(ok(pair.ben, "check", "--json"))
    assert not [p for p in checked if "rotation" in p["message"]]


def test_both_publish_the_same_turn_and_nobody_loses_a_word(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nWhat shall we write about?")
    ok(pair.ana, "publish", "slow-work")
    ok(pair.ana, "handoff")
    ok(pair.ben, "sync")
    # Ben answers; Ana, impatient, also writes turn 2 (forced) before syncing.
    new_draft(pair.ben, "Meetings", "Ana,\n\nMeetings, of course. Your view?")
    new_draft(pair.ana, "Second thoughts", "Ben,\n\nA second thought that must not be lost.")
    ok(pair.ben, "publish", "slow-work")
    ok(pair.ana, "publish", "slow-work", "--force")
    ok(pair.ben, "handoff")
    rejected = refused(pair.ana, "handoff")
    assert "remote moved on" in rejected and "duologue sync" in rejected

    out = ok(pair.ana, "sync")
    assert "reached the remote first as turn 2" in out
    drafts = list((pair.ana / "drafts" / "slow-work").glob("*.md"))
    assert len(drafts) == 1
    back = drafts[0].read_text()
    assert "A second thought that must not be lost." in back
    assert "in_reply_to: 2" in back and "turn:" not in back
    posts = sorted(p.name for p in (pair.ana / "series" / "slow-work").glob("*.md"))
    assert posts == ["0001-opening.md", "0002-meetings.md"]
    assert git(pair.ana, "rev-parse", "HEAD") == git(pair.ben, "rev-parse", "HEAD")
    assert git(pair.ana, "for-each-ref", "refs/duologue/unpublished").strip()
    ok(pair.ana, "check")

    # It is Ana's turn again: the returned draft publishes as turn 3.
    ok(pair.ana, "publish", "slow-work")
    ok(pair.ana, "handoff")
    ok(pair.ben, "sync")
    assert status_of(pair.ben)["last_turn"] == 3
    ok(pair.ben, "check")


def test_a_conflicting_pull_leaves_everything_as_it_was(pair: Pair) -> None:
    ok(pair.ben, "sync")
    for clone, words in ((pair.ana, "Ana's words"), (pair.ben, "Ben's words")):
        toml = clone / "series" / "slow-work" / "series.toml"
        toml.write_text(toml.read_text().replace('description = ""', f'description = "{words}"'))
        git(clone, "commit", "-qam", f"describe: {words}")
    ok(pair.ana, "handoff")
    before = snapshot(pair.ben)
    error = refused(pair.ben, "sync")
    assert "conflicts" in error and "nothing was changed" in error
    after = snapshot(pair.ben)
    # Only the remote-tracking ref moved (fetch); branch, index, files are as they were.
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert not (pair.ben / ".git" / "rebase-merge").exists()
    assert git(pair.ben, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_unrelated_staged_and_unstaged_changes_survive_a_publish(pair: Pair) -> None:
    (pair.ana / "notes.txt").write_text("staged notes\n")
    git(pair.ana, "add", "notes.txt")
    settings = pair.ana / "duologue.toml"
    settings.write_text(settings.read_text() + "# my unstaged edit\n")
    (pair.ana / "scratch.txt").write_text("untracked\n")
    cached_before = git(pair.ana, "diff", "--cached")
    unstaged_before = git(pair.ana, "diff")
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work")
    assert git(pair.ana, "show", "--name-only", "--format=", "HEAD").split() == [
        "series/slow-work/0001-opening.md"
    ]
    assert git(pair.ana, "diff", "--cached") == cached_before
    assert git(pair.ana, "diff") == unstaged_before
    assert (pair.ana / "scratch.txt").read_text() == "untracked\n"


def test_detached_head_is_refused(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    git(pair.ana, "checkout", "-q", "--detach")
    before = snapshot(pair.ana)
    for args in (("publish", "slow-work"), ("sync",), ("handoff",)):
        assert "detached" in refused(pair.ana, *args)
    assert snapshot(pair.ana) == before


def test_missing_remote_is_explained(pair: Pair) -> None:
    git(pair.ana, "remote", "remove", "origin")
    assert "no git remote 'origin'" in refused(pair.ana, "handoff")
    assert "no git remote 'origin'" in refused(pair.ana, "sync")
    assert "no git remote 'upstream'" in refused(pair.ana, "sync", "--remote", "upstream")


def test_missing_identity_is_explained_and_changes_nothing(pair: Pair) -> None:
    git(pair.ben, "config", "--unset", "user.email")
    git(pair.ben, "config", "--unset", "user.name")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Opening", "Ana,\n\nHello?", "--as", "ben")
    before = snapshot(pair.ben)
    error = refused(pair.ben, "publish", "slow-work", "--as", "ben", "--force")
    assert "git does not know who you are" in error
    assert snapshot(pair.ben) == before
    # Without --as, the acting author is unknown, and the message lists what would work.
    error = refused(pair.ben, "publish", "slow-work")
    assert "--as" in error and "DUOLOGUE_AUTHOR" in error


def test_hostile_remote_urls_are_refused(pair: Pair, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for url in (f"ext::sh -c touch% {marker}", "-oProxyCommand=touch /tmp/x", "fd::3"):
        git(pair.ana, "config", "remote.origin.url", url)
        for command in ("handoff", "sync"):
            error = refused(pair.ana, command)
            assert "refusing" in error or "does not allow" in error
    assert not marker.exists()


def test_handoff_refuses_a_workspace_that_fails_check(pair: Pair) -> None:
    broken = pair.ana / "series" / "slow-work" / "0001-broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\nbody\n")
    git(pair.ana, "add", ".")
    git(pair.ana, "commit", "-qm", "oops")
    error = refused(pair.ana, "handoff")
    assert "duologue check" in error and "0001-broken.md" in error
    assert (
        git(pair.ana, "ls-remote", str(pair.remote), "refs/heads/main").split()[0]
        != git(pair.ana, "rev-parse", "HEAD").strip()
    )


def test_draft_title_cannot_escape_drafts(pair: Pair) -> None:
    out = ok(pair.ana, "draft", "slow-work", "--title", "../../../etc/passwd", "--no-edit")
    path = (pair.ana / out.strip()).resolve()
    assert path.parent == (pair.ana / "drafts" / "slow-work").resolve()
    assert path.name == "etc-passwd.md"


def test_publish_refuses_paths_outside_drafts(pair: Pair, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("---\ntitle: x\nauthor: ana\n---\nhello\n")
    for target in (str(outside), "../elsewhere.md", "series/slow-work/series.toml"):
        assert "publish only drafts inside this workspace" in refused(pair.ana, "publish", target)


def test_draft_quotes_the_closing_question_and_cites_the_post(pair: Pair) -> None:
    new_draft(
        pair.ana, "Opening", "Ben,\n\nSome thoughts on focus.\n\nWhat would you cut first, and why?"
    )
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    result = run_duologue(pair.ben, "draft", "slow-work", "--no-edit")
    assert result.returncode == 0 and "not yours" not in result.stderr
    text = (pair.ben / result.stdout.strip()).read_text()
    assert "title: 'Re: Opening'" in text and "in_reply_to: 1" in text and "author: ben" in text
    body = text.split("\n---\n", 1)[1]
    assert body.lstrip().startswith("Ana,")
    assert "[[#1]]" in body and "> What would you cut first, and why?" in body
    # Drafting out of turn is allowed, with a notice.
    early = run_duologue(pair.ana, "draft", "slow-work", "--no-edit")
    assert early.returncode == 0 and "it is ben's turn" in early.stderr


def test_sync_with_uncommitted_changes_in_the_way_is_refused_cleanly(pair: Pair) -> None:
    toml = pair.ana / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text().replace('description = ""', 'description = "Ana\'s"'))
    git(pair.ana, "commit", "-qam", "describe the series")
    ok(pair.ana, "handoff")
    theirs = pair.ben / "series" / "slow-work" / "series.toml"
    theirs.write_text(theirs.read_text() + "# Ben's uncommitted note\n")
    before = snapshot(pair.ben)
    error = refused(pair.ben, "sync")
    assert "local changes would be overwritten" in error and "commit or stash" in error
    after = snapshot(pair.ben)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert "# Ben's uncommitted note" in theirs.read_text()


def test_sync_keeps_untracked_drafts_and_unrelated_edits(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work", "--push")
    early = new_draft(pair.ben, "Early thoughts", "Ana,\n\nNot finished.", "--as", "ben")
    settings = pair.ben / "duologue.toml"
    settings.write_text(settings.read_text() + "# Ben's local tweak\n")
    out = ok(pair.ben, "sync")
    assert "brought in 1 commit" in out and "your turn" in out
    assert "Not finished." in early.read_text()
    assert "# Ben's local tweak" in settings.read_text()


def test_sync_replays_local_commits_that_are_not_publishes(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    new_draft(pair.ben, "Answer", "Ana,\n\nHello back.")
    ok(pair.ben, "publish", "slow-work", "--push")
    (pair.ana / "NOTES.md").write_text("my own notes\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "add notes")
    out = ok(pair.ana, "sync")
    assert "replayed yours on top" in out
    assert git(pair.ana, "log", "--format=%s", "-2").split("\n")[:2] == [
        "add notes",
        "slow-work #2: Answer",
    ]
    assert (pair.ana / "NOTES.md").read_text() == "my own notes\n"
    assert git(pair.ana, "status", "--porcelain") == ""
    ok(pair.ana, "handoff")
    ok(pair.ana, "check")


def test_two_set_aside_posts_with_one_slug_get_two_drafts(pair: Pair) -> None:
    new_draft(pair.ana, "Notes", "Ben,\n\nFIRST TEXT")
    ok(pair.ana, "publish", "slow-work")
    new_draft(pair.ana, "Notes", "Ben,\n\nSECOND TEXT")
    ok(pair.ana, "publish", "slow-work", "--force")
    new_draft(pair.ben, "Ben opens", "Ana,\n\nMe first.", "--as", "ben")
    ok(pair.ben, "publish", "slow-work", "--force", "--push")
    ok(pair.ana, "sync")
    texts = sorted(p.read_text() for p in (pair.ana / "drafts" / "slow-work").glob("*.md"))
    assert len(texts) == 2
    assert any("FIRST TEXT" in t for t in texts) and any("SECOND TEXT" in t for t in texts)


def test_publish_names_a_broken_draft_instead_of_skipping_it(pair: Pair) -> None:
    broken = new_draft(pair.ana, "Broken", "Ben,\n\nHalf.")
    broken.write_text(broken.read_text().replace("title: Broken", 'title: "unclosed'))
    new_draft(pair.ana, "Old idea", "Ben,\n\nAn old idea.")
    before = snapshot(pair.ana)
    error = refused(pair.ana, "publish", "slow-work")
    assert "drafts/slow-work/broken.md" in error
    assert snapshot(pair.ana) == before


def test_publish_numbers_the_turn_from_the_commit_not_the_work_tree(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work")
    post = next((pair.ana / "series" / "slow-work").glob("0001-*.md"))
    post.rename(pair.ana / "moved-away.md")  # a tracked post missing from the work tree
    new_draft(pair.ana, "Again", "Ben,\n\nAgain.")
    ok(pair.ana, "publish", "slow-work", "--force")
    names = git(pair.ana, "ls-tree", "--name-only", "HEAD", "series/slow-work/").split()
    assert sorted(n.rsplit("/", 1)[-1][:4] for n in names if n.endswith(".md")) == ["0001", "0002"]


def test_a_draft_file_name_that_is_not_a_slug_publishes_under_a_clean_name(pair: Pair) -> None:
    draft = new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    odd = draft.with_name("My Draft!.md")
    draft.rename(odd)
    out = ok(pair.ana, "publish", f"drafts/slow-work/{odd.name}")
    assert "series/slow-work/0001-my-draft.md" in out


def test_handoff_checks_what_is_pushed_not_what_is_lying_around(pair: Pair) -> None:
    new_draft(pair.ana, "Opening", "Ben,\n\nHello?")
    ok(pair.ana, "publish", "slow-work")
    # An unfinished, broken, untracked draft is not pushed: it does not block the hand-off.
    wip = pair.ana / "drafts" / "slow-work" / "wip.md"
    wip.write_text('---\ntitle: "unfinished\n---\nhalf\n')
    ok(pair.ana, "handoff")
    # A broken post committed, with the fix only in the work tree: refused, nothing pushed.
    post = next((pair.ana / "series" / "slow-work").glob("0001-*.md"))
    good = post.read_text()
    post.write_text(good.replace("turn: 1", "turn: 7"))
    git(pair.ana, "commit", "-qam", "oops")
    post.write_text(good)
    error = refused(pair.ana, "handoff")
    assert "not committed" in error and "series/slow-work/0001-" in error
    remote_head = git(pair.ana, "ls-remote", str(pair.remote), "refs/heads/main").split()[0]
    assert remote_head != git(pair.ana, "rev-parse", "HEAD").strip()
