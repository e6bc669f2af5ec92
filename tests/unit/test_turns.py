"""Whose turn it is: pure functions, no disk, no git."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duologue.model import Author, Series
from duologue.turns import expected_author, is_overdue, next_author, out_of_rotation


def authors(*handles: str) -> tuple[Author, ...]:
    return tuple(Author(h, h.title() + " Example", f"{h}@example.com") for h in handles)


def series(handles: tuple[str, ...] = ("ana", "ben"), reply_within_days: int | None = None) -> Series:
    return Series(
        slug="s",
        title="S",
        id="tag:example.org,2026-01-01:s",
        authors=authors(*handles),
        reply_within_days=reply_within_days,
    )


TWO = authors("ana", "ben")
THREE = authors("ana", "ben", "cat")


def test_the_first_author_opens_a_series() -> None:
    assert next_author(TWO, None).handle == "ana"
    assert next_author(THREE, None).handle == "ana"


def test_two_authors_alternate() -> None:
    assert next_author(TWO, "ana").handle == "ben"
    assert next_author(TWO, "ben").handle == "ana"


def test_three_authors_rotate_in_order() -> None:
    assert next_author(THREE, "ana").handle == "ben"
    assert next_author(THREE, "ben").handle == "cat"
    assert next_author(THREE, "cat").handle == "ana"


def test_an_unknown_last_author_hands_the_turn_to_the_first() -> None:
    assert next_author(THREE, "zed").handle == "ana"


def test_no_authors_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one author"):
        next_author((), None)


def test_expected_author_is_the_handle_of_next_author() -> None:
    assert expected_author(THREE, "ben") == "cat"
    assert expected_author(THREE, None) == "ana"


def test_in_rotation_has_nothing_out_of_rotation() -> None:
    assert out_of_rotation(THREE, ["ana", "ben", "cat", "ana", "ben"]) == []
    assert out_of_rotation(TWO, []) == []


def test_same_author_twice_running_is_out_of_rotation() -> None:
    assert out_of_rotation(TWO, ["ana", "ben", "ben", "ana"]) == [2]


def test_an_opening_post_by_the_second_author_is_out_of_rotation() -> None:
    assert out_of_rotation(TWO, ["ben", "ana"]) == [0]


def test_skipping_an_author_in_a_three_way_series_is_out_of_rotation() -> None:
    # cat should have answered ben; ana jumped in. The post after ana's is judged from ana.
    assert out_of_rotation(THREE, ["ana", "ben", "ana", "ben", "cat"]) == [2]


def test_after_an_unknown_author_the_first_author_is_expected() -> None:
    assert out_of_rotation(TWO, ["ana", "zed", "ana"]) == [1]
    assert out_of_rotation(TWO, ["ana", "zed", "ben"]) == [1, 2]


NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_overdue_after_reply_within_days() -> None:
    weekly = series(reply_within_days=7)
    assert is_overdue(weekly, NOW - timedelta(days=8), NOW)
    assert not is_overdue(weekly, NOW - timedelta(days=6), NOW)
    assert not is_overdue(weekly, NOW - timedelta(days=7), NOW)  # exactly on the deadline


def test_never_overdue_without_a_deadline_or_without_posts() -> None:
    assert not is_overdue(series(), NOW - timedelta(days=400), NOW)
    assert not is_overdue(series(reply_within_days=1), None, NOW)


def test_overdue_compares_moments_across_time_zones() -> None:
    weekly = series(reply_within_days=7)
    # 2026-03-02 20:00 UTC: 7 days 16 hours before NOW.
    assert is_overdue(weekly, datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("Pacific/Auckland")), NOW)
    # 2026-03-04 07:00 UTC: 6 days 5 hours before NOW, though its local date is the 3rd.
    assert not is_overdue(
        weekly, datetime(2026, 3, 3, 21, 0, tzinfo=ZoneInfo("Pacific/Honolulu")), NOW
    )


handles_strategy = st.lists(
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True), min_size=2, max_size=8, unique=True
)


@given(handles_strategy)
def test_rotation_cycles_through_every_author_in_order(handles: list[str]) -> None:
    group = authors(*handles)
    seen = []
    last: str | None = None
    for _ in range(len(handles) * 2):
        last = next_author(group, last).handle
        seen.append(last)
    assert seen == handles + handles


@given(handles_strategy)
def test_next_author_of_the_last_is_the_first(handles: list[str]) -> None:
    group = authors(*handles)
    assert next_author(group, handles[-1]).handle == handles[0]


@given(handles_strategy, st.integers(min_value=0, max_value=40))
def test_a_thread_written_in_rotation_is_never_out_of_rotation(
    handles: list[str], length: int
) -> None:
    thread = [handles[i % len(handles)] for i in range(length)]
    assert out_of_rotation(authors(*handles), thread) == []


@given(handles_strategy, st.data())
def test_out_of_rotation_flags_exactly_the_posts_by_the_wrong_author(
    handles: list[str], data: st.DataObject
) -> None:
    group = authors(*handles)
    thread = data.draw(st.lists(st.sampled_from(handles), max_size=30))
    flagged = set(out_of_rotation(group, thread))
    for index, handle in enumerate(thread):
        previous = thread[index - 1] if index else None
        assert (index in flagged) == (handle != next_author(group, previous).handle)
