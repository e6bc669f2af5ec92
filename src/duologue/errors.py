"""Every refusal duologue makes, as a typed exception with a message for a person.

The CLI turns any of these into ``error: <message>`` on stderr and the exit code
the class carries; nothing else in the code prints errors.
"""

from __future__ import annotations


class DuologueError(Exception):
    """Something the user can fix; the message says what and how."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

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
    """One of the user's git hooks refused (exit status not 0); the message holds its output."""


class WorkspaceBusy(DuologueError):
    """Another duologue process holds the workspace lock."""


class CheckFailed(DuologueError):
    """The workspace has problems that must be fixed first."""


class BuildError(DuologueError):
    """The site could not be built: a post or template is unusable, or the output folder is refused."""
