"""Shared helpers for the benchmarks: timing child processes, paths, corpora."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"  # git-ignored: generated corpora, peer sites, outputs


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The measured commands' environment: Python as installed, caching bytecode. Some
sandboxes set PYTHONDONTWRITEBYTECODE, and then every run of an editable install
compiles duologue's modules again (~20-40 ms a command); the warm-up run writes them."""


class CommandFailed(Exception):
    """A measured command exited non-zero (its stderr has been shown)."""


@dataclass
class Sample:
    """Wall-clock seconds and peak RSS (KiB) of each run of one command."""

    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def peak_mib(self) -> float:
        return max(self.peak_kib) / 1024 if self.peak_kib else float("nan")

    @property
    def runs(self) -> int:
        return len(self.seconds)


def run_timed(
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    quiet: bool = True,
    stdin: bytes | None = None,
) -> tuple[float, int]:
    """Run ``command`` once; return (wall seconds, peak RSS in KiB of the child tree).

    ``os.wait4`` gives the rusage of exactly this child (its ``ru_maxrss`` also covers
    any grandchildren it waited for), so every run is measured on its own.
    """
    out = subprocess.DEVNULL if quiet else None
    if env is None:
        env = CHILD_ENV
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=out,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
    )
    assert process.stderr is not None
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)  # a hook's few ref lines: far below the pipe's buffer
        process.stdin.close()
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        message = errors.decode("utf-8", "replace").strip().splitlines()
        sys.stderr.write(errors.decode("utf-8", "replace"))
        raise CommandFailed(
            f"`{' '.join([Path(command[0]).name, *command[1:]])}` exited "
            f"{process.returncode}: {message[-1] if message else 'no message'}"
        )
    return elapsed, int(usage.ru_maxrss)


def measure(
    command: list[str],
    cwd: Path,
    runs: int,
    warmup: int = 1,
    env: dict[str, str] | None = None,
    before: object = None,
) -> Sample:
    """Median-ready samples of ``command``; ``before()`` (if given) runs untimed before each."""
    sample = Sample()
    for i in range(warmup + runs):
        if callable(before):
            before()
        seconds, kib = run_timed(command, cwd, env)
        if i >= warmup:
            sample.seconds.append(seconds)
            sample.peak_kib.append(kib)
    return sample


def measure_rounds(
    jobs: list[tuple[list[str], Path, object]], runs: int, warmup: int = 1
) -> list[Sample]:
    """Like ``measure`` for several ``(command, cwd, before)`` jobs, taking turns round by
    round (A B A B ...), so a change in the machine's other load hits every job alike."""
    samples = [Sample() for _ in jobs]
    for i in range(warmup + runs):
        for (command, cwd, before), sample in zip(jobs, samples, strict=True):
            if callable(before):
                before()
            seconds, kib = run_timed(command, cwd)
            if i >= warmup:
                sample.seconds.append(seconds)
                sample.peak_kib.append(kib)
    return samples


class Trash:
    """Where a "clean" build's previous output goes: moved aside, deleted at the very end.

    Deleting 10,000 files just before a build makes that build pay for it: this
    machine's ext4 has no journal, and its inode allocator then skips every inode freed
    in the last one to six minutes, one check per inode per new file
    (``recently_deleted`` in ``find_inode_bit``, the largest kernel symbol in ``perf``).
    That cost, 2-4 s for either tool, depends on how many runs came before, not on the
    tool. ``delete=True`` keeps the old behaviour (``--clean delete``).
    """

    def __init__(self, delete: bool = False) -> None:
        self.delete = delete
        self.folder = WORK / "trash"
        self.count = 0

    def discard(self, path: Path) -> None:
        if not path.exists() and not path.is_symlink():
            return
        if self.delete or path.is_symlink() or not path.is_dir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path.rename(self.folder / f"{os.getpid()}-{self.count}-{path.name}")

    def empty(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
            EMPTIED.write_text(f"{time.time()}\n")


EMPTIED = WORK / ".trash-emptied"
"""When a run last deleted its moved-aside output (a Unix time): see ``settle``."""


def settle(seconds: float) -> None:
    """Wait until ``seconds`` have passed since a run last emptied its trash.

    The file system pays for that delete in every file created for the next few minutes
    (``Trash``): a run started right after another one's end timed duologue's full
    build at 3.6-3.7 s, against 2.2-3.0 s in runs that started later, while its no-op
    rebuilds, which create no files, did not change.
    """
    try:
        emptied = float(EMPTIED.read_text())
    except (OSError, ValueError):
        return
    wait = emptied + seconds - time.time()
    if wait > 0:
        print(
            f"waiting {wait:.0f} s: the last run deleted its moved-aside output "
            f"{seconds - wait:.0f} s ago, and files created soon after a mass delete are "
            "slower (--settle 0 skips this)",
            file=sys.stderr,
        )
        time.sleep(wait)


def venv_tool(name: str) -> str:
    """A console script next to this interpreter (the venv's), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"`{name}` is not installed; see bench/README.md")
    return found


def ensure_corpus(path: Path, series: int, posts: int, words: int = 1000) -> Path:
    """Generate the corpus at ``path`` unless a matching one is already there."""
    stamp = path / ".git" / "bench-corpus"
    wanted = f"{series}x{posts}x{words}"
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return path
    print(f"generating {series} series x {posts} posts in {path} ...", file=sys.stderr)
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "make_corpus.py"),
            str(path),
            "--series",
            str(series),
            "--posts",
            str(posts),
            "--words",
            str(words),
        ],
        check=True,
    )
    stamp.write_text(wanted + "\n")
    return path


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def revision() -> str:
    """The duologue checkout measured: short commit, ``-dirty`` when src/ has local edits."""
    result = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:  # `describe -- paths` needs a newer git: fall back
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    return result.stdout.strip()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _children_of(root: int) -> set[int]:
    """``root`` and every live descendant (scanning /proc: no /proc/PID/task/*/children here)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_peak_pss(command: list[str], cwd: Path, interval: float = 0.05) -> float:
    """Run ``command`` once, sampling the summed PSS of its whole process tree; peak in MiB.

    PSS shares copy-on-write pages fairly between forked workers, so the sum is what
    the tree really holds (``ru_maxrss`` only sees the largest single process).
    The sampling costs CPU, so this is a separate, untimed run.
    """
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_kib(pid) for pid in _children_of(process.pid)))
        time.sleep(interval)
    if process.returncode != 0:
        errors = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        raise CommandFailed(f"`{' '.join(command)}` exited {process.returncode}: {errors}")
    return peak / 1024
