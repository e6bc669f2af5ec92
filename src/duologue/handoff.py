"""``duologue handoff``: push the branch so the co-author gets the turn."""

from __future__ import annotations

from dataclasses import dataclass

from duologue.errors import CheckFailed
from duologue.model import Settings


@dataclass(frozen=True, slots=True)
class HandoffResult:
    remote: str
    branch: str
    sha: str


def hand_off(settings: Settings, remote: str | None) -> HandoffResult:
    """Refuse a workspace that fails ``check``; push; confirm the remote has the commit."""
    from duologue.check import check_workspace
    from duologue.gitops import Repository, forced_paths_lookup
    from duologue.journal import exclusive

    repo = Repository(settings.root)
    with exclusive(repo):
        branch = repo.preflight()
        errors = [
            p
            for p in check_workspace(settings.root, forced_paths_lookup(settings.root))
            if p.level == "error"
        ]
        if errors:
            first = errors[0]
            raise CheckFailed(
                f"the workspace fails `duologue check` ({len(errors)} error(s), first: "
                f"{first.path}: {first.message}); fix it before handing off."
            )
        name, remote_branch = repo.upstream(branch, remote)
        sha = repo.push(name, branch, remote_branch)
        return HandoffResult(name, remote_branch.removeprefix("refs/heads/"), sha)
