"""References between posts: ``[[#5]]`` and ``[[other-series#3]]`` in bodies, and the
reply graph (who answers whom). Pure functions; nothing here reads a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from duologue.model import Post

REFERENCE = re.compile(r"\[\[(?P<series>[a-z0-9][a-z0-9-]{0,63})?#(?P<turn>[0-9]{1,9})\]\]")
# Code spans and fenced blocks: a reference written inside code is shown, not linked.
FENCE = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^(?P=indent)?(?P=fence)[`~]*[ \t]*$|\Z)",
    re.M | re.S,
)
CODE_SPAN = re.compile(r"(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)", re.S)


@dataclass(frozen=True, slots=True)
class Reference:
    """One ``[[series#N]]`` in a body; ``series`` is the post's own when omitted."""

    series: str
    turn: int
    start: int
    end: int


def code_ranges(body: str) -> list[tuple[int, int]]:
    """Character ranges of fenced blocks and code spans, where references are not links."""
    ranges = [(m.start(), m.end()) for m in FENCE.finditer(body)]
    for match in CODE_SPAN.finditer(body):
        if not any(start <= match.start() < end for start, end in ranges):
            ranges.append((match.start(), match.end()))
    return sorted(ranges)


def find_references(body: str, own_series: str) -> Iterator[Reference]:
    """Every reference in ``body`` outside code."""
    if "[[" not in body:
        return
    ranges = code_ranges(body)
    for match in REFERENCE.finditer(body):
        if any(start <= match.start() < end for start, end in ranges):
            continue
        yield Reference(
            series=match["series"] or own_series,
            turn=int(match["turn"]),
            start=match.start(),
            end=match.end(),
        )


def replies_by_turn(posts: Iterable[Post]) -> dict[int, list[int]]:
    """For each turn, the turns whose ``in_reply_to`` names it, in turn order."""
    answers: dict[int, list[int]] = {}
    for post in sorted(posts, key=lambda p: p.turn):
        if post.in_reply_to is not None:
            answers.setdefault(post.in_reply_to, []).append(post.turn)
    return answers
