"""Keys: short stable hashes that change exactly when what they stand for does.

Its own small module because a no-op rebuild needs it (and the render version) to
compare the build options, before any of the modules that link, plan or render.
"""

from __future__ import annotations

import hashlib

RENDER_VERSION = "6"
"""Bump when the build renders differently, so every output is rendered again."""


def digest(*parts: str) -> str:
    """A short stable hash of some strings (a key, never shown to anyone)."""
    joined = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()
