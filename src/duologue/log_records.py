"""``duologue log``: a series' thread as records for the terminal or JSON."""

from __future__ import annotations

from duologue.files import relative
from duologue.model import Post, Settings
from duologue.posts import load_posts
from duologue.workspace import load_series


def load_thread(settings: Settings, slug: str) -> list[Post]:
    load_series(settings, slug)  # a clear error for an unknown or broken series
    return load_posts(settings, slug)


def log_record(post: Post, settings: Settings) -> dict[str, object]:
    """The ``log --json`` object of SPEC §3."""
    return {
        "turn": post.turn,
        "title": post.title,
        "author": post.author,
        "date": post.date.isoformat(),
        "in_reply_to": post.in_reply_to,
        "path": relative(post.path, settings.root),
    }
