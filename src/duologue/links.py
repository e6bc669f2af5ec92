"""References between posts: ``[[#5]]`` and ``[[other-series#3]]`` in bodies, and the
reply graph (who answers whom). Pure functions; nothing here reads a file.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

from duologue.model import Post

REFERENCE = re.compile(r"\[\[(?P<series>[a-z0-9][a-z0-9-]{0,63})?#(?P<turn>[0-9]{1,9})\]\]")
# Code spans and fenced blocks: a reference written inside code is shown, not linked.
# A fence (CommonMark): a line of 3+ backticks or tildes indented by at most 3 spaces (a
# backtick fence's info string holds no backtick), closed by a line of the same character,
# at least as long, indented by at most 3 spaces, or else by the end of the document.
# A code span: a run of backticks up to the next run of exactly as many (what the regex
# ``(`+)(?!`).+?(?<!`)(?P=ticks)(?!`)`` finds, in one pass over the backtick runs).


QUOTE_MARKERS = re.compile(r"(?: {0,3}> ?)*")
"""Blockquote markers before a fence (``> ```...``): the fence is inside the quote."""
LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|[0-9]{1,9}[.)])(?: |$)")


def _fence_at(body: str, k: int, char: str) -> tuple[int, int] | None:
    """``(line start, run end)`` when the run of ``char`` at ``k`` starts a fence line."""
    line_start = body.rfind("\n", 0, k) + 1
    prefix = body[line_start:k]
    if prefix and ">" in prefix:
        marked = QUOTE_MARKERS.match(prefix)
        prefix = prefix[marked.end() :] if marked else prefix
    if len(prefix) > 3 or prefix.count(" ") != len(prefix):
        return None
    end = k
    size = len(body)
    while end < size and body[end] == char:
        end += 1
    return line_start, end


def _closing(body: str, start: int, char: str, length: int) -> int:
    """End of the line closing a fence of ``length`` ``char``s, searched from ``start``; -1 if none."""
    triple = char * 3
    pos = start
    while True:
        k = body.find(triple, pos)
        if k < 0:
            return -1
        found = _fence_at(body, k, char)
        if found is None:
            pos = k + 3
            continue
        _line_start, end = found
        line_end = body.find("\n", end)
        if line_end < 0:
            line_end = len(body)
        if end - k >= length and not body[end:line_end].strip(" \t"):
            return line_end
        pos = end


def fence_ranges(body: str) -> list[tuple[int, int]]:
    """Character ranges of fenced code blocks, in order, each ending with its closing line."""
    ranges: list[tuple[int, int]] = []
    pos = 0
    size = len(body)
    while True:
        ticks = body.find("```", pos)
        tildes = body.find("~~~", pos)
        if ticks < 0 and tildes < 0:
            return ranges
        k = tildes if ticks < 0 or 0 <= tildes < ticks else ticks
        char = body[k]
        found = _fence_at(body, k, char)
        if found is None:
            pos = k + 3
            while pos < size and body[pos] == char:
                pos += 1
            continue
        line_start, end = found
        line_end = body.find("\n", end)
        if line_end < 0:
            ranges.append((line_start, size))
            return ranges
        if char == "`" and "`" in body[end:line_end]:
            pos = end  # not a fence (CommonMark): maybe a code span
            continue
        closing = _closing(body, line_end + 1, char, end - k)
        if closing < 0:
            ranges.append((line_start, size))
            return ranges
        ranges.append((line_start, closing))
        pos = closing


def span_ranges(body: str) -> list[tuple[int, int]]:
    """Character ranges of code spans, in order."""
    runs: list[tuple[int, int]] = []
    start = body.find("`")
    while start >= 0:  # str.find: several times faster than a regex over the text
        end = start + 1
        while body.startswith("`", end):
            end += 1
        runs.append((start, end))
        start = body.find("`", end)
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(runs):
        start, end = runs[index]
        for opening in range(start, end):
            candidates = by_length.get(end - opening)
            if candidates:
                at = bisect_right(candidates, index)
                if at < len(candidates):
                    close = candidates[at]
                    spans.append((opening, runs[close][1]))
                    index = close
                    break
        index += 1
    return spans


def _inside(starts: list[int], reach: list[int], pos: int) -> bool:
    """Whether ``pos`` lies in a range (``starts`` sorted; ``reach``: running maximum of ends)."""
    i = bisect_right(starts, pos)
    return i > 0 and reach[i - 1] > pos


@dataclass(frozen=True, slots=True)
class Reference:
    """One ``[[series#N]]`` in a body; ``series`` is the post's own when omitted."""

    series: str
    turn: int
    start: int
    end: int


def indented_ranges(body: str, fences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character ranges of indented code blocks: lines indented by four spaces or a tab after
    a blank line, outside fences, and not continuing a list item (CommonMark)."""
    ranges: list[tuple[int, int]] = []
    starts = [start for start, _ in fences]
    reach = list(accumulate((end for _, end in fences), max))
    previous_blank = True
    in_list = False
    in_code = False
    pos = 0
    for line in body.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        text = line.rstrip("\n")
        if fences and _inside(starts, reach, start):
            previous_blank, in_code = False, False
            continue
        if not text.strip():
            previous_blank = True
            continue
        indented = text.startswith(("    ", "\t"))
        if indented and not in_list and (previous_blank or in_code):
            if in_code and ranges:
                ranges[-1] = (ranges[-1][0], pos)
            else:
                ranges.append((start, pos))
            in_code = True
        else:
            in_code = False
            if not indented:
                in_list = bool(LIST_ITEM.match(text))
        previous_blank = False
    return ranges


def code_ranges(body: str) -> list[tuple[int, int]]:
    """Character ranges of fenced blocks, indented blocks and code spans: references there
    are shown as written, not linked."""
    ranges = fence_ranges(body)
    if "\n    " in body or "\n\t" in body or body.startswith(("    ", "\t")):
        ranges = sorted(ranges + indented_ranges(body, ranges))
    if "`" in body:
        fences = ranges
        starts = [start for start, _ in fences]
        reach = list(accumulate((end for _, end in fences), max))
        spans = [span for span in span_ranges(body) if not _inside(starts, reach, span[0])]
        if spans:
            ranges = sorted(fences + spans)
    return ranges


def find_references(body: str, own_series: str) -> Iterator[Reference]:
    """Every reference in ``body`` outside code."""
    if "[[" not in body:
        return
    matches = list(REFERENCE.finditer(body))
    if not matches:
        return
    may_hold_code = "`" in body or "~" in body or "    " in body or "\t" in body
    ranges = code_ranges(body) if may_hold_code else []
    starts = [start for start, _ in ranges]
    reach = list(accumulate((end for _, end in ranges), max))
    for match in matches:
        if ranges and _inside(starts, reach, match.start()):
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


MAX_REFERENCES = 10_000
"""``[[...]]`` references one body may hold (inside code or not). Each is a dependency of
the page and a link to make: 1.2 million in an 8 MiB body took 9 s of CPU to build."""


def reference_problem(body: str) -> str | None:
    """``too_many_references`` for a body: every reference starts a "[[" of its own, so
    most bodies are cleared by counting those."""
    if body.count("[[") <= MAX_REFERENCES:
        return None
    return too_many_references(sum(1 for _ in REFERENCE.finditer(body)))


def too_many_references(count: int) -> str | None:
    """The sentence (without the file) for a body holding ``count`` references, or None."""
    if count <= MAX_REFERENCES:
        return None
    return (
        f"the body holds {count:,} [[#N]] references; a post may hold at most "
        f"{MAX_REFERENCES:,}, so split it."
    )
