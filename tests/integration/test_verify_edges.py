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
