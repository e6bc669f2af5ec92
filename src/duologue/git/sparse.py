"""Refusing a work tree that hides tracked files of the workspace.

A sparse checkout (or a hand-set skip-worktree bit) leaves tracked posts out of the
work tree: ``status`` would count fewer posts, ``check`` would pass and ``build`` would
publish part of the site, all without a word. So the commands that read the workspace
refuse it first. The quick commands (``build``, ``status``) pay one or two ``stat``
calls for this: git is asked only when ``info/sparse-checkout`` exists, which every way
of turning a sparse checkout on creates; ``check`` and ``sync`` always ask git.
"""

from __future__ import annotations

from pathlib import Path

from duologue.errors import GitFailure
from duologue.git.folder import find_git_dir


def refuse_hidden_files(root: Path, *, thorough: bool = False) -> None:
    """Raise ``GitFailure`` when git keeps tracked files of the workspace at ``root`` out
    of its work tree. Without ``thorough``, only a sparse checkout is looked for."""
    folder = find_git_dir(root)
    if folder is None or not (thorough or (folder / "info" / "sparse-checkout").exists()):
        return
    from duologue.git.repository import Repository

    repo = Repository(root)
    prefix = root.resolve().relative_to(repo.root.resolve()).as_posix()
    inside = "" if prefix == "." else prefix + "/"
    hidden = [
        path.removeprefix(inside)
        for path in repo.skip_worktree_paths(
            f"{inside}duologue.toml", f"{inside}series", f"{inside}drafts"
        )
    ]
    if not hidden:
        return
    more = f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else ""
    if repo.sparse_checkout_on():
        raise GitFailure(
            f"this clone is a sparse checkout that leaves {hidden[0]}{more} out of the work "
            "tree, so duologue would see only part of the workspace; run `git sparse-checkout "
            "disable`, then try again."
        )
    raise GitFailure(
        f"git keeps {hidden[0]}{more} out of the work tree (its skip-worktree bit is set), so "
        "duologue would see only part of the workspace; run `git update-index "
        f"--no-skip-worktree -- {inside}{hidden[0]}` and `git checkout -- {inside}{hidden[0]}`, "
        "then try again."
    )
