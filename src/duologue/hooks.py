"""``duologue hooks install``: verify as a clone's ``pre-push`` hook, or as a bare shared
repository's ``pre-receive`` hook, so a bad push is refused for everyone.

A hook is a small shell script that runs this Python's duologue (the interpreter that
installed it, so it works without duologue on ``PATH``: a server's git runs hooks with
its own environment). An existing hook that duologue did not write is never replaced
unless asked, and then it is kept beside the new one.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from duologue.errors import GitFailure, InvalidInput
from duologue.files import write_atomic

MARKER = "# duologue-verify hook"
"""The line that tells a hook duologue wrote from any other."""
KEPT_SUFFIX = ".before-duologue"


@dataclass(frozen=True, slots=True)
class Installed:
    path: Path
    kept: Path | None
    """Where a hook that was there before now lies, if one was replaced."""
    replaced_own: bool


def hook_script(mode: str, prefix: str) -> str:
    """The hook's text: verify in ``mode`` on what git hands the hook."""
    python = shlex.quote(sys.executable)
    where = f" --prefix {shlex.quote(prefix)}" if prefix else ""
    return (
        "#!/bin/sh\n"
        f"{MARKER} (written by `duologue hooks install`; run it again to update this file)\n"
        f"exec {python} -m duologue verify --hook {mode}{where}\n"
    )


def install(hooks_dir: Path, name: str, mode: str, prefix: str, *, replace: bool) -> Installed:
    """Write hook ``name`` in ``hooks_dir``; refuse to overwrite a foreign hook unless
    ``replace``, which keeps it as ``<name>.before-duologue``."""
    if hooks_dir.is_symlink() or (hooks_dir.exists() and not hooks_dir.is_dir()):
        raise GitFailure(f"{hooks_dir} is not a folder; fix core.hooksPath or the hooks folder.")
    hooks_dir.mkdir(parents=True, exist_ok=True)
    path = hooks_dir / name
    kept: Path | None = None
    own = False
    if path.exists() or path.is_symlink():
        own = _is_ours(path)
        if not own:
            if not replace:
                raise InvalidInput(
                    f"{path} exists and was not written by duologue; nothing was changed. "
                    f"Add the line `{sys.executable} -m duologue verify --hook {mode}` to "
                    "it yourself, or run again with --replace to keep it as "
                    f"{name}{KEPT_SUFFIX} and install duologue's."
                )
            kept = path.with_name(name + KEPT_SUFFIX)
            if kept.exists() or kept.is_symlink():
                raise InvalidInput(
                    f"{kept} exists already; move it away before replacing {path} again."
                )
            os.replace(path, kept)
    write_atomic(path, hook_script(mode, prefix).encode("utf-8"))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return Installed(path, kept, own)


def _is_ours(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return MARKER.encode() in head


def bare_hooks_dir(server: Path) -> Path:
    """The hooks folder of the bare repository at ``server``."""
    from duologue.git.history import History

    if not server.is_dir():
        raise InvalidInput(
            f"{server} is not a folder; --server names the shared bare repository "
            "(like /srv/git/letters.git)."
        )
    history = History(server)
    try:
        if not history.bare:
            raise InvalidInput(
                f"{server} is not a bare repository; --server names the shared remote's "
                "folder (like /srv/git/letters.git). In a clone, leave --server out."
            )
        configured = history.run("config", "--default", "", "--get", "core.hooksPath").strip()
        return (
            Path(configured)
            if configured and Path(configured).is_absolute()
            else (history.git_dir / (configured or "hooks"))
        )
    finally:
        history.close()


def clone_hooks_dir(root: Path) -> Path:
    """The hooks folder of the clone holding ``root`` (``core.hooksPath`` respected)."""
    from duologue.git.history import History

    history = History(root)
    try:
        if history.top is None:
            raise InvalidInput(
                f"{root} is a bare repository; install its hook with --server {root}."
            )
        path = history.run("rev-parse", "--git-path", "hooks").strip()
        found = Path(path)
        return found if found.is_absolute() else history.top / found
    finally:
        history.close()
