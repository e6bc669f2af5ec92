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
import shutil
import subprocess
import sys
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
