"""Every refusal duologue makes, as a typed exception with a message for a person.

The CLI turns any of these into ``error: <message>`` on stderr and the exit code
the class carries; nothing else in the code prints errors.
"""

from __future__ import annotations

import errno
import os


class DuologueError(Exception):
    """Something the user can fix; the message says what and how."""

    exit_code: int = 1

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        """Lines printed under the message, as they are (what a hook printed, already
        bounded): the message stays one sentence on one line."""

    def __str__(self) -> str:
        return self.message


class WorkspaceNotFound(DuologueError):
    """No duologue.toml in this folder or any folder above it."""


class ConfigError(DuologueError):
    """duologue.toml or a series.toml is unreadable or invalid."""


class InvalidInput(DuologueError):
    """A post, draft, option or argument is not acceptable."""


class UnknownSeries(DuologueError):
    """A series slug names no folder under series/."""


class ActingAuthorUnknown(DuologueError):
    """Nobody could be identified as the acting author."""


class NotYourTurn(DuologueError):
    """The acting author tried to publish out of turn."""


class GitFailure(DuologueError):
    """git refused, or the repository is in a state we must not touch."""


class PushRejected(GitFailure):
    """The remote has commits we do not have."""


class HookFailed(GitFailure):
    """One of the user's git hooks refused (exit status not 0); its output is the detail."""


class WorkspaceBusy(DuologueError):
    """Another duologue process holds the workspace lock."""


class CheckFailed(DuologueError):
    """The workspace has problems that must be fixed first."""


class BuildError(DuologueError):
    """The site could not be built: a post or template is unusable, or the output folder is refused."""


class BodyRefused(InvalidInput):
    """A post body the build will not render (it would cost too much to sanitise, or some
    of its text would silently not be shown); the message names the line, not the file."""


class WriteFailed(DuologueError):
    """A file could not be written: the disk is full or the folder is read-only."""


_OS_CAUSES: dict[str, tuple[str, str]] = {
    "ENOSPC": ("the disk is full", "free some space and run the command again"),
    "EDQUOT": ("the disk quota is used up", "free some space and run the command again"),
    "EACCES": ("permission denied", "check the permissions of the file and of its folder"),
    "EPERM": (
        "the operation is not permitted",
        "check the permissions of the file and of its folder",
    ),
    "EROFS": (
        "it is on a read-only file system",
        "run the command in a writable copy, or make that file system writable",
    ),
    "ENAMETOOLONG": ("the name is too long", "choose a shorter name or path"),
    "EISDIR": ("it is a folder, not a file", "move the folder away or choose another name"),
    "ENOTDIR": ("a part of the path is a file, not a folder", "move that file away"),
    "ENOENT": ("it does not exist", "check the path, then run the command again"),
    "EEXIST": ("it exists already", "move it away, then run the command again"),
    "ELOOP": ("it is a loop of symbolic links", "replace the link with a real file or folder"),
    "EMFILE": ("too many files are open", "close other programs and run the command again"),
    "ENFILE": ("too many files are open", "close other programs and run the command again"),
    "EBUSY": ("it is in use", "close the program using it and run the command again"),
    "EIO": ("the disk reported an input/output error", "check the disk, then try again"),
}


def describe_os_error(error: OSError) -> str:
    """What the operating system refused, in words, and what to do about it: for a full
    disk, "the disk is full; free some space and run the command again"."""
    name = errno.errorcode.get(error.errno or 0, "")
    if name in _OS_CAUSES:
        cause, advice = _OS_CAUSES[name]
        return f"{cause}; {advice}"
    reason = error.strerror or str(error) or type(error).__name__
    return f"the system refused it ({reason}); fix that and run the command again"


def os_error_message(error: OSError) -> str:
    """One sentence for an ``OSError`` nothing closer to it turned into a ``DuologueError``:
    the file it names, then ``describe_os_error``."""
    names = [_shown(n) for n in (error.filename, error.filename2) if n is not None]
    where = f"{' → '.join(names)}: " if names else ""
    return f"{where}{describe_os_error(error)}."


def _shown(name: object) -> str:
    return os.fsdecode(name) if isinstance(name, str | bytes) else str(name)
