"""The python-frontmatter boundary: read and write posts and drafts.

Front matter is parsed with a strict YAML loader: no anchors or aliases (the
"billion laughs" bomb), no python tags, no duplicate keys, and at most 64 KiB.
Everything read comes back as duologue's own ``Post`` or ``Draft``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from duologue import flat_yaml
from duologue.errors import InvalidInput
from duologue.files import read_text, relative, unix_newlines
from duologue.model import POST_FILE_PATTERN, Draft, Post, Settings, post_name_problem
from duologue.visible import hidden_character_problem

MAX_FRONT_MATTER_BYTES = 64 * 1024
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
"""Control characters, and the two non-characters XML 1.0 cannot carry (feeds would break)."""
_CONTROL_BYTES = bytes(
    0 if (b < 32 and b not in (9, 10, 13)) or b == 127 else 1 for b in range(256)
)
"""Byte → 0 for the control characters above, 1 for any other byte: in UTF-8 each of them
is one byte that no other character's encoding contains."""
FIELD_ORDER = (
    "title",
    "author",
    "date",
    "turn",
    "in_reply_to",
    "tags",
    "summary",
    "canonical_url",
    "updated",
    "withdrawn",
    "withdrawn_reason",
)

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that also refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                raise _FrontMatterError(f"the key `{key}` appears twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Writes dates as ISO 8601 timestamps (``2026-11-27T09:30:00+00:00``)."""


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


_Dumper.add_representer(datetime, _represent_datetime)


class _FrontMatterError(Exception):
    """Internal: why front matter was refused, without the file name."""


def _refuse_anchors(text: str) -> None:
    # Only documents with & or * can hold anchors or aliases: skip the event scan otherwise.
    if "&" not in text and "*" not in text:
        return
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _FrontMatterError("YAML anchors and aliases (& and *) are not allowed")


class _StrictYAMLHandler(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        if len(fm.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
            raise _FrontMatterError(
                f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 1024} KiB"
            )
        flat = flat_yaml.parse(fm)  # the usual front matter, without PyYAML's constructor
        if flat is not None:
            return flat
        _refuse_anchors(fm)
        return yaml.load(fm, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader


_HANDLER = _StrictYAMLHandler()


def split_document(text: str, shown: str) -> tuple[dict[str, Any], str]:
    """Front matter and body of a post or draft; ``InvalidInput`` naming ``shown`` if broken."""
    stripped = unix_newlines(text.lstrip("\ufeff")).strip()
    if not _HANDLER.detect(stripped):
        raise InvalidInput(
            f"{shown}: has no front matter; start the file with a `---` line, the fields, "
            "and another `---` line."
        )
    try:
        # Not frontmatter.parse: it treats unclosed front matter as a body without any, and
        # silently drops front matter that is not a mapping; both must be refused here.
        front, body = _HANDLER.split(stripped)
    except ValueError:
        raise InvalidInput(
            f"{shown}: front matter is not closed; end it with a `---` line."
        ) from None
    try:
        metadata = _HANDLER.load(front)
    except _FrontMatterError as error:
        raise InvalidInput(f"{shown}: front matter is refused: {error}.") from None
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(
            f"{shown}: front matter is not valid YAML{where}: {reason}; fix it."
        ) from None
    except ValueError as error:  # a timestamp YAML recognises but cannot build (2026-13-45)
        raise InvalidInput(
            f"{shown}: front matter has a value that is not valid ({error}); fix it."
        ) from None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{shown}: front matter must be `key: value` lines.")
    return metadata, body.strip()


def _text(meta: dict[str, Any], key: str, shown: str, *, required: bool) -> str | None:
    value = meta.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{shown}: `{key}` is missing from the front matter; add it.")
        return None
    if not isinstance(value, str):
        raise InvalidInput(
            f"{shown}: `{key}` must be text, not {type(value).__name__} ({value!r}); "
            "put it in quotes."
        )
    if CONTROL_CHARACTERS.search(value) or "\n" in value.strip():
        raise InvalidInput(f"{shown}: `{key}` contains control characters or line breaks.")
    if required and not value.strip():
        raise InvalidInput(f"{shown}: `{key}` is empty; give it a value.")
    return value.strip()


def _visible_text(meta: dict[str, Any], key: str, shown: str, *, required: bool) -> str | None:
    """``_text`` for a title or a handle: also no bidirectional controls or invisible
    characters (``duologue.visible``), as these are echoed on terminals and in feeds."""
    value = _text(meta, key, shown, required=required)
    problem = None if value is None else hidden_character_problem(value, key)
    if problem:
        raise InvalidInput(f"{shown}: {problem}")
    return value


def _turn_number(meta: dict[str, Any], key: str, shown: str) -> int | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{shown}: `{key}` must be a turn number (1, 2, ...), not {value!r}.")
    return value


def coerce_date(value: Any, zone: tzinfo, shown: str, key: str = "date") -> datetime:
    """A front matter date as an aware datetime; no offset means the workspace time zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                f"{shown}: `{key}` {value!r} is not a date; write it like "
                "2026-11-27T09:30:00+00:00."
            ) from None
    else:
        raise InvalidInput(f"{shown}: `{key}` must be a date, not {type(value).__name__}.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return check_date_range(moment, shown, key)


EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The dates duologue accepts: git records commit dates before 1970 or past 2099 badly or not
at all, and a date near year 9999 cannot even be moved to another time zone."""


def check_date_range(moment: datetime, shown: str, key: str = "date") -> datetime:
    """``moment`` when it lies in 1970-01-01 .. 2099-12-31 (UTC); a sentence otherwise."""
    if EARLIEST_DATE <= moment <= LATEST_DATE:
        return moment
    raise InvalidInput(
        f"{shown}: `{key}` {moment.isoformat()} lies outside 1970-01-01 .. 2099-12-31 (UTC), "
        "the dates duologue and git record safely; correct it."
    )


def _tags(meta: dict[str, Any], shown: str) -> tuple[str, ...]:
    value = meta.get("tags")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InvalidInput(f"{shown}: `tags` must be a list of words, like [meetings, focus].")
    tags = tuple(tag.strip() for tag in value if tag.strip())
    if any(CONTROL_CHARACTERS.search(tag) or "\n" in tag for tag in tags):
        raise InvalidInput(f"{shown}: `tags` contain control characters or line breaks.")
    return tags


def _canonical_url(meta: dict[str, Any], shown: str) -> str | None:
    value = _text(meta, "canonical_url", shown, required=False)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{shown}: `canonical_url` must be an absolute http(s) URL.")
    return value


def has_control_character(text: str) -> bool:
    """Whether ``CONTROL_CHARACTERS`` occurs in ``text``; on a post's body a third of the
    regex's time (one table lookup a byte in C, not a set test a character)."""
    data = text.encode("utf-8", "surrogatepass")
    return b"\x00" in data.translate(_CONTROL_BYTES) or "\ufffe" in text or "\uffff" in text


def _body(body: str, shown: str) -> str:
    if not body.strip():
        raise InvalidInput(f"{shown}: the body is empty; write the post below the front matter.")
    bad = CONTROL_CHARACTERS.search(body) if has_control_character(body) else None
    if bad:
        line = body.count("\n", 0, bad.start()) + 1
        raise InvalidInput(
            f"{shown}: the body has a control character (U+{ord(bad.group()):04X}) on line "
            f"{line} of the body; remove it."
        )
    return body


def parse_post(
    text: str, path: Path, series: str, settings: Settings, *, shown: str | None = None
) -> Post:
    """A published post from its text; checks every field's type and the file name.
    ``shown``: ``path`` relative to the workspace, when the caller has it already."""
    return _parse_post(text, path, series, settings, shown, keep_body=True)[0]


def parse_post_apart(
    text: str, path: Path, series: str, settings: Settings, *, shown: str
) -> tuple[Post, str]:
    """``parse_post``, but the post comes with an empty body and the body comes apart:
    the build keeps thousands of posts without their text (a copy without it cost more
    than checking a post's fields)."""
    return _parse_post(text, path, series, settings, shown, keep_body=False)


def _parse_post(
    text: str, path: Path, series: str, settings: Settings, shown: str | None, *, keep_body: bool
) -> tuple[Post, str]:
    shown = relative(path, settings.root) if shown is None else shown
    match = POST_FILE_PATTERN.match(path.name)
    if not match:
        raise InvalidInput(f"{shown}: {post_name_problem(path.name)}")
    meta, body = split_document(text, shown)
    turn = _turn_number(meta, "turn", shown)
    if turn is None:
        raise InvalidInput(
            f"{shown}: `turn` is missing from the front matter; add turn: {int(match['turn'])}."
        )
    if turn != int(match["turn"]):
        raise InvalidInput(
            f"{shown}: `turn` is {turn} but the file name says {int(match['turn'])}; "
            "make them agree."
        )
    if "date" not in meta or meta["date"] is None:
        raise InvalidInput(f"{shown}: `date` is missing from the front matter; add it.")
    title = _visible_text(meta, "title", shown, required=True) or ""
    author = _visible_text(meta, "author", shown, required=True) or ""
    date = coerce_date(meta["date"], settings.timezone, shown)
    updated = _optional_date(meta, "updated", settings.timezone, shown)
    withdrawn = _optional_date(meta, "withdrawn", settings.timezone, shown)
    reason = _text(meta, "withdrawn_reason", shown, required=False)
    for key, later in (("updated", updated), ("withdrawn", withdrawn)):
        if later is not None and later < date:
            raise InvalidInput(
                f"{shown}: `{key}` {later.isoformat()} is earlier than `date` "
                f"{date.isoformat()}; a post changes only after it is published."
            )
    if withdrawn is None:
        body = _body(body, shown)
        if reason is not None:
            raise InvalidInput(
                f"{shown}: `withdrawn_reason` is set but `withdrawn` is not; withdraw a post "
                "with `duologue retract`."
            )
    elif body.strip():
        raise InvalidInput(
            f"{shown}: the post is withdrawn (`withdrawn` is set) but still has a body; a "
            "withdrawn post's text lives only in git history, so empty the body."
        )
    post = Post(
        series=series,
        turn=turn,
        slug=match["slug"],
        path=path,
        title=title,
        author=author,
        date=date,
        body=body if keep_body else "",
        in_reply_to=_turn_number(meta, "in_reply_to", shown),
        tags=_tags(meta, shown),
        summary=_text(meta, "summary", shown, required=False),
        canonical_url=_canonical_url(meta, shown),
        updated=updated,
        withdrawn=withdrawn,
        withdrawn_reason=reason,
    )
    return post, body


def _optional_date(meta: dict[str, Any], key: str, zone: tzinfo, shown: str) -> datetime | None:
    value = meta.get(key)
    return None if value is None else coerce_date(value, zone, shown, key)


def read_post(path: Path, series: str, settings: Settings) -> Post:
    return parse_post(read_text(path, settings.root), path, series, settings)


def parse_draft(text: str, path: Path, series: str, settings: Settings) -> Draft:
    """A draft from its text: a post's front matter, ``turn`` and ``date`` optional."""
    shown = relative(path, settings.root)
    meta, body = split_document(text, shown)
    raw_date = meta.get("date")
    return Draft(
        series=series,
        slug=path.stem,
        path=path,
        title=_visible_text(meta, "title", shown, required=True) or "",
        author=_visible_text(meta, "author", shown, required=False),
        body=_body(body, shown),
        in_reply_to=_turn_number(meta, "in_reply_to", shown),
        date=None if raw_date is None else coerce_date(raw_date, settings.timezone, shown),
        tags=_tags(meta, shown),
        summary=_text(meta, "summary", shown, required=False),
        canonical_url=_canonical_url(meta, shown),
        extra_turn=_turn_number(meta, "turn", shown),
    )


def read_draft(path: Path, series: str, settings: Settings) -> Draft:
    return parse_draft(read_text(path, settings.root), path, series, settings)


def format_document(fields: dict[str, Any], body: str) -> str:
    """Front matter (in duologue's field order, empty fields left out) and body."""
    ordered = {key: fields[key] for key in FIELD_ORDER if fields.get(key) not in (None, (), [])}
    ordered.update(
        (key, value)
        for key, value in fields.items()
        if key not in FIELD_ORDER and value is not None
    )
    ordered = {
        key: list(value) if isinstance(value, tuple) else value for key, value in ordered.items()
    }
    post = frontmatter.Post(body.strip("\n"), **ordered)
    return (
        str(frontmatter.dumps(post, handler=_HANDLER, Dumper=_Dumper, sort_keys=False, width=1000))
        + "\n"
    )


def format_post(post: Post) -> str:
    return format_document(
        {
            "title": post.title,
            "author": post.author,
            "date": post.date,
            "turn": post.turn,
            "in_reply_to": post.in_reply_to,
            "tags": post.tags,
            "summary": post.summary,
            "canonical_url": post.canonical_url,
            "updated": post.updated,
            "withdrawn": post.withdrawn,
            "withdrawn_reason": post.withdrawn_reason,
        },
        post.body,
    )


def format_draft(draft: Draft) -> str:
    return format_document(
        {
            "title": draft.title,
            "author": draft.author,
            "date": draft.date,
            "in_reply_to": draft.in_reply_to,
            "tags": draft.tags,
            "summary": draft.summary,
            "canonical_url": draft.canonical_url,
        },
        draft.body,
    )


def load_posts(settings: Settings, series: str) -> list[Post]:
    """Every post of a series in turn order; the first broken one raises ``InvalidInput``."""
    from duologue.workspace import list_post_files

    return [read_post(f.path, series, settings) for f in list_post_files(settings, series)]
