"""Two co-authors, each with a clone, and the bare remote they share."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import isolate_git
from tests.helpers import git, make_clone_identity, run_duologue


@dataclass
class Pair:
    remote: Path
    ana: Path
    ben: Path

    def clone(self, name: str, user: str, email: str) -> Path:
        path = self.remote.parent / name
        git(self.remote.parent, "clone", "-q", str(self.remote), name)
        make_clone_identity(path, user, email)
        return path


def ok(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run duologue and insist it succeeds; returns stdout."""
    result = run_duologue(cwd, *args, env=env)
    assert result.returncode == 0, f"duologue {' '.join(args)}: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run duologue and insist it refuses cleanly (exit 1, one error line); returns stderr."""
    result = run_duologue(cwd, *args, env=env)
    assert result.returncode == 1, f"expected a refusal: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    return result.stderr


def write_body(draft: Path, text: str) -> None:
    """Replace the template body of a draft with the author's text (keeping front matter)."""
    head, _, _ = draft.read_text().partition("\n---\n")
    draft.write_text(f"{head}\n---\n\n{text}\n")


def new_draft(clone: Path, title: str, body: str, *extra: str) -> Path:
    out = ok(clone, "draft", "slow-work", "--title", title, "--no-edit", *extra)
    path = clone / out.strip().splitlines()[-1]
    write_body(path, body)
    return path


def snapshot(repo: Path) -> dict[str, str]:
    """Everything publish promises not to change when it refuses."""
    files = {}
    for folder in ("series", "drafts"):
        for path in sorted((repo / folder).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(repo))] = path.read_text()
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "index": git(repo, "ls-files", "-s"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "files": repr(files),
        "refs": git(repo, "for-each-ref"),
    }


def start_workspace(root: Path) -> Path:
    """Ana's workspace with the two-author Slow Work series, as the README starts one."""
    root.mkdir()
    git(root, "init", "-q")
    make_clone_identity(root, "Ana Lima", "ana@example.com")
    ok(root, "init", "--title", "Letters", "--base-url", "https://letters.example/")
    ok(
        root, "series", "new", "slow-work", "--title", "Slow Work",
        "--author", "ana:Ana Lima <ana@example.com>",
        "--author", "ben:Ben Okafor <ben@example.com>",
    )  # fmt: skip
    return root


def make_pair(folder: Path) -> Pair:
    """A bare remote in ``folder``, Ana's workspace handed off to it, and Ben's clone."""
    remote = folder / "shared.git"
    git(folder, "init", "-q", "--bare", str(remote))
    ana = start_workspace(folder / "ana")
    git(ana, "remote", "add", "origin", str(remote))
    ok(ana, "handoff")
    result = Pair(remote=remote, ana=ana, ben=folder / "ben")
    result.clone("ben", "Ben Okafor", "ben@example.com")
    return result


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return make_pair(tmp_path)


def pair_template(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """``make_pair`` made once, for a module-scoped fixture whose tests each copy it
    (``copied_pair``): the git isolation of tests/conftest.py, module-wide."""
    base = tmp_path_factory.mktemp(name)
    home = base / "home"
    home.mkdir()
    made = base / "pair"
    made.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        isolate_git(patch, home)
        make_pair(made)
    return made


def copied_pair(template: Path, folder: Path) -> Pair:
    """A copy of a ``pair_template`` in ``folder``, its clones pointing at its remote."""
    shutil.copytree(template, folder, symlinks=True, dirs_exist_ok=True)
    found = Pair(remote=folder / "shared.git", ana=folder / "ana", ben=folder / "ben")
    for clone in (found.ana, found.ben):
        git(clone, "remote", "set-url", "origin", str(found.remote))
    return found
