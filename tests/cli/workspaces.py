"""Building real workspaces (real git repositories) for the CLI and check tests.

Files are written by hand, not through duologue, so a test can build exactly the
broken state it needs; ``commit_all`` records it with real git.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.helpers import git

ANA = ("ana", "Ana Lima", "ana@example.com")
BEN = ("ben", "Ben Okafor", "ben@example.com")
CAT = ("cat", "Cat Ng", "cat@example.com")


def settings_text(timezone: str = "UTC", base_url: str = "https://example.org/") -> str:
    return (
        'title = "Test dialogues"\n'
        f'base_url = "{base_url}"\n'
        f'timezone = "{timezone}"\n'
        'output = "public"\n'
        "feed_limit = 50\n"
    )


def make_workspace(
    root: Path,
    *,
    timezone: str = "UTC",
    email: str = "someone@example.net",
    commit: bool = True,
) -> Path:
    """A git repository holding ``duologue.toml``, ``series/`` and ``drafts/``."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", email)
    (root / "duologue.toml").write_text(settings_text(timezone), encoding="utf-8")
    for folder in ("series", "drafts"):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / ".gitkeep").write_text("", encoding="utf-8")
    (root / ".gitignore").write_text("/public/\n", encoding="utf-8")
    if commit:
        commit_all(root, "workspace")
    return root


def series_text(
    slug: str,
    authors: Sequence[tuple[str, str, str]] = (ANA, BEN),
    *,
    title: str = "Slow Work",
    reply_within_days: int | None = None,
) -> str:
    text = (
        f'title = "{title}"\n'
        'description = "Two leads on calmer work."\n'
        'language = "en"\n'
        f'id = "tag:example.org,2026-01-01:{slug}"\n'
    )
    if reply_within_days is not None:
        text += f"reply_within_days = {reply_within_days}\n"
    for handle, name, email in authors:
        text += f'\n[[authors]]\nhandle = "{handle}"\nname = "{name}"\nemail = "{email}"\n'
    return text


def write_series(
    root: Path,
    slug: str,
    authors: Sequence[tuple[str, str, str]] = (ANA, BEN),
    **options: object,
) -> Path:
    folder = root / "series" / slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "series.toml"
    path.write_text(series_text(slug, authors, **options), encoding="utf-8")  # type: ignore[arg-type]
    return path


def post_text(
    turn: int | str | None,
    author: str,
    date: str,
    *,
    title: str | None = None,
    in_reply_to: int | None = None,
    body: str | None = None,
    extra: str = "",
) -> str:
    lines = ["---", f'title: "{title or f"Letter {turn}"}"', f"author: {author}"]
    if date:
        lines.append(f"date: {date}")
    if turn is not None:
        lines.append(f"turn: {turn}")
    if in_reply_to is not None:
        lines.append(f"in_reply_to: {in_reply_to}")
    if extra:
        lines.append(extra.rstrip("\n"))
    lines.append("---")
    lines.append(body if body is not None else f"Dear friend,\n\nThis is turn {turn}.")
    return "\n".join(lines) + "\n"


def default_date(turn: int) -> str:
    """One post a day from 2026-01-01, so dates never go backwards."""
    return (datetime(2026, 1, 1, 9, 0, tzinfo=UTC) + timedelta(days=turn - 1)).isoformat()


def write_post(
    root: Path,
    series: str,
    turn: int,
    author: str,
    *,
    date: str | None = None,
    slug: str | None = None,
    in_reply_to: int | None = ...,  # type: ignore[assignment]
    **options: object,
) -> Path:
    """``series/<series>/NNNN-<slug>.md``; a reply to the previous turn unless told otherwise."""
    if in_reply_to is ...:
        in_reply_to = turn - 1 if turn > 1 else None
    path = root / "series" / series / f"{turn:04d}-{slug or f'letter-{turn}'}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    when = date or default_date(turn)
    path.write_text(
        post_text(turn, author, when, in_reply_to=in_reply_to, **options),  # type: ignore[arg-type]
        encoding="utf-8",
    )
    return path


def write_thread(
    root: Path, series: str, count: int, handles: Sequence[str] = ("ana", "ben")
) -> list[Path]:
    """``count`` posts in rotation, each answering the one before."""
    return [
        write_post(root, series, turn, handles[(turn - 1) % len(handles)])
        for turn in range(1, count + 1)
    ]


def write_draft(root: Path, series: str, slug: str, text: str) -> Path:
    path = root / "drafts" / series / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def commit_all(root: Path, message: str, *trailers: str) -> str:
    """Stage everything and commit with real git; ``trailers`` go at the end of the message.

    A commit that adds one post is a turn, and ``check`` holds a turn to being committed
    by its post's author (SPEC §7): such a commit is made in that author's name, as
    ``publish`` would make it. Tests of that rule commit with plain ``git`` instead."""
    git(root, "add", "-A")
    full = message if not trailers else message + "\n\n" + "\n".join(trailers)
    author = _turn_author(root)
    extra = ["--author", f"{author[1]} <{author[2]}>"] if author else []
    git(root, "commit", "-q", "--allow-empty", *extra, "-m", full)
    return git(root, "rev-parse", "HEAD").strip()


def _turn_author(root: Path) -> tuple[str, str, str] | None:
    """The author of the one post the staged changes add, when they add exactly one."""
    added = git(root, "diff", "--cached", "--name-only", "--diff-filter=A").split()
    posts = [p for p in added if p.startswith("series/") and p.endswith(".md")]
    if len(posts) != 1:
        return None
    for line in (root / posts[0]).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("author:"):
            handle = line.removeprefix("author:").strip().strip("'\"")
            return next((a for a in (ANA, BEN, CAT) if a[0] == handle), None)
    return None


def sample_workspace(root: Path, posts: int = 3, **series_options: object) -> Path:
    """A committed workspace with series ``slow-work`` (ana, ben) and ``posts`` posts."""
    make_workspace(root, commit=False)
    write_series(root, "slow-work", **series_options)  # type: ignore[arg-type]
    write_thread(root, "slow-work", posts)
    commit_all(root, "sample")
    return root
