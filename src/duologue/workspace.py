"""Finding the workspace and reading its settings: duologue.toml and series.toml.

Loaders raise ``ConfigError`` naming the file and the field; ``check`` turns the
same errors into problems, so there is one set of rules.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from duologue.errors import ConfigError, InvalidInput, UnknownSeries, WorkspaceNotFound
from duologue.files import read_text, relative
from duologue.git.folder import DOT_GIT
from duologue.model import POST_FILE_PATTERN, SLUG_PATTERN, Author, PostFile, Series, Settings
from duologue.visible import describe, hidden_character, hidden_character_problem

SETTINGS_FILE = "duologue.toml"
SERIES_FILE = "series.toml"
MAX_CONFIG_BYTES = 256 * 1024

SETTINGS_KEYS = {"title", "base_url", "timezone", "output", "feed_limit"}
SERIES_KEYS = {
    "title",
    "description",
    "hashtag",
    "language",
    "id",
    "reply_within_days",
    "authors",
}
AUTHOR_KEYS = {"handle", "name", "email", "url"}
RESERVED_OUTPUT = {"series", "drafts", DOT_GIT, "templates"}

MAX_FEED_LIMIT = 1000
"""Posts in one feed at most: every subscriber's reader fetches the whole feed on each
poll, and the RFC 5005 archives already hold what is older."""
MAX_REPLY_WITHIN_DAYS = 3650
"""Ten years: a deadline further off is none, and it keeps a date plus the deadline far
from the limits of Python's dates (``timedelta`` stops at 999,999,999 days)."""

IANA_ZONE_KEY = re.compile(r"[A-Z][A-Za-z0-9_+-]{0,13}(?:/[A-Z][A-Za-z0-9_+-]{0,13}){0,2}")
"""The shape of every key in the IANA time zone database ("UTC", "Europe/Lisbon",
"America/Argentina/Buenos_Aires", "Etc/GMT+5"): one to three names, each starting with a
capital letter and at most 14 characters long (the database's own rule). ``ZoneInfo``
reads the file a key names under its search path, so nothing else (a path, "..", a
folder such as "Europe", the system's "localtime") gets that far."""


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` that holds duologue.toml (like git)."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).exists() or (folder / SETTINGS_FILE).is_symlink():
            return folder
    raise WorkspaceNotFound(
        f"no {SETTINGS_FILE} in {here} or any folder above it; "
        "run `duologue init` to make this folder a workspace."
    )


def _load_toml(path: Path, root: Path) -> dict[str, Any]:
    shown = relative(path, root)
    try:
        text = read_text(path, root, limit=MAX_CONFIG_BYTES)
    except InvalidInput as error:
        raise ConfigError(error.message) from None
    return parse_toml(text, shown)


def _string(
    data: dict[str, Any], key: str, shown: str, *, required: bool, default: str = ""
) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(f'{shown}: `{key}` is missing; add {key} = "...".')
        return default
    if not isinstance(value, str):
        raise ConfigError(f"{shown}: `{key}` must be a string, not {type(value).__name__}.")
    if any((ord(ch) < 32 and ch not in "\t\n") or ch in "\x7f\ufffe\uffff" for ch in value):
        raise ConfigError(f"{shown}: `{key}` contains control characters; remove them.")
    if required and not value.strip():
        raise ConfigError(f"{shown}: `{key}` is empty; give it a value.")
    return value


def _visible(value: str, key: str, shown: str) -> str:
    """A title, name or hashtag: no control, bidirectional or invisible characters."""
    problem = hidden_character_problem(value, key)
    if problem:
        raise ConfigError(f"{shown}: {problem}")
    return value


def _optional_string(data: dict[str, Any], key: str, shown: str) -> str | None:
    if data.get(key) is None:
        return None
    return _string(data, key, shown, required=True)


def _optional_visible(data: dict[str, Any], key: str, shown: str) -> str | None:
    value = _optional_string(data, key, shown)
    return None if value is None else _visible(value, key, shown)


def _whole_number(value: Any, key: str, shown: str, highest: int) -> int:
    """``value`` as a whole number from 1 to ``highest``; a bool is not one, though Python's
    ``True`` is an ``int``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        given = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise ConfigError(
            f"{shown}: `{key}` must be a whole number from 1 to {highest}, not {given}."
        )
    return value


def load_zone(zone_name: str, shown: str) -> ZoneInfo:
    """The IANA time zone ``zone_name``; ``ConfigError`` naming the file and the field for
    anything else."""
    if IANA_ZONE_KEY.fullmatch(zone_name):
        try:
            return ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    given = repr(zone_name) if len(zone_name) <= 40 else f"{zone_name[:37]!r}..."
    raise ConfigError(
        f"{shown}: `timezone` {given} is not an IANA time zone; use a name "
        'like "UTC" or "Europe/Lisbon".'
    )


def check_web_url(value: str, key: str, shown: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{shown}: `{key}` must be an absolute http(s) URL like https://example.org/, "
            f"not {value!r}."
        )
    return value


def check_base_url(value: str, key: str, shown: str) -> str:
    """The URL a site is served from, ending in ``/`` (added when missing).

    Every link is this URL followed by a path, so it must be an absolute http(s) URL
    with a host and nothing a path cannot follow: ``https://x.example/?q=1#top`` would
    give ``https://x.example/?q=1#top/style.css``. A ``user:password@`` would be
    published in every link, and spaces, quotes, angle brackets and control or
    invisible characters never belong in a URL (RFC 3986).
    """
    flaw = _base_url_flaw(value)
    if flaw is not None:
        raise ConfigError(
            f"{shown}: `{key}` must be an absolute http(s) URL of scheme, host and path "
            f"only, like https://example.org/blog/; {value!r} {flaw}."
        )
    return value if value.endswith("/") else value + "/"


def _base_url_flaw(value: str) -> str | None:
    """Why ``value`` cannot be a base URL, for a person; None when it can."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is not a number, a bracketed host that is not IPv6
        return "has a host or port that is not valid"
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0"
    if "@" in parts.netloc:
        return "holds a user name or password (user@host), which every link would publish"
    if "?" in value:
        return "has a query (?...), which would end up in front of every page's path"
    if "#" in value:
        return "has a fragment (#...), which would end up in front of every page's path"
    bad = next((ch for ch in value if ch in _NOT_IN_URL), None) or hidden_character(value)
    if bad is not None:
        return f"holds {describe(bad)}, which a URL cannot hold"
    return None


_NOT_IN_URL = frozenset(' "<>\\^`{|}')
"""Characters RFC 3986 never allows raw in a URL (controls are ``hidden_character``'s)."""


def check_slug(value: str, what: str, shown: str) -> str:
    if not SLUG_PATTERN.match(value):
        raise ConfigError(
            f"{shown}: {what} {value!r} is not valid; use 1-64 lowercase letters, digits "
            "and hyphens, starting with a letter or digit."
        )
    return value


def unknown_keys(data: dict[str, Any], known: set[str]) -> list[str]:
    return sorted(key for key in data if key not in known)


def read_settings_toml(root: Path) -> dict[str, Any]:
    """``duologue.toml`` as TOML data, before validation."""
    return _load_toml(root / SETTINGS_FILE, root)


def load_settings(root: Path) -> Settings:
    """Read and validate ``duologue.toml`` at ``root``."""
    return settings_from_toml(root, read_settings_toml(root))


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    """TOML text (a ``duologue.toml`` or ``series.toml``) as data; ``ConfigError`` naming
    ``shown`` when it is not TOML."""
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # a BOM some editors add
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{shown}: is not valid TOML ({error}); fix the syntax.") from None
    except ValueError:  # the one other failure: an integer Python will not read
        raise ConfigError(
            f"{shown}: holds a number of more than 4,300 digits; shorten it."
        ) from None


def settings_from_toml(root: Path, data: dict[str, Any]) -> Settings:
    """Validate ``duologue.toml`` already read as TOML data."""
    shown = SETTINGS_FILE
    title = _visible(
        _string(data, "title", shown, required=False, default="Dialogues"), "title", shown
    )
    base_url = check_base_url(
        _string(data, "base_url", shown, required=False, default="https://example.org/"),
        "base_url",
        shown,
    )
    zone_name = _string(data, "timezone", shown, required=False, default="UTC")
    zone = load_zone(zone_name, shown)
    output = _string(data, "output", shown, required=False, default="public")
    check_output_folder(output, shown)
    feed_limit = _whole_number(data.get("feed_limit", 50), "feed_limit", shown, MAX_FEED_LIMIT)
    return Settings(
        root=root,
        title=title,
        base_url=base_url,
        timezone=zone,
        timezone_name=zone_name,
        output=output,
        feed_limit=feed_limit,
    )


def check_output_folder(output: str, shown: str) -> None:
    pure = PurePosixPath(output)
    if (
        not output.strip()
        or pure.is_absolute()
        or ".." in pure.parts
        or "\\" in output
        or pure.parts[0] in RESERVED_OUTPUT
        or (pure.parts[0] == "." and len(pure.parts) == 1)
    ):
        raise ConfigError(
            f"{shown}: `output` {output!r} must be a folder inside the workspace other than "
            f'series/, drafts/ or {DOT_GIT}/, like "public".'
        )


def parse_author(entry: Any, index: int, shown: str) -> Author:
    where = f"{shown}: authors[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table with handle, name and email.")
    handle = check_slug(_string(entry, "handle", where, required=True), "handle", where)
    name = _visible(_string(entry, "name", where, required=True), "name", where)
    email = _string(entry, "email", where, required=True)
    if "@" not in email or any(ch.isspace() for ch in email):
        raise ConfigError(f"{where}: `email` {email!r} is not an e-mail address.")
    url = _optional_string(entry, "url", where)
    if url is not None:
        check_web_url(url, "url", where)
    return Author(handle=handle, name=name.strip(), email=email, url=url)


def parse_series(slug: str, data: dict[str, Any], shown: str) -> Series:
    """Validate series.toml contents already read as TOML."""
    check_slug(slug, "series slug", shown)
    title = _visible(_string(data, "title", shown, required=True), "title", shown)
    series_id = _string(data, "id", shown, required=True).strip()
    if ":" not in series_id or any(ch.isspace() for ch in series_id):
        raise ConfigError(
            f"{shown}: `id` {series_id!r} is not a URI like tag:example.org,2026-01-01:{slug}."
        )
    raw_authors = data.get("authors")
    if not isinstance(raw_authors, list):
        raise ConfigError(f"{shown}: `authors` is missing; add at least two [[authors]] tables.")
    authors = tuple(parse_author(entry, i, shown) for i, entry in enumerate(raw_authors))
    if len(authors) < 2:
        raise ConfigError(
            f"{shown}: `authors` has {len(authors)} author; a dialogue needs at least two."
        )
    seen_handles: set[str] = set()
    seen_emails: set[str] = set()
    for author in authors:
        if author.handle in seen_handles:
            raise ConfigError(f"{shown}: `authors` names handle {author.handle!r} twice.")
        if author.email.lower() in seen_emails:
            raise ConfigError(
                f"{shown}: `authors` gives e-mail {author.email!r} twice; each author needs "
                "their own, as git identifies them by it."
            )
        seen_handles.add(author.handle)
        seen_emails.add(author.email.lower())
    reply_within = data.get("reply_within_days")
    return Series(
        slug=slug,
        title=title,
        id=series_id,
        authors=authors,
        description=_string(data, "description", shown, required=False),
        hashtag=_optional_visible(data, "hashtag", shown),
        language=_string(data, "language", shown, required=False, default="en"),
        reply_within_days=(
            None
            if reply_within is None
            else _whole_number(reply_within, "reply_within_days", shown, MAX_REPLY_WITHIN_DAYS)
        ),
    )


def series_toml_path(settings: Settings, slug: str) -> Path:
    return settings.series_dir / slug / SERIES_FILE


def read_series_toml(settings: Settings, slug: str) -> dict[str, Any]:
    return _load_toml(series_toml_path(settings, slug), settings.root)


def load_series(settings: Settings, slug: str) -> Series:
    """Read ``series/<slug>/series.toml``; ``UnknownSeries`` if there is no such series."""
    if not SLUG_PATTERN.match(slug):
        raise UnknownSeries(f"{slug!r} is not a series slug (lowercase letters, digits, hyphens).")
    path = series_toml_path(settings, slug)
    if path.parent.is_symlink():
        # Never followed (SPEC §6): its series.toml could be read, but its posts would not.
        raise ConfigError(
            f"{relative(path.parent, settings.root)}: is a symbolic link, not a series "
            "folder; duologue never follows one, so replace it with the folder itself."
        )
    if not path.exists() and not path.is_symlink():
        known = ", ".join(list_series_slugs(settings)) or "none yet"
        raise UnknownSeries(
            f"no series {slug!r} in this workspace (series: {known}); "
            "create one with `duologue series new`."
        )
    shown = relative(path, settings.root)
    return parse_series(slug, read_series_toml(settings, slug), shown)


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def list_series_slugs(settings: Settings) -> list[str]:
    """Folders under series/ (never through a symlink), sorted."""
    if not _is_dir(settings.series_dir):
        return []
    return sorted(
        entry.name
        for entry in os.scandir(settings.series_dir)
        if entry.is_dir(follow_symlinks=False) and SLUG_PATTERN.match(entry.name)
    )


def load_all_series(settings: Settings) -> list[Series]:
    return [load_series(settings, slug) for slug in list_series_slugs(settings)]


def iter_post_files(settings: Settings, slug: str) -> Iterator[PostFile]:
    """Regular files named ``NNNN-<slug>.md`` in a series folder, unsorted."""
    folder = settings.series_dir / slug
    if not _is_dir(folder):
        return
    for entry in os.scandir(folder):
        match = POST_FILE_PATTERN.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            yield PostFile(int(match["turn"]), match["slug"], Path(entry.path))


def count_and_latest(settings: Settings, slug: str) -> tuple[int, PostFile | None, tuple[int, ...]]:
    """How many posts a series has, its latest post file, and the turns more than one file
    claims (a race a plain ``git pull`` merged), from names alone.

    ``status`` asks this on every run, so it avoids building a Path per file: on a
    10,000-post workspace that alone was most of status's extra cost.
    """
    folder = settings.series_dir / slug
    if not _is_dir(folder):
        return 0, None, ()
    count = 0
    best: tuple[int, str, str, str] | None = None  # (turn, name, slug, path)
    seen: set[int] = set()
    twice: set[int] = set()
    for entry in os.scandir(folder):
        match = POST_FILE_PATTERN.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            count += 1
            turn = int(match["turn"])
            if turn in seen:
                twice.add(turn)
            seen.add(turn)
            rank = (turn, entry.name, match["slug"], entry.path)
            if best is None or rank > best:
                best = rank
    if best is None:
        return 0, None, ()
    return count, PostFile(best[0], best[2], Path(best[3])), tuple(sorted(twice))


def list_post_files(settings: Settings, slug: str) -> list[PostFile]:
    """The series' post files in turn order (by file name: no post is opened)."""
    return sorted(iter_post_files(settings, slug), key=lambda f: (f.turn, f.path.name))


def list_draft_paths(settings: Settings, slug: str) -> list[Path]:
    folder = settings.drafts_dir / slug
    if not _is_dir(folder):
        return []
    return sorted(
        Path(entry.path)
        for entry in os.scandir(folder)
        if entry.name.endswith(".md") and entry.is_file(follow_symlinks=False)
    )


def open_workspace(start: Path | None = None) -> Settings:
    """Find the workspace around ``start`` and read its settings."""
    return load_settings(find_root(start))
