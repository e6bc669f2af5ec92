"""Small workspaces written straight to disk for build tests (no git needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

AUTHORS = (("ana", "Ana Lima", "ana@example.com"), ("ben", "Ben Okafor", "ben@example.com"))


def make_workspace(
    root: Path, *, title: str = "Sample dialogues", base_url: str = "https://example.org/",
    feed_limit: int = 50, timezone: str = "UTC",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "duologue.toml").write_text(
        f"title = {json.dumps(title)}\nbase_url = {json.dumps(base_url)}\n"
        f"timezone = {json.dumps(timezone)}\noutput = \"public\"\nfeed_limit = {feed_limit}\n",
        encoding="utf-8",
    )
    (root / "series").mkdir(exist_ok=True)
    (root / "drafts").mkdir(exist_ok=True)
    return root


def add_series(
    root: Path, slug: str, *, title: str | None = None, description: str = "A test series.",
    reply_within_days: int | None = None, author_url: str | None = None,
) -> Path:
    folder = root / "series" / slug
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"title = {json.dumps(title or slug.replace('-', ' ').title())}",
        f"description = {json.dumps(description)}",
        f"id = \"tag:example.org,2026-01-01:{slug}\"",
    ]
    if reply_within_days is not None:
        lines.append(f"reply_within_days = {reply_within_days}")
    for handle, name, email in AUTHORS:
        lines += ["", "[[authors]]", f"handle = \"{handle}\"", f"name = \"{name}\"",
                  f"email = \"{email}\""]
        if author_url and handle == "ana":
            lines.append(f"url = {json.dumps(author_url)}")
    (folder / "series.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def add_post(
    root: Path, series: str, turn: int, *, title: str | None = None, body: str | None = None,
    author: str | None = None, date: str | None = None, in_reply_to: int | None = None,
    tags: tuple[str, ...] = (), slug: str | None = None, reply: bool = True,
) -> Path:
    """Post ``turn``; by default written by the author whose turn it is, answering ``turn - 1``."""
    author = author or AUTHORS[(turn - 1) % 2][0]
    if in_reply_to is None and reply and turn > 1:
        in_reply_to = turn - 1
    date = date or (datetime(2026, 1, 1, 9, 30, tzinfo=UTC) + timedelta(days=turn)).isoformat()
    lines = [
        "---",
        f"title: {json.dumps(title or f'Post {turn}', ensure_ascii=False)}",
        f"author: {author}",
        f"date: {date}",
        f"turn: {turn}",
    ]
    if in_reply_to is not None:
        lines.append(f"in_reply_to: {in_reply_to}")
    if tags:
        lines.append(f"tags: [{', '.join(tags)}]")
    lines.append("---")
    text = "\n".join(lines) + "\n" + (body if body is not None else f"Body of post {turn}.") + "\n"
    path = root / "series" / series / f"{turn:04d}-{slug or f'post-{turn}'}.md"
    path.write_text(text, encoding="utf-8")
    return path


def thread(root: Path, series: str, count: int) -> None:
    """``count`` posts answering each other in turn."""
    for turn in range(1, count + 1):
        add_post(root, series, turn)


def output_files(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }
