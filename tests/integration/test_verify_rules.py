"""verify's rules one by one: a workspace with turn 1 published, one commit made with plain
git on top, and what ``duologue verify HEAD~1..HEAD --json`` says of it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import isolate_git
from tests.helpers import git, run_duologue
from tests.integration.conftest import new_draft, ok, start_workspace

S = "series/slow-work"


def _now(minutes: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def post(
    root: Path, turn: int, author: str = "ben", *, name: str | None = None, extra: str = ""
) -> Path:
    path = root / S / (name or f"{turn:04d}-hand-{turn}.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: Hand {turn}\nauthor: {author}\ndate: {_now()}\nturn: {turn}\n"
        f"in_reply_to: {max(turn - 1, 1)}\n{extra}---\nBy hand.\n"
    )
    return path


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def link(root: Path, rel: str) -> None:
    """``rel`` becomes a symbolic link to a copy of itself beside it, as git commits one."""
    path = root / rel
    real = path.with_name("real-" + path.name)
    real.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(real.name)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], None]
    rule: str
    says: str


def first_post(root: Path) -> Path:
    return next((root / S).glob("0001-*.md"))


CASES = [
    Case("settings not TOML", lambda r: write(r, "duologue.toml", "title = [\n"), "check",
         "is not valid TOML"),
    Case("settings a link", lambda r: link(r, "duologue.toml"), "check", "is not a regular file"),
    Case("turn past the next", lambda r: post(r, 5), "turn-number",
         "it adds turn 5, but the latest turn is 1; the next post is turn 2"),
    Case("turn taken", lambda r: post(r, 1, "ana", name="0001-again.md"), "turn-number",
         "turn 1 is taken"),
    Case("unknown author", lambda r: post(r, 2, "zed"), "check", "`author` 'zed' is not an author"),
    Case("answers nothing", lambda r: post(r, 2, extra="").write_text(
        post(r, 2).read_text().replace("in_reply_to: 1", "in_reply_to: 9")), "check",
         "`in_reply_to` names turn 9"),
    Case("date backwards", lambda r: post(r, 2).write_text(post(r, 2).read_text().replace(
        f"date: {_now()}"[:15], "date: 2020-01-01T00:00:00+00:00\nx: ")), "check",
         "dates must not go backwards"),
    Case("date years ahead", lambda r: post(r, 2).write_text(post(r, 2).read_text().replace(
        f"date: {_now()}"[:15], "date: 2090-01-01T00:00:00+00:00\nx: ")), "check",
         "lies more than a day in the future"),
    Case("published withdrawn", lambda r: post(r, 2, extra=f"withdrawn: {_now(2)}\n").write_text(
        post(r, 2, extra=f"withdrawn: {_now(2)}\n").read_text().replace("By hand.\n", "")),
         "check", "a post is published before it is withdrawn"),
    Case("broken front matter", lambda r: write(r, f"{S}/0002-x.md", "---\ntitle: [\n---\nx\n"),
         "check", "front matter is not valid YAML"),
    Case("series.toml not TOML", lambda r: write(r, f"{S}/series.toml", "title = [\n"), "check",
         "is not valid TOML"),
    Case("series.toml removed", lambda r: (r / S / "series.toml").unlink(), "check",
         "every series folder needs its series.toml"),
    Case("series.toml a link", lambda r: link(r, f"{S}/series.toml"), "check",
         "is not a regular file"),
    Case("a post in a series without settings",
         lambda r: write(r, "series/other/0001-x.md", first_post(r).read_text()), "check",
         "is missing or invalid, so the posts added to its series cannot be checked"),
    Case("a post in a nested folder", lambda r: write(r, f"{S}/old/0002-x.md", "x\n"), "check",
         "lies in a folder inside a series folder"),
    Case("a misnamed post", lambda r: write(r, f"{S}/notes.md", "x\n"), "check",
         "a post's file name must look like 0001-some-title.md"),
    Case("a broken draft", lambda r: write(r, "drafts/slow-work/r.md", "---\ntitle: [\n---\nx\n"),
         "check", "front matter is not valid YAML"),
    Case("an edit that breaks the post", lambda r: first_post(r).write_text("no front matter\n"),
         "check", "has no front matter"),
    Case("a reference to another series' missing turn", lambda r: post(r, 2).write_text(
        post(r, 2).read_text().replace("By hand.", "See [[deep#3]].")), "check",
         "[[deep#3]] points at a post that does not exist"),
    Case("a folder that is no series slug", lambda r: write(r, "series/Bad_Slug/0001-x.md", "x\n"),
         "check", "is not a valid series slug"),
]  # fmt: skip


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("verify-rules")
    (base / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        isolate_git(patch, base / "home")
        root = start_workspace(base / "ws")
        new_draft(root, "Opening", "Ben, hello.")
        ok(root, "publish", "slow-work")
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_plain_commit_judged(case: Case, opened: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(opened, root, symlinks=True)
    git(root, "config", "user.email", "ben@example.com")  # Ben's turn, Ben's commits
    case.make(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", case.name)
    result = run_duologue(root, "verify", "HEAD~1..HEAD", "--json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    found = json.loads(result.stdout)
    assert any(v["rule"] == case.rule and case.says in v["message"] for v in found), found
