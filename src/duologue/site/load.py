"""Phase 1, load: find every input file, and parse the posts that changed since the last build.

A post is parsed with the same rules as ``check`` (``duologue.posts.parse_post``),
but only when its file signature (size, mtime, inode, ctime) differs from the one
cached by the previous build: a rebuild of an unchanged series opens no post.
Bodies are not kept: each post remembers where its body starts, and the render
phase reads it again only for the posts it renders.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from duologue.errors import BuildError
from duologue.files import read_regular_file, unix_newlines
from duologue.links import REFERENCE, too_many_references
from duologue.model import POST_FILE_PATTERN, SLUG_PATTERN, Post, Settings
from duologue.workspace import SERIES_FILE, SETTINGS_FILE

Signature = tuple[int, int, int, int]
"""``(size, mtime_ns, inode, ctime_ns)``: any edit, replace or checkout changes it."""

TEMPLATES_DIR = "templates"
"""A workspace folder whose files override the packaged templates by name."""
PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "style.css"


@dataclass(frozen=True, slots=True)
class SourcePost:
    """A published post as the build keeps it between runs: front matter, no body text."""

    post: Post
    """The parsed post, with ``body`` left empty to keep the cache small."""
    relpath: str
    """``series/<series>/NNNN-<slug>.md``."""
    digest: str
    """Hash of the file's text: whatever changes in the post changes this."""
    body_start: int
    """Where the body starts in the text, in characters."""
    body_length: int
    references: tuple[tuple[str, int], ...]
    """``(series, turn)`` of every ``[[...]]`` in the body, in body order, in code or not
    (see ``body_references``)."""


@dataclass(frozen=True, slots=True)
class InputScan:
    """Every file the build reads, with its signature; nothing opened yet."""

    signatures: dict[str, Signature]
    """Relative path → signature, for duologue.toml, series.toml files, posts, templates."""
    series: tuple[str, ...]
    """Series slugs, sorted."""
    posts: dict[str, list[tuple[int, str]]]
    """Series slug → ``(turn, relative path)`` of its post files, in turn order."""


def signature_of(info: os.stat_result) -> Signature:
    """The signature of an input file from its ``stat``: size, mtime, inode and ctime."""
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


_LIST_BY_FD = os.scandir in os.supports_fd
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


@contextlib.contextmanager
def _open_folder(path: str) -> Iterator[Iterable[os.DirEntry[str]]]:
    """The entries of the folder at ``path`` (never through a symlink): listed through an
    open descriptor where the system allows, so each entry's ``stat`` looks up one name
    in that folder instead of walking ``path`` again. Nothing when it has gone."""
    if not _LIST_BY_FD:  # pragma: no cover - Linux and macOS list by descriptor
        yield _entries(Path(path))
        return
    try:
        fd = os.open(path, _FOLDER_FLAGS)
    except OSError as error:
        if error.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise
        yield ()  # gone, or swapped for a symlink since it was listed
        return
    try:
        with os.scandir(fd) as entries:
            yield entries
    finally:
        os.close(fd)


def workspace_templates(root: Path, *, refuse: bool = True) -> dict[str, Path]:
    """The workspace's template files by the name a template uses (``parts/a.html``),
    sorted; never through a symlink. A symlink or other special file anywhere under
    ``templates/`` (or ``templates`` itself not a folder) is a ``BuildError`` naming it,
    as templates come with a co-author's push; ``refuse=False`` skips it instead (``check``
    reports those itself). Hidden files (``.DS_Store``) are no templates."""
    folder = root / TEMPLATES_DIR
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return {}
    if not stat.S_ISDIR(info.st_mode):
        if refuse:
            raise BuildError(
                f"{TEMPLATES_DIR}: must be a folder (not a link or a file); duologue does not "
                "follow it, so remove it or make it a folder of templates."
            )
        return {}
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder):  # never into a linked folder
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            relname = path.relative_to(folder).as_posix()
            if not stat.S_ISREG(mode):
                if refuse:
                    kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                    raise BuildError(
                        f"{TEMPLATES_DIR}/{relname}: is {kind}; duologue reads only regular "
                        "files, so remove it."
                    )
                continue
            if not any(part.startswith(".") for part in relname.split("/")):
                found[relname] = path
    return dict(sorted(found.items()))


def scan_inputs(root: Path) -> InputScan:
    """Stat every input under ``root`` (never through a symlink)."""
    signatures: dict[str, Signature] = {}
    with contextlib.suppress(FileNotFoundError):
        signatures[SETTINGS_FILE] = signature_of((root / SETTINGS_FILE).lstat())
    # Jinja finds templates in subfolders too (``{% include "parts/a.html" %}``): all count.
    for name, path in workspace_templates(root).items():
        signatures[f"{TEMPLATES_DIR}/{name}"] = signature_of(path.lstat())
    slugs: list[str] = []
    posts: dict[str, list[tuple[int, str]]] = {}
    for folder in _entries(root / "series"):
        if not folder.is_dir(follow_symlinks=False) or not SLUG_PATTERN.match(folder.name):
            continue
        slug = folder.name
        slugs.append(slug)
        found: list[tuple[int, str]] = []
        prefix = f"series/{slug}/"
        post_name = POST_FILE_PATTERN.match
        # The loop a no-op rebuild spends most of its time in (10,000 posts): names bound
        # once, the signature built inline, and each file looked up in its open folder
        # (the kernel walked the whole absolute path for every file: 5 ms of 50).
        with _open_folder(folder.path) as entries:
            for entry in entries:
                name = entry.name
                match = post_name(name)
                if (match is None and name != SERIES_FILE) or not entry.is_file(
                    follow_symlinks=False
                ):
                    continue
                info = entry.stat(follow_symlinks=False)
                relpath = prefix + name
                signatures[relpath] = signature_of(info)
                if match is not None:
                    found.append((int(match[1]), relpath))
        found.sort()
        posts[slug] = found
    slugs.sort()
    return InputScan(signatures=signatures, series=tuple(slugs), posts=posts)


def read_source_text(root: Path, relpath: str, path: Path | None = None) -> str:
    """The UTF-8 text of a file found by ``scan_inputs``; never follows a symlink.
    ``path``: ``root / relpath``, when the caller has made it already.

    ``duologue.files.read_text`` resolves the path on every call to prove it lies in
    the workspace; here the path came from a scan that never left it, and resolving
    10,000 paths would cost more than parsing them.
    """
    # Line endings as posts.split_document sees them, so the body is found again by offset.
    return unix_newlines(read_regular_file(root / relpath if path is None else path, relpath))


def text_digest(text: str) -> str:
    # SHA-256, not BLAKE2: OpenSSL uses the SHA instructions of most CPUs since about 2018
    # (4 µs a post on the project machine, BLAKE2 8).
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def parse_source(settings: Settings, series: str, relpath: str) -> tuple[SourcePost, str]:
    """Read and parse one post, and give its body; ``InvalidInput`` naming the file and
    field if it is broken."""
    from duologue.posts import parse_post_apart  # python-frontmatter: only when parsing

    path = settings.root / relpath  # made once: pathlib costs as much as a system call
    text = read_source_text(settings.root, relpath, path)
    post, body = parse_post_apart(text, path, series, settings, shown=relpath)
    # The body is stripped and runs to the end of the stripped text: found from there
    # without searching 7 KB for 7 KB.
    start = len(text.rstrip()) - len(body)
    if not text.startswith(body, start):  # pragma: no cover - the rule above holds
        start = text.rfind(body)
        if start < 0:
            raise BuildError(f"{relpath}: could not find the body again; please report this.")
    references = body_references(body, series)
    too_many = too_many_references(len(references))
    if too_many is not None:
        raise BuildError(f"{relpath}: {too_many}")
    source = SourcePost(
        post=post,
        relpath=relpath,
        digest=text_digest(text),
        body_start=start,
        body_length=len(body),
        references=references,
    )
    return source, body


def body_references(body: str, series: str) -> tuple[tuple[str, int], ...]:
    """``(series, turn)`` of every ``[[...]]`` in a body, code or not.

    What a page may show of other posts: the build keys a body on these targets, and
    links only these. Which of them become links is decided in the rendered HTML, where
    cmark has already said what is code (``duologue.site.markdown``), so this needs no
    code scan of its own; one inside code costs at most a needless re-render when its
    target changes. ``check`` and ``publish`` still skip code in the Markdown
    (``duologue.links.find_references``), as they report references to nothing.
    """
    if "[[" not in body:
        return ()
    # findall gives the two groups without a match object each (7 a post here).
    return tuple((other or series, int(turn)) for other, turn in REFERENCE.findall(body))


def read_body(root: Path, source: SourcePost) -> str:
    """A post's body, read again for rendering; refuses a file edited during the build."""
    text = read_source_text(root, source.relpath)
    if text_digest(text) != source.digest:
        raise BuildError(
            f"{source.relpath}: changed while the site was being built; run `duologue build` again."
        )
    return text[source.body_start : source.body_start + source.body_length]


def parse_many(settings: Settings, jobs: Iterable[tuple[str, str]]) -> list[tuple[SourcePost, str]]:
    """Parse ``(series, relpath)`` jobs in order (the build may fan them out to processes)."""
    return [parse_source(settings, series, relpath) for series, relpath in jobs]
