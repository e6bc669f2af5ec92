"""Phase 2, link: put every post in its thread — URLs, neighbours, replies, references.

Pure: from loaded series and posts to a ``Site`` that the render phase reads. It also
computes, for every post, short keys that change exactly when what others show of
it changes, so the build can tell which outputs to render again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from duologue.errors import BuildError
from duologue.links import replies_by_turn
from duologue.model import Author, Post, Series, turn_digits
from duologue.site.keys import digest
from duologue.site.load import SourcePost
from duologue.turns import next_author

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The date of a feed with no posts: never the clock, so the output stays the same."""


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """A post placed in its thread."""

    source: SourcePost
    author: Author
    path: str
    """Output path relative to the output folder: ``<series>/NNNN-<slug>.html``."""
    url: str
    """Absolute URL of its page."""
    ident: str
    """Changes whenever the post's file or name does."""

    @property
    def post(self) -> Post:
        return self.source.post

    @property
    def turn(self) -> int:
        return self.source.post.turn


@dataclass(slots=True)
class Thread:
    """One series and its posts in turn order."""

    series: Series
    posts: list[ThreadPost]
    by_turn: dict[int, ThreadPost]
    replies: dict[int, list[int]]
    url: str
    key: str
    """Changes whenever series.toml does."""
    body_keys: dict[int, str] = field(default_factory=dict)
    """Turn → key of everything its body HTML depends on (text, referenced titles, URLs)."""
    item_keys: dict[int, str] = field(default_factory=dict)
    """Turn → key of its feed entry: the body plus the posts it answers and is answered by."""

    @property
    def latest(self) -> ThreadPost | None:
        return self.posts[-1] if self.posts else None

    @property
    def next_author(self) -> Author:
        latest = self.latest
        return next_author(self.series.authors, latest.post.author if latest else None)

    @property
    def waiting_since(self) -> datetime | None:
        latest = self.latest
        return latest.post.date if latest else None

    @property
    def reply_due(self) -> datetime | None:
        """When the turn becomes overdue; the page, not the build, compares it with today."""
        since = self.waiting_since
        if since is None or self.series.reply_within_days is None:
            return None
        try:
            return since + timedelta(days=self.series.reply_within_days)
        except OverflowError:  # a post dated near year 9999: no due date to show
            return None

    @property
    def updated(self) -> datetime:
        """When a post last changed (published, amended or withdrawn): a feed's
        ``updated``/``lastBuildDate``."""
        return max((p.post.changed for p in self.posts), default=EPOCH)

    def neighbours(self, index: int) -> tuple[ThreadPost | None, ThreadPost | None]:
        previous = self.posts[index - 1] if index > 0 else None
        following = self.posts[index + 1] if index + 1 < len(self.posts) else None
        return previous, following

    def answers(self, turn: int) -> list[ThreadPost]:
        """The posts that reply to ``turn``, in turn order."""
        return [self.by_turn[t] for t in self.replies.get(turn, ())]

    def answered(self, post: ThreadPost) -> ThreadPost | None:
        """The post that ``post`` replies to."""
        target = post.post.in_reply_to
        return None if target is None else self.by_turn.get(target)


Target = tuple[str, str, str]
"""``(title, url, ident)`` of a post another post references."""


@dataclass(slots=True)
class Site:
    """The whole workspace, linked — or, in a build worker, one series of it."""

    title: str
    base_url: str
    threads: dict[str, Thread]
    """Series slug → thread, in slug order."""
    outside: Callable[[str, int], Target | None] | None = None
    """For a site holding only some series: finds a post of another series (``[[other#N]]``)."""

    def _target(self, series: str, turn: int) -> Target | None:
        thread = self.threads.get(series)
        if thread is None:
            return self.outside(series, turn) if self.outside is not None else None
        target = thread.by_turn.get(turn)
        return None if target is None else (target.post.title, target.url, target.ident)

    def resolve(self, series: str, turn: int) -> tuple[str, str] | None:
        """``[[series#turn]]`` → ``(title, url)``, or None when it points nowhere."""
        target = self._target(series, turn)
        return None if target is None else (target[0], target[1])

    def target_ident(self, series: str, turn: int) -> str:
        target = self._target(series, turn)
        return f"missing:{series}#{turn}" if target is None else target[2]


def post_path(series: str, post: Post) -> str:
    return f"{series}/{turn_digits(post.turn)}-{post.slug}.html"


def post_ident(source: SourcePost) -> str:
    """``ThreadPost.ident``: also what a build worker holding one series computes for a
    post of another, so the keys agree."""
    return digest(source.relpath, source.digest)


def thread_of(series: Series, sources: Sequence[SourcePost], base_url: str) -> Thread:
    """Place a series' posts; ``BuildError`` for what no page could show sensibly."""
    posts: list[ThreadPost] = []
    by_turn: dict[int, ThreadPost] = {}
    for source in sorted(sources, key=lambda s: s.post.turn):
        post = source.post
        if post.turn in by_turn:
            raise BuildError(
                f"{source.relpath}: `turn` {post.turn} is also used by "
                f"{by_turn[post.turn].source.relpath}; give each post its own turn number."
            )
        author = series.author(post.author)
        if author is None:
            raise BuildError(
                f"{source.relpath}: `author` {post.author!r} is not an author of "
                f"{series.slug} ({', '.join(series.handles)}); fix the handle."
            )
        path = post_path(series.slug, post)
        placed = ThreadPost(
            source=source,
            author=author,
            path=path,
            url=base_url + path,
            ident=post_ident(source),
        )
        posts.append(placed)
        by_turn[post.turn] = placed
    for placed in posts:
        target = placed.post.in_reply_to
        if target is not None and (target not in by_turn or target >= placed.turn):
            raise BuildError(
                f"{placed.source.relpath}: `in_reply_to` {target} names no earlier post of "
                f"{series.slug}; point it at the turn this post answers."
            )
    return Thread(
        series=series,
        posts=posts,
        by_turn=by_turn,
        replies=replies_by_turn(p.post for p in posts),
        url=f"{base_url}{series.slug}/",
        key=digest(repr(series)),
    )


def link_series(
    title: str,
    base_url: str,
    series: Series,
    sources: Sequence[SourcePost],
    outside: Callable[[str, int], Target | None],
) -> Site:
    """One series' thread and the keys that tie each post to what it shows of others:
    posts of other series it references come from ``outside``, so its keys do not depend
    on which other series are built with it."""
    thread = thread_of(series, sources, base_url)
    site = Site(title=title, base_url=base_url, threads={series.slug: thread}, outside=outside)
    _link_keys(thread, site)
    return site


def _link_keys(thread: Thread, site: Site) -> None:
    for placed in thread.posts:
        refs = [site.target_ident(s, t) for s, t in placed.source.references]
        thread.body_keys[placed.turn] = digest(placed.ident, *refs)
    for placed in thread.posts:
        answered = thread.answered(placed)
        thread.item_keys[placed.turn] = digest(
            thread.body_keys[placed.turn],
            answered.ident if answered else "-",
            *(p.ident for p in thread.answers(placed.turn)),
        )
