"""Render and write a series: its post pages, thread page, feeds and archives."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duologue import __version__
from duologue.errors import BodyRefused, BuildError
from duologue.site import cache as build_cache
from duologue.site.keys import RENDER_VERSION, digest
from duologue.site.linking import Site, Thread
from duologue.site.load import read_body
from duologue.site.plan import Output
from duologue.site.writer import Writer

if TYPE_CHECKING:  # imported by the render itself: a no-op rebuild never loads them
    from duologue.site.feeds import FeedItem

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: called as work completes; the CLI draws a bar with it."""


@dataclass
class RenderState:
    """What rendering a series needs besides the outputs to render."""

    site: Site
    root: Path
    bytecode_dir: Path | None
    cache_folder: Path
    body_context: str
    """Hash of what every body depends on besides its key (version, base URL)."""
    feed_limit: int
    fresh_bodies: dict[str, str] = field(default_factory=dict)
    """Relative path → body text of the posts this process parsed: not read again."""


def body_context(url: str) -> str:
    """What every body's HTML depends on besides its own key: the render version, the
    duologue version and the base URL."""
    return digest(RENDER_VERSION, __version__, url)


def series_bodies(state: RenderState, thread: Thread, indexes: Iterable[int]) -> dict[int, str]:
    """Body HTML of the posts at ``indexes``: from the series' body cache, else rendered (and
    cached), so a thread page after one edit renders one body, not the whole thread."""
    from duologue.site.markdown import render_body

    slug = thread.series.slug
    cached = build_cache.load_bodies(state.cache_folder, slug, state.body_context)
    bodies: dict[int, str] = {}
    changed: list[int] = []
    for index in sorted(indexes):
        placed = thread.posts[index]
        key = thread.body_keys[placed.turn]
        hit = cached.get(placed.turn)
        if hit is not None and hit[0] == key:
            bodies[index] = hit[1]
            continue
        source = placed.source
        text = state.fresh_bodies.get(source.relpath)
        if text is None:
            text = read_body(state.root, source)
        try:
            html = render_body(text, slug, source.references, state.site.resolve)
        except BodyRefused as refused:
            raise BuildError(f"{source.relpath}: {refused.message}") from None
        cached[placed.turn] = (key, html)
        bodies[index] = html
        changed.append(placed.turn)
    gone = [turn for turn in cached if turn not in thread.by_turn]
    for turn in gone:
        del cached[turn]
    build_cache.save_bodies(state.cache_folder, slug, state.body_context, cached, [*changed, *gone])
    return bodies


def render_series(
    state: RenderState,
    slug: str,
    outputs: Sequence[Output],
    feed_indexes: Iterable[int],
    writer: Writer,
) -> dict[int, str]:
    """Render one series' ``outputs`` and write them with ``writer``; gives the body HTML
    of the posts at ``feed_indexes`` (what the site feed shows of the series)."""
    from duologue.site.feeds import SeriesFeedPlan, archive_feed, series_feeds
    from duologue.site.pages import PageRenderer

    extra = tuple(feed_indexes)
    site = state.site
    thread = site.threads[slug]
    feed_plan = SeriesFeedPlan(len(thread.posts), state.feed_limit)
    needed: set[int] = set(extra)
    for output in outputs:
        if output.kind == "post":
            needed.add(output.number)
        elif output.kind == "thread":
            needed.update(range(len(thread.posts)))
        elif output.kind == "feeds":
            needed.update(feed_plan.feed_range())
        elif output.kind == "archive":
            needed.update(feed_plan.archive_range(output.number))
    bodies = series_bodies(state, thread, needed)
    renderer = PageRenderer(state.root, state.bytecode_dir)
    feeds_done = False
    for output in outputs:
        if output.kind == "post":
            page = renderer.post_page(site, thread, output.number, bodies[output.number])
            writer.write(output.relpath, page)
        elif output.kind == "thread":
            page = renderer.thread_page(site, thread, [bodies[i] for i in range(len(thread.posts))])
            writer.write(output.relpath, page)
        elif output.kind == "feeds" and not feeds_done:
            feeds_done = True  # feed.xml and atom.xml come from the same items
            items = items_of(thread, feed_plan.feed_range(), bodies)
            rss, atom = series_feeds(thread, feed_plan, items)
            writer.write(f"{slug}/feed.xml", rss)
            writer.write(f"{slug}/atom.xml", atom)
        elif output.kind == "archive":
            items = items_of(thread, feed_plan.archive_range(output.number), bodies)
            writer.write(output.relpath, archive_feed(thread, feed_plan, output.number, items))
    return {i: bodies[i] for i in extra}


def items_of(thread: Thread, indexes: Iterable[int], bodies: dict[int, str]) -> list[FeedItem]:
    from duologue.site.feeds import feed_item

    return [feed_item(thread, thread.posts[i], bodies[i]) for i in indexes]
