"""Phase 4, write: the only code that touches the output folder.

Every file is written atomically (a temporary file in the same folder, then a
rename), and only when its bytes differ from what is there, so a rebuild that
changes nothing rewrites nothing and a reader never sees half a page. A writer for
a *new* folder (``new_folder``: a first build's staging folder, which nobody reads
until the build renames it into place, see ``duologue.site.build``) creates each
file under its own name straight away: no comparison, no temporary name, half the
system calls.

Unlike ``duologue.files.write_atomic`` this does not fsync each file: the output
is rebuilt from the workspace at will, and an fsync per file made a 10,000-post
build four times slower (0.54 ms against 0.14 ms a file on the project machine).
The rename still makes each replacement all-or-nothing for readers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from duologue.errors import BuildError, describe_os_error

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW

Stamp = tuple[int, int, int]
"""``(size, mtime_ns, inode)`` of a written file: a later build sees if someone touched it."""


def stamp_of(info: os.stat_result) -> Stamp:
    """The stamp of a file from its ``stat``."""
    return (info.st_size, info.st_mtime_ns, info.st_ino)


class Writer:
    """Writes files under one output folder and counts what it did."""

    def __init__(self, out_dir: Path, *, new_folder: bool = False) -> None:
        self.out_dir = out_dir
        self.new_folder = new_folder
        """``out_dir`` was made empty for this build and nobody reads it yet."""
        self.written = 0
        self.unchanged = 0
        self.removed = 0
        self.stamps: dict[str, Stamp] = {}
        """Relative path → stamp of every file this build wrote or found identical."""
        self._made_dirs: set[str] = set()
        self._prefix = f"{out_dir}{os.sep}"

    def _target(self, relpath: str) -> str:
        """The file's path, as a string: pathlib cost more than creating a small file."""
        # Output paths are built from validated slugs; refuse anything else loudly.
        if relpath.startswith("/") or "\\" in relpath or ".." in relpath.split("/"):
            raise BuildError(f"refusing to write {relpath!r} outside the output folder.")
        return self._prefix + relpath

    def write(self, relpath: str, data: bytes) -> bool:
        """Put ``data`` at ``relpath``; False when the file already held exactly these bytes."""
        path = self._target(relpath)
        if self.new_folder:
            stamp = self._create(path, data)
            if stamp is not None:
                self.stamps[relpath] = stamp
                self.written += 1
                return True
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            same = False
        except OSError as error:
            if error.errno != errno.ELOOP:  # a symlink is replaced, never followed
                raise BuildError(f"{path}: cannot be read: {describe_os_error(error)}.") from None
            same = False
        else:
            try:
                info = os.fstat(fd)
                same = info.st_size == len(data) and os.read(fd, len(data) + 1) == data
            except IsADirectoryError:
                same = False
            except OSError as error:
                raise BuildError(f"{path}: cannot be read: {describe_os_error(error)}.") from None
            finally:
                os.close(fd)
            if same:
                self.unchanged += 1
                self.stamps[relpath] = stamp_of(info)
                return False
        self.stamps[relpath] = self._replace(path, data)
        self.written += 1
        return True

    def keep(self, relpath: str, stamp: Stamp) -> None:
        """A file this build did not need to render again."""
        self.unchanged += 1
        self.stamps[relpath] = stamp

    def kept(self, relpath: str, stamp: Stamp) -> bool:
        """Keep the file at ``relpath`` if it is as ``stamp`` says the last build left it
        (nobody touched it); False if it must be written again."""
        if not holds(self._prefix + relpath, stamp):
            return False
        self.keep(relpath, stamp)
        return True

    def remove(self, relpath: str) -> None:
        """Remove a file an earlier build wrote that this build no longer makes."""
        path = self._target(relpath)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except IsADirectoryError:
            return
        self.removed += 1
        with contextlib.suppress(OSError):  # only succeeds on an empty folder
            os.rmdir(os.path.dirname(path))

    def _folder(self, folder: str) -> None:
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)

    def _create(self, path: str, data: bytes) -> Stamp | None:
        """Create ``path`` with ``data`` in a new folder; None if it exists already (a
        file written twice in one build: replaced the usual way)."""
        try:
            self._folder(os.path.dirname(path))
            try:
                fd = os.open(path, _CREATE, 0o644)
            except FileExistsError:
                return None
            try:
                _write_all(fd, data)
                info = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise BuildError(f"{path}: cannot be written: {describe_os_error(error)}.") from None
        return stamp_of(info)

    def _replace(self, path: str, data: bytes) -> Stamp:
        """Write a temporary file next to ``path`` and rename it over; the new file's stamp."""
        folder, _sep, name = path.rpartition(os.sep)
        try:
            self._folder(folder)
            temp = f"{folder}{os.sep}.{name}.{os.getpid()}.tmp"
            # The open is inside the cleanup: a signal is handled as soon as os.open
            # returns, before ``fd`` is even assigned, and its exception (a stopped
            # worker's KeyboardInterrupt) must not leave the new file behind.
            try:
                try:
                    fd = os.open(temp, _CREATE, 0o644)
                except FileExistsError:  # left over from a killed build with our pid
                    os.unlink(temp)
                    fd = os.open(temp, _CREATE, 0o644)
                try:
                    _write_all(fd, data)
                    info = os.fstat(fd)  # rename keeps size, mtime and inode
                finally:
                    os.close(fd)
                os.rename(temp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
                raise
        except OSError as error:
            raise BuildError(f"{path}: cannot be written: {describe_os_error(error)}.") from None
        return stamp_of(info)


def holds(path: str, stamp: Stamp) -> bool:
    """The output file at ``path`` is as ``stamp`` says a build left it."""
    try:
        info = os.lstat(path)  # a plain string: pathlib costs more than the stat
    except OSError:
        return False
    return stamp_of(info) == stamp


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)  # all of it, nearly always
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


@contextlib.contextmanager
def staged_folder(out_dir: Path) -> Iterator[tuple[Path, bool]]:
    """Where a build writes: ``(folder, new_folder)``.

    A first build (no output folder yet) writes into a hidden sibling folder that is
    renamed to ``out_dir`` once everything is written: nobody ever sees half a site,
    and its files need no temporary names (``Writer(new_folder=True)``). If the build
    fails, the sibling is removed and no output folder appears. Any other build writes
    in place, one atomic file at a time (``remove_abandoned`` clears what a killed build
    left).
    """
    if os.path.lexists(out_dir):
        yield out_dir, False
        return
    staging = out_dir.with_name(f"{_STAGING_PREFIX.format(out_dir.name)}{os.getpid()}")
    try:
        staging.mkdir(parents=True)
    except OSError:  # no room for a sibling (a read-only parent, a name clash): in place
        yield out_dir, False
        return
    try:
        yield staging, True
        try:
            os.rename(staging, out_dir)
        except OSError as error:
            raise BuildError(
                f"{out_dir}: cannot put the built site there ({error.strerror}); "
                "was the folder made during the build? Run `duologue build` again."
            ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


_STAGING_PREFIX = ".{}.building-"


def remove_abandoned(out_dir: Path) -> None:
    """Remove the staging folders of ``out_dir`` that builds killed midway left behind
    (their process is gone); every build does this first, a no-op too (one listing)."""
    prefix = _STAGING_PREFIX.format(out_dir.name)
    try:
        siblings = [p for p in out_dir.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for sibling in siblings:
        pid = sibling.name[len(prefix) :]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True
