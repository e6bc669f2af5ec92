"""Writing the few TOML files duologue creates (tomllib only reads)."""

from __future__ import annotations

import json


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes."""
    return json.dumps(value, ensure_ascii=False)


def toml_line(key: str, value: str | int) -> str:
    rendered = str(value) if isinstance(value, int) else toml_string(value)
    return f"{key} = {rendered}\n"
