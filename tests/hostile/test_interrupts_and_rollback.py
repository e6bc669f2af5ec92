"""Refusals and roll-backs of ``publish``, and how the real CLI ends when a person or
the machine stops it: Ctrl-C sent to a running ``duologue``, a reader that leaves, an
output that cannot be written, ``DUOLOGUE_DEBUG=1``; ``$EDITOR`` at a real terminal;
the forked stamps checker of a no-op rebuild; the progress bar at a real terminal.

Everything runs real git and the real ``duologue`` program in a subprocess: signals
are really sent, pipes really closed, terminals are real pseudo-terminals (``pty``),
full disks real tmpfs mounts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.workspaces import commit_all, make_workspace, write_series, write_thread
from tests.helpers import children, git, left_behind, run_duologue, still_running
from tests.integration.conftest import new_draft, ok, refused, snapshot, start_workspace

SCRIPT = Path(sys.executable).with_name("duologue")
"""The console script pip made: what a person runs."""


def command(*args: str) -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-m", "duologue", *args]


def environment(*, unbuffered: bool | None = None, **extra: str) -> dict[str, str]:
    """The test's environment. ``unbuffered=False`` drops ``PYTHONUNBUFFERED``, as a
    person's shell has it: stdout to a pipe or a file is then block-buffered, and what a
    command printed is written only when it ends; ``True`` sets it (each write goes
    straight out); None keeps what the test run has."""
    env = os.environ.copy()
    if unbuffered is False:
        env.pop("PYTHONUNBUFFERED", None)
    elif unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextlib.contextmanager
def isolated_home(base: Path) -> Iterator[None]:
    """The machine's git configuration kept out, for a module's fixtures (the suite's
    own ``isolated_git`` does this for each test)."""
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ana's workspace as the README starts one, made once for this module."""
    base = tmp_path_factory.mktemp("fresh")
    with isolated_home(base):
        return start_workspace(base / "ws")


@pytest.fixture
def ws(fresh: Path, tmp_path: Path) -> Path:
    """A copy of ``fresh`` (git identity Ana, the two-author series slow-work)."""
    target = tmp_path / "ws"
    shutil.copytree(fresh, target, symlinks=True)
    return target


def write_hook(repo: Path, name: str, script: str) -> Path:
    hook = repo / ".git" / "hooks" / name
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)
    return hook


def history(repo: Path) -> str:
    return git(repo, "log", "--all", "--format=%H %s")


def left_over(repo: Path) -> list[str]:
    """What a publish must never leave: its journal, temporary files, temporary index."""
    found = []
    for path in repo.rglob("*"):
        rel = path.relative_to(repo).as_posix()
        if rel.startswith(".git/objects/"):
            continue
        if (
            path.name.endswith(".tmp")
            or "duologue-index-" in path.name
            or path.name == "duologue-publish.json"
        ):
            found.append(rel)
    return sorted(found)


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    assert "unexpectedly" not in stderr, stderr
    return lines[0]


def refused_unchanged(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``duologue *args`` refuses with one error line and changes nothing: files,
    index, HEAD, refs, history; no journal or temporary file stays. Returns the line."""
    before = snapshot(repo)
    logged = history(repo)
    line = one_line(refused(repo, *args, env=env))
    assert snapshot(repo) == before
    assert history(repo) == logged
    assert left_over(repo) == []
    return line


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def set_front_matter(draft: Path, key: str, value: str) -> None:
    """Add ``key: value`` to a draft's front matter (after its title line)."""
    text = draft.read_text()
    head, sep, body = text.partition("\n---\n")
    lines = [line for line in head.splitlines() if not line.startswith(f"{key}:")]
    lines.insert(2, f"{key}: {value}")
    draft.write_text("\n".join(lines) + sep + body)


def publish_first(ws: Path, **options: str) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nThe first letter.")
    extra = [part for key, value in options.items() for part in (f"--{key}", value)]
    ok(ws, "publish", str(draft.relative_to(ws)), *extra)


# --- publish: which draft --------------------------------------------------------------


def test_a_draft_named_through_a_symbolic_link_is_refused(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    link = draft.with_name("link.md")
    link.symlink_to(draft.name)
    line = refused_unchanged(ws, "publish", "drafts/slow-work/link.md")
    assert line == (
        "error: drafts/slow-work/link.md: is a symbolic link; duologue publishes only "
        "regular files."
    )
    assert draft.exists() and link.is_symlink()


@pytest.mark.parametrize(
    "where", ["series/slow-work/0001-opening.md", "drafts/loose.md", "../outside/x.md"]
)
def test_a_draft_outside_drafts_series_is_refused(ws: Path, where: str) -> None:
    target = (ws / where).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("---\ntitle: Elsewhere\n---\n\nBen,\n\nHello.\n")
    line = refused_unchanged(ws, "publish", where)
    assert line == (
        f"error: {where}: is not a draft in drafts/<series>/; publish only drafts inside "
        "this workspace."
    )
    assert target.exists()


def test_a_draft_of_an_unknown_series_is_refused(ws: Path) -> None:
    stray = ws / "drafts" / "no-such" / "hello.md"
    stray.parent.mkdir(parents=True)
    stray.write_text("---\ntitle: Hello\n---\n\nBen,\n\nHello.\n")
    line = refused_unchanged(ws, "publish", "drafts/no-such/hello.md")
    assert line == (
        "error: no series 'no-such' in this workspace (series: slow-work); create one with "
        "`duologue series new`."
    )
    assert stray.exists()


def test_publish_by_series_without_a_draft_of_mine(ws: Path) -> None:
    """Only Ben has a draft there: Ana has none to publish."""
    ok(ws, "draft", "slow-work", "--as", "ben", "--title", "Ben first", "--no-edit")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert line == (
        "error: you (ana) have no draft in drafts/slow-work/; write one with "
        "`duologue draft slow-work`."
    )


def test_publish_by_series_with_two_drafts_of_mine(ws: Path) -> None:
    new_draft(ws, "One", "Ben,\n\nOne.")
    new_draft(ws, "Two", "Ben,\n\nTwo.")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert line == (
        "error: you have 2 drafts in slow-work (drafts/slow-work/one.md, "
        "drafts/slow-work/two.md); name the one to publish."
    )
    # Named, either goes.
    ok(ws, "publish", "drafts/slow-work/two.md")


def test_a_draft_written_by_the_co_author_is_refused(ws: Path) -> None:
    out = ok(ws, "draft", "slow-work", "--as", "ben", "--title", "Ben first", "--no-edit")
    path = out.strip().splitlines()[-1]
    line = refused_unchanged(ws, "publish", path)
    assert line == (
        f"error: {path}: `author` is 'ben' but you are 'ana'; publish it as its author (--as ben)."
    )


# --- publish: what the draft says --------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "label"), [("[[fast-work#3]]", "fast-work#3"), ("[[#7]]", "#7")]
)
def test_a_reference_to_a_turn_that_does_not_exist(ws: Path, reference: str, label: str) -> None:
    ok(
        ws, "series", "new", "fast-work", "--title", "Fast Work",
        "--author", "ana:Ana Lima <ana@example.com>",
        "--author", "ben:Ben Okafor <ben@example.com>",
    )  # fmt: skip
    new_draft(ws, "Opening", f"Ben,\n\nAs I said in {reference}, hello.")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert line == (
        f"error: drafts/slow-work/opening.md: [[{label}]] points at a turn that does not "
        "exist; fix the reference."
    )


def test_in_reply_to_a_turn_not_published_yet(ws: Path) -> None:
    publish_first(ws)
    out = ok(ws, "draft", "slow-work", "--as", "ben", "--title", "Answer", "--no-edit")
    draft = ws / out.strip().splitlines()[-1]
    set_front_matter(draft, "in_reply_to", "2")
    line = refused_unchanged(ws, "publish", "slow-work", "--as", "ben")
    assert line == (
        "error: drafts/slow-work/answer.md: `in_reply_to` names turn 2, which does not exist yet."
    )


@pytest.mark.parametrize("source", ["option", "draft", "clock"])
def test_a_date_before_the_latest_post(ws: Path, source: str) -> None:
    """Dates must not go backwards; the refusal says which date to fix: the --date
    given, the draft's own `date`, or (neither given, the latest post up to a day ahead
    of now) the clock."""
    now = datetime.now(UTC)
    latest = now + timedelta(hours=12) if source == "clock" else now - timedelta(days=2)
    publish_first(ws, date=iso(latest))
    out = ok(ws, "draft", "slow-work", "--as", "ben", "--title", "Answer", "--no-edit")
    draft = ws / out.strip().splitlines()[-1]
    earlier = iso(now - timedelta(days=3))
    args = ["publish", "slow-work", "--as", "ben"]
    if source == "option":
        args += ["--date", earlier]
    elif source == "draft":
        set_front_matter(draft, "date", earlier)
    line = refused_unchanged(ws, *args)
    fix = {
        "option": "give a later --date",
        "draft": "correct the draft's `date` (or remove it)",
        "clock": "check your clock",
    }[source]
    assert re.fullmatch(
        r"error: the date \S+ is earlier than turn 1's \(\S+, in "
        r"series/slow-work/0001-opening\.md\); dates must not go backwards: "
        + re.escape(fix)
        + r", or correct that post's date if it is wrong\.",
        line,
    ), line


# --- publish: the series as committed ----------------------------------------------------


def test_committed_turns_with_a_gap_are_refused(ws: Path) -> None:
    """Turn 2 was taken out of the last commit by hand (``git rm --cached``): the work
    tree still shows turns 1..3, so `check` passes, but publish counts turns from the
    commit it builds on, and that has a gap."""
    publish_first(ws)
    ok(ws, "publish", str(new_draft(ws, "Two", "Ana,\n\nTwo.", "--as", "ben").relative_to(ws)),
       "--as", "ben")  # fmt: skip
    ok(ws, "publish", str(new_draft(ws, "Three", "Ben,\n\nThree.").relative_to(ws)))
    git(ws, "rm", "-q", "--cached", "series/slow-work/0002-two.md")
    git(ws, "commit", "-q", "-m", "untrack turn 2")
    new_draft(ws, "Four", "Ana,\n\nFour.", "--as", "ben")
    line = refused_unchanged(ws, "publish", "slow-work", "--as", "ben")
    assert line == (
        "error: series/slow-work: turns are not numbered 1..2 without gaps; run "
        "`duologue check` and fix them first."
    )


def test_an_uncommitted_post_file_in_the_way_is_refused(ws: Path) -> None:
    """Turn 2's file already exists in the work tree, uncommitted (copied in by hand):
    publish never overwrites it."""
    publish_first(ws, date=iso(datetime.now(UTC) - timedelta(days=2)))
    out = ok(ws, "draft", "slow-work", "--as", "ben", "--title", "Answer", "--no-edit")
    draft = ws / out.strip().splitlines()[-1]
    in_the_way = ws / "series" / "slow-work" / "0002-answer.md"
    in_the_way.write_text(
        "---\ntitle: Answer\nauthor: ben\ndate: "
        + iso(datetime.now(UTC) - timedelta(minutes=1))
        + "\nturn: 2\nin_reply_to: 1\n---\nAna,\n\nWritten by hand.\n"
    )
    line = refused_unchanged(ws, "publish", "slow-work", "--as", "ben")
    assert line == "error: series/slow-work/0002-answer.md already exists; nothing was changed."
    assert "Written by hand." in in_the_way.read_text()
    assert draft.exists()


# --- publish: failures between the preflight and the branch update ------------------------


def test_a_commit_msg_hook_that_removes_the_trailers_is_refused(ws: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(ws, "commit-msg", "sed -i '/^Duologue-/d' \"$1\"\n")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert line == (
        "error: the commit-msg hook removed or changed duologue's Duologue-* trailers, "
        "which sync and check read from the commit; nothing was changed. Fix the hook, or "
        "skip the hooks with --no-verify."
    )
    assert draft.exists()
    assert not (ws / "series" / "slow-work" / "0001-opening.md").exists()
    # --no-verify skips that hook, as git commit --no-verify does.
    ok(ws, "publish", "slow-work", "--no-verify")
    assert "Duologue-Turn: 1" in git(ws, "log", "-1", "--format=%B")


def test_a_commit_msg_hook_that_changes_the_turn_is_refused(ws: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(ws, "commit-msg", "sed -i 's/^Duologue-Turn: 1$/Duologue-Turn: 9/' \"$1\"\n")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert "removed or changed duologue's Duologue-* trailers" in line


def test_the_branch_moving_underneath_is_refused_and_rolled_back(ws: Path) -> None:
    """Another commit lands on the branch while publish runs (here from its pre-commit
    hook, as a `git commit` in another terminal would): the compare-and-swap of the
    branch fails, publish says so and takes the post back out of the work tree."""
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    write_hook(
        ws,
        "pre-commit",
        'other=$(git commit-tree -p HEAD -m "from elsewhere" "HEAD^{tree}")\n'
        'git update-ref refs/heads/main "$other"\n',
    )
    before = snapshot(ws)
    result = run_duologue(ws, "publish", "slow-work")
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line(result.stderr)
    assert line == (
        "error: the branch moved while duologue was working (another git or duologue "
        "process?); nothing was changed. Try again."
    )
    assert git(ws, "log", "--format=%s", "main").splitlines()[0] == "from elsewhere"
    assert "slow-work #1" not in history(ws)
    after = snapshot(ws)
    for key in ("files", "status", "index"):
        assert after[key] == before[key], key
    assert draft.exists()
    assert not (ws / "series" / "slow-work" / "0001-opening.md").exists()
    assert left_over(ws) == []
    # "Try again": with nothing moving it any more, the same draft goes on top.
    (ws / ".git" / "hooks" / "pre-commit").unlink()
    ok(ws, "publish", "slow-work")
    assert git(ws, "log", "--format=%s", "-2").splitlines() == [
        "slow-work #1: Opening",
        "from elsewhere",
    ]


@pytest.fixture
def full_series_folder(ws: Path) -> Iterator[Path]:
    """series/slow-work/ on its own tiny tmpfs (its files copied in), filled up."""
    folder = ws / "series" / "slow-work"
    saved = {path.name: path.read_bytes() for path in folder.iterdir()}
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        for name, data in saved.items():
            (folder / name).write_bytes(data)
        with (folder / ".filler").open("wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 512)
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_writing_the_post_on_a_full_disk_is_rolled_back(ws: Path, full_series_folder: Path) -> None:
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    line = refused_unchanged(ws, "publish", "slow-work")
    assert line == (
        f"error: {full_series_folder}/0001-opening.md: the disk is full; "
        "free some space and run the command again."
    )
    assert draft.exists()
    assert sorted(p.name for p in full_series_folder.iterdir()) == [".filler", "series.toml"]


# --- Ctrl-C while publish works -------------------------------------------------------


class Started:
    """``duologue`` in a session of its own, as a terminal starts it: ``interrupt``
    sends SIGINT to its whole process group (Ctrl-C) or to duologue alone."""

    def __init__(
        self,
        cwd: Path,
        *args: str,
        env: dict[str, str] | None = None,
        stdout: int = subprocess.PIPE,
        stderr: int = subprocess.PIPE,
    ) -> None:
        self.process = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=env or environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )

    def interrupt(self, *, group: bool = True) -> None:
        (os.killpg if group else os.kill)(self.process.pid, signal.SIGINT)

    def interrupt_until_done(self, seconds: float = 10) -> None:
        """Ctrl-C pressed again and again (to duologue alone) until it has ended."""
        deadline = time.monotonic() + seconds
        while self.process.poll() is None:
            assert time.monotonic() < deadline, "duologue did not end after Ctrl-C"
            os.kill(self.process.pid, signal.SIGINT)
            time.sleep(0.001)

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out or "", err or ""


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, "duologue ended before reaching the hook"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.005)


def hook_that_waits(ws: Path) -> Path:
    """A pre-commit hook that says it is running (a marker file) and then works on."""
    marker = ws.parent / "hook-running"
    write_hook(ws, "pre-commit", f'touch "{marker}"\nexec sleep 30\n')
    return marker


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c", "kill-int-duologue"])
def test_ctrl_c_during_the_commit_hooks_rolls_publish_back(ws: Path, group: bool) -> None:
    """Ctrl-C while the pre-commit hook runs, the post already in the work tree and the
    journal written: one ``error: interrupted.``, exit 130, and the workspace exactly
    as before. To the group (the hook gets it too) or to duologue alone (duologue stops
    the hook)."""
    draft = new_draft(ws, "Opening", "Ben,\n\nHello.")
    marker = hook_that_waits(ws)
    before = snapshot(ws)
    logged = history(ws)
    run = Started(ws, "publish", "slow-work")
    wait_for(marker, run.process)
    assert (ws / "series" / "slow-work" / "0001-opening.md").exists()  # the hook's view
    run.interrupt(group=group)
    code, out, err = run.finish()
    assert (code, out, err) == (130, "", "error: interrupted.\n")
    assert snapshot(ws) == before
    assert history(ws) == logged
    assert left_over(ws) == []
    assert draft.exists()
    (ws / ".git" / "hooks" / "pre-commit").unlink()
    assert "published slow-work #1" in ok(ws, "publish", "slow-work")


def test_ctrl_c_pressed_again_and_again_lets_the_roll_back_finish(ws: Path) -> None:
    """Every further Ctrl-C while the first one's roll-back runs is ignored: still one
    line, exit 130, nothing changed, nothing left behind."""
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    marker = hook_that_waits(ws)
    before = snapshot(ws)
    run = Started(ws, "publish", "slow-work")
    wait_for(marker, run.process)
    run.interrupt_until_done()
    code, out, err = run.finish()
    assert (code, out, err) == (130, "", "error: interrupted.\n")
    assert snapshot(ws) == before
    assert left_over(ws) == []
    assert run_duologue(ws, "status").stderr == ""  # no interrupted publish to repair


@pytest.mark.parametrize(
    ("stderr_to", "unbuffered"),
    [
        ("closed-pipe", True),
        ("closed-pipe", False),
        ("full-disk", True),
        ("full-disk", False),
    ],
    ids=["closed-pipe", "closed-pipe-buffered", "full-disk", "full-disk-buffered"],
)
def test_ctrl_c_when_the_interrupt_line_cannot_be_written(
    ws: Path, full_disk: Path, stderr_to: str, unbuffered: bool
) -> None:
    """stderr piped to a reader that has gone, or redirected to a full disk: the
    interrupt's line cannot be written; duologue still rolls back and exits 130, with
    no "Exception ignored" from Python at exit (which would change the code to 120)."""
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    marker = hook_that_waits(ws)
    before = snapshot(ws)
    if stderr_to == "closed-pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
    else:
        write_end = os.open(full_disk / "stderr.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        run = Started(
            ws, "publish", "slow-work", env=environment(unbuffered=unbuffered),
            stdout=subprocess.DEVNULL, stderr=write_end,
        )  # fmt: skip
    finally:
        os.close(write_end)
    wait_for(marker, run.process)
    run.interrupt()
    code, _out, _err = run.finish()
    assert code == 130
    assert snapshot(ws) == before
    assert left_over(ws) == []


# --- A reader that leaves; an output that cannot be written -------------------------------


@pytest.fixture(scope="module")
def one_post(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one published post, made once: only read by the tests below."""
    base = tmp_path_factory.mktemp("one-post")
    with isolated_home(base):
        ws = start_workspace(base / "ws")
        publish_first(ws)
    return ws


def into_closed_pipe(cwd: Path, *args: str, env: dict[str, str]) -> tuple[int, str]:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            command(*args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=write_end,
            stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    "args",
    [("status", "--json"), ("status",), ("log", "slow-work"), ("series", "list"), ("check",)],
    ids=["status-json", "status", "log", "series-list", "check"],
)
def test_buffered_output_into_a_closed_pipe_ends_quietly(
    one_post: Path, args: tuple[str, ...]
) -> None:
    """Without PYTHONUNBUFFERED (a person's shell) the few lines these print wait in
    Python's buffer until the command ends: only that last flush meets the closed pipe.
    Still exit 141 and not a word on stderr."""
    code, stderr = into_closed_pipe(one_post, *args, env=environment(unbuffered=False))
    assert (code, stderr) == (141, "")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed workspace with series of 2,000 and 10 posts: more than
    ``stamps.ASIDE_MIN`` (2,000) outputs, so a rebuild checks them in a forked child,
    and more than ``pool.PARALLEL_MIN`` posts in two series, so a build forks workers.
    Tests that change or build it work on a copy (``copy_of``)."""
    base = tmp_path_factory.mktemp("big")
    with isolated_home(base):
        root = make_workspace(base / "ws", commit=False)
        write_series(root, "slow-work")
        write_thread(root, "slow-work", 2000)
        write_series(root, "fast-work")
        write_thread(root, "fast-work", 10)
        commit_all(root, "big")
    return root


def copy_of(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(template, target, symlinks=True)
    return target


def test_log_piped_into_head_without_pythonunbuffered(big: Path, tmp_path: Path) -> None:
    """``duologue log slow-work | head -1`` in a real shell pipeline, as a person's shell
    runs it: head prints the first line and leaves; duologue stops quietly."""
    errors = tmp_path / "stderr"
    script = f"{' '.join(command())} log slow-work 2>{errors} | head -1; " + (
        'echo "status=${PIPESTATUS[0]}"'
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=big, env=environment(unbuffered=False),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    first, status = result.stdout.splitlines()
    assert first.startswith("#1 ") and "Letter 1" in first
    assert errors.read_text() == ""
    assert status == "status=141"


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_into_a_closed_pipe_exits_141_like_every_command(one_post: Path, option: str) -> None:
    code, stderr = into_closed_pipe(one_post, option, env=environment())
    assert (code, stderr) == (141, "")


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB tmpfs, filled to the last byte."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        with (mount / ".filler").open("wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 512)
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def into_file(cwd: Path, target: Path, *args: str, env: dict[str, str]) -> tuple[int, str]:
    with target.open("w") as out:
        result = subprocess.run(
            command(*args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    return result.returncode, result.stderr


@pytest.mark.parametrize("args", [("status",), ("log", "slow-work")], ids=["status", "log"])
def test_output_to_a_full_disk_is_one_sentence(
    one_post: Path, full_disk: Path, args: tuple[str, ...]
) -> None:
    """``duologue log s > full/log.txt`` with every write going straight out
    (PYTHONUNBUFFERED=1): the OSError becomes one sentence, exit 1."""
    env = environment(unbuffered=True)
    code, stderr = into_file(one_post, full_disk / "out.txt", *args, env=env)
    assert code == 1
    assert one_line(stderr) == (
        "error: the disk is full; free some space and run the command again."
    )


@pytest.mark.parametrize(
    "args", [("status",), ("status", "--json"), ("log", "slow-work", "--json")],
    ids=["status", "status-json", "log-json"],
)  # fmt: skip
def test_buffered_output_to_a_full_disk_is_one_sentence(
    one_post: Path, full_disk: Path, args: tuple[str, ...]
) -> None:
    code, stderr = into_file(
        one_post, full_disk / "out.txt", *args, env=environment(unbuffered=False)
    )
    assert (code, "Exception ignored" in stderr) == (1, False), stderr
    assert "the disk is full" in one_line(stderr)


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_to_a_full_disk_is_one_sentence(
    one_post: Path, full_disk: Path, option: str
) -> None:
    code, stderr = into_file(one_post, full_disk / "out.txt", option, env=environment())
    assert "Traceback" not in stderr, stderr
    assert code == 1
    assert "the disk is full" in one_line(stderr)


# --- DUOLOGUE_DEBUG=1 --------------------------------------------------------------------


def test_debug_shows_the_traceback_of_a_refusal(ws: Path) -> None:
    plain = run_duologue(ws, "publish", "slow-work")
    line = one_line(plain.stderr)
    debug = run_duologue(ws, "publish", "slow-work", env={"DUOLOGUE_DEBUG": "1"})
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback (most recent call last):"), debug.stderr
    last = debug.stderr.splitlines()[-1]
    assert last.startswith("duologue.errors.")
    assert last.endswith(line.removeprefix("error: ")), (last, line)


def test_debug_shows_the_traceback_of_a_system_failure(one_post: Path, full_disk: Path) -> None:
    code, stderr = into_file(
        one_post,
        full_disk / "out.txt",
        "status",
        env=environment(unbuffered=True, DUOLOGUE_DEBUG="1"),
    )
    assert code == 1
    assert "Traceback (most recent call last):" in stderr
    assert stderr.splitlines()[-1] == "OSError: [Errno 28] No space left on device"


# --- A build worker killed from outside ---------------------------------------------------








def test_a_build_worker_killed_from_outside_is_one_line(big: Path, tmp_path: Path) -> None:
    """The OOM killer (here: SIGKILL) takes one of a first build's workers: the build
    fails with one line and no traceback, the other worker is stopped, no output folder
    or staging folder is left, and the next build writes the whole site."""
    root = copy_of(big, tmp_path)
    run = Started(root, "build", stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(children(run.process.pid)) < 2:
        assert run.process.poll() is None, "the build ended before it forked its workers"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    workers = children(run.process.pid)
    os.kill(workers[0], signal.SIGKILL)
    code, _out, err = run.finish()
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert lines[0].startswith("error: a build worker process was killed from outside"), lines[0]
    assert [pid for pid in workers if still_running(pid)] == []
    assert not (root / "public").exists()
    assert left_behind(root) == []
    again = run_duologue(root, "build")
    assert again.returncode == 0, again.stderr
    assert len(list((root / "public" / "slow-work").glob("[0-9]*.html"))) == 2000


# --- $EDITOR at a real terminal ------------------------------------------------------------


def in_terminal(
    cwd: Path, *args: str, env: dict[str, str] | None = None, seconds: float = 60
) -> tuple[int, str]:
    """Run duologue with stdin, stdout and stderr a real pseudo-terminal (100 columns);
    its exit code and everything it showed there (``\\r\\n`` made ``\\n``)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    full = environment(TERM="xterm-256color", COLUMNS="100", LINES="40", **(env or {}))
    try:
        process = subprocess.Popen(
            command(*args), cwd=cwd, env=full, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
    finally:
        os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"still running after {seconds} s: {shown!r}"
            ready, _, _ = select.select([master], [], [], min(left, 0.2))
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not data:
                break
            shown += data
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, shown.decode("utf-8", "replace").replace("\r\n", "\n")


def editor_script(folder: Path, name: str, line: str, *, status: int = 0) -> Path:
    """A small editor: records its arguments and whether it ran at a terminal, appends
    ``line`` to the file it is given (its last argument), exits with ``status``."""
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{folder}/{name}.args"\n'
        f'if [ -t 0 ] && [ -t 1 ]; then echo terminal >> "{folder}/{name}.args"; fi\n'
        "for last; do :; done\n"
        f'printf "%s\\n" "{line}" >> "$last"\n'
        f"exit {status}\n"
    )
    script.chmod(0o755)
    return script


def draft_path(shown: str, ws: Path) -> Path:
    names = [line for line in shown.splitlines() if line.startswith("drafts/")]
    assert len(names) == 1, shown
    return ws / names[0]


def test_draft_opens_editor_at_a_terminal(ws: Path, tmp_path: Path) -> None:
    """$EDITOR with arguments of its own (split as a shell would), run at the terminal
    on the new draft: what it writes is in the draft."""
    script = editor_script(tmp_path, "ed", "Written in the editor.")
    code, shown = in_terminal(
        ws, "draft", "slow-work", "--title", "Hello", env={"EDITOR": f"sh '{script}' --wait"}
    )
    assert code == 0, shown
    draft = draft_path(shown, ws)
    assert draft == ws / "drafts" / "slow-work" / "hello.md"
    text = draft.read_text()
    assert text.startswith("---\n") and "title: Hello" in text
    assert text.endswith("Written in the editor.\n")
    assert (tmp_path / "ed.args").read_text().splitlines() == ["--wait", str(draft), "terminal"]


def test_visual_comes_before_editor(ws: Path, tmp_path: Path) -> None:
    visual = editor_script(tmp_path, "visual", "From VISUAL.")
    editor = editor_script(tmp_path, "editor", "From EDITOR.")
    code, shown = in_terminal(
        ws, "draft", "slow-work", env={"VISUAL": str(visual), "EDITOR": str(editor)}
    )
    assert code == 0, shown
    text = draft_path(shown, ws).read_text()
    assert "From VISUAL." in text and "From EDITOR." not in text
    assert not (tmp_path / "editor.args").exists()


def test_no_editor_without_a_terminal_or_with_no_edit(ws: Path, tmp_path: Path) -> None:
    """Piped (a script, CI), or --no-edit at a terminal: the editor is not started."""
    script = editor_script(tmp_path, "ed", "Written in the editor.")
    piped = ok(ws, "draft", "slow-work", "--title", "Piped", env={"EDITOR": str(script)})
    assert piped.strip() == "drafts/slow-work/piped.md"
    code, shown = in_terminal(
        ws, "draft", "slow-work", "--title", "Asked", "--no-edit", env={"EDITOR": str(script)}
    )
    assert code == 0, shown
    assert not (tmp_path / "ed.args").exists()
    for name in ("piped", "asked"):
        assert (
            "Written in the editor." not in (ws / "drafts" / "slow-work" / f"{name}.md").read_text()
        )


def test_an_editor_that_fails_leaves_the_draft_as_it_wrote_it(ws: Path, tmp_path: Path) -> None:
    """duologue does not judge the editor's exit status (the draft is saved either way):
    exit 0, and the draft holds what the editor wrote before it failed."""
    script = editor_script(tmp_path, "ed", "Half a thought.", status=3)
    code, shown = in_terminal(ws, "draft", "slow-work", env={"EDITOR": str(script)})
    assert code == 0, shown
    assert "error" not in shown
    assert draft_path(shown, ws).read_text().endswith("Half a thought.\n")


@pytest.mark.parametrize(
    ("editor", "why"),
    [
        ("/no/such/editor --wait", "[Errno 2] No such file or directory: '/no/such/editor'"),
        ('vi "unclosed', "No closing quotation"),
    ],
    ids=["missing", "unbalanced-quote"],
)
def test_an_editor_that_cannot_start(ws: Path, editor: str, why: str) -> None:
    """The draft is made, then the editor cannot be started: one error line saying
    where the draft is, exit 1."""
    code, shown = in_terminal(ws, "draft", "slow-work", "--title", "Hello", env={"EDITOR": editor})
    assert code == 1, shown
    assert "Traceback" not in shown
    draft = ws / "drafts" / "slow-work" / "hello.md"
    assert shown.splitlines() == [
        "drafts/slow-work/hello.md",
        f"error: could not start your editor {editor!r} ({why}); the draft is saved at "
        f"{draft}, open it yourself or fix $EDITOR.",
    ]
    assert draft.read_text().startswith("---\n")


# --- The no-op check's forked stamps checker ---------------------------------------------


def built_copy(big: Path, tmp_path: Path) -> Path:
    root = copy_of(big, tmp_path)
    first = run_duologue(root, "build")
    assert first.returncode == 0, first.stderr
    assert re.match(r"built 20\d\d files \(20\d\d written\)", first.stdout), first.stdout
    return root


def output_state(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted((root / "public").rglob("*"))
        if path.is_file()
    }


def test_an_input_error_while_the_stamps_are_checked_aside(big: Path, tmp_path: Path) -> None:
    """A rebuild of a site of 2,000+ files forks a child to check the outputs while it
    scans the inputs; the scan then refuses (a symbolic link in templates/, as a
    co-author could push): one error line, the child is stopped, no output changes, and
    once the link is gone the rebuild is a no-op again."""
    root = built_copy(big, tmp_path)
    before = output_state(root)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").symlink_to("/etc/passwd")
    result = Started(root, "build")
    code, out, err = result.finish()
    assert (code, out) == (1, ""), err
    assert one_line(err) == (
        "error: templates/post.html: is a symbolic link; duologue reads only regular files, "
        "so remove it."
    )
    assert output_state(root) == before
    (root / "templates" / "post.html").unlink()
    (root / "templates").rmdir()
    again = run_duologue(root, "build")
    assert again.returncode == 0, again.stderr
    assert re.match(r"built 20\d\d files \(0 written\)", again.stdout), again.stdout
    assert output_state(root) == before


def test_stamps_checked_here_when_the_child_cannot_be_waited_for(big: Path, tmp_path: Path) -> None:
    """duologue started with SIGCHLD ignored (a parent that set it so, inherited through
    exec): the kernel reaps the stamps child itself, waitpid finds no child, and the
    build checks the outputs itself: a page changed by hand is still found and written
    again, the rest left alone."""
    root = built_copy(big, tmp_path)
    before = output_state(root)
    page = root / "public" / "slow-work" / "0005-letter-5.html"
    page.write_text("changed by hand\n")
    result = subprocess.run(
        command("build"), cwd=root, env=environment(), capture_output=True, text=True,
        timeout=60, check=False,
        preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.match(r"built 20\d\d files \(1 written\)", result.stdout), result.stdout
    after = output_state(root)
    assert after[str(page.relative_to(root))][1] == before[str(page.relative_to(root))][1]
    changed = [name for name in before if after[name] != before[name]]
    assert changed == [str(page.relative_to(root))]


# --- The progress bar at a real terminal --------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def test_progress_bar_at_a_terminal_then_the_summary_line(big: Path, tmp_path: Path) -> None:
    """A first build of 2,010 posts takes longer than the bar's half-second delay: at a
    terminal rich draws the bar on stderr (the step, a bar, done/total, the time), takes
    it away when the build ends (transient), and the summary line is the last thing
    shown. A no-op rebuild at the same terminal is too quick for a bar: just the line."""
    root = copy_of(big, tmp_path)
    code, shown = in_terminal(root, "build")
    assert code == 0, shown
    assert "\x1b[" in shown, "rich drew nothing"
    plain = ANSI.sub("", shown)
    assert re.search(r"building\s+━+\s+\d+/2010\s+\d:\d\d:\d\d", plain), plain
    lines = [line for line in plain.replace("\r", "\n").splitlines() if line.strip()]
    assert re.fullmatch(
        rf"built 20\d\d files \(20\d\d written\) in \d+\.\d\d s → {re.escape(str(root))}/public",
        lines[-1],
    ), lines[-1]
    assert shown.rstrip("\n").endswith(lines[-1])  # nothing drawn after it
    bar_end = shown.rindex("building")
    assert "\x1b[2K" in shown[bar_end : shown.rindex("built ")]  # the bar erased first
    code, shown = in_terminal(root, "build")
    assert code == 0, shown
    assert "\x1b[" not in shown and "building" not in shown
    assert re.fullmatch(r"built 20\d\d files \(0 written\) in \d+\.\d\d s → \S+\n", shown), shown


def test_amend_opens_the_post_in_the_editor_at_a_terminal(ws: Path, tmp_path: Path) -> None:
    """`duologue amend` at a terminal: the editor gets the published post, and what it
    wrote is committed as the correction, with `updated`."""
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    ok(ws, "publish", "slow-work")
    (post,) = (ws / "series" / "slow-work").glob("0001-*.md")
    script = editor_script(tmp_path, "ed", "A line added in the editor.")
    code, shown = in_terminal(ws, "amend", "slow-work", "1", env={"EDITOR": str(script)})
    assert code == 0, shown
    assert "amended series/slow-work/0001-opening.md" in shown
    assert (tmp_path / "ed.args").read_text().splitlines() == [str(post), "terminal"]
    committed = git(ws, "show", f"HEAD:series/slow-work/{post.name}")
    assert "A line added in the editor." in committed and "\nupdated: " in committed
    assert committed == post.read_text()
    assert git(ws, "log", "-1", "--format=%s %ae") == "slow-work #1: amended ana@example.com\n"


def test_amend_without_a_terminal_or_an_editor_says_how(ws: Path, tmp_path: Path) -> None:
    new_draft(ws, "Opening", "Ben,\n\nHello.")
    ok(ws, "publish", "slow-work")
    before = snapshot(ws)
    assert "not a terminal" in refused(ws, "amend", "slow-work", "1", env={"EDITOR": "true"})
    code, shown = in_terminal(ws, "amend", "slow-work", "1")
    assert code == 1 and "neither $VISUAL nor $EDITOR is set" in shown, shown
    assert snapshot(ws) == before
