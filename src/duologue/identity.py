"""Who is acting (SPEC §2): ``--as``, then ``DUOLOGUE_AUTHOR``, then git's user.email."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from duologue.errors import ActingAuthorUnknown
from duologue.model import Author, Series


@dataclass(frozen=True, slots=True)
class Identity:
    """What the user told us about themselves, before matching it to a series."""

    as_handle: str | None = None
    """From ``--as``."""
    env_handle: str | None = None
    """From ``DUOLOGUE_AUTHOR``."""
    git_email: str | None = None
    """git's ``user.email``."""

    @property
    def claimed_handle(self) -> str | None:
        return self.as_handle or self.env_handle or None

    @property
    def source(self) -> str:
        if self.as_handle:
            return "--as"
        if self.env_handle:
            return "DUOLOGUE_AUTHOR"
        return "git user.email"


def match_author(series: Series, identity: Identity) -> Author | None:
    """The series author this identity names, or None."""
    handle = identity.claimed_handle
    if handle:
        return series.author(handle)
    if identity.git_email:
        wanted = identity.git_email.strip().lower()
        for author in series.authors:
            if author.email.lower() == wanted:
                return author
    return None


def require_author(series: Series, identity: Identity) -> Author:
    """The acting author, or an error that lists what would work."""
    author = match_author(series, identity)
    if author is not None:
        return author
    handles = ", ".join(series.handles)
    if identity.claimed_handle:
        raise ActingAuthorUnknown(
            f"{identity.claimed_handle!r} (from {identity.source}) is not an author of series "
            f"{series.slug!r}; use one of: {handles}."
        )
    emails = ", ".join(author.email for author in series.authors)
    seen = (
        f"git user.email is {identity.git_email!r}"
        if identity.git_email
        else ("git user.email is not set")
    )
    raise ActingAuthorUnknown(
        f"cannot tell which author of {series.slug!r} you are ({seen}); pass --as HANDLE "
        f"(one of: {handles}), set DUOLOGUE_AUTHOR, or set git user.email to one of: {emails}."
    )


def unmatched_identity_notice(identity: Identity, unmatched: list[Series]) -> str | None:
    """SPEC §2 for ``status``: a named author nobody matches is said, with what would work."""
    if not unmatched:
        return None
    options = "; ".join(f"{s.slug}: {', '.join(s.handles)}" for s in unmatched)
    if identity.claimed_handle:
        who = f"{identity.claimed_handle!r} (from {identity.source})"
    elif identity.git_email:
        who = f"git user.email {identity.git_email!r}"
    else:
        who = "nobody (git user.email is not set)"
    return (
        f"note: {who} is not an author of {len(unmatched)} series, so `your_turn` is unknown "
        f"there; pass --as HANDLE or set DUOLOGUE_AUTHOR ({options})."
    )


def current_identity(as_handle: str | None, root: Path) -> Identity:
    """The identity from ``--as``, the environment, or (only if needed) git's user.email."""
    env_handle = os.environ.get("DUOLOGUE_AUTHOR", "").strip() or None
    if as_handle or env_handle:
        return Identity(as_handle=as_handle, env_handle=env_handle)
    # Imported here: reading git config loads GitPython, which plain --as runs never need.
    from duologue.git.repository import git_user_email

    return Identity(git_email=git_user_email(root))
