"""``status`` and ``log``: whose turn it is, since when, and who is asking (SPEC §2, §3)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.workspaces import (
    ANA,
    BEN,
    CAT,
    commit_all,
    make_workspace,
    write_post,
    write_series,
)
from tests.helpers import git, run_duologue

STATUS_KEYS = {
    "series", "title", "posts", "last_turn", "last_author", "last_title", "last_date",
    "next_author", "waiting_since", "your_turn", "overdue",
}
LOG_KEYS = {"turn", "title", "author", "date", "in_reply_to", "path"}


def status_json(invoke: Invoke, cwd: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    result = invoke(cwd, "status", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


# -- status ----------------------------------------------------------------------------------


def test_status_json_has_every_key_of_the_spec(ws: Path, invoke: Invoke) -> None:
    (row,) = status_json(invoke, ws)
    assert set(row) >= STATUS_KEYS
    assert row["series"] == "slow-work"
    assert row["title"] == "Slow Work"
    assert row["posts"] == 3
    assert row["last_turn"] == 3
    assert row["last_author"] == "ana"
    assert row["last_title"] == "Letter 3"
    assert row["last_date"] == "2026-01-03T09:00:00+00:00"
    assert row["next_author"] == "ben"
    assert row["waiting_since"] == "2026-01-03T09:00:00+00:00"
    assert row["your_turn"] is None  # git user.email matches nobody
    assert row["overdue"] is False


def test_status_json_as_a_subprocess(ws: Path) -> None:
    result = run_duologue(ws, "status", "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert set(row) >= STATUS_KEYS
    assert row["next_author"] == "ben"


def test_status_of_an_empty_series(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "fresh", (BEN, ANA))
    commit_all(root, "series")
    (row,) = status_json(invoke, root, "--as", "ben")
    assert row["posts"] == 0
    assert row["last_turn"] is None and row["last_author"] is None
    assert row["last_title"] is None and row["last_date"] is None
    assert row["next_author"] == "ben"  # the first author opens the series
    assert row["waiting_since"] is None
    assert row["your_turn"] is True
    assert row["overdue"] is False


def test_status_reads_dates_without_offset_in_the_workspace_zone(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", timezone="America/New_York", commit=False)
    write_series(root, "s")
    write_post(root, "s", 1, "ana", date="2026-07-01T09:00:00")
    commit_all(root, "s")
    (row,) = status_json(invoke, root)
    assert row["waiting_since"] == "2026-07-01T09:00:00-04:00"


def test_status_of_one_series_and_of_an_unknown_one(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "one")
    write_series(root, "two")
    write_post(root, "two", 1, "ana")
    commit_all(root, "two series")
    assert [r["series"] for r in status_json(invoke, root)] == ["one", "two"]
    assert [r["series"] for r in status_json(invoke, root, "two")] == ["two"]
    result = invoke(root, "status", "three")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no series 'three'")
    assert "one, two" in result.stderr


def test_status_text(ws: Path, invoke: Invoke) -> None:
    result = invoke(ws, "status", "--as", "ben")
    assert result.exit_code == 0
    assert "slow-work — Slow Work" in result.stdout
    assert '3 posts; latest #3 "Letter 3" by ana' in result.stdout
    assert "next: ben since 2026-01-03T09:00:00+00:00 — your turn" in result.stdout


def test_three_author_rotation(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "trio", (ANA, BEN, CAT))
    commit_all(root, "trio")
    expected = ["ana", "ben", "cat", "ana", "ben"]
    for turn, author in enumerate(expected, start=1):
        (row,) = status_json(invoke, root, "--as", author)
        assert row["next_author"] == author
        assert row["your_turn"] is True
        others = [h for h in ("ana", "ben", "cat") if h != author]
        for other in others:
            assert status_json(invoke, root, "--as", other)[0]["your_turn"] is False
        write_post(root, "trio", turn, author)
    (row,) = status_json(invoke, root)
    assert (row["posts"], row["last_author"], row["next_author"]) == (5, "ben", "cat")


def test_overdue_after_reply_within_days(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "late", reply_within_days=7)
    write_series(root, "prompt", reply_within_days=7)
    write_series(root, "relaxed")
    now = datetime.now(UTC).replace(microsecond=0)
    write_post(root, "late", 1, "ana", date=(now - timedelta(days=8)).isoformat())
    write_post(root, "prompt", 1, "ana", date=(now - timedelta(days=6)).isoformat())
    write_post(root, "relaxed", 1, "ana", date=(now - timedelta(days=800)).isoformat())
    commit_all(root, "three series")
    rows = {row["series"]: row for row in status_json(invoke, root)}
    assert rows["late"]["overdue"] is True
    assert rows["prompt"]["overdue"] is False
    assert rows["relaxed"]["overdue"] is False
    assert rows["late"]["waiting_since"] == (now - timedelta(days=8)).isoformat()
    text = invoke(root, "status", "late").stdout
    assert "OVERDUE" in text


# -- identity (SPEC §2) ------------------------------------------------------------------------


def test_identity_from_git_user_email_case_insensitive(ws: Path, invoke: Invoke) -> None:
    git(ws, "config", "user.email", "BEN@Example.COM")
    (row,) = status_json(invoke, ws)
    assert row["your_turn"] is True
    git(ws, "config", "user.email", "Ana@example.com")
    (row,) = status_json(invoke, ws)
    assert row["your_turn"] is False


def test_identity_from_git_user_email_in_a_subprocess(ws: Path) -> None:
    git(ws, "config", "user.email", "ben@EXAMPLE.com")
    result = run_duologue(ws / "series", "status", "--json")
    assert json.loads(result.stdout)[0]["your_turn"] is True


def test_identity_from_duologue_author_beats_git_email(ws: Path, invoke: Invoke) -> None:
    git(ws, "config", "user.email", "ben@example.com")
    (row,) = status_json(invoke, ws, env={"DUOLOGUE_AUTHOR": "ana"})
    assert row["your_turn"] is False
    result = run_duologue(ws, "status", "--json", env={"DUOLOGUE_AUTHOR": "ana"})
    assert json.loads(result.stdout)[0]["your_turn"] is False


def test_identity_from_as_beats_the_environment(ws: Path, invoke: Invoke) -> None:
    (row,) = status_json(invoke, ws, "--as", "ben", env={"DUOLOGUE_AUTHOR": "ana"})
    assert row["your_turn"] is True
    (row,) = status_json(invoke, ws, "--as", "ana", env={"DUOLOGUE_AUTHOR": "ben"})
    assert row["your_turn"] is False


@pytest.mark.parametrize(
    ("args", "env", "email"),
    [
        (("--as", "zed"), {}, "ben@example.com"),
        ((), {"DUOLOGUE_AUTHOR": "zed"}, "ben@example.com"),
    ],
    ids=["unknown-as", "unknown-env"],  # an e-mail that matches nobody: test_status_json
)
def test_your_turn_is_null_when_nobody_matches(
    ws: Path, invoke: Invoke, args: tuple[str, ...], env: dict[str, str], email: str
) -> None:
    git(ws, "config", "user.email", email)
    (row,) = status_json(invoke, ws, *args, env=env)
    assert row["your_turn"] is None


def test_your_turn_is_null_without_any_git_email(ws: Path, invoke: Invoke) -> None:
    git(ws, "config", "--unset", "user.email")
    (row,) = status_json(invoke, ws)
    assert row["your_turn"] is None


# -- status does not read every post -----------------------------------------------------------


def test_status_opens_only_the_latest_post(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "long")
    folder = root / "series" / "long"
    for turn in range(1, 300):
        (folder / f"{turn:04d}-broken.md").write_text("no front matter, and `title: [` broken\n")
    write_post(root, "long", 300, "ben", title="The Three Hundredth")
    commit_all(root, "300 posts, 299 broken")

    started = time.perf_counter()
    (row,) = status_json(invoke, root)
    elapsed = time.perf_counter() - started
    assert row["posts"] == 300
    assert row["last_turn"] == 300
    assert row["last_title"] == "The Three Hundredth"
    assert row["next_author"] == "ana"
    assert elapsed < 5

    result = run_duologue(root, "status", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["last_turn"] == 300

    # log must read them all, so it names the first broken one
    log = invoke(root, "log", "long")
    assert log.exit_code == 1
    assert log.stderr.startswith("error: series/long/0001-broken.md: has no front matter")


def test_status_when_the_latest_post_is_broken_names_it(ws: Path, invoke: Invoke) -> None:
    (ws / "series/slow-work/0003-letter-3.md").write_text("---\ntitle: [\n---\nbody\n")
    result = invoke(ws, "status")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: series/slow-work/0003-letter-3.md: ")
    assert "Traceback" not in result.output


# -- log -------------------------------------------------------------------------------------


def test_log_json(ws: Path, invoke: Invoke) -> None:
    result = invoke(ws, "log", "slow-work", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [set(row) for row in rows] == [LOG_KEYS] * 3
    assert rows[0] == {
        "turn": 1,
        "title": "Letter 1",
        "author": "ana",
        "date": "2026-01-01T09:00:00+00:00",
        "in_reply_to": None,
        "path": "series/slow-work/0001-letter-1.md",
    }
    assert [(r["turn"], r["author"], r["in_reply_to"]) for r in rows] == [
        (1, "ana", None), (2, "ben", 1), (3, "ana", 2),
    ]


def test_log_json_from_a_subfolder_as_a_subprocess(ws: Path) -> None:
    result = run_duologue(ws / "series" / "slow-work", "log", "slow-work", "--json")
    assert result.returncode == 0, result.stderr
    assert [r["path"] for r in json.loads(result.stdout)] == [
        "series/slow-work/0001-letter-1.md",
        "series/slow-work/0002-letter-2.md",
        "series/slow-work/0003-letter-3.md",
    ]


def test_log_text(ws: Path, invoke: Invoke) -> None:
    result = invoke(ws, "log", "slow-work")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("#2")
    assert "ben" in lines[1] and "Letter 2" in lines[1] and "(answers #1)" in lines[1]


def test_log_of_an_empty_series(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "fresh")
    result = invoke(root, "log", "fresh", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
