"""``[[#N]]`` and ``[[series#N]]`` references, and the reply graph."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duologue.links import find_references, replies_by_turn
from duologue.model import Post


def refs(body: str, own: str = "slow-work") -> list[tuple[str, int]]:
    return [(ref.series, ref.turn) for ref in find_references(body, own)]


def test_a_reference_to_a_turn_of_the_same_series() -> None:
    assert refs("I really liked [[#5]] and its questions.") == [("slow-work", 5)]


def test_a_reference_to_another_series() -> None:
    assert refs("As in [[deep-work#3]], and [[#1]].") == [("deep-work", 3), ("slow-work", 1)]


def test_positions_cover_the_reference() -> None:
    body = "See [[#12]] now"
    (ref,) = find_references(body, "s")
    assert body[ref.start : ref.end] == "[[#12]]"


@pytest.mark.parametrize(
    "body",
    [
        "no references at all",
        "[[#]] and [[#x]] and [#5] and [[ #5]] and [[#5 ]]",
        "[[Not-A-Slug#5]]",
        "[[-bad#5]]",
    ],
)
def test_things_that_are_not_references(body: str) -> None:
    assert refs(body) == []


def test_ignored_inside_a_code_span() -> None:
    assert refs("write `[[#5]]` to cite turn 5, like [[#4]]") == [("slow-work", 4)]


def test_ignored_inside_a_double_backtick_code_span() -> None:
    assert refs("``a ` and [[#5]]`` but [[#6]]") == [("slow-work", 6)]


def test_ignored_inside_fenced_code() -> None:
    body = "Before [[#1]].\n\n```markdown\nI liked [[#5]]\n[[other#2]]\n```\n\nAfter [[#3]].\n"
    assert refs(body) == [("slow-work", 1), ("slow-work", 3)]


def test_ignored_inside_a_tilde_fence() -> None:
    body = "~~~\n[[#5]]\n~~~\n[[#6]]\n"
    assert refs(body) == [("slow-work", 6)]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert refs("[[#1]]\n```\n[[#5]]\nno closing fence") == [("slow-work", 1)]


def test_backticks_inside_a_fence_do_not_end_it() -> None:
    body = "````\n```\n[[#5]]\n```\n````\n[[#6]]"
    assert refs(body) == [("slow-work", 6)]


@given(st.integers(min_value=1, max_value=10**9 - 1), st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True))
def test_any_turn_and_slug_is_found(turn: int, series: str) -> None:
    assert refs(f"x [[{series}#{turn}]] y [[#{turn}]]") == [(series, turn), ("slow-work", turn)]


@given(st.text(max_size=300))
def test_references_never_crash_and_always_lie_in_the_body(body: str) -> None:
    for ref in find_references(body, "s"):
        assert body[ref.start : ref.end].startswith("[[")


def _post(turn: int, in_reply_to: int | None) -> Post:
    return Post(
        series="s", turn=turn, slug=f"p{turn}", path=Path(f"/w/{turn}"), title="t",
        author="a", date=datetime(2026, 1, turn, tzinfo=UTC), body="b", in_reply_to=in_reply_to,
    )


def test_replies_by_turn() -> None:
    posts = [_post(3, 1), _post(1, None), _post(2, 1), _post(4, 3)]
    assert replies_by_turn(posts) == {1: [2, 3], 3: [4]}


def test_a_longer_closing_fence_closes_and_a_shorter_one_does_not() -> None:
    assert refs("```\n[[#5]]\n`````\n[[#6]]") == [("slow-work", 6)]
    assert refs("````\n[[#5]]\n```\n[[#6]]") == []


def test_a_fence_is_closed_only_by_its_own_character() -> None:
    assert refs("~~~\n[[#5]]\n```\n[[#6]]\n~~~\n[[#7]]") == [("slow-work", 7)]


def test_fences_may_be_indented_up_to_three_spaces() -> None:
    assert refs("   ```\n[[#5]]\n  ```\n[[#6]]") == [("slow-work", 6)]
    assert refs("    ```\n[[#5]]\n") == [("slow-work", 5)]


def test_a_backtick_in_the_info_string_makes_no_fence() -> None:
    assert refs("``` a`b\n[[#6]]\n") == [("slow-work", 6)]


def test_many_bodies_of_code_spans_and_fences() -> None:
    body = ("`a` [[#1]] ``b ` [[#2]]`` ```\n[[#3]]\n```\n" * 50) + "[[#4]]"
    assert refs(body)[-1] == ("slow-work", 4)
    assert ("slow-work", 2) not in refs(body)


@pytest.mark.parametrize(
    ("body", "linked"),
    [
        ("para\n\n    [[#1]] code\n\nSee [[#2]]", [2]),
        ("- item\n\n    [[#1]] continues the item", [1]),
        ("> ```\n> [[#1]]\n> ```\n\n[[#3]]", [3]),
        ("Text\n    [[#4]] continues the paragraph", [4]),
        ("\t[[#1]] tab-indented code\n\n[[#6]]", [6]),
        ("    [[#1]]\n\n    [[#2]] one block across a blank line\n\n[[#7]]", [7]),
    ],
)
def test_indented_code_and_quoted_fences_hold_no_references(body: str, linked: list[int]) -> None:
    assert [ref.turn for ref in find_references(body, "s")] == linked
