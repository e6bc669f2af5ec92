"""Phases 2-4 for one series: load its posts, link, plan, render and write.

A build is this, once per series that needs it, then the site-wide files
(``duologue.site.build``). ``build_series`` decides once whether the series go to
worker processes, a whole series per worker: a post is read once and its body never
leaves the process that renders it. ``[[other#N]]`` targets in other series are read
on their own (``_OutsidePosts``), so a series' keys do not depend on which others are
built with it. Each series sends back its planned outputs, its state for the manifest
and what the site index and the site feed show of it: the parent adds the site-wide
files without linking, planning or even loading 10,000 posts again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.errors import DuologueError
from duologue.model import Series, Settings
from duologue.site import cache as build_cache
from duologue.site import pool
from duologue.site.linking import Target, post_ident, post_path
from duologue.site.load import InputScan, Signature, SourcePost, parse_many
from duologue.site.plan import Output, outputs_to_render, series_outputs, series_state
from duologue.site.render import Progress, RenderState, render_series
from duologue.site.writer import Stamp, Writer

if TYPE_CHECKING:  # imported by the build itself, after the no-op check
    from duologue.site.feeds import FeedItem
    from duologue.site.pages import Fields


@dataclass
class SeriesJob:
    """What building any series of this build needs: passed to every call, and to
    worker processes as the state they inherit (``duologue.site.pool.fork_pool``)."""

    settings: Settings
    scan: InputScan
    series: dict[str, Series]
    """Every series of the workspace, by slug (``[[other#N]]`` may point at any)."""
    folder: Path
    """The build cache's folder."""
    context: str
    """The post cache's context (``duologue.site.build._post_cache_context``)."""
    body_context: str
    """What every body depends on besides its key (``duologue.site.render.body_context``)."""
    out_dir: Path
    """Where to write: the output folder or a first build's staging folder."""
    new_folder: bool
    """``out_dir`` is a first build's staging folder (``duologue.site.writer.Writer``)."""
    url: str
    manifest: build_cache.Manifest
    global_key: str


@dataclass
class SeriesOutcome:
    """What building one series gives the parent: what the site-wide files need of it,
    not its linked thread (pickling a 1,000-post thread and loading it again in the
    parent cost ~55 ms a series)."""

    key: str
    """``Thread.key``."""
    index_entry: Fields
    """What the site index shows of the series."""
    feed_items: dict[int, FeedItem]
    """Its newest ``feed_limit`` posts as feed entries, by index (for the site feed)."""
    outputs: list[Output]
    """The series' planned outputs, with their keys."""
    state: build_cache.SeriesState
    stamps: dict[str, Stamp]
    written: int
    unchanged: int
    rendered: int


def build_series(
    job: SeriesJob, slugs: Sequence[str], writer: Writer, report: Progress
) -> dict[str, SeriesOutcome]:
    """Build every series in ``slugs``, in worker processes when there are several and
    enough posts to pay for them (the biggest first, so the workers finish together);
    ``writer`` adds up their stamps and counts. The first error in slug order is raised,
    as a build in one process would."""
    sizes = {slug: len(job.scan.posts.get(slug, [])) for slug in slugs}
    total = sum(sizes.values())
    workers = min(pool.use_processes(total), len(slugs))
    built: dict[str, SeriesOutcome] = {}
    errors: dict[str, DuologueError] = {}
    done = 0
    if workers < 2:
        for slug in sorted(slugs):
            outcome = built[slug] = build_one_series(job, slug)
            _count(outcome, writer)
            done += sizes[slug]
            report("building", done, total)
        return built

    from concurrent.futures import as_completed

    # Imported once here, not in every worker.
    import duologue.posts
    import duologue.site.feeds
    import duologue.site.markdown
    import duologue.site.pages  # noqa: F401

    order = sorted(slugs, key=lambda slug: -sizes[slug])
    with pool.fork_pool(workers, job) as executor:
        futures = {executor.submit(build_one_series, slug): slug for slug in order}
        for future in as_completed(futures):
            slug = futures[future]
            try:
                outcome = built[slug] = future.result()
            except DuologueError as error:
                errors[slug] = error
                continue
            _count(outcome, writer)
            done += sizes[slug]
            report("building", done, total)
    if errors:
        raise errors[min(errors)]
    return dict(sorted(built.items()))


def _count(outcome: SeriesOutcome, writer: Writer) -> None:
    writer.stamps.update(outcome.stamps)
    writer.written += outcome.written
    writer.unchanged += outcome.unchanged


def build_one_series(job: SeriesJob, slug: str) -> SeriesOutcome:
    """One series from its files to its written pages and feeds."""
    from duologue.site.feeds import feed_item
    from duologue.site.linking import link_series
    from duologue.site.pages import index_entry

    settings = job.settings
    sources, fresh = _load_series_posts(job, slug)
    site = link_series(settings.title, job.url, job.series[slug], sources, _OutsidePosts(job))
    thread = site.threads[slug]
    planned = series_outputs(thread, settings.feed_limit, job.global_key)
    writer = Writer(job.out_dir, new_folder=job.new_folder)
    todo = outputs_to_render(planned, job.manifest, writer.kept)
    state = series_state(thread, settings.feed_limit)
    newest = tuple(row.post_index for row in state.feed_rows)  # newest first
    render_state = RenderState(
        site,
        settings.root,
        job.folder / "jinja",
        job.folder,
        job.body_context,
        settings.feed_limit,
        fresh,
    )
    bodies = render_series(render_state, slug, todo, newest, writer)
    return SeriesOutcome(
        thread.key,
        index_entry(thread),
        {i: feed_item(thread, thread.posts[i], body) for i, body in bodies.items()},
        planned,
        state,
        writer.stamps,
        writer.written,
        writer.unchanged,
        len(todo),
    )


def _load_series_posts(job: SeriesJob, slug: str) -> tuple[list[SourcePost], dict[str, str]]:
    """The series' posts, from its post cache where their files are as they were (the
    others parsed, and the cache file written again), and the bodies parsed here."""
    cached = build_cache.load_post_cache(job.folder, job.context, [slug]).posts
    scan = job.scan
    sources: list[SourcePost] = []
    fresh: dict[str, str] = {}
    rows: dict[str, tuple[Signature, SourcePost]] = {}
    for _turn, relpath in scan.posts.get(slug, []):
        source = build_cache.current_post(cached, scan.signatures, relpath)
        if source is None:
            source, fresh[relpath] = parse_many(job.settings, [(slug, relpath)])[0]
        sources.append(source)
        rows[relpath] = (scan.signatures[relpath], source)
    if fresh or rows.keys() != cached.keys():
        build_cache.save_post_cache(job.folder, build_cache.PostCache(job.context, rows), [slug])
    return sources, fresh


class _OutsidePosts:
    """``[[other#N]]`` for a series built on its own: the referenced post read by itself
    (from that series' post cache when it is current), once per series built."""

    def __init__(self, job: SeriesJob) -> None:
        self.job = job
        self.found: dict[tuple[str, int], Target | None] = {}
        self.caches: dict[str, dict[str, tuple[Signature, SourcePost]]] = {}

    def __call__(self, series: str, turn: int) -> Target | None:
        key = (series, turn)
        if key not in self.found:
            self.found[key] = self._read(series, turn)
        return self.found[key]

    def _read(self, series: str, turn: int) -> Target | None:
        job = self.job
        files = [rel for t, rel in job.scan.posts.get(series, []) if t == turn]
        if series not in job.series or len(files) != 1:
            return None  # nothing there; two files with one turn fail that series' own build
        relpath = files[0]
        if series not in self.caches:
            self.caches[series] = build_cache.load_post_cache(
                job.folder, job.context, [series]
            ).posts
        source = build_cache.current_post(self.caches[series], job.scan.signatures, relpath)
        if source is None:
            source = parse_many(job.settings, [(series, relpath)])[0][0]
        path = post_path(series, source.post)
        return (source.post.title, job.url + path, post_ident(source))
