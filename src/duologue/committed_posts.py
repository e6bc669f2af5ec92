"""Posts as a commit holds them (not as the work tree shows them): what publish numbers
turns from and what sync compares, so an uncommitted edit can never skew either."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from duologue.model import POST_FILE_PATTERN, Post, Settings
from duologue.posts import parse_post

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import Repository


def post_paths_at(repo: Repository, rev: str | None, folder: str) -> dict[int, str]:
    """Turn → repository path of the post files directly in ``folder`` at ``rev``."""
    if rev is None:
        return {}
    found: dict[int, str] = {}
    for path in repo.list_tree(rev, folder):
        parent, _, name = path.rpartition("/")
        match = POST_FILE_PATTERN.match(name)
        if match and parent == folder.rstrip("/"):
            found[int(match["turn"])] = path
    return found


def read_post_at(repo: Repository, rev: str, path: str, series: str, settings: Settings) -> Post:
    """A post as committed at ``rev``; the same rules as reading it from disk."""
    text = repo.read_blob(rev, path).decode("utf-8")
    return parse_post(text, Path(repo.root) / path, series, settings)
