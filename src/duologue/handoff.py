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
    from duologue.git.repository import added_by_lookup
    from duologue.git.transaction import changing

    with changing(settings.root) as repo:
        branch = repo.preflight()
        prefix = settings.root.resolve().relative_to(repo.root.resolve()).as_posix()
        inside = "" if prefix == "." else prefix + "/"
        # What is pushed is the commit, not the work tree: the published side (settings and
        # series/) must be exactly as committed for the check below to speak for it.
        unsaved = repo.changed_paths(f"{inside}duologue.toml", f"{inside}series")
        if unsaved:
            raise CheckFailed(
                f"{unsaved[0].removeprefix(inside)} has changes that are not committed"
                f"{f' (and {len(unsaved) - 1} more)' if len(unsaved) > 1 else ''}; commit or "
                "restore them, then hand off."
            )
        # Drafts that are untracked or edited are not pushed as they are: leave them out.
        not_pushed = {p.removeprefix(inside) for p in repo.changed_paths(f"{inside}drafts")}
        errors = [
            p
            for p in check_workspace(settings.root, added_by_lookup(settings.root))
            if p.level == "error" and p.path not in not_pushed
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
