"""The build cache: what the previous build read and wrote, kept outside the output folder.

It lives in the repository's git folder (``duologue/build-cache/`` in it), which git
never commits or serves, or under the user's cache folder when the workspace is
not a git checkout. Losing it costs one full build, never a wrong one: every entry
is checked against file signatures before it is trusted.

Files: ``posts-<series>.pickle`` (the parsed front matter of a series' posts, keyed by
file signature), ``bodies-<series>.<chunk>.marshal`` (the rendered body HTML of the
posts of a series, 100 turns a file, keyed by what it was rendered from, so a thread
page re-renders only the bodies that changed), and one ``manifest-<out>.marshal`` per
output folder (the inputs' signatures, per output file the key of its inputs and the
stamp it was written with, and per series a small summary so a rebuild can skip series
nobody edited). Pickle is safe here: the files sit in the git folder, and whoever can
write there can already run code through git hooks.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from duologue.files import sweep_temp_files, write_atomic
from duologue.git.folder import STATE_FOLDER, find_git_dir, owns_git_dir
from duologue.model import Post
from duologue.site.load import Signature, SourcePost
from duologue.site.writer import Stamp

CACHE_FORMAT = 7
"""Bump when what the cache holds changes shape or meaning (6: post digests are SHA-256;
7: a post's references are ``(series, turn)``); an old cache is then ignored."""


def cache_dir(root: Path, key: str) -> Path:
    """Where the build cache of the workspace at ``root`` lives (``key`` names the workspace)."""
    found = find_git_dir(root)
    if found is not None:
        # A workspace in a subfolder of a repository shares that repository's git folder
        # with any other workspace there: each gets a cache of its own.
        name = "build-cache" if owns_git_dir(root) else f"build-cache-{key}"
        return found / STATE_FOLDER / name
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "duologue" / "build-cache" / key


OutputRecord = tuple[str, Stamp]
"""One output file as the previous build left it: the hash of everything it was rendered
from, and its stamp. Plain tuples, not dataclasses: 10,000 of them unpickle in a blink."""


class FeedRow(NamedTuple):
    """One of a series' newest posts for the site feed, in the order that sorts rows of
    all series into the site feed's order."""

    micros: int
    """Its date in µs since 1970 (UTC)."""
    turn: int
    post_index: int
    """Its index in the thread."""
    item_key: str
    """``Thread.item_keys`` of the post: what its feed entry is made from."""


class SeriesState(NamedTuple):
    """What the rest of the site needs of one linked series, kept in the manifest so a
    rebuild can tell whether the series, the site index or the site feed must change
    (``duologue.site.plan.series_state`` makes it)."""

    references: tuple[str, ...]
    """The other series its posts reference (``[[other#N]]``)."""
    index_part: str
    """Its share of the site index's key."""
    post_count: int
    feed_rows: tuple[FeedRow, ...]
    """Its newest ``feed_limit`` posts, newest first."""


class PostRow(NamedTuple):
    """A ``SourcePost`` flattened to builtins, as the post cache stores it (as a plain
    tuple: 10,000 of them unpickle in a third of the time dataclasses take)."""

    series: str
    turn: int
    slug: str
    path: str
    """``Post.path`` as text."""
    title: str
    author: str
    date: datetime
    in_reply_to: int | None
    tags: tuple[str, ...]
    summary: str | None
    canonical_url: str | None
    updated: datetime | None
    withdrawn: datetime | None
    withdrawn_reason: str | None
    relpath: str
    digest: str
    """``SourcePost.digest``: the hash of the file's text."""
    body_start: int
    body_length: int
    references: tuple[tuple[str, int], ...]


class Manifest:
    """What one build of one output folder read and wrote.

    ``options``: hash of the build options and duologue's version; ``inputs``: every
    input's signature; ``outputs``: every output's key and stamp; ``series``: per series
    slug, what the series' last link and plan left, so a rebuild can skip series whose
    inputs did not change (see ``duologue.site.build``). ``inputs`` and ``outputs`` are
    kept as marshal blobs and decoded on first use: a no-op rebuild compares a fresh
    scan's blob with the stored one (``same_inputs``), and decodes the outputs only in
    the process that checks their stamps (``duologue.site.stamps``).
    """

    def __init__(
        self,
        options: str = "",
        inputs: dict[str, Signature] | None = None,
        outputs: dict[str, OutputRecord] | None = None,
        series: dict[str, SeriesState] | None = None,
        *,
        packed_inputs: bytes = b"",
        packed_outputs: bytes = b"",
        output_count: int = 0,
    ) -> None:
        self.options = options
        self.series = series if series is not None else {}
        self._inputs = inputs
        self._packed_inputs = packed_inputs
        self._outputs = outputs
        self._packed_outputs = packed_outputs
        self.output_count = len(outputs) if outputs is not None else output_count

    @property
    def inputs(self) -> dict[str, Signature]:
        if self._inputs is None:
            self._inputs = _unpack(self._packed_inputs)
        return self._inputs

    @property
    def outputs(self) -> dict[str, OutputRecord]:
        if self._outputs is None:
            self._outputs = _unpack(self._packed_outputs)
            self._packed_outputs = b""
        return self._outputs

    def same_inputs(self, signatures: dict[str, Signature]) -> bool:
        """Whether ``signatures`` equal ``inputs``. Equal blobs mean equal dicts, and a
        scan of unchanged files gives the same blob (same order, same values): 1.5 ms
        instead of decoding 10,000 signatures (6 ms). Otherwise the dicts decide."""
        if self._inputs is None and self._packed_inputs == marshal.dumps(signatures):
            return True
        return self.inputs == signatures


def _unpack(packed: bytes) -> dict[Any, Any]:
    try:
        found = marshal.loads(packed)  # noqa: S302 - our own file (see module docstring)
    except (EOFError, ValueError, TypeError):
        return {}  # every input then counts as changed, every output as touched
    return found if isinstance(found, dict) else {}


@dataclass
class PostCache:
    """Parsed posts by relative path, valid while the file signature and ``context`` hold."""

    context: str = ""
    """Hash of what parsing depends on besides the file (workspace root, time zone)."""
    posts: dict[str, tuple[Signature, SourcePost]] = field(default_factory=dict)


def _post_row(source: SourcePost) -> tuple[object, ...]:
    """What the post cache stores of ``source``: a ``PostRow``'s fields as a plain tuple."""
    post = source.post
    return tuple(
        PostRow(
            post.series,
            post.turn,
            post.slug,
            str(post.path),
            post.title,
            post.author,
            post.date,
            post.in_reply_to,
            post.tags,
            post.summary,
            post.canonical_url,
            post.updated,
            post.withdrawn,
            post.withdrawn_reason,
            source.relpath,
            source.digest,
            source.body_start,
            source.body_length,
            source.references,
        )
    )


def _source_post(stored: tuple[object, ...]) -> SourcePost:
    """The ``SourcePost`` a stored row holds (``TypeError`` if it has another shape)."""
    row = PostRow._make(stored)
    post = Post(
        row.series,
        row.turn,
        row.slug,
        Path(row.path),
        row.title,
        row.author,
        row.date,
        "",
        row.in_reply_to,
        row.tags,
        row.summary,
        row.canonical_url,
        row.updated,
        row.withdrawn,
        row.withdrawn_reason,
    )
    return SourcePost(
        post, row.relpath, row.digest, row.body_start, row.body_length, row.references
    )


def _load(path: Path) -> Any:
    import pickle  # only here and in _save: a no-op rebuild reads no post cache

    try:
        with path.open("rb") as handle:
            data = pickle.loads(handle.read())  # noqa: S301 - our own file in the git folder (see docstring)
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        AttributeError,
        ImportError,
        TypeError,
        ValueError,
        IndexError,
    ):
        return None
    if not isinstance(data, tuple) or len(data) != 2 or data[0] != CACHE_FORMAT:
        return None
    return data[1]


def _save(path: Path, value: object) -> None:
    """Best effort: a cache that cannot be written only makes the next build slower."""
    import pickle

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps((CACHE_FORMAT, value), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(path, data, durable=False)


def _manifest_path(folder: Path, out_key: str) -> Path:
    return folder / f"manifest-{out_key}.marshal"


def load_manifest(folder: Path, out_key: str) -> Manifest:
    """marshal of plain tuples and dicts: ~3x faster to load than a pickled dataclass."""
    try:
        with _manifest_path(folder, out_key).open("rb") as handle:
            # loads of the whole file: marshal.load reads a file in small pieces, 10x slower
            data = marshal.loads(handle.read())  # noqa: S302 - our own file (see module docstring)
    except (OSError, EOFError, ValueError, TypeError):
        return Manifest()
    if not isinstance(data, tuple) or len(data) != 6 or data[0] != CACHE_FORMAT:
        return Manifest()
    _format, options, inputs, count, packed, series = data
    if not (
        isinstance(inputs, bytes)
        and isinstance(count, int)
        and isinstance(packed, bytes)
        and isinstance(series, dict)
    ):
        return Manifest()
    try:
        states = {slug: _series_state(state) for slug, state in series.items()}
    except (TypeError, ValueError):  # another shape: a cache of another version
        return Manifest()
    return Manifest(
        options,
        None,
        None,
        states,
        packed_inputs=inputs,
        packed_outputs=packed,
        output_count=count,
    )


def _series_state(stored: tuple[object, ...]) -> SeriesState:
    """The ``SeriesState`` the manifest stores as plain tuples (``TypeError`` or
    ``ValueError`` if it has another shape)."""
    references, index_part, post_count, rows = stored
    if not isinstance(rows, tuple):
        raise TypeError("feed rows are not a tuple")
    feed_rows = tuple(FeedRow._make(row) for row in rows)
    return SeriesState(references, index_part, post_count, feed_rows)  # type: ignore[arg-type]


def save_manifest(folder: Path, out_key: str, manifest: Manifest) -> None:
    """Best effort, like the other cache files."""
    path = _manifest_path(folder, out_key)
    outputs = manifest.outputs
    inputs = marshal.dumps(manifest.inputs)  # blobs inside the file: decoded only when needed
    packed = marshal.dumps(outputs)
    series = {  # marshal stores plain tuples only
        slug: (*state[:3], tuple(tuple(row) for row in state.feed_rows))
        for slug, state in manifest.series.items()
    }
    data = (CACHE_FORMAT, manifest.options, inputs, len(outputs), packed, series)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temp_files(folder)  # the end of a build: its workers are done
        write_atomic(path, marshal.dumps(data), durable=False)


def load_post_cache(folder: Path, context: str, series: Iterable[str]) -> PostCache:
    """The parsed posts of every series in ``series`` (one file per series)."""
    posts: dict[str, tuple[Signature, SourcePost]] = {}
    for slug in series:
        found = _load(folder / f"posts-{slug}.pickle")
        if not isinstance(found, tuple) or len(found) != 2 or found[0] != context:
            continue
        try:
            posts.update((rel, (sig, _source_post(row))) for rel, (sig, row) in found[1].items())
        except (TypeError, ValueError):
            continue
    return PostCache(context, posts)


def current_post(
    cached: dict[str, tuple[Signature, SourcePost]], signatures: dict[str, Signature], relpath: str
) -> SourcePost | None:
    """The cached parse of ``relpath`` if its file still has the signature it was parsed at."""
    hit = cached.get(relpath)
    return hit[1] if hit is not None and hit[0] == signatures[relpath] else None


def stale_posts(
    cached: dict[str, tuple[Signature, SourcePost]],
    signatures: dict[str, Signature],
    posts: dict[str, list[tuple[int, str]]],
    series: Iterable[str],
) -> Iterator[tuple[str, str]]:
    """``(series, relpath)`` of the posts of ``series`` that must be parsed again, in
    series and turn order: a generator, so a caller that only asks whether there are
    enough to share among workers stops early."""
    for slug in series:
        for _turn, relpath in posts.get(slug, []):
            if current_post(cached, signatures, relpath) is None:
                yield slug, relpath


def save_post_cache(folder: Path, cache: PostCache, series: Iterable[str]) -> None:
    """Write the files of ``series`` only: a series nobody edited keeps its file."""
    for slug in series:
        prefix = f"series/{slug}/"
        rows = {
            rel: (sig, _post_row(source))
            for rel, (sig, source) in cache.posts.items()
            if rel.startswith(prefix)
        }
        _save(folder / f"posts-{slug}.pickle", (cache.context, rows))


BodyCache = dict[int, tuple[str, str]]
"""Turn → ``(body key, body HTML)`` of one series."""


BODY_CHUNK = 100
"""Turns a body cache file holds: editing one post rewrites 1/10 of a 1,000-post series'
bodies (~0.8 MB), not all 8 MB."""


def _body_chunk(turn: int) -> int:
    return (turn - 1) // BODY_CHUNK


def _body_files(folder: Path, series: str) -> dict[int, Path]:
    """Chunk number → file, for ``bodies-<series>.<chunk>.marshal``."""
    prefix = f"bodies-{series}."
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found: dict[int, Path] = {}
    for name in names:
        if name.startswith(prefix) and name.endswith(".marshal"):
            number = name[len(prefix) : -len(".marshal")]
            if number.isdigit():
                found[int(number)] = folder / name
    return found


def load_bodies(folder: Path, series: str, context: str) -> BodyCache:
    """The rendered bodies of ``series`` from an earlier build with the same ``context``."""
    bodies: BodyCache = {}
    for path in _body_files(folder, series).values():
        try:
            with path.open("rb") as handle:
                data = marshal.loads(handle.read())  # noqa: S302 - our own file (see module docstring)
        except (OSError, EOFError, ValueError, TypeError):
            continue
        valid = isinstance(data, tuple) and len(data) == 3 and data[:2] == (CACHE_FORMAT, context)
        if valid and isinstance(data[2], dict):
            bodies.update(data[2])
    return bodies


def save_bodies(
    folder: Path, series: str, context: str, bodies: BodyCache, turns: Iterable[int]
) -> None:
    """Write the chunks holding ``turns`` (changed or removed), and only those; a chunk
    left empty is removed. Best effort, like the other cache files (marshal: 10 MB load
    in ~10 ms)."""
    chunks = {_body_chunk(turn) for turn in turns}
    if not chunks:
        return
    held: dict[int, BodyCache] = {chunk: {} for chunk in chunks}
    for turn, entry in bodies.items():
        part = held.get(_body_chunk(turn))
        if part is not None:
            part[turn] = entry
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # all bodies in one file, until format 5
            (folder / f"bodies-{series}.marshal").unlink()
        for chunk, part in held.items():
            path = folder / f"bodies-{series}.{chunk}.marshal"
            if not part:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            write_atomic(path, marshal.dumps((CACHE_FORMAT, context, part)), durable=False)
