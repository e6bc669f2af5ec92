"""Planning a build: every output file with a key of what it is rendered from, and what
the previous build's manifest says about it.

Pure: what the output folder holds is the writer's to say (``Writer.kept``). A key
changes exactly when its file's content would: ``build`` renders again only
outputs whose key changed (or whose file was touched), and keeps the rest.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from duologue.model import Settings
from duologue.site import cache as build_cache
from duologue.site.keys import digest
from duologue.site.linking import EPOCH, Site, Thread
from duologue.site.writer import Stamp


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the site: where it goes, what it depends on, how to make it."""

    relpath: str
    key: str
    kind: str
    """``post``, ``thread``, ``index``, ``feeds``, ``archive``, ``site-feed`` or ``css``."""
    series: str = ""
    number: int = 0
    """Post index in the thread, or archive number."""

    def __reduce__(self) -> tuple[type[Output], tuple[str, str, str, str, int]]:
        # A build worker sends its series' 1,000 outputs to the parent: pickled as a call
        # with plain values, 1.3 ms a series there and back, instead of 5.1 through the
        # __getstate__ and __setstate__ that dataclasses give a frozen slotted class.
        return (Output, (self.relpath, self.key, self.kind, self.series, self.number))


@dataclass
class Plan:
    outputs: list[Output] = field(default_factory=list)


def plan_outputs(
    site: Site,
    settings: Settings,
    only: str | None,
    global_key: str,
    css_key: str,
    subset: set[str] | None = None,
) -> Plan:
    """Every output with its key; with ``subset``, only those series' outputs (no site-wide)."""
    from duologue.site.feeds import SeriesFeedPlan

    plan = Plan()
    add = plan.outputs.append
    for slug, thread in site.threads.items():
        if (only is not None and slug != only) or (subset is not None and slug not in subset):
            continue
        for index, placed in enumerate(thread.posts):
            previous, following = thread.neighbours(index)
            add(
                Output(
                    placed.path,
                    digest(
                        global_key,
                        thread.key,
                        thread.item_keys[placed.turn],
                        previous.ident if previous else "-",
                        following.ident if following else "-",
                    ),
                    "post",
                    slug,
                    index,
                )
            )
        add(
            Output(
                f"{slug}/index.html",
                digest(global_key, thread.key, *(thread.item_keys[p.turn] for p in thread.posts)),
                "thread",
                slug,
            )
        )
        feed_plan = SeriesFeedPlan(len(thread.posts), settings.feed_limit)
        feed_items = [thread.item_keys[thread.posts[i].turn] for i in feed_plan.feed_range()]
        feeds_key = digest(global_key, thread.key, str(feed_plan.archives), *feed_items)
        add(Output(f"{slug}/feed.xml", feeds_key, "feeds", slug))
        add(Output(f"{slug}/atom.xml", feeds_key, "feeds", slug))
        for number in range(1, feed_plan.archives + 1):
            items = [
                thread.item_keys[thread.posts[i].turn] for i in feed_plan.archive_range(number)
            ]
            add(
                Output(
                    f"{slug}/archive/{number}.xml",
                    digest(
                        global_key,
                        thread.key,
                        str(number),
                        *items,
                    ),
                    "archive",
                    slug,
                    number,
                )
            )
    if only is None and subset is None:
        latest, complete = site_feed_posts(site, settings.feed_limit)
        index_parts = [index_part(thread) for thread in site.threads.values()]
        feed_parts = [
            feed_part(site.threads[s].key, site.threads[s].item_keys[site.threads[s].posts[i].turn])
            for s, i in latest
        ]
        plan.outputs += site_wide_outputs(index_parts, feed_parts, complete, global_key, css_key)
    return plan


def index_part(thread: Thread) -> str:
    """A series' share of the site index's key: its settings, post count and latest post."""
    latest = thread.latest
    return digest(thread.key, str(len(thread.posts)), latest.ident if latest else "-")


def feed_part(thread_key: str, item_key: str) -> str:
    """A post's share of the site feed's key: its entry and its series' settings."""
    return digest(thread_key, item_key)


def site_wide_outputs(
    index_parts: list[str], feed_parts: list[str], complete: bool, global_key: str, css_key: str
) -> list[Output]:
    """The site index, the site feed and the stylesheet, with their keys: ``index_parts``
    of every series in slug order, ``feed_parts`` of the site feed's posts in feed order."""
    return [
        Output("index.html", digest(global_key, *index_parts), "index"),
        Output("feed.xml", digest(global_key, str(complete), *feed_parts), "site-feed"),
        Output("style.css", css_key, "css"),
    ]


def site_feed_posts(site: Site, limit: int) -> tuple[list[tuple[str, int]], bool]:
    """``(series, index)`` of the newest ``limit`` posts of the whole site, and whether that is all."""
    # nlargest, not a sort of every post: the same order (no two posts share series and
    # turn), in a tenth of the time on 10,000 posts.
    newest = heapq.nlargest(
        limit,
        (
            (placed.post.date, slug, placed.turn, index)
            for slug, thread in site.threads.items()
            for index, placed in enumerate(thread.posts)
        ),
    )
    total = sum(len(thread.posts) for thread in site.threads.values())
    return [(slug, index) for _d, slug, _t, index in newest], total <= limit


def outputs_to_render(
    plan: Plan, manifest: build_cache.Manifest, kept: Callable[[str, Stamp], bool]
) -> list[Output]:
    """Planned outputs whose key changed, or whose file is not as the last build left it:
    ``kept(relpath, stamp)`` is the writer's answer (it keeps the file when it is)."""
    todo: list[Output] = []
    for output in plan.outputs:
        record = manifest.outputs.get(output.relpath)
        if record is not None and record[0] == output.key and kept(output.relpath, record[1]):
            continue
        todo.append(output)
    return todo


def stale_outputs(
    plan: Plan, manifest: build_cache.Manifest, in_scope: Callable[[str], bool]
) -> list[str]:
    """Files the last build wrote, in scope of this one, that it no longer plans."""
    planned = {o.relpath for o in plan.outputs}
    return [rel for rel in manifest.outputs if rel not in planned and in_scope(rel)]


def new_outputs(
    plan: Plan,
    manifest: build_cache.Manifest,
    stamps: dict[str, Stamp],
    in_scope: Callable[[str], bool],
) -> dict[str, build_cache.OutputRecord]:
    """The manifest's outputs after this build: what it planned (with the ``stamps`` the
    writer recorded), and what the last build wrote outside its scope."""
    planned = {o.relpath for o in plan.outputs}
    outputs = {
        rel: record
        for rel, record in manifest.outputs.items()
        if rel not in planned and not in_scope(rel)
    }
    for output in plan.outputs:
        stamp = stamps.get(output.relpath)
        if stamp is not None:
            outputs[output.relpath] = (output.key, stamp)
    return outputs


def _epoch_micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def series_state(thread: Thread, limit: int) -> build_cache.SeriesState:
    """What the rest of the site needs of one linked series: the series it references
    (``[[other#N]]``), its part of the site index key, its post count and its newest
    ``limit`` posts as rows for the site feed (date in µs, turn, index, item key)."""
    slug = thread.series.slug
    refs = sorted({s for placed in thread.posts for s, _t in placed.source.references if s != slug})
    newest = sorted(
        (
            (_epoch_micros(placed.post.date), placed.turn, index, thread.item_keys[placed.turn])
            for index, placed in enumerate(thread.posts)
        ),
        reverse=True,
    )[:limit]
    return (tuple(refs), index_part(thread), len(thread.posts), tuple(newest))


def site_feed_from_states(
    states: dict[str, build_cache.SeriesState], limit: int
) -> tuple[list[tuple[str, int, str]], bool]:
    """``site_feed_posts`` from the series' states, each post with its item key: the same
    posts in the same order (a date and its UTC microseconds order alike), from at most
    ``limit`` rows a series instead of every post."""
    *rows, complete = site_feed_rows(states, limit)
    return [(slug, index, key) for _micros, slug, _turn, index, key in rows], bool(complete)


def site_feed_rows(states: dict[str, build_cache.SeriesState], limit: int) -> list[Any]:
    """The site feed's posts (as ``site_feed_posts`` picks them) with their item keys, and
    whether that is all posts: equal for two sets of states when the site feed is."""
    rows = [
        (micros, slug, turn, index, key)
        for slug, state in states.items()
        for micros, turn, index, key in state[3]
    ]
    rows.sort(reverse=True)
    return [*rows[:limit], sum(state[2] for state in states.values()) <= limit]
