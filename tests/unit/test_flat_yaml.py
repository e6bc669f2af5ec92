"""The front matter fast path gives exactly what the strict YAML loader gives, or steps aside."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from duologue import flat_yaml
from duologue.posts import _StrictLoader


def strict(text: str) -> Any:
    return yaml.load(text, Loader=_StrictLoader)  # _StrictLoader is a SafeLoader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "title: Mornings Without Meetings\nauthor: ben",
            {"title": "Mornings Without Meetings", "author": "ben"},
        ),
        ('title: "Word: Make"\nturn: 2', {"title": "Word: Make", "turn": 2}),
        ("title: 'it''s mine'", {"title": "it's mine"}),
        ("tags: [meetings, focus]", {"tags": ["meetings", "focus"]}),
        ('tags: ["heard", "better"]', {"tags": ["heard", "better"]}),
        ("tags: []", {"tags": []}),
        ("in_reply_to:", {"in_reply_to": None}),
        ("# a comment\n\ntitle: x", {"title": "x"}),
        (
            "date: 2026-10-12T18:20:00+01:00",
            {"date": datetime(2026, 10, 12, 18, 20, tzinfo=timezone(timedelta(hours=1)))},
        ),
        ("date: 2026-10-12", {"date": date(2026, 10, 12)}),
        ("title: Ünïcødé — “quotes” 🙂", {"title": "Ünïcødé — “quotes” 🙂"}),
        ("", {}),
    ],
)
def test_flat_front_matter_is_parsed_as_yaml_would(text: str, expected: dict[str, Any]) -> None:
    assert flat_yaml.parse(text) == expected
    assert (strict(text) or {}) == expected


@pytest.mark.parametrize(
    "text",
    [
        "title: yes",  # a bool to YAML 1.1
        "title: null",
        "title: ~",
        "title: 12:30",  # sexagesimal: 750
        "turn: 007",  # octal
        "turn: 0x1F",
        "turn: 1.5",
        "turn: 1_000",
        "title: a # comment",
        "title: Part one: the start",
        "title: foo\n  continued",
        "title: >\n  folded",
        'title: "an \\"escaped\\" quote"',
        "title: 'open",
        "title: [oops",
        "tags: [a, [b]]",
        "tags: [a, , b]",
        "tags: [a,]",
        'tags: ["a, b", c]',
        "tags: [what?]",
        "title: &a x\nauthor: *a",
        "title: !!python/name:os.system x",
        "title: x\ntitle: y",
        "yes: x",
        "title: tab\there",
        "title: bell\x07",
        "title: line\u2028break",
        "title: bom\ufeff",
        "- a list",
        "title: x\n...\n",
        "date: 2026-13-45",
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert flat_yaml.parse(text) is None


KEYS = st.sampled_from(["title", "author", "turn", "tags", "date", "yes", "on", "x_1", "null"])
PIECES = st.sampled_from(
    [
        "a",
        "Ben",
        " ",
        "  ",
        ":",
        ": ",
        "#",
        " #",
        "'",
        "''",
        '"',
        "\\",
        "[",
        "]",
        ",",
        "{",
        "-",
        "- ",
        "?",
        "!",
        "&",
        "*",
        "|",
        ">",
        "%",
        "@",
        "`",
        "=",
        "<<",
        "~",
        "0",
        "1",
        "07",
        "1.5",
        "1e3",
        "0x1F",
        "12:30",
        "yes",
        "No",
        "null",
        "true",
        "2026-11-27",
        "2026-11-27T09:30:00+00:00",
        "2026-11-27T23:59:59-05:00",
        "2026-11-27T09:30:00-00:00",
        "2026-11-27T09:30:00+05:75",
        "2026-11-27T09:30:00+24:00",
        "2026-02-30T09:30:00+01:00",
        "2026-11-27T24:00:00+01:00",
        "2026-11-27T09:30:00.250+01:00",
        "2026-11-27 09:30:00",
        "é",
        "🙂",
        "\t",
        "\x85",
        "\u2028",
    ]
)
VALUES = st.lists(PIECES, max_size=6).map("".join)
LINES = st.one_of(
    st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.tuples(KEYS, st.lists(VALUES, max_size=3)).map(lambda kv: f"{kv[0]}: [{', '.join(kv[1])}]"),
    st.sampled_from(["", "# note", "  indented: x", "key:value", "..."]),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(LINES, max_size=6).map("\n".join))
def test_fast_path_never_disagrees_with_the_strict_loader(text: str) -> None:
    fast = flat_yaml.parse(text)
    if fast is None:
        return
    loaded = strict(text)
    assert fast == (loaded if loaded is not None else {})
    assert [type(v) for v in fast.values()] == [type(v) for v in (loaded or {}).values()]
    for key, value in fast.items():  # equal datetimes may still differ in their offset
        if isinstance(value, datetime):
            assert value.utcoffset() == loaded[key].utcoffset()
            assert type(value.tzinfo) is type(loaded[key].tzinfo)


def test_the_unsure_characters_are_all_but_the_ones_yaml_reads_as_text() -> None:
    """``_UNSURE`` lists the characters to leave to PyYAML; every other code point is one
    YAML takes as it is in a plain or quoted scalar (PyYAML's printable set, less tab,
    NEL, the line and paragraph separators and the byte order mark)."""
    import re

    taken_as_is = re.compile(
        r"[\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )
    every = "".join(map(chr, range(0x110000)))
    unsure = flat_yaml._UNSURE.findall(every)
    assert len(unsure) + len(taken_as_is.findall(every)) == len(every)
    assert not any(taken_as_is.match(ch) for ch in unsure)
