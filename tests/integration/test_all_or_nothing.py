"""publish is all or nothing: killed at any step, the next duologue command leaves either
the complete commit or exactly the previous state; concurrent runs never lose a commit."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import git
from tests.integration.conftest import new_draft, ok, snapshot, start_workspace

BEFORE_THE_COMMIT = ["after-commit-object", "after-journal", "after-post-written"]
AFTER_THE_COMMIT = [
    "after-branch-moved",
    "after-post-restored",
    "after-stage",
    "after-draft-removed",
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = start_workspace(tmp_path / "ws")
    # Unrelated work in progress that must survive whatever happens.
    (root / "notes.txt").write_text("staged\n")
    git(root, "add", "notes.txt")
    (root / "duologue.toml").write_text((root / "duologue.toml").read_text() + "# wip\n")
    return root


def publish_process(
    root: Path, draft: Path, fault: str | None = None, author: str = "ana"
) -> subprocess.Popen[str]:
    env = os.environ.copy()
    if fault:
        env["DUOLOGUE_FAULT"] = fault
    command = ["publish", str(draft.relative_to(root)), "--force", "--as", author]
    return subprocess.Popen(
        [sys.executable, "-m", "duologue", *command],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_old_or_complete(root: Path, before: dict[str, str], draft: Path, text: str) -> str:
    """After recovery: exactly ``before``, or exactly one complete publish commit."""
    ok(root, "status")  # any command repairs an interrupted publish first
    assert not (root / ".git" / "duologue-publish.json").exists()
    after = snapshot(root)
    if after["head"] == before["head"]:
        assert after == before
        assert draft.read_text() == text
        return "old"
    assert git(root, "rev-parse", "HEAD^") == before["head"]
    added = git(root, "show", "--no-renames", "--name-status", "--format=", "HEAD").split("\n")
    added = [line for line in added if line]
    assert len(added) == 1 and added[0].startswith("A\tseries/slow-work/")
    post_path = added[0].split("\t")[1]
    assert (root / post_path).read_text() == git(root, "show", f"HEAD:{post_path}")
    body = text.split("\n---\n", 1)[1].strip()
    assert body in (root / post_path).read_text()
    assert not draft.exists()
    draft_line = f"?? {draft.relative_to(root)}\n"
    assert after["status"] == before["status"].replace(draft_line, "")
    assert git(root, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    return "new"


@pytest.mark.parametrize("step", BEFORE_THE_COMMIT + AFTER_THE_COMMIT)
def test_publish_killed_at_each_step(workspace: Path, step: str) -> None:
    draft = new_draft(workspace, "Opening", "Ben,\n\nEvery word of this must survive.")
    text = draft.read_text()
    before = snapshot(workspace)
    process = publish_process(workspace, draft, fault=step)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    outcome = assert_old_or_complete(workspace, before, draft, text)
    assert outcome == ("old" if step in BEFORE_THE_COMMIT else "new")
    ok(workspace, "check")
    if outcome == "old":  # and the draft still publishes afterwards
        ok(workspace, "publish", str(draft.relative_to(workspace)))
        ok(workspace, "check")


def test_publish_killed_at_random_moments(workspace: Path) -> None:
    seed = int(os.environ.get("DUOLOGUE_KILL_SEED", "20261127"))
    chance = random.Random(seed)
    outcomes: list[str] = []
    for round_number in range(12):
        draft = new_draft(
            workspace, f"Letter {round_number}", f"Words of round {round_number}.", "--as", "ana"
        )
        text = draft.read_text()
        before = snapshot(workspace)
        process = publish_process(workspace, draft)
        time.sleep(chance.uniform(0.05, 0.9))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        outcome = assert_old_or_complete(workspace, before, draft, text)
        outcomes.append(outcome)
        if outcome == "old":
            draft.unlink()  # start the next round from a clean slate
    ok(workspace, "check")
    turns = [p["turn"] for p in json.loads(ok(workspace, "log", "slow-work", "--json"))]
    assert turns == list(range(1, outcomes.count("new") + 1)), f"seed {seed}"


def test_concurrent_publishes_never_lose_a_commit(workspace: Path) -> None:
    reported: list[str] = []
    for round_number in range(6):
        authors = ("ana", "ben")
        drafts = [
            new_draft(workspace, f"Round {round_number} by {who}", f"{who} writes.", "--as", who)
            for who in authors
        ]
        processes = [
            publish_process(workspace, d, author=who)
            for d, who in zip(drafts, authors, strict=True)
        ]
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            reported += re.findall(r"commit ([0-9a-f]{10})", out)
    assert len(reported) == 12
    history = git(workspace, "log", "--format=%h", "--abbrev=10")
    for sha in reported:
        assert sha in history
    turns = [p["turn"] for p in json.loads(ok(workspace, "log", "slow-work", "--json"))]
    assert turns == list(range(1, 13))
    ok(workspace, "check")
