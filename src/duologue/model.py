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

POST_FILE_PATTERN = re.compile(r"^(?P<turn>[0-9]{4,})-(?P<slug>[a-z0-9][a-z0-9-]*)\.md$")
"""``NNNN-<slug>.md``; more than four digits once a series passes turn 9999."""


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
