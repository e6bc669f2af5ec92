"""A fast path for the front matter duologue writes: flat ``key: value`` lines.

PyYAML's constructor is pure Python, and a build reads every post: splitting and
loading a post's front matter took ~100 µs, now ~47 µs (10,000 generated posts).
Nearly all front matter is flat lines of ``key: value`` with plain or quoted text, a
turn number, a timestamp or a one-line ``[a, b]`` list, and those are parsed here
without PyYAML's machinery.

The rule: ``parse`` gives exactly what the strict YAML loader of ``duologue.posts``
would give, or ``None`` whenever the text holds anything else (a comment after a
value, a nested or multi-line value, a quoted string with escapes, a key twice,
``yes``/``null``/``1.5``/``0x1F`` and any scalar YAML would not read as text, an
integer or a timestamp). Then the caller lets PyYAML parse it, so every error
message and every oddity of YAML 1.1 stays PyYAML's. Scalars are typed by PyYAML's
own resolver and timestamps built by its own constructor, so the two paths cannot
disagree on what a value means.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: +(.*))?")
"""``key: value`` or ``key:`` at the start of a line (``key:value`` is one plain scalar)."""

_NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
"""Indicators: a plain scalar starting with one is something else (or needs PyYAML)."""

_FLOW_FORBIDDEN = frozenset(",[]{}?:")
"""Characters a plain scalar inside ``[...]`` cannot hold (or that end it early)."""

_UNSURE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
"""Anything PyYAML reads specially or refuses: control characters (tab too), NEL and the
Unicode line and paragraph separators (line breaks to YAML), surrogates, the byte order
mark and the two non-characters. Listed, not written as the complement of what is safe:
``re`` took 5.8 ms (of every build's start) to compile that, 0.5 this."""

_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")

_ISO_SECONDS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}"
)
"""The timestamps duologue itself writes: ``datetime.fromisoformat`` builds the same
value as PyYAML's constructor for these, in a quarter of the time; anything it refuses
(``+05:75``, PyYAML adds the minutes up) goes to PyYAML."""

_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
_CONSTRUCTOR = SafeConstructor()


class _NotFlat(Exception):
    """Internal: the text needs PyYAML."""


def _tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar (``BaseResolver.resolve``)."""
    for tag, pattern in _RESOLVERS.get(value[0], ()):
        if pattern.match(value):
            return tag
    return _STR


_ZONES: dict[timedelta | None, tzinfo] = {}
"""One ``timezone`` object per offset: ``fromisoformat`` makes a new one for every date,
and the build's post cache pickled each of them again (a fifth of pickling a post)."""


def _shared_zone(moment: datetime) -> datetime:
    zone = moment.tzinfo
    if type(zone) is not timezone:
        return moment
    shared = _ZONES.setdefault(zone.utcoffset(None), zone)  # at most one a minute of offset
    return moment if shared is zone else moment.replace(tzinfo=shared)


_TEXT_KEYS: set[str] = set()
"""Keys known to be text (``title``, ``date``…): a post has the same few every time."""


def _is_text_key(key: str) -> bool:
    if key in _TEXT_KEYS:
        return True
    if _tag(key) != _STR:
        return False
    if len(_TEXT_KEYS) < 256:  # any text could be a key: keep the set small
        _TEXT_KEYS.add(key)
    return True


def _plain(value: str, *, in_flow: bool) -> Any:
    if (
        not value
        or value[0] in _NOT_PLAIN_START
        or ": " in value
        or " #" in value
        or value.endswith(":")
        or (in_flow and any(ch in _FLOW_FORBIDDEN for ch in value))
    ):
        raise _NotFlat
    if not in_flow and _ISO_SECONDS.fullmatch(value):  # always a timestamp to PyYAML
        with contextlib.suppress(ValueError):
            return _shared_zone(datetime.fromisoformat(value))
    tag = _tag(value)
    if tag == _STR:
        return value
    if tag == _INT and _DECIMAL.fullmatch(value):
        return int(value)
    if tag == _TIMESTAMP and not in_flow:
        try:
            return _CONSTRUCTOR.construct_yaml_timestamp(ScalarNode(tag, value))
        except ValueError:  # 2026-13-45: PyYAML says what is wrong
            raise _NotFlat from None
    raise _NotFlat


def _quoted(value: str) -> str | None:
    if value[0] == '"':
        double = _DOUBLE_QUOTED.fullmatch(value)
        return double[1] if double else None
    single = _SINGLE_QUOTED.fullmatch(value)
    return single[1].replace("''", "'") if single else None


def _scalar(value: str, *, in_flow: bool) -> Any:
    if value[0] in "'\"":
        text = _quoted(value)
        if text is None:
            raise _NotFlat
        return text
    return _plain(value, in_flow=in_flow)


def _sequence(value: str) -> list[Any]:
    inner = value[1:-1].strip(" ")
    if not inner:
        return []
    items = [item.strip(" ") for item in inner.split(",")]
    # An empty item (``[a, , b]``, a trailing comma) or a quoted item holding a comma (split
    # in two here, so neither half is a whole quoted string) is left to PyYAML.
    if not all(items):
        raise _NotFlat
    return [_scalar(item, in_flow=True) for item in items]


def _value(value: str) -> Any:
    value = value.rstrip(" ")
    if not value:
        return None
    if value[0] == "[":
        if not value.endswith("]"):
            raise _NotFlat
        return _sequence(value)
    return _scalar(value, in_flow=False)


def parse(text: str) -> dict[str, Any] | None:
    """The mapping PyYAML's strict loader would give for ``text``, or None if unsure."""
    if _UNSURE.search(text):
        return None
    found: dict[str, Any] = {}
    try:
        for line in text.split("\n"):
            if not line or line[0] == "#":  # a blank line, or a comment of its own
                continue
            match = _LINE.fullmatch(line)
            if match is None:
                return None
            key, raw = match[1], match[2]
            if key in found or not _is_text_key(key):
                return None
            found[key] = None if raw is None else _value(raw)
    except _NotFlat:
        return None
    return found
