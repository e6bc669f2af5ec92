"""verify at its edges: imports, branches that are no workspace, deleted branches, new
branches, a series id that changes, bad ranges, and the pre-commit and GitHub Action
wrappers run as their hosts run them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.helpers import git, run_duologue
from tests.integration.conftest import Pair, copied_pair, new_draft, ok, pair_template, refused
from tests.integration.test_honest_remote import git_push, hand_written, push_refused

ROOT = Path(__file__).resolve().parents[2]
S = "series/slow-work"
ZERO = "0" * 40


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pair_template(tmp_path_factory, "verify-edges")


@pytest.fixture
def served(template: Path, tmp_path: Path) -> Pair:
    pair = copied_pair(template, tmp_path)
    ok(pair.ana, "hooks", "install", "--server", str(pair.remote))
    new_draft(pair.ana, "Opening", "Ben, here is how I plan a quiet week.")
    ok(pair.ana, "publish", "slow-work", "--push")
    ok(pair.ben, "sync")
    return pair


def _posts(clone: Path, turns: range, *, trailer: str = "") -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for turn in turns:
        author = "ana" if turn % 2 else "ben"
        date = (now + timedelta(minutes=turn)).isoformat()
        (clone / S / f"{turn:04d}-old-{turn}.md").write_text(
            f"---\ntitle: Old {turn}\nauthor: {author}\ndate: {date}\n"
            f"turn: {turn}\nin_reply_to: {turn - 1}\n---\nFrom the old blog.\n"
        )
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", f"bring in the old letters{trailer}")


def test_an_import_commit_may_add_many_posts_and_others_may_not(served: Pair) -> None:
    _posts(served.ben, range(2, 5))
    assert "the commit adds 3 posts; a turn adds exactly one post" in push_refused(served.ben)
    git(served.ben, "reset", "-q", "--hard", "HEAD~1")
    _posts(served.ben, range(2, 5), trailer="\n\nDuologue-Import: blogger")
    pushed = git_push(served.ben)
    assert pushed.returncode == 0, pushed.stderr
    ok(served.ben, "check")


def test_a_branch_that_is_no_workspace_passes(served: Pair) -> None:
    """A deploy branch (issue 14) holds a site, not a workspace: no turns to judge."""
    git(served.ana, "checkout", "-q", "--orphan", "site")
    git(served.ana, "rm", "-rq", "--cached", ".")
    for path in served.ana.iterdir():
        if path.name != ".git":
            subprocess.run(["rm", "-rf", str(path)], check=True)
    (served.ana / "index.html").write_text("<p>hi</p>\n")
    git(served.ana, "add", "index.html")
    git(served.ana, "commit", "-q", "-m", "site")
    result = subprocess.run(
        ["git", "push", "origin", "site"], cwd=served.ana, capture_output=True, text=True,
        env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_deleting_the_published_branch_is_refused_and_another_is_not(served: Pair) -> None:
    git(served.ana, "push", "-q", "origin", "main:refs/heads/spare")
    gone = subprocess.run(
        ["git", "push", "origin", ":spare"], cwd=served.ana, capture_output=True, text=True,
        env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert gone.returncode == 0, gone.stderr
    said = push_refused(served.ana, "--delete")
    assert "the push deletes the published branch" in said


def test_a_new_branch_is_judged_by_what_the_remote_lacks(served: Pair) -> None:
    git(served.ana, "checkout", "-q", "-b", "idea")
    hand_written(served.ana, 2, "ana")
    result = subprocess.run(
        ["git", "push", "origin", "idea"], cwd=served.ana, capture_output=True, text=True,
        env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "turn 2 is by ana, but it was Ben Okafor's (ben) turn" in result.stderr
    assert result.stderr.count("remote: ") < 10  # one new commit judged, not the history


def test_a_series_id_never_changes(served: Pair) -> None:
    toml = served.ana / S / "series.toml"
    toml.write_text(toml.read_text().replace(':slow-work"', ':slow-work-2"'))
    git(served.ana, "commit", "-qam", "new id")
    assert "a series id never changes" in push_refused(served.ana)


def test_removing_the_settings_is_refused(served: Pair) -> None:
    git(served.ana, "rm", "-q", "duologue.toml")
    git(served.ana, "commit", "-qm", "no settings")
    assert "duologue.toml was removed" in push_refused(served.ana)


def test_a_file_too_big_to_read_is_a_violation_not_a_crash(served: Pair) -> None:
    (served.ana / "drafts/slow-work").mkdir(parents=True, exist_ok=True)
    (served.ana / "drafts/slow-work/huge.md").write_bytes(b"---\ntitle: x\n---\n" + b"a" * (5 << 20))
    git(served.ana, "add", "-A")
    git(served.ana, "commit", "-qm", "a huge draft")
    said = push_refused(served.ana)
    assert "drafts/slow-work/huge.md: is 5,242,897 bytes, more than verify reads (4 MiB)" in said


def test_verify_refuses_a_range_git_does_not_know(served: Pair) -> None:
    said = refused(served.ana, "verify", "nosuch..HEAD")
    assert "'nosuch..HEAD' is not a revision range git knows" in said
    result = run_duologue(served.ana, "verify", "--upload-pack=evil")
    assert result.returncode == 2  # an option git would read is a usage error, never passed on
    result = run_duologue(served.ana, "verify", "--hook", "post-merge")
    assert result.returncode == 2


def test_a_clone_without_an_upstream_verifies_its_whole_branch(served: Pair) -> None:
    git(served.ana, "branch", "--unset-upstream")
    assert "3 commit(s) keep the turn rules" in ok(served.ana, "verify")


def test_hooks_install_refuses_a_clone_as_server(served: Pair) -> None:
    said = refused(served.ana, "hooks", "install", "--server", str(served.ben))
    assert "is not a bare repository" in said


def test_hooks_install_follows_core_hooks_path(served: Pair) -> None:
    git(served.ben, "config", "core.hooksPath", "githooks")
    ok(served.ben, "hooks", "install")
    assert "duologue-verify" in (served.ben / "githooks/pre-push").read_text()
    hand_written(served.ben, 2, "ana")
    said = push_refused(served.ben)
    assert said.count("it was Ben Okafor's (ben) turn") >= 1


# -- the wrappers, run the way their hosts run them ----------------------------------------


def test_the_pre_commit_hook_definition_runs_verify_on_the_push_range(served: Pair) -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "duologue-verify"
    assert hook["stages"] == ["pre-push"] and hook["pass_filenames"] is False
    entry = hook["entry"].split()
    assert entry[0] == "duologue"
    before = git(served.ana, "rev-parse", "HEAD").strip()
    hand_written(served.ana, 2, "ana")
    after = git(served.ana, "rev-parse", "HEAD").strip()
    # What pre-commit sets for the pre-push stage, then runs `entry` in the clone.
    env = {"PRE_COMMIT_FROM_REF": before, "PRE_COMMIT_TO_REF": after, "PRE_COMMIT": "1"}
    result = run_duologue(served.ana, *entry[1:], env=env)
    assert result.returncode == 1
    assert "turn 2 is by ana" in result.stderr
    env["PRE_COMMIT_TO_REF"] = before
    assert run_duologue(served.ana, *entry[1:], env=env).returncode == 0


def _action_step(name: str) -> dict[str, object]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


@pytest.mark.parametrize("event", ["push", "pull_request", "first push"])
def test_the_action_verify_step_runs_as_github_runs_it(served: Pair, event: str) -> None:
    step = _action_step("Verify the turn rules")
    assert step["shell"] == "bash"
    before = git(served.ana, "rev-parse", "HEAD").strip()
    hand_written(served.ana, 2, "ana")
    head = git(served.ana, "rev-parse", "HEAD").strip()
    env = os.environ.copy()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(RANGE="", BEFORE="", BASE="", HEAD_SHA=head)
    if event == "push":
        env["BEFORE"] = before
    elif event == "pull_request":
        env["BASE"] = before
    else:
        env["BEFORE"] = ZERO  # a new branch: the whole history is judged
    result = subprocess.run(
        ["bash", "-e", "-c", str(step["run"])], cwd=served.ana, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "turn 2 is by ana, but it was Ben Okafor's (ben) turn" in result.stdout
    env["HEAD_SHA"] = before
    passed = subprocess.run(
        ["bash", "-e", "-c", str(step["run"])], cwd=served.ana, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_only_the_published_branch_is_held_to_its_history(served: Pair) -> None:
    """A feature branch may be rewritten (and deleted) from a clone whose pre-push hook is
    installed; the published branch may not."""
    ok(served.ana, "hooks", "install")
    git(served.ana, "checkout", "-q", "-b", "notes")
    (served.ana / "NOTES.md").write_text("one\n")
    git(served.ana, "add", "NOTES.md")
    git(served.ana, "commit", "-qm", "notes")
    git(served.ana, "push", "-q", "origin", "notes")
    git(served.ana, "commit", "-q", "--amend", "-m", "notes, reworded")
    forced = subprocess.run(
        ["git", "push", "--force", "origin", "notes"], cwd=served.ana, capture_output=True,
        text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    deleted = subprocess.run(
        ["git", "push", "origin", ":notes"], cwd=served.ana, capture_output=True, text=True,
        env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert deleted.returncode == 0, deleted.stderr


# -- what a red-team review of verify found (each once let a bad push through) -------------


def _answered(pair: Pair) -> None:
    """Ben's turn 2 on the remote; Ana has a commit of her own and has fetched it."""
    new_draft(pair.ben, "Answer", "Ana, [[#1]] was right.")
    ok(pair.ben, "publish", "slow-work", "--push")
    (pair.ana / "NOTES.md").write_text("mine\n")
    git(pair.ana, "add", "NOTES.md")
    git(pair.ana, "commit", "-qm", "notes")
    git(pair.ana, "fetch", "-q", "origin")


def test_a_merge_that_keeps_only_its_own_side_is_refused(served: Pair) -> None:
    _answered(served)
    git(served.ana, "merge", "-q", "-s", "ours", "-m", "merge", "origin/main")
    said = push_refused(served.ana)
    assert "is not the automatic merge of its two sides" in said


def test_a_merge_with_an_orphan_cannot_delete_a_published_post(served: Pair) -> None:
    root = git(served.ben, "rev-list", "--max-parents=0", "HEAD").strip()
    (post,) = (served.ben / S).glob("0001-*.md")
    git(served.ben, "rm", "-q", str(post))
    tree = git(served.ben, "write-tree").strip()
    merge = git(served.ben, "commit-tree", tree, "-p", "HEAD", "-p", root, "-m", "tidy").strip()
    git(served.ben, "reset", "-q", "--hard", merge)
    said = push_refused(served.ben)
    assert "(merge)" in said and "merge" in said


def test_an_octopus_merge_is_refused(served: Pair) -> None:
    head = git(served.ben, "rev-parse", "HEAD").strip()
    tree = git(served.ben, "rev-parse", "HEAD^{tree}").strip()
    merge = git(
        served.ben, "commit-tree", tree, "-p", head, "-p", "HEAD~1", "-p", "HEAD~2", "-m", "x"
    ).strip()
    git(served.ben, "reset", "-q", "--hard", merge)
    assert "merges 3 sides" in push_refused(served.ben)


def test_the_server_hook_guards_a_workspace_in_a_subfolder(tmp_path: Path) -> None:
    repo, remote = tmp_path / "repo", tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Ana Lima")
    git(repo, "config", "user.email", "ana@example.com")
    ok(repo, "init", "site", "--title", "Letters")
    site = repo / "site"
    ok(site, "series", "new", "slow-work", "--title", "Slow Work",
       "--author", "ana:Ana Lima <ana@example.com>", "--author", "ben:Ben Okafor <ben@example.com>")  # fmt: skip
    git(repo, "remote", "add", "origin", str(remote))
    new_draft(site, "Opening", "Ben, hello.")
    ok(site, "publish", "slow-work")
    git(repo, "push", "-q", "-u", "origin", "main")
    ok(site, "hooks", "install", "--server", str(remote))
    assert "--prefix site/" in (remote / "hooks/pre-receive").read_text()
    (post,) = (site / S).glob("0001-*.md")
    git(repo, "rm", "-q", str(post))
    git(repo, "commit", "-qm", "drop it")
    assert "a published post is never deleted" in push_refused(repo)


def test_a_bare_head_naming_a_missing_branch_still_guards_main(served: Pair) -> None:
    git(served.remote, "symbolic-ref", "HEAD", "refs/heads/master")
    git(served.ana, "reset", "-q", "--hard", "HEAD~1")
    assert "rewrites published history" in push_refused(served.ana, "--force")


def test_series_authors_keep_their_order_handles_and_own_emails(served: Pair) -> None:
    toml = served.ben / S / "series.toml"
    original = toml.read_text()
    toml.write_text(original.replace("ana@example.com", "ben+ana@example.com"))
    git(served.ben, "commit", "-qam", "ana's new address")
    assert "only Ana Lima changes their own e-mail" in push_refused(served.ben)
    git(served.ben, "reset", "-q", "--hard", "HEAD~1")
    ana_block, ben_block = original.split("[[authors]]")[1:]
    head = original.split("[[authors]]")[0]
    toml.write_text(f"{head}[[authors]]{ben_block.rstrip()}\n\n[[authors]]{ana_block}")
    git(served.ben, "commit", "-qam", "me first")
    assert "keep their handles and their turn order" in push_refused(served.ben)


def test_a_linked_settings_file_or_a_submodule_in_drafts_is_refused(served: Pair) -> None:
    toml = f"{S}/series.toml"
    sha = git(served.ben, "hash-object", "-w", toml).strip()
    git(served.ben, "update-index", "--cacheinfo", f"120000,{sha},{toml}")
    git(served.ben, "commit", "-qm", "linked")
    assert "is not a regular file" in push_refused(served.ben)
    git(served.ben, "reset", "-q", "--hard", "HEAD~1")
    head = git(served.ben, "rev-parse", "HEAD").strip()
    git(served.ben, "update-index", "--add", "--cacheinfo", f"160000,{head},drafts/slow-work")
    git(served.ben, "commit", "-qm", "a submodule")
    assert "is a git submodule" in push_refused(served.ben)


def with_field(text: str, line: str) -> str:
    """``text`` (a post) with ``line`` added at the end of its front matter."""
    head, _, body = text[4:].partition("\n---\n")
    return f"---\n{head}\n{line}\n---\n{body}"


def now() -> str:
    return (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0).isoformat()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda t: with_field(t, "updated: 2099-01-01T00:00:00+00:00").replace("quiet week", "calm week"),
         "lies more than a day in the future"),
        (lambda t: with_field(t, f"withdrawn: {now()}").replace("title: Opening", "title: Else")
         .replace("Ben, here is how I plan a quiet week.", ""),
         "withdraws the post and changes `title`"),
        (lambda t: with_field(t, f"updated: {now()}").replace("quiet week.", "quiet week, see [[#99]]."),
         "[[#99]] points at turn 99"),
    ],
    ids=["updated-in-2099", "withdrawn-and-retitled", "amended-to-a-missing-turn"],
)  # fmt: skip
def test_hand_made_corrections_that_break_the_rules_are_refused(
    served: Pair, change: object, said: str
) -> None:
    (post,) = (served.ana / S).glob("0001-*.md")
    post.write_text(change(post.read_text()))  # type: ignore[operator]
    git(served.ana, "commit", "-qam", "a hand-made correction")
    assert said in push_refused(served.ana)


def test_amend_refuses_a_correction_check_would_refuse(served: Pair) -> None:
    (post,) = (served.ana / S).glob("0001-*.md")
    post.write_text(post.read_text().replace("quiet week.", "quiet week, see [[#99]]."))
    said = refused(served.ana, "amend", "slow-work", "1", "--no-edit")
    assert "[[#99]] points at turn 99" in said and "nothing was committed" in said


def test_the_pre_push_hook_lets_handoff_say_the_remote_moved_on(served: Pair) -> None:
    """Ana's clone has never seen Ben's new tip: her hook must not fail on it, and
    handoff explains what git said, as without a hook."""
    ok(served.ana, "hooks", "install")
    new_draft(served.ben, "Answer", "Ana, [[#1]] was right.")
    ok(served.ben, "publish", "slow-work", "--push")
    new_draft(served.ana, "Mine too", "Ben, I could not wait.")
    ok(served.ana, "publish", "slow-work", "--force")
    said = refused(served.ana, "handoff")
    assert "unexpectedly" not in said and "Traceback" not in said
    assert "duologue sync" in said
