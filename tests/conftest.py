"""Shared test setup: every test runs against real git, isolated from the machine's config."""

from __future__ import annotations

from pathlib import Path

import pytest


def isolate_git(patch: pytest.MonkeyPatch, home: Path) -> None:
    """No global or system git identity leaks in; tests set the identities they mean.
    Also what a module-scoped fixture uses, under its own ``MonkeyPatch.context()``."""
    global_config = home / ".gitconfig"
    global_config.write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    patch.setenv("HOME", str(home))
    patch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "DUOLOGUE_AUTHOR", "DUOLOGUE_DEBUG",
        "EDITOR", "VISUAL",
    ):
        patch.delenv(name, raising=False)
    patch.setenv("DUOLOGUE_LOCK_TIMEOUT", "60")


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, tmp_path_factory.mktemp("home"))
