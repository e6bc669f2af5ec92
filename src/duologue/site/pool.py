"""Worker processes for big builds: how many, and a pool that forks them.

Forked, not spawned: a worker starts with what the parent set up (settings, the linked
site, the manifest) already in its memory, so nothing big is pickled to it. Only on
Linux, where fork is the default and safe for this program (no threads yet).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")

PARALLEL_MIN = 400
"""Below this many posts to parse or render, a process pool costs more than it saves."""


def use_processes(count: int) -> int:
    """How many worker processes to use for ``count`` items (0: do it here)."""
    cpus = os.cpu_count() or 1
    if count < PARALLEL_MIN or cpus < 2 or not sys.platform.startswith("linux"):
        return 0
    return min(cpus, 8)


def chunks(items: Sequence[T], parts: int) -> list[list[T]]:
    size = max(1, -(-len(items) // parts))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@contextlib.contextmanager
def fork_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` forked processes, shut down (waited for) on leaving.

    The parent's objects are frozen out of the cyclic collector while the pool lives
    (the forks happen at the first submit), as Python's ``gc.freeze`` documentation
    advises for fork without exec: a worker then starts with nothing young to collect,
    where each ran a collection of ~50,000 inherited objects (10-20 ms) early in its
    first task, touching their pages and so copying them.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    gc.freeze()
    try:
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork")
        ) as executor:
            yield executor
    finally:
        gc.unfreeze()
