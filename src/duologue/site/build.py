"""``duologue build``: load → link → render → write, doing only the work that changed.

1. **No-op check.** The previous build's manifest holds the signature of every input
   file and the stamp of every output file. If all still match, nothing is opened. The
   outputs are checked in a forked child while the inputs are scanned
   (``duologue.site.stamps``).
2. **Load.** Posts whose file signature changed are parsed again (in parallel when
   there are many); the others come from the post cache.
3. **Link.** Threads, URLs, replies, references, and a key per output file that
   hashes everything that file is rendered from (``duologue.site.plan``).
4. **Render and write.** Only outputs whose key changed (or whose file was touched)
   are rendered; the writer skips any whose bytes came out the same, and removes
   files an earlier build made that no longer belong to the site.

A big build does 2-4 a whole series at a time in worker processes (each post read
once, its body never sent between processes), then the site-wide files here; a
rebuild after an edit loads, links and renders only the series it touches. A first
build (no output folder yet) writes into a hidden sibling folder renamed into place at
the end (``duologue.site.writer.staged_folder``).

Output is byte-for-byte the same for the same workspace: nothing depends on the
clock, the time zone of the machine, the path of the workspace or dict order.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duologue import __version__
from duologue.errors import BuildError, UnknownSeries
from duologue.model import Series, Settings
from duologue.site import cache as build_cache
from duologue.site.keys import RENDER_VERSION, digest
from duologue.site.load import (
    PACKAGE_TEMPLATES,
    STYLESHEET,
    parse_many,
    scan_inputs,
    signature_of,
)
from duologue.site.stamps import stamps_checked_aside
from duologue.site.writer import Writer, holds, remove_abandoned, staged_folder
from duologue.workspace import RESERVED_OUTPUT, check_base_url, load_series, series_toml_path

if TYPE_CHECKING:
    from duologue.site.load import InputScan, Signature, SourcePost
    from duologue.site.render import Progress

# Linking, planning and rendering are imported in the functions that do them: a no-op
# rebuild (the common case) never loads them.


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the one-line summary."""

    out_dir: Path
    files: int
    """Files the site consists of."""
    written: int
    removed: int
    seconds: float
    rendered: int = 0
    """Files rendered again (written or found byte-identical)."""


def _noop(_what: str, _done: int, _total: int) -> None:
    return None


def output_folder(settings: Settings, out: Path | None) -> Path:
    """The folder to build into; refuses the workspace itself and the folders it keeps."""
    path = settings.output_dir if out is None else Path.cwd() / out  # an absolute out stays itself
    resolved = path.resolve()
    root = settings.root.resolve()
    shown = str(out) if out is not None else settings.output
    if resolved == root or root.is_relative_to(resolved):
        raise BuildError(
            f"output folder {shown!r} is the workspace itself or contains it; "
            "build into a folder of its own, like public/."
        )
    for name in sorted(RESERVED_OUTPUT):
        kept = (root / name).resolve()
        if resolved == kept or resolved.is_relative_to(kept):
            raise BuildError(
                f"output folder {shown!r} lies in {name}/, which duologue keeps; "
                "build into a folder of its own, like public/."
            )
    if resolved.exists() and not resolved.is_dir():
        raise BuildError(f"output folder {shown!r} is a file; remove it or choose another --out.")
    return resolved


def _global_key(settings: Settings, url: str) -> str:
    """What every page depends on: the renderer, duologue's version, the base URL, the
    site's title and the workspace's templates."""
    from duologue.site.pages import templates_fingerprint

    return digest(
        RENDER_VERSION, __version__, url, settings.title, templates_fingerprint(settings.root)
    )


def _package_signatures() -> dict[str, Signature]:
    """Templates and stylesheet shipped in the package: editing them must not be a no-op."""
    found: dict[str, Signature] = {}
    for path in [*sorted(PACKAGE_TEMPLATES.glob("*.html")), STYLESHEET]:
        found[f"<package>/{path.name}"] = signature_of(path.stat())
    return found


def _load_all_series(settings: Settings, scan: InputScan) -> list[Series]:
    found = []
    for slug in scan.series:
        if f"series/{slug}/series.toml" not in scan.signatures:
            shown = series_toml_path(settings, slug).relative_to(settings.root).as_posix()
            raise BuildError(f"{shown}: is missing; every folder under series/ needs one.")
        found.append(load_series(settings, slug))
    return found


def _post_cache_context(settings: Settings) -> str:
    """What parsing depends on besides the files: the post cache holds for this only.
    (RENDER_VERSION too: a new rule for reading posts comes with a new one.)"""
    return digest(str(settings.root.resolve()), settings.timezone_name, __version__, RENDER_VERSION)


def _load_posts(
    settings: Settings,
    scan: InputScan,
    series: Sequence[Series],
    cache_folder: Path,
    progress: Progress,
    cached: dict[str, tuple[Signature, SourcePost]] | None = None,
) -> dict[str, list[SourcePost]]:
    """Every post by series; bodies are not kept (the render phase reads those it needs).
    ``cached``: the post cache of these series, when the caller has loaded it already."""
    from duologue.site import pool

    context = _post_cache_context(settings)
    if cached is None:
        slugs = (s.slug for s in series)
        cached = build_cache.load_post_cache(cache_folder, context, slugs).posts
    old = cached
    jobs = list(build_cache.stale_posts(old, scan.signatures, scan.posts, (s.slug for s in series)))
    parsed: dict[str, SourcePost] = {}
    workers = pool.use_processes(len(jobs))
    if workers:
        import duologue.posts  # noqa: F401 - imported once here, not in every worker

        chunks = pool.chunks(jobs, workers * 4)
        done = 0
        with pool.fork_pool(workers) as executor:
            for result in executor.map(_parse_chunk, [(settings, c) for c in chunks]):
                for source in result:
                    parsed[source.relpath] = source
                done += len(result)
                progress("reading posts", done, len(jobs))
    else:
        for source in _parse_chunk((settings, jobs)):
            parsed[source.relpath] = source
    fresh: dict[str, tuple[Signature, SourcePost]] = {}
    by_series: dict[str, list[SourcePost]] = {}
    for s in series:
        for _turn, relpath in scan.posts.get(s.slug, []):
            source = parsed[relpath] if relpath in parsed else old[relpath][1]
            fresh[relpath] = (scan.signatures[relpath], source)
            by_series.setdefault(s.slug, []).append(source)
    dirty = {source.post.series for source in parsed.values()}
    dirty.update(rel.split("/")[1] for rel in fresh.keys() ^ old.keys())
    if dirty:
        build_cache.save_post_cache(
            cache_folder, build_cache.PostCache(context, fresh), sorted(dirty)
        )
    return by_series


def _parse_chunk(job: tuple[Settings, list[tuple[str, str]]]) -> list[SourcePost]:
    settings, items = job
    return [source for source, _body in parse_many(settings, items)]


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while building.

    A build allocates hundreds of thousands of small objects (parsed posts, template
    contexts, feed elements) and frees nearly all of them by reference counting; at the
    default threshold (700) the collector ran thousands of times over the ever larger set
    of live posts: ~10 % of a full build's CPU. Restored afterwards (tests build in-process).
    """
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def build_site(
    settings: Settings,
    *,
    out: Path | None = None,
    only_series: str | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the site of ``settings``' workspace; see the module docstring for the phases."""
    with _rare_collections():
        return _build_site(settings, out, only_series, base_url, progress)


def _build_site(
    settings: Settings,
    out: Path | None,
    only_series: str | None,
    base_url: str | None,
    progress: Progress | None,
) -> BuildResult:
    started = time.perf_counter()
    report = progress or _noop
    out_dir = output_folder(settings, out)
    if base_url is not None:
        base_url = check_base_url(base_url, "--base-url", "duologue build")
    url = base_url or settings.base_url
    root = settings.root
    folder = build_cache.cache_dir(root, digest(str(root.resolve())))
    out_key = digest(str(out_dir))[:16]
    remove_abandoned(out_dir)

    # 1. No-op check: signatures only (the outputs' stamps checked alongside the inputs').
    options = digest(RENDER_VERSION, __version__, str(out_dir), url, only_series or "")
    manifest = build_cache.load_manifest(folder, out_key)
    same_options = manifest.options == options
    count = manifest.output_count if same_options else 0
    with stamps_checked_aside(out_dir, count, lambda: manifest.outputs) as outputs_hold:
        scan = scan_inputs(root)
        if only_series is not None and only_series not in scan.series:
            load_series(settings, only_series)  # raises the clear UnknownSeries
            raise UnknownSeries(f"no series {only_series!r} in this workspace.")
        signatures = {**scan.signatures, **_package_signatures()}
        # Asked even when the inputs changed: a rebuild of the edited series then knows
        # whether it must look for touched output files itself.
        outputs_held = same_options and outputs_hold()
    if outputs_held and manifest.same_inputs(signatures):
        files = (
            manifest.output_count
            if only_series is None
            else sum(1 for rel in manifest.outputs if rel.startswith(f"{only_series}/"))
        )
        return BuildResult(out_dir, files, 0, 0, time.perf_counter() - started)

    # 2. Load, 3. link: only the series whose inputs changed, when nothing else did.
    if only_series is None and out_dir.is_dir():
        fast = _rebuild_changed_series(
            settings,
            scan,
            signatures,
            options,
            manifest,
            folder,
            out_key,
            out_dir,
            url,
            report,
            started,
            outputs_held,
        )
        if fast is not None:
            return fast
    series = _load_all_series(settings, scan)

    from duologue.site import series_workers
    from duologue.site.feeds import feed_item, site_feed
    from duologue.site.linking import Site, link_site
    from duologue.site.pages import PageRenderer, index_entry
    from duologue.site.plan import (
        Plan,
        feed_part,
        new_outputs,
        outputs_to_render,
        plan_outputs,
        series_state,
        site_feed_from_states,
        site_feed_posts,
        site_wide_outputs,
        stale_outputs,
    )
    from duologue.site.render import render_series_outputs

    global_key = _global_key(settings, url)
    stylesheet = STYLESHEET.read_bytes()
    css_key = digest(RENDER_VERSION, stylesheet.hex())
    with staged_folder(out_dir) as (target, new_folder):
        writer = Writer(target, new_folder=new_folder)
        context = _post_cache_context(settings)
        cached = build_cache.load_post_cache(folder, context, (s.slug for s in series)).posts
        if only_series is None and series_workers.share_workers(scan, series, cached):
            # 2-4 at once, a whole series per worker; then the site-wide files here.
            (folder / "jinja").mkdir(parents=True, exist_ok=True)
            job = series_workers.SeriesBuild(
                settings,
                scan,
                {s.slug: s for s in series},
                cached,
                context,
                folder,
                target,
                new_folder,
                url,
                manifest,
                global_key,
            )
            built = series_workers.build_series_in_workers(job, writer, report)
            # The workers linked, planned and wrote their series: the site-wide files are left.
            rows, complete = site_feed_from_states(built.states, settings.feed_limit)
            index_parts = [state[1] for state in built.states.values()]
            feed_parts = [feed_part(built.keys[slug], key) for slug, _i, key in rows]
            site_wide = Plan(
                site_wide_outputs(index_parts, feed_parts, complete, global_key, css_key)
            )
            plan = Plan(built.outputs + site_wide.outputs)
            todo = outputs_to_render(site_wide, manifest, writer.kept)
            index_entries = built.index_entries
            feed_items = [built.feed_items[(slug, i)] for slug, i, _key in rows]
            series_rendered, states = built.rendered, built.states
        else:
            sources = _load_posts(settings, scan, series, folder, report, cached)
            site = link_site(settings.title, url, series, sources)
            plan = plan_outputs(site, settings, only_series, global_key, css_key)

            # 4. Render what changed, and write.
            todo = outputs_to_render(plan, manifest, writer.kept)
            kinds = {output.kind for output in todo}
            latest, complete = site_feed_posts(site, settings.feed_limit)
            feed_wanted: dict[str, list[int]] = {}
            if "site-feed" in kinds:
                for slug, index in latest:
                    feed_wanted.setdefault(slug, []).append(index)
            feed_bodies = render_series_outputs(
                site, settings, folder, url, todo, feed_wanted, writer, report
            )
            index_entries = (
                [index_entry(thread) for thread in site.threads.values()]
                if "index" in kinds
                else []
            )
            feed_items = (
                [
                    feed_item(site.threads[s], site.threads[s].posts[i], feed_bodies[(s, i)])
                    for s, i in latest
                ]
                if "site-feed" in kinds
                else []
            )
            series_rendered = 0
            states = (
                {
                    slug: series_state(thread, settings.feed_limit)
                    for slug, thread in site.threads.items()
                }
                if only_series is None
                else {}
            )

        renderer = PageRenderer(root, folder / "jinja")
        for output in todo:
            if output.kind == "css":
                writer.write(output.relpath, stylesheet)
            elif output.kind == "index":
                page = renderer.site_index(Site(settings.title, url, {}), index_entries)
                writer.write(output.relpath, page)
            elif output.kind == "site-feed":
                writer.write(output.relpath, site_feed(settings.title, url, feed_items, complete))

        # Files an earlier build made that the site no longer has (a renamed or removed post).
        in_scope = (
            (lambda rel: rel.startswith(f"{only_series}/")) if only_series else (lambda _rel: True)
        )
        for relpath in stale_outputs(plan, manifest, in_scope):
            writer.remove(relpath)
        outputs = new_outputs(plan, manifest, writer.stamps, in_scope)
    build_cache.save_manifest(
        folder, out_key, build_cache.Manifest(options, signatures, outputs, states)
    )
    return BuildResult(
        out_dir=out_dir,
        files=len(plan.outputs),
        written=writer.written,
        removed=writer.removed,
        seconds=time.perf_counter() - started,
        rendered=series_rendered + len(todo),
    )


def _rebuild_changed_series(
    settings: Settings,
    scan: InputScan,
    signatures: dict[str, Signature],
    options: str,
    manifest: build_cache.Manifest,
    folder: Path,
    out_key: str,
    out_dir: Path,
    url: str,
    report: Progress,
    started: float,
    outputs_held: bool,
) -> BuildResult | None:
    """Load, link, plan and render only the series whose inputs or output files changed
    (and those whose ``[[other#N]]`` references point into them); the other series'
    outputs stay as the manifest has them. None when this cannot be decided from the
    manifest — other options, another workspace setting or template, a series added or
    removed, a touched site-wide file, or a change that shows on the site index or the
    site feed: then the caller builds everything."""
    if manifest.options != options or set(manifest.series) != set(scan.series):
        return None
    old_by_series: dict[str, dict[str, Signature]] = {slug: {} for slug in scan.series}
    new_by_series: dict[str, dict[str, Signature]] = {slug: {} for slug in scan.series}
    for source, grouped in ((manifest.inputs, old_by_series), (signatures, new_by_series)):
        for relpath, signature in source.items():
            if relpath.startswith("series/"):
                group = grouped.get(relpath.split("/", 2)[1])
                if group is None:
                    return None
                group[relpath] = signature
            elif manifest.inputs.get(relpath) != signature or relpath not in signatures:
                return None  # duologue.toml, a template or the package changed
    changed = {slug for slug in scan.series if old_by_series[slug] != new_by_series[slug]}
    dirty = set(changed)
    prefix = f"{out_dir}{os.sep}"
    # Which series have touched output files, unless the no-op check found none.
    for relpath, (_key, stamp) in () if outputs_held else manifest.outputs.items():
        if not holds(prefix + relpath, stamp):
            slug, slash, _rest = relpath.partition("/")
            if not slash or slug not in new_by_series:
                return None  # a site-wide file was touched
            dirty.add(slug)
    for slug, state in manifest.series.items():
        if changed.intersection(state[0]):
            dirty.add(slug)  # its references show titles and URLs of a changed series
    if not dirty:  # pragma: no cover - the no-op check found something to do
        return None

    from duologue.site.linking import link_site
    from duologue.site.plan import (
        new_outputs,
        outputs_to_render,
        plan_outputs,
        series_state,
        site_feed_rows,
        stale_outputs,
    )
    from duologue.site.render import render_series_outputs

    selected = [s for s in _load_all_series(settings, scan) if s.slug in dirty]
    sources = _load_posts(settings, scan, selected, folder, report)
    referenced = {
        ref[0] for posts in sources.values() for source in posts for ref in source.references
    }
    extra = [
        load_series(settings, slug) for slug in sorted(referenced - dirty) if slug in scan.series
    ]
    if extra:
        sources.update(_load_posts(settings, scan, extra, folder, report))
    site = link_site(settings.title, url, [*selected, *extra], sources)
    states = dict(manifest.series)
    for slug in dirty:
        state = series_state(site.threads[slug], settings.feed_limit)
        if state[1:3] != tuple(manifest.series[slug][1:3]):
            return None  # the site index changes: build it all
        states[slug] = state
    if site_feed_rows(states, settings.feed_limit) != site_feed_rows(
        manifest.series, settings.feed_limit
    ):
        return None  # the site feed changes: build it all

    global_key = _global_key(settings, url)
    plan = plan_outputs(site, settings, None, global_key, "", subset=dirty)
    writer = Writer(out_dir)
    todo = outputs_to_render(plan, manifest, writer.kept)
    render_series_outputs(site, settings, folder, url, todo, {}, writer, report)

    def in_scope(relpath: str) -> bool:
        return relpath.partition("/")[0] in dirty

    for relpath in stale_outputs(plan, manifest, in_scope):
        writer.remove(relpath)
    outputs = new_outputs(plan, manifest, writer.stamps, in_scope)
    build_cache.save_manifest(
        folder, out_key, build_cache.Manifest(options, signatures, outputs, states)
    )
    return BuildResult(
        out_dir=out_dir,
        files=len(outputs),
        written=writer.written,
        removed=writer.removed,
        seconds=time.perf_counter() - started,
        rendered=len(todo),
    )
