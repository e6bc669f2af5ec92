"""``duologue build``: load → link → render → write, doing only the work that changed.

1. **No-op check.** The previous build's manifest holds the signature of every input
   file and the stamp of every output file. If all still match, nothing is opened. The
   outputs are checked in a forked child while the inputs are scanned
   (``duologue.site.stamps``).
2. **Series.** Each series that needs it is built on its own, from its files to its
   written pages and feeds (``duologue.site.series_build``): its posts loaded (parsed
   again where the file changed, else from the post cache), linked, planned with a key
   per output that hashes everything the file is rendered from (``duologue.site.plan``),
   and the outputs whose key changed (or whose file was touched) rendered and written.
   A rebuild after an edit builds only the series it touches; a big build, a whole
   series per worker process.
3. **Site-wide files.** The site index, the site feed and the stylesheet, from what
   each series showed of itself, when any of that changed; then the files an earlier
   build made that no longer belong to the site are removed.

A first build (no output folder yet) writes into a hidden sibling folder renamed into
place at the end (``duologue.site.writer.staged_folder``).

Output is byte-for-byte the same for the same workspace: nothing depends on the
clock, the time zone of the machine, the path of the workspace or dict order.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duologue import __version__
from duologue.errors import BuildError, UnknownSeries
from duologue.model import Series, Settings
from duologue.site import cache as build_cache
from duologue.site.changes import changed_series, in_scope
from duologue.site.keys import RENDER_VERSION, digest
from duologue.site.load import PACKAGE_TEMPLATES, STYLESHEET, scan_inputs, signature_of
from duologue.site.stamps import stamps_checked_aside
from duologue.site.writer import Writer, remove_abandoned, staged_folder
from duologue.workspace import RESERVED_OUTPUT, check_base_url, load_series, series_toml_path

if TYPE_CHECKING:
    from duologue.site.load import InputScan, Signature
    from duologue.site.render import Progress
    from duologue.site.series_build import SeriesJob, SeriesOutcome

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


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while building.

    A build allocates hundreds of thousands of small objects (parsed posts, template
    contexts, feed elements) and frees nearly all of them by reference counting; at the
    default threshold (700) the collector still ran ~300 times a process over the ever
    larger set of live posts: measured 2026-12-04 on 10 x 1,000 posts, 85-100 ms in each
    worker and 38 ms in the parent, ~4 % of the build's CPU (68 ms of a one-process
    build of 4,000 posts); with this threshold, none. Set before the workers fork, so
    they inherit it; restored afterwards (tests build in-process).
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
        scan, signatures = _scan(settings, only_series)
        # Asked even when the inputs changed: a rebuild of the edited series then knows
        # whether it must look for touched output files itself.
        outputs_held = same_options and outputs_hold()
    if outputs_held and manifest.same_inputs(signatures):
        files = _files_held(manifest, only_series)
        return BuildResult(out_dir, files, 0, 0, time.perf_counter() - started)

    # 2-4, a series at a time: only those whose inputs changed, when nothing else did.
    series = {s.slug: s for s in _load_all_series(settings, scan)}
    dirty = None
    if only_series is None and out_dir.is_dir():
        dirty = changed_series(scan, signatures, options, manifest, out_dir, outputs_held)
    from duologue.site.plan import new_outputs, stale_outputs
    from duologue.site.render import body_context
    from duologue.site.series_build import SeriesJob
    from duologue.site.site_wide import write_site_wide

    with staged_folder(out_dir) as (target, new_folder):
        (folder / "jinja").mkdir(parents=True, exist_ok=True)  # the templates' bytecode
        job = SeriesJob(
            settings,
            scan,
            series,
            folder,
            _post_cache_context(settings),
            body_context(url),
            target,
            new_folder,
            url,
            manifest,
            _global_key(settings, url),
        )
        writer = Writer(target, new_folder=new_folder)
        built, whole = _build_series(job, only_series, dirty, writer, progress or _noop)
        planned = [output for outcome in built.values() for output in outcome.outputs]
        rendered = sum(outcome.rendered for outcome in built.values())
        if whole:
            site_wide, rendered_site_wide = write_site_wide(job, built, writer)
            planned += site_wide
            rendered += rendered_site_wide
        answered_for = in_scope(None if whole else set(built))
        for relpath in stale_outputs(planned, manifest, answered_for):
            writer.remove(relpath)  # a page of a renamed or removed post
        outputs = new_outputs(planned, manifest, writer.stamps, answered_for)
    states = _series_states(built, manifest, only_series, whole)
    build_cache.save_manifest(
        folder, out_key, build_cache.Manifest(options, signatures, outputs, states)
    )
    return BuildResult(
        out_dir=out_dir,
        files=len(planned) if whole or only_series else len(outputs),
        written=writer.written,
        removed=writer.removed,
        seconds=time.perf_counter() - started,
        rendered=rendered,
    )


def _files_held(manifest: build_cache.Manifest, only_series: str | None) -> int:
    """How many files the site (or ``only_series``) consists of, by the manifest."""
    if only_series is None:
        return manifest.output_count
    return sum(1 for rel in manifest.outputs if rel.startswith(f"{only_series}/"))


def _scan(settings: Settings, only_series: str | None) -> tuple[InputScan, dict[str, Signature]]:
    """The workspace's inputs and their signatures, the package's templates included;
    refuses an unknown ``only_series``."""
    scan = scan_inputs(settings.root)
    if only_series is not None and only_series not in scan.series:
        load_series(settings, only_series)  # raises the clear UnknownSeries
        raise UnknownSeries(f"no series {only_series!r} in this workspace.")
    return scan, {**scan.signatures, **_package_signatures()}


def _series_states(
    built: dict[str, SeriesOutcome],
    manifest: build_cache.Manifest,
    only_series: str | None,
    whole: bool,
) -> dict[str, build_cache.SeriesState]:
    """The series' states for the new manifest: a rebuild of some series keeps the
    others' states; a build of one series alone keeps none (it says nothing of the
    others, so the next build builds everything)."""
    if only_series is not None:
        return {}
    states = {slug: outcome.state for slug, outcome in built.items()}
    return states if whole else {**manifest.series, **states}


def _build_series(
    job: SeriesJob,
    only_series: str | None,
    dirty: set[str] | None,
    writer: Writer,
    report: Progress,
) -> tuple[dict[str, SeriesOutcome], bool]:
    """Build ``only_series``, or the ``dirty`` series, or every series; and whether the
    site-wide files are to be made. The dirty series first: if the site index or the
    site feed shows a change of theirs, the others are built too (their files mostly
    kept), as the site-wide files need what each series shows."""
    from duologue.site.series_build import build_series
    from duologue.site.site_wide import shows_site_wide

    if only_series is not None:
        return build_series(job, [only_series], writer, report), False
    built = build_series(job, sorted(dirty or job.series), writer, report)
    if dirty is None:
        return built, True
    if not shows_site_wide(built, job.manifest, job.settings.feed_limit):
        return built, False
    built.update(build_series(job, sorted(job.series.keys() - dirty), writer, report))
    return dict(sorted(built.items())), True
