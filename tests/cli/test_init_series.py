"""``duologue init``, ``series new`` and ``series list``, in-process and as a subprocess."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.workspaces import make_workspace
from tests.helpers import git, run_duologue


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A global git identity, as a user who has set up git has."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ana Lima")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ana@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ana Lima")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ana@example.com")


def commits(root: Path) -> list[str]:
    out = git(root, "log", "--format=%H", check=False)
    return out.split()


# -- init ------------------------------------------------------------------------------------


def assert_fresh_workspace(root: Path) -> None:
    assert (root / ".git").is_dir()
    settings = tomllib.loads((root / "duologue.toml").read_text())
    assert settings["title"] == "Letters"
    assert settings["base_url"] == "https://letters.example.org/"
    assert settings["timezone"] == "UTC"
    assert settings["output"] == "public"
    assert (root / "series").is_dir() and (root / "drafts").is_dir()
    assert "/public/" in (root / ".gitignore").read_text().splitlines()
    assert len(commits(root)) == 1
    committed = set(git(root, "ls-tree", "-r", "--name-only", "HEAD").split())
    assert {"duologue.toml", ".gitignore"} <= committed
    assert git(root, "status", "--porcelain") == ""


def test_init_through_the_runner(tmp_path: Path, invoke: Invoke, identity: None) -> None:
    root = tmp_path / "letters"
    result = invoke(tmp_path, "init", "letters", "--title", "Letters", "--base-url",
                    "https://letters.example.org")
    assert result.exit_code == 0, result.output
    assert "created a git repository" in result.stdout
    assert_fresh_workspace(root)

    again = invoke(tmp_path, "init", "letters", "--title", "Other", "--base-url", "https://x.org/")
    assert again.exit_code == 0, again.output
    assert "already a duologue workspace; nothing to do" in again.stdout
    assert_fresh_workspace(root)  # title and base_url untouched, still one commit


def test_init_as_a_subprocess_in_the_current_folder(tmp_path: Path, identity: None) -> None:
    root = tmp_path / "letters"
    root.mkdir()
    result = run_duologue(root, "init", "--title", "Letters", "--base-url", "https://letters.example.org/")
    assert result.returncode == 0, result.stderr
    assert_fresh_workspace(root)
    again = run_duologue(root, "init")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert len(commits(root)) == 1


def test_init_in_an_existing_repository_keeps_its_history(tmp_path: Path, identity: None) -> None:
    root = tmp_path / "existing"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("*.tmp\n")
    (root / "notes.txt").write_text("mine\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "before duologue")
    result = run_duologue(root, "init")
    assert result.returncode == 0, result.stderr
    assert "created a git repository" not in result.stdout
    assert len(commits(root)) == 2
    assert (root / ".gitignore").read_text() == "*.tmp\n/public/\n"
    assert (root / "notes.txt").read_text() == "mine\n"


def test_init_refuses_a_relative_base_url(tmp_path: Path, invoke: Invoke, identity: None) -> None:
    result = invoke(tmp_path, "init", "w", "--base-url", "example.org")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "base-url" in result.stderr
    assert not (tmp_path / "w").exists()


def test_init_without_a_git_identity_says_so(tmp_path: Path) -> None:
    result = run_duologue(tmp_path, "init", "w")
    assert result.returncode == 1
    assert result.stderr.startswith("error: git does not know who you are")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "w").exists()  # nothing created: no folder, no .git


# -- series new ------------------------------------------------------------------------------

ANA_SPEC = "ana:Ana Lima <ana@example.com>"
BEN_SPEC = "ben:Ben Okafor <ben@example.com>"


def series_new(*extra: str, slug: str = "slow-work") -> list[str]:
    return ["series", "new", slug, "--title", "Slow Work", *extra]


def test_series_new_writes_and_commits(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws")
    before = commits(root)
    result = invoke(root, *series_new("--author", ANA_SPEC, "--author", BEN_SPEC,
                                      "--description", "Calmer work.", "--hashtag", "#SlowWork"))
    assert result.exit_code == 0, result.output
    assert "series/slow-work/series.toml" in result.stdout
    data = tomllib.loads((root / "series/slow-work/series.toml").read_text())
    today = datetime.now(UTC).date().isoformat()
    assert data["id"] == f"tag:example.org,{today}:slow-work"
    assert data["title"] == "Slow Work"
    assert data["description"] == "Calmer work."
    assert data["hashtag"] == "#SlowWork"
    assert [a["handle"] for a in data["authors"]] == ["ana", "ben"]
    assert data["authors"][1] == {"handle": "ben", "name": "Ben Okafor", "email": "ben@example.com"}
    assert len(commits(root)) == len(before) + 1
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == ["series/slow-work/series.toml"]
    assert git(root, "status", "--porcelain") == ""


def test_series_new_mints_the_id_from_the_base_url_host(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    (root / "duologue.toml").write_text(
        (root / "duologue.toml").read_text().replace("https://example.org/", "https://Blog.Example.com:8443/x/")
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ws")
    result = run_duologue(root, *series_new("--author", ANA_SPEC, "--author", BEN_SPEC, slug="s2"))
    assert result.returncode == 0, result.stderr
    series_id = tomllib.loads((root / "series/s2/series.toml").read_text())["id"]
    assert series_id.startswith("tag:blog.example.com,20")
    assert series_id.endswith(":s2")


def test_series_new_three_authors_keep_their_order(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws")
    result = invoke(root, *series_new("--author", BEN_SPEC, "--author", "cat:Cat Ng <cat@example.com>",
                                      "--author", ANA_SPEC))
    assert result.exit_code == 0, result.output
    data = tomllib.loads((root / "series/slow-work/series.toml").read_text())
    assert [a["handle"] for a in data["authors"]] == ["ben", "cat", "ana"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (series_new("--author", ANA_SPEC, "--author", BEN_SPEC, slug="Slow_Work"), "'Slow_Work' is not valid"),
        (series_new("--author", ANA_SPEC, "--author", BEN_SPEC, slug="a.b"), "'a.b' is not valid"),
        (series_new("--author", ANA_SPEC, "--author", BEN_SPEC, slug="a" * 65), "is not valid"),
        (series_new("--author", ANA_SPEC, "--author", "Ben!:Ben <ben@example.com>"), "handle 'Ben!' is not valid"),
        (series_new("--author", ANA_SPEC, "--author", "ben Ben <ben@example.com>"), "HANDLE:Name <email>"),
        (series_new("--author", ANA_SPEC, "--author", "ben:Ben Okafor"), "HANDLE:Name <email>"),
        (series_new("--author", ANA_SPEC, "--author", "ben:Ben <not-an-email>"), "is not an e-mail address"),
        (series_new("--author", ANA_SPEC), "at least two"),
        (series_new("--author", ANA_SPEC, "--author", ANA_SPEC), "twice"),
        (series_new("--author", ANA_SPEC, "--author", "ben:Ben <ANA@example.com>"), "twice"),
    ],
)
def test_series_new_validates_before_writing(
    tmp_path: Path, invoke: Invoke, args: list[str], fragment: str
) -> None:
    root = make_workspace(tmp_path / "ws")
    before = commits(root)
    result = invoke(root, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert fragment in result.stderr
    assert sorted(p.name for p in (root / "series").iterdir()) == [".gitkeep"]
    assert commits(root) == before
    assert git(root, "status", "--porcelain") == ""


def test_series_new_refuses_an_existing_series(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws")
    assert invoke(root, *series_new("--author", ANA_SPEC, "--author", BEN_SPEC)).exit_code == 0
    text = (root / "series/slow-work/series.toml").read_text()
    before = commits(root)
    result = invoke(root, *series_new("--author", BEN_SPEC, "--author", ANA_SPEC))
    assert result.exit_code == 1
    assert "error: series/slow-work already exists" in result.stderr
    assert (root / "series/slow-work/series.toml").read_text() == text
    assert commits(root) == before


def test_series_new_without_authors_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    root = make_workspace(tmp_path / "ws")
    result = invoke(root, "series", "new", "x", "--title", "X")
    assert result.exit_code == 2
    assert "--author" in result.stderr


def test_series_new_as_a_subprocess(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "series").joinpath("placeholder").mkdir()  # run from a subfolder
    result = run_duologue(root / "series" / "placeholder",
                          *series_new("--author", ANA_SPEC, "--author", BEN_SPEC))
    assert result.returncode == 0, result.stderr
    assert (root / "series/slow-work/series.toml").is_file()


# -- series list -----------------------------------------------------------------------------


def test_series_list_json(ws: Path, invoke: Invoke) -> None:
    result = invoke(ws, "series", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "series": "slow-work",
            "title": "Slow Work",
            "id": "tag:example.org,2026-01-01:slow-work",
            "authors": ["ana", "ben"],
            "posts": 3,
        }
    ]


def test_series_list_text_and_empty(tmp_path: Path, invoke: Invoke, ws: Path) -> None:
    result = invoke(ws, "series", "list")
    assert result.exit_code == 0
    assert "slow-work\tSlow Work\t3 posts\tana, ben" in result.stdout
    empty = make_workspace(tmp_path / "empty")
    result = run_duologue(empty, "series", "list", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
