"""Shared test setup: every test runs against real git, isolated from the machine's config."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git identity leaks in; tests set the identities they mean."""
    home = tmp_path_factory.mktemp("home")
    global_config = home / ".gitconfig"
    global_config.write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "DUOLOGUE_AUTHOR", "DUOLOGUE_DEBUG",
        "EDITOR", "VISUAL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUOLOGUE_LOCK_TIMEOUT", "60")
