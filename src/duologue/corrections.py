"""``duologue amend`` and ``duologue retract``: a published post corrected or withdrawn, in
one commit each, by its author (SPEC §7).

Both start from the post as HEAD holds it and commit before the file on disk changes, so
whatever the work tree held is in a commit first: an amend commits the edits made to the
file, and a retract refuses a file with edits nobody committed, as it would empty it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.errors import InvalidInput
from duologue.files import read_text, relative, write_atomic
from duologue.identity import Identity, require_author
from duologue.model import (
    POST_CONTENT_FIELDS,
    POST_FIXED_FIELDS,
    Author,
    Post,
    Series,
    Settings,
)
from duologue.posts import format_post, parse_post
from duologue.workspace import list_post_files, load_series

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import Repository


@dataclass(frozen=True, slots=True)
class Corrected:
    path: str
    """The post's file, relative to the workspace."""
    commit: str
    moment: datetime


def _post_file(settings: Settings, series: Series, turn: int) -> Path:
    files = [f.path for f in list_post_files(settings, series.slug) if f.turn == turn]
    if not files:
        raise InvalidInput(
            f"{series.slug} has no turn {turn}; `duologue log {series.slug}` lists its turns."
        )
    if len(files) > 1:
        names = ", ".join(relative(p, settings.root) for p in files)
        raise InvalidInput(
            f"{series.slug} has {len(files)} posts with turn {turn} ({names}); run `duologue "
            "sync` to settle which keeps the turn, then try again."
        )
    return files[0]


def _author_of(series: Series, post: Post, identity: Identity, doing: str) -> Author:
    acting = require_author(series, identity)
    if acting.handle != post.author:
        raise InvalidInput(
            f"turn {post.turn} of {series.slug} is {post.author}'s, and only a post's author "
            f"{doing} it (you are {acting.handle}); ask them, or pass --as {post.author} if "
            "you are."
        )
    author = series.author(post.author)
    assert author is not None  # require_author found it
    return author


def _stamp(now: datetime, settings: Settings, after: datetime) -> datetime:
    """``now`` in the workspace's time zone, to the second, and later than ``after``."""
    moment = now.astimezone(settings.timezone).replace(microsecond=0)
    if after - timedelta(minutes=1) < moment <= after:
        return after + timedelta(seconds=1)  # two corrections within one second
    if moment <= after:
        raise InvalidInput(
            f"the clock says {moment.isoformat()}, not later than the post's last change "
            f"({after.isoformat()}); check the clock and try again."
        )
    return moment


def _message(series: Series, post: Post, what: str, reason: str | None = None) -> str:
    body = f"\n{reason}\n" if reason else ""
    return (
        f"{series.slug} #{post.turn}: {what}\n{body}\n"
        f"Duologue-Series: {series.slug}\n"
        f"Duologue-Turn: {post.turn}\n"
        f"Duologue-Author: {post.author}\n"
    )


@dataclass(frozen=True, slots=True)
class _Target:
    """A published post opened for a correction, the lock held."""

    repo: Repository
    series: Series
    path: Path
    shown: str
    """The file, relative to the workspace."""
    rel: str
    """The file, relative to the repository."""
    old: Post
    """The post as HEAD holds it."""
    author: Author

    def commit(self, post: Post, what: str, reason: str | None = None) -> str:
        """Commit ``post`` as the file's new text, then write the file: the commit holds it
        before anything on disk changes."""
        from duologue.git.repository import Person

        data = format_post(post).encode("utf-8")
        message = _message(self.series, post, what, reason)
        commit = self.repo.commit_files(
            {self.rel: data}, message, Person(self.author.name, self.author.email)
        )
        write_atomic(self.path, data)
        return commit


@contextmanager
def _correcting(
    settings: Settings, slug: str, turn: int, identity: Identity, doing: str
) -> Iterator[_Target]:
    """Turn ``turn`` of ``slug`` as published, the workspace lock held, refused unless the
    acting author wrote it."""
    from duologue.git.transaction import changing

    series = load_series(settings, slug)
    path = _post_file(settings, series, turn)
    shown = relative(path, settings.root)
    with changing(settings.root) as repo:
        rel = path.relative_to(repo.root).as_posix()
        old = _committed(repo, rel, path, slug, settings, shown)
        author = _author_of(series, old, identity, doing)
        yield _Target(repo, series, path, shown, rel, old, author)


def amend_post(
    settings: Settings, slug: str, turn: int, identity: Identity, now: datetime, *, edit: bool
) -> Corrected:
    """Commit the corrections made to turn ``turn`` (in ``$EDITOR`` when ``edit``), with
    ``updated`` set to ``now``."""
    with _correcting(settings, slug, turn, identity, "amends") as target:
        old, shown, path = target.old, target.shown, target.path
        if old.withdrawn is not None:
            raise InvalidInput(f"{shown}: is withdrawn; a withdrawn post is not amended.")
        if edit:
            _edit(path, shown)
        new = parse_post(read_text(path, settings.root), path, slug, settings)
        fixed = [name for name in POST_FIXED_FIELDS if getattr(old, name) != getattr(new, name)]
        if fixed:
            raise InvalidInput(
                f"{shown}: {', '.join(f'`{name}`' for name in fixed)} of a published post never "
                "change; put them back as they were (`git diff` shows them), nothing was "
                "committed."
            )
        if all(getattr(old, name) == getattr(new, name) for name in POST_CONTENT_FIELDS):
            raise InvalidInput(
                f"{shown}: is as it was published, so there is nothing to amend; edit its text "
                "(or leave out --no-edit to open it in your editor), then amend again."
            )
        _refuse_failing(settings, shown, now)
        moment = _stamp(now, settings, old.changed)
        amended = replace(new, updated=moment)
        parse_post(format_post(amended), path, slug, settings)  # what is committed reads back
        commit = target.commit(amended, "amended")
    return Corrected(shown, commit, moment)


def retract_post(
    settings: Settings,
    slug: str,
    turn: int,
    identity: Identity,
    now: datetime,
    reason: str | None,
) -> Corrected:
    """Withdraw turn ``turn``: ``withdrawn`` set, the body emptied, one commit."""
    with _correcting(settings, slug, turn, identity, "retracts") as target:
        old, shown, rel, repo = target.old, target.shown, target.rel, target.repo
        if old.withdrawn is not None:
            raise InvalidInput(f"{shown}: was withdrawn on {old.withdrawn.isoformat()} already.")
        head = repo.head()
        assert head is not None  # _committed read the post from it
        if repo.work_file_sha(rel) != repo.blob_sha(head, rel):
            raise InvalidInput(
                f"{shown}: has changes that are not committed, and retracting empties it; "
                "commit them with `duologue amend --no-edit`, or undo them with `git "
                f"checkout -- {rel}`, then retract again."
            )
        moment = _stamp(now, settings, old.changed)
        cleaned = None if reason is None else reason.strip() or None
        withdrawn = replace(old, body="", withdrawn=moment, withdrawn_reason=cleaned)
        try:
            parse_post(format_post(withdrawn), target.path, slug, settings)  # the reason's rules
        except InvalidInput as error:
            raise InvalidInput(
                f"--reason: {error.message.split(': ', 2)[-1]}".replace(
                    "`withdrawn_reason`", "the reason"
                )
            ) from None
        commit = target.commit(withdrawn, "withdrawn", cleaned)
    return Corrected(shown, commit, moment)


def _refuse_failing(settings: Settings, shown: str, now: datetime) -> None:
    """The corrected post must pass ``check`` (a reference to a turn that does not exist,
    raw HTML the build refuses), or the correction would break the series it fixes."""
    from duologue.check import check_workspace

    errors = [
        p
        for p in check_workspace(settings.root, None, now)
        if p.level == "error" and p.path == shown
    ]
    if errors:
        raise InvalidInput(
            f"{shown}: {errors[0].message.rstrip('.')}; fix it, then amend again (nothing was "
            "committed)."
        )


def _committed(
    repo: Repository, rel: str, path: Path, slug: str, settings: Settings, shown: str
) -> Post:
    """The post as HEAD holds it: what was published, whatever the work tree says."""
    head = repo.head()
    if head is None or not repo.in_tree(head, rel):
        raise InvalidInput(
            f"{shown}: is not committed yet, so it is not published; publish it first."
        )
    text = repo.read_blob(head, rel).decode("utf-8", errors="replace")
    return parse_post(text, path, slug, settings)


def _edit(path: Path, shown: str) -> None:
    import os
    import sys

    from duologue.editor import maybe_open_editor

    if not (os.environ.get("VISUAL") or os.environ.get("EDITOR")):
        raise InvalidInput(
            f"amend opens {shown} in your editor, but neither $VISUAL nor $EDITOR is set; "
            "set one, or edit the file yourself and run `duologue amend` with --no-edit."
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            f"amend opens {shown} in your editor, but this is not a terminal; edit the file "
            "yourself and run `duologue amend` again with --no-edit."
        )
    maybe_open_editor(path)
