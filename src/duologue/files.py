"""Reading and writing files safely: regular files inside the workspace only,
UTF-8 only, bounded in size, and every write atomic (temp file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path

from duologue.errors import InvalidInput
from duologue.faults import fault_point

MAX_TEXT_BYTES = 8 * 1024 * 1024
"""A post or settings file larger than this is refused rather than read."""


def relative(path: Path, root: Path) -> str:
    """``path`` as the user sees it in messages: relative to the workspace, ``/``-separated."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path`` (resolved, links followed) lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def read_text(path: Path, root: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file inside ``root``; never follows a symlink."""
    shown = relative(path, root)
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise InvalidInput(f"{shown}: no such file.") from None
    except OSError as error:
        raise InvalidInput(f"{shown}: cannot be read ({error.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(
            f"{shown}: is not a regular file (a link or folder); duologue reads only regular files."
        )
    if not is_inside(path, root):
        raise InvalidInput(f"{shown}: lies outside the workspace; duologue will not read it.")
    if info.st_size > limit:
        raise InvalidInput(
            f"{shown}: is {info.st_size:,} bytes, more than the {limit:,} duologue reads; "
            "split it or trim it."
        )
    return read_regular_file(path, shown, limit)


def read_regular_file(path: Path, shown: str, limit: int = MAX_TEXT_BYTES) -> str:
    """Open without following a link, insist on a regular file, read at most ``limit``
    bytes as UTF-8. ``read_text`` adds the workspace checks; the build calls this directly
    for paths its own scan found inside the workspace."""
    # O_NOFOLLOW also closes the gap between a caller's lstat and this open.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise InvalidInput(f"{shown}: cannot be read ({error.strerror}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(
                f"{shown}: is not a regular file; duologue reads only regular files."
            )
        data = _read_at_most(fd, info.st_size, limit + 1)
    finally:
        os.close(fd)
    return decode_text(data, shown, limit)


def _read_at_most(fd: int, expected: int, most: int) -> bytes:
    """Up to ``most`` bytes of ``fd``, asking first for the ``expected`` size plus one.

    Not ``read(most)``: a buffer of ``most`` (8 MiB) for every 7 KB post, allocated and
    shrunk again, made reading a post five times slower than parsing its front matter.
    """
    parts: list[bytes] = []
    total = 0
    want = min(expected + 1, most)
    while total < most:
        chunk = os.read(fd, want)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        # Until a read says the end (a short read may also be a signal's doing): at most
        # 64 KiB a read, as Python allocates the whole request first, and asking 1 MiB to
        # learn of the end cost every post an mmap and a munmap.
        want = min(most - total, 1 << 16)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode_text(data: bytes, shown: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``data`` (read with ``limit + 1`` bytes at most) as UTF-8, or a sentence naming the file."""
    if len(data) > limit:
        raise InvalidInput(f"{shown}: is larger than the {limit:,} bytes duologue reads.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInput(
            f"{shown}: is not UTF-8 (bad byte on line {line}); save it as UTF-8."
        ) from None


TEMP_SUFFIX = ".tmp"
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.duologue-(?P<pid>[0-9]+)-[A-Za-z0-9_]+\.tmp$")
"""A temporary file duologue writes before a rename or link: ``.<target>.duologue-<pid>-<random>.tmp``.
The pid says whether the process that made it is still alive (see ``sweep_temp_files``)."""
LEGACY_TEMP = re.compile(r"^\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp$")
"""The same before the name carried the ``duologue-<pid>`` mark (``.<target>.<random>.tmp``)."""


def temp_prefix(name: str) -> str:
    return f".{name}.duologue-{os.getpid()}-"


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_temp_files(folder: Path, legacy_targets: frozenset[str] = frozenset()) -> list[Path]:
    """Remove the temporary files in ``folder`` that duologue processes no longer alive left
    behind (killed between writing a temp file and renaming it); returns what was removed.
    ``legacy_targets``: file names whose old-style temp files (no pid in the name) are
    known to be duologue's too, because a journal names them."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed: list[Path] = []
    for name in names:
        if not name.endswith(TEMP_SUFFIX):
            continue
        match = TEMP_NAME.match(name)
        if match:
            stale = int(match["pid"]) != os.getpid() and not process_alive(int(match["pid"]))
        else:
            legacy = LEGACY_TEMP.match(name)
            stale = legacy is not None and legacy["target"] in legacy_targets
        if stale:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` naming ``path`` when it names no file (a write() that found the disk full)."""
    if error.filename is not None:
        return error
    return OSError(error.errno, error.strerror, str(path))


def _written_temp(path: Path, payload: bytes, durable: bool = True) -> str:
    """A fully written temporary file beside ``path`` (fsynced when ``durable``); returns
    its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # only here: most commands never write a file this way

    try:
        fd, temp_name = tempfile.mkstemp(
            dir=path.parent, prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX
        )
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise
    return temp_name


def write_atomic(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new, never half;
    the temporary file never outlives a failure (a full disk, Ctrl-C), and one a killed
    process left is removed by ``sweep_temp_files``. ``durable=False`` skips the fsync,
    for files whose loss costs only time (the build cache). The build's output files
    are written by ``duologue.site.writer`` instead: 10,000 of them, each with its stamp
    taken from the open file, and a first build's without temporary names at all."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temp_name = _written_temp(path, payload, durable)
    try:
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def create_exclusive(path: Path, data: str) -> None:
    """Write a new file atomically, refusing to replace one that exists."""
    temp_name = _written_temp(path, data.encode("utf-8"))
    try:
        fault_point("after-temp-file")
        # link() fails if the target exists, unlike rename(): no silent overwrite.
        os.link(temp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)


def unix_newlines(text: str) -> str:
    r"""``text`` with ``\r\n`` and ``\r`` line ends as ``\n`` (a quick look first: most
    files have none, and two replaces over a 7 KB post cost more than parsing its front
    matter's dates)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
