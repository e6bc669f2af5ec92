"""Are the output files still as the last build left them? The no-op check's half that
looks at the output folder.

A no-op rebuild of a big site is mostly two rounds of ``lstat``: one over the inputs,
one over the outputs the manifest lists (10,000 each for 10 series of 1,000 posts). On
Linux the outputs are checked in a forked child while the parent scans the inputs: the
two rounds then share the machine's cores instead of taking turns (threads do not help:
each ``lstat`` is mostly Python around a short system call, so they queue for the GIL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from duologue.site.cache import OutputRecord
from duologue.site.writer import holds

ASIDE_MIN = 2000
"""Below this many outputs, forking costs more than checking them here."""


def stamps_hold(out_dir: Path, outputs: dict[str, OutputRecord]) -> bool:
    """True when every file the last build wrote is still exactly as it left it."""
    prefix = f"{out_dir}{os.sep}"
    return all(holds(prefix + relpath, stamp) for relpath, (_key, stamp) in outputs.items())


@contextlib.contextmanager
def stamps_checked_aside(
    out_dir: Path, count: int, outputs: Callable[[], dict[str, OutputRecord]]
) -> Iterator[Callable[[], bool]]:
    """Start ``stamps_hold`` now for the ``count`` outputs that ``outputs()`` gives (it
    decodes them, so that too happens in the child), in a forked child when that pays;
    the context gives a function that waits for the answer. Leaving the context never
    leaves a child behind.

    Forking is safe here: the build has started no thread yet, and the child only
    decodes, calls ``lstat`` and leaves with ``os._exit`` (no buffers flushed, no
    cleanup run).
    """
    pid = _fork() if count >= ASIDE_MIN and _can_fork() else None
    if pid is None:
        yield lambda: stamps_hold(out_dir, outputs())
        return
    if pid == 0:  # pragma: no cover - the child; coverage does not follow it
        held = False
        with contextlib.suppress(BaseException):
            held = stamps_hold(out_dir, outputs())
        os._exit(0 if held else 1)
    answer: list[bool] = []

    def wait() -> bool:
        if not answer:
            try:
                _pid, status = os.waitpid(pid, 0)
                held = os.waitstatus_to_exitcode(status) == 0
            except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): check here
                held = stamps_hold(out_dir, outputs())
            answer.append(held)
        return answer[0]

    try:
        yield wait
    finally:
        if not answer:  # not asked (the inputs changed, or an error): stop the child
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def _fork() -> int | None:
    """``os.fork()``, or None when the system refuses one (no memory, too many processes):
    then the check runs here, only slower."""
    try:
        return os.fork()
    except OSError:
        return None


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) >= 2
