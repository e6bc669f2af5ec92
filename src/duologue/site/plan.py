"""Planning a build: every output file with a key of what it is rendered from, and what
the previous build's manifest says about it.

Pure: what the output folder holds is the writer's to say (``Writer.kept``). A key
changes exactly when its file's content would: ``build`` renders again only
outputs whose key changed (or whose file was touched), and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from duologue.site import cache as build_cache
from duologue.site.keys import digest
from duologue.site.linking import EPOCH, Thread
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


def series_outputs(thread: Thread, feed_limit: int, global_key: str) -> list[Output]:
    """Every output of one linked series, with its key."""
    from duologue.site.feeds import SeriesFeedPlan

    slug = thread.series.slug
    outputs: list[Output] = []
    add = outputs.append
    for index, placed in enumerate(thread.posts):
        previous, following = thread.neighbours(index)
        key = digest(
            global_key,
            thread.key,
            thread.item_keys[placed.turn],
            previous.ident if previous else "-",
            following.ident if following else "-",
        )
        add(Output(placed.path, key, "post", slug, index))
    item_keys = [thread.item_keys[p.turn] for p in thread.posts]
    add(Output(f"{slug}/index.html", digest(global_key, thread.key, *item_keys), "thread", slug))
    feed_plan = SeriesFeedPlan(len(thread.posts), feed_limit)
    feed_items = [item_keys[i] for i in feed_plan.feed_range()]
    feeds_key = digest(global_key, thread.key, str(feed_plan.archives), *feed_items)
    add(Output(f"{slug}/feed.xml", feeds_key, "feeds", slug))
    add(Output(f"{slug}/atom.xml", feeds_key, "feeds", slug))
    for number in range(1, feed_plan.archives + 1):
        items = [item_keys[i] for i in feed_plan.archive_range(number)]
        key = digest(global_key, thread.key, str(number), *items)
        add(Output(f"{slug}/archive/{number}.xml", key, "archive", slug, number))
    return outputs


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


def outputs_to_render(
    planned: Sequence[Output], manifest: build_cache.Manifest, kept: Callable[[str, Stamp], bool]
) -> list[Output]:
    """Planned outputs whose key changed, or whose file is not as the last build left it:
    ``kept(relpath, stamp)`` is the writer's answer (it keeps the file when it is)."""
    todo: list[Output] = []
    for output in planned:
        record = manifest.outputs.get(output.relpath)
        if record is not None and record[0] == output.key and kept(output.relpath, record[1]):
            continue
        todo.append(output)
    return todo


def stale_outputs(
    planned: Sequence[Output], manifest: build_cache.Manifest, in_scope: Callable[[str], bool]
) -> list[str]:
    """Files the last build wrote, in scope of this one, that it no longer plans."""
    relpaths = {o.relpath for o in planned}
    return [rel for rel in manifest.outputs if rel not in relpaths and in_scope(rel)]


def new_outputs(
    planned: Sequence[Output],
    manifest: build_cache.Manifest,
    stamps: Mapping[str, Stamp],
    in_scope: Callable[[str], bool],
) -> dict[str, build_cache.OutputRecord]:
    """The manifest's outputs after this build: what it planned (with the ``stamps`` the
    writer recorded), and what the last build wrote outside its scope."""
    relpaths = {o.relpath for o in planned}
    outputs = {
        rel: record
        for rel, record in manifest.outputs.items()
        if rel not in relpaths and not in_scope(rel)
    }
    for output in planned:
        stamp = stamps.get(output.relpath)
        if stamp is not None:
            outputs[output.relpath] = (output.key, stamp)
    return outputs


def _epoch_micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def series_state(thread: Thread, limit: int) -> build_cache.SeriesState:
    """What the rest of the site needs of one linked series (``SeriesState``): its feed
    rows are its newest ``limit`` posts, newest first."""
    slug = thread.series.slug
    refs = sorted({s for placed in thread.posts for s, _t in placed.source.references if s != slug})
    newest = sorted(
        (
            build_cache.FeedRow(
                _epoch_micros(placed.post.date), placed.turn, index, thread.item_keys[placed.turn]
            )
            for index, placed in enumerate(thread.posts)
        ),
        reverse=True,
    )[:limit]
    return build_cache.SeriesState(
        tuple(refs), index_part(thread), len(thread.posts), tuple(newest)
    )


SiteFeedRow = tuple[int, str, int, int, str]
"""``(date in µs, series, turn, index, item key)`` of a post in the site feed."""


def site_feed_rows(
    states: Mapping[str, build_cache.SeriesState], limit: int
) -> tuple[list[SiteFeedRow], bool]:
    """The site's newest ``limit`` posts, newest first, from the series' own newest rows
    (a date and its UTC microseconds order alike; no two posts share series and turn),
    and whether that is every post: equal for two sets of states when the site feed is."""
    rows = [
        (micros, slug, turn, index, key)
        for slug, state in states.items()
        for micros, turn, index, key in state.feed_rows
    ]  # tuples compare field by field: the same order as the rows' own
    rows.sort(reverse=True)
    return rows[:limit], sum(state.post_count for state in states.values()) <= limit
