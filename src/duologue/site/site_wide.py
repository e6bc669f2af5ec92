"""The site-wide files: the site index, the site feed and the stylesheet.

They are made from what each series showed of itself (its index entry, its newest feed
items, its post count), so a rebuild decides from the series it built whether they
change at all (``shows_site_wide``) before it builds the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duologue.site.feeds import site_feed
from duologue.site.keys import RENDER_VERSION, digest
from duologue.site.linking import Site
from duologue.site.load import STYLESHEET
from duologue.site.pages import PageRenderer
from duologue.site.plan import feed_part, outputs_to_render, site_feed_rows, site_wide_outputs

if TYPE_CHECKING:
    from duologue.site import cache as build_cache
    from duologue.site.plan import Output
    from duologue.site.series_build import SeriesJob, SeriesOutcome
    from duologue.site.writer import Writer


def shows_site_wide(
    built: dict[str, SeriesOutcome], manifest: build_cache.Manifest, limit: int
) -> bool:
    """Whether the site index or the site feed changes with the ``built`` series."""
    for slug, outcome in built.items():
        old = manifest.series[slug]
        if (outcome.state.index_part, outcome.state.post_count) != (
            old.index_part,
            old.post_count,
        ):
            return True
    states = {**manifest.series, **{slug: outcome.state for slug, outcome in built.items()}}
    return site_feed_rows(states, limit) != site_feed_rows(manifest.series, limit)


def write_site_wide(
    job: SeriesJob, built: dict[str, SeriesOutcome], writer: Writer
) -> tuple[list[Output], int]:
    """The site index, the site feed and the stylesheet, from what every series showed:
    planned, and those that changed rendered and written; gives the planned outputs and
    how many were rendered."""
    settings = job.settings
    rows, complete = site_feed_rows({s: o.state for s, o in built.items()}, settings.feed_limit)
    stylesheet = STYLESHEET.read_bytes()
    planned = site_wide_outputs(
        [outcome.state.index_part for outcome in built.values()],
        [feed_part(built[slug].key, key) for _micros, slug, _turn, _index, key in rows],
        complete,
        job.global_key,
        digest(RENDER_VERSION, stylesheet.hex()),
    )
    todo = outputs_to_render(planned, job.manifest, writer.kept)
    renderer = PageRenderer(settings.root, job.folder / "jinja")
    for output in todo:
        if output.kind == "css":
            writer.write(output.relpath, stylesheet)
        elif output.kind == "index":
            entries = [outcome.index_entry for outcome in built.values()]
            writer.write(
                output.relpath, renderer.site_index(Site(settings.title, job.url, {}), entries)
            )
        elif output.kind == "site-feed":
            items = [built[slug].feed_items[index] for _m, slug, _t, index, _k in rows]
            writer.write(output.relpath, site_feed(settings.title, job.url, items, complete))
    return planned, len(todo)
