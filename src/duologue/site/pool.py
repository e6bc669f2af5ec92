"""Worker processes for big builds: how many, and a pool that forks them.

Forked, not spawned: a worker starts with what the parent set up (the settings, the
scan, the manifest) already in its memory, so nothing big is pickled to it. Only on
Linux, where fork is the default and safe for this program (no threads yet).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast

from duologue.errors import BuildError

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)

PARALLEL_MIN = 400
"""Below this many posts to parse or render, a process pool costs more than it saves."""


def use_processes(count: int) -> int:
    """How many worker processes to use for ``count`` items (0: do it here)."""
    cpus = os.cpu_count() or 1
    if count < PARALLEL_MIN or cpus < 2 or not sys.platform.startswith("linux"):
        return 0
    return min(cpus, 8)


class SharedPool(Protocol, Generic[S_co]):
    """A pool whose tasks get the pool's shared state as their first argument."""

    def submit(
        self, fn: Callable[Concatenate[S_co, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]: ...


@contextlib.contextmanager
def fork_pool(workers: int, shared: S) -> Iterator[SharedPool[S]]:
    """A pool of ``workers`` forked processes, shut down (waited for) on leaving; leaving
    by an exception (Ctrl-C included) stops the workers at once instead (``_stop_workers``).

    ``executor.submit(fn, *args)`` runs ``fn(shared, *args)`` in a worker: ``shared`` is
    handed to each worker as it forks (the pool's initializer), not pickled with every
    task.
    """
    import multiprocessing

    executor = _stoppable_pool()(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_starts,
        initargs=(shared,),
    )
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield cast("SharedPool[S]", executor)
    except BrokenProcessPool:
        _stop_workers(executor)
        # Killed from outside (the out-of-memory killer, a `kill`): not duologue's bug.
        raise BuildError(
            "a build worker process was killed from outside (by the system's "
            "out-of-memory killer, or a `kill`); nothing half-written is kept: run "
            "`duologue build` again."
        ) from None
    except BaseException:
        # Ctrl-C, or an error: stop the workers now, not once all queued work is done.
        _stop_workers(executor)
        raise
    executor.shutdown(wait=True)


def _stoppable_pool() -> type[ProcessPoolExecutor]:
    """A process pool whose tasks a worker can be told to stop (``_worker_stops``); made
    here, as ``concurrent.futures`` is imported only by builds that fork."""
    from concurrent.futures import ProcessPoolExecutor

    class StoppablePool(ProcessPoolExecutor):
        def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
            # map() comes here too. The first submit forks the workers: a Ctrl-C then
            # waits (blocked) until each worker ignores it, and reaches the parent after.
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                return super().submit(_task, fn, *args, **kwargs)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)

    return StoppablePool


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """Cancel what has not started, tell each worker to stop (SIGTERM: it abandons its task,
    whose own cleanup runs, and leaves) and wait for them; a worker that does not leave
    within seconds is killed."""
    import multiprocessing

    executor.shutdown(wait=False, cancel_futures=True)
    children = multiprocessing.active_children()  # this pool's workers: nothing else forks so
    for child in children:
        with contextlib.suppress(OSError):
            child.terminate()
    for child in children:
        child.join(STOP_WAIT)
        if child.is_alive():
            child.kill()
            child.join()


STOP_WAIT = 5.0
"""Seconds a worker has to leave after SIGTERM before it is killed."""


class _Worker:
    """The state of a worker process (each has its own copy)."""

    stopping = False
    """The parent has told this worker to stop."""
    busy = False
    """The worker is running a task, which an exception can unwind."""
    shared: object = None
    """What ``fork_pool`` was given for its tasks (set as the worker starts)."""


def _worker_starts(shared: object) -> None:
    """First thing in each worker: Ctrl-C at a terminal reaches every process of the build,
    but only the parent answers it (by stopping the workers), so that the person sees one
    ``error: interrupted.``, not one traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stops)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the fork's submit
    _Worker.shared = shared


def _worker_stops(signum: int, frame: FrameType | None) -> None:
    if _Worker.stopping:
        # Told twice (the pool's own thread also stops the others once a worker has
        # left): a second exception could cut short the cleanup the first one runs.
        return
    _Worker.stopping = True
    if _Worker.busy:
        raise KeyboardInterrupt  # unwinds the task: a half-written temporary file is removed
    os._exit(1)  # between tasks, nothing to undo


def _task(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(shared, *args, **kwargs)`` in a worker; once told to stop, the worker leaves instead of
    starting (or after finishing) a task."""
    if _Worker.stopping:
        os._exit(1)
    _Worker.busy = True
    try:
        return fn(_Worker.shared, *args, **kwargs)
    finally:
        _Worker.busy = False
        if _Worker.stopping:
            os._exit(1)
