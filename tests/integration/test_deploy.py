"""``duologue deploy`` against a bare remote: the site as one commit on gh-pages, history
kept, nothing else in the clone moved (SPEC §8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import git
from tests.integration.conftest import Pair, copied_pair, new_draft, ok, pair_template, refused


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pair_template(tmp_path_factory, "deploy")


@pytest.fixture
def pair(template: Path, tmp_path: Path) -> Pair:
    pair = copied_pair(template, tmp_path)
    new_draft(pair.ana, "Opening", "Ben, here is how I plan a quiet week.")
    ok(pair.ana, "publish", "slow-work", "--push")
    return pair


def untouched(clone: Path) -> tuple[str, str, str]:
    """HEAD, the index and git status: what deploy never changes."""
    return (
        git(clone, "rev-parse", "HEAD"),
        git(clone, "ls-files", "-s"),
        git(clone, "status", "--porcelain", "--untracked-files=all", "--ignored"),
    )


def test_deploy_records_the_site_and_keeps_its_history(pair: Pair) -> None:
    (pair.ana / "drafts/slow-work").mkdir(parents=True, exist_ok=True)
    (pair.ana / "drafts/slow-work/wip.md").write_text("---\ntitle: Wip\n---\nNot yet.\n")
    ok(pair.ana, "build")
    before = untouched(pair.ana)
    out = ok(pair.ana, "deploy", "--push", "--cname", "Letters.Example.org")
    assert "recorded the site on gh-pages" in out
    assert untouched(pair.ana) == before
    files = git(pair.remote, "ls-tree", "-r", "--name-only", "gh-pages").split()
    assert {".nojekyll", "CNAME", "index.html", "feed.xml", "slow-work/atom.xml"} <= set(files)
    assert git(pair.remote, "show", "gh-pages:CNAME") == "letters.example.org\n"
    assert not any(f.startswith(("series/", "drafts/")) for f in files)
    first = git(pair.remote, "rev-parse", "gh-pages").strip()
    head = git(pair.ana, "rev-parse", "--short", "HEAD").strip()
    assert git(pair.remote, "log", "-1", "--format=%s", "gh-pages").strip() == f"deploy: {head}"
    post_date = next((pair.ana / "series/slow-work").glob("0001-*.md")).read_text()
    assert git(pair.remote, "log", "-1", "--format=%cI", "gh-pages").strip()[:16] in post_date

    again = ok(pair.ana, "deploy", "--push", "--cname", "letters.example.org")
    assert "no commit" in again
    assert git(pair.remote, "rev-parse", "gh-pages").strip() == first
    assert untouched(pair.ana) == before

    ok(pair.ben, "sync")
    new_draft(pair.ben, "Answer", "Ana, [[#1]] was right.")
    ok(pair.ben, "publish", "slow-work", "--push")
    ok(pair.ben, "deploy", "--push", "--cname", "letters.example.org")  # Ben's clone, Ana's deploy
    assert git(pair.remote, "rev-parse", "gh-pages^").strip() == first
    assert "slow-work/0002-answer.html" in git(pair.remote, "ls-tree", "-r", "--name-only", "gh-pages")


def test_the_same_workspace_gives_the_same_site_tree(pair: Pair) -> None:
    ok(pair.ana, "deploy")
    ok(pair.ben, "sync")
    ok(pair.ben, "deploy")
    assert git(pair.ana, "rev-parse", "gh-pages^{tree}") == git(pair.ben, "rev-parse", "gh-pages^{tree}")
    assert git(pair.ana, "log", "-1", "--format=%ct %s", "gh-pages") == git(
        pair.ben, "log", "-1", "--format=%ct %s", "gh-pages"
    )


def test_deploy_refuses_a_bad_domain_or_branch(pair: Pair) -> None:
    assert "is not a domain name" in refused(pair.ana, "deploy", "--cname", "x;rm -rf /")
    assert "is not a branch name" in refused(pair.ana, "deploy", "--branch", "../main")
    assert git(pair.ana, "branch", "--list", "gh-pages") == ""
