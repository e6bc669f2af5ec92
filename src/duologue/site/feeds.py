"""Phase 3, render (feeds): RSS 2.0 and Atom 1.0 with feedgen — the one module that imports it.

feedgen knows neither threading (RFC 4685) nor feed paging and archiving (RFC 5005):
it has no ``fh:complete``/``fh:archive``, and into RSS it copies only the ``self``
link, dropping ``prev-archive``. Two small extensions below add them through
feedgen's own extension API, the same way for RSS and Atom. feedgen's traps are avoided on
purpose: entries are appended (it prepends by default), every date is set from the
posts (it fills in the clock otherwise), and authors go out as ``dc:creator`` in RSS
(it drops an RSS ``<author>`` without an e-mail, and we publish no e-mails).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from duologue.site.linking import Site, Thread, ThreadPost

ATOM_NS = "http://www.w3.org/2005/Atom"
THREAD_NS = "http://purl.org/syndication/thread/1.0"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
GENERATOR = "duologue"


class HistoryExtension(BaseExtension):  # type: ignore[misc]  # feedgen is untyped
    """RFC 5005: ``fh:complete``, ``fh:archive`` and the archive links a feed carries."""

    def __init__(self) -> None:
        self.complete = False
        self.archive = False
        self.links: list[tuple[str, str]] = []
        """``(rel, href)`` for ``current``, ``prev-archive`` and ``next-archive``."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS}

    def _extend(self, parent: Any, link_tag: str) -> None:
        if self.complete:
            xml_elem(f"{{{HISTORY_NS}}}complete", parent)
        if self.archive:
            xml_elem(f"{{{HISTORY_NS}}}archive", parent)
        for rel, href in self.links:
            xml_elem(link_tag, parent, rel=rel, href=href)

    def extend_atom(self, feed: Any) -> Any:
        self._extend(feed, "link")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        self._extend(feed[0], f"{{{ATOM_NS}}}link")
        return feed


class HistoryEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entries carry nothing of RFC 5005; feedgen wants a class all the same."""


class ThreadEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """RFC 4685: ``<thr:in-reply-to ref=… href=…>`` on an Atom entry that answers another."""

    def __init__(self) -> None:
        self.reply: tuple[str, str] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"thr": THREAD_NS}

    def extend_atom(self, entry: Any) -> Any:
        if self.reply is not None:
            ref, href = self.reply
            xml_elem(f"{{{THREAD_NS}}}in-reply-to", entry, ref=ref, href=href, type="text/html")
        return entry


class ThreadExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level half of the threading extension: only the namespace."""

    def extend_ns(self) -> dict[str, str]:
        return {"thr": THREAD_NS}


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One post as a feed entry, with its body HTML already rendered."""

    thread: Thread
    placed: ThreadPost
    body: str


def cross_links(thread: Thread, placed: ThreadPost) -> str:
    """The footer every entry carries: what it answers and what answered it."""
    parts: list[str] = []
    answered = thread.answered(placed)
    if answered is not None:
        parts.append(
            f'<p class="in-reply-to">In reply to <a href="{escape(answered.url)}">'
            f"{escape(answered.post.title)}</a> by {escape(answered.author.name)}.</p>"
        )
    answers = thread.answers(placed.turn)
    if answers:
        links = ", ".join(
            f'<a href="{escape(p.url)}">{escape(p.post.title)}</a> ({escape(p.author.name)})'
            for p in answers
        )
        parts.append(f'<p class="replies">Answered by {links}.</p>')
    if not parts:
        return ""
    return '\n<hr>\n<footer class="thread-links">\n' + "\n".join(parts) + "\n</footer>\n"


def _new_feed(
    title: str,
    subtitle: str,
    link: str,
    self_url: str,
    feed_id: str,
    updated: datetime,
    language: str,
) -> FeedGenerator:
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.register_extension("thr", ThreadExtension, ThreadEntryExtension, atom=True, rss=False)
    feed.register_extension("fh", HistoryExtension, HistoryEntryExtension, atom=True, rss=True)
    feed.id(feed_id)
    feed.title(title)
    feed.subtitle(subtitle or title)  # also RSS <description>, which must not be empty
    feed.link(href=self_url, rel="self")
    feed.link(href=link, rel="alternate")  # last: feedgen makes the last link RSS's <link>
    feed.language(language)
    feed.generator(GENERATOR)
    feed.updated(updated)  # also lastBuildDate: the newest post, never the clock
    return feed


def _add_items(feed: FeedGenerator, items: Sequence[FeedItem], *, with_series: bool) -> None:
    """Entries in the order given (feedgen would prepend them)."""
    for item in items:
        thread, placed, post = item.thread, item.placed, item.placed.post
        entry = feed.add_entry(order="append")
        title = f"{thread.series.title}: {post.title}" if with_series else post.title
        entry.id(thread.series.post_id(post.turn))  # guid isPermaLink="false"
        entry.title(title)
        entry.link(href=placed.url, rel="alternate")
        entry.published(post.date)
        entry.updated(post.date)
        author: dict[str, str] = {"name": placed.author.name}
        if placed.author.url:
            author["uri"] = placed.author.url
        entry.author(author)
        entry.dc.dc_creator(placed.author.name)
        entry.content(item.body + cross_links(thread, placed), type="html")
        if post.summary:
            entry.summary(post.summary)
        for tag in post.tags:
            entry.category(term=tag)
        answered = thread.answered(placed)
        if answered is not None:
            entry.thr.reply = (thread.series.post_id(answered.turn), answered.url)


def _newest_first(items: Sequence[FeedItem]) -> list[FeedItem]:
    return sorted(
        items, key=lambda i: (i.placed.post.date, i.thread.series.slug, i.placed.turn), reverse=True
    )


def _xml(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"


@dataclass(frozen=True, slots=True)
class SeriesFeedPlan:
    """How a series splits into its subscription feed and RFC 5005 archives."""

    total: int
    limit: int

    @property
    def archives(self) -> int:
        """Full pages of ``limit`` posts, oldest first; none when the feed holds everything."""
        return 0 if self.total <= self.limit else self.total // self.limit

    @property
    def complete(self) -> bool:
        return self.total <= self.limit

    def archive_range(self, number: int) -> range:
        """0-based indexes (turn order) of the posts in archive ``number`` (1-based)."""
        return range((number - 1) * self.limit, number * self.limit)

    def feed_range(self) -> range:
        return range(max(0, self.total - self.limit), self.total)


def archive_url(thread: Thread, number: int) -> str:
    return f"{thread.url}archive/{number}.xml"


def series_feeds(
    thread: Thread, plan: SeriesFeedPlan, items: Sequence[FeedItem]
) -> tuple[bytes, bytes]:
    """``feed.xml`` (RSS) and ``atom.xml`` of a series, newest first."""
    series = thread.series
    rss = _new_feed(
        series.title,
        series.description,
        thread.url,
        thread.url + "feed.xml",
        series.id,
        thread.updated,
        series.language,
    )
    atom = _new_feed(
        series.title,
        series.description,
        thread.url,
        thread.url + "atom.xml",
        series.id,
        thread.updated,
        series.language,
    )
    ordered = _newest_first(items)
    for feed in (rss, atom):
        history: HistoryExtension = feed.fh
        history.complete = plan.complete
        if plan.archives:
            history.links.append(("prev-archive", archive_url(thread, plan.archives)))
        _add_items(feed, ordered, with_series=False)
    return _xml(rss.rss_str(pretty=True)), _xml(atom.atom_str(pretty=True))


def archive_feed(
    thread: Thread, plan: SeriesFeedPlan, number: int, items: Sequence[FeedItem]
) -> bytes:
    """``archive/<number>.xml``: an Atom archive document of RFC 5005."""
    series = thread.series
    url = archive_url(thread, number)
    updated = max(i.placed.post.date for i in items)
    feed = _new_feed(
        f"{series.title} (archive {number})",
        series.description,
        thread.url,
        url,
        f"{series.id}/archive/{number}",
        updated,
        series.language,
    )
    history: HistoryExtension = feed.fh
    history.archive = True
    history.links.append(("current", thread.url + "atom.xml"))
    if number > 1:
        history.links.append(("prev-archive", archive_url(thread, number - 1)))
    # Always the next number, even before that archive is full and written: a full archive
    # must never change (RFC 5005 archives are immutable), and the link is what it will be.
    history.links.append(("next-archive", archive_url(thread, number + 1)))
    _add_items(feed, _newest_first(items), with_series=False)
    return _xml(feed.atom_str(pretty=True))


def site_feed(site: Site, items: Sequence[FeedItem], complete: bool) -> bytes:
    """The root ``feed.xml``: every series together, newest first."""
    feed = _new_feed(
        site.title,
        f"Every series of {site.title}",
        site.base_url,
        site.base_url + "feed.xml",
        site.base_url,
        site.updated,
        "en",
    )
    history: HistoryExtension = feed.fh
    history.complete = complete
    _add_items(feed, _newest_first(items), with_series=True)
    return _xml(feed.rss_str(pretty=True))
