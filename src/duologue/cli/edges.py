"""The two ways a command ends that are the same for every command, the Typer app and the
quick ``duologue build`` alike: Ctrl-C, and a reader that stops reading.

- Ctrl-C at any moment from ``duologue.cli.main``'s first line on (the imports at start-up
  included) ends the command with ``error: interrupted.`` on stderr, once, and exit 130:
  never a traceback. The first Ctrl-C raises ``KeyboardInterrupt`` where the command is,
  so its ``finally`` blocks still undo what it started (the lock, temporary files, a build's
  worker processes); any further Ctrl-C is ignored, so that cleanup finishes.
- ``duologue log s | head -1``: once the reader has gone, the command stops quietly with
  exit 141, as git and coreutils do (they die of SIGPIPE, which a shell reports as 128 + 13).
  SIGPIPE itself stays ignored, as Python sets it: its default would also kill duologue
  when a git process it writes to stops early, midway through a change.

Every failure a command raises becomes its one line and exit code here too (``failure``),
for the Typer app and the bare build alike. Nothing here imports more than the standard
library's ``signal`` at start-up: it runs before the imports it guards.
"""

from __future__ import annotations

import os
import signal
import sys

TYPE_CHECKING = False  # not typing's: importing typing takes ~10 ms, before the guard is up
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import NoReturn

INTERRUPTED = 130
"""Exit code after Ctrl-C: 128 + SIGINT, what a shell shows for a command it stopped."""
CLOSED_PIPE = 141
"""Exit code once the reader of the output has gone: 128 + SIGPIPE, as git and coreutils."""


class _State:
    interrupted = False
    """Ctrl-C was pressed while the command ran (set by ``_on_interrupt``)."""
    closed = False
    """A write to stdout or stderr failed because its reader has gone."""


def run(command: Callable[[], int]) -> NoReturn:
    """Run ``command`` as the whole process and exit with its code, answering Ctrl-C and
    a closed output as the module docstring says."""
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        code = command()
    except SystemExit as stop:
        code = _exit_code(stop.code)
        if code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            # Click's own answer to a closed pipe while Typer parses the options
            # (`duologue --help | head -1`): it wraps stdout so, then exits 1.
            _State.closed = True
    except KeyboardInterrupt:
        _State.interrupted = True  # not through _on_interrupt: report it all the same
        code = INTERRUPTED
    except BaseException as error:
        code = _reported(error)
    try:
        code = _finish(code)
    except KeyboardInterrupt:  # pressed just as the command ended, before _finish began
        code = _finish(INTERRUPTED)
    raise SystemExit(code)


def _reported(error: BaseException) -> int:
    """The exit code for what reached the top outside a command's own reporting (an
    OSError while Typer prints ``--help`` to a full disk), after its one line; re-raised
    when it asks for a traceback (a bug, or ``DUOLOGUE_DEBUG=1``)."""
    if answered_here(error):
        return 1
    reported = failure(error)
    if reported is None:
        raise error
    _write_stderr(reported[0] + "\n")
    return reported[1]


def failure(error: BaseException) -> tuple[str, int] | None:
    """``(error line, exit code)`` for what a command raised, or None when it must go on up:
    anything but an ``Exception`` or an interrupt, what ``duologue.cli.edges`` answers
    itself (Ctrl-C in the real process, a closed output), and with ``DUOLOGUE_DEBUG=1``
    set, duologue's own errors and its bugs (to show where they come from)."""
    from duologue.errors import DuologueError, os_error_message
    from duologue.visible import printable  # a message may quote a hostile name or path

    if answered_here(error):  # Ctrl-C, a closed pipe: the same for every command
        return None
    debug = os.environ.get("DUOLOGUE_DEBUG") == "1"
    if isinstance(error, DuologueError):
        if debug:
            return None
        # Every line made printable on its own: a hook's lines stay lines, and nothing in
        # them can move the cursor or hide text.
        shown = [printable(error.message), *map(printable, error.detail.splitlines())]
        return "error: " + "\n".join(shown), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "error: interrupted.", 130
    if isinstance(error, OSError) and not debug:  # a full disk, a read-only folder...
        return f"error: {printable(os_error_message(error))}", 1
    if isinstance(error, Exception):  # a bug in duologue: still one sentence, not a traceback
        if debug:
            return None
        return (
            f"error: duologue failed unexpectedly ({type(error).__name__}: "
            f"{printable(str(error))}); "
            "run again with DUOLOGUE_DEBUG=1 to see where, and please report it.",
            1,
        )
    return None


def answered_here(error: BaseException) -> bool:
    """True for what ``run`` reports itself, the same way for every command: anything after
    Ctrl-C, and a write to an output whose reader has gone. Whoever catches one of these
    lets it go on up (``failure`` returns None)."""
    if _State.interrupted:
        return True
    if isinstance(error, BrokenPipeError) and _an_output_closed():
        _State.closed = True
        return True
    return False


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    if _State.interrupted:
        return  # one is enough: let the cleanup the first one started finish
    _State.interrupted = True
    raise KeyboardInterrupt


def _finish(code: int) -> int:
    """The exit code, after the interrupt's one line and with a closed output quieted."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the outcome is decided: nothing to stop
    if _State.interrupted:
        code = INTERRUPTED
        _write_stderr("error: interrupted.\n")
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as error:
        if _an_output_closed():
            _State.closed = True
        else:
            # What waited in Python's buffer cannot be written (a full disk): say so, once
            # (unless the command has reported a failure already), and let it go, or
            # Python's own flush at exit fails again and prints "Exception ignored".
            _discard(1)
            if code == 0:
                code = 1
                _write_stderr(f"error: {_unwritten(error)}\n")
    if _State.closed:
        code = CLOSED_PIPE if code != INTERRUPTED else code
        _quiet_closed_outputs()
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _write_stderr(f"{code}\n")  # SystemExit("text"), as Python itself prints it
    return 1


def _write_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        if _an_output_closed():
            _State.closed = True
        else:
            _discard(2)  # nowhere to say it: drop it rather than fail again at exit


def _unwritten(error: BaseException) -> str:
    """The sentence for output that could not be written."""
    if isinstance(error, OSError):
        from duologue.errors import os_error_message

        return os_error_message(error)
    return "the output could not be written."


def _discard(fd: int) -> None:
    """Point ``fd`` at /dev/null, so that what is still buffered for it goes nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _an_output_closed() -> bool:
    return any(_reader_gone(fd) for fd in (1, 2))


def _reader_gone(fd: int) -> bool:
    """Whether ``fd`` is a pipe or socket nobody reads any more (poll reports an error on it)."""
    import select

    if not hasattr(select, "poll"):  # pragma: no cover - not on Linux or macOS
        return fd == 1
    poller = select.poll()
    try:
        poller.register(fd, select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _fd, mask in events)


def _quiet_closed_outputs() -> None:
    """Point a closed stdout or stderr at /dev/null, so that Python's own flush at exit
    does not print "Exception ignored ... BrokenPipeError" (Python's signal module docs
    recommend this)."""
    for fd in (1, 2):
        if _reader_gone(fd):
            _discard(fd)
