"""git's failures as sentences for people: the one place git's stderr is read.

Every git command duologue runs reports failure through here, so a full disk, a stale
``index.lock``, a read-only clone, a refused signature or a branch that moved underneath
reads the same whichever command met it; and remote URLs whose transport could run
commands are refused before git sees them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from git.exc import GitCommandError

from duologue.errors import GitFailure

SCP_STYLE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)")


def check_remote_url(url: str, remote: str) -> None:
    """Refuse transports that run commands or read odd places (``ext::``, ``fd::``, ``-opt``)."""
    candidate = url.strip()
    if not candidate or candidate.startswith("-"):
        raise GitFailure(
            f"remote {remote!r} has URL {url!r}, which git could read as an option; refusing."
        )
    lowered = candidate.lower()
    if lowered.startswith(("https://", "ssh://", "file://")):
        return
    if "::" in candidate or re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        raise GitFailure(
            f"remote {remote!r} has URL {url!r}, whose transport duologue does not allow; "
            "use an https://, ssh:// or user@host:path URL, or a local path."
        )
    if (
        SCP_STYLE.match(candidate)
        or candidate.startswith(("/", "./", "../", "~"))
        or ":" not in candidate
    ):
        return
    raise GitFailure(
        f"remote {remote!r} has URL {url!r}, which is not an https, ssh, user@host:path or "
        "local-path URL; fix it with `git remote set-url`."
    )


def first_line_of(error: GitCommandError) -> str:
    stderr = error.stderr if isinstance(error.stderr, str) else str(error.stderr or "")
    lines = [
        line.strip().removeprefix("stderr:").strip().strip("'").strip()
        for line in stderr.splitlines()
    ]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    return lines[0] if lines else f"git exited with status {error.status}"


LOCK_EXISTS = re.compile(r"unable to create '(?P<lock>[^']+\.lock)': file exists", re.I)
REF_MOVED = re.compile(
    r"is at [0-9a-f]{7,} but expected|reference already exists|unable to resolve reference", re.I
)
DISK_FULL = (
    "no space left on device",
    "disk quota exceeded",
    "insufficient space",
    "out of diskspace",
)
READ_ONLY = ("read-only file system",)
NO_PERMISSION = ("permission denied", "insufficient permission", "operation not permitted")
SIGNING = ("gpg", "sign", "failed to write commit object")
BRANCH_MOVED = (
    "the branch moved while duologue was working (another git or duologue process?); "
    "nothing was changed. Try again."
)


def stderr_text(error: GitCommandError) -> str:
    raw = error.stderr if isinstance(error.stderr, str) else str(error.stderr or "")
    return raw.strip().removeprefix("stderr:").strip().strip("'")


def _line_with(text: str, needles: tuple[str, ...]) -> str:
    """The first line of git's message holding one of ``needles``, without its prefix."""
    for line in text.splitlines():
        if any(needle in line.lower() for needle in needles):
            return re.sub(r"^(error|fatal):\s*", "", line.strip().strip("'"))
    return text.splitlines()[0] if text else ""


def local_cause(stderr: str, doing: str) -> str | None:
    """The sentence for a failure whose cause is here, not in what git was asked: a lock
    left behind, a full or read-only disk, a permission; None for any other."""
    lowered = stderr.lower()
    lock = LOCK_EXISTS.search(stderr)
    if lock:
        return (
            f"git could not {doing}: {lock['lock']} exists, so another git process is running "
            f"here or one crashed and left a stale lock; if no git is running, remove "
            f"{lock['lock']}, then try again."
        )
    if any(needle in lowered for needle in DISK_FULL):
        return (
            f"git could not {doing}: the disk is full ({_line_with(stderr, DISK_FULL)}); free "
            "some space, then try again."
        )
    if any(needle in lowered for needle in READ_ONLY):
        return (
            f"git could not {doing}: the repository is on a read-only file system "
            f"({_line_with(stderr, READ_ONLY)}); make it writable, then try again."
        )
    if any(needle in lowered for needle in NO_PERMISSION):
        return (
            f"git could not {doing}: permission denied ({_line_with(stderr, NO_PERMISSION)}); "
            "make the repository's .git folder writable for you, then try again."
        )
    return None


def remote_failure(error: GitCommandError | str, remote: str, doing: str) -> str:
    """The sentence for a fetch or push that failed: a local cause as ``local_cause``
    says it; else the remote's own words (without git's ``fatal:``) and what to check."""
    text = error if isinstance(error, str) else stderr_text(error)
    local = local_cause(text, f"{doing} {remote!r}")
    if local:
        return local
    said = _line_with(text, ("error", "fatal")) or "git failed"
    return (
        f"could not {doing} {remote!r}: {said.rstrip('.')}. Check its URL with "
        f"`git remote -v` (fix it with `git remote set-url {remote} <url>`) and that you can "
        "reach it, then try again."
    )


def classify_git_stderr(
    stderr: str, doing: str, *, ref_update: bool = False, signing: bool = False
) -> str:
    """The one place git's own failure text becomes a sentence saying the real cause and
    what to do. ``doing`` completes "git could not …"; ``ref_update``: the command was a
    compare-and-swap of a branch, so a ref that moved means another process got there;
    ``signing``: the command was asked to sign."""
    lowered = stderr.lower()
    local = local_cause(stderr, doing)
    if local:
        return local
    if signing and any(needle in lowered for needle in SIGNING):
        return (
            f"git could not {doing}: signing failed ({_line_with(stderr, SIGNING)}), and "
            "commit.gpgSign asks for signed commits; check that `git config user.signingkey` "
            "names a key gpg can use without a prompt here (`echo test | gpg --clearsign`), "
            "or turn commit.gpgSign off for this repository, then try again."
        )
    if ref_update and REF_MOVED.search(stderr):
        return BRANCH_MOVED
    first = _line_with(stderr, ("error", "fatal")) or "git failed"
    return f"git could not {doing}: {first.rstrip('.')}."


def git_failure(
    error: GitCommandError, doing: str, *, ref_update: bool = False, signing: bool = False
) -> GitFailure:
    """``classify_git_stderr`` of a failed git command, as the error duologue raises."""
    text = stderr_text(error)
    return GitFailure(classify_git_stderr(text, doing, ref_update=ref_update, signing=signing))


@contextmanager
def explained(doing: str, *, ref_update: bool = False, signing: bool = False) -> Iterator[None]:
    """Turn a git failure (or a file-system one while writing objects in-process) into a
    ``GitFailure`` naming the real cause."""
    from duologue.errors import os_error_message

    try:
        yield
    except GitCommandError as error:
        raise git_failure(error, doing, ref_update=ref_update, signing=signing) from None
    except OSError as error:
        raise GitFailure(f"git could not {doing}: {os_error_message(error)}") from None


HOOK_OUTPUT_LINES = 40
HOOK_OUTPUT_CHARS = 4000


def hook_output_text(output: str) -> str:
    """A hook's output for a message: control characters shown as ``?``, at most 40 lines."""
    cleaned = "".join(
        ch if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127) else "?"
        for ch in output[:HOOK_OUTPUT_CHARS]
    )
    lines = [line.rstrip() for line in cleaned.strip("\n").splitlines()]
    if len(lines) > HOOK_OUTPUT_LINES:
        lines = [*lines[:HOOK_OUTPUT_LINES], "…"]
    return "\n".join(f"  {line}" for line in lines)
