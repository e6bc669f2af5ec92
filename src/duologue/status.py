"""``duologue status``: whose turn it is in each series, reading one post per series.

Turn numbers come from file names, so only the latest post is opened however long
the series is (issue 2: status must not read every post).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from duologue.identity import Identity, match_author
from duologue.model import Series, SeriesStatus, Settings
from duologue.posts import read_post
from duologue.turns import is_overdue, next_author
from duologue.workspace import count_and_latest, load_all_series, load_series


def series_status(
    settings: Settings, series: Series, identity: Identity, now: datetime
) -> SeriesStatus:
    count, latest, shared = count_and_latest(settings, series.slug)
    last = read_post(latest.path, series.slug, settings) if latest else None
    upcoming = next_author(series.authors, last.author if last else None)
    acting = match_author(series, identity)
    waiting_since = last.date if last else None
    return SeriesStatus(
        series=series,
        posts=count,
        last=last,
        next_author=upcoming,
        waiting_since=waiting_since,
        your_turn=None if acting is None else acting.handle == upcoming.handle,
        overdue=is_overdue(series, waiting_since, now),
        acting=acting,
        shared_turns=shared,
    )


def collect_status(
    settings: Settings, identity: Identity, now: datetime, only: str | None = None
) -> list[SeriesStatus]:
    chosen = [load_series(settings, only)] if only else load_all_series(settings)
    return [series_status(settings, series, identity, now) for series in chosen]


def status_record(status: SeriesStatus) -> dict[str, object]:
    """The ``status --json`` object of SPEC §3."""
    last = status.last
    return {
        "series": status.series.slug,
        "title": status.series.title,
        "posts": status.posts,
        "last_turn": last.turn if last else None,
        "last_author": last.author if last else None,
        "last_title": last.title if last else None,
        "last_date": last.date.isoformat() if last else None,
        "next_author": status.next_author.handle,
        "waiting_since": status.waiting_since.isoformat() if status.waiting_since else None,
        "your_turn": status.your_turn,
        "overdue": status.overdue,
        "you": status.acting.handle if status.acting else None,
        "shared_turns": list(status.shared_turns),
    }


def shared_turn_notice(slug: str, turns: tuple[int, ...] | list[int]) -> str | None:
    """What to say of turns two posts claim: a race that a plain ``git pull`` merged."""
    if not turns:
        return None
    shown = ", ".join(str(t) for t in turns)
    return (
        f"two posts with turn {shown} in {slug} (a plain `git pull` or merge of a race); run "
        "`duologue sync`: the post that reached the remote first keeps the turn and yours "
        "goes back to drafts."
    )


def turn_now_line(status: SeriesStatus) -> str:
    """What ``handoff`` ends with for a series: whose turn it is now, and by when."""
    who = status.next_author
    line = f"{status.series.slug}: now {who.name}'s ({who.handle}) turn"
    days = status.series.reply_within_days
    if status.waiting_since is not None and days is not None:
        due = status.waiting_since + timedelta(days=days)
        line += f", due by {due.isoformat()}"
        if status.overdue:
            line += " (overdue already)"
    return line + "."
