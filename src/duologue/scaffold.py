"""``duologue init`` and ``duologue series new``: creating a workspace and a series,
each as one commit, the workspace lock held (``duologue.git.transaction.locked``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from duologue.errors import ConfigError, InvalidInput
from duologue.files import create_exclusive, write_atomic
from duologue.model import Author, Series, Settings
from duologue.toml_out import toml_line
from duologue.visible import hidden_character_problem
from duologue.workspace import (
    SERIES_FILE,
    SETTINGS_FILE,
    check_base_url,
    check_slug,
    load_settings,
    parse_author,
    parse_series,
    series_toml_path,
)

AUTHOR_SPEC = re.compile(
    r"^\s*(?P<handle>[^:\s]+)\s*:\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>\s*$"
)


@dataclass(frozen=True, slots=True)
class InitResult:
    root: Path
    created_repository: bool
    commit: str | None
    """None when the workspace was already complete (running init twice)."""


def default_settings_text(title: str, base_url: str) -> str:
    return (
        toml_line("title", title)
        + toml_line("base_url", base_url)
        + toml_line("timezone", "UTC")
        + toml_line("output", "public")
        + toml_line("feed_limit", 50)
    )


def init_workspace(path: Path, title: str, base_url: str, verify: bool = True) -> InitResult:
    """Make ``path`` a workspace and commit what that adds; safe to run twice."""
    from duologue.git.repository import (
        Person,
        init_repository,
        is_inside_repository,
        require_global_identity,
    )
    from duologue.git.transaction import locked

    base_url = check_base_url(base_url, "--base-url", "duologue init")
    problem = hidden_character_problem(title, "--title")
    if problem:
        raise InvalidInput(f"duologue init: {problem}")
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file, not a folder; choose a folder for the workspace.")
    if not is_inside_repository(path.absolute()):
        require_global_identity()  # before anything is created, so a refusal leaves no trace
    path.mkdir(parents=True, exist_ok=True)
    root = path.resolve()
    created = init_repository(root)
    with locked(root) as repo:
        repo.preflight()
        committer = repo.committer()
        settings_path = root / SETTINGS_FILE
        if settings_path.exists() or settings_path.is_symlink():
            settings = load_settings(root)  # validates an existing one rather than replacing it
            output = settings.output
        else:
            output = "public"
            write_atomic(settings_path, default_settings_text(title, base_url))
        wanted: dict[Path, bytes] = {settings_path: settings_path.read_bytes()}
        for folder in ("series", "drafts"):
            keep = root / folder / ".gitkeep"
            if not keep.exists():
                write_atomic(keep, b"")
            wanted[keep] = keep.read_bytes()
        ignore = root / ".gitignore"
        ignore_text = ignore.read_text("utf-8") if ignore.is_file() else ""
        rule = f"/{output.strip('/')}/"
        if rule not in ignore_text.splitlines():
            ignore_text += (
                ("" if not ignore_text or ignore_text.endswith("\n") else "\n") + rule + "\n"
            )
            write_atomic(ignore, ignore_text)
        wanted[ignore] = ignore_text.encode("utf-8")

        head = repo.head()
        changes: dict[str, bytes | None] = {}
        for file, data in wanted.items():
            name = file.relative_to(repo.root).as_posix()
            if head is None or not repo.in_tree(head, name) or repo.read_blob(head, name) != data:
                changes[name] = data
        if not changes:
            return InitResult(root, created, None)
        commit = repo.commit_files(
            changes,
            "duologue: start a workspace",
            Person(committer.name, committer.email),
            verify,
        )
        return InitResult(root, created, commit)


def parse_author_option(value: str, index: int) -> Author:
    """``HANDLE:Name <email>`` from ``--author``."""
    match = AUTHOR_SPEC.match(value)
    if not match:
        raise InvalidInput(
            f'--author {value!r} is not in the form "HANDLE:Name <email>", e.g. '
            '"ana:Ana Lima <ana@example.com>".'
        )
    try:
        return parse_author(
            {"handle": match["handle"], "name": match["name"], "email": match["email"]},
            index,
            "--author",
        )
    except ConfigError as error:
        raise InvalidInput(error.message) from None


def mint_series_id(base_url: str, day: str, slug: str) -> str:
    """A ``tag:`` URI (RFC 4151) from the base URL's host and the day the series began."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{day}:{slug}"


def series_text(series: Series) -> str:
    text = toml_line("title", series.title)
    text += toml_line("description", series.description)
    if series.hashtag:
        text += toml_line("hashtag", series.hashtag)
    text += toml_line("language", series.language)
    text += toml_line("id", series.id)
    if series.reply_within_days:
        text += toml_line("reply_within_days", series.reply_within_days)
    for author in series.authors:
        text += "\n[[authors]]\n"
        text += toml_line("handle", author.handle)
        text += toml_line("name", author.name)
        text += toml_line("email", author.email)
        if author.url:
            text += toml_line("url", author.url)
    return text


def create_series(
    settings: Settings,
    slug: str,
    title: str,
    author_options: list[str],
    description: str,
    hashtag: str | None,
    now: datetime,
    verify: bool = True,
) -> Path:
    """Write ``series/<slug>/series.toml`` and commit it; returns its path."""
    import tomllib

    from duologue.git.transaction import locked

    check_slug(slug, "series slug", "series new")
    authors = tuple(parse_author_option(value, i) for i, value in enumerate(author_options))
    day = now.astimezone(settings.timezone).date().isoformat()
    candidate = Series(
        slug=slug,
        title=title,
        id=mint_series_id(settings.base_url, day, slug),
        authors=authors,
        description=description,
        hashtag=hashtag or None,
    )
    text = series_text(candidate)
    path = series_toml_path(settings, slug)
    shown = f"series/{slug}/{SERIES_FILE}"
    try:
        parse_series(slug, tomllib.loads(text), shown)  # the same rules check applies
    except ConfigError as error:
        raise InvalidInput(error.message.replace(f"{shown}: ", "")) from None
    with locked(settings.root) as repo:
        repo.preflight()
        repo.committer()
        if path.parent.exists():
            raise InvalidInput(f"series/{slug} already exists; choose another slug.")
        create_exclusive(path, text)
        try:
            name = path.relative_to(repo.root).as_posix()
            committer = repo.committer()
            repo.commit_files(
                {name: text.encode("utf-8")}, f'{slug}: new series "{title}"', committer, verify
            )
        except BaseException:
            path.unlink(missing_ok=True)
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
            raise
    return path
