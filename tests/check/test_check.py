"""``duologue check``: one case per problem of SPEC §6, each a real git workspace.

Every case starts from a clean, committed workspace (series ``slow-work``: ana and
ben, three letters in rotation), breaks one thing, and lists the problems it
expects as (path, level, message fragment). The same table runs through
``check_workspace()`` and through ``duologue check --json``; the problems found
must be exactly the ones expected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duologue.check import check_workspace
from duologue.cli import app
from duologue.git.repository import added_by_lookup
from duologue.model import Problem
from tests.cli.workspaces import (
    ANA,
    BEN,
    commit_all,
    post_text,
    sample_workspace,
    write_draft,
    write_post,
    write_series,
)
from tests.helpers import git, run_duologue

S = "series/slow-work"
P1, P2, P3 = f"{S}/0001-letter-1.md", f"{S}/0002-letter-2.md", f"{S}/0003-letter-3.md"
SERIES_TOML = f"{S}/series.toml"

Expected = tuple[str, str, str]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], object]
    expected: tuple[Expected, ...]


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def outside_file(root: Path) -> Path:
    """A file outside the workspace that a link points at; its text must never show up."""
    target = root.parent / f"{root.name}-outside.md"
    target.write_text(post_text(4, "ben", "2026-01-04T09:00:00+00:00", title="OUTSIDE SECRET"))
    return target


def symlinked_post(root: Path) -> None:
    (root / S / "0004-letter-4.md").symlink_to(outside_file(root))
    commit_all(root, "a committed symlink")


def symlinked_series_folder(root: Path) -> None:
    (root / "series" / "elsewhere").symlink_to(root.parent)


def symlinked_draft(root: Path) -> None:
    (root / "drafts" / "slow-work").mkdir()
    (root / "drafts" / "slow-work" / "reply.md").symlink_to(outside_file(root))
    commit_all(root, "a committed symlink in drafts")


def forced_post(root: Path) -> None:
    # Turn 4 by ana, right after ana's turn 3, committed the way `publish --force` does.
    write_post(root, "slow-work", 4, "ana")
    commit_all(root, "slow-work #4: Letter 4", "Duologue-Series: slow-work", "Duologue-Turn: 4",
               "Duologue-Author: ana", "Duologue-Next: ben", "Duologue-Forced: true")


def unforced_post(root: Path) -> None:
    write_post(root, "slow-work", 4, "ana")
    commit_all(root, "slow-work #4: Letter 4", "Duologue-Series: slow-work", "Duologue-Turn: 4")


def forced_in_another_commit(root: Path) -> None:
    # The trailer sits on a later commit that only edits the post: it does not count.
    write_post(root, "slow-work", 4, "ana")
    commit_all(root, "add turn 4")
    edit(root, f"{S}/0004-letter-4.md", "This is turn 4.", "This is turn 4, edited.")
    commit_all(root, "edit", "Duologue-Forced: true")


def second_series(root: Path) -> None:
    write_series(root, "deep-work", (BEN, ANA))
    write_post(root, "deep-work", 1, "ben")


CASES = [
    Case("clean", lambda root: None, ()),
    Case(
        "invalid duologue.toml",
        lambda root: write(root, "duologue.toml", 'title = "unclosed\n'),
        (("duologue.toml", "error", "is not valid TOML"),),
    ),
    Case(
        "unknown time zone in duologue.toml",
        lambda root: edit(root, "duologue.toml", 'timezone = "UTC"', 'timezone = "Mars/Olympus"'),
        (("duologue.toml", "error", "`timezone` 'Mars/Olympus' is not an IANA time zone"),),
    ),
    Case(
        "base_url not absolute",
        lambda root: edit(root, "duologue.toml", "https://example.org/", "example.org"),
        (("duologue.toml", "error", "`base_url` must be an absolute http(s) URL"),),
    ),
    Case(
        "unknown setting",
        lambda root: write(root, "duologue.toml", (root / "duologue.toml").read_text() + "colour = 1\n"),
        (("duologue.toml", "warning", "unknown setting `colour`"),),
    ),
    Case(
        "invalid series.toml",
        lambda root: write(root, SERIES_TOML, "title = \n"),
        ((SERIES_TOML, "error", "is not valid TOML"),),
    ),
    Case(
        "series.toml missing its title",
        lambda root: edit(root, SERIES_TOML, 'title = "Slow Work"\n', ""),
        ((SERIES_TOML, "error", "`title` is missing"),),
    ),
    Case(
        "series.toml missing",
        lambda root: (root / SERIES_TOML).unlink(),
        ((SERIES_TOML, "error", "is missing"),),
    ),
    Case(
        "invalid series slug",
        lambda root: write_series(root, "Bad_Slug"),
        (("series/Bad_Slug", "error", "'Bad_Slug' is not a valid series slug"),),
    ),
    Case(
        "invalid handle",
        lambda root: edit(root, SERIES_TOML, 'handle = "ben"', 'handle = "Ben!"'),
        ((SERIES_TOML, "error", "handle 'Ben!' is not valid"),),
    ),
    Case(
        "fewer than two authors",
        lambda root: write_series(root, "slow-work", (ANA,)),
        ((SERIES_TOML, "error", "a dialogue needs at least two"),),
    ),
    Case(
        "same handle twice",
        lambda root: write_series(root, "slow-work", (ANA, ("ana", "Ana Two", "two@example.com"))),
        ((SERIES_TOML, "error", "names handle 'ana' twice"),),
    ),
    Case(
        "broken front matter",
        lambda root: edit(root, P2, 'title: "Letter 2"', "title: ["),
        ((P2, "error", "front matter is not valid YAML"),),
    ),
    Case(
        "missing front matter",
        lambda root: write(root, P2, "Ana,\n\njust a letter.\n"),
        ((P2, "error", "has no front matter"),),
    ),
    Case(
        "unclosed front matter",
        lambda root: write(root, P2, "---\ntitle: x\nauthor: ben\n\nAna,\n"),
        ((P2, "error", "front matter is not closed"),),
    ),
    Case(
        "hostile front matter",
        lambda root: edit(root, P2, "author: ben", "author: &a ben\nsummary: *a"),
        ((P2, "error", "anchors and aliases"),),
    ),
    Case(
        "empty body",
        lambda root: edit(root, P2, "Dear friend,\n\nThis is turn 2.", ""),
        ((P2, "error", "the body is empty"),),
    ),
    Case(
        "post not UTF-8",
        lambda root: (root / P2).write_bytes((root / P2).read_bytes() + b"caf\xe9\n"),
        ((P2, "error", "is not UTF-8"),),
    ),
    Case(
        "turn does not match the file name",
        lambda root: edit(root, P2, "turn: 2", "turn: 5"),
        ((P2, "error", "`turn` is 5 but the file name says 2"),),
    ),
    Case(
        "post file name malformed",
        lambda root: write(root, f"{S}/12-short.md", post_text(12, "ana", "2026-02-01")),
        ((f"{S}/12-short.md", "error", "must look like 0001-some-title.md"),),
    ),
    Case(
        "gap in turns",
        lambda root: write_post(root, "slow-work", 5, "ben", in_reply_to=3),
        ((S, "error", "turns must run 1..5 without gaps; missing: 4"),),
    ),
    Case(
        "duplicate turn",
        lambda root: write_post(root, "slow-work", 3, "ana", slug="another-three"),
        (
            (P3, "error", f"turn 3 is taken twice (also {S}/0003-another-three.md)"),
            # two turn-3 posts by ana in a row: the second is also out of rotation
            (P3, "warning", "out of rotation"),
        ),
    ),
    Case(
        "unknown author",
        lambda root: edit(root, P3, "author: ana", "author: zed"),
        ((P3, "error", "`author` 'zed' is not an author of this series (ana, ben)"),),
    ),
    Case(
        "in_reply_to a turn that does not exist",
        lambda root: write_post(root, "slow-work", 5, "ben", in_reply_to=4),
        (
            (S, "error", "missing: 4"),
            (f"{S}/0005-letter-5.md", "error", "`in_reply_to` names turn 4, which does not exist"),
        ),
    ),
    Case(
        "in_reply_to a later turn that does not exist",
        lambda root: edit(root, P3, "in_reply_to: 2", "in_reply_to: 9"),
        ((P3, "error", "`in_reply_to` names turn 9, which is not earlier"),),
    ),
    Case(
        "in_reply_to a later turn",
        lambda root: edit(root, P2, "in_reply_to: 1", "in_reply_to: 3"),
        ((P2, "error", "`in_reply_to` names turn 3, which is not earlier"),),
    ),
    Case(
        "in_reply_to itself",
        lambda root: edit(root, P2, "in_reply_to: 1", "in_reply_to: 2"),
        ((P2, "error", "`in_reply_to` names turn 2, which is not earlier"),),
    ),
    Case(
        "in_reply_to missing on a reply",
        lambda root: edit(root, P2, "in_reply_to: 1\n", ""),
        ((P2, "warning", "`in_reply_to` is missing"),),
    ),
    Case(
        "dates going backwards",
        lambda root: edit(root, P3, "date: 2026-01-03T09:00:00+00:00", "date: 2026-01-01T12:00:00+00:00"),
        ((P3, "error", "dates must not go backwards"),),
    ),
    Case(
        "dates compared as moments, not as text",
        # 2026-01-02 08:00-05:00 is 13:00 UTC, after turn 2's 09:00 UTC: in order.
        lambda root: edit(root, P3, "date: 2026-01-03T09:00:00+00:00", "date: 2026-01-02T08:00:00-05:00"),
        (),
    ),
    Case(
        "[[#N]] to nothing",
        lambda root: edit(root, P3, "This is turn 3.", "As you said in [[#7]]."),
        ((P3, "error", "[[#7]] points at turn 7, which does not exist"),),
    ),
    Case(
        "[[#N]] inside code is not a reference",
        lambda root: edit(root, P3, "This is turn 3.", "Write `[[#7]]` to cite turn 7."),
        (),
    ),
    Case(
        "[[other#N]] to a series that does not exist",
        lambda root: edit(root, P3, "This is turn 3.", "See [[other#1]]."),
        ((P3, "error", "[[other#1]] names a series that does not exist"),),
    ),
    Case(
        "[[other#N]] to a turn that does not exist",
        lambda root: (second_series(root), edit(root, P3, "This is turn 3.", "[[deep-work#1]], [[deep-work#2]].")),
        ((P3, "error", "[[deep-work#2]] points at turn 2, which does not exist"),),
    ),
    Case(
        "[[#N]] to a broken post still points at something",
        lambda root: (
            edit(root, P2, "turn: 2", "turn: two"),
            edit(root, P3, "This is turn 3.", "[[#2]]"),
        ),
        ((P2, "error", "`turn` must be a turn number"),),
    ),
    Case(
        "draft without a title",
        lambda root: write_draft(root, "slow-work", "reply", "---\nauthor: ben\n---\nAna,\n"),
        (("drafts/slow-work/reply.md", "error", "`title` is missing"),),
    ),
    Case(
        "draft with broken front matter",
        lambda root: write_draft(root, "slow-work", "reply", "---\ntitle: [\n---\nAna,\n"),
        (("drafts/slow-work/reply.md", "error", "front matter is not valid YAML"),),
    ),
    Case(
        "draft by an unknown author",
        lambda root: write_draft(root, "slow-work", "reply", "---\ntitle: R\nauthor: zed\n---\nAna,\n"),
        (("drafts/slow-work/reply.md", "error", "`author` 'zed' is not an author of 'slow-work'"),),
    ),
    Case(
        "draft answering a turn that does not exist",
        lambda root: write_draft(root, "slow-work", "reply", "---\ntitle: R\nin_reply_to: 8\n---\nAna,\n"),
        (("drafts/slow-work/reply.md", "error", "`in_reply_to` names turn 8, which does not exist"),),
    ),
    Case(
        "draft with [[#N]] to nothing",
        lambda root: write_draft(root, "slow-work", "reply", "---\ntitle: R\n---\nSee [[#8]].\n"),
        (("drafts/slow-work/reply.md", "error", "[[#8]] points at turn 8"),),
    ),
    Case(
        "drafts for a series that does not exist",
        lambda root: write_draft(root, "nowhere", "reply", "---\ntitle: R\n---\nHi.\n"),
        (("drafts/nowhere", "error", "there is no series of that name"),),
    ),
    Case(
        "symlink under series/",
        symlinked_post,
        ((f"{S}/0004-letter-4.md", "error", "is a symbolic link"),),
    ),
    Case(
        "symlinked folder under series/",
        symlinked_series_folder,
        (("series/elsewhere", "error", "is a symbolic link; duologue reads only regular files, so remove it."),),
    ),
    Case(
        "symlink under drafts/",
        symlinked_draft,
        (("drafts/slow-work/reply.md", "error", "is a symbolic link"),),
    ),
    Case(
        "series/ itself a symlink",
        lambda root: (
            os.rename(root / "series", root.parent / f"{root.name}-series"),
            (root / "series").symlink_to(root.parent / f"{root.name}-series"),
        ),
        (("series", "error", "must be a folder (not a link or a file)"),),
    ),
    Case(
        "out of rotation",
        lambda root: edit(root, P3, "author: ana", "author: ben"),
        ((P3, "warning", "turn 3 by 'ben' is out of rotation"),),
    ),
    Case(
        "out of rotation in a committed post without Duologue-Forced",
        unforced_post,
        ((f"{S}/0004-letter-4.md", "warning", "does not carry Duologue-Forced"),),
    ),
    Case("out of rotation with Duologue-Forced: true", forced_post, ()),
    Case(
        "Duologue-Forced on a commit that did not add the post",
        forced_in_another_commit,
        ((f"{S}/0004-letter-4.md", "warning", "out of rotation"),),
    ),
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return sample_workspace(tmp_path / "ws", posts=3)


def assert_problems(found: list[Problem] | list[dict[str, str]], expected: tuple[Expected, ...]) -> None:
    rows = [
        (p.path, p.level, p.message) if isinstance(p, Problem) else (p["path"], p["level"], p["message"])
        for p in found
    ]
    unmatched = list(rows)
    for path, level, fragment in expected:
        hits = [r for r in unmatched if r[0] == path and r[1] == level and fragment in r[2]]
        assert hits, f"expected {path}: {level}: …{fragment}… in {rows}"
        unmatched.remove(hits[0])
    assert not unmatched, f"unexpected problems: {unmatched}"
    for _, _, message in rows:
        assert "OUTSIDE SECRET" not in message  # a symlink is never followed


def exit_code(expected: tuple[Expected, ...]) -> int:
    return 1 if any(level == "error" for _, level, _ in expected) else 0


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_json_through_the_cli(
    case: Case, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case.build(workspace)
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(app, ["check", "--json"])
    assert result.exit_code == exit_code(case.expected), result.output
    assert_problems(json.loads(result.stdout), case.expected)


@pytest.mark.parametrize(
    "name",
    ["clean", "symlink under series/", "out of rotation with Duologue-Forced: true",
     "out of rotation", "dates going backwards", "invalid duologue.toml"],
)
def test_check_json_as_a_subprocess(name: str, workspace: Path) -> None:
    (case,) = [c for c in CASES if c.name == name]
    case.build(workspace)
    result = run_duologue(workspace / "series", "check", "--json")
    assert result.returncode == exit_code(case.expected), result.stderr
    assert_problems(json.loads(result.stdout), case.expected)
    assert "Traceback" not in result.stderr


def test_check_text_output_is_path_colon_message(workspace: Path) -> None:
    edit(workspace, P3, "in_reply_to: 2", "in_reply_to: 9")
    edit(workspace, P2, "author: ben", "author: ana")
    result = run_duologue(workspace, "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{P3}: error: `in_reply_to` names turn 9, which is not earlier." in lines
    assert any(line.startswith(f"{P2}: warning: ") for line in lines)
    assert result.stderr.startswith("error: 1 error(s) found")


def test_check_text_output_with_only_warnings_exits_0(workspace: Path) -> None:
    edit(workspace, P3, "author: ana", "author: ben")
    result = run_duologue(workspace, "check")
    assert result.returncode == 0, result.stderr
    assert "workspace is in order (1 warning(s))" in result.stdout


def test_the_forced_trailer_must_say_true(workspace: Path) -> None:
    write_post(workspace, "slow-work", 4, "ana")
    commit_all(workspace, "slow-work #4", "Duologue-Forced: false")
    assert_problems(
        check_workspace(workspace, added_by_lookup(workspace)),
        ((f"{S}/0004-letter-4.md", "warning", "out of rotation"),),
    )


def test_forced_lookup_works_when_the_workspace_is_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sample_workspace(repo / "site", posts=3)  # git init inside makes its own repo; undo that
    # Make ``site`` a plain folder of ``repo``, then commit the forced post from the top.
    import shutil

    shutil.rmtree(repo / "site" / ".git")
    git(repo, "config", "user.name", "T")
    git(repo, "config", "user.email", "t@example.com")
    commit_all(repo, "workspace in a subfolder")
    write_post(repo / "site", "slow-work", 4, "ana")
    commit_all(repo, "forced", "Duologue-Forced: true")
    assert check_workspace(repo / "site", added_by_lookup(repo / "site")) == []
