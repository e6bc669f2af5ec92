"""Big builds, a whole series per worker process: parse, link, plan, render and write.

The two-phase build parses every post in one pool, sends each back to the parent,
links and plans the whole site there while the workers wait, then reads every body
again in a second pool. Here each worker takes a whole series from its files to its
written pages and feeds: a post is read once and its body never leaves the process
that renders it. ``[[other#N]]`` targets in other series are read on their own, so a
worker's keys equal those ``link_site`` gives. Each worker sends back its planned
outputs, its series state and what the site index and the site feed show of it: the
parent only adds the site-wide files (see ``duologue.site.build``), without linking,
planning or even loading 10,000 posts again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.errors import DuologueError
from duologue.model import Series, Settings
from duologue.site import cache as build_cache
from duologue.site import pool
from duologue.site.linking import Target, post_ident, post_path
from duologue.site.load import InputScan, Signature, SourcePost, parse_many
from duologue.site.plan import Output, outputs_to_render, plan_outputs, series_state
from duologue.site.render import (
    Progress,
    RenderState,
    body_context,
    render_series,
    rendering,
)
from duologue.site.writer import Stamp, Writer

if TYPE_CHECKING:  # imported by the build itself, after the no-op check
    from duologue.site.feeds import FeedItem
    from duologue.site.pages import Fields


@dataclass
class SeriesBuild:
    """What a worker building whole series inherits (set before the fork)."""

    settings: Settings
    scan: InputScan
    series: dict[str, Series]
    cached: dict[str, tuple[Signature, SourcePost]]
    """The post cache: relative path → (signature, parsed post)."""
    context: str
    """The post cache's context (``duologue.site.build._post_cache_context``)."""
    folder: Path
    out_dir: Path
    """Where to write: the output folder or a first build's staging folder."""
    new_folder: bool
    """``out_dir`` is a first build's staging folder (``duologue.site.writer.Writer``)."""
    url: str
    manifest: build_cache.Manifest
    global_key: str


_JOB: SeriesBuild | None = None


@dataclass
class SeriesOutcome:
    """What a worker sends back for one series: what the site-wide files need of it, not
    its linked thread (pickling a 1,000-post thread and loading it again in the parent
    cost ~55 ms a series)."""

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


@dataclass
class WorkersOutcome:
    """Every series built: what the parent needs for the site-wide files."""

    keys: dict[str, str]
    """Series slug → ``Thread.key``, in slug order."""
    index_entries: list[Fields]
    """``index_entry`` of every series, in slug order."""
    feed_items: dict[tuple[str, int], FeedItem]
    outputs: list[Output]
    """Every series' planned outputs, in series order."""
    states: dict[str, build_cache.SeriesState]
    rendered: int


def share_workers(
    scan: InputScan, series: Sequence[Series], cached: dict[str, tuple[Signature, SourcePost]]
) -> bool:
    """Whether to build a whole series per worker: enough posts to parse for worker
    processes, and no series so big that one worker would do most of the work alone (a
    single long series is better parsed by all workers, as the two-phase build does)."""
    stale = build_cache.stale_posts(cached, scan.signatures, scan.posts, (s.slug for s in series))
    # Enough to fork for is all it asks: counting all 10,000 of a first build took 5 ms.
    workers = pool.use_processes(sum(1 for _ in islice(stale, pool.PARALLEL_MIN)))
    if workers < 2 or len(series) < 2:
        return False
    sizes = [len(scan.posts.get(s.slug, [])) for s in series]
    return max(sizes) * min(workers, len(series)) <= sum(sizes) * 1.25


def build_series_in_workers(job: SeriesBuild, writer: Writer, report: Progress) -> WorkersOutcome:
    """Parse, link, plan, render and write every series, a whole series per task, in
    worker processes: a post is read once and its body never leaves the process that
    renders it (the two-phase build parsed in one pool, sent every post back, and read
    each body again in another). The first error in series order is raised, as a
    one-process build would."""
    global _JOB
    from concurrent.futures import as_completed

    # Imported once here, not in every worker.
    import duologue.posts
    import duologue.site.feeds
    import duologue.site.markdown
    import duologue.site.pages  # noqa: F401

    sizes = {slug: len(job.scan.posts.get(slug, [])) for slug in job.series}
    order = sorted(job.series, key=lambda slug: -sizes[slug])  # the biggest first
    total = sum(sizes.values())
    built: dict[str, SeriesOutcome] = {}
    errors: dict[str, DuologueError] = {}
    done = 0
    _JOB = job
    try:
        workers = min(pool.use_processes(total) or 1, len(order))
        with pool.fork_pool(workers) as executor:
            futures = {executor.submit(build_one_series, slug): slug for slug in order}
            for future in as_completed(futures):
                slug = futures[future]
                try:
                    outcome = built[slug] = future.result()
                except DuologueError as error:
                    errors[slug] = error
                    continue
                writer.stamps.update(outcome.stamps)
                writer.written += outcome.written
                writer.unchanged += outcome.unchanged
                done += sizes[slug]
                report("building", done, total)
    finally:
        _JOB = None
    if errors:
        raise errors[min(errors)]
    slugs = sorted(built)
    return WorkersOutcome(
        keys={slug: built[slug].key for slug in slugs},
        index_entries=[built[slug].index_entry for slug in slugs],
        feed_items={
            (slug, i): item for slug in slugs for i, item in built[slug].feed_items.items()
        },
        outputs=[output for slug in slugs for output in built[slug].outputs],
        states={slug: built[slug].state for slug in slugs},
        rendered=sum(outcome.rendered for outcome in built.values()),
    )


def build_one_series(slug: str) -> SeriesOutcome:
    """One series from its files to its written pages and feeds (in a worker)."""
    from duologue.site.feeds import feed_item
    from duologue.site.linking import link_series
    from duologue.site.pages import index_entry

    job = _JOB
    if job is None:  # pragma: no cover - set before the fork
        raise RuntimeError("series build state missing")
    settings, scan = job.settings, job.scan
    sources: list[SourcePost] = []
    fresh: dict[str, str] = {}
    rows: dict[str, tuple[Signature, SourcePost]] = {}
    for _turn, relpath in scan.posts.get(slug, []):
        source = build_cache.current_post(job.cached, scan.signatures, relpath)
        if source is None:
            source, fresh[relpath] = parse_many(settings, [(slug, relpath)])[0]
        sources.append(source)
        rows[relpath] = (scan.signatures[relpath], source)
    prefix = f"series/{slug}/"
    if fresh or rows.keys() != {rel for rel in job.cached if rel.startswith(prefix)}:
        build_cache.save_post_cache(job.folder, build_cache.PostCache(job.context, rows), [slug])

    site = link_series(settings.title, job.url, job.series[slug], sources, _OutsidePosts(job))
    plan = plan_outputs(site, settings, None, job.global_key, "", subset={slug})
    writer = Writer(job.out_dir, new_folder=job.new_folder)
    todo = outputs_to_render(plan, job.manifest, writer.kept)
    thread = site.threads[slug]
    state = series_state(thread, settings.feed_limit)
    newest = tuple(index for _micros, _turn, index, _key in state[3])  # newest first
    bytecode = job.folder / "jinja"
    render_state = RenderState(
        site,
        settings.root,
        job.out_dir,
        bytecode,
        job.folder,
        body_context(job.url),
        settings.feed_limit,
        fresh,
        job.new_folder,
    )
    with rendering(render_state):
        _slug, stamps, written, unchanged, bodies = render_series((slug, todo, newest))
    writer.stamps.update(stamps)
    return SeriesOutcome(
        thread.key,
        index_entry(thread),
        {i: feed_item(thread, thread.posts[i], body) for i, body in bodies.items()},
        plan.outputs,
        state,
        writer.stamps,
        written,
        writer.unchanged + unchanged,
        len(todo),
    )


class _OutsidePosts:
    """``[[other#N]]`` for a worker that holds one series: the referenced post read on
    its own (from the post cache when it is current), once per series built."""

    def __init__(self, job: SeriesBuild) -> None:
        self.job = job
        self.found: dict[tuple[str, int], Target | None] = {}

    def __call__(self, series: str, turn: int) -> Target | None:
        key = (series, turn)
        if key not in self.found:
            self.found[key] = self._read(series, turn)
        return self.found[key]

    def _read(self, series: str, turn: int) -> Target | None:
        job = self.job
        files = [rel for t, rel in job.scan.posts.get(series, []) if t == turn]
        if series not in job.series or len(files) != 1:
            return None  # nothing there; two files with one turn fail that series' own task
        relpath = files[0]
        source = build_cache.current_post(job.cached, job.scan.signatures, relpath)
        if source is None:
            source = parse_many(job.settings, [(series, relpath)])[0][0]
        path = post_path(series, source.post)
        return (source.post.title, job.url + path, post_ident(source))
