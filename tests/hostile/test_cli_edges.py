"""How the real CLI ends when a person stops it or the machine refuses: Ctrl-C at any
moment, a reader that closes the pipe early, settings that are out of range or hostile,
and the operating system saying no (a full disk, a read-only folder, a name too long).

The tests run the installed ``duologue`` program in a subprocess: signals are really
sent, pipes really closed, a real tmpfs really fills up. Only the settings tests run the
Typer app in-process, as reading settings is the same for every command.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duologue.cli import app
from tests.cli.workspaces import (
    commit_all,
    make_workspace,
    sample_workspace,
    series_text,
    write_series,
    write_thread,
)
from tests.helpers import children, left_behind, run_duologue, still_running
from tests.site.workspace import output_files

SCRIPT = Path(sys.executable).with_name("duologue")
"""The console script pip made: what a person runs (its launcher, then duologue.cli.main)."""


def command(*args: str) -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-m", "duologue", *args]


def environment(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(extra)
    return env


def copy_of(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(template, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Workspaces made once for this module (copied by each test that changes one):
    ``long``, one series of 2,500 posts (its ``log`` is far more than a pipe holds);
    ``pair``, two series of 300 posts (a first build forks a worker per series);
    ``uneven``, series of 800 and of 20 posts, which a rebuild renders in a worker each,
    so that one worker soon waits idle while the other still renders."""
    base = tmp_path_factory.mktemp("templates")
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    made: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        layouts = {
            "long": {"slow-work": 2500},
            "pair": {"one": 300, "two": 300},
            "uneven": {"long": 800, "short": 20},
        }
        for name, layout in layouts.items():
            root = make_workspace(base / name, commit=False)
            for slug, count in layout.items():
                write_series(root, slug)
                write_thread(root, slug, count)
            commit_all(root, name)
            made[name] = root
    return made


# --- Ctrl-C -------------------------------------------------------------------------------








class Started:
    """A duologue process in its own session (a terminal's Ctrl-C reaches its whole
    process group: ``interrupt`` sends SIGINT the same way), its stderr read as it comes."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.marker = threading.Event()
        self.process = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=env or environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        imported_cli = False
        for line in self.process.stderr:
            self.lines.append(line)
            if imported_cli and line.startswith("import time:"):
                self.marker.set()
            # With PYTHONPROFILEIMPORTTIME set, Python writes a line as each import ends.
            # The first after duologue.cli's comes from an import the command makes.
            imported_cli = imported_cli or line.rstrip().endswith("| duologue.cli")

    def interrupt(self, *, group: bool = True) -> None:
        (os.killpg if group else os.kill)(self.process.pid, signal.SIGINT)

    def finish(self) -> tuple[int, str]:
        """Exit code and stderr, without Python's own import-time lines."""
        code = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        text = "".join(line for line in self.lines if not line.startswith("import time:"))
        return code, text


@pytest.mark.parametrize(
    "args",
    [("log", "one"), ("build",), ("build", "--out", "site")],
    ids=["typer-log", "quick-build", "typer-build"],
)
def test_ctrl_c_while_starting_up_gives_one_line_and_exit_130(
    templates: dict[str, Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Ctrl-C while the command imports what it needs (Typer, the build) and early in its
    work, at several moments from the first import the command itself makes: exactly
    ``error: interrupted.``, exit 130, nothing half built. Python's own
    ``PYTHONPROFILEIMPORTTIME`` lines tell where the process is; what Python does before
    duologue's code runs is Python's (see the README)."""
    root = copy_of(templates["pair"], tmp_path)
    whole = copy_of(templates["pair"], tmp_path / "whole")
    assert run_duologue(whole, *args).returncode == 0
    env = environment(PYTHONPROFILEIMPORTTIME="1", DUOLOGUE_AUTHOR="ana")
    for delay in (0.0, 0.02, 0.05, 0.1):
        run = Started(root, *args, env=env)
        assert run.marker.wait(30), "".join(run.lines)
        time.sleep(delay)
        run.interrupt()
        code, stderr = run.finish()
        assert "Traceback" not in stderr, f"at {delay} s:\n{stderr}"
        assert (code, stderr) == (130, "error: interrupted.\n"), f"at {delay} s"
        for out in ("public", "site"):
            # No output folder, or (Ctrl-C once the whole site was renamed into place,
            # while the cache was saved) the whole site.
            if (root / out).exists():
                assert output_files(root / out) == output_files(whole / out), f"at {delay} s"
                shutil.rmtree(root / out)
        assert left_behind(root) == []


def wait_for_workers(run: Started) -> list[int]:
    deadline = time.monotonic() + 60
    while len(children(run.process.pid)) < 2:
        assert run.process.poll() is None, "the build ended before it forked its workers"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    return children(run.process.pid)


@pytest.mark.parametrize(
    ("first_build", "group"),
    [(False, True), (False, False), (True, True)],
    ids=["rebuild-ctrl-c", "rebuild-kill-int-parent", "first-build-ctrl-c"],
)
def test_ctrl_c_while_build_workers_run_stops_them_and_reports_once(
    templates: dict[str, Path], tmp_path: Path, first_build: bool, group: bool
) -> None:
    """The site's title changed, so every page is rendered again, each series in a worker
    process; the short series' worker is soon idle. Ctrl-C then, to the whole process
    group as a terminal sends it, or ``kill -INT`` to the parent alone: one
    ``error: interrupted.`` and exit 130 (no traceback from a worker), the build stops
    (pages not rendered yet stay as they were), every worker is gone, no temporary or
    staging file stays, every page is whole, and the next build completes the site. A
    first build (no output folder yet) leaves no output folder at all."""
    root = copy_of(templates["uneven"], tmp_path)
    # Built once here first: the parsed posts are cached (for this folder), so the build
    # below forks only to render, a worker per series.
    warm = run_duologue(root, "build")
    assert warm.returncode == 0, warm.stderr
    if first_build:
        shutil.rmtree(root / "public")  # the parsed posts stay cached: rendering forks
    settings = root / "duologue.toml"
    settings.write_text(settings.read_text().replace("Test dialogues", "Renamed"))
    run = Started(root, "build")
    workers = wait_for_workers(run)
    time.sleep(0.05)  # the short series is soon done: its worker idles
    assert run.process.poll() is None, "the build ended before Ctrl-C"
    run.interrupt(group=group)
    code, stderr = run.finish()
    assert (code, stderr) == (130, "error: interrupted.\n")
    assert [pid for pid in workers if still_running(pid)] == []
    assert left_behind(root) == []
    pages = sorted((root / "public" / "long").glob("[0-9][0-9][0-9][0-9]-*.html"))
    if first_build:
        assert not (root / "public").exists()
    else:
        texts = [page.read_text() for page in pages]
        assert all(text.rstrip().endswith("</html>") for text in texts)
        assert any("Renamed" not in text for text in texts), "the build did not stop"
    again = run_duologue(root, "build")
    assert again.returncode == 0, again.stderr
    pages = sorted((root / "public" / "long").glob("[0-9][0-9][0-9][0-9]-*.html"))
    assert len(pages) == 800 and all("Renamed" in page.read_text() for page in pages)


# --- A reader that stops reading -----------------------------------------------------------


def run_into_closed_pipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run duologue with stdout a pipe whose reader has already gone: its first write
    meets a closed pipe, as ``duologue log s | head -1`` does once head has its line."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            command(*args),
            cwd=cwd,
            env=environment(DUOLOGUE_AUTHOR="ana"),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("log", "slow-work"),
        ("log", "slow-work", "--json"),
        ("status", "--json"),
        ("status",),
        ("check",),
        ("build",),
        ("build", "--out", "site"),
    ],
    ids=["log", "log-json", "status-json", "status", "check", "quick-build", "typer-build"],
)
def test_a_closed_pipe_ends_quietly_with_exit_141(
    templates: dict[str, Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """No error text at all (nobody asked for the rest), exit 141 as git's and cat's in
    the same pipeline (128 + SIGPIPE), the same through Typer and the quick build."""
    root = copy_of(templates["pair"], tmp_path) if args[0] == "build" else templates["long"]
    result = run_into_closed_pipe(root, *args)
    assert result.stderr == ""
    assert result.returncode == 141


def test_log_piped_into_head_in_a_shell(templates: dict[str, Path], tmp_path: Path) -> None:
    """The shell pipeline itself: head prints the first line and leaves, duologue stops
    quietly (its log of 2,500 posts is far more than the pipe holds)."""
    errors = tmp_path / "stderr"
    script = (
        f"{' '.join(command())} log slow-work 2>{errors} | head -1; "
        f'echo "status=${{PIPESTATUS[0]}}"'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=templates["long"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    first, status = result.stdout.splitlines()
    assert first.startswith("#1 ") and "Letter 1" in first
    assert errors.read_text() == ""
    assert status == "status=141"


# --- Settings: numbers in range, time zones that are IANA keys ------------------------------


def in_process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The Typer app run here, from ``root`` (settings are read the same way by every
    command; a subprocess per value would only make these tests slow)."""
    with contextlib.chdir(root):
        result = CliRunner().invoke(app, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def refusal(root: Path, *args: str) -> str:
    result = in_process(root, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "unexpectedly" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("error: "), result.stderr
    return result.stderr


@pytest.mark.parametrize("value", ["99999999999", "3651"])
def test_reply_within_days_beyond_ten_years_is_refused(tmp_path: Path, value: str) -> None:
    """It used to pass ``check`` and then crash ``status`` (OverflowError adding a
    timedelta): now both name series.toml and the field."""
    root = sample_workspace(tmp_path / "ws", posts=2)
    path = root / "series" / "slow-work" / "series.toml"
    path.write_text(f"reply_within_days = {value}\n" + series_text("slow-work"))
    message = refusal(root, "status")
    assert message.startswith(
        "error: series/slow-work/series.toml: `reply_within_days` must be a whole number "
        f"from 1 to 3650, not {value}."
    )
    check = in_process(root, "check")
    assert check.returncode == 1
    assert "series/slow-work/series.toml: error: `reply_within_days` must be" in check.stdout
    for fine in ("3650", "1"):
        path.write_text(f"reply_within_days = {fine}\n" + series_text("slow-work"))
        assert in_process(root, "status").returncode == 0


@pytest.mark.parametrize("value", ["1001", "100000000000000000000", "9223372036854775807"])
def test_feed_limit_beyond_a_thousand_is_refused(tmp_path: Path, value: str) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    settings = root / "duologue.toml"
    settings.write_text(settings.read_text().replace("feed_limit = 50", f"feed_limit = {value}"))
    for args in (("status",), ("build",), ("build", "--out", "site")):
        message = refusal(root, *args)
        assert message == (
            "error: duologue.toml: `feed_limit` must be a whole number from 1 to 1000, "
            f"not {value}.\n"
        )
    settings.write_text(settings.read_text().replace(f"feed_limit = {value}", "feed_limit = 1000"))
    assert in_process(root, "build").returncode == 0


def test_a_number_too_long_for_python_is_a_config_error(tmp_path: Path) -> None:
    """tomllib refuses integers of more than 4,300 digits with a ValueError, not its
    TOMLDecodeError: that escaped as "failed unexpectedly"."""
    root = sample_workspace(tmp_path / "ws", posts=1)
    settings = root / "duologue.toml"
    settings.write_text(
        settings.read_text().replace("feed_limit = 50", "feed_limit = " + "9" * 5000)
    )
    assert refusal(root, "status") == (
        "error: duologue.toml: holds a number of more than 4,300 digits; shorten it.\n"
    )
    check = in_process(root, "check")
    assert check.returncode == 1
    assert "duologue.toml: error: holds a number of more than 4,300 digits" in check.stdout


HOSTILE_ZONES = [
    "../../etc/passwd",
    "/etc/localtime",
    "",
    "Europe",  # a folder of the zone database: IsADirectoryError escaped
    "A" * 300,  # ENAMETOOLONG escaped
    "Europe/Lisbon/" + "x" * 5000,
    "localtime",  # the machine's own zone, not a key: builds would differ by machine
    "posixrules",
    "posix/Europe/Lisbon",
    "right/UTC",
    "zone.tab",
    "Europe/../Europe/Lisbon",
    " UTC",
]


def test_timezone_must_be_an_iana_key(tmp_path: Path) -> None:
    """Anything but an IANA key is refused, naming duologue.toml and `timezone`, before
    ``ZoneInfo`` opens a file for it; real keys, odd ones included, still work."""
    root = sample_workspace(tmp_path / "ws", posts=1)
    settings = root / "duologue.toml"
    text = settings.read_text()
    for zone in HOSTILE_ZONES:
        settings.write_text(text.replace('timezone = "UTC"', f'timezone = "{zone}"'))
        message = refusal(root, "status")
        assert message.startswith("error: duologue.toml: `timezone` "), zone
        assert message.endswith(
            ' is not an IANA time zone; use a name like "UTC" or "Europe/Lisbon".\n'
        )
        assert len(message) < 200
        check = in_process(root, "check")
        assert check.returncode == 1 and "`timezone`" in check.stdout, zone
    for zone in (
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
        "EST5EDT",
        "America/Port-au-Prince",
    ):
        settings.write_text(text.replace('timezone = "UTC"', f'timezone = "{zone}"'))
        assert in_process(root, "status").returncode == 0, zone


# --- The operating system says no ------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB tmpfs: a site of a few hundred pages does not fit."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "unexpectedly" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_a_full_disk_is_one_sentence_naming_the_file(
    templates: dict[str, Path], tmp_path: Path, tiny_disk: Path
) -> None:
    """``build --out`` onto a full tmpfs (the Typer command)."""
    root = copy_of(templates["pair"], tmp_path)
    line = one_error_line(run_duologue(root, "build", "--out", str(tiny_disk / "site")))
    assert re.fullmatch(
        f"error: {re.escape(str(tiny_disk))}/\\S+\\.html: cannot be written: the disk is full; "
        "free some space and run the command again.",
        line,
    ), line


def test_a_full_output_folder_in_the_quick_build(
    templates: dict[str, Path], tmp_path: Path, tiny_disk: Path
) -> None:
    """The bare ``build`` (the quick path) of a workspace whose output folder is on it."""
    root = copy_of(templates["pair"], tmp_path)
    (root / "public").mkdir()
    subprocess.run(["mount", "--bind", str(tiny_disk), str(root / "public")], check=True)
    try:
        line = one_error_line(run_duologue(root, "build"))
    finally:
        subprocess.run(["umount", "-l", str(root / "public")], check=False)
    assert re.fullmatch(
        f"error: {re.escape(str(root))}/public/\\S+: cannot be written: the disk is full; "
        "free some space and run the command again.",
        line,
    ), line


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[Path]:
    """A workspace on a tmpfs then made read-only (as root, chmod would not stop us)."""
    source = sample_workspace(tmp_path / "source", posts=2)
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        shutil.copytree(source, mount / "ws", symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / "ws"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize(
    "args",
    [("draft", "slow-work", "--as", "ben", "--no-edit"), ("build",), ("build", "--out", "site")],
    ids=["draft", "quick-build", "typer-build"],
)
def test_a_read_only_workspace_is_one_sentence(read_only_copy: Path, args: tuple[str, ...]) -> None:
    line = one_error_line(run_duologue(read_only_copy, *args))
    assert line == (
        f"error: {read_only_copy}/.git/duologue.lock: it is on a read-only file system; "
        "run the command in a writable copy, or make that file system writable."
    )


def test_init_on_a_read_only_file_system(read_only_copy: Path) -> None:
    who = {"GIT_COMMITTER_NAME": "Ana Lima", "GIT_COMMITTER_EMAIL": "ana@example.com"}
    who |= {"GIT_AUTHOR_NAME": "Ana Lima", "GIT_AUTHOR_EMAIL": "ana@example.com"}
    line = one_error_line(run_duologue(read_only_copy.parent, "init", "new", env=who))
    assert line == (
        "error: new: it is on a read-only file system; "  # the folder as the person named it
        "run the command in a writable copy, or make that file system writable."
    )


def test_an_output_name_too_long_is_one_sentence(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    out = tmp_path / ("x" * 300)
    line = one_error_line(run_duologue(root, "build", "--out", str(out)))
    assert line == f"error: {out}: the name is too long; choose a shorter name or path."


def test_a_full_cache_folder_leaves_no_half_written_cache_files(
    templates: dict[str, Path], tmp_path: Path, tiny_disk: Path
) -> None:
    """The build cache under .git/duologue is best effort (the build succeeds), and a cache
    file the disk had no room for does not stay behind under its temporary name."""
    root = copy_of(templates["pair"], tmp_path)
    (root / ".git" / "duologue").mkdir()
    subprocess.run(["mount", "--bind", str(tiny_disk), str(root / ".git" / "duologue")], check=True)
    try:
        result = run_duologue(root, "build")
        leftovers = left_behind(root)
    finally:
        subprocess.run(["umount", "-l", str(root / ".git" / "duologue")], check=False)
    assert leftovers == []
    assert result.returncode == 0, result.stderr  # every cache there is best effort
    assert result.stderr == ""
