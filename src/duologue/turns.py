"""Whose turn it is: pure functions over a series' authors and its latest post."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from duologue.model import Author, Series


def next_author(authors: Sequence[Author], last_author: str | None) -> Author:
    """The author after ``last_author`` in turn order; the first author opens a series.

    An unknown ``last_author`` (which ``check`` reports) hands the turn to the first author,
    so a broken post never leaves a series with nobody to answer it.
    """
    if not authors:
        raise ValueError("a series has at least one author")
    handles = [author.handle for author in authors]
    if last_author is None or last_author not in handles:
        return authors[0]
    return authors[(handles.index(last_author) + 1) % len(authors)]


def expected_author(authors: Sequence[Author], previous_author: str | None) -> str:
    """The handle that should have written the post after ``previous_author``."""
    return next_author(authors, previous_author).handle


def out_of_rotation(authors: Sequence[Author], authors_in_turn_order: Sequence[str]) -> list[int]:
    """Indexes (0-based) of posts not written by the author whose turn it was."""
    found: list[int] = []
    previous: str | None = None
    for index, handle in enumerate(authors_in_turn_order):
        if handle != expected_author(authors, previous):
            found.append(index)
        previous = handle
    return found


def is_overdue(series: Series, waiting_since: datetime | None, now: datetime) -> bool:
    """True when ``reply_within_days`` have passed since the turn passed."""
    if series.reply_within_days is None or waiting_since is None:
        return False
    return now - waiting_since > timedelta(days=series.reply_within_days)
