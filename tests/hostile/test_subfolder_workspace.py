"""A workspace that ``duologue init`` made in a subfolder of an existing repository (the
letters beside a project's code, say): every command finds the same git folder, so the
build takes the lock the other commands take, keeps its cache there, and an interrupted
publish is repaired by the next read-only command, as at a repository's top."""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path

from tests.helpers import git, make_clone_identity, run_duologue
from tests.integration.conftest import new_draft, ok, snapshot


def _workspace_in_a_subfolder(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    make_clone_identity(repo, "Ana Lima", "ana@example.com")
    (repo / "README.md").write_text("A project that also keeps letters.\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "The project")
    root = repo / "letters"
    root.mkdir()
    ok(root, "init", "--title", "Letters", "--base-url", "https://letters.example/")
    ok(
        root, "series", "new", "slow-work", "--title", "Slow Work",
        "--author", "ana:Ana Lima <ana@example.com>",
        "--author", "ben:Ben Okafor <ben@example.com>",
    )  # fmt: skip
    ok(root, "publish", str(new_draft(root, "Opening", "Ben,\n\nHello.").relative_to(root)))
    return repo, root


def test_the_build_keeps_its_cache_in_the_repositorys_git_folder(tmp_path: Path) -> None:
    repo, root = _workspace_in_a_subfolder(tmp_path)
    elsewhere = tmp_path / "user-cache"
    result = run_duologue(root, "build", env={"XDG_CACHE_HOME": str(elsewhere)})
    assert result.returncode == 0, result.stderr
    assert not elsewhere.exists()
    caches = [p.name for p in (repo / ".git" / "duologue").iterdir()]
    assert len(caches) == 1 and caches[0].startswith("build-cache-"), caches
    assert not (root / ".git").exists()


def test_the_build_waits_for_the_lock_the_other_commands_take(tmp_path: Path) -> None:
    repo, root = _workspace_in_a_subfolder(tmp_path)
    fd = os.open(repo / ".git" / "duologue.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another duologue command at work
        busy = run_duologue(root, "build", env={"DUOLOGUE_LOCK_TIMEOUT": "0.3"})
    finally:
        os.close(fd)
    assert busy.returncode == 1
    assert "another duologue command is working" in busy.stderr
    assert not (root / "public").exists()
    assert run_duologue(root, "build").returncode == 0


def test_an_interrupted_publish_is_undone_by_the_next_command(tmp_path: Path) -> None:
    _repo, root = _workspace_in_a_subfolder(tmp_path)
    draft = new_draft(root, "Second", "Ben,\n\nAgain.")  # out of turn: --force
    before = snapshot(root)
    killed = run_duologue(
        root,
        "publish",
        "slow-work",
        "--force",
        env={"DUOLOGUE_FAULT": "after-journal-commit", "DUOLOGUE_LOCK_TIMEOUT": "5"},
    )
    assert killed.returncode == -signal.SIGKILL
    assert "undid an interrupted publish" in run_duologue(root, "status").stderr
    assert snapshot(root) == before
    assert draft.exists()
