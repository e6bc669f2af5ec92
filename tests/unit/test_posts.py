"""Front matter: the fields of a post or draft, and everything hostile a file can hold."""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duologue.errors import InvalidInput
from duologue.model import Post, Settings
from duologue.posts import (
    MAX_FRONT_MATTER_BYTES,
    format_post,
    parse_draft,
    parse_post,
    read_draft,
    read_post,
)
from duologue.visible import hidden_character

ROOT = Path("/workspace")
POST_PATH = ROOT / "series" / "slow-work" / "0003-a-quieter-week.md"
DRAFT_PATH = ROOT / "drafts" / "slow-work" / "my-reply.md"
SHOWN = "series/slow-work/0003-a-quieter-week.md"


def workspace_settings(root: Path = ROOT, zone: str = "UTC") -> Settings:
    return Settings(root, "T", "https://example.org/", ZoneInfo(zone), zone, "public")


SETTINGS = workspace_settings()


def document(front: str, body: str = "Ana,\n\nThank you.\n") -> str:
    return f"---\n{front}---\n{body}"


GOOD_FRONT = (
    'title: "A Quieter Week"\n'
    "author: ben\n"
    "date: 2026-01-03T09:30:00-05:00\n"
    "turn: 3\n"
    "in_reply_to: 2\n"
)


def parse(text: str, settings: Settings = SETTINGS) -> Post:
    return parse_post(text, POST_PATH, "slow-work", settings)


def refused(text: str, *fragments: str) -> str:
    """Parse ``text`` expecting ``InvalidInput`` naming the file and every fragment."""
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    message = caught.value.message
    assert message.startswith(f"{SHOWN}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message, message
    return message


# -- the good case ---------------------------------------------------------------------------


def test_a_post_with_every_field() -> None:
    post = parse(
        document(
            GOOD_FRONT
            + "tags: [meetings, focus]\n"
            + 'summary: "Three steps."\n'
            + 'canonical_url: "https://ben.example.com/quieter"\n'
        )
    )
    assert post.series == "slow-work"
    assert post.turn == 3
    assert post.slug == "a-quieter-week"
    assert post.title == "A Quieter Week"
    assert post.author == "ben"
    assert post.date == datetime(2026, 1, 3, 14, 30, tzinfo=UTC)
    assert post.date.utcoffset() == timedelta(hours=-5)
    assert post.in_reply_to == 2
    assert post.tags == ("meetings", "focus")
    assert post.summary == "Three steps."
    assert post.canonical_url == "https://ben.example.com/quieter"
    assert post.body == "Ana,\n\nThank you."


def test_a_byte_order_mark_is_tolerated() -> None:
    assert parse("\ufeff" + document(GOOD_FRONT)).turn == 3


def test_a_draft_needs_neither_turn_nor_date() -> None:
    draft = parse_draft(
        document('title: "My reply"\nauthor: ana\nin_reply_to: 2\n'),
        DRAFT_PATH,
        "slow-work",
        SETTINGS,
    )
    assert (draft.slug, draft.title, draft.author, draft.in_reply_to) == (
        "my-reply", "My reply", "ana", 2,
    )
    assert draft.date is None and draft.extra_turn is None


def test_a_draft_with_broken_front_matter_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"drafts/slow-work/my-reply.md: .*title"):
        parse_draft(document("author: ana\n"), DRAFT_PATH, "slow-work", SETTINGS)


# -- dates -----------------------------------------------------------------------------------


def test_a_date_without_offset_takes_the_workspace_time_zone() -> None:
    lisbon = workspace_settings(zone="Europe/Lisbon")
    front = GOOD_FRONT.replace("2026-01-03T09:30:00-05:00", "2026-06-01T10:00:00")
    post = parse(document(front), lisbon)
    assert post.date.tzinfo is not None
    assert post.date == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # summer time: +01:00


def test_a_quoted_date_without_offset_takes_the_workspace_time_zone() -> None:
    tokyo = workspace_settings(zone="Asia/Tokyo")
    front = GOOD_FRONT.replace("2026-01-03T09:30:00-05:00", '"2026-06-01 10:00"')
    assert parse(document(front), tokyo).date == datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def test_a_bare_date_is_midnight_in_the_workspace_time_zone() -> None:
    tokyo = workspace_settings(zone="Asia/Tokyo")
    front = GOOD_FRONT.replace("2026-01-03T09:30:00-05:00", "2026-06-01")
    post = parse(document(front), tokyo)
    assert post.date == datetime(2026, 6, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert post.date.utcoffset() == timedelta(hours=9)


def test_a_date_with_offset_keeps_it() -> None:
    tokyo = workspace_settings(zone="Asia/Tokyo")
    post = parse(document(GOOD_FRONT), tokyo)
    assert post.date.utcoffset() == timedelta(hours=-5)


# -- missing and mistyped fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("replace", "by", "fragments"),
    [
        ('title: "A Quieter Week"', "title: 42", ("`title`", "text", "int")),
        ('title: "A Quieter Week"', "title: [a, b]", ("`title`", "text")),
        ('title: "A Quieter Week"', 'title: "  "', ("`title`", "empty")),
        ('title: "A Quieter Week"', "", ("`title`", "missing")),
        ("author: ben", "author: 7", ("`author`", "text")),
        ("author: ben", "", ("`author`", "missing")),
        ("turn: 3", 'turn: "3"', ("`turn`", "turn number")),
        ("turn: 3", "turn: 0", ("`turn`", "turn number")),
        ("turn: 3", "turn: true", ("`turn`", "turn number")),
        ("turn: 3", "turn: 3.0", ("`turn`", "turn number")),
        ("turn: 3", "", ("`turn`", "missing")),
        ("turn: 3", "turn: 4", ("`turn` is 4", "file name says 3")),
        ("in_reply_to: 2", 'in_reply_to: "2"', ("`in_reply_to`", "turn number")),
        ("date: 2026-01-03T09:30:00-05:00", "date: yesterday", ("`date`", "not a date")),
        ("date: 2026-01-03T09:30:00-05:00", "date: 20260103", ("`date`", "must be a date")),
        ("date: 2026-01-03T09:30:00-05:00", "date: 2026-13-45", ("not valid",)),
        ("date: 2026-01-03T09:30:00-05:00", "", ("`date`", "missing")),
        ("in_reply_to: 2", 'in_reply_to: 2\ntags: "x"', ("`tags`", "list")),
        ("in_reply_to: 2", "in_reply_to: 2\ntags: [1, 2]", ("`tags`", "list")),
        ("in_reply_to: 2", "in_reply_to: 2\ncanonical_url: javascript:alert(1)", ("`canonical_url`",)),
        ("in_reply_to: 2", "in_reply_to: 2\nsummary: 3", ("`summary`", "text")),
    ],
)
def test_wrong_or_missing_fields_are_named(replace: str, by: str, fragments: tuple[str, ...]) -> None:
    front = GOOD_FRONT.replace(replace + "\n", by + "\n" if by else "")
    assert front != GOOD_FRONT
    refused(document(front), *fragments)


def test_a_file_name_that_is_not_a_post_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"0001-some-title\.md"):
        parse_post(document(GOOD_FRONT), POST_PATH.with_name("notes.md"), "slow-work", SETTINGS)


# -- broken documents --------------------------------------------------------------------------


def test_missing_front_matter() -> None:
    refused("Just a letter, no front matter.\n", "no front matter")


def test_unclosed_front_matter() -> None:
    refused("---\n" + GOOD_FRONT + "Ana,\n\nno closing line\n", "not closed")


def test_front_matter_that_is_only_an_opening_line() -> None:
    refused("---\n", "not closed")


def test_front_matter_that_is_not_a_mapping() -> None:
    refused(document("- a\n- b\n"), "key: value")


def test_front_matter_that_is_not_yaml() -> None:
    refused(document('title: "unterminated\nauthor: [\n'), "not valid YAML")


@pytest.mark.parametrize("body", ["", "\n\n", "   \n\t\n"])
def test_an_empty_body_is_refused(body: str) -> None:
    refused(document(GOOD_FRONT, body), "body is empty")


# -- hostile front matter ----------------------------------------------------------------------

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def test_the_billion_laughs_bomb_is_refused_quickly() -> None:
    text = document(GOOD_FRONT + BILLION_LAUGHS)
    started = time.perf_counter()
    refused(text, "anchors and aliases")
    assert time.perf_counter() - started < 0.5


def test_the_bomb_in_a_draft_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="anchors and aliases"):
        parse_draft(document('title: "x"\n' + BILLION_LAUGHS), DRAFT_PATH, "slow-work", SETTINGS)
    assert time.perf_counter() - started < 0.5


def test_a_lone_anchor_is_refused() -> None:
    refused(document(GOOD_FRONT + "summary: &s hello\n"), "anchors and aliases")


def test_an_alias_is_refused() -> None:
    refused(
        document(GOOD_FRONT.replace("author: ben", "author: &who ben") + "summary: *who\n"),
        "anchors and aliases",
    )


@pytest.mark.parametrize(
    "tagged",
    [
        "summary: !!python/object/apply:os.system ['echo pwned']\n",
        "summary: !!python/object:builtins.dict {}\n",
        "summary: !!python/name:os.system\n",
        "summary: !custom thing\n",
    ],
)
def test_python_and_unknown_tags_are_refused(tagged: str) -> None:
    refused(document(GOOD_FRONT + tagged), "not valid YAML")


def test_a_duplicate_key_is_refused() -> None:
    refused(document(GOOD_FRONT + "author: ana\n"), "`author` appears twice")


def test_front_matter_over_64_kib_is_refused() -> None:
    padding = "summary: " + "x" * MAX_FRONT_MATTER_BYTES + "\n"
    refused(document(GOOD_FRONT + padding), "larger than 64 KiB")


def test_front_matter_just_under_64_kib_is_read() -> None:
    padding = "summary: " + "x" * (MAX_FRONT_MATTER_BYTES - len(GOOD_FRONT) - 100) + "\n"
    assert parse(document(GOOD_FRONT + padding)).summary is not None


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_characters_in_the_title_are_refused(char: str) -> None:
    front = GOOD_FRONT.replace('"A Quieter Week"', f'"A Quieter{char}Week"'.replace("\x00", "\\0"))
    with pytest.raises(InvalidInput, match=SHOWN):
        parse(document(front))


def test_an_escaped_line_break_in_the_title_is_refused() -> None:
    refused(document(GOOD_FRONT.replace('"A Quieter Week"', '"A Quieter\\nWeek"')), "`title`")


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f", "\x0c"])
def test_control_characters_in_the_body_are_refused(char: str) -> None:
    refused(document(GOOD_FRONT, f"Ana,\n\nline{char}two\n"), "control character", "line 3")


# -- files on disk ---------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Settings:
    (tmp_path / "series" / "slow-work").mkdir(parents=True)
    (tmp_path / "drafts" / "slow-work").mkdir(parents=True)
    return workspace_settings(tmp_path)


def test_a_post_read_from_disk(workspace: Settings) -> None:
    path = workspace.series_dir / "slow-work" / "0003-a-quieter-week.md"
    path.write_text(document(GOOD_FRONT), encoding="utf-8")
    assert read_post(path, "slow-work", workspace).title == "A Quieter Week"


def test_a_file_that_is_not_utf8_is_refused(workspace: Settings) -> None:
    path = workspace.series_dir / "slow-work" / "0003-a-quieter-week.md"
    path.write_bytes(document(GOOD_FRONT).encode("utf-8") + "Olá\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"0003-a-quieter-week.md: is not UTF-8 \(bad byte on line 11\)"):
        read_post(path, "slow-work", workspace)


def test_a_symlinked_post_is_refused_and_not_followed(workspace: Settings, tmp_path: Path) -> None:
    secret = tmp_path.parent / f"{tmp_path.name}-secret.md"
    secret.write_text(document(GOOD_FRONT.replace("A Quieter Week", "SECRET")), encoding="utf-8")
    link = workspace.series_dir / "slow-work" / "0003-a-quieter-week.md"
    link.symlink_to(secret)
    with pytest.raises(InvalidInput, match="not a regular file") as caught:
        read_post(link, "slow-work", workspace)
    assert "SECRET" not in caught.value.message


def test_a_symlinked_draft_is_refused(workspace: Settings) -> None:
    link = workspace.drafts_dir / "slow-work" / "reply.md"
    link.symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_draft(link, "slow-work", workspace)


def test_a_fifo_is_refused_without_blocking(workspace: Settings) -> None:
    fifo = workspace.series_dir / "slow-work" / "0003-a-quieter-week.md"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_post(fifo, "slow-work", workspace)


def test_a_huge_file_is_refused_without_reading_it(workspace: Settings) -> None:
    path = workspace.series_dir / "slow-work" / "0003-a-quieter-week.md"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(document(GOOD_FRONT))
        handle.write(("x" * 1023 + "\n") * (9 * 1024))
    assert path.stat().st_size > 8 * 1024 * 1024
    with pytest.raises(InvalidInput, match="more than the 8,388,608 duologue reads"):
        read_post(path, "slow-work", workspace)


def test_a_missing_file_is_named(workspace: Settings) -> None:
    path = workspace.series_dir / "slow-work" / "0009-gone.md"
    with pytest.raises(InvalidInput, match=r"series/slow-work/0009-gone\.md: no such file"):
        read_post(path, "slow-work", workspace)


# -- round trip and properties ---------------------------------------------------------------


def test_format_then_parse_gives_the_same_post() -> None:
    post = parse(
        document(
            GOOD_FRONT + "tags: [meetings, focus]\nsummary: 'yes: no'\n"
            "canonical_url: https://ben.example.com/q\n",
            "Ana,\n\n---\n\nA rule above, *emphasis*, and [[#2]].\n",
        )
    )
    assert parse(format_post(post)) == post


safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85\ufeff"),
    min_size=1,
    max_size=60,
).map(str.strip).filter(bool)
# A title may not hold a control or invisible character (duologue.visible refuses them).
title_text = safe_text.filter(lambda text: hidden_character(text) is None)
body_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff") | st.just("\n"),
    min_size=1,
    max_size=300,
).map(lambda s: s.strip()).filter(bool)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=title_text,
    author=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=offsets
    ),
    in_reply_to=st.none() | st.integers(min_value=1, max_value=2),
    tags=st.lists(safe_text, max_size=4),
    summary=st.none() | safe_text,
    body=body_text,
)
def test_round_trip_property(
    title: str,
    author: str,
    moment: datetime,
    in_reply_to: int | None,
    tags: list[str],
    summary: str | None,
    body: str,
) -> None:
    post = Post(
        series="slow-work",
        turn=3,
        slug="a-quieter-week",
        path=POST_PATH,
        title=title,
        author=author,
        date=moment.replace(microsecond=0),
        body=body,
        in_reply_to=in_reply_to,
        tags=tuple(tags),
        summary=summary,
    )
    parsed = parse(format_post(post))
    assert parsed == post
    assert parsed.date.utcoffset() == post.date.utcoffset()


front_matter_like = st.builds(
    lambda front, body: f"---\n{front}\n---\n{body}",
    st.text(max_size=200) | st.sampled_from([GOOD_FRONT, BILLION_LAUGHS, "a: [", "? [a]\n: 1"]),
    st.text(max_size=50),
)


@settings(max_examples=300)
@given(st.text(max_size=400) | front_matter_like)
def test_parse_never_raises_anything_but_invalid_input(text: str) -> None:
    try:
        parse(text)
    except InvalidInput as error:
        assert error.message.startswith(SHOWN)
    with contextlib.suppress(InvalidInput):
        parse_draft(text, DRAFT_PATH, "slow-work", SETTINGS)
