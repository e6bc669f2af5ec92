"""Turning titles into file-name slugs that cannot escape their folder."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG_LENGTH = 60


def slugify(title: str, fallback: str) -> str:
    """``"Three Steps: a Quieter Week!"`` → ``three-steps-a-quieter-week``.

    Only ``[a-z0-9-]`` survive, so ``../``, slashes and control characters never reach
    a path; an empty result falls back to ``fallback``.
    """
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    return slug or fallback
