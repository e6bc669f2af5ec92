"""One duologue at a time per clone: an exclusive ``flock`` on ``.git/duologue.lock``.

The second process waits (up to ``DUOLOGUE_LOCK_TIMEOUT`` seconds, default 30) and
then refuses; the lock dies with its process, so a killed run never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from duologue.errors import WorkspaceBusy
from duologue.git.folder import LOCK_NAME

POLL_SECONDS = 0.05


def _timeout() -> float:
    try:
        return float(os.environ.get("DUOLOGUE_LOCK_TIMEOUT", "30"))
    except ValueError:
        return 30.0


@contextmanager
def workspace_lock(git_dir: Path) -> Iterator[None]:
    path = git_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + _timeout()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        "another duologue command is working in this workspace; wait for it "
                        "to finish and try again."
                    ) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing releases the lock
