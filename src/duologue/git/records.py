"""Journals read back: a record whose every field has the type its dataclass declares.

A journal is duologue's own file in the git folder, written atomically, so a damaged one
is rare; but recovery runs before every command, so a journal that parses as JSON and
still holds a number where a path belongs must count as unreadable (and be cleared),
not end every command in a ``TypeError`` until someone deletes it by hand.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


def well_typed(record: object) -> bool:
    """Whether every field of the dataclass ``record`` holds what its annotation says
    (``str``, ``X | None``, ``tuple[X, ...]``, and dataclasses of those, nested)."""
    hints = typing.get_type_hints(type(record))
    return all(
        _holds(getattr(record, field.name), hints[field.name])
        for field in dataclasses.fields(record)  # type: ignore[arg-type]
    )


def _holds(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_holds(value, option) for option in typing.get_args(hint))
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(hint)
        return isinstance(value, tuple) and all(_holds(part, item) for part in value)
    if hint is type(None):
        return value is None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return isinstance(value, hint) and well_typed(value)
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))
