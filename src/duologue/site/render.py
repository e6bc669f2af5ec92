"""Render and write a series: its post pages, thread page, feeds and archives.

The state a render needs (the linked site, folders, what the bodies depend on) is a
module global set before worker processes fork, so they inherit it instead of having
it pickled; ``rendering`` sets and clears it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duologue import __version__
from duologue.errors import BodyRefused, BuildError
from duologue.model import Settings
from duologue.site import cache as build_cache
from duologue.site import pool
from duologue.site.keys import RENDER_VERSION, digest
from duologue.site.linking import Site, Thread
from duologue.site.load import read_body
from duologue.site.plan import Output
from duologue.site.writer import Stamp, Writer

if TYPE_CHECKING:  # imported by the render itself: a no-op rebuild never loads them
    from duologue.site.feeds import FeedItem

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: called as work completes; the CLI draws a bar with it."""


@dataclass
class RenderState:
    """What worker processes need; set before they fork so nothing big is pickled."""

    site: Site
    root: Path
    out_dir: Path
    bytecode_dir: Path | None
    cache_folder: Path
    body_context: str
    """Hash of what every body depends on besides its key (version, base URL)."""
    feed_limit: int
    fresh_bodies: dict[str, str] = field(default_factory=dict)
    """Relative path → body text of the posts this process parsed: not read again."""
    new_folder: bool = False
    """``out_dir`` is a first build's staging folder (``duologue.site.writer.Writer``)."""


_STATE: RenderState | None = None

SeriesJob = tuple[str, list["Output"], tuple[int, ...]]
"""``(series, outputs of it to render, indexes whose bodies the site feed needs)``."""
SeriesResult = tuple[str, dict[str, Stamp], int, int, dict[int, str]]
"""``(series, stamps of the files rendered, written, unchanged, bodies for the site feed)``."""


def body_context(url: str) -> str:
    """What every body's HTML depends on besides its own key: the render version, the
    duologue version and the base URL (both build paths key the body cache on it)."""
    return digest(RENDER_VERSION, __version__, url)


def _state() -> RenderState:
    if _STATE is None:  # pragma: no cover - set by ``rendering`` before any call
        raise RuntimeError("render state missing")
    return _STATE


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


def render_series(job: SeriesJob) -> SeriesResult:
    """Render and write one series' outputs (in a worker process when the build is big)."""
    from duologue.site.feeds import SeriesFeedPlan, archive_feed, series_feeds
    from duologue.site.pages import PageRenderer

    state = _state()
    slug, outputs, extra = job
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
    writer = Writer(state.out_dir, new_folder=state.new_folder)
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
    return slug, writer.stamps, writer.written, writer.unchanged, {i: bodies[i] for i in extra}


@contextlib.contextmanager
def rendering(state: RenderState) -> Iterator[RenderState]:
    """``state`` as the render state (of this process and the workers it forks) while in use."""
    global _STATE
    _STATE = state
    try:
        yield state
    finally:
        _STATE = None


def render_series_outputs(
    site: Site,
    settings: Settings,
    folder: Path,
    url: str,
    todo: list[Output],
    feed_wanted: dict[str, list[int]],
    writer: Writer,
    report: Progress,
) -> dict[tuple[str, int], str]:
    """Render the series outputs in ``todo`` (in worker processes when there are many)
    into ``writer``'s folder; gives the bodies the site feed needs."""
    by_series: dict[str, list[Output]] = {}
    for output in todo:
        if output.series:
            by_series.setdefault(output.series, []).append(output)
    jobs: list[SeriesJob] = [
        (slug, by_series.get(slug, []), tuple(sorted(feed_wanted.get(slug, ()))))
        for slug in site.threads
        if slug in by_series
    ]
    jobs.sort(key=lambda job: -len(job[1]))  # the biggest first: workers finish together
    bytecode = folder / "jinja"
    bytecode.mkdir(parents=True, exist_ok=True)
    state = RenderState(
        site,
        settings.root,
        writer.out_dir,
        bytecode,
        folder,
        body_context(url),
        settings.feed_limit,
        new_folder=writer.new_folder,
    )
    feed_bodies: dict[tuple[str, int], str] = {}
    with rendering(state):
        total = sum(len(job[1]) for job in jobs)
        workers = min(pool.use_processes(total), len(jobs))
        done = 0
        if workers > 1:
            from concurrent.futures import as_completed

            # Imported once here, not in every worker.
            import duologue.site.feeds
            import duologue.site.markdown
            import duologue.site.pages  # noqa: F401

            with pool.fork_pool(workers) as executor:
                futures = [executor.submit(render_series, job) for job in jobs]
                for future in as_completed(futures):
                    done = _collect(future.result(), writer, feed_bodies, done)
                    report("rendering", done, total)
        else:
            for job in jobs:
                done = _collect(render_series(job), writer, feed_bodies, done)
                report("rendering", done, total)
        for slug, indexes in feed_wanted.items():
            if slug not in by_series:  # a series with nothing to render of its own
                found = series_bodies(state, site.threads[slug], indexes)
                feed_bodies.update(((slug, i), html) for i, html in found.items())
    return feed_bodies


def _collect(
    result: SeriesResult, writer: Writer, feed_bodies: dict[tuple[str, int], str], done: int
) -> int:
    slug, stamps, written, unchanged, bodies = result
    writer.stamps.update(stamps)
    writer.written += written
    writer.unchanged += unchanged
    feed_bodies.update(((slug, i), html) for i, html in bodies.items())
    return done + len(stamps)


def items_of(thread: Thread, indexes: Iterable[int], bodies: dict[int, str]) -> list[FeedItem]:
    from duologue.site.feeds import feed_item

    return [feed_item(thread, thread.posts[i], bodies[i]) for i in indexes]
