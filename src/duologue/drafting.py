"""``duologue draft``: a reply that addresses the co-author, cites the post it answers
with ``[[#N]]`` and quotes that post's closing paragraph, the question handed over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from duologue.errors import InvalidInput
from duologue.files import create_exclusive
from duologue.identity import Identity, require_author
from duologue.model import Author, Draft, Post, Series, Settings
from duologue.posts import format_draft, read_post
from duologue.slugs import slugify
from duologue.turns import next_author
from duologue.visible import hidden_character_problem
from duologue.workspace import list_post_files, load_series

SIGN_OFF_WORDS = 6
"""A last paragraph this short is a sign-off ("Over to you, Ben"), not the question."""


@dataclass(frozen=True, slots=True)
class DraftResult:
    path: Path
    author: Author
    answering: Post | None
    out_of_turn: str | None
    """A notice when it is not the author's turn (drafting early is allowed)."""


def _paragraphs(body: str) -> list[str]:
    """The body's paragraphs, each keeping its leading spaces: four of them (or a tab)
    make an indented code block, which ``closing_paragraph`` never quotes."""
    return [p.strip("\n").rstrip() for p in re.split(r"\n[ \t]*\n", body.strip("\n")) if p.strip()]


def closing_paragraph(body: str) -> str:
    """The paragraph that hands the question over: the last one with a question mark
    among the final three, else the last one longer than a sign-off."""
    paragraphs = [
        p
        for p in _paragraphs(body)
        if not p.lstrip(" ").startswith(("```", "~~~", "|")) and not p.startswith(("    ", "\t"))
    ]
    if not paragraphs:
        return ""
    for paragraph in reversed(paragraphs[-3:]):
        if "?" in paragraph:
            return paragraph
    for paragraph in reversed(paragraphs):
        if len(paragraph.split()) > SIGN_OFF_WORDS:
            return paragraph
    return paragraphs[-1]


def quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def reply_body(author: Author, answering: Post, addressee: Author, next_up: Author) -> str:
    closing = closing_paragraph(answering.body)
    quoted = (
        f"You closed [[#{answering.turn}]] with:\n\n{quote(closing)}\n\n"
        if closing
        else (f"Thank you for [[#{answering.turn}]].\n\n")
    )
    return (
        f"{addressee.first_name},\n\n"
        f"{quoted}"
        "Write your answer here.\n\n"
        f"Over to you, {next_up.first_name}.\n"
    )


def opening_body(addressee: Author) -> str:
    return (
        f"{addressee.first_name},\n\n"
        "Write the opening letter here: what you would like to talk about, and the first "
        "question you hand over.\n\n"
        f"Over to you, {addressee.first_name}.\n"
    )


def unique_path(folder: Path, slug: str, taken: set[Path] | None = None) -> Path:
    """``folder/<slug>.md``, or ``<slug>-2.md``… when that exists or is in ``taken``."""
    candidate = folder / f"{slug}.md"
    number = 2
    while candidate.exists() or candidate.is_symlink() or candidate in (taken or set()):
        candidate = folder / f"{slug}-{number}.md"
        number += 1
    return candidate


def compose_draft(
    series: Series, author: Author, latest: Post | None, title: str | None, folder: Path
) -> Draft:
    """The draft's front matter and body (pure apart from picking a free file name)."""
    if latest is None:
        addressee = next_author(series.authors, author.handle)
        default_title = f"{series.title}: an opening letter"
        body = opening_body(addressee)
        fallback = "opening"
    else:
        answered = series.author(latest.author)
        addressee = (
            answered
            if answered is not None and answered.handle != author.handle
            else next_author(series.authors, author.handle)
        )
        default_title = f"Re: {latest.title}"
        body = reply_body(author, latest, addressee, next_author(series.authors, author.handle))
        fallback = f"reply-to-{latest.turn}"
    chosen_title = (title or default_title).strip()
    if not chosen_title:
        raise InvalidInput("--title is empty; give the draft a title or leave the option out.")
    path = unique_path(folder, slugify(chosen_title, fallback))
    return Draft(
        series=series.slug,
        slug=path.stem,
        path=path,
        title=chosen_title,
        author=author.handle,
        body=body,
        in_reply_to=latest.turn if latest else None,
    )


def create_draft(
    settings: Settings, slug: str, identity: Identity, title: str | None
) -> DraftResult:
    """Write ``drafts/<series>/<slug>.md`` as a reply to the latest post."""
    from duologue.git.transaction import changing

    series = load_series(settings, slug)
    author = require_author(series, identity)
    if title is not None and ("\n" in title or any(ord(ch) < 32 for ch in title)):
        raise InvalidInput("--title contains control characters or line breaks; use plain text.")
    problem = None if title is None else hidden_character_problem(title, "--title")
    if problem:
        raise InvalidInput(problem)
    with changing(settings.root):
        files = list_post_files(settings, slug)
        latest = read_post(files[-1].path, slug, settings) if files else None
        draft = compose_draft(series, author, latest, title, settings.drafts_dir / slug)
        create_exclusive(draft.path, format_draft(draft))
    upcoming = next_author(series.authors, latest.author if latest else None)
    notice = None
    if upcoming.handle != author.handle:
        since = f" since {latest.date.isoformat()}" if latest else ""
        notice = (
            f"note: it is {upcoming.handle}'s turn{since}, not yours; you can write now and "
            "publish when the turn comes to you."
        )
    return DraftResult(draft.path, author, latest, notice)
