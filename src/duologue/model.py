"""The domain: frozen dataclasses that the rest of duologue passes around.

Nothing here reads a file or calls git; loaders in ``workspace`` and ``posts``
build these from disk, and pure functions in ``turns``, ``links`` and ``check``
reason about them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
"""Series slugs and author handles (SPEC §1)."""

POST_FILE_PATTERN = re.compile(
    r"^(?P<turn>(?!0000)[0-9]{4}|[1-9][0-9]{4,})-(?P<slug>[a-z0-9][a-z0-9-]*)\.md$"
)
"""``NNNN-<slug>.md``: the one definition of a post's file name that check, status,
build, publish and sync share. The turn is written exactly as ``turn_digits`` writes
it: four digits up to 9999, more only from 10000 on (``00003-…`` is not turn 3, or
two files could claim one turn), and never 0."""

_NUMBERED_NAME = re.compile(r"^(?P<digits>[0-9]+)-(?P<rest>.*)$", re.DOTALL)


def turn_digits(turn: int) -> str:
    """How a turn is written in file and page names: ``0006``, ``12345``."""
    return f"{turn:04d}"


def post_file_name(turn: int, slug: str) -> str:
    """``0006-<slug>.md``: the name ``POST_FILE_PATTERN`` reads back as ``turn``."""
    return f"{turn_digits(turn)}-{slug}.md"


def post_name_problem(name: str) -> str:
    """Why ``name``, a ``.md`` file in a series folder, is not a post's file name."""
    usage = "a post's file name must look like 0001-some-title.md"
    numbered = _NUMBERED_NAME.match(name)
    if numbered is not None:
        digits, turn = numbered["digits"], int(numbered["digits"])
        if turn == 0:
            return f"{usage}, and turns start at 1, not {digits!r}."
        if digits != turn_digits(turn):
            fixed = post_file_name(turn, numbered["rest"].removesuffix(".md"))
            rename = f"; rename it to {fixed!r}" if POST_FILE_PATTERN.match(fixed) else ""
            return (
                f"{usage}: turn {turn} is written {turn_digits(turn)!r} (four digits, more "
                f"only from 10000 on), not {digits!r}{rename}."
            )
    return f"{usage}."


@dataclass(frozen=True, slots=True)
class Author:
    """One co-author of a series."""

    handle: str
    """Short name used in front matter and commands (``ana``)."""
    name: str
    """Display name (``Ana Lima``)."""
    email: str
    """Matched against git's ``user.email`` to find the acting author."""
    url: str | None = None
    """The author's own site, if any."""

    @property
    def first_name(self) -> str:
        """What a letter opens with: ``Ana,``."""
        return self.name.split()[0] if self.name.split() else self.handle


@dataclass(frozen=True, slots=True)
class Settings:
    """``duologue.toml``: the workspace's settings."""

    root: Path
    """The workspace root (the folder holding duologue.toml)."""
    title: str
    base_url: str
    """Absolute, always ending in ``/``."""
    timezone: tzinfo
    timezone_name: str
    output: str
    """Build output folder, relative to root."""
    feed_limit: int = 50

    @property
    def series_dir(self) -> Path:
        return self.root / "series"

    @property
    def drafts_dir(self) -> Path:
        return self.root / "drafts"

    @property
    def output_dir(self) -> Path:
        return self.root / self.output


@dataclass(frozen=True, slots=True)
class Series:
    """``series/<slug>/series.toml``: one running exchange."""

    slug: str
    title: str
    id: str
    """Permanent ``tag:`` URI; post ids are ``<id>/<turn>``."""
    authors: tuple[Author, ...]
    """In turn order."""
    description: str = ""
    hashtag: str | None = None
    language: str = "en"
    reply_within_days: int | None = None

    def author(self, handle: str) -> Author | None:
        for author in self.authors:
            if author.handle == handle:
                return author
        return None

    @property
    def handles(self) -> tuple[str, ...]:
        return tuple(author.handle for author in self.authors)

    def post_id(self, turn: int) -> str:
        return f"{self.id}/{turn}"


@dataclass(frozen=True, slots=True)
class PostFile:
    """A published post known only by its file name: cheap to list."""

    turn: int
    slug: str
    path: Path


@dataclass(frozen=True, slots=True)
class Post:
    """A published turn of a series."""

    series: str
    """The series slug."""
    turn: int
    slug: str
    path: Path
    title: str
    author: str
    """A handle from series.toml."""
    date: datetime
    """Always timezone-aware."""
    body: str
    in_reply_to: int | None = None
    tags: tuple[str, ...] = ()
    summary: str | None = None
    canonical_url: str | None = None
    updated: datetime | None = None
    """When ``amend`` last corrected it (SPEC §7); ``date`` stays the publish date."""
    withdrawn: datetime | None = None
    """When ``retract`` withdrew it: the file stays, its body is empty."""
    withdrawn_reason: str | None = None

    @property
    def changed(self) -> datetime:
        """The last time the post changed: what a feed's ``<updated>`` says."""
        return max(d for d in (self.date, self.updated, self.withdrawn) if d is not None)


POST_FIXED_FIELDS = ("turn", "author", "date", "in_reply_to")
"""What never changes once a post is published (SPEC §7)."""
POST_CONTENT_FIELDS = ("title", "body", "tags", "summary", "canonical_url")
"""What ``amend`` may change, together with a later ``updated``."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply being written: ``drafts/<series>/<slug>.md``."""

    series: str
    slug: str
    path: Path
    title: str
    author: str | None
    body: str
    in_reply_to: int | None = None
    date: datetime | None = None
    tags: tuple[str, ...] = ()
    summary: str | None = None
    canonical_url: str | None = None
    extra_turn: int | None = None
    """A ``turn`` the writer put in; publish assigns its own and ignores this."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of ``duologue check``."""

    path: str
    """Relative to the workspace root, with ``/`` separators."""
    level: str
    """``error`` or ``warning``."""
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.level}: {self.message}"


@dataclass(frozen=True, slots=True)
class SeriesStatus:
    """Whose turn it is in one series, for ``status``."""

    series: Series
    posts: int
    last: Post | None
    next_author: Author
    waiting_since: datetime | None
    your_turn: bool | None
    overdue: bool
    acting: Author | None = field(default=None)
    shared_turns: tuple[int, ...] = ()
    """Turns more than one post file claims: until ``sync`` settles them, whose turn it
    is cannot be told."""
